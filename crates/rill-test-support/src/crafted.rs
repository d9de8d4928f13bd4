//! Model files crafted to do harm. Each is small on disk and valid but for the one thing it
//! lies about or asks for, so a reader must refuse it by a check, not by luck.

use prost::Message;
use rill_onnx::proto::*;
use safetensors::SafeTensors;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

/// Rewrites a saved `.rill` file's architecture (`model_config`) with `edit` and seals it again
/// with a correct SHA-256, as anyone can compute one: the digest is over the metadata entries
/// in key order, then the weights in name order.
pub fn reseal_rill(good: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (_, header) = SafeTensors::read_metadata(good).expect("a Rill file");
    let mut meta: HashMap<String, String> = header.metadata().clone().expect("metadata");
    let mut config: Value = serde_json::from_str(&meta["model_config"]).expect("a config");
    edit(&mut config);
    meta.insert("model_config".into(), config.to_string());
    let st = SafeTensors::deserialize(good).expect("a Rill file");
    let views: BTreeMap<String, _> = st.tensors().into_iter().collect();
    let mut h = Sha256::new();
    let mut entry = |k: &[u8], v: &[u8]| {
        h.update(k);
        h.update((v.len() as u64).to_le_bytes());
        h.update(v);
    };
    let sorted: BTreeMap<&String, &String> = meta.iter().filter(|(k, _)| *k != "sha256").collect();
    for (k, v) in sorted {
        entry(k.as_bytes(), v.as_bytes());
    }
    entry(b"--weights--", b"");
    for (name, view) in &views {
        entry(name.as_bytes(), view.data());
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    meta.insert("sha256".into(), digest);
    safetensors::serialize(views, Some(meta)).expect("serialises")
}

/// A `.keras` file's bytes with its `config.json` rewritten by `edit`; every other entry is
/// copied unchanged.
pub fn edit_keras_config(good: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    edit_keras_entry(good, "config.json", |bytes| {
        let mut config: Value = serde_json::from_slice(bytes).expect("a config");
        edit(&mut config);
        *bytes = config.to_string().into_bytes();
    })
}

/// A `.keras` file's bytes with entry `name` rewritten by `edit` and the zip written again
/// (sizes and checksums right for the new bytes); every other entry is copied unchanged.
pub fn edit_keras_entry(good: &[u8], name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(good)).expect("a zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut edit = Some(edit);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("an entry");
        let entry_name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("readable");
        if entry_name == name {
            (edit.take().expect("one entry of that name"))(&mut bytes);
        }
        out.start_file(entry_name, options).expect("an entry");
        out.write_all(&bytes).expect("written");
    }
    assert!(edit.is_none(), "no entry {name} in the archive");
    out.finish().expect("a zip").into_inner()
}

/// A `.keras` file whose zip headers (local and central) claim `claimed` bytes for
/// `model.weights.h5` while the entry holds what it held.
pub fn keras_claiming(good: &[u8], claimed: u32) -> Vec<u8> {
    let mut bytes = good.to_vec();
    let name = b"model.weights.h5";
    // (signature, offset of the uncompressed size, offset of the name length, header length)
    let headers: [(&[u8; 4], usize, usize, usize); 2] =
        [(b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)];
    let mut patched = 0;
    for (sig, size_at, name_len_at, fixed) in headers {
        let mut at = 0;
        while let Some(i) = find(&bytes[at..], sig).map(|i| i + at) {
            let len = u16::from_le_bytes([bytes[i + name_len_at], bytes[i + name_len_at + 1]]);
            if bytes.get(i + fixed..i + fixed + len as usize) == Some(&name[..]) {
                bytes[i + size_at..i + size_at + 4].copy_from_slice(&claimed.to_le_bytes());
                patched += 1;
            }
            at = i + 4;
        }
    }
    assert_eq!(patched, 2, "the weights' local and central headers");
    bytes
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dim(v: DimensionValue) -> Dimension {
    Dimension {
        value: Some(v),
        ..Default::default()
    }
}

/// A float tensor value named `name`, of a symbolic batch and then `sample` sizes.
fn float_info(name: &str, sample: &[i64]) -> ValueInfoProto {
    let mut dims = vec![dim(DimensionValue::DimParam("N".into()))];
    dims.extend(sample.iter().map(|&d| dim(DimensionValue::DimValue(d))));
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim: dims }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: format!("{op}_{output}"),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

fn int64s(name: &str, values: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![values.len() as i64],
        data_type: data_type::INT64,
        int64_data: values.to_vec(),
        ..Default::default()
    }
}

fn model(graph: GraphProto) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// An ONNX model from `(N, 4)` inputs whose one output has `rank` axes: `Reshape` to
/// `[-1, 4, 1, 1, …]` (8 bytes a axis: 30,000 axes are 240 KB).
pub fn deep_onnx(rank: usize) -> Vec<u8> {
    let mut shape = vec![1i64; rank];
    shape[0] = -1;
    shape[1] = 4;
    model(GraphProto {
        name: "deep".into(),
        node: vec![node("Reshape", &["x", "shape"], "y", vec![])],
        initializer: vec![int64s("shape", &shape)],
        input: vec![float_info("x", &[4])],
        output: vec![float_info("y", &[4])],
        ..Default::default()
    })
}

/// A 2 KB ONNX model that folds `ConstantOfShape([2^24])` — a 128 MiB int64 constant, within
/// what one folded constant may hold — and has one `Concat` name it `references` times; its
/// output is a plain `Relu` of its `(N, 4)` input.
pub fn fold_bomb_onnx(references: usize) -> Vec<u8> {
    let tensor = |name: &str, v: &[i64]| AttributeProto {
        name: name.into(),
        r#type: attribute_type::TENSOR,
        t: Some(int64s("", v)),
        ..Default::default()
    };
    let int = |name: &str, i: i64| AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i,
        ..Default::default()
    };
    let names = vec!["big"; references];
    model(GraphProto {
        name: "fold_bomb".into(),
        node: vec![
            node("Constant", &[], "size", vec![tensor("value", &[1 << 24])]),
            node(
                "ConstantOfShape",
                &["size"],
                "big",
                vec![tensor("value", &[7])],
            ),
            node("Concat", &names, "huge", vec![int("axis", 0)]),
            node("Relu", &["x"], "y", vec![]),
        ],
        input: vec![float_info("x", &[4])],
        output: vec![float_info("y", &[4])],
        ..Default::default()
    })
}
