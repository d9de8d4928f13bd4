use super::Layer;
use crate::{Error, Initializer, Result, Variable};
use rill_core::{DType, Tensor};

/// Maps integer ids in `0..input_dim` to learned vectors of `output_dim` — Keras' `Embedding`
/// (weights uniform in [−0.05, 0.05]). Ids arrive as any numeric dtype and must be whole.
#[derive(Debug)]
pub struct Embedding {
    name: String,
    input_dim: usize,
    output_dim: usize,
    embeddings: Option<Variable>,
}

impl Embedding {
    /// A table of `input_dim` vectors of length `output_dim`.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            name: String::new(),
            input_dim,
            output_dim,
            embeddings: None,
        }
    }
}

impl Layer for Embedding {
    fn kind(&self) -> &'static str {
        "Embedding"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.embeddings = Some(Variable::trainable(
            "embeddings",
            Initializer::RandomUniform(-0.05, 0.05).init(&[self.input_dim, self.output_dim])?,
        )?);
        let mut out = input_shape.to_vec();
        out.push(self.output_dim);
        Ok(out)
    }
    fn call(&mut self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let table = self
            .embeddings
            .as_ref()
            .ok_or_else(|| Error::Config(format!("{}: call before build", self.name)))?;
        let ids = x.to_dtype(DType::I64)?.reshape(&[x.numel()])?;
        let rows = table.value.index_select(0, &ids).map_err(|e| {
            Error::Input(format!(
                "{}: {e} (ids must lie in 0..{})",
                self.name, self.input_dim
            ))
        })?;
        let mut shape = x.shape().to_vec();
        shape.push(self.output_dim);
        Ok(rows.reshape(&shape)?)
    }
    fn variables(&self) -> Vec<&Variable> {
        self.embeddings.iter().collect()
    }
    fn variables_mut(&mut self) -> Vec<&mut Variable> {
        self.embeddings.iter_mut().collect()
    }
    fn config(&self) -> Option<serde_json::Value> {
        Some(
            serde_json::json!({"name": self.name, "input_dim": self.input_dim, "output_dim": self.output_dim}),
        )
    }
}
