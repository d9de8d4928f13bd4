//! Parsing a predict request straight into one flat f32 buffer per model input. Building a
//! `serde_json::Value` per number and walking it measured as most of the server's time; this
//! streams the numbers into place and checks the shape as it goes, naming the offending element
//! on error.
//!
//! The forms are TF Serving's: `{"instances": [sample, ...]}` (row format) and
//! `{"inputs": batch}` (columnar), where a model with several inputs gives each sample as an
//! object `{"image": ..., "meta": ...}` (row format) or each batch as one
//! (`"inputs": {"image": [...], "meta": [...]}`). A single-input model takes both the plain
//! and the named form.

use crate::store::TensorSpec;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    instances: Option<&'a RawValue>,
    #[serde(borrow)]
    inputs: Option<&'a RawValue>,
    signature_name: Option<serde_json::Value>,
}

/// A parsed request: per model input, `[rows, ...sample]` values, row-major.
pub(crate) struct Parsed {
    /// One buffer per model input, in the model's input order.
    pub data: Vec<Vec<f32>>,
    /// Samples in the request.
    pub rows: usize,
    /// Whether it used the row format (`instances`), which is answered with `predictions`.
    pub row_format: bool,
}

/// Reads `{"instances": [...]}` or `{"inputs": ...}` for a model with inputs `specs`.
pub(crate) fn parse(body: &[u8], specs: &[TensorSpec]) -> Result<Parsed, String> {
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
    let mut state = State {
        specs,
        // The sizes come from the model, not the request: one sample each is a safe guess.
        data: specs
            .iter()
            .map(|s| Vec::with_capacity(s.shape.iter().product()))
            .collect(),
        rows: vec![None; specs.len()],
        current: 0,
        path: Vec::new(),
        root: if row_format { "instances" } else { "inputs" },
        row_format,
    };
    let mut de = serde_json::Deserializer::from_str(raw.get());
    Level {
        state: &mut state,
        depth: 0,
        keyed: false,
    }
    .deserialize(&mut de)
    .map_err(|e| {
        // serde_json appends a position inside the fragment; the path already says where.
        let m = e.to_string();
        m.rsplit_once(" at line ")
            .map(|(a, _)| a.to_string())
            .unwrap_or(m)
    })?;
    let rows = state.check_rows()?;
    if rows == 0 {
        return Err("no samples in the request".into());
    }
    Ok(Parsed {
        data: state.data,
        rows,
        row_format,
    })
}

/// One step of the path to the element being read, for error messages.
enum Step {
    Index(usize),
    Key(String),
}

struct State<'s> {
    specs: &'s [TensorSpec],
    data: Vec<Vec<f32>>,
    /// Samples read per input: the instance count (row format) or each batch's length.
    rows: Vec<Option<usize>>,
    /// The input whose values are being read.
    current: usize,
    path: Vec<Step>,
    root: &'static str,
    row_format: bool,
}

