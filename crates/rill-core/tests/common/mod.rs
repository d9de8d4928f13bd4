//! Shared test helpers: a finite-difference gradient checker and seeded f64 inputs.
#![allow(dead_code)]

use rill_core::{DType, Generator, Result, Tensor};

/// Seeded f64 normal values of `shape`.
pub fn randn(g: &mut Generator, shape: &[usize]) -> Tensor {
    g.normal(shape, 0.0, 1.0, DType::F64).unwrap()
}

/// Seeded f64 uniform values in [lo, hi).
pub fn uniform(g: &mut Generator, shape: &[usize], lo: f64, hi: f64) -> Tensor {
    g.uniform(shape, lo, hi, DType::F64).unwrap()
}

/// Compares autodiff gradients of `sum(f(inputs) · w)` (w fixed and random, so every output
/// element matters with its own weight) against central differences, for every input element.
pub fn check_gradients(name: &str, inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Result<Tensor>) {
    check_gradients_with(name, inputs, 1e-6, 1e-6, 1e-5, f)
}

/// [`check_gradients`] with an explicit step and tolerances.
pub fn check_gradients_with(
    name: &str,
    inputs: &[Tensor],
    eps: f64,
    atol: f64,
    rtol: f64,
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
) {
    let vars: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.detach().set_requires_grad(true).unwrap())
        .collect();
    let out = f(&vars).unwrap_or_else(|e| panic!("{name}: forward failed: {e}"));
    let w = Generator::new(99)
        .uniform(out.shape(), 0.5, 1.5, out.dtype())
        .unwrap();
    let loss = out.mul(&w).unwrap().sum(&[], false).unwrap();
    let grads = loss
        .backward()
        .unwrap_or_else(|e| panic!("{name}: backward failed: {e}"));
    let objective = |xs: &[Tensor]| -> f64 {
        let o = f(xs).unwrap();
        o.mul(&w)
            .unwrap()
            .sum(&[], false)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .item::<f64>()
            .unwrap()
    };
    for (i, v) in vars.iter().enumerate() {
        let analytic = grads
            .get(v)
            .unwrap_or_else(|| panic!("{name}: no gradient for input {i}"))
            .to_dtype(DType::F64)
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        let base = inputs[i]
            .to_dtype(DType::F64)
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        for j in 0..base.len() {
            let at = |delta: f64| {
                let mut vals = base.clone();
                vals[j] += delta;
                let mut xs: Vec<Tensor> = inputs.to_vec();
                xs[i] = Tensor::from_vec(vals, inputs[i].shape())
                    .unwrap()
                    .to_dtype(inputs[i].dtype())
                    .unwrap();
                objective(&xs)
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            let diff = (analytic[j] - numeric).abs();
            assert!(
                diff <= atol + rtol * numeric.abs(),
                "{name}: input {i} element {j}: autodiff {} vs finite difference {numeric}",
                analytic[j]
            );
        }
    }
}
