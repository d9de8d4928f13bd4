//! Every layer through one harness, in the spirit of Keras' `run_layer_test`: the output shape
//! equals the built shape, the parameter count equals Keras' for the same configuration, one
//! training step changes every trainable weight, and inference is deterministic.

use rill_core::{set_seed, DType, Padding, Tensor};
use rill_nn::prelude::*;

fn run_layer_test(
    name: &str,
    layer: impl Layer + 'static,
    input: &[usize],
    keras_params: usize,
    trains: bool,
) {
    set_seed(3);
    let mut model = Sequential::new(vec![Box::new(layer)])
        .with_input_shape(input)
        .unwrap();
    assert_eq!(
        model.count_params(),
        keras_params,
        "{name}: parameter count"
    );
    let mut batch = vec![4];
    batch.extend_from_slice(input);
    let x = Tensor::rand_uniform(&batch, -1.0, 1.0, DType::F32).unwrap();
    let y1 = model.predict(&x, 4).unwrap();
    let y2 = model.predict(&x, 4).unwrap();
    let built = model.output_shape().unwrap();
    assert_eq!(
        &y1.shape()[1..],
        &built[..],
        "{name}: output shape vs built shape"
    );
    assert_eq!(
        y1.to_vec::<f32>().unwrap(),
        y2.to_vec::<f32>().unwrap(),
        "{name}: inference must be deterministic"
    );
    // One training step against random targets of the output's shape must move every weight.
    let target = Tensor::rand_uniform(y1.shape(), -1.0, 1.0, DType::F32).unwrap();
    model
        .compile(Sgd::new(0.1), MeanSquaredError::default(), &[])
        .unwrap();
    let before = model.get_weights();
    model.train_on_batch(&x, &target).unwrap();
    let after = model.get_weights();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let changed = b.to_vec::<f32>().unwrap() != a.to_vec::<f32>().unwrap();
        assert_eq!(
            changed, trains,
            "{name}: weight {i} changed = {changed} after one step"
        );
    }
}

#[test]
fn every_layer_passes_the_harness() {
    run_layer_test(
        "Dense",
        Dense::new(128).activation(Activation::Relu),
        &[784],
        100_480,
        true,
    );
    run_layer_test("Dense on 3-D", Dense::new(3), &[5, 4], 15, true);
    run_layer_test(
        "Dense no bias",
        Dense::new(3).use_bias(false),
        &[4],
        12,
        true,
    );
    run_layer_test(
        "Conv2D",
        Conv2D::new(32, (3, 3)).activation(Activation::Relu),
        &[28, 28, 1],
        320,
        true,
    );
    run_layer_test(
        "Conv2D same stride 2",
        Conv2D::new(64, (3, 3))
            .padding(Padding::Same)
            .strides((2, 2)),
        &[13, 13, 32],
        18_496,
        true,
    );
    run_layer_test("Flatten", Flatten::new(), &[28, 28], 0, false);
    run_layer_test("Reshape", Reshape::new(&[4, 7]), &[28], 0, false);
    run_layer_test("Dropout", Dropout::new(0.5), &[10], 0, false);
    run_layer_test(
        "MaxPooling2D",
        MaxPooling2D::new((2, 2)),
        &[6, 6, 3],
        0,
        false,
    );
    run_layer_test(
        "AveragePooling2D",
        AveragePooling2D::new((2, 2)).padding(Padding::Same),
        &[5, 5, 3],
        0,
        false,
    );
    run_layer_test(
        "GlobalAveragePooling2D",
        GlobalAveragePooling2D::new(),
        &[5, 5, 3],
        0,
        false,
    );
    run_layer_test(
        "Activation",
        ActivationLayer::from_name("tanh").unwrap(),
        &[6],
        0,
        false,
    );
    run_layer_test("ReLU", ReLU::new(), &[6], 0, false);
    run_layer_test("Softmax", Softmax::new(), &[6], 0, false);
    run_layer_test(
        "Rescaling",
        Rescaling::new(1.0 / 255.0, 0.0),
        &[6],
        0,
        false,
    );
}

