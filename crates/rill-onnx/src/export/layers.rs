//! Layers as ONNX nodes: each built-in layer writes itself (its [`OnnxForm`], in its own file
//! in rill-nn) through the [`OnnxGraph`] the exporter is; nested models export as their layers,
//! and the importer's own layers through `imported.rs`.

use super::Exporter;
use crate::attributes::{float, int, ints};
use crate::error::{unsupported, Error, Result};
use crate::proto::*;
use rill_nn::layers::{Layer, OnnxAttr, OnnxGraph, OnnxLayer};
use serde_json::Value;

impl Exporter {
    pub(super) fn layer(
        &mut self,
        name: &str,
        layer: &dyn Layer,
        xs: Vec<String>,
        shapes: &[&[usize]],
    ) -> Result<String> {
        if let Some(inner) = layer.as_model() {
            let view = inner.graph_view()?;
            let outs = self.graph(&view, &xs, &format!("{name}/"))?;
            return Ok(outs
                .into_iter()
                .next()
                .expect("a nested model has one output"));
        }
        let kind = layer.kind();
        let config = layer.config().unwrap_or(Value::Null);
        let weights: Vec<rill_core::Tensor> = layer.variables().iter().map(|v| v.value()).collect();
        if let Some(export) = rill_nn::layers::onnx_form(kind) {
            let input = OnnxLayer {
                name,
                input: xs[0].clone(),
                inputs: xs,
                input_shape: shapes[0],
                input_shapes: shapes.iter().map(|s| s.to_vec()).collect(),
                weights,
            };
            return export(&config, input, self).map_err(Error::Model);
        }
        Err(unsupported(format!(
            "layer '{name}' ({kind}) has no ONNX mapping; the layers that export are {} and nested models",
            rill_nn::layers::onnx_kinds().join(", ")
        )))
    }

    /// Applies a Keras activation to `x`, the result named after `name` (linear: `x` itself).
    fn activation(&mut self, name: &str, activation: &str, x: String) -> Result<String> {
        let simple = |op: &str, attrs: Vec<AttributeProto>, ex: &mut Self, x: String| {
            let o = ex.claim(name);
            ex.emit(op, vec![x], o, attrs)
        };
        Ok(match activation {
            "linear" => x,
            "relu" => simple("Relu", vec![], self, x),
            "sigmoid" => simple("Sigmoid", vec![], self, x),
            "tanh" => simple("Tanh", vec![], self, x),
            "softmax" => simple("Softmax", vec![int("axis", -1)], self, x),
            "elu" => simple("Elu", vec![float("alpha", 1.0)], self, x),
            "leaky_relu" => simple("LeakyRelu", vec![float("alpha", 0.2)], self, x),
            "softplus" => simple("Softplus", vec![], self, x),
            "gelu" => {
                // Opset 17 has no Gelu: x · ½ · (1 + erf(x / √2)).
                let r = self.scalar(
                    &format!("{name}/inv_sqrt2"),
                    std::f32::consts::FRAC_1_SQRT_2,
                );
                let one = self.scalar(&format!("{name}/one"), 1.0);
                let half = self.scalar(&format!("{name}/half"), 0.5);
                let s = self.op("Mul", vec![x.clone(), r], &format!("{name}/scaled"), vec![]);
                let e = self.op("Erf", vec![s], &format!("{name}/erf"), vec![]);
                let p = self.op("Add", vec![e, one], &format!("{name}/cdf2"), vec![]);
                let xp = self.op("Mul", vec![x, p], &format!("{name}/xcdf2"), vec![]);
                let o = self.claim(name);
                self.emit("Mul", vec![xp, half], o, vec![])
            }
            other => {
                return Err(unsupported(format!(
                    "activation '{other}' of '{name}' has no ONNX mapping"
                )))
            }
        })
    }
}

/// A layer's attribute as the protobuf message.
fn attribute(a: OnnxAttr) -> AttributeProto {
    match a {
        OnnxAttr::Int(n, v) => int(n, v),
        OnnxAttr::Ints(n, v) => ints(n, &v),
        OnnxAttr::Float(n, v) => float(n, v),
        OnnxAttr::Floats(n, v) => crate::attributes::floats(n, &v),
        OnnxAttr::Str(n, v) => crate::attributes::string(n, &v),
        OnnxAttr::Strs(n, v) => crate::attributes::strings(n, &v),
    }
}

/// Errors of this crate as a layer's export reports them.
fn to_layer_error(e: Error) -> rill_nn::Error {
    match e {
        Error::Model(m) => m,
        other => rill_nn::Error::Config(other.to_string()),
    }
}

impl OnnxGraph for Exporter {
    fn weight(&mut self, base: &str, value: &rill_core::Tensor) -> rill_nn::Result<String> {
        Exporter::weight(self, base, value).map_err(to_layer_error)
    }
    fn scalar(&mut self, base: &str, value: f32) -> String {
        Exporter::scalar(self, base, value)
    }
    fn int64s(&mut self, base: &str, values: &[i64]) -> String {
        Exporter::int64s(self, base, values)
    }
    fn node(&mut self, op: &str, inputs: Vec<String>, base: &str, attrs: Vec<OnnxAttr>) -> String {
        let attrs = attrs.into_iter().map(attribute).collect();
        self.op(op, inputs, base, attrs)
    }
    fn activation(&mut self, base: &str, activation: &str, x: String) -> rill_nn::Result<String> {
        Exporter::activation(self, base, activation, x).map_err(to_layer_error)
    }
    fn channels_first(&mut self, x: &str) -> String {
        Exporter::channels_first(self, x)
    }
    fn channels_last(&mut self, y: String, base: &str) -> String {
        let out = self.claim(base);
        self.back_to_channels_last(y, out)
    }
    fn existing_channels_first(&self, x: &str) -> Option<String> {
        self.nchw.get(x).cloned()
    }
}
