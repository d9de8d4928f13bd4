//! The CPU backend: kernels on slices, vectorisable inner loops, rayon across both cores above a
//! size threshold, GEMM from the `gemm` crate.

mod batch_norm;
mod conv_pool;
mod elementwise;
mod few_rows;
mod fused;
mod gather;
mod gemm_kernel;
mod isa;
mod matmul;
mod parallel;
mod patches;
mod pool;
mod recurrent;
mod reduce;
mod small_gemm;
mod strided;
#[cfg(test)]
mod test_matrices;
mod winograd;

pub use batch_norm::{batch_norm_backward, batch_norm_forward, BatchMoments};
pub use conv_pool::{
    conv_max_pool_forward, conv_max_pool_kernel_grad, direct_conv_pool_applies, MAX_DIRECT_PATCH,
};
pub use elementwise::{map, map2_broadcast, map3_same};
pub use fused::{bias_relu_backward, bias_relu_forward, bias_relu_in_place};
pub use gather::gather_rows;
pub use isa::{isa, Isa};
pub use matmul::{gemm, gemm_new, gemm_uninit, MatRef};
pub use parallel::{join_or_help, share_chunks, PARALLEL_MIN_ELEMENTS};
pub use patches::{col2im, col2im_add, im2col, PatchGeometry};
pub use pool::{
    avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward, PoolGeometry,
};
pub use recurrent::{
    recurrent_backward, recurrent_forward, CellKind, Recurrence, RecurrentGrads, RecurrentInputs,
    RecurrentSaved, Squash,
};
pub use reduce::{arg_reduce_last, reduce_axes, sum_slice, ReduceKind};
pub use strided::gather_strided;
pub use winograd::{
    winograd_applies, winograd_conv3x3, winograd_conv3x3_input_grad, winograd_conv3x3_kernel_grad,
};
