//! Model files: round trips for every layer type, broken files, and atomic writes.

use rill_core::{set_seed, DType, Padding, Tensor};
use rill_io::{load_model, load_weights, save_model, save_weights};
use rill_nn::layers::register_layer;
use rill_nn::prelude::*;

/// A model using every built-in layer type, trained a little so no weight is at its initial value.
fn every_layer() -> Sequential {
    set_seed(11);
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Rescaling::new(0.5, 0.1)),
        Box::new(Reshape::new(&[8, 8, 1])),
        Box::new(
            Conv2D::new(4, (3, 3))
                .padding(Padding::Same)
                .activation(Activation::Relu)
                .kernel_regularizer(Regularizer::L2(1e-3)),
        ),
        Box::new(BatchNormalization::new()),
        Box::new(MaxPooling2D::new((2, 2))),
        Box::new(Conv2D::new(4, (2, 2)).strides((2, 2))),
        Box::new(AveragePooling2D::new((2, 2)).padding(Padding::Same)),
        Box::new(GlobalAveragePooling2D::new()),
        Box::new(Dense::new(6).activation(Activation::Tanh)),
        Box::new(LayerNormalization::new()),
        Box::new(Dropout::new(0.3)),
        Box::new(ActivationLayer::new(Activation::Gelu)),
        Box::new(ReLU::new()),
        Box::new(Dense::new(3).use_bias(false)),
        Box::new(Flatten::new()),
        Box::new(Softmax::new()),
    ];
    let mut m = Sequential::new(layers).with_input_shape(&[64]).unwrap();
    m.compile(
        Adam::new(0.01),
        SparseCategoricalCrossentropy::default(),
        &[],
    )
    .unwrap();
    let x = Tensor::rand_uniform(&[16, 64], 0.0, 1.0, DType::F32).unwrap();
    let y = Tensor::from_vec((0..16i64).map(|i| i % 3).collect(), &[16]).unwrap();
    m.fit(
        (&x, &y),
        FitConfig::default()
            .epochs(2)
            .batch_size(8)
            .verbose(Verbosity::Silent),
    )
    .unwrap();
    m
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn every_layer_type_round_trips_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.rill");
    let model = every_layer();
    save_model(&model, &path).unwrap();
    let loaded = load_model(&path).unwrap();
    assert_eq!(loaded.summary(), model.summary());
    let x = Tensor::rand_uniform(&[5, 64], 0.0, 1.0, DType::F32).unwrap();
    assert_eq!(
        bits(&loaded.predict(&x, 5).unwrap()),
        bits(&model.predict(&x, 5).unwrap())
    );
    assert_eq!(loaded.get_config().unwrap(), model.get_config().unwrap());
    // The embedding model too (integer inputs).
    let emb = Sequential::new(vec![
        Box::new(Embedding::new(7, 3)),
        Box::new(Flatten::new()),
    ])
    .with_input_shape(&[2])
    .unwrap();
    save_model(&emb, &path).unwrap();
    let ids = Tensor::from_vec(vec![1i64, 6, 0, 3], &[2, 2]).unwrap();
    assert_eq!(
        bits(&load_model(&path).unwrap().predict(&ids, 2).unwrap()),
        bits(&emb.predict(&ids, 2).unwrap())
    );
}

#[test]
fn weights_alone_round_trip_into_a_model_of_the_same_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.rill");
    let trained = every_layer();
    save_weights(&trained, &path).unwrap();
    set_seed(99);
    let fresh = Sequential::from_config(&trained.get_config().unwrap()).unwrap();
    let x = Tensor::rand_uniform(&[3, 64], 0.0, 1.0, DType::F32).unwrap();
    assert_ne!(
        bits(&fresh.predict(&x, 3).unwrap()),
        bits(&trained.predict(&x, 3).unwrap())
    );
    load_weights(&fresh, &path).unwrap();
    assert_eq!(
        bits(&fresh.predict(&x, 3).unwrap()),
        bits(&trained.predict(&x, 3).unwrap())
    );
    // Weights of another architecture are refused by name.
    let other = Sequential::new(vec![Box::new(Dense::new(2))])
        .with_input_shape(&[64])
        .unwrap();
    let e = load_weights(&other, &path).unwrap_err().to_string();
    assert!(e.contains("weight 'dense/kernel': assign: expected a f32 tensor of shape [64, 2], found f32 [4, 6]"), "{e}");
    // And a model file is not a weights file.
    save_model(&trained, &path).unwrap();
    let e = load_weights(&fresh, &path).unwrap_err().to_string();
    assert!(
        e.contains("expected a rill-weights file, found a rill-model file"),
        "{e}"
    );
}

