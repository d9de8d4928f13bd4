//! The op set. Each file holds a family of ops; each op is defined once there: its shape rule,
//! its forward (a call into [`crate::backend::cpu`]) and its gradient rule.
//!
//! | file | ops |
//! |---|---|
//! | `unary` | neg, abs, exp, log, sqrt, square, relu, leaky_relu, elu, gelu, sigmoid, tanh, softplus, clip |
//! | `binary` | add, sub, mul, div, pow, maximum, minimum (NumPy broadcasting) and their scalar forms |
//! | `compare` | eq, ne, lt, le, gt, ge, where_cond |
//! | `reduce` | sum, mean, max, min, argmax, argmin, variance, logsumexp |
//! | `matmul` | matmul with broadcast batch dimensions |
//! | `view` | reshape, flatten, transpose, permute, squeeze, unsqueeze, broadcast_to |
//! | `index` | slice, index_select, gather, one_hot |
//! | `join` | concat, stack, pad |
//! | `softmax` | softmax, log_softmax |
//! | `cross_entropy` | sparse_softmax_cross_entropy (a classifier's loss in one op) |
//! | `conv` | extract_patches, conv2d |
//! | `pool` | max_pool2d, avg_pool2d |
//! | `cast` | to_dtype, to_f32_scaled |
//! | `fused` | bias_relu (a layer's bias and ReLU in one pass) |
//! | `batch_norm` | batch_norm (training-mode normalization, two passes each way) |
//! | `recurrent` | recurrence (a SimpleRNN, LSTM or GRU over a whole sequence, one op each way) |

mod batch_norm;
mod binary;
mod cast;
mod compare;
mod conv;
mod conv_pool;
mod cross_entropy;
mod fused;
mod index;
mod join;
mod matmul;
mod pool;
mod recurrent;
mod reduce;
mod softmax;
mod unary;
mod view;

pub use conv::{same_padding, window_output_size, Conv2dOptions, Padding};
pub use recurrent::{RecurrentCell, RecurrentExtras};
pub use unary::UnaryOp;

use crate::error::Result;
use crate::tensor::Tensor;

/// Sums `grad` down to `shape`: the adjoint of broadcasting `shape` up to `grad.shape()`.
pub(crate) fn sum_to_shape(grad: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if grad.shape() == shape {
        return Ok(grad.clone());
    }
    let lead = grad.rank() - shape.len();
    let axes: Vec<isize> = (0..grad.rank())
        .filter(|&d| d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1))
        .map(|d| d as isize)
        .collect();
    grad.sum(&axes, false)?.reshape(shape)
}
