//! The functional API: residual blocks, several inputs and outputs, and construction errors.

use rill_core::backend::cpu::Isa;
use rill_core::{set_seed, DType, Generator, Tensor};
use rill_nn::prelude::*;

fn residual_classifier() -> Model {
    let mut g = FunctionalBuilder::new();
    let x = g.input(&[2]);
    let h = g
        .layer(Dense::new(32).activation(Activation::Relu), x)
        .unwrap();
    let r = g
        .layer(Dense::new(32).activation(Activation::Relu), h)
        .unwrap();
    let r = g.layer(Dense::new(32), r).unwrap();
    let sum = g.merge(Add, &[h, r]).unwrap();
    let sum = g.layer(ReLU::new(), sum).unwrap();
    let out = g.layer(Dense::new(2), sum).unwrap();
    g.build(&[x], &[out]).unwrap()
}

#[test]
fn a_residual_model_trains_through_sequential() {
    set_seed(4);
    let mut gen = Generator::new(8);
    let x = gen.uniform(&[2000, 2], -3.0, 3.0, DType::F32).unwrap();
    let y: Vec<i64> = x
        .to_vec::<f32>()
        .unwrap()
        .chunks(2)
        .map(|p| (p[0] * p[0] + p[1] * p[1] < 4.0) as i64)
        .collect();
    let y = Tensor::from_vec(y, &[2000]).unwrap();
    let block = residual_classifier();
    let summary = block.summary();
    assert!(
        summary.contains("add (Add)")
            && summary.contains("Connected to")
            && summary.contains("dense, dense_2"),
        "{summary}"
    );
    // A long name widens its column: every row of the table is as wide as the rules.
    let mut g = FunctionalBuilder::new();
    let image = g.input(&[4, 4, 2]);
    let pooled = g
        .layer_named(
            "a_rather_long_pooling_layer_name",
            GlobalAveragePooling2D::new(),
            image,
        )
        .unwrap();
    let table = g.build(&[image], &[pooled]).unwrap().summary();
    let widths: Vec<usize> = table
        .lines()
        .filter(|l| l.starts_with(['┏', '┃', '│', '├', '└']))
        .map(|l| l.chars().count())
        .collect();
    assert!(widths.windows(2).all(|w| w[0] == w[1]), "{table}");
    let mut model = Sequential::new(vec![Box::new(block)])
        .with_input_shape(&[2])
        .unwrap();
    assert_eq!(
        model.count_params(),
        (2 * 32 + 32) + 2 * (32 * 32 + 32) + (32 * 2 + 2)
    );
    model
        .compile(
            Adam::new(0.01),
            SparseCategoricalCrossentropy::from_logits(),
            &["accuracy"],
        )
        .unwrap();
    let h = model
        .fit(
            (&x, &y),
            FitConfig::default()
                .epochs(30)
                .batch_size(64)
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert!(
        h.last("accuracy").unwrap() > 0.95,
        "{:?}",
        h.get("accuracy")
    );
}

#[test]
fn several_inputs_and_outputs() {
    set_seed(5);
    let mut g = FunctionalBuilder::new();
    let a = g.input(&[3]);
    let b = g.input(&[2]);
    let joined = g.merge(Concatenate, &[a, b]).unwrap();
    let h = g.layer(Dense::new(4), joined).unwrap();
    let gate = g
        .layer(Dense::new(4).activation(Activation::Sigmoid), joined)
        .unwrap();
    let gated = g.merge(Multiply, &[h, gate]).unwrap();
    let head1 = g.layer(Dense::new(1), gated).unwrap();
    let head2 = g
        .layer(Dense::new(5).activation(Activation::Softmax), gated)
        .unwrap();
    let model = g.build(&[a, b], &[head1, head2]).unwrap();
    assert_eq!(model.input_shapes(), vec![vec![3], vec![2]]);
    assert_eq!(model.output_shapes(), vec![vec![1], vec![5]]);
    let xa = Tensor::ones(&[6, 3], DType::F32);
    let xb = Tensor::ones(&[6, 2], DType::F32);
    let outs = model.call_many(&[xa.clone(), xb.clone()], false).unwrap();
    assert_eq!(outs[0].shape(), &[6, 1]);
    assert_eq!(outs[1].shape(), &[6, 5]);
    // Bytes go straight in, as into a Sequential: the same outputs as their float values.
    let bytes = |t: &Tensor| t.to_dtype(DType::U8).unwrap();
    let from_bytes = model.call_many(&[bytes(&xa), bytes(&xb)], false).unwrap();
    for (o, b) in outs.iter().zip(&from_bytes) {
        assert_eq!(o.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    }
    let row_sums = outs[1].sum(&[-1], false).unwrap().to_vec::<f32>().unwrap();
    assert!(row_sums.iter().all(|s| (s - 1.0).abs() < 1e-5));
    // Gradients flow from both heads to the shared trunk.
    let loss = outs[0]
        .sum(&[], false)
        .unwrap()
        .add(&outs[1].slice(1, 0, 1).unwrap().sum(&[], false).unwrap())
        .unwrap();
    let grads = loss.backward().unwrap();
    assert!(
        model
            .variables()
            .iter()
            .all(|v| grads.get(&v.value()).is_some()),
        "every weight gets a gradient"
    );
    // Wrong inputs are refused with what was expected.
    let e = model
        .call_many(std::slice::from_ref(&xa), false)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "functional: expected 2 inputs, found 1");
    let e = model
        .call_many(&[xa, Tensor::ones(&[6, 3], DType::F32)], false)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "functional: input 'input_layer_1' expects shape (None, 2), found [6, 3]"
    );
    // Two outputs cannot stand in for one layer.
    let e = Sequential::new(vec![Box::new(model)])
        .with_input_shape(&[3])
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("2 inputs and 2 outputs cannot be used as a single layer"),
        "{e}"
    );
}

