//! Rill's built-in layers as ONNX nodes: the mapping of each layer kind, its activation, and
//! the window padding that Keras' `same` means.

use super::Exporter;
use crate::attributes::{float, int, ints};
use crate::error::{invalid, unsupported, Result};
use crate::proto::*;
use rill_nn::layers::Layer;
use serde_json::Value;

impl Exporter {
    pub(super) fn layer(
        &mut self,
        name: &str,
        layer: &dyn Layer,
        x: String,
        in_shape: &[usize],
    ) -> Result<String> {
        if let Some(inner) = layer.as_model() {
            let view = inner.graph_view()?;
            let outs = self.graph(&view, &[x], &format!("{name}/"))?;
            return Ok(outs
                .into_iter()
                .next()
                .expect("a nested model has one output"));
        }
        let kind = layer.kind();
        let config = layer.config().unwrap_or(Value::Null);
        let weights: Vec<rill_core::Tensor> = layer.variables().iter().map(|v| v.value()).collect();
        let no_mapping = || {
            unsupported(format!(
                "layer '{name}' ({kind}) has no ONNX mapping; the layers that export are Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, BatchNormalization, LayerNormalization, Dropout, Rescaling, Reshape, Flatten, Embedding, Activation, ReLU, Softmax and nested models"
            ))
        };
        let activation = config["activation"]
            .as_str()
            .unwrap_or("linear")
            .to_string();
        let w = |i: usize| {
            weights
                .get(i)
                .ok_or_else(|| invalid(format!("layer '{name}' ({kind}) is not built")))
        };
        Ok(match kind {
            "Dense" => {
                let kernel = self.weight(&format!("{name}/kernel"), w(0)?)?;
                let bias = match weights.get(1) {
                    Some(b) => Some(self.weight(&format!("{name}/bias"), b)?),
                    None => None,
                };
                let base = if activation == "linear" {
                    name.to_string()
                } else {
                    format!("{name}/linear")
                };
                let y = if in_shape.len() == 1 {
                    let mut inputs = vec![x, kernel];
                    inputs.extend(bias);
                    self.op("Gemm", inputs, &base, vec![])
                } else {
                    let y = self.op("MatMul", vec![x, kernel], &base, vec![]);
                    match bias {
                        Some(b) => self.op("Add", vec![y, b], &format!("{name}/biased"), vec![]),
                        None => y,
                    }
                };
                self.activation(name, &activation, y)?
            }
            "Conv2D" => {
                let [kh, kw] = pair(&config["kernel_size"])?;
                let strides = pair(&config["strides"])?;
                let dilation = pair(&config["dilation_rate"])?;
                let same = config["padding"] == "same";
                let pads = pads(in_shape, [kh, kw], strides, dilation, same);
                let kernel = w(0)?.permute(&[3, 2, 0, 1])?;
                let mut inputs = vec![
                    self.channels_first(&x),
                    self.weight(&format!("{name}/kernel"), &kernel)?,
                ];
                if let Some(b) = weights.get(1) {
                    inputs.push(self.weight(&format!("{name}/bias"), b)?);
                }
                let attrs = vec![
                    ints("kernel_shape", &[kh as i64, kw as i64]),
                    ints("strides", &[strides[0] as i64, strides[1] as i64]),
                    ints("dilations", &[dilation[0] as i64, dilation[1] as i64]),
                    ints("pads", &pads),
                ];
                let y = self.op("Conv", inputs, &format!("{name}/nchw"), attrs);
                if activation == "softmax" {
                    // Softmax runs over channels: do it channels-last, where they are the last axis.
                    let linear = self.claim(&format!("{name}/linear"));
                    let y = self.back_to_channels_last(y, linear);
                    self.activation(name, &activation, y)?
                } else {
                    let y = self.activation(&format!("{name}/activated"), &activation, y)?;
                    let out = self.claim(name);
                    self.back_to_channels_last(y, out)
                }
            }
            "MaxPooling2D" | "AveragePooling2D" => {
                let pool = pair(&config["pool_size"])?;
                let strides = if config["strides"].is_null() {
                    pool
                } else {
                    pair(&config["strides"])?
                };
                let pads = pads(in_shape, pool, strides, [1, 1], config["padding"] == "same");
                let mut attrs = vec![
                    ints("kernel_shape", &[pool[0] as i64, pool[1] as i64]),
                    ints("strides", &[strides[0] as i64, strides[1] as i64]),
                    ints("pads", &pads),
                ];
                let op = if kind == "MaxPooling2D" {
                    "MaxPool"
                } else {
                    "AveragePool"
                };
                if op == "AveragePool" {
                    // Keras leaves padded positions out of each average.
                    attrs.push(int("count_include_pad", 0));
                }
                let input = self.channels_first(&x);
                let y = self.op(op, vec![input], &format!("{name}/nchw"), attrs);
                let out = self.claim(name);
                self.back_to_channels_last(y, out)
            }
            "GlobalAveragePooling2D" => {
                let out = self.claim(name);
                self.emit(
                    "ReduceMean",
                    vec![x],
                    out,
                    vec![ints("axes", &[1, 2]), int("keepdims", 0)],
                )
            }
            "BatchNormalization" => {
                let eps = config["epsilon"].as_f64().unwrap_or(1e-3) as f32;
                let names = ["gamma", "beta", "moving_mean", "moving_variance"];
                let mut inputs = vec![];
                for (i, n) in names.iter().enumerate() {
                    inputs.push(self.weight(&format!("{name}/{n}"), w(i)?)?);
                }
                let rank = in_shape.len() + 1;
                let attrs = vec![float("epsilon", eps)];
                if rank == 2 {
                    inputs.insert(0, x);
                    let out = self.claim(name);
                    self.emit("BatchNormalization", inputs, out, attrs)
                } else if rank == 4 {
                    inputs.insert(0, self.channels_first(&x));
                    let y = self.op("BatchNormalization", inputs, &format!("{name}/nchw"), attrs);
                    let out = self.claim(name);
                    self.back_to_channels_last(y, out)
                } else {
                    // Channels to axis 1 and back.
                    let to: Vec<i64> = std::iter::once(0)
                        .chain(std::iter::once(rank as i64 - 1))
                        .chain(1..rank as i64 - 1)
                        .collect();
                    let back: Vec<i64> = std::iter::once(0)
                        .chain(2..rank as i64)
                        .chain(std::iter::once(1))
                        .collect();
                    let t = self.op(
                        "Transpose",
                        vec![x],
                        &format!("{name}/channels_first"),
                        vec![ints("perm", &to)],
                    );
                    inputs.insert(0, t);
                    let y = self.op(
                        "BatchNormalization",
                        inputs,
                        &format!("{name}/normalized"),
                        attrs,
                    );
                    let out = self.claim(name);
                    self.emit("Transpose", vec![y], out, vec![ints("perm", &back)])
                }
            }
            "LayerNormalization" => {
                let eps = config["epsilon"].as_f64().unwrap_or(1e-3) as f32;
                let inputs = vec![
                    x,
                    self.weight(&format!("{name}/gamma"), w(0)?)?,
                    self.weight(&format!("{name}/beta"), w(1)?)?,
                ];
                let out = self.claim(name);
                self.emit(
                    "LayerNormalization",
                    inputs,
                    out,
                    vec![int("axis", -1), float("epsilon", eps)],
                )
            }
            "Dropout" => x,
            "Rescaling" => {
                let scale = config["scale"].as_f64().unwrap_or(1.0) as f32;
                let offset = config["offset"].as_f64().unwrap_or(0.0) as f32;
                let s = self.scalar(&format!("{name}/scale"), scale);
                if offset == 0.0 {
                    let out = self.claim(name);
                    self.emit("Mul", vec![x, s], out, vec![])
                } else {
                    let y = self.op("Mul", vec![x, s], &format!("{name}/scaled"), vec![]);
                    let o = self.scalar(&format!("{name}/offset"), offset);
                    let out = self.claim(name);
                    self.emit("Add", vec![y, o], out, vec![])
                }
            }
            "Reshape" => {
                let target: Vec<i64> = std::iter::once(0)
                    .chain(
                        config["target_shape"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|d| d.as_i64().unwrap_or(-1)),
                    )
                    .collect();
                let shape = self.int64s(&format!("{name}/shape"), &target);
                let out = self.claim(name);
                self.emit("Reshape", vec![x, shape], out, vec![])
            }
            "Flatten" => {
                let out = self.claim(name);
                self.emit("Flatten", vec![x], out, vec![int("axis", 1)])
            }
            "Embedding" => {
                let ids = self.op(
                    "Cast",
                    vec![x],
                    &format!("{name}/ids"),
                    vec![int("to", data_type::INT64 as i64)],
                );
                let table = self.weight(&format!("{name}/embeddings"), w(0)?)?;
                let out = self.claim(name);
                self.emit("Gather", vec![table, ids], out, vec![int("axis", 0)])
            }
            "Activation" | "ReLU" | "Softmax" => {
                let act = if activation == "linear" && kind != "Activation" {
                    kind.to_lowercase()
                } else {
                    activation
                };
                match (self.nchw.get(&x).cloned(), act.as_str()) {
                    // Elementwise after a convolution: stay channels-first.
                    (Some(y), a) if a != "softmax" => {
                        let y = self.activation(&format!("{name}/nchw"), a, y)?;
                        let out = self.claim(name);
                        self.back_to_channels_last(y, out)
                    }
                    _ if act == "linear" => {
                        let out = self.claim(name);
                        self.emit("Identity", vec![x], out, vec![])
                    }
                    _ => self.activation(name, &act, x)?,
                }
            }
            _ => match self.imported_layer(name, kind, &config, &weights, x)? {
                Some(out) => out,
                None => return Err(no_mapping()),
            },
        })
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

fn pair(v: &Value) -> Result<[usize; 2]> {
    let sizes: Option<Vec<u64>> = v
        .as_array()
        .and_then(|a| a.iter().map(Value::as_u64).collect());
    match sizes.as_deref() {
        Some(&[a, b]) => Ok([a as usize, b as usize]),
        _ => Err(invalid(format!("expected a pair of sizes, found {v}"))),
    }
}

/// ONNX's `pads` (top, left, bottom, right) for a window over an (H, W, C) input: none for
/// `valid`, TensorFlow's split for `same` (the odd pixel at the end).
fn pads(
    hwc: &[usize],
    k: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    same: bool,
) -> Vec<i64> {
    if !same {
        return vec![0; 4];
    }
    let [(top, bottom), (left, right)] =
        [0, 1].map(|a| rill_core::same_padding(hwc[a], k[a], stride[a], dilation[a]));
    [top, left, bottom, right].map(|p| p as i64).to_vec()
}
