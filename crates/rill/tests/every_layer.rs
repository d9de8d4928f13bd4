//! One test for every registered layer, in the spirit of Keras' `run_layer_test`: each example a
//! layer's file offers ([`Configurable::examples`](rill::nn::layers::Configurable::examples)) is
//! built, run, and checked —
//!
//! - its shape rule (`compute_output_shape`) against the output it computes;
//! - its config: the layer rebuilt from it has the same config;
//! - `.rill`: saved and loaded back, the same outputs exactly;
//! - `.keras`, where the kind has a Keras form: loaded back by Rill exactly, and opened by
//!   Keras 3 itself (`tools/check_keras.py`), which must predict the same;
//! - ONNX, where the kind has an ONNX form: run by onnxruntime (`tools/check_onnx.py`), which
//!   must give the same, and imported back by Rill, which must too.
//!
//! A kind without a form says so by not implementing it in its file; this test prints which
//! kinds skip which format. The Python package's side is
//! `crates/rill-py/tests/test_every_layer.py`.

use rill::nn::layers::{self, LayerExample, SampleValues};
use rill::prelude::*;
use rill_test_support::fixtures::{check_with_python, randomise_vectors, tensor_json};
use serde_json::{json, Value};

/// A model of one example: its inputs, its layer, and a batch of each sample input.
struct Built {
    name: String,
    kind: &'static str,
    model: Model,
    xs: Vec<Tensor>,
}

impl Built {
    /// The model's one output for the sample inputs.
    fn run(&self, model: &Model) -> Tensor {
        let mut outs = model
            .call_many(&self.xs, false)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        outs.remove(0)
    }
}

fn sample(example: &LayerExample<Value>, g: &mut Generator) -> Tensor {
    let mut shape = vec![3];
    shape.extend(&example.input_shape);
    match example.values {
        SampleValues::Uniform(lo, hi) => g.uniform(&shape, lo, hi, DType::F32).unwrap(),
        SampleValues::Ids(n) => {
            let u = g.uniform(&shape, 0.0, n as f64, DType::F32).unwrap();
            let ids = u
                .to_vec::<f32>()
                .unwrap()
                .iter()
                .map(|v| v.floor())
                .collect();
            Tensor::from_vec::<f32>(ids, &shape).unwrap()
        }
        SampleValues::Words | SampleValues::Sentences => {
            let n: usize = shape.iter().product();
            let words = layers::SAMPLE_WORDS;
            let text = (0..n)
                .map(|_| match example.values {
                    SampleValues::Words => words[g.below(words.len())].to_string(),
                    _ => (0..1 + g.below(6))
                        .map(|_| words[g.below(words.len())])
                        .collect::<Vec<_>>()
                        .join(" "),
                })
                .collect();
            Tensor::from_strings(text, &shape).unwrap()
        }
    }
}

fn build(kind: &'static str, i: usize, example: &LayerExample<Value>, g: &mut Generator) -> Built {
    let name = format!("{kind}_{i}");
    let layer = layers::from_config(kind, &example.config)
        .unwrap_or_else(|e| panic!("{name}: from its own example's config: {e}"));
    let on_inputs =
        |e: rill::nn::Error| -> ! { panic!("{name}: on inputs {:?}: {e}", example.input_shape) };
    let model = if example.inputs == 1 {
        Sequential::new(vec![layer])
            .with_input_shape(&example.input_shape)
            .unwrap_or_else(|e| on_inputs(e))
    } else {
        // A layer of several inputs (a merge): a functional model, one input each.
        let mut b = FunctionalBuilder::new();
        let ins: Vec<rill::nn::Node> = (0..example.inputs)
            .map(|_| b.input(&example.input_shape))
            .collect();
        let out = b
            .merge_boxed(None, layer, &ins)
            .unwrap_or_else(|e| on_inputs(e));
        b.build(&ins, &[out]).unwrap()
    };
    randomise_vectors(&model, g);
    let xs = (0..example.inputs).map(|_| sample(example, g)).collect();
    Built {
        name,
        kind,
        model,
        xs,
    }
}