#[test]
fn construction_errors_say_what_is_wrong() {
    let mut g = FunctionalBuilder::new();
    let a = g.input(&[3]);
    let b = g.input(&[4]);
    let e = g.merge(Add, &[a, b]).unwrap_err().to_string();
    assert_eq!(
        e,
        "layer 'add' (Add): needs at least two inputs of one shape, found (None, 3), (None, 4)"
    );
    let e = g.layer(Conv2D::new(2, (3, 3)), a).unwrap_err().to_string();
    assert!(
        e.starts_with("layer 'conv2d' (Conv2D) on input (None, 3):"),
        "{e}"
    );
    let h = g.layer(Dense::new(2), b).unwrap();
    let e = g.build(&[a], &[h]).err().unwrap().to_string();
    assert!(e.contains("not among the model's inputs"), "{e}");
}

#[test]
fn samples_that_differ_only_by_size_one_axes_go_in_reshaped() {
    set_seed(5);
    // A channels-last CNN takes 28×28×1; images come as 28×28.
    let mut model = Sequential::new(vec![
        Box::new(Conv2D::new(2, (3, 3))),
        Box::new(Flatten::new()),
        Box::new(Dense::new(3)),
    ])
    .with_input_shape(&[6, 6, 1])
    .unwrap();
    let mut g = Generator::new(1);
    let images = g.uniform(&[4, 6, 6], 0.0, 1.0, DType::F32).unwrap();
    let with_channel = images.reshape(&[4, 6, 6, 1]).unwrap();
    let a = model.predict(&images, 2).unwrap().to_vec::<f32>().unwrap();
    let b = model
        .predict(&with_channel, 2)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    assert_eq!(a, b);
    model
        .compile(
            Sgd::new(0.1),
            SparseCategoricalCrossentropy::from_logits(),
            &["accuracy"],
        )
        .unwrap();
    let labels = Tensor::from_vec(vec![0i64, 1, 2, 0], &[4]).unwrap();
    model.evaluate((&images, &labels), 2).unwrap();
    // A different size is still refused, by name.
    let wrong = g.uniform(&[4, 6, 5], 0.0, 1.0, DType::F32).unwrap();
    let err = model.predict(&wrong, 2).unwrap_err().to_string();
    assert!(err.contains("(None, 6, 6, 1)"), "{err}");
}

/// A ReLU the graph's rewrite does not recognise as one (not a built-in type): the same function,
/// always run as its own op after the layer before it.
struct OpaqueRelu;

impl Layer for OpaqueRelu {
    fn kind(&self) -> &'static str {
        "OpaqueRelu"
    }
    fn compute_output_shape(&self, input_shape: &[usize]) -> rill_nn::Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }
    fn call(&self, x: &Tensor, _training: bool) -> rill_nn::Result<Tensor> {
        Ok(x.relu()?)
    }
}

fn conv_bn_relu(relu: impl Layer) -> Model {
    let mut g = FunctionalBuilder::new();
    let input = g.input(&[6, 6, 3]);
    let conv = Conv2D::new(4, (3, 3)).padding(Padding::Same);
    let x = g.layer(conv.use_bias(false), input).unwrap();
    let x = g.layer(BatchNormalization::new(), x).unwrap();
    let x = g.layer(relu, x).unwrap();
    let x = g.layer(Flatten::new(), x).unwrap();
    let out = g.layer(Dense::new(3), x).unwrap();
    g.build(&[input], &[out]).unwrap()
}

