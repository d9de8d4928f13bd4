//! Export of the merges the importer builds (`OnnxBinary`, `OnnxConcat`): each is one ONNX
//! operator already. (Its layers — `OnnxConv`, `OnnxPool`, … — carry their ONNX form in their
//! own files, as every layer does.)

use super::Exporter;
use crate::attributes::int;
use crate::error::{invalid, Result};
use crate::proto::AttributeProto;
use rill_nn::layers::Merge;
use serde_json::Value;

/// ONNX's name for an `Arithmetic` as stored in a config.
fn arithmetic(op: &Value) -> Result<&'static str> {
    let op: crate::import::layers::Arithmetic = serde_json::from_value(op.clone())
        .map_err(|_| invalid(format!("unknown arithmetic {op}")))?;
    Ok(op.onnx_op())
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