#[test]
fn broken_files_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.rill");
    let model = every_layer();
    save_model(&model, &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let check = |bytes: &[u8], want: &str| {
        let p = dir.path().join("broken.rill");
        std::fs::write(&p, bytes).unwrap();
        let e = load_model(&p).unwrap_err().to_string();
        assert!(
            e.starts_with(&p.display().to_string()) && e.contains(want),
            "expected '{want}', got '{e}'"
        );
    };
    check(&good[..good.len() / 2], "not a Rill model file");
    check(b"hello, this is not a model", "not a Rill model file");
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x40;
    check(&flipped, "do not match their SHA-256");
    // A valid safetensors file that Rill did not write.
    let foreign = safetensors::serialize(
        vec![(
            "w".to_string(),
            safetensors::tensor::TensorView::new(
                safetensors::tensor::Dtype::F32,
                vec![1],
                &[0u8; 4],
            )
            .unwrap(),
        )],
        None,
    )
    .unwrap();
    check(&foreign, "not one Rill wrote");
    // A newer format, and an unknown layer type, by editing the header in place (same length).
    let edit = |from: &str, to: &str| {
        let (from, to) = (from.as_bytes(), to.as_bytes());
        let at = good
            .windows(from.len())
            .position(|w| w == from)
            .expect("text present in the header");
        let mut b = good.clone();
        b[at..at + to.len()].copy_from_slice(to);
        b
    };
    check(
        &edit("\"format_version\":\"2\"", "\"format_version\":\"9\""),
        "format version 9 is newer than this Rill reads (2)",
    );
    // The checksum covers the architecture too: a changed layer type or one flipped digit of
    // a configuration is caught before anything is built.
    check(
        &edit(
            "\\\"class_name\\\":\\\"Flatten\\\"",
            "\\\"class_name\\\":\\\"Flatter\\\"",
        ),
        "do not match their SHA-256",
    );
    check(
        &edit("\\\"epsilon\\\":0.001", "\\\"epsilon\\\":0.003"),
        "do not match their SHA-256",
    );
    assert!(load_model(dir.path().join("missing.rill"))
        .unwrap_err()
        .to_string()
        .contains("missing.rill"));
}

struct Doubler;

impl Layer for Doubler {
    fn kind(&self) -> &'static str {
        "Doubler"
    }
    fn compute_output_shape(&self, s: &[usize]) -> rill_nn::Result<Vec<usize>> {
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, _t: bool) -> rill_nn::Result<Tensor> {
        Ok(x.mul_scalar(2.0)?)
    }
}

/// The same layer, now describing itself through a typed config.
struct Saveable {
    factor: f64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SaveableConfig {
    factor: f64,
}

impl Configurable for Saveable {
    const KIND: &'static str = "Saveable";
    type Config = SaveableConfig;
    fn get_config(&self) -> SaveableConfig {
        SaveableConfig {
            factor: self.factor,
        }
    }
    fn from_config(c: SaveableConfig) -> rill_nn::Result<Self> {
        Ok(Saveable { factor: c.factor })
    }
}

impl Layer for Saveable {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> rill_nn::Result<Vec<usize>> {
        Ok(s.to_vec())
    }
    fn call(&self, x: &Tensor, _t: bool) -> rill_nn::Result<Tensor> {
        Ok(x.mul_scalar(self.factor)?)
    }
}

#[test]
fn custom_layers_save_when_they_describe_themselves_and_load_when_registered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.rill");
    let before = std::fs::write(&path, b"an older model").map(|_| ());
    before.unwrap();
    let model = Sequential::new(vec![Box::new(Doubler)])
        .with_input_shape(&[2])
        .unwrap();
    let e = save_model(&model, &path).unwrap_err().to_string();
    assert!(
        e.contains("layer 'doubler' (Doubler) cannot be saved"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"an older model",
        "a failed save leaves the old file untouched"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "and no temporary file behind"
    );

    let model = Sequential::new(vec![Box::new(Saveable { factor: 3.0 })])
        .with_input_shape(&[2])
        .unwrap();
    save_model(&model, &path).unwrap();
    let e = load_model(&path).err().unwrap().to_string();
    assert!(e.contains("unknown layer type 'Saveable'"), "{e}");
    register_layer::<Saveable>();
    let loaded = load_model(&path).unwrap();
    assert!(loaded.summary().contains("saveable (Saveable)"));
    assert_eq!(
        loaded
            .predict(Tensor::ones(&[1, 2], DType::F32), 1)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![3.0, 3.0]
    );
}

#[test]
fn a_save_clears_the_temporary_a_crashed_save_left_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.rill");
    // A pid above any pid_max: that process is gone. Process 1 always runs.
    let dead = dir.path().join(".model.rill.tmp-4000000000");
    let live = dir.path().join(".model.rill.tmp-1");
    let other = dir.path().join(".other.rill.tmp-4000000000");
    for p in [&dead, &live, &other] {
        std::fs::write(p, b"half a model").unwrap();
    }
    save_model(&every_layer(), &path).unwrap();
    assert!(!dead.exists(), "the dead save's temporary is removed");
    assert!(live.exists(), "a save under way elsewhere is left alone");
    assert!(
        other.exists(),
        "another file's temporary is not this save's business"
    );
}

#[test]
fn functional_models_round_trip_too() {
    set_seed(21);
    let mut g = FunctionalBuilder::new();
    let x = g.input(&[6]);
    let h = g
        .layer(Dense::new(6).activation(Activation::Relu), x)
        .unwrap();
    let r = g.layer(Dense::new(6), h).unwrap();
    let sum = g.merge(Add, &[h, r]).unwrap();
    let both = g.merge(Concatenate, &[sum, x]).unwrap();
    let out = g.layer(Dense::new(2), both).unwrap();
    let block = g.build(&[x], &[out]).unwrap();
    let model = Sequential::new(vec![Box::new(block), Box::new(Softmax::new())])
        .with_input_shape(&[6])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("functional.rill");
    save_model(&model, &path).unwrap();
    let loaded = load_model(&path).unwrap();
    assert_eq!(loaded.get_config().unwrap(), model.get_config().unwrap());
    let xs = Tensor::rand_uniform(&[4, 6], -1.0, 1.0, DType::F32).unwrap();
    assert_eq!(
        bits(&loaded.predict(&xs, 4).unwrap()),
        bits(&model.predict(&xs, 4).unwrap())
    );
}
