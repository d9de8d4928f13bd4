//! Reverse-mode automatic differentiation.
//!
//! Each op that runs while gradients are enabled and has an input that needs a gradient attaches
//! a `GradNode` to its output: the inputs and a closure that maps the output's gradient to the
//! inputs' gradients. [`Tensor::backward`] sorts the graph below a scalar topologically and runs
//! the closures in reverse — Rill's counterpart of `tf.GradientTape` and `loss.backward()`.
//!
//! The graph lives only as long as the tensors that hold it: drop the loss and every intermediate
//! buffer is freed, so memory does not grow from step to step. Gradients of intermediate tensors
//! are dropped as soon as they have been passed on. Backward closures run with recording off, so
//! gradients are not themselves differentiable (no higher-order derivatives).

mod gradients;
mod no_grad;

pub use gradients::Gradients;
pub use no_grad::{is_grad_enabled, no_grad, NoGradGuard};

use crate::error::{Error, Result, ShapeDisplay};
use crate::tensor::{Tensor, TensorId};
use std::collections::HashMap;

type BackwardFn = Box<dyn Fn(&BackwardCtx) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

/// How a tensor was computed: the op's name, its inputs and its gradient rule.
pub(crate) struct GradNode {
    op: &'static str,
    inputs: Vec<Tensor>,
    backward: BackwardFn,
}

impl GradNode {
    pub(crate) fn new(op: &'static str, inputs: Vec<Tensor>, backward: BackwardFn) -> Self {
        GradNode {
            op,
            inputs,
            backward,
        }
    }
}

/// What a gradient rule sees: the op's inputs, its output, the output's gradient, and which
/// inputs need a gradient (a rule may skip the others, e.g. matmul's data input).
pub(crate) struct BackwardCtx<'a> {
    pub inputs: &'a [Tensor],
    pub output: &'a Tensor,
    pub grad: &'a Tensor,
    pub needs: &'a [bool],
}

impl Tensor {
    /// Computes the gradient of this scalar with respect to every trainable tensor it depends on.
    ///
    /// ```
    /// use rill_core::Tensor;
    /// let w = Tensor::from_vec(vec![3.0f64], &[1])?.set_requires_grad(true)?;
    /// let loss = w.square()?.sum(&[], false)?;          // w²
    /// let grads = loss.backward()?;
    /// assert_eq!(grads.get(&w).unwrap().to_vec::<f64>()?, vec![6.0]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn backward(&self) -> Result<Gradients> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "backward",
                format!(
                    "gradients start from a scalar, found shape {}; reduce it first (e.g. with sum or mean)",
                    ShapeDisplay(self.shape())
                ),
            ));
        }
        let _off = NoGradGuard::new();
        let mut result = Gradients::default();
        if !self.requires_grad() {
            return Ok(result);
        }
        let order = topological_order(self);
        let mut pending: HashMap<TensorId, Tensor> = HashMap::new();
        pending.insert(self.id(), Tensor::ones_like(self));
        for t in order.iter().rev() {
            let Some(grad) = pending.remove(&t.id()) else {
                continue;
            };
            let Some(node) = &t.inner.node else {
                result.insert(t.id(), grad);
                continue;
            };
            let needs: Vec<bool> = node.inputs.iter().map(Tensor::requires_grad).collect();
            let ctx = BackwardCtx {
                inputs: &node.inputs,
                output: t,
                grad: &grad,
                needs: &needs,
            };
            let input_grads =
                crate::profile::timed(node.op, crate::profile::Phase::Backward, || {
                    (node.backward)(&ctx)
                })?;
            for ((input, g), need) in node.inputs.iter().zip(input_grads).zip(&needs) {
                let (Some(g), true) = (g, *need) else {
                    continue;
                };
                if g.shape() != input.shape() {
                    return Err(Error::shape(
                        "backward",
                        format!(
                            "the gradient rule of {} gave shape {} for an input of shape {}",
                            node.op,
                            ShapeDisplay(g.shape()),
                            ShapeDisplay(input.shape())
                        ),
                    ));
                }
                let merged = match pending.remove(&input.id()) {
                    Some(prev) => prev.add(&g)?,
                    None => g,
                };
                pending.insert(input.id(), merged);
            }
        }
        Ok(result)
    }
}

/// The tensors below `root` that need gradients, each after all of its inputs.
fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Iterative post-order DFS: deep graphs (long RNN-like chains) must not overflow the stack.
    let mut stack: Vec<(Tensor, bool)> = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(node) = &t.inner.node {
            for input in &node.inputs {
                if input.requires_grad() && !seen.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}
