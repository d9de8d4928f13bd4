//! Where the arithmetic happens.
//!
//! Ops (in [`crate::ops`]) own the shape rules and the gradient rules; they hand contiguous
//! slices, shapes and strides to kernels here and get buffers back. The kernels know nothing of
//! tensors or autodiff. Today there is one backend, the CPU; a second one (a GPU) would add its
//! kernels beside `cpu` and a storage variant, and neither layers nor gradient rules would change.

pub mod cpu;
