//! `.keras` files saved by Keras 3 itself (tools/make_keras_fixtures.py, TensorFlow backend):
//! Rill must give Keras' outputs within 1e-5, keep frozen layers frozen, fine-tune, and refuse
//! what it cannot honour with an error naming the layer and the argument.

use rill_core::{DType, Tensor};
use rill_nn::prelude::*;
use rill_test_support::crafted::{edit_keras_config, edit_keras_entry, keras_claiming};
use rill_test_support::fixtures::tensor;
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn record(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap())
        .unwrap()
}

fn outputs_match(name: &str) -> Model {
    let model = rill_keras::load_model(fixture(&format!("{name}.keras")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let rec = record(name);
    // A Sequential's input tensor has Keras' automatic name; a functional model's are named.
    let given = rec["inputs"].as_object().unwrap();
    let inputs: Vec<Tensor> = match given.len() {
        1 => given.values().map(tensor).collect(),
        _ => model
            .input_names()
            .iter()
            .map(|n| tensor(&given[n]))
            .collect(),
    };
    let outs = model.call_many(&inputs, false).unwrap();
    for (got, want) in outs.iter().zip(rec["outputs"].as_array().unwrap()) {
        let want = tensor(want);
        assert_eq!(got.shape(), want.shape(), "{name}");
        let (g, w) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
        let scale = w.iter().fold(1f32, |m, v| m.max(v.abs()));
        for (a, b) in g.iter().zip(&w) {
            assert!((a - b).abs() <= 1e-5 * scale, "{name}: Rill {a}, Keras {b}");
        }
    }
    model
}

#[test]
fn the_trained_tutorial_model_gives_keras_outputs() {
    let model = outputs_match("tutorial");
    assert_eq!(model.count_params(), 101_770);
    assert!(model.summary().contains("Sequential") || model.summary().contains("sequential"));
}

#[test]
fn a_cnn_gives_keras_outputs() {
    outputs_match("cnn");
}

#[test]
fn a_functional_model_with_two_inputs_two_outputs_a_skip_and_batchnorm_gives_keras_outputs() {
    let model = outputs_match("residual");
    assert_eq!(model.input_names(), vec!["features", "context"]);
    assert_eq!(model.output_names(), vec!["scores", "gate"]);
    // Keras saved `skip` with trainable=False: it stays frozen, and fit leaves it alone.
    assert!(!model.layer("skip").unwrap().is_trainable());
    assert!(model.layer("hidden").unwrap().is_trainable());
}

#[test]
fn recurrent_layers_of_every_kind_give_keras_outputs_and_save_as_keras_keeps_them() {
    // LSTM, Bidirectional LSTM, GRU (reset after and before), SimpleRNN backwards, causal
    // Conv1D, Embedding.
    let model = outputs_match("sequences");
    for kind in ["LSTM", "GRU", "SimpleRNN", "Bidirectional"] {
        assert!(
            model.layers().iter().any(|(_, l)| l.kind() == kind),
            "{kind} missing"
        );
    }
    // Written back, the weights sit where Keras keeps them: in each layer's `cell` group.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("again.keras");
    rill_keras::save_model(&model, &path).unwrap();
    let original = h5_paths(&fixture("sequences.keras"));
    let written = h5_paths(&path);
    let cells: Vec<&String> = original
        .iter()
        .filter(|p| p.contains("/cell/vars/"))
        .collect();
    // Three weights in each of five cells, two of them a Bidirectional's.
    assert_eq!(cells.len(), 18, "{original:?}");
    for p in cells {
        assert!(written.contains(p), "{p} not written; wrote {written:?}");
    }
    let again = rill_keras::load_model(&path).unwrap();
    let rec = record("sequences");
    let inputs: Vec<Tensor> = again
        .input_names()
        .iter()
        .map(|n| tensor(&rec["inputs"][n]))
        .collect();
    assert_eq!(
        again.call_many(&inputs, false).unwrap()[0]
            .to_vec::<f32>()
            .unwrap(),
        model.call_many(&inputs, false).unwrap()[0]
            .to_vec::<f32>()
            .unwrap()
    );
}

#[test]
fn masks_from_embedding_and_masking_are_honoured_as_keras_honours_them() {
    // Padding at the end, in the middle and at the start of token ids (Embedding(mask_zero))
    // and of a series (Masking), through LSTM, Bidirectional GRU, Dense and
    // GlobalAveragePooling1D: Keras' outputs.
    let model = outputs_match("masked");
    // The mask changes the result: without it (every step real) the outputs differ.
    let rec = record("masked");
    let inputs: Vec<Tensor> = model
        .input_names()
        .iter()
        .map(|n| tensor(&rec["inputs"][n]))
        .collect();
    let masked = model.call_many(&inputs, false).unwrap()[0]
        .to_vec::<f32>()
        .unwrap();
    let config = model.get_config().unwrap().to_string();
    assert!(config.contains("mask_zero"), "{config}");
    let unmasked = config.replace("\"mask_zero\":true", "\"mask_zero\":false");
    let plain = Model::from_config(&serde_json::from_str(&unmasked).unwrap()).unwrap();
    plain.set_weights(&model.get_weights()).unwrap();
    let out = plain.call_many(&inputs, false).unwrap()[0]
        .to_vec::<f32>()
        .unwrap();
    assert!(out.iter().zip(&masked).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn a_transformer_block_and_cross_attention_give_keras_outputs() {
    // MultiHeadAttention called with positional inputs and use_causal_mask, as Keras writes it.
    let model = outputs_match("attention");
    let attention: Vec<_> = model
        .layers()
        .into_iter()
        .filter(|(_, l)| l.kind() == "MultiHeadAttention")
        .map(|(_, l)| l.config().unwrap())
        .collect();
    assert_eq!(attention.len(), 2);
    assert_eq!(attention[0]["use_causal_mask"], true);
    assert_eq!(attention[1]["use_causal_mask"], false);
}

/// The dataset paths in a `.keras` file's `model.weights.h5`.
fn h5_paths(path: &std::path::Path) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name("model.weights.h5").unwrap(), &mut bytes).unwrap();
    let file = hdf5_pure::File::from_bytes(bytes).unwrap();
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(at) = stack.pop() {
        let group = if at.is_empty() {
            file.root()
        } else {
            file.group(&at).unwrap()
        };
        for d in group.datasets().unwrap() {
            out.push(format!("{at}/{d}"));
        }
        for g in group.groups().unwrap() {
            stack.push(if at.is_empty() {
                g
            } else {
                format!("{at}/{g}")
            });
        }
    }
    out
}

#[test]
fn models_nested_in_a_model_give_keras_outputs_and_keep_the_frozen_base() {
    let model = outputs_match("nested");
    // Merging layers are layers, as in Keras' `model.layers`.
    assert_eq!(
        model.layer_names(),
        vec!["base", "tower", "concatenate", "head"]
    );
    assert!(!model.layer("base").unwrap().is_trainable());
    assert!(model.layer("tower").unwrap().is_trainable());
    // Written again, read again: the same outputs (the writer nests groups as Keras does).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("again.keras");
    rill_keras::save_model(&model, &path).unwrap();
    let again = rill_keras::load_model(&path).unwrap();
    assert!(!again.layer("base").unwrap().is_trainable());
    let rec = record("nested");
    let inputs: Vec<Tensor> = model
        .input_names()
        .iter()
        .map(|n| tensor(&rec["inputs"][n]))
        .collect();
    let (a, b) = (
        model.call_many(&inputs, false).unwrap(),
        again.call_many(&inputs, false).unwrap(),
    );
    assert_eq!(a[0].to_vec::<f32>().unwrap(), b[0].to_vec::<f32>().unwrap());
}

#[test]
fn a_loaded_model_fine_tunes_and_frozen_layers_stay() {
    let mut model = rill_keras::load_model(fixture("residual.keras")).unwrap();
    let mut g = rill_core::Generator::new(1);
    let f = g.uniform(&[32, 12], 0.0, 1.0, DType::F32).unwrap();
    let c = g.uniform(&[32, 6, 6, 2], 0.0, 1.0, DType::F32).unwrap();
    let y = Tensor::from_vec((0..32).map(|i| (i % 3) as i64).collect::<Vec<_>>(), &[32]).unwrap();
    let gate = Tensor::from_vec(
        (0..32).map(|i| (i % 2) as f32).collect::<Vec<_>>(),
        &[32, 1],
    )
    .unwrap();
    let skip = model.layer("skip").unwrap().variables()[0]
        .value()
        .to_vec::<f32>()
        .unwrap();
    let hidden = model.layer("hidden").unwrap().variables()[0]
        .value()
        .to_vec::<f32>()
        .unwrap();
    let losses = Losses::new()
        .output("scores", SparseCategoricalCrossentropy::default())
        .output("gate", BinaryCrossentropy::default());
    model
        .compile(Adam::new(0.01), losses, &[] as &[&str])
        .unwrap();
    let h = model
        .fit(
            (vec![f, c], vec![y, gate]),
            FitConfig::default()
                .epochs(15)
                .batch_size(32)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    let loss = &h.history["loss"];
    assert!(loss.last().unwrap() < &(loss[0] * 0.9), "{loss:?}");
    assert_eq!(
        model.layer("skip").unwrap().variables()[0]
            .value()
            .to_vec::<f32>()
            .unwrap(),
        skip
    );
    assert_ne!(
        model.layer("hidden").unwrap().variables()[0]
            .value()
            .to_vec::<f32>()
            .unwrap(),
        hidden
    );
}

/// `cnn.keras` with its config changed by `edit`.
fn with_config(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    edit_keras_config(&std::fs::read(fixture("cnn.keras")).unwrap(), edit)
}

fn error(bytes: &[u8]) -> String {
    match rill_keras::load_bytes(bytes) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn what_rill_cannot_honour_is_refused_by_layer_and_argument() {
    let e = error(&with_config(|c| {
        c["config"]["layers"][1]["config"]["groups"] = 2.into()
    }));
    assert!(
        e.contains("layer 'conv2d' (Conv2D)") && e.contains("groups=2"),
        "{e}"
    );
    let e = error(&with_config(|c| {
        c["config"]["layers"][1]["config"]["data_format"] = "channels_first".into()
    }));
    assert!(e.contains("data_format=\"channels_first\""), "{e}");
    let e = error(&with_config(|c| {
        c["config"]["layers"][1]["config"]["activation"] = "selu".into()
    }));
    assert!(e.contains("activation=\"selu\""), "{e}");
    let e = error(&with_config(|c| {
        c["config"]["layers"][1]["config"]["kernel_constraint"] =
            serde_json::json!({"class_name": "MaxNorm"})
    }));
    assert!(e.contains("kernel_constraint"), "{e}");
    let e = error(&with_config(|c| {
        c["config"]["layers"][1]["config"]["some_future_argument"] = 3.into()
    }));
    assert!(e.contains("some_future_argument=3"), "{e}");
    let e = error(&with_config(|c| {
        c["config"]["layers"][1]["class_name"] = "ConvLSTM2D".into()
    }));
    assert!(e.contains("(ConvLSTM2D) has no Rill counterpart"), "{e}");
    let e = error(&with_config(|c| {
        c["config"]["layers"][1]["config"]["dtype"] = "mixed_float16".into()
    }));
    assert!(e.contains("dtype"), "{e}");
}

#[test]
fn broken_files_give_clear_errors() {
    let good = std::fs::read(fixture("cnn.keras")).unwrap();
    assert!(error(b"not a zip at all").contains("not a zip archive"));
    for cut in [10, good.len() / 3, good.len() / 2, good.len() - 10] {
        let e = error(&good[..cut]);
        assert!(!e.is_empty(), "cut at {cut}");
    }
    // Weights that do not fit the architecture.
    let e = error(&with_config(|c| {
        c["config"]["layers"][1]["config"]["filters"] = 9.into()
    }));
    assert!(e.contains("conv2d") && e.contains("[3, 3, 1, 8]"), "{e}");
    // A size within bounds that would allocate far more than the file holds (4·2^24·… values):
    // refused before building, never attempted.
    let e = error(&with_config(|c| {
        let layers = c["config"]["layers"].as_array_mut().unwrap();
        let dense = layers
            .iter_mut()
            .find(|l| l["class_name"] == "Dense")
            .unwrap();
        dense["config"]["units"] = (1u64 << 24).into();
    }));
    assert!(e.contains("more than the file could fill"), "{e}");
    // Mutated bytes: errors or models, never panics; a model that loads runs and gives outputs
    // of the shapes it declares. The weights file and the config are mutated inside a zip that
    // is written again (a mutated zip mostly fails its checksums before anything is read).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut loaded = 0;
    for round in 0..300 {
        let entry = if round % 3 == 0 {
            "config.json"
        } else {
            "model.weights.h5"
        };
        let bytes = edit_keras_entry(&good, entry, |bytes| {
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state % bytes.len() as u64) as usize;
                bytes[i] = (state >> 32) as u8;
            }
        });
        let Ok(model) = rill_keras::load_bytes(&bytes) else {
            continue;
        };
        loaded += 1;
        let inputs: Vec<Tensor> = model
            .input_shapes()
            .iter()
            .map(|s| Tensor::zeros(&[&[1], &s[..]].concat(), DType::F32))
            .collect();
        let outputs = model
            .call_many(&inputs, false)
            .unwrap_or_else(|e| panic!("a model that loaded does not run: {e}"));
        let shapes: Vec<Vec<usize>> = outputs.iter().map(|o| o.shape()[1..].to_vec()).collect();
        assert_eq!(shapes, model.output_shapes());
    }
    assert!(loaded > 10, "only {loaded} mutated files loaded");
}

#[test]
fn a_zip_header_that_claims_more_than_the_entry_holds_is_refused_before_reserving_it() {
    let good = with_config(|_| {});
    rill_keras::load_bytes(&good).expect("the rewritten archive loads");
    // 4 GiB claimed by a file of a few hundred kilobytes: reserved, it would abort a process
    // whose memory is capped.
    let e = error(&keras_claiming(&good, u32::MAX - 1));
    assert!(
        e.contains("model.weights.h5 declares 4294967294 bytes from")
            && e.contains("the archive's header is wrong"),
        "{e}"
    );
    // A smaller lie, within what the file could hold, is caught when the entry is read.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&good)).unwrap();
    let real = zip.by_name("model.weights.h5").unwrap().size() as u32;
    let e = error(&keras_claiming(&good, real - 1));
    assert!(e.contains("model.weights.h5"), "{e}");
}

#[test]
fn a_layer_whose_output_has_thirty_thousand_axes_is_refused_by_name() {
    let e = error(&with_config(|c| {
        let layers = c["config"]["layers"].as_array_mut().unwrap();
        let mut deep = layers.last().unwrap().clone();
        deep["class_name"] = "Reshape".into();
        let mut shape = vec![1u64; 29_999];
        shape[0] = 10;
        deep["config"] = serde_json::json!({"name": "deep", "target_shape": shape});
        layers.push(deep);
    }));
    assert!(
        e.contains("'deep'") && e.contains("30000 axes") && e.contains("at most 64"),
        "{e}"
    );
    assert!(e.len() < 300, "the message lists no sizes: {e}");
}

#[test]
fn weights_files_load_into_the_same_architecture_and_round_trip() {
    // The weights inside tutorial.keras are a Keras 3 `.weights.h5` file.
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("tutorial.keras")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let weights_path = dir.path().join("tutorial.weights.h5");
    std::io::copy(
        &mut zip.by_name("model.weights.h5").unwrap(),
        &mut std::fs::File::create(&weights_path).unwrap(),
    )
    .unwrap();
    let fresh = Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation(Activation::Relu)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])
    .unwrap();
    rill_keras::load_weights(&fresh, &weights_path).unwrap();
    let loaded = rill_keras::load_model(fixture("tutorial.keras")).unwrap();
    let x = rill_core::Generator::new(3)
        .uniform(&[4, 28, 28], 0.0, 1.0, DType::F32)
        .unwrap();
    assert_eq!(
        fresh.predict(&x, 4).unwrap().to_vec::<f32>().unwrap(),
        loaded.predict(&x, 4).unwrap().to_vec::<f32>().unwrap()
    );
    // Written by Rill, read back into yet another copy.
    let again = dir.path().join("again.weights.h5");
    rill_keras::save_weights(&fresh, &again).unwrap();
    let third = Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation(Activation::Relu)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])
    .unwrap();
    rill_keras::load_weights(&third, &again).unwrap();
    assert_eq!(
        third
            .get_weights()
            .iter()
            .map(|t| t.to_vec::<f32>().unwrap())
            .collect::<Vec<_>>(),
        fresh
            .get_weights()
            .iter()
            .map(|t| t.to_vec::<f32>().unwrap())
            .collect::<Vec<_>>()
    );
    // A different architecture is refused by layer.
    let other = Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Dense::new(64)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])
    .unwrap();
    let e = rill_keras::load_weights(&other, &weights_path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[784, 128]") && e.contains("[784, 64]"), "{e}");
}
