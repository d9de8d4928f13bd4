//! Model files crafted to do harm — with a valid checksum, as anyone can compute one — give
//! errors, never a panic or an allocation the size of the numbers written in them.

use rill_core::{set_seed, Padding};
use rill_io::{load_model, save_model};
use rill_nn::prelude::*;
use safetensors::SafeTensors;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

fn small_cnn() -> Sequential {
    set_seed(3);
    Sequential::new(vec![
        Box::new(Conv2D::new(4, (3, 3)).padding(Padding::Same)) as Box<dyn Layer>,
        Box::new(Flatten::new()),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28, 1])
    .unwrap()
}

/// Rewrites a saved file's architecture with `edit` and seals it again with a correct SHA-256
/// (the digest is over the metadata entries in key order, then the weights in name order).
fn craft(good: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (_, header) = SafeTensors::read_metadata(good).unwrap();
    let mut meta: HashMap<String, String> = header.metadata().clone().unwrap();
    let mut config: Value = serde_json::from_str(&meta["model_config"]).unwrap();
    edit(&mut config);
    meta.insert("model_config".into(), config.to_string());
    let st = SafeTensors::deserialize(good).unwrap();
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
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn node<'a>(config: &'a mut Value, class: &str) -> &'a mut Value {
    config["nodes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|n| n["class_name"] == class)
        .unwrap()
}

#[test]
fn sizes_written_in_a_file_cannot_make_loading_allocate_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.rill");
    save_model(&small_cnn(), &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let resealed = craft(&good, |_| {});
    std::fs::write(&path, &resealed).unwrap();
    load_model(&path).expect("the resealing itself is right: an unedited file loads");

    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "units 1e12",
            Box::new(|c| node(c, "Dense")["config"]["units"] = json!(1e12)),
            "Dense config",
        ),
        (
            "units 2^64-1",
            Box::new(|c| node(c, "Dense")["config"]["units"] = json!(u64::MAX)),
            "units",
        ),
        (
            // Within the per-size bound, but 3136·2^24 values: far more than the file holds.
            "units 2^24",
            Box::new(|c| node(c, "Dense")["config"]["units"] = json!(1u64 << 24)),
            "more than the file could fill",
        ),
        (
            "a huge kernel",
            Box::new(|c| node(c, "Conv2D")["config"]["kernel_size"] = json!([1 << 20, 1 << 20])),
            "per sample is more than",
        ),
        (
            "many filters",
            Box::new(|c| node(c, "Conv2D")["config"]["filters"] = json!(1 << 24)),
            "more than the file could fill",
        ),
        (
            "a huge input",
            Box::new(|c| {
                let input = c["nodes"].as_array_mut().unwrap().iter_mut();
                let input = input.into_iter().find(|n| n["op"] == "input").unwrap();
                input["shape"] = json!([1 << 24, 1 << 24, 1]);
            }),
            "per sample is more than",
        ),
        (
            // Sizes that allocate little but do not match the stored weights.
            "a changed kernel size",
            Box::new(|c| node(c, "Conv2D")["config"]["kernel_size"] = json!([5, 5])),
            "[3, 3, 1, 4]",
        ),
    ];
    for (what, edit, want) in cases {
        let p = dir.path().join("crafted.rill");
        std::fs::write(&p, craft(&good, edit)).unwrap();
        match load_model(&p) {
            Ok(_) => panic!("{what}: loaded"),
            Err(e) => assert!(e.to_string().contains(want), "{what}: {e}"),
        }
    }
}

#[test]
fn only_regular_files_are_read() {
    #[cfg(unix)]
    {
        let e = load_model("/dev/zero").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
    let dir = tempfile::tempdir().unwrap();
    let e = load_model(dir.path()).unwrap_err().to_string();
    assert!(!e.is_empty());
}
