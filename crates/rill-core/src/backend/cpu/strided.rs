use super::parallel::PARALLEL_MIN_ELEMENTS;
use crate::layout::Layout;
use rayon::prelude::*;

/// Copies the elements a layout selects, in row-major order, into a new packed vector.
/// Rows are copied whole when the innermost stride is 1 and filled when it is 0 (a broadcast);
/// large gathers split their rows across threads.
pub fn gather_strided<T: Copy + Send + Sync + Default>(all: &[T], layout: &Layout) -> Vec<T> {
    let n = layout.numel();
    let shape = layout.shape();
    if n == 0 {
        return Vec::new();
    }
    if shape.is_empty() {
        return vec![all[layout.offset()]];
    }
    let rank = shape.len();
    let inner = shape[rank - 1];
    let inner_stride = layout.strides()[rank - 1];
    let row_start = |row: usize| {
        let mut rest = row;
        let mut off = layout.offset();
        for d in (0..rank - 1).rev() {
            off += (rest % shape[d]) * layout.strides()[d];
            rest /= shape[d];
        }
        off
    };
    let copy_row = |row: usize, out: &mut [T]| {
        let start = row_start(row);
        match inner_stride {
            1 => out.copy_from_slice(&all[start..start + inner]),
            0 => out.fill(all[start]),
            s => out
                .iter_mut()
                .enumerate()
                .for_each(|(i, o)| *o = all[start + i * s]),
        }
    };
    let mut out = vec![T::default(); n];
    if n < PARALLEL_MIN_ELEMENTS {
        out.chunks_mut(inner)
            .enumerate()
            .for_each(|(r, o)| copy_row(r, o));
    } else {
        out.par_chunks_mut(inner)
            .enumerate()
            .with_min_len(64)
            .for_each(|(r, o)| copy_row(r, o));
    }
    out
}
