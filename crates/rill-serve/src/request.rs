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

use crate::inference::Values;
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
    pub data: Vec<Values>,
    /// Samples in the request.
    pub rows: usize,
    /// Whether it used the row format (`instances`), which is answered with `predictions`.
    pub row_format: bool,
}

/// Reads `{"instances": [...]}` or `{"inputs": ...}` for a model with inputs `specs`.
///
/// Samples are read against the model's input shapes; a request whose samples differ from
/// them only by axes of size 1 (a 28×28×1 image for a 28×28 input, as TF Serving's own
/// tutorial client sends) is read again learning its shape, and taken when that fits.
pub(crate) fn parse(body: &[u8], specs: &[TensorSpec]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("invalid JSON: not UTF-8 ({e})"))?;
    if !text.trim_start().starts_with('{') {
        return Err(
            "the request body must be a JSON object with \"instances\" or \"inputs\"".into(),
        );
    }
    let text = quote_special_numbers(text);
    let b: Body = serde_json::from_str(&text).map_err(|e| {
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
    let strict = read(raw.get(), specs, row_format, false);
    let state = match strict {
        Ok(s) => s,
        // A list where a number goes, or a list of another length: maybe size-1 axes.
        Err(e)
            if e.starts_with("wrong shape")
                || e.ends_with("found a list")
                || e.ends_with("found a string") =>
        {
            let Ok(learned) = read(raw.get(), specs, row_format, true) else {
                return Err(e);
            };
            if !learned.fits_up_to_size_one_axes() {
                return Err(e);
            }
            learned
        }
        Err(e) => return Err(e),
    };
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

/// One pass over the samples: against the model's shapes, or learning them from the request.
fn read<'s>(
    raw: &str,
    specs: &'s [TensorSpec],
    row_format: bool,
    learn: bool,
) -> Result<State<'s>, String> {
    let mut state = State {
        specs,
        learned: learn.then(|| vec![Learned::default(); specs.len()]),
        // The sizes come from the model, not the request: one sample each is a safe guess.
        data: specs
            .iter()
            .map(|s| Values::for_input(s, s.shape.iter().product()))
            .collect(),
        rows: vec![None; specs.len()],
        current: 0,
        path: Vec::new(),
        root: if row_format { "instances" } else { "inputs" },
        row_format,
    };
    let mut de = serde_json::Deserializer::from_str(raw);
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
    Ok(state)
}

/// The bare tokens `NaN`, `Infinity` and `-Infinity` (TF Serving's JSON, not standard JSON)
/// quoted, so that the standard reader takes them as strings the sample reader turns back
/// into numbers. Text inside strings is left alone; a body without them is not copied.
fn quote_special_numbers(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    if !b.iter().any(|&c| c == b'N' || c == b'I') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let (mut in_string, mut escaped, mut copied) = (false, false, 0);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| b[i..].starts_with(t.as_bytes()));
        if let Some(t) = token {
            out.push_str(&text[copied..i]);
            out.push('"');
            out.push_str(t);
            out.push('"');
            i += t.len();
            copied = i;
            continue;
        }
        i += 1;
    }
    if copied == 0 {
        return text.into();
    }
    out.push_str(&text[copied..]);
    out.into()
}

/// One step of the path to the element being read, for error messages.
enum Step {
    Index(usize),
    Key(String),
}

/// What the value at some depth must be.
enum Expect {
    /// The list of samples (of instances, or of one input's samples).
    Batch,
    /// A list inside a sample, of this length when known.
    List(Option<usize>),
    /// A number.
    Number,
}

/// The sample shape of one input as the request shows it, for a model whose input differs
/// from it only by size-1 axes (a 28×28×1 image for a 28×28 input).
#[derive(Clone, Default)]
struct Learned {
    /// The length of the lists at each depth below the sample, once one has ended.
    dims: Vec<Option<usize>>,
    /// The depth at which numbers are, once one has been read.
    leaf: Option<usize>,
}

/// The deepest a sample may nest when its shape is being learned.
const MAX_LEARNED_RANK: usize = 32;

