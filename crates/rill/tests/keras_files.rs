//! Rill models written as `.keras` files, opened by Keras 3 itself (tools/check_keras.py, in the
//! Python environment `tools/test` prepares, on Keras' numpy backend), which must predict what
//! Rill predicts; and read back by Rill, exactly.

use rill::prelude::*;
use rill_test_support::fixtures::{check_with_python, randomise_vectors, tensor_json};
use serde_json::{json, Value};
use std::sync::Arc;

fn models() -> Vec<(&'static str, Model)> {
    set_seed(11);
    let mut g = Generator::new(11);
    let mut out = vec![
        ("tutorial_mlp", rill::zoo::fashion_mnist_mlp().unwrap()),
        ("tutorial_cnn", rill::zoo::fashion_mnist_cnn().unwrap()),
    ];
    let mut b = FunctionalBuilder::new();
    let image = b.input_named("image", &[8, 8, 3]).unwrap();
    let meta = b.input_named("meta", &[5]).unwrap();
    let x = b.layer(Rescaling::new(0.5, 0.1), image).unwrap();
    let x = b
        .layer(
            Conv2D::new(4, (3, 3))
                .padding(Padding::Same)
                .activation(Activation::Gelu),
            x,
        )
        .unwrap();
    let x = b.layer(BatchNormalization::new(), x).unwrap();
    let x = b.layer(AveragePooling2D::new((2, 2)), x).unwrap();
    let x = b
        .layer(
            MaxPooling2D::new((2, 2))
                .strides((1, 1))
                .padding(Padding::Same),
            x,
        )
        .unwrap();
    let x = b.layer(GlobalAveragePooling2D::new(), x).unwrap();
    let m = b
        .layer(Dense::new(4).activation(Activation::Elu), meta)
        .unwrap();
    let m = b.layer(LayerNormalization::new(), m).unwrap();
    let sum = b.merge(Add, &[x, m]).unwrap();
    let prod = b.merge(Multiply, &[sum, m]).unwrap();
    let both = b.merge(Concatenate, &[prod, x]).unwrap();
    let h = b.layer(Dropout::new(0.2), both).unwrap();
    let h = b.layer(ActivationLayer::new(Activation::Tanh), h).unwrap();
    let class = b
        .layer_named("class", Dense::new(3).activation(Activation::Softmax), h)
        .unwrap();
    let score = b
        .layer_named("score", Dense::new(1).activation(Activation::Sigmoid), sum)
        .unwrap();
    let model = b.build(&[image, meta], &[class, score]).unwrap();
    model.layer("class").unwrap().set_trainable(false);
    out.push(("functional_two_inputs_two_outputs", model));
    let seq = Sequential::new(vec![
        Box::new(Embedding::new(20, 4)),
        Box::new(Flatten::new()),
        Box::new(Reshape::new(&[6, 4])),
        Box::new(Dense::new(5).activation(Activation::LeakyRelu)),
        Box::new(ReLU::new()),
        Box::new(Flatten::new()),
        Box::new(Dense::new(3).activation(Activation::Softplus)),
        Box::new(Softmax::new()),
    ])
    .with_input_shape(&[6])
    .unwrap();
    out.push(("embedding_sequence", seq));
    // Sequences through the 1-D layers, as Keras' Conv1D text and time-series models use them.
    let conv1d = Sequential::new(vec![
        Box::new(
            Conv1D::new(5, 3)
                .padding(Padding1D::Causal)
                .dilation_rate(2)
                .activation(Activation::Relu),
        ),
        Box::new(Conv1D::new(4, 4).strides(2).padding(Padding1D::Same)),
        Box::new(MaxPooling1D::new(2)),
        Box::new(GlobalMaxPooling1D::new()),
        Box::new(Dense::new(3)),
    ])
    .with_input_shape(&[16, 3])
    .unwrap();
    out.push(("sequence_conv1d", conv1d));
    let mean = Sequential::new(vec![
        Box::new(Conv1D::new(4, 2)) as Box<dyn Layer>,
        Box::new(GlobalAveragePooling1D::new()),
    ])
    .with_input_shape(&[7, 2])
    .unwrap();
    out.push(("sequence_mean", mean));
    // Models inside models: a frozen convolutional base under a new head (transfer learning),
    // and a trained model followed by a Softmax (the tutorial's probability model).
    let base = Sequential::new(vec![
        Box::new(Conv2D::new(4, (3, 3)).activation(Activation::Relu)),
        Box::new(MaxPooling2D::new((2, 2))),
        Box::new(Flatten::new()),
        Box::new(Dense::new(6).activation(Activation::Relu)),
    ])
    .with_input_shape(&[8, 8, 1])
    .unwrap()
    .with_name("base");
    randomise_vectors(&base, &mut g);
    base.set_trainable(false);
    let mut b = FunctionalBuilder::new();
    let image = b.input_named("image", &[8, 8, 1]).unwrap();
    let features = b.shared("base", Arc::new(base), image).unwrap();
    let head = b.layer_named("head", Dense::new(3), features).unwrap();
    let transfer = b.build(&[image], &[head]).unwrap();
    let probabilities = Sequential::new(vec![
        Box::new(transfer.share().unwrap()),
        Box::new(Softmax::new()),
    ])
    .with_input_shape(&[8, 8, 1])
    .unwrap();
    out.push(("nested_transfer", transfer));
    // Masks as Rill propagates them, written without mask ops: Keras rebuilds the same masks
    // when it loads the file (padded ids through an LSTM, a Bidirectional GRU and a masked mean;
    // a padded series through Masking and a backwards SimpleRNN).
    let mut b = FunctionalBuilder::new();
    let ids = b.input_named("ids", &[8]).unwrap();
    let series = b.input_named("series", &[6, 2]).unwrap();
    let t = b.layer(Embedding::new(12, 5).mask_zero(true), ids).unwrap();
    let t = b.layer(Lstm::new(4).return_sequences(true), t).unwrap();
    let t = b
        .layer(
            Bidirectional::new(Gru::new(3).return_sequences(true)).unwrap(),
            t,
        )
        .unwrap();
    let t = b.layer(GlobalAveragePooling1D::new(), t).unwrap();
    let s = b.layer(Masking::new(0.0), series).unwrap();
    let s = b.layer(SimpleRnn::new(3).go_backwards(true), s).unwrap();
    let joined = b.merge(Concatenate, &[t, s]).unwrap();
    let out_node = b.layer_named("out", Dense::new(2), joined).unwrap();
    out.push(("masked", b.build(&[ids, series], &[out_node]).unwrap()));
    out.push(("nested_probability_model", probabilities));
    for (_, m) in &out {
        randomise_vectors(m, &mut g);
    }
    out
}

