//! Export of the layers the importer builds (`OnnxConv`, `OnnxPool`, …): each is one ONNX
//! operator already, in the file's own layout, so an imported model that was fine-tuned in
//! Rill goes back out as ONNX with no layout changes.

use super::Exporter;
use crate::attributes::{float, int, ints};
use crate::error::{invalid, Result};
use crate::proto::AttributeProto;
use crate::tensors::write_i64;
use rill_core::Tensor;
use rill_nn::layers::Merge;
use serde_json::Value;

fn usizes(v: &Value) -> Vec<i64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect()
}

/// ONNX's name for an `Arithmetic` as stored in configs.
fn arithmetic(op: &Value) -> Result<&'static str> {
    Ok(match op.as_str() {
        Some("add") => "Add",
        Some("sub") => "Sub",
        Some("mul") => "Mul",
        Some("div") => "Div",
        Some("pow") => "Pow",
        _ => return Err(invalid(format!("unknown arithmetic {op}"))),
    })
}

impl Exporter {
    fn single(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        name: &str,
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = self.claim(name);
        self.emit(op, inputs, out, attrs)
    }

    /// The ONNX form of an importer-built layer, or `None` for any other kind.
    pub(super) fn imported_layer(
        &mut self,
        name: &str,
        kind: &str,
        c: &Value,
        weights: &[Tensor],
        x: String,
    ) -> Result<Option<String>> {
        let w = |i: usize| {
            weights
                .get(i)
                .ok_or_else(|| invalid(format!("layer '{name}' ({kind}) is not built")))
        };
        Ok(Some(match kind {
            "OnnxConv" => {
                let mut inputs = vec![x, self.weight(&format!("{name}/kernel"), w(0)?)?];
                if let Some(b) = weights.get(1) {
                    inputs.push(self.weight(&format!("{name}/bias"), b)?);
                }
                let attrs = vec![
                    ints("kernel_shape", &usizes(&c["kernel_shape"])),
                    ints("strides", &usizes(&c["strides"])),
                    ints("pads", &usizes(&c["pads"])),
                    ints("dilations", &usizes(&c["dilations"])),
                    int("group", c["group"].as_i64().unwrap_or(1)),
                ];
                self.single("Conv", inputs, name, attrs)
            }
            "OnnxPool" => {
                let mut attrs = vec![
                    ints("kernel_shape", &usizes(&c["kernel_shape"])),
                    ints("strides", &usizes(&c["strides"])),
                    ints("pads", &usizes(&c["pads"])),
                ];
                let op = if c["mode"] == "max" {
                    "MaxPool"
                } else {
                    attrs.push(int(
                        "count_include_pad",
                        i64::from(c["count_include_pad"] == true),
                    ));
                    "AveragePool"
                };
                self.single(op, vec![x], name, attrs)
            }
            "OnnxBatchNorm" => {
                let mut inputs = vec![x];
                for (i, part) in ["scale", "bias", "mean", "variance"].iter().enumerate() {
                    inputs.push(self.weight(&format!("{name}/{part}"), w(i)?)?);
                }
                let attrs = vec![
                    float("epsilon", c["epsilon"].as_f64().unwrap_or(1e-5) as f32),
                    float("momentum", c["momentum"].as_f64().unwrap_or(0.9) as f32),
                ];
                self.single("BatchNormalization", inputs, name, attrs)
            }
            "OnnxTranspose" => self.single(
                "Transpose",
                vec![x],
                name,
                vec![ints("perm", &usizes(&c["perm"]))],
            ),
            "OnnxPad" => {
                let pairs: Vec<(i64, i64)> = c["pads"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| (p[0].as_i64().unwrap_or(0), p[1].as_i64().unwrap_or(0)))
                    .collect();
                let pads: Vec<i64> = std::iter::once(0)
                    .chain(pairs.iter().map(|p| p.0))
                    .chain(std::iter::once(0))
                    .chain(pairs.iter().map(|p| p.1))
                    .collect();
                let pads_name = self.claim(&format!("{name}/pads"));
                self.initializers.push(write_i64(&pads_name, &pads));
                let mut value = c["value"].as_f64().unwrap_or(0.0) as f32;
                if value == 0.0 {
                    // −0 pads exactly as 0 does, and keeps onnxruntime from fusing this Pad into
                    // a following pooling or convolution: its fusion takes only a value whose
                    // bytes are all zero, then adds the pads to the next node's without checking
                    // them against its window — which fails for pads as large as the window.
                    value = -0.0;
                }
                let value = self.scalar(&format!("{name}/value"), value);
                self.single("Pad", vec![x, pads_name, value], name, vec![])
            }
            "OnnxReduceMean" => {
                let attrs = vec![
                    ints("axes", &usizes(&c["axes"])),
                    int("keepdims", i64::from(c["keepdims"] == true)),
                ];
                self.single("ReduceMean", vec![x], name, attrs)
            }
            "OnnxUnary" => match c["op"].as_str().unwrap_or("") {
                "leaky_relu" => {
                    let alpha = float("alpha", c["alpha"].as_f64().unwrap_or(0.01) as f32);
                    self.single("LeakyRelu", vec![x], name, vec![alpha])
                }
                "clip" => {
                    let lo = self.scalar(
                        &format!("{name}/min"),
                        c["min"].as_f64().unwrap_or(f64::NEG_INFINITY) as f32,
                    );
                    let hi = self.scalar(
                        &format!("{name}/max"),
                        c["max"].as_f64().unwrap_or(f64::INFINITY) as f32,
                    );
                    self.single("Clip", vec![x, lo, hi], name, vec![])
                }
                op => {
                    let onnx = match op {
                        "erf" => "Erf",
                        "neg" => "Neg",
                        "sqrt" => "Sqrt",
                        "exp" => "Exp",
                        "log" => "Log",
                        "abs" => "Abs",
                        "reciprocal" => "Reciprocal",
                        other => {
                            return Err(invalid(format!("layer '{name}': unknown op '{other}'")))
                        }
                    };
                    self.single(onnx, vec![x], name, vec![])
                }
            },
            "OnnxSoftmax" => {
                let op = if c["log"] == true {
                    "LogSoftmax"
                } else {
                    "Softmax"
                };
                self.single(
                    op,
                    vec![x],
                    name,
                    vec![int("axis", c["axis"].as_i64().unwrap_or(-1))],
                )
            }
            "OnnxConstantOp" => {
                let op = arithmetic(&c["op"])?;
                let constant = self.weight(&format!("{name}/constant"), w(0)?)?;
                let inputs = if c["constant_first"] == true {
                    vec![constant, x]
                } else {
                    vec![x, constant]
                };
                self.single(op, inputs, name, vec![])
            }
            _ => return Ok(None),
        }))
    }

    /// The ONNX form of an importer-built merge, or `None` for any other kind.
    pub(super) fn imported_merge(
        &mut self,
        name: &str,
        merge: &dyn Merge,
        args: &[String],
    ) -> Result<Option<String>> {
        let c = merge.config();
        Ok(Some(match merge.kind() {
            "OnnxBinary" => self.single(arithmetic(&c["op"])?, args.to_vec(), name, vec![]),
            "OnnxConcat" => self.single(
                "Concat",
                args.to_vec(),
                name,
                vec![int("axis", c["axis"].as_i64().unwrap_or(1))],
            ),
            _ => return Ok(None),
        }))
    }
}
