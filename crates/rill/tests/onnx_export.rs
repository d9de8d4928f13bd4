//! Every layer Rill exports to ONNX, and both tutorial models, run through the `onnx` checker
//! (`full_check=True`) and onnxruntime by `tools/check_onnx.py` — in the Python environment
//! `tools/test` prepares — and compared with Rill's own outputs. Each file is imported back
//! into Rill too, and must give the original model's outputs.

use rill::prelude::*;
use rill_onnx::ExportOptions;
use rill_test_support::fixtures::{check_with_python, randomise_vectors, tensor_json};
use serde_json::{json, Value};
use std::path::Path;

struct Case {
    name: &'static str,
    model: Model,
    inputs: Vec<Tensor>,
}

fn sample_inputs(model: &Model, g: &mut Generator) -> Vec<Tensor> {
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

fn cases() -> Vec<Case> {
    set_seed(7);
    let mut g = Generator::new(7);
    let mut out: Vec<Case> = Vec::new();
    let mut add = |name, model: Model, inputs: Option<Vec<Tensor>>, g: &mut Generator| {
        randomise_vectors(&model, g);
        let inputs = inputs.unwrap_or_else(|| sample_inputs(&model, g));
        out.push(Case {
            name,
            model,
            inputs,
        });
    };

    add(
        "tutorial_mlp",
        rill::zoo::fashion_mnist_mlp().unwrap(),
        None,
        &mut g,
    );
    add(
        "tutorial_cnn",
        rill::zoo::fashion_mnist_cnn().unwrap(),
        None,
        &mut g,
    );

    // Convolutions of every padding, stride and dilation, pooling, BatchNormalization on
    // images, activations after convolutions, and a softmax over channels.
    let conv = Sequential::new(vec![
        Box::new(
            Conv2D::new(4, (3, 3))
                .strides((2, 2))
                .padding(Padding::Same)
                .activation(Activation::Elu),
        ),
        Box::new(BatchNormalization::new().epsilon(1e-3)),
        Box::new(ReLU::new()),
        Box::new(
            AveragePooling2D::new((2, 2))
                .strides((1, 1))
                .padding(Padding::Same),
        ),
        Box::new(
            Conv2D::new(5, (2, 3))
                .dilation((2, 1))
                .use_bias(false)
                .activation(Activation::Sigmoid),
        ),
        Box::new(MaxPooling2D::new((2, 2)).padding(Padding::Same)),
        Box::new(Conv2D::new(3, (1, 1)).activation(Activation::Softmax)),
        Box::new(GlobalAveragePooling2D::new()),
        Box::new(Dense::new(3).activation(Activation::Softmax)),
    ])
    .with_input_shape(&[9, 10, 3])
    .unwrap();
    add("conv_pool_batchnorm", conv, None, &mut g);

    // Dense above rank 2 (MatMul + Add), every other activation, LayerNormalization,
    // BatchNormalization over the last axis of a sequence, Rescaling, Reshape, Dropout.
    let seq = Sequential::new(vec![
        Box::new(Rescaling::new(0.5, -0.25)),
        Box::new(Reshape::new(&[3, 4])),
        Box::new(Dense::new(6).activation(Activation::Gelu)),
        Box::new(LayerNormalization::new().epsilon(1e-3)),
        Box::new(Dense::new(5).activation(Activation::LeakyRelu)),
        Box::new(BatchNormalization::new()),
        Box::new(Dropout::new(0.3)),
        Box::new(ActivationLayer::new(Activation::Softplus)),
        Box::new(Dense::new(4).activation(Activation::Tanh)),
        Box::new(Flatten::new()),
        Box::new(Softmax::new()),
    ])
    .with_input_shape(&[12])
    .unwrap();
    add("dense_sequence_activations", seq, None, &mut g);

    // Sequences: 1-D convolutions of every padding (causal included), stride and dilation, max
    // pooling over steps, and both global poolings over steps.
    let mut b = FunctionalBuilder::new();
    let x = b.input(&[16, 3]);
    let h = b
        .layer(
            Conv1D::new(5, 3)
                .padding(Padding1D::Causal)
                .dilation_rate(2)
                .activation(Activation::Relu),
            x,
        )
        .unwrap();
    let h = b
        .layer(Conv1D::new(4, 4).strides(2).padding(Padding1D::Same), h)
        .unwrap();
    let h = b
        .layer(MaxPooling1D::new(2).padding(Padding::Same), h)
        .unwrap();
    let h = b
        .layer(Conv1D::new(6, 2).activation(Activation::Tanh), h)
        .unwrap();
    let mean = b.layer(GlobalAveragePooling1D::new(), h).unwrap();
    let top = b.layer(GlobalMaxPooling1D::new(), h).unwrap();
    let both = b.merge(Concatenate, &[mean, top]).unwrap();
    let out_node = b.layer(Dense::new(3), both).unwrap();
    add(
        "sequence_conv1d_pool1d",
        b.build(&[x], &[out_node]).unwrap(),
        None,
        &mut g,
    );

    // An embedding of integer ids.
    let emb = Sequential::new(vec![
        Box::new(Embedding::new(20, 8)),
        Box::new(Flatten::new()),
        Box::new(Dense::new(4)),
    ])
    .with_input_shape(&[6])
    .unwrap();
    let ids = Tensor::from_vec(
        (0..18).map(|i| ((i * 7) % 20) as f32).collect::<Vec<_>>(),
        &[3, 6],
    )
    .unwrap();
    add("embedding", emb, Some(vec![ids]), &mut g);

    // A functional graph with two named inputs, two outputs, merges and a nested model.
    let inner = Sequential::new(vec![
        Box::new(Dense::new(6).activation(Activation::Relu)) as Box<dyn Layer>
    ])
    .with_input_shape(&[6])
    .unwrap()
    .with_name("inner");
    let mut b = FunctionalBuilder::new();
    let a = b.input_named("features", &[6]).unwrap();
    let c = b.input_named("context", &[6]).unwrap();
    let h = b.layer(inner, a).unwrap();
    let s = b.merge(Add, &[h, c]).unwrap();
    let m = b.merge(Multiply, &[s, c]).unwrap();
    let cat = b.merge(Concatenate, &[m, a]).unwrap();
    let scores = b.layer_named("scores", Dense::new(3), cat).unwrap();
    let gate = b
        .layer_named("gate", Dense::new(2).activation(Activation::Sigmoid), s)
        .unwrap();
    let model = b.build(&[a, c], &[scores, gate]).unwrap();
    add("functional_two_inputs_two_outputs", model, None, &mut g);

    // Models imported from PyTorch and Keras files go back out too (their layers are ONNX
    // operators already): import, fine-tune in Rill, deploy with any ONNX runtime.
    for name in IMPORTED {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rill-onnx/tests/fixtures");
        let model = rill::onnx::load(dir.join(format!("{name}.onnx"))).unwrap();
        let record = rill_test_support::fixtures::read_json(dir.join(format!("{name}.json")));
        let inputs = record["inputs"]
            .as_object()
            .unwrap()
            .values()
            .map(rill_test_support::fixtures::tensor)
            .collect();
        out.push(Case {
            name,
            model,
            inputs,
        });
    }
    out
}

const IMPORTED: [&str; 10] = [
    "torch_mlp",
    "torch_cnn",
    "torch_resnet",
    "torch_separable",
    "torch_separable_opset11",
    "torch_separable_opset20",
    "torch_embedding",
    "keras_mlp",
    "keras_cnn",
    "keras_residual",
];

#[test]
fn onnxruntime_runs_every_exported_layer_as_rill_does_and_import_gives_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut listed = Vec::new();
    let cases = cases();
    // Every layer alone goes through onnxruntime in every_layer.rs; these are models of
    // layers together (channels-first runs between convolutions, nested models, fixtures).
    for case in cases {
        let file = format!("{}.onnx", case.name);
        let path = dir.path().join(&file);
        let options = ExportOptions {
            class_names: Some(vec!["a".into(), "b".into()]),
        };
        rill_onnx::export(&case.model, &path, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let outputs = case.model.call_many(&case.inputs, false).unwrap();

        // Round trip: Rill's importer gives the same outputs.
        let back = rill::onnx::load(&path).unwrap_or_else(|e| panic!("{}: import: {e}", case.name));
        let again = back.call_many(&case.inputs, false).unwrap();
        for (want, got) in outputs.iter().zip(&again) {
            assert_eq!(want.shape(), got.shape(), "{}", case.name);
            let (w, h) = (want.to_vec::<f32>().unwrap(), got.to_vec::<f32>().unwrap());
            for (x, y) in w.iter().zip(&h) {
                assert!(
                    (x - y).abs() <= 1e-6 * x.abs().max(1.0),
                    "{}: round trip {x} vs {y}",
                    case.name
                );
            }
        }
        assert_eq!(
            rill::load_class_names(&path).unwrap(),
            Some(vec!["a".to_string(), "b".to_string()])
        );

        let inputs: serde_json::Map<String, Value> = case
            .model
            .input_names()
            .into_iter()
            .zip(&case.inputs)
            .map(|(n, t)| (n, tensor_json(t)))
            .collect();
        let outs: Vec<Value> = case
            .model
            .output_names()
            .into_iter()
            .zip(&outputs)
            .map(|(n, t)| {
                let mut v = tensor_json(t);
                v["name"] = json!(n);
                v
            })
            .collect();
        listed.push(
            json!({"file": file, "inputs": inputs, "outputs": outs, "rtol": 1e-5, "atol": 1e-6}),
        );
    }
    check_with_python("check_onnx", "onnx and onnxruntime", dir.path(), listed);
}

#[test]
fn a_layer_without_an_onnx_mapping_is_named_in_the_error() {
    struct Doubler;
    impl Layer for Doubler {
        fn kind(&self) -> &'static str {
            "Doubler"
        }
        fn compute_output_shape(&self, s: &[usize]) -> rill::nn::Result<Vec<usize>> {
            Ok(s.to_vec())
        }
        fn call(&self, x: &Tensor, _training: bool) -> rill::nn::Result<Tensor> {
            Ok(x.mul_scalar(2.0)?)
        }
    }
    let model = Sequential::new(vec![Box::new(Dense::new(2)), Box::new(Doubler)])
        .with_input_shape(&[3])
        .unwrap();
    let err = rill_onnx::to_onnx(&model, &ExportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'doubler'") && err.contains("(Doubler)") && err.contains("no ONNX mapping"),
        "{err}"
    );
}
