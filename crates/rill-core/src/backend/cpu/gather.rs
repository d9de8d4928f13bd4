//! Copying rows picked by index, as a shuffled batch is cut from a training set.

use super::parallel::join_or_help;
use std::mem::MaybeUninit;

/// Gathers of at least this many bytes are shared with the helper core: the tutorial MLP's
/// batch, 32 rows of 784 bytes, is 25 KB.
const SHARED_MIN_BYTES: usize = 16 << 10;

/// `x[s..s + inner]` for every `s` in `starts`, one after another.
///
/// Rows scattered over a tensor larger than the caches each wait for memory, so a large gather
/// is copied half on this core and half on the helper, whose misses then overlap this core's
/// (measured on the 2-core Zen 4: the MLP's batch of 32 rows from 47 MB took 9-11 µs on one
/// core, against about 2 µs for the same rows in cache).
///
/// # Panics
/// If a row `s..s + inner` lies outside `x`.
pub fn gather_rows<T: Copy + Send + Sync>(x: &[T], starts: &[usize], inner: usize) -> Vec<T> {
    let len = starts.len() * inner;
    let mut out: Vec<T> = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    if inner > 0 {
        if len * size_of::<T>() >= SHARED_MIN_BYTES && starts.len() >= 2 {
            let half = starts.len() / 2;
            let (first, second) = spare.split_at_mut(half * inner);
            join_or_help(
                || copy_rows(first, x, &starts[..half], inner),
                || copy_rows(second, x, &starts[half..], inner),
            );
        } else {
            copy_rows(spare, x, starts, inner);
        }
    }
    // SAFETY: `copy_rows` wrote every element of the first `len` of the capacity: `inner`
    // elements for each of the `starts.len()` rows (and with `inner` 0 there are none).
    unsafe { out.set_len(len) };
    out
}

/// Writes row `x[s..s + inner]` for each `s` in `starts` into consecutive rows of `out`.
fn copy_rows<T: Copy>(out: &mut [MaybeUninit<T>], x: &[T], starts: &[usize], inner: usize) {
    for (row, &s) in out.chunks_exact_mut(inner).zip(starts) {
        for (o, &v) in row.iter_mut().zip(&x[s..s + inner]) {
            o.write(v);
        }
    }
}
