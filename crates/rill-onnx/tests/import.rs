//! ONNX files made by PyTorch (`torch.onnx.export`) and Keras (`model.export(format="onnx")`)
//! — see tools/make_onnx_fixtures_*.py — imported into Rill, which must give onnxruntime's
//! outputs (stored beside each file) within 1e-4; and what an imported model must do besides
//! predicting: summarise, save and load as `.rill`, fine-tune with `fit`.

use prost::Message;
use rill_core::{DType, Tensor};
use rill_nn::prelude::*;
use rill_onnx::proto::*;
use rill_test_support::fixtures::tensor;
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn record(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The fixture's inputs in the model's input order.
fn inputs(model: &Model, rec: &Value) -> Vec<Tensor> {
    let by_name = rec["inputs"].as_object().unwrap();
    assert_eq!(model.input_names().len(), by_name.len());
    by_name.values().map(tensor).collect()
}

fn assert_close(name: &str, got: &Tensor, want: &Tensor, tol: f32) {
    assert_eq!(got.shape(), want.shape(), "{name}: shapes");
    let (g, w) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1.0),
            "{name}: element {i}: Rill {a}, onnxruntime {b}"
        );
    }
}

const FIXTURES: [&str; 11] = [
    "torch_mlp",
    "torch_cnn",
    "torch_resnet",
    "torch_separable",
    "torch_separable_opset11",
    "torch_separable_opset20",
    "torch_embedding",
    "torch_recurrent",
    "keras_mlp",
    "keras_cnn",
    "keras_residual",
];

#[test]
fn models_from_pytorch_and_keras_give_onnxruntimes_outputs() {
    for name in FIXTURES {
        let model = rill_onnx::load(fixtures().join(format!("{name}.onnx")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let rec = record(name);
        let outs = model
            .call_many(&inputs(&model, &rec), false)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = rec["outputs"].as_array().unwrap();
        assert_eq!(outs.len(), want.len(), "{name}: outputs");
        for (o, w) in outs.iter().zip(want) {
            assert_close(name, o, &tensor(w), 1e-4);
        }
    }
}

#[test]
fn an_imported_model_keeps_the_files_layout_names_and_summarises() {
    let model = rill_onnx::load(fixtures().join("torch_resnet.onnx")).unwrap();
    assert_eq!(model.input_names(), vec!["input"]);
    assert_eq!(
        model.input_shapes(),
        vec![vec![3, 16, 16]],
        "NCHW stays NCHW"
    );
    assert_eq!(model.output_names(), vec!["output"]);
    let two = rill_onnx::load(fixtures().join("torch_separable.onnx")).unwrap();
    assert_eq!(two.output_names(), vec!["log_probs", "weights"]);
    let summary = model.summary();
    assert!(
        summary.contains("OnnxConv")
            && summary.contains("OnnxBatchNorm")
            && summary.contains("Dense"),
        "{summary}"
    );
    // Every weight of the file is a variable of the model.
    let file = ModelProto::decode(
        std::fs::read(fixtures().join("torch_resnet.onnx"))
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let in_file: usize = file
        .graph
        .unwrap()
        .initializer
        .iter()
        .map(|t| t.dims.iter().product::<i64>() as usize)
        .sum();
    let in_model: usize = model.variables().iter().map(|v| v.numel()).sum();
    assert_eq!(in_model, in_file);
}

#[test]
fn an_imported_model_saves_as_rill_loads_and_fine_tunes() {
    let mut model = rill_onnx::load(fixtures().join("torch_separable.onnx")).unwrap();
    let rec = record("torch_separable");
    let x = inputs(&model, &rec);
    let before = model.call_many(&x, false).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imported.rill");
    rill_io::save_model(&model, &path).unwrap();
    let loaded = rill_io::load_model(&path).unwrap();
    for (a, b) in loaded.call_many(&x, false).unwrap().iter().zip(&before) {
        assert_close("reloaded", a, b, 1e-6);
    }

    // Fine-tune the class head (output 0: log-probabilities) on a fixed batch: the loss falls,
    // and the file's weights move.
    let mut g = rill_core::Generator::new(3);
    let xs = g.uniform(&[16, 4, 9, 9], 0.0, 1.0, DType::F32).unwrap();
    let ys = Tensor::from_vec((0..16).map(|i| (i % 3) as i64).collect::<Vec<_>>(), &[16]).unwrap();
    let kernel_before = model.layer("depthwise_Conv").unwrap().variables()[0]
        .value()
        .to_vec::<f32>()
        .unwrap();
    let names = model.output_names();
    let losses = Losses::new()
        .output(&names[0], SparseCategoricalCrossentropy::from_logits())
        .output(&names[1], MeanSquaredError::default())
        .weight(&names[1], 0.0);
    model
        .compile(Adam::new(0.01), losses, &[] as &[&str])
        .unwrap();
    let weights_y = Tensor::zeros(&[16, 6], DType::F32);
    let history = model
        .fit(
            (vec![xs], vec![ys, weights_y]),
            FitConfig::default()
                .epochs(20)
                .batch_size(16)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    let losses = &history.history["loss"];
    assert!(
        losses.last().unwrap() < &(losses[0] * 0.8),
        "loss {losses:?}"
    );
    let kernel_after = model.layer("depthwise_Conv").unwrap().variables()[0]
        .value()
        .to_vec::<f32>()
        .unwrap();
    assert_ne!(
        kernel_before, kernel_after,
        "the file's weights are trainable"
    );
}

fn minimal(op: &str, opset: i64) -> Vec<u8> {
    let dim = |v: Option<DimensionValue>| Dimension {
        value: v,
        ..Default::default()
    };
    let info = |name: &str| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        dim(Some(DimensionValue::DimParam("N".into()))),
                        dim(Some(DimensionValue::DimValue(4))),
                    ],
                }),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                name: "the_node".into(),
                op_type: op.into(),
                input: vec!["x".into()],
                output: vec!["y".into()],
                ..Default::default()
            }],
            input: vec![info("x")],
            output: vec![info("y")],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn an_output_of_thirty_thousand_axes_is_refused_by_node() {
    let e = rill_onnx::load_bytes(&rill_test_support::crafted::deep_onnx(30_000))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node 'Reshape_y' (Reshape") && e.contains("30000 axes"),
        "{e}"
    );
    assert!(e.len() < 300, "the message lists no sizes: {e}");
    // As deep as tensors may be, it loads and runs.
    let model = rill_onnx::load_bytes(&rill_test_support::crafted::deep_onnx(64)).unwrap();
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[1, 4]).unwrap();
    assert_eq!(model.predict(&x, 1).unwrap().rank(), 64);
}

