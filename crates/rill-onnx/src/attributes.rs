//! Building and reading node attributes.

use crate::error::{invalid, Result};
use crate::proto::{attribute_type as ty, AttributeProto, NodeProto, TensorProto};

/// An integer attribute.
pub(crate) fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: ty::INT,
        ..Default::default()
    }
}

/// A list-of-integers attribute.
pub(crate) fn ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.to_vec(),
        r#type: ty::INTS,
        ..Default::default()
    }
}

/// A float attribute.
pub(crate) fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: ty::FLOAT,
        ..Default::default()
    }
}

/// A list-of-floats attribute.
pub(crate) fn floats(name: &str, floats: &[f32]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        floats: floats.to_vec(),
        r#type: ty::FLOATS,
        ..Default::default()
    }
}

/// A string attribute.
pub(crate) fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: s.as_bytes().to_vec(),
        r#type: ty::STRING,
        ..Default::default()
    }
}

/// A list-of-strings attribute.
pub(crate) fn strings(name: &str, strings: &[String]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        strings: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
        r#type: ty::STRINGS,
        ..Default::default()
    }
}

/// A node's attributes by name, read with the node named in every error.
pub(crate) struct Attributes<'a> {
    node: &'a NodeProto,
}

impl<'a> Attributes<'a> {
    pub fn of(node: &'a NodeProto) -> Self {
        Attributes { node }
    }
    fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }
    fn check(&self, a: &AttributeProto, want: i32, what: &str) -> Result<()> {
        if a.r#type != want && a.r#type != 0 {
            return Err(invalid(format!(
                "node '{}' ({}): attribute '{}' should be {what}",
                self.node.name, self.node.op_type, a.name
            )));
        }
        Ok(())
    }
    /// Whether the attribute is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn int(&self, name: &str, default: i64) -> Result<i64> {
        match self.get(name) {
            Some(a) => self.check(a, ty::INT, "an integer").map(|_| a.i),
            None => Ok(default),
        }
    }
    pub fn float(&self, name: &str, default: f32) -> Result<f32> {
        match self.get(name) {
            Some(a) => self.check(a, ty::FLOAT, "a float").map(|_| a.f),
            None => Ok(default),
        }
    }
    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        match self.get(name) {
            Some(a) => self
                .check(a, ty::INTS, "a list of integers")
                .map(|_| Some(a.ints.clone())),
            None => Ok(None),
        }
    }
    pub fn string(&self, name: &str) -> Result<Option<String>> {
        match self.get(name) {
            Some(a) => {
                self.check(a, ty::STRING, "a string")?;
                Ok(Some(String::from_utf8_lossy(&a.s).into_owned()))
            }
            None => Ok(None),
        }
    }
    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>> {
        match self.get(name) {
            Some(a) => self
                .check(a, ty::FLOATS, "a list of floats")
                .map(|_| Some(a.floats.clone())),
            None => Ok(None),
        }
    }
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.get(name) {
            Some(a) => {
                self.check(a, ty::STRINGS, "a list of strings")?;
                Ok(Some(
                    a.strings
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect(),
                ))
            }
            None => Ok(None),
        }
    }
    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>> {
        match self.get(name) {
            Some(a) => self.check(a, ty::TENSOR, "a tensor").map(|_| a.t.as_ref()),
            None => Ok(None),
        }
    }
    /// Every attribute name, for refusing the ones an op mapping does not know.
    pub fn names(&self) -> impl Iterator<Item = &'a str> {
        self.node.attribute.iter().map(|a| a.name.as_str())
    }
}
