//! Model files crafted to do harm — with a valid checksum, as anyone can compute one — give
//! errors, never a panic or an allocation the size of the numbers written in them.

use rill_core::{set_seed, Padding};
use rill_io::{load_model, save_model};
use rill_nn::prelude::*;
use rill_test_support::crafted::reseal_rill as craft;
use serde_json::{json, Value};

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
            // 30,000 axes: refused before any code that works per axis sees them.
            "a deep input",
            Box::new(|c| {
                let input = c["nodes"].as_array_mut().unwrap().iter_mut();
                let input = input.into_iter().find(|n| n["op"] == "input").unwrap();
                input["shape"] = json!(vec![1; 30_000]);
            }),
            "30001 axes with the batch axis; Rill's tensors have at most 64",
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