#[test]
fn a_constant_named_many_times_is_shared_and_what_folding_makes_is_bounded() {
    // Named 400 times, the 128 MiB constant would be 50 GiB as copies or as one Concat.
    let started = std::time::Instant::now();
    let e = rill_onnx::load_bytes(&rill_test_support::crafted::fold_bomb_onnx(400))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Concat") && e.contains("at most") && e.contains("while importing"),
        "{e}"
    );
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    // Named once, it is within the budget, and the model loads.
    let model = rill_onnx::load_bytes(&rill_test_support::crafted::fold_bomb_onnx(1)).unwrap();
    let x = Tensor::from_vec(vec![-1.0f32, 2.0, -3.0, 4.0], &[1, 4]).unwrap();
    assert_eq!(
        model.predict(&x, 1).unwrap().to_vec::<f32>().unwrap(),
        [0.0, 2.0, 0.0, 4.0]
    );
}

#[test]
fn bad_files_give_clear_errors() {
    // The minimal model itself imports.
    let ok = rill_onnx::load_bytes(&minimal("Relu", 17)).unwrap();
    assert_eq!(ok.output_shapes(), vec![vec![4]]);

    let err = |bytes: &[u8]| match rill_onnx::load_bytes(bytes) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    let e = err(&minimal("NonZero", 17));
    assert!(
        e.contains("NonZero")
            && e.contains("the_node")
            && e.contains("opset 17")
            && e.contains("not supported"),
        "{e}"
    );
    // The list of what is imported names the importer's own operators and those the layers'
    // import patterns answer to (read from the registry, not kept by hand).
    let listed = e.split("Rill imports ").nth(1).unwrap_or_default();
    for op in [
        "Reshape",
        "Slice",
        "Gemm",
        "Conv",
        "LeakyRelu",
        "ReduceMax",
        "Relu",
    ] {
        assert!(
            listed.split(", ").any(|o| o == op),
            "{op} missing from: {e}"
        );
    }
    assert_eq!(rill_onnx::supported_ops().join(", "), listed);
    let e = err(&minimal("Relu", 26));
    assert!(e.contains("opset 26") && e.contains("21"), "{e}");
    let e = err(&minimal("Relu", 9));
    assert!(e.contains("opset 9"), "{e}");

    let good = std::fs::read(fixtures().join("torch_resnet.onnx")).unwrap();
    for cut in [1, 10, 100, good.len() / 2, good.len() - 1] {
        let e = err(&good[..cut]);
        assert!(!e.is_empty(), "truncated at {cut}");
    }
    let e = err(b"definitely not protobuf \xff\xff\xff\xff");
    assert!(e.contains("not a readable ONNX model"), "{e}");
    let e = err(&ModelProto::default().encode_to_vec());
    assert!(e.contains("no graph"), "{e}");

    // A weight whose dims promise more data than the file holds.
    let mut file = ModelProto::decode(good.as_slice()).unwrap();
    file.graph.as_mut().unwrap().initializer[0].dims = vec![1 << 20, 1 << 20];
    let e = err(&file.encode_to_vec());
    assert!(
        e.contains("too large") || e.contains("bytes of data"),
        "{e}"
    );
    let mut file = ModelProto::decode(good.as_slice()).unwrap();
    file.graph.as_mut().unwrap().initializer[0].dims[0] += 1;
    let e = err(&file.encode_to_vec());
    assert!(e.contains("bytes of data"), "{e}");
}

