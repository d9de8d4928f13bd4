//! One `Model` for every model: several inputs and outputs trained, saved, loaded and evaluated;
//! a residual block with BatchNormalization; many threads on one model; frozen layers.

use rill_core::{set_seed, DType, Generator, Tensor};
use rill_io::{load_model, save_model, save_model_with, SaveOptions};
use rill_nn::prelude::*;

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

/// Two inputs (`image` 4 features, `meta` 2) → two outputs (`class` of 3, `score`).
fn two_by_two() -> Model {
    let mut g = FunctionalBuilder::new();
    let image = g.input_named("image", &[4]).unwrap();
    let meta = g.input_named("meta", &[2]).unwrap();
    let both = g.merge(Concatenate, &[image, meta]).unwrap();
    let h = g
        .layer(Dense::new(16).activation(Activation::Relu), both)
        .unwrap();
    let class = g.layer_named("class", Dense::new(3), h).unwrap();
    let score = g.layer_named("score", Dense::new(1), h).unwrap();
    g.build(&[image, meta], &[class, score]).unwrap()
}

/// Targets: class = argmax of the image's first three features; score = sum of meta.
fn data(n: usize, seed: u64) -> (Tensor, Tensor, Tensor, Tensor) {
    let mut g = Generator::new(seed);
    let image = g.uniform(&[n, 4], -1.0, 1.0, DType::F32).unwrap();
    let meta = g.uniform(&[n, 2], -1.0, 1.0, DType::F32).unwrap();
    let iv = image.to_vec::<f32>().unwrap();
    let class: Vec<i64> = iv
        .chunks(4)
        .map(|r| (0..3).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap() as i64)
        .collect();
    let score: Vec<f32> = meta
        .to_vec::<f32>()
        .unwrap()
        .chunks(2)
        .map(|r| r[0] + r[1])
        .collect();
    (
        image,
        meta,
        Tensor::from_vec(class, &[n]).unwrap(),
        Tensor::from_vec(score, &[n, 1]).unwrap(),
    )
}

#[test]
fn two_inputs_two_outputs_train_save_load_and_evaluate() {
    set_seed(3);
    let mut model = two_by_two();
    assert_eq!(model.input_names(), vec!["image", "meta"]);
    assert_eq!(model.output_names(), vec!["class", "score"]);
    model
        .compile(
            Adam::new(0.01),
            Losses::new()
                .output("class", SparseCategoricalCrossentropy::from_logits())
                .output("score", MeanSquaredError::default())
                .weight("score", 0.5),
            Metrics::new().output("class", "accuracy"),
        )
        .unwrap();
    let (image, meta, class, score) = data(1024, 1);
    let h = model
        .fit(
            (
                [("image", &image), ("meta", &meta)],
                [("class", &class), ("score", &score)],
            ),
            FitConfig::default()
                .epochs(30)
                .batch_size(64)
                .validation_split(0.2)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    for key in [
        "loss",
        "class_loss",
        "score_loss",
        "class_accuracy",
        "val_loss",
        "val_class_accuracy",
    ] {
        assert!(
            h.get(key).is_some(),
            "{key} missing from {:?}",
            h.history.keys()
        );
    }
    // The total is the weighted sum of the outputs' losses.
    let (l, c, s) = (
        h.last("val_loss").unwrap(),
        h.last("val_class_loss").unwrap(),
        h.last("val_score_loss").unwrap(),
    );
    assert!(
        (l - (c + 0.5 * s)).abs() < 1e-4 * l.max(1.0),
        "{l} vs {c} + 0.5·{s}"
    );
    assert!(
        h.last("val_class_accuracy").unwrap() > 0.85,
        "{:?}",
        h.history
    );
    assert!(h.last("val_score_loss").unwrap() < 0.02, "{:?}", h.history);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.rill");
    save_model(&model, &path).unwrap();
    let mut loaded = load_model(&path).unwrap();
    let (ti, tm, tc, ts) = data(200, 2);
    let want = model.predict_outputs([&ti, &tm], 50).unwrap();
    let got = loaded
        .predict_outputs([("meta", &tm), ("image", &ti)], 50)
        .unwrap();
    assert_eq!(bits(&want[0]), bits(&got[0]));
    assert_eq!(bits(&want[1]), bits(&got[1]));
    // The file keeps how the model was compiled: the loaded model evaluates at once.
    let a = model.evaluate(([&ti, &tm], [&tc, &ts]), 64).unwrap();
    let b = loaded.evaluate(([&ti, &tm], [&tc, &ts]), 64).unwrap();
    assert_eq!(a, b);
    // Named data that does not fit says what the model takes.
    let e = model
        .predict_outputs([("picture", &ti), ("meta", &tm)], 50)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no input named 'picture'; the model's inputs are image, meta"),
        "{e}"
    );
}

