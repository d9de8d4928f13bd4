use super::serde_helpers::check_sizes;
use super::{Configurable, Layer};
use crate::{Error, Initializer, Result, Variable};
use rill_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

/// [`Embedding`]'s arguments.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct EmbeddingConfig {
    /// How many ids: ids lie in `0..input_dim`.
    pub input_dim: usize,
    /// The length of each vector.
    pub output_dim: usize,
    /// Id 0 is padding: the output carries a mask of the other ids, which recurrent layers,
    /// `GlobalAveragePooling1D` and the layers between honour (Keras' `mask_zero`).
    #[serde(default)]
    pub mask_zero: bool,
}

/// Maps integer ids in `0..input_dim` to learned vectors of `output_dim` — Keras' `Embedding`
/// (weights uniform in [−0.05, 0.05]). Ids arrive as any numeric dtype and must be whole.
#[derive(Debug)]
pub struct Embedding {
    config: EmbeddingConfig,
    embeddings: Option<Variable>,
}

impl Embedding {
    /// A table of `input_dim` vectors of length `output_dim`.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            config: EmbeddingConfig {
                input_dim,
                output_dim,
                mask_zero: false,
            },
            embeddings: None,
        }
    }
}

impl Embedding {
    /// Treats id 0 as padding: the output carries a mask of the real ids.
    pub fn mask_zero(mut self, on: bool) -> Self {
        self.config.mask_zero = on;
        self
    }
}

impl Configurable for Embedding {
    const KIND: &'static str = "Embedding";
    type Config = EmbeddingConfig;
    fn get_config(&self) -> EmbeddingConfig {
        self.config
    }
    fn from_config(c: EmbeddingConfig) -> Result<Self> {
        check_sizes(
            Self::KIND,
            "input_dim and output_dim",
            &[c.input_dim, c.output_dim],
        )?;
        Ok(Embedding::new(c.input_dim, c.output_dim).mask_zero(c.mask_zero))
    }
    fn examples() -> Vec<super::LayerExample<EmbeddingConfig>> {
        use super::{LayerExample as E, SampleValues::Ids};
        vec![E::new(Embedding::new(10, 4).get_config(), &[5]).values(Ids(10))]
    }
}

impl Layer for Embedding {
    crate::configurable_layer!();
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let mut out = input_shape.to_vec();
        out.push(self.config.output_dim);
        Ok(out)
    }
    fn build(&mut self, _input_shape: &[usize]) -> Result<()> {
        let c = self.config;
        self.embeddings = Some(Variable::trainable(
            "embeddings",
            Initializer::RandomUniform(-0.05, 0.05).init(&[c.input_dim, c.output_dim])?,
        )?);
        Ok(())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let table = self
            .embeddings
            .as_ref()
            .ok_or_else(|| Error::not_built(Self::KIND))?;
        let ids = x.to_dtype(DType::I64)?.reshape(&[x.numel()])?;
        let rows = table.value().index_select(0, &ids).map_err(|e| {
            Error::Input(format!(
                "Embedding: {e} (ids must lie in 0..{})",
                self.config.input_dim
            ))
        })?;
        let mut shape = x.shape().to_vec();
        shape.push(self.config.output_dim);
        Ok(rows.reshape(&shape)?)
    }
    fn output_mask(&self, inputs: &[Tensor], _masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        match (self.config.mask_zero, inputs) {
            (true, [ids]) => Ok(Some(
                ids.ne(&Tensor::scalar(0.0f32).to_dtype(ids.dtype())?)?
                    .to_dtype(DType::F32)?,
            )),
            _ => Ok(None),
        }
    }
    fn variables(&self) -> Vec<Variable> {
        self.embeddings.iter().cloned().collect()
    }
}

/// ONNX: the ids cast to int64, then `Gather` from the table.
impl super::OnnxForm for Embedding {
    const ONNX_OPS: &'static [&'static str] = &["Gather"];
    /// ONNX `Gather` of a constant table's rows by computed ids: an embedding lookup.
    fn from_onnx(node: &dyn super::OnnxNode) -> Result<Option<super::OnnxImport<EmbeddingConfig>>> {
        let table = node.constant(0)?;
        let lookup = table.filter(|t| t.rank() == 2 && node.computed(1).is_some());
        let Some(table) = lookup.filter(|_| node.int("axis", 0).is_ok_and(|a| a == 0)) else {
            return Err(super::onnx_unsupported(
                node,
                "a gather from anything but a constant table's rows by computed ids (an embedding lookup)",
            ));
        };
        let config = EmbeddingConfig {
            input_dim: table.shape()[0],
            output_dim: table.shape()[1],
            mask_zero: false,
        };
        let mut found = super::OnnxImport::new(config).weights(vec![table]);
        found.input = 1;
        Ok(Some(found))
    }
    fn to_onnx(
        c: &EmbeddingConfig,
        l: super::OnnxLayer<'_>,
        g: &mut dyn super::OnnxGraph,
    ) -> Result<String> {
        use super::OnnxAttr::Int;
        /// ONNX's element type number for int64.
        const INT64: i64 = 7;
        if c.mask_zero {
            // ONNX carries no masks: the layers after this one would not skip the padding.
            return Err(Error::Config(format!(
                "layer '{}' (Embedding): mask_zero has no ONNX form (ONNX has no masks, so the exported model would not skip padding); export a model without it",
                l.name
            )));
        }
        let ids = g.node(
            "Cast",
            vec![l.input.clone()],
            &l.part("ids"),
            vec![Int("to", INT64)],
        );
        let table = g.weight(&l.part("embeddings"), l.weight(0)?)?;
        Ok(g.node("Gather", vec![table, ids], l.name, vec![Int("axis", 0)]))
    }
}

/// Keras: `keras.layers.Embedding`.
impl super::KerasForm for Embedding {
    const KERAS_POSITIONAL: &'static [&'static str] = &["input_dim", "output_dim"];
    fn to_keras(c: &EmbeddingConfig) -> serde_json::Value {
        serde_json::json!({"input_dim": c.input_dim, "output_dim": c.output_dim, "mask_zero": c.mask_zero})
    }
    fn from_keras(a: &mut super::KerasArgs<'_>, _rank: usize) -> Result<EmbeddingConfig> {
        Ok(EmbeddingConfig {
            input_dim: a.required("input_dim")?,
            output_dim: a.required("output_dim")?,
            mask_zero: a.value("mask_zero", false)?,
        })
    }
}