/// Imports `bytes`; a model that imports runs on one zero sample. Errors are fine, panics not.
/// Imports `bytes`; a model that imports must also run (on zeros, when small enough) and give
/// outputs of the shapes it declares. Returns whether it imported.
fn import_and_run(bytes: &[u8]) -> bool {
    let Ok(model) = rill_onnx::load_bytes(bytes) else {
        return false;
    };
    let inputs: Vec<Tensor> = model
        .input_shapes()
        .iter()
        .map(|s| {
            let mut shape = vec![1];
            shape.extend(s);
            Tensor::zeros(&shape, DType::F32)
        })
        .collect();
    if inputs.iter().map(|t| t.numel()).sum::<usize>() <= 1 << 20 {
        let outputs = model
            .call_many(&inputs, false)
            .unwrap_or_else(|e| panic!("a model that imported does not run: {e}"));
        let shapes: Vec<Vec<usize>> = outputs.iter().map(|o| o.shape()[1..].to_vec()).collect();
        assert_eq!(
            shapes,
            model.output_shapes(),
            "outputs of other shapes than declared"
        );
    }
    true
}

#[test]
fn mutated_files_and_fuzzer_finds_give_errors_not_panics() {
    // Crash inputs `cargo fuzz run onnx` found (see fuzz/README.md), kept as regressions.
    let regressions = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for entry in std::fs::read_dir(regressions).unwrap().flatten() {
        import_and_run(&std::fs::read(entry.path()).unwrap());
    }
    let mut imported = 0;
    // And a seeded mutation run over every fixture: bytes overwritten, cut out, repeated.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    for name in FIXTURES {
        let good = std::fs::read(fixtures().join(format!("{name}.onnx"))).unwrap();
        for _ in 0..60 {
            let mut bytes = good.clone();
            match next(3) {
                0 => {
                    for _ in 0..1 + next(8) {
                        let i = next(bytes.len());
                        bytes[i] = next(256) as u8;
                    }
                }
                1 => {
                    let i = next(bytes.len());
                    let len = next(64).min(bytes.len() - i);
                    bytes.drain(i..i + len);
                }
                _ => {
                    let i = next(bytes.len());
                    let len = next(32).min(bytes.len() - i);
                    let copy = bytes[i..i + len].to_vec();
                    bytes.splice(i..i, copy);
                }
            }
            imported += usize::from(import_and_run(&bytes));
        }
    }
    // Some mutations leave a valid model (a changed weight, a renamed node): those ran above.
    assert!(imported > 20, "only {imported} mutated files imported");
}
