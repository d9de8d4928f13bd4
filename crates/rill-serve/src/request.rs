//! Parsing a predict request straight into a flat f32 buffer. Building a `serde_json::Value`
//! per number and walking it measured as most of the server's time; this streams the numbers
//! into place and checks the shape as it goes, naming the offending element on error.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;

/// The model's only input, as named in the signature.
pub(crate) const INPUT_NAME: &str = "input";

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    instances: Option<&'a RawValue>,
    #[serde(borrow)]
    inputs: Option<&'a RawValue>,
    signature_name: Option<serde_json::Value>,
}

/// A parsed request: `[n, ...sample]` values, row-major, and whether it used the row format.
pub(crate) struct Parsed {
    pub data: Vec<f32>,
    pub rows: usize,
    pub row_format: bool,
}

/// Reads `{"instances": [...]}` or `{"inputs": ...}` for samples of `sample` shape.
pub(crate) fn parse(body: &[u8], sample: &[usize]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("invalid JSON: not UTF-8 ({e})"))?;
    let b: Body = serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            format!("invalid JSON: {e}")
        } else {
            format!("the request body must be a JSON object with \"instances\" or \"inputs\" ({e})")
        }
    })?;
    if let Some(sig) = &b.signature_name {
        if sig.as_str() != Some("serving_default") {
            return Err(format!(
                "unknown signature_name {sig}; this model has \"serving_default\""
            ));
        }
    }
    let (raw, row_format) = match (b.instances, b.inputs) {
        (Some(_), Some(_)) => {
            return Err(
                "give either \"instances\" (row format) or \"inputs\" (columnar format), not both"
                    .into(),
            )
        }
        (None, None) => {
            return Err("missing \"instances\" (row format) or \"inputs\" (columnar format)".into())
        }
        (Some(r), None) => (r, true),
        (None, Some(r)) => (r, false),
    };
    let root = if row_format { "instances" } else { "inputs" };
    let mut dims: Vec<Option<usize>> = vec![None];
    dims.extend(sample.iter().map(|&d| Some(d)));
    let mut state = State {
        data: Vec::with_capacity(sample.iter().product::<usize>()),
        path: Vec::new(),
        dims,
        root,
        rows: 0,
        row_format,
    };
    let mut de = serde_json::Deserializer::from_str(raw.get());
    Level {
        state: &mut state,
        depth: 0,
    }
    .deserialize(&mut de)
    .map_err(|e| {
        // serde_json appends a position inside the fragment; the path already says where.
        let m = e.to_string();
        m.rsplit_once(" at line ")
            .map(|(a, _)| a.to_string())
            .unwrap_or(m)
    })?;
    if state.rows == 0 {
        return Err("no samples in the request".into());
    }
    Ok(Parsed {
        data: state.data,
        rows: state.rows,
        row_format,
    })
}

struct State {
    data: Vec<f32>,
    path: Vec<usize>,
    /// Expected list length at each depth; `None` for the batch.
    dims: Vec<Option<usize>>,
    root: &'static str,
    rows: usize,
    row_format: bool,
}

impl State {
    fn at(&self) -> String {
        let mut s = self.root.to_string();
        for i in &self.path {
            s += &format!("[{i}]");
        }
        s
    }
}

struct Level<'s> {
    state: &'s mut State,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Level<'_> {
    fn wrong<E: de::Error>(&self, found: &str) -> E {
        let s = &self.state;
        match s.dims.get(self.depth) {
            Some(Some(d)) => E::custom(format!(
                "wrong shape at {}: expected a list of {d}, found {found}",
                s.at()
            )),
            Some(None) => E::custom(format!(
                "\"{}\" must be a list of samples, found {found}",
                s.root
            )),
            None => E::custom(format!(
                "wrong dtype at {}: expected a number (DT_FLOAT), found {found}",
                s.at()
            )),
        }
    }
    fn number<E: de::Error>(self, v: f64) -> Result<(), E> {
        if self.depth != self.state.dims.len() {
            return Err(self.wrong("a number"));
        }
        self.state.data.push(v as f32);
        Ok(())
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a nested list of numbers")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.number(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.number(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.number(v as f64)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.wrong("a string"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.wrong("a boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.wrong("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some(&expected) = self.state.dims.get(self.depth) else {
            return Err(self.wrong("a list"));
        };
        let mut n = 0;
        loop {
            self.state.path.push(n);
            let more = seq.next_element_seed(Level {
                state: &mut *self.state,
                depth: self.depth + 1,
            })?;
            self.state.path.pop();
            if more.is_none() {
                break;
            }
            n += 1;
            if expected.is_some_and(|d| n > d) {
                return Err(de::Error::custom(format!(
                    "wrong shape at {}: expected a list of {}, found a longer one",
                    self.state.at(),
                    expected.unwrap_or(0)
                )));
            }
        }
        match expected {
            Some(d) if n != d => Err(de::Error::custom(format!(
                "wrong shape at {}: expected a list of {d}, found a list of {n}",
                self.state.at()
            ))),
            Some(_) => Ok(()),
            None => {
                self.state.rows = n;
                Ok(())
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Named inputs: an instance `{"input": ...}` (row format) or `"inputs": {"input": ...}`.
        let named_level = if self.state.row_format { 1 } else { 0 };
        if self.depth != named_level {
            return Err(self.wrong("an object"));
        }
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key != INPUT_NAME {
                return Err(de::Error::custom(format!(
                    "{}: the model's only input is named '{INPUT_NAME}', found '{key}'",
                    self.state.at()
                )));
            }
            map.next_value_seed(Level {
                state: &mut *self.state,
                depth: self.depth,
            })?;
            seen = true;
        }
        if !seen {
            return Err(de::Error::custom(format!(
                "{}: expected the input '{INPUT_NAME}', found an empty object",
                self.state.at()
            )));
        }
        Ok(())
    }
}
