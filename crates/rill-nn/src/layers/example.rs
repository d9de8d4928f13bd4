//! What a layer's file offers the one test every registered layer passes (in the spirit of
//! Keras' `run_layer_test`): arguments to build it with and the per-sample inputs to run it on.
//! The test (`crates/rill/tests/every_layer.rs`) builds each example, checks the shape rule
//! against the output, and round-trips it through every format the kind has a form for.

/// The values a sample input holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleValues {
    /// Uniform floats in `[low, high)`.
    Uniform(f64, f64),
    /// Whole numbers `0..n` (as floats), e.g. token ids for an `Embedding` of `n` rows.
    Ids(usize),
    /// Strings, each one word of [`SAMPLE_WORDS`] (some outside any example's vocabulary, and
    /// the empty string): a lookup layer's tokens.
    Words,
    /// Strings, each a short sentence of [`SAMPLE_WORDS`] in mixed case with punctuation: a
    /// `TextVectorization`'s documents.
    Sentences,
}

/// The words string samples are made of.
pub const SAMPLE_WORDS: &[&str] = &[
    "the", "film", "was", "great", "dull", "plot", "", "The", "great!",
];

/// One way to build and run a layer: its arguments and a per-sample input shape.
#[derive(Debug, Clone)]
pub struct LayerExample<C> {
    /// The layer's arguments.
    pub config: C,
    /// The per-sample input shape (no batch axis).
    pub input_shape: Vec<usize>,
    /// What the inputs hold.
    pub values: SampleValues,
    /// How many inputs of that shape the layer takes (several for a merge).
    pub inputs: usize,
}

impl<C> LayerExample<C> {
    /// `config` run on per-sample inputs of `input_shape`, uniform in `[-1, 1)`.
    pub fn new(config: C, input_shape: &[usize]) -> Self {
        LayerExample {
            config,
            input_shape: input_shape.to_vec(),
            values: SampleValues::Uniform(-1.0, 1.0),
            inputs: 1,
        }
    }

    /// The same example with `n` inputs of its shape (a merge's).
    pub fn inputs(mut self, n: usize) -> Self {
        self.inputs = n;
        self
    }

    /// The same example with inputs holding `values`.
    pub fn values(mut self, values: SampleValues) -> Self {
        self.values = values;
        self
    }

    /// The example with its config as JSON (how the registry hands it out).
    pub fn to_json(self) -> crate::Result<LayerExample<serde_json::Value>>
    where
        C: serde::Serialize,
    {
        let config = serde_json::to_value(&self.config)
            .map_err(|e| crate::Error::Config(format!("example config: {e}")))?;
        Ok(LayerExample {
            config,
            input_shape: self.input_shape,
            values: self.values,
            inputs: self.inputs,
        })
    }
}