#[test]
fn a_residual_block_with_batch_normalization_trains_end_to_end() {
    set_seed(7);
    let mut g = FunctionalBuilder::new();
    let x = g.input(&[8]);
    let h = g.layer(Dense::new(32), x).unwrap();
    let r = g.layer(BatchNormalization::new(), h).unwrap();
    let r = g.layer(ReLU::new(), r).unwrap();
    let r = g.layer(Dense::new(32), r).unwrap();
    let r = g.layer(BatchNormalization::new(), r).unwrap();
    let sum = g.merge(Add, &[h, r]).unwrap();
    let sum = g.layer(ReLU::new(), sum).unwrap();
    let out = g.layer(Dense::new(2), sum).unwrap();
    let mut model = g.build(&[x], &[out]).unwrap();
    model
        .compile(
            Adam::new(0.01),
            SparseCategoricalCrossentropy::from_logits(),
            &["accuracy"],
        )
        .unwrap();
    let mut gen = Generator::new(5);
    let xs = gen.uniform(&[2000, 8], -1.0, 1.0, DType::F32).unwrap();
    let ys: Vec<i64> = xs
        .to_vec::<f32>()
        .unwrap()
        .chunks(8)
        .map(|r| (r[0] * r[1] + r[2] > 0.0) as i64)
        .collect();
    let ys = Tensor::from_vec(ys, &[2000]).unwrap();
    let mean_before = model.layer("batch_normalization").unwrap().variables()[2].value();
    let h = model
        .fit(
            (&xs, &ys),
            FitConfig::default()
                .epochs(25)
                .batch_size(64)
                .validation_split(0.2)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert!(h.last("val_accuracy").unwrap() > 0.9, "{:?}", h.history);
    let mean_after = model.layer("batch_normalization").unwrap().variables()[2].value();
    assert_ne!(
        bits(&mean_before),
        bits(&mean_after),
        "moving statistics move"
    );
}

#[test]
fn eight_threads_predict_bit_identically_to_one() {
    set_seed(9);
    let model = Sequential::new(vec![
        Box::new(Conv2D::new(4, (3, 3)).activation(Activation::Relu)),
        Box::new(BatchNormalization::new()),
        Box::new(Flatten::new()),
        Box::new(Dropout::new(0.5)),
        Box::new(Dense::new(5)),
    ])
    .with_input_shape(&[8, 8, 1])
    .unwrap();
    let x = Tensor::rand_uniform(&[32, 8, 8, 1], 0.0, 1.0, DType::F32).unwrap();
    let one = bits(&model.predict(&x, 32).unwrap());
    let results: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..20)
                        .map(|_| bits(&model.predict(&x, 32).unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(results.len(), 160);
    assert!(results.iter().all(|r| *r == one));
}

/// A trained base model, then a new head on its frozen layers (Keras' transfer learning).
fn transfer(seed: u64) -> (Model, Model) {
    set_seed(seed);
    let mut base = Sequential::new(vec![
        Box::new(Dense::new(16).activation(Activation::Relu)),
        Box::new(BatchNormalization::new()),
        Box::new(Dense::new(8).activation(Activation::Relu)),
    ])
    .with_input_shape(&[4])
    .unwrap();
    base.add(Dense::new(3)).unwrap();
    base.compile(
        Adam::new(0.01),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    let (x, _, y, _) = data(256, 11);
    base.fit(
        (&x, &y),
        FitConfig::default().epochs(3).verbose(Verbosity::Silent),
    )
    .unwrap();
    // Take the trained layers, freeze them, and put a new head on top.
    let mut g = FunctionalBuilder::new();
    let input = g.input(&[4]);
    let mut h = input;
    for name in ["dense", "batch_normalization", "dense_1"] {
        let layer = base.layer(name).unwrap();
        layer.set_trainable(false);
        h = g.shared(name, layer, h).unwrap();
    }
    let head = g.layer_named("head", Dense::new(3), h).unwrap();
    let mut model = g.build(&[input], &[head]).unwrap();
    model
        .compile(
            Adam::new(0.01),
            SparseCategoricalCrossentropy::from_logits(),
            &["accuracy"],
        )
        .unwrap();
    (base, model)
}

#[test]
fn frozen_layers_stay_bit_identical_through_fit_and_the_rest_change() {
    let (_, mut model) = transfer(12);
    let frozen: Vec<(String, Vec<u32>)> = model
        .named_weights()
        .into_iter()
        .filter(|(n, _)| !n.starts_with("head/"))
        .map(|(n, t)| (n, bits(&t)))
        .collect();
    let head_before = bits(&model.layer("head").unwrap().variables()[0].value());
    assert!(
        model.summary().contains("Non-trainable params: 280"),
        "{}",
        model.summary()
    );
    let (x, _, y, _) = data(256, 13);
    model
        .fit(
            (&x, &y),
            FitConfig::default().epochs(2).verbose(Verbosity::Silent),
        )
        .unwrap();
    for (name, before) in &frozen {
        let now = model
            .named_weights()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1;
        assert_eq!(&bits(&now), before, "{name} changed");
    }
    assert_ne!(
        head_before,
        bits(&model.layer("head").unwrap().variables()[0].value())
    );
}

#[test]
fn a_model_with_frozen_layers_saves_the_flag_and_resumes_exactly() {
    let (x, _, y, _) = data(256, 14);
    let cfg = |from: usize, to: usize| {
        FitConfig::default()
            .initial_epoch(from)
            .epochs(to)
            .seed(5)
            .verbose(Verbosity::Silent)
    };
    let (_, mut straight) = transfer(15);
    straight.fit((&x, &y), cfg(0, 4)).unwrap();

    let (_, mut first) = transfer(15);
    first.fit((&x, &y), cfg(0, 2)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frozen.rill");
    save_model_with(
        &first,
        &path,
        &SaveOptions {
            include_optimizer: true,
            class_names: None,
        },
    )
    .unwrap();
    let mut resumed = load_model(&path).unwrap();
    assert!(
        !resumed.layer("dense").unwrap().is_trainable(),
        "the flag is saved"
    );
    assert!(resumed.layer("head").unwrap().is_trainable());
    resumed.fit((&x, &y), cfg(2, 4)).unwrap();
    for ((n, a), (_, b)) in straight
        .named_weights()
        .iter()
        .zip(resumed.named_weights().iter())
    {
        assert_eq!(bits(a), bits(b), "{n}");
    }
}

#[test]
fn an_optimizer_reused_on_another_model_updates_all_of_it() {
    // Issue 17, bug 1: state was rebuilt only when the number of variables changed.
    set_seed(2);
    let mut opt = Adam::new(0.1);
    let small = Variable::trainable("w", Tensor::ones(&[2, 3], DType::F32)).unwrap();
    let big = Variable::trainable("w", Tensor::ones(&[8, 3], DType::F32)).unwrap();
    for v in [&small, &big] {
        let loss = v.value().square().unwrap().sum(&[], false).unwrap();
        let grads = loss.backward().unwrap();
        opt.apply(std::slice::from_ref(v), &grads).unwrap();
    }
    let changed = big
        .value()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .filter(|&&w| w != 1.0)
        .count();
    assert_eq!(changed, 24);
}
