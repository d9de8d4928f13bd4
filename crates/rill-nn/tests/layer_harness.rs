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
    // Keras: Conv1D(8, 3) on (10, 4) has 3·4·8 + 8 = 104 parameters.
    run_layer_test("Conv1D", Conv1D::new(8, 3), &[10, 4], 104, true);
    run_layer_test(
        "Conv1D causal, dilated",
        Conv1D::new(2, 3)
            .padding(Padding1D::Causal)
            .dilation_rate(2),
        &[7, 3],
        3 * 3 * 2 + 2,
        true,
    );
    run_layer_test(
        "MaxPooling1D",
        MaxPooling1D::new(2).padding(Padding::Same),
        &[7, 3],
        0,
        false,
    );
    run_layer_test(
        "GlobalAveragePooling1D",
        GlobalAveragePooling1D::new(),
        &[7, 3],
        0,
        false,
    );
    run_layer_test(
        "GlobalMaxPooling1D",
        GlobalMaxPooling1D::new(),
        &[7, 3],
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

/// Conv1D against the sum it is, written out: `y[t, o] = b[o] + Σ_k Σ_c x[t·s + k·d - pad, c] ·
/// w[k, c, o]`, with zeros outside the sequence; causal padding puts all of them before it.
#[test]
fn conv1d_computes_the_written_out_sum_and_causal_outputs_never_see_later_steps() {
    set_seed(11);
    let (steps, cin, cout, k) = (9usize, 2usize, 3usize, 3usize);
    let x = Tensor::rand_uniform(&[2, steps, cin], -1.0, 1.0, DType::F32).unwrap();
    let xs = x.to_vec::<f32>().unwrap();
    for (padding, stride, dilation) in [
        (Padding1D::Valid, 1, 1),
        (Padding1D::Same, 2, 1),
        (Padding1D::Causal, 1, 2),
        (Padding1D::Valid, 2, 2),
    ] {
        let model = Sequential::new(vec![Box::new(
            Conv1D::new(cout, k)
                .padding(padding)
                .strides(stride)
                .dilation_rate(dilation),
        ) as Box<dyn Layer>])
        .with_input_shape(&[steps, cin])
        .unwrap();
        let w = model.get_weights();
        let (kernel, bias) = (w[0].to_vec::<f32>().unwrap(), w[1].to_vec::<f32>().unwrap());
        let span = (k - 1) * dilation;
        let (out_steps, before) = match padding {
            Padding1D::Valid => ((steps - span - 1) / stride + 1, 0),
            Padding1D::Causal => ((steps - 1) / stride + 1, span),
            Padding1D::Same => {
                let out = steps.div_ceil(stride);
                let total = ((out - 1) * stride + span + 1).saturating_sub(steps);
                (out, total / 2)
            }
        };
        let y = model.predict(&x, 2).unwrap();
        assert_eq!(y.shape(), &[2, out_steps, cout], "{padding:?}");
        let got = y.to_vec::<f32>().unwrap();
        for n in 0..2 {
            for t in 0..out_steps {
                for o in 0..cout {
                    let mut want = bias[o];
                    for tap in 0..k {
                        let at = (t * stride + tap * dilation) as isize - before as isize;
                        if at < 0 || at >= steps as isize {
                            continue;
                        }
                        for c in 0..cin {
                            want += xs[(n * steps + at as usize) * cin + c]
                                * kernel[(tap * cin + c) * cout + o];
                        }
                    }
                    let g = got[(n * out_steps + t) * cout + o];
                    assert!(
                        (g - want).abs() < 1e-5,
                        "{padding:?} n{n} t{t} o{o}: {g} vs {want}"
                    );
                }
            }
        }
    }
    // Causal: changing the last step changes only the last output step.
    let model = Sequential::new(vec![
        Box::new(Conv1D::new(2, 3).padding(Padding1D::Causal)) as Box<dyn Layer>
    ])
    .with_input_shape(&[6, 1])
    .unwrap();
    let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[1, 6, 1]).unwrap();
    let b = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, -9.0], &[1, 6, 1]).unwrap();
    let (ya, yb) = (
        model.predict(&a, 1).unwrap().to_vec::<f32>().unwrap(),
        model.predict(&b, 1).unwrap().to_vec::<f32>().unwrap(),
    );
    assert_eq!(ya[..10], yb[..10]);
    assert_ne!(ya[10..], yb[10..]);
}

#[test]
fn global_poolings_over_steps_take_the_mean_and_the_largest_value_per_channel() {
    let x = Tensor::from_vec(vec![1.0f32, -4.0, 3.0, 2.0, -1.0, 6.0], &[1, 3, 2]).unwrap();
    let run = |layer: Box<dyn Layer>| {
        Sequential::new(vec![layer])
            .with_input_shape(&[3, 2])
            .unwrap()
            .predict(&x, 1)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    };
    assert_eq!(
        run(Box::new(GlobalAveragePooling1D::new())),
        [1.0, 4.0 / 3.0]
    );
    assert_eq!(run(Box::new(GlobalMaxPooling1D::new())), [3.0, 6.0]);
    let pooled = Sequential::new(vec![Box::new(MaxPooling1D::new(2)) as Box<dyn Layer>])
        .with_input_shape(&[3, 2])
        .unwrap()
        .predict(&x, 1)
        .unwrap();
    assert_eq!(pooled.shape(), &[1, 1, 2]);
    assert_eq!(pooled.to_vec::<f32>().unwrap(), [3.0, 2.0]);
    let e = Sequential::new(vec![Box::new(Conv1D::new(2, 3)) as Box<dyn Layer>])
        .with_input_shape(&[4, 4, 1])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Conv1D expects per-sample inputs (steps, channels)"),
        "{e}"
    );
}