fn case_json(b: &Built, file: &str, y: &Tensor) -> Value {
    let inputs: serde_json::Map<String, Value> = b
        .model
        .input_names()
        .into_iter()
        .zip(&b.xs)
        .map(|(n, x)| (n, tensor_json(x)))
        .collect();
    let mut out = tensor_json(y);
    out["name"] = json!(b.model.output_names().remove(0));
    json!({"file": file, "inputs": inputs, "outputs": [out], "rtol": 1e-5, "atol": 1e-5})
}

fn assert_same(name: &str, what: &str, want: &Tensor, got: &Tensor, tolerance: f32) {
    assert_eq!(want.shape(), got.shape(), "{name}: {what}: shapes");
    let f32s = |t: &Tensor| t.to_dtype(DType::F32).unwrap().to_vec::<f32>().unwrap();
    let (w, h) = (f32s(want), f32s(got));
    for (a, b) in w.iter().zip(&h) {
        assert!(
            (a - b).abs() <= tolerance * a.abs().max(1.0),
            "{name}: {what}: {a} vs {b}"
        );
    }
}

#[test]
fn every_registered_layer_keeps_its_shape_rule_and_outputs_through_every_format() {
    rill::onnx::register_layers();
    set_seed(21);
    let mut g = Generator::new(21);
    let dir = tempfile::tempdir().unwrap();
    let (mut keras_cases, mut onnx_cases) = (Vec::new(), Vec::new());
    let (mut no_keras, mut no_onnx) = (Vec::new(), Vec::new());
    let kinds: Vec<&str> = layers::registered_kinds()
        .into_iter()
        .filter(|k| !matches!(*k, "Functional" | "Sequential"))
        .collect();
    for kind in kinds {
        let examples = layers::layer_examples(kind);
        assert!(
            !examples.is_empty(),
            "{kind} offers no example: give it `fn examples()` in its Configurable impl"
        );
        if layers::keras_form(kind).is_none() {
            no_keras.push(kind);
        }
        if layers::onnx_form(kind).is_none() {
            no_onnx.push(kind);
        }
        for (i, example) in examples.iter().enumerate() {
            let b = build(kind, i, example, &mut g);
            let name = &b.name;
            let y = b.run(&b.model);

            // The shape rule, asked by the layer itself, against what it computed.
            let layer = layers::from_config(kind, &example.config).unwrap();
            let rule = layer
                .output_shape_for(&vec![example.input_shape.clone(); example.inputs])
                .unwrap_or_else(|e| panic!("{name}: shape rule: {e}"));
            assert_eq!(&y.shape()[1..], &rule[..], "{name}: shape rule vs output");
            assert_eq!(
                b.model.output_shape().unwrap(),
                rule,
                "{name}: the model's shape"
            );
            // Its config rebuilds the same layer.
            assert_eq!(
                layer.config().as_ref(),
                Some(&example.config),
                "{name}: config round trip"
            );
            assert_eq!(
                b.model
                    .layer(&b.model.output_names()[0])
                    .unwrap()
                    .config()
                    .as_ref(),
                Some(&example.config),
                "{name}: the built layer's config"
            );

            // .rill: the same outputs, exactly.
            let path = dir.path().join(format!("{name}.rill"));
            rill::save_model(&b.model, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let back = rill::load_model(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_same(name, ".rill", &y, &b.run(&back), 0.0);

            if layers::keras_form(kind).is_some() {
                let file = format!("{name}.keras");
                let path = dir.path().join(&file);
                rill::save_model(&b.model, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
                let back = rill::load_model(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_same(name, ".keras", &y, &b.run(&back), 0.0);
                keras_cases.push(case_json(&b, &file, &y));
            }
            if layers::onnx_form(kind).is_some() {
                let file = format!("{name}.onnx");
                let path = dir.path().join(&file);
                rill::save_model(&b.model, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
                let back = rill::load_model(&path)
                    .unwrap_or_else(|e| panic!("{name}: ONNX imported back: {e}"));
                assert_same(name, "ONNX import", &y, &b.run(&back), 1e-5);
                onnx_cases.push(case_json(&b, &file, &y));
            }
            assert_eq!(b.kind, kind);
        }
    }
    println!("kinds without a Keras form (not written as .keras): {no_keras:?}");
    println!("kinds without an ONNX form (not exported): {no_onnx:?}");
    check_with_python("check_keras", "Keras", dir.path(), keras_cases);
    check_with_python("check_onnx", "onnx and onnxruntime", dir.path(), onnx_cases);
}
