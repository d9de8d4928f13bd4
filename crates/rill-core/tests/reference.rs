//! Op forwards against TensorFlow reference values (tests/fixtures/ops.json, written by
//! tools/make_core_fixtures.py).

use rill_core::{Conv2dOptions, Padding, Tensor};
use rill_test_support::fixtures::tensor;
use serde_json::Value;

fn pair(p: &Value) -> (usize, usize) {
    match p {
        Value::Array(a) => (
            a[0].as_u64().unwrap() as usize,
            a[1].as_u64().unwrap() as usize,
        ),
        n => (n.as_u64().unwrap() as usize, n.as_u64().unwrap() as usize),
    }
}

fn padding(p: &Value) -> Padding {
    if p.as_str() == Some("same") {
        Padding::Same
    } else {
        Padding::Valid
    }
}

fn run(op: &str, x: &[Tensor], p: &Value) -> rill_core::Result<Tensor> {
    let axes = || -> Vec<isize> {
        p["axes"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_i64().unwrap() as isize).collect())
            .unwrap_or_default()
    };
    let axis = || p["axis"].as_i64().unwrap() as isize;
    match op {
        "gelu" => x[0].gelu(),
        "sigmoid" => x[0].sigmoid(),
        "tanh" => x[0].tanh(),
        "softplus" => x[0].softplus(),
        "elu" => x[0].elu(1.0),
        "relu" => x[0].relu(),
        "leaky_relu" => x[0].leaky_relu(p["alpha"].as_f64().unwrap()),
        "softmax" => x[0].softmax(axis()),
        "log_softmax" => x[0].log_softmax(axis()),
        "sum" => x[0].sum(&axes(), false),
        "mean" => x[0].mean(&axes(), false),
        "max" => x[0].max(&axes(), false),
        "min" => x[0].min(&axes(), false),
        "variance" => x[0].variance(&axes(), false),
        "logsumexp" => x[0].logsumexp(&axes(), false),
        "matmul" => x[0].matmul(&x[1]),
        "conv2d" => x[0].conv2d(
            &x[1],
            &Conv2dOptions {
                strides: pair(&p["strides"]),
                padding: padding(&p["padding"]),
                dilation: pair(&p["dilation"]),
            },
        ),
        "max_pool2d" => x[0].max_pool2d(
            pair(&p["pool"]),
            pair(&p["strides"]),
            padding(&p["padding"]),
        ),
        "avg_pool2d" => x[0].avg_pool2d(
            pair(&p["pool"]),
            pair(&p["strides"]),
            padding(&p["padding"]),
        ),
        other => panic!("fixture names an op the test does not know: {other}"),
    }
}

#[test]
fn op_forwards_match_tensorflow() {
    let fixtures: Value = serde_json::from_str(include_str!("fixtures/ops.json")).unwrap();
    let cases = fixtures["cases"].as_array().unwrap();
    assert!(cases.len() > 50);
    for (i, c) in cases.iter().enumerate() {
        let op = c["op"].as_str().unwrap();
        let inputs: Vec<Tensor> = c["inputs"].as_array().unwrap().iter().map(tensor).collect();
        let expected = tensor(&c["output"]);
        let got = run(op, &inputs, &c["params"]).unwrap_or_else(|e| panic!("case {i} ({op}): {e}"));
        assert_eq!(
            got.shape(),
            expected.shape(),
            "case {i} ({op} {}): shape",
            c["params"]
        );
        for (j, (g, e)) in got
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .zip(expected.to_vec::<f32>().unwrap())
            .enumerate()
        {
            assert!(
                (g - e).abs() <= 1e-5 + 1e-5 * e.abs(),
                "case {i} ({op} {}): element {j}: rill {g}, TensorFlow {e}",
                c["params"]
            );
        }
    }
}
