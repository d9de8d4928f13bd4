/// What went wrong while building, training or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed (shape or dtype mismatch inside a layer).
    #[error(transparent)]
    Core(#[from] rill_core::Error),
    /// Data handed to `fit`, `evaluate` or `predict` does not fit the model.
    #[error("{0}")]
    Input(String),
    /// A layer, loss, optimizer or model was configured wrongly or used before it was ready.
    #[error("{0}")]
    Config(String),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Formats a per-sample shape as Keras does: `(None, 28, 28)`.
pub fn batch_shape(sample: &[usize]) -> String {
    let mut s = String::from("(None");
    for d in sample {
        s.push_str(&format!(", {d}"));
    }
    s.push(')');
    s
}

impl Error {
    /// A layer called (or asked for weights) before its model built it, with how to fix that.
    pub fn not_built(kind: &str) -> Self {
        Error::Config(format!(
            "{kind}: called before it was built; give the model an input shape \
             (Sequential::with_input_shape, or FunctionalBuilder::input) or fit it on data first"
        ))
    }
}
