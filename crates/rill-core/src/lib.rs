//! # rill-core
//!
//! Rill's foundation: [`Tensor`] — an n-dimensional array with a runtime shape and [`DType`] —,
//! the op set, reverse-mode automatic differentiation ([`Tensor::backward`]) and the CPU kernels.
//!
//! ## Where things live
//! - [`tensor`]: the `Tensor` type, data access, in-place updates for optimizers.
//! - `ops/`: one file per op family; each op's shape rule, forward and gradient sit together
//!   (see the table in `ops/mod.rs`). Adding an op means adding one function there.
//! - [`autograd`]: the graph, `backward`, [`no_grad`].
//! - [`backend::cpu`]: kernels on slices (GEMM through the `gemm` crate, rayon for both cores).
//!
//! ## Errors: every op returns `Result`
//! Ops return [`Result<Tensor>`] and never panic on bad input: shapes and dtypes reach Rill at
//! run time from files, command lines and HTTP requests, and a server must answer a wrong shape
//! with an error, not die. Every message names the op and shows what it expected and what it
//! found:
//!
//! ```
//! use rill_core::{DType, Tensor};
//! let x = Tensor::zeros(&[32, 784], DType::F32);
//! let w = Tensor::zeros(&[785, 128], DType::F32);
//! assert_eq!(
//!     x.matmul(&w).unwrap_err().to_string(),
//!     "matmul: inner dimensions differ: [32, 784] x [785, 128]"
//! );
//! ```
//!
//! ## Training in five lines
//! ```
//! use rill_core::{DType, Tensor};
//! let w = Tensor::from_vec(vec![0.5f32, -0.5], &[2, 1])?.set_requires_grad(true)?;
//! let x = Tensor::ones(&[4, 2], DType::F32);
//! let loss = x.matmul(&w)?.relu()?.mean(&[], false)?;
//! let grads = loss.backward()?;
//! assert_eq!(grads.get(&w).unwrap().shape(), &[2, 1]);
//! # Ok::<(), rill_core::Error>(())
//! ```

#![warn(missing_docs)]

pub mod autograd;
pub mod backend;
pub mod batches;
mod creation;
mod dtype;
mod error;
pub mod float_mode;
mod layout;
pub mod memory;
pub mod ops;
pub mod profile;
pub mod random;
mod storage;
mod strings;
pub mod tensor;

pub use autograd::{is_grad_enabled, no_grad, Gradients, NoGradGuard};
pub use backend::cpu::{CellKind, Squash};
pub use batches::{Batch, Batches, Data, Feed};
pub use dtype::{DType, Element, FloatElement};
pub use error::{Error, Result};
pub use float_mode::FlushDenormals;
pub use layout::{broadcast_shapes, contiguous_strides, Layout};
pub use ops::{
    same_padding, window_output_size, Conv2dOptions, Padding, RecurrentCell, RecurrentExtras,
    UnaryOp,
};
pub use random::{set_seed, Generator};
pub use storage::Storage;
pub use tensor::{Tensor, TensorId};