#[test]
fn batch_normalization_counts_and_trains_like_keras() {
    set_seed(1);
    // Keras: 4 parameters per channel, half of them (the moving statistics) not trainable.
    let mut m = Sequential::new(vec![Box::new(BatchNormalization::new())])
        .with_input_shape(&[5])
        .unwrap();
    assert_eq!(m.count_params(), 20);
    assert_eq!(m.variables().iter().filter(|v| v.is_trainable()).count(), 2);
    assert!(m.summary().contains("Non-trainable params: 10 (40.00 B)"));
    let x = Tensor::rand_uniform(&[8, 5], 0.0, 4.0, DType::F32).unwrap();
    m.compile(Sgd::new(0.1), MeanSquaredError::default(), &[])
        .unwrap();
    let before = m.get_weights();
    m.train_on_batch(&x, Tensor::zeros(&[8, 5], DType::F32))
        .unwrap();
    let after = m.get_weights();
    assert!(
        before
            .iter()
            .zip(&after)
            .all(|(b, a)| b.to_vec::<f32>().unwrap() != a.to_vec::<f32>().unwrap()),
        "gamma, beta and both moving statistics change in training"
    );
    let p1 = m.predict(&x, 8).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(
        p1,
        m.predict(&x, 8).unwrap().to_vec::<f32>().unwrap(),
        "inference uses the moving statistics and changes nothing"
    );
}

#[test]
fn embedding_looks_up_rows_and_checks_ids() {
    set_seed(2);
    let mut m = Sequential::new(vec![
        Box::new(Embedding::new(10, 4)),
        Box::new(Flatten::new()),
        Box::new(Dense::new(2)),
    ])
    .with_input_shape(&[3])
    .unwrap();
    assert_eq!(m.count_params(), 10 * 4 + 12 * 2 + 2);
    let ids = Tensor::from_vec(vec![1i64, 2, 9, 0, 0, 3], &[2, 3]).unwrap();
    let table = m.variables()[0].value().to_vec::<f32>().unwrap();
    let mut emb = Embedding::new(10, 4);
    emb.build(&[3]).unwrap();
    emb.variables()[0]
        .assign(&Tensor::from_vec(table.clone(), &[10, 4]).unwrap())
        .unwrap();
    let rows = emb.call(&ids, false).unwrap();
    assert_eq!(rows.shape(), &[2, 3, 4]);
    assert_eq!(
        &rows.to_vec::<f32>().unwrap()[8..12],
        &table[36..40],
        "id 9 reads row 9"
    );
    m.compile(
        Adam::default(),
        SparseCategoricalCrossentropy::from_logits(),
        &[],
    )
    .unwrap();
    m.train_on_batch(&ids, Tensor::from_vec(vec![0i64, 1], &[2]).unwrap())
        .unwrap();
    let e = m
        .predict(Tensor::from_vec(vec![1i64, 2, 10], &[1, 3]).unwrap(), 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("index 10 is out of range") && e.contains("ids must lie in 0..10"),
        "{e}"
    );
}

#[test]
fn dropout_is_identity_in_inference_and_scales_in_training() {
    set_seed(0);
    let mut d = Dropout::new(0.25);
    d.build(&[10_000]).unwrap();
    let x = Tensor::ones(&[1, 10_000], DType::F32);
    assert_eq!(
        d.call(&x, false).unwrap().to_vec::<f32>().unwrap(),
        x.to_vec::<f32>().unwrap()
    );
    let y = d.call(&x, true).unwrap().to_vec::<f32>().unwrap();
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / y.len() as f64;
    assert!((kept - 0.75).abs() < 0.02, "kept fraction {kept}");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
}

#[test]
fn summary_matches_keras_layout() {
    let model = Sequential::new(vec![
        Box::new(Flatten::new()),
        Box::new(Dense::new(128).activation(Activation::Relu)),
        Box::new(Dense::new(10)),
    ])
    .with_input_shape(&[28, 28])
    .unwrap();
    let s = model.summary();
    assert!(s.starts_with("Model: \"sequential\"\n"), "{s}");
    assert!(
        s.contains("│ flatten (Flatten)               │ (None, 784)            │             0 │"),
        "{s}"
    );
    assert!(
        s.contains("│ dense (Dense)                   │ (None, 128)            │       100,480 │"),
        "{s}"
    );
    assert!(
        s.contains("│ dense_1 (Dense)                 │ (None, 10)             │         1,290 │"),
        "{s}"
    );
    assert!(s.contains(" Total params: 101,770 (397.54 KB)"), "{s}");
    assert!(s.contains(" Non-trainable params: 0 (0.00 B)"), "{s}");
}