struct State<'s> {
    specs: &'s [TensorSpec],
    /// `Some` when sample shapes are learned from the request rather than taken from the
    /// model: one per input.
    learned: Option<Vec<Learned>>,
    data: Vec<Values>,
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

    /// What the value at `depth` must be.
    fn expect(&self, depth: usize) -> Expect {
        if depth == 0 {
            return Expect::Batch;
        }
        match &self.learned {
            None => match self.specs[self.current].shape.get(depth - 1) {
                Some(&n) => Expect::List(Some(n)),
                None => Expect::Number,
            },
            Some(l) => {
                let l = &l[self.current];
                match l.leaf {
                    Some(leaf) if depth >= leaf => Expect::Number,
                    _ => Expect::List(l.dims.get(depth - 1).copied().flatten()),
                }
            }
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

    /// Whether every input's learned sample shape is the model's but for axes of size 1.
    fn fits_up_to_size_one_axes(&self) -> bool {
        let Some(learned) = &self.learned else {
            return true;
        };
        self.specs.iter().zip(learned).all(|(spec, l)| {
            let Some(leaf) = l.leaf else { return false };
            let dims: Option<Vec<usize>> = (1..leaf)
                .map(|d| l.dims.get(d - 1).copied().flatten())
                .collect();
            dims.is_some_and(|d| rill_nn::fits(&d, &spec.shape))
        })
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
        match s.expect(self.depth) {
            Expect::List(Some(d)) => E::custom(format!(
                "wrong shape at {}: expected a list of {d}, found {found}",
                s.at()
            )),
            Expect::List(None) => E::custom(format!(
                "wrong shape at {}: expected a list, found {found}",
                s.at()
            )),
            Expect::Batch => E::custom(format!(
                "\"{}\" must be a list of samples, found {found}",
                s.at()
            )),
            Expect::Number => E::custom(format!(
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

    fn number<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.leaf("a number")?;
        match &mut self.state.data[self.state.current] {
            Values::Numbers(values) => values.push(v as f32),
            Values::Text(_) => return Err(self.wrong_kind("a number")),
        }
        Ok(())
    }

    fn text<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        self.leaf("a string")?;
        match &mut self.state.data[self.state.current] {
            Values::Text(values) => values.push(v.to_string()),
            Values::Numbers(_) => return Err(self.wrong("a string")),
        }
        Ok(())
    }

    /// The error for a value of the wrong kind where an input of text takes a string.
    fn wrong_kind<E: de::Error>(&self, found: &str) -> E {
        E::custom(format!(
            "wrong dtype at {}: the input '{}' takes text (DT_STRING), found {found}",
            self.state.at(),
            self.state.specs[self.state.current].name
        ))
    }

    /// A value where the sample's shape puts one (or, learning, the depth that fixes it).
    fn leaf<E: de::Error>(&mut self, found: &str) -> Result<(), E> {
        self.check_named()?;
        let current = self.state.current;
        match self.state.expect(self.depth) {
            Expect::Number => {}
            // Learning: the first number fixes the depth of every number.
            Expect::List(_)
                if self
                    .state
                    .learned
                    .as_ref()
                    .is_some_and(|l| l[current].leaf.is_none()) =>
            {
                if let Some(l) = &mut self.state.learned {
                    l[current].leaf = Some(self.depth);
                }
            }
            _ => return Err(self.wrong(found)),
        }
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
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        // TF Serving's JSON has the bare tokens NaN, Infinity and -Infinity, which the reader
        // is handed quoted (see `quote_special_numbers`); for an input of text they are text.
        if matches!(self.state.data[self.state.current], Values::Text(_)) {
            return self.text(v);
        }
        match v {
            "NaN" => self.number(f64::NAN),
            "Infinity" => self.number(f64::INFINITY),
            "-Infinity" => self.number(f64::NEG_INFINITY),
            _ => self.text(v),
        }
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar("a boolean")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar("null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.check_named()?;
        let expected = match self.state.expect(self.depth) {
            Expect::Number => return Err(self.wrong("a list")),
            Expect::Batch => None,
            Expect::List(_) if self.depth > MAX_LEARNED_RANK => return Err(self.wrong("a list")),
            Expect::List(n) => Some(n),
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
            if let Some(Some(d)) = expected {
                if n > d {
                    return Err(de::Error::custom(format!(
                        "wrong shape at {}: expected a list of {d}, found a longer one",
                        self.state.at()
                    )));
                }
            }
        }
        match expected {
            Some(Some(d)) if n != d => Err(de::Error::custom(format!(
                "wrong shape at {}: expected a list of {d}, found a list of {n}",
                self.state.at()
            ))),
            Some(Some(_)) => Ok(()),
            Some(None) => {
                // Learning: the first list to end at a depth fixes that depth's length (the
                // expectation above was re-read after the elements, which may have set it).
                let (current, depth) = (self.state.current, self.depth);
                if let Some(l) = &mut self.state.learned {
                    let dims = &mut l[current].dims;
                    if dims.len() < depth {
                        dims.resize(depth, None);
                    }
                    match dims[depth - 1] {
                        Some(d) if d != n => {
                            return Err(de::Error::custom(format!(
                                "wrong shape at {}: expected a list of {d}, found a list of {n}",
                                self.state.at()
                            )))
                        }
                        _ => dims[depth - 1] = Some(n),
                    }
                }
                Ok(())
            }
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
                text: false,
            },
            TensorSpec {
                name: "meta".into(),
                shape: vec![3],
                text: false,
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
        assert_eq!(
            p.data[0],
            Values::Numbers(vec![1., 2., 3., 4., 5., 6., 7., 8.])
        );
        assert_eq!(p.data[1], Values::Numbers(vec![1., 2., 3., 4., 5., 6.]));
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