/// A BatchNormalization whose only reader is a ReLU computes both in one op in training
/// (`batch_norm_relu` in the profile, no `relu`), and trains exactly as the two apart do.
#[test]
fn batch_normalization_then_relu_fuse_in_training_and_train_alike() {
    let mut gen = Generator::new(3);
    let x = gen.normal(&[16, 6, 6, 3], 0.5, 1.0, DType::F32).unwrap();
    let y = Tensor::from_vec((0..16).map(|i| i % 3).collect::<Vec<i64>>(), &[16]).unwrap();
    let mut fused = conv_bn_relu(ReLU::new());
    let mut apart = conv_bn_relu(OpaqueRelu);
    apart.set_weights(&fused.get_weights()).unwrap();
    for m in [&mut fused, &mut apart] {
        m.compile(
            Sgd::new(0.5),
            SparseCategoricalCrossentropy::from_logits(),
            &[],
        )
        .unwrap();
    }
    rill_core::profile::enable();
    let first = fused.train_on_batch(&x, &y).unwrap();
    let ops = rill_core::profile::take();
    let ran = |name: &str| ops.rows().iter().any(|r| r.name == name);
    let names: Vec<_> = ops.rows().iter().map(|r| &r.name).collect();
    assert!(
        ran("batch_norm_relu") && !ran("relu") && !ran("batch_norm"),
        "{names:?}"
    );
    assert_eq!(apart.train_on_batch(&x, &y).unwrap(), first);
    for _ in 0..3 {
        let (a, b) = (
            fused.train_on_batch(&x, &y).unwrap()["loss"],
            apart.train_on_batch(&x, &y).unwrap()["loss"],
        );
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    for (a, b) in fused.get_weights().iter().zip(apart.get_weights()) {
        for (a, b) in a
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .zip(b.to_vec::<f32>().unwrap())
        {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
    // Inference runs the folded normalization and the ReLU as before: the same predictions.
    let (p, q) = (
        fused.predict(&x, 16).unwrap(),
        apart.predict(&x, 16).unwrap(),
    );
    assert_eq!(p.to_vec::<f32>().unwrap(), q.to_vec::<f32>().unwrap());
}

/// A max pooling the graph's rewrite does not recognise as one (not a built-in type): the same
/// function, always run as its own op after the layer before it.
struct OpaqueMaxPool(MaxPooling2D);

impl Layer for OpaqueMaxPool {
    fn kind(&self) -> &'static str {
        "OpaqueMaxPool"
    }
    fn compute_output_shape(&self, input_shape: &[usize]) -> rill_nn::Result<Vec<usize>> {
        self.0.compute_output_shape(input_shape)
    }
    fn call(&self, x: &Tensor, training: bool) -> rill_nn::Result<Tensor> {
        self.0.call(x, training)
    }
}

fn conv_then_pool(channels: usize, conv: Conv2D, pool: impl Layer) -> Model {
    let mut g = FunctionalBuilder::new();
    let input = g.input(&[9, 9, channels]);
    let x = g.layer(conv, input).unwrap();
    let x = g.layer(pool, x).unwrap();
    let x = g.layer(Flatten::new(), x).unwrap();
    let out = g.layer(Dense::new(3), x).unwrap();
    g.build(&[input], &[out]).unwrap()
}

/// A convolution whose only reader is a max pooling pools its raw output first, then adds the
/// bias and applies the ReLU to the pooled values (`bias_relu` on the pooled shape): the same
/// predictions, and the same training, as the two layers run apart — with a ReLU or no
/// activation, with or without a bias, for tiling and for overlapping padded windows. Over two
/// input channels (a patch of 18 values) a 2×2 tiling runs as one op, the direct
/// `conv2d_max_pool2d` (where the CPU has AVX2), whose sums may round differently; over four
/// (36) as the product and the pooling, to the bit.
#[test]
fn convolution_then_max_pooling_pool_first_and_train_alike() {
    for channels in [2, 4] {
        conv_then_pool_alike(channels);
    }
}

fn conv_then_pool_alike(channels: usize) {
    let mut gen = Generator::new(4);
    let x = gen
        .normal(&[8, 9, 9, channels], 0.0, 1.0, DType::F32)
        .unwrap();
    let y = Tensor::from_vec((0..8).map(|i| i % 3).collect::<Vec<i64>>(), &[8]).unwrap();
    let convs = || {
        let conv = || Conv2D::new(5, (3, 3)).padding(Padding::Same);
        [
            conv().activation(Activation::Relu),
            conv().activation(Activation::Relu).use_bias(false),
            conv(),
        ]
    };
    let pools = || {
        [
            MaxPooling2D::new((2, 2)),
            MaxPooling2D::new((3, 3))
                .strides((2, 2))
                .padding(Padding::Same),
        ]
    };
    for (k, conv) in convs().into_iter().enumerate() {
        for (j, pool) in pools().into_iter().enumerate() {
            let copy = || Conv2D::from_config(conv.get_config()).unwrap();
            let mut fused = conv_then_pool(channels, copy(), pool);
            let opaque = OpaqueMaxPool(pools().into_iter().nth(j).unwrap());
            let mut apart = conv_then_pool(channels, copy(), opaque);
            apart.set_weights(&fused.get_weights()).unwrap();
            let case = format!("{channels} channels, conv {k}, pool {j}");
            let direct = channels == 2 && j == 0 && rill_core::backend::cpu::isa() >= Isa::Avx2;
            let (p, q) = (fused.predict(&x, 8).unwrap(), apart.predict(&x, 8).unwrap());
            let (p, q) = (p.to_vec::<f32>().unwrap(), q.to_vec::<f32>().unwrap());
            if direct {
                for (a, b) in p.iter().zip(&q) {
                    assert!((a - b).abs() < 1e-5, "{case}: {a} vs {b}");
                }
            } else {
                assert_eq!(p, q, "{case}");
            }
            for m in [&mut fused, &mut apart] {
                m.compile(
                    Sgd::new(0.2),
                    SparseCategoricalCrossentropy::from_logits(),
                    &[],
                )
                .unwrap();
            }
            // The forward ops in the order they ran: the pooling before the bias and ReLU.
            let forward_ops = |m: &mut Model| {
                rill_core::profile::enable_trace();
                m.train_on_batch(&x, &y).unwrap();
                let (_, events) = rill_core::profile::take_with_trace();
                let names = events
                    .iter()
                    .filter(|e| e.phase == rill_core::profile::Phase::Forward)
                    .map(|e| e.name)
                    .filter(|n| {
                        let ops = ["conv2d", "max_pool2d", "conv2d_max_pool2d"];
                        ops.contains(n) || ["bias_relu", "relu", "add"].contains(n)
                    });
                names.take(3).collect::<Vec<_>>()
            };
            let (pool_first, pool_last) = (forward_ops(&mut fused), forward_ops(&mut apart));
            let activation = ["bias_relu", "relu", "add"][k];
            if direct {
                assert_eq!(pool_first[..2], ["conv2d_max_pool2d", activation], "{case}");
            } else {
                assert_eq!(pool_first, ["conv2d", "max_pool2d", activation], "{case}");
            }
            assert_eq!(pool_last, ["conv2d", activation, "max_pool2d"], "{case}");
            for _ in 0..3 {
                let (a, b) = (
                    fused.train_on_batch(&x, &y).unwrap()["loss"],
                    apart.train_on_batch(&x, &y).unwrap()["loss"],
                );
                assert!((a - b).abs() < 1e-5, "{case}: {a} vs {b}");
            }
            for (a, b) in fused.get_weights().iter().zip(apart.get_weights()) {
                let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
                for (a, b) in a.iter().zip(b) {
                    assert!((a - b).abs() < 1e-5, "{case}: {a} vs {b}");
                }
            }
        }
    }
}

#[test]
fn a_value_may_have_at_most_sixty_four_axes_and_the_error_names_its_layer() {
    let at = |axes: usize| {
        let mut g = FunctionalBuilder::new();
        let x = g.input(&[4]);
        let mut shape = vec![1; axes - 1];
        shape[0] = 4;
        let y = g.layer_named("deep", Reshape::new(&shape), x).unwrap();
        g.build(&[x], &[y])
    };
    // 63 axes per sample and the batch axis: the most NumPy 2 allows, and Rill.
    let model = at(rill_nn::layers::MAX_RANK).unwrap();
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[1, 4]).unwrap();
    assert_eq!(model.predict(x, 1).unwrap().rank(), 64);
    assert!(model.summary().contains("deep (Reshape)"));
    let err = at(rill_nn::layers::MAX_RANK + 1).unwrap_err().to_string();
    assert!(
        err.contains("'deep'") && err.contains("65 axes") && err.contains("at most 64"),
        "{err}"
    );
    // The message says how many axes, not each of their sizes.
    assert!(err.len() < 200, "{err}");
}

#[test]
fn a_summary_prints_names_and_shapes_of_any_length() {
    // Wider than `format!`'s largest width (65,535), which panics when asked for more.
    let name = "n".repeat(70_000);
    let mut g = FunctionalBuilder::new();
    let x = g.input(&[3]);
    let y = g.layer_named(&name, Dense::new(2), x).unwrap();
    let summary = g.build(&[x], &[y]).unwrap().summary();
    assert!(summary.contains(&format!("{name} (Dense)")));
    let widths: Vec<usize> = summary.lines().take(5).map(|l| l.chars().count()).collect();
    assert!(widths[1..].iter().all(|&w| w == widths[1]), "{widths:?}");
}