fn inputs(name: &str, model: &Model, g: &mut Generator) -> Vec<Tensor> {
    if name == "masked" {
        // Padding at the end, in the middle and at the start.
        let mut ids: Vec<f32> = (0..24).map(|i| (1 + (i * 5) % 11) as f32).collect();
        ids[5..8].fill(0.0);
        ids[10..12].fill(0.0);
        ids[16..18].fill(0.0);
        let mut x = g
            .uniform(&[3, 6, 2], 0.5, 1.0, DType::F32)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        x[8..12].fill(0.0);
        x[14..16].fill(0.0);
        return vec![
            Tensor::from_vec(ids, &[3, 8]).unwrap(),
            Tensor::from_vec(x, &[3, 6, 2]).unwrap(),
        ];
    }
    if name == "embedding_sequence" {
        return vec![Tensor::from_vec(
            (0..18).map(|i| ((i * 7) % 20) as f32).collect::<Vec<_>>(),
            &[3, 6],
        )
        .unwrap()];
    }
    model
        .input_shapes()
        .iter()
        .map(|s| {
            let mut shape = vec![3];
            shape.extend(s);
            g.uniform(&shape, 0.0, 1.0, DType::F32).unwrap()
        })
        .collect()
}

#[test]
fn keras_opens_rill_models_and_predicts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(5);
    let mut cases = Vec::new();
    let models = models();
    // Every layer alone goes through Keras 3 in every_layer.rs; these are whole models
    // (functional graphs, nested models, frozen layers).
    for (name, model) in models {
        let file = format!("{name}.keras");
        let path = dir.path().join(&file);
        rill::keras::save_model(&model, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let xs = inputs(name, &model, &mut g);
        let outs = model.call_many(&xs, false).unwrap();
        // Read back by Rill: the same outputs, exactly, and the same frozen layers.
        let back = rill::load_model(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (a, b) in outs.iter().zip(back.call_many(&xs, false).unwrap()) {
            assert_eq!(
                a.to_vec::<f32>().unwrap(),
                b.to_vec::<f32>().unwrap(),
                "{name}"
            );
        }
        for (layer, l) in model.layers() {
            assert_eq!(
                back.layer(layer).unwrap().is_trainable(),
                l.is_trainable(),
                "{name}: {layer}"
            );
        }
        let ins: serde_json::Map<String, Value> = model
            .input_names()
            .into_iter()
            .zip(&xs)
            .map(|(n, t)| (n, tensor_json(t)))
            .collect();
        let outs: Vec<Value> = model
            .output_names()
            .into_iter()
            .zip(&outs)
            .map(|(n, t)| {
                let mut v = tensor_json(t);
                v["name"] = json!(n);
                v
            })
            .collect();
        cases.push(json!({"file": file, "inputs": ins, "outputs": outs}));
    }
    check_with_python("check_keras", "Keras", dir.path(), cases);
}