impl State<'_> {
    fn at(&self) -> String {
        let mut s = self.root.to_string();
        for step in &self.path {
            match step {
                Step::Index(i) => s += &format!("[{i}]"),
                Step::Key(k) => s += &format!(".{k}"),
            }
        }
        s
    }

    /// The list length expected at `depth`: `Some(None)` for the batch, `None` below the sample.
    fn dim(&self, depth: usize) -> Option<Option<usize>> {
        match depth {
            0 => Some(None),
            d => self.specs[self.current].shape.get(d - 1).map(|&n| Some(n)),
        }
    }

    /// The depth at which a sample (row format) or a batch (columnar) may be an object of
    /// named inputs.
    fn named_depth(&self) -> usize {
        usize::from(self.row_format)
    }

    fn names(&self) -> String {
        self.specs
            .iter()
            .map(|s| format!("'{}'", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The samples in the request, once every input has been read the same number of times.
    fn check_rows(&self) -> Result<usize, String> {
        if self.row_format {
            return Ok(self.rows[0].unwrap_or(0));
        }
        let mut rows = None;
        for (spec, n) in self.specs.iter().zip(&self.rows) {
            let Some(n) = *n else {
                return Err(format!("inputs: missing the input '{}'", spec.name));
            };
            match rows {
                Some(r) if r != n => {
                    return Err(format!(
                        "inputs: every input needs the same number of samples; '{}' has {n}, \
                         '{}' has {r}",
                        spec.name, self.specs[0].name
                    ))
                }
                _ => rows = Some(n),
            }
        }
        Ok(rows.unwrap_or(0))
    }
}

struct Level<'a, 's> {
    state: &'a mut State<'s>,
    depth: usize,
    /// Whether this value was given under an input's name.
    keyed: bool,
}

impl<'de> DeserializeSeed<'de> for Level<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Level<'_, '_> {
    fn wrong<E: de::Error>(&self, found: &str) -> E {
        let s = &self.state;
        match s.dim(self.depth) {
            Some(Some(d)) => E::custom(format!(
                "wrong shape at {}: expected a list of {d}, found {found}",
                s.at()
            )),
            Some(None) => E::custom(format!(
                "\"{}\" must be a list of samples, found {found}",
                s.at()
            )),
            None => E::custom(format!(
                "wrong dtype at {}: expected a number (DT_FLOAT), found {found}",
                s.at()
            )),
        }
    }

    /// A model with several inputs needs each named: refuse a plain value where one goes.
    fn check_named<E: de::Error>(&self) -> Result<(), E> {
        let s = &self.state;
        if s.specs.len() > 1 && !self.keyed && self.depth == s.named_depth() {
            let form = if s.row_format {
                "each instance as an object"
            } else {
                "\"inputs\" as an object"
            };
            return Err(E::custom(format!(
                "{}: this model has the inputs {}; give {form} with each of them by name",
                s.at(),
                s.names()
            )));
        }
        Ok(())
    }

    fn number<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.check_named()?;
        if self.state.dim(self.depth).is_some() {
            return Err(self.wrong("a number"));
        }
        let current = self.state.current;
        self.state.data[current].push(v as f32);
        Ok(())
    }

    fn scalar<E: de::Error>(self, found: &str) -> Result<(), E> {
        self.check_named()?;
        Err(self.wrong(found))
    }
}

impl<'de> Visitor<'de> for Level<'_, '_> {
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
        self.scalar("a string")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar("a boolean")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar("null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.check_named()?;
        let Some(expected) = self.state.dim(self.depth) else {
            return Err(self.wrong("a list"));
        };
        let mut n = 0;
        loop {
            self.state.path.push(Step::Index(n));
            let more = seq.next_element_seed(Level {
                state: &mut *self.state,
                depth: self.depth + 1,
                keyed: false,
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
                // The batch list: of instances (row format) or of one input's samples.
                let i = if self.state.row_format {
                    0
                } else {
                    self.state.current
                };
                self.state.rows[i] = Some(n);
                Ok(())
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.keyed || self.depth != self.state.named_depth() {
            return Err(self.wrong("an object"));
        }
        let mut seen = vec![false; self.state.specs.len()];
        while let Some(key) = map.next_key::<String>()? {
            let Some(i) = self.state.specs.iter().position(|s| s.name == key) else {
                return Err(de::Error::custom(format!(
                    "{}: the model has no input named '{key}'; its inputs are {}",
                    self.state.at(),
                    self.state.names()
                )));
            };
            if std::mem::replace(&mut seen[i], true) {
                return Err(de::Error::custom(format!(
                    "{}: the input '{key}' is given twice",
                    self.state.at()
                )));
            }
            self.state.current = i;
            self.state.path.push(Step::Key(key));
            map.next_value_seed(Level {
                state: &mut *self.state,
                depth: self.depth,
                keyed: true,
            })?;
            self.state.path.pop();
        }
        self.state.current = 0;
        if let Some(missing) = seen.iter().position(|&s| !s) {
            return Err(de::Error::custom(format!(
                "{}: missing the input '{}'",
                self.state.at(),
                self.state.specs[missing].name
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<TensorSpec> {
        vec![
            TensorSpec {
                name: "image".into(),
                shape: vec![2, 2],
            },
            TensorSpec {
                name: "meta".into(),
                shape: vec![3],
            },
        ]
    }

    #[test]
    fn named_rows_and_columns_fill_each_input_in_order() {
        let rows = br#"{"instances": [
            {"meta": [1, 2, 3], "image": [[1, 2], [3, 4]]},
            {"image": [[5, 6], [7, 8]], "meta": [4, 5, 6]}]}"#;
        let p = parse(rows, &specs()).unwrap();
        assert!(p.row_format);
        assert_eq!(p.rows, 2);
        assert_eq!(p.data[0], [1., 2., 3., 4., 5., 6., 7., 8.]);
        assert_eq!(p.data[1], [1., 2., 3., 4., 5., 6.]);
        let cols = br#"{"inputs": {"meta": [[1, 2, 3], [4, 5, 6]],
            "image": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]}}"#;
        let q = parse(cols, &specs()).unwrap();
        assert!(!q.row_format);
        assert_eq!((q.rows, &q.data), (2, &p.data));
    }

    #[test]
    fn named_requests_that_do_not_fit_the_signature_are_refused_by_place() {
        let cases: [(&[u8], &str); 7] = [
            (
                br#"{"instances": [[[1, 2], [3, 4]]]}"#,
                "instances[0]: this model has the inputs 'image', 'meta'",
            ),
            (
                br#"{"instances": [{"image": [[1, 2], [3, 4]]}]}"#,
                "instances[0]: missing the input 'meta'",
            ),
            (
                br#"{"instances": [{"image": [[1, 2], [3, 4]], "meta": [1, 2, 3], "x": 1}]}"#,
                "no input named 'x'",
            ),
            (
                br#"{"instances": [{"image": [[1, 2], [3, 4]], "image": [[1, 2], [3, 4]]}]}"#,
                "the input 'image' is given twice",
            ),
            (
                br#"{"instances": [{"image": [[1, 2], [3, 4]], "meta": [1, 2]}]}"#,
                "wrong shape at instances[0].meta: expected a list of 3, found a list of 2",
            ),
            (
                br#"{"inputs": {"image": [[[1, 2], [3, 4]]], "meta": [[1, 2, 3], [4, 5, 6]]}}"#,
                "'meta' has 2, 'image' has 1",
            ),
            (
                br#"{"inputs": {"image": {"meta": [1, 2, 3]}, "meta": [[1, 2, 3]]}}"#,
                "\"inputs.image\" must be a list of samples, found an object",
            ),
        ];
        for (body, want) in cases {
            let e = parse(body, &specs()).err().unwrap_or_default();
            assert!(
                e.contains(want),
                "{}: got {e:?}, want {want:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
