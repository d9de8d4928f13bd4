/// Below this many elements an elementwise kernel runs on one thread: handing work to rayon
/// costs a few microseconds, more than a small kernel takes.
pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// The chunk length that splits `n` elements into about two pieces of work per thread.
pub(crate) fn chunk_len(n: usize) -> usize {
    let pieces = rayon::current_num_threads().max(1) * 2;
    n.div_ceil(pieces).max(4096)
}

mod help;

pub use help::{join_or_help, share_chunks};
