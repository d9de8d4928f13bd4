//! A hint for gathers: rows asked for ahead of time, so that a gather soon after does not wait
//! for memory row by row.

use crate::tensor::Tensor;
use std::borrow::Cow;

/// Bytes per cache line on every x86-64 CPU Rill runs on.
#[cfg(target_arch = "x86_64")]
const LINE: usize = 64;

impl Tensor {
    /// Asks the CPU to start loading rows `rows` (along axis 0, negative indices counting from
    /// the end as in [`Tensor::index_select`]) into its caches, and returns at once. A shuffled
    /// epoch gathers a batch of rows scattered over a training set larger than the caches; asked
    /// for one step ahead, they arrive while the step runs. Only a hint: indices out of range,
    /// views that are not contiguous and CPUs other than x86-64 are ignored.
    pub fn prefetch_rows(&self, rows: &[i64]) {
        #[cfg(target_arch = "x86_64")]
        {
            let Some(&dim) = self.shape().first() else {
                return;
            };
            if dim == 0 || !self.layout().is_contiguous() {
                return;
            }
            let row_bytes = self.numel() / dim * self.dtype().size_in_bytes();
            crate::dispatch_any!(self.dtype(), T => {
                if let Ok(Cow::Borrowed(all)) = self.data::<T>() {
                    prefetch(all.as_ptr().cast::<u8>(), dim, row_bytes, rows);
                }
            });
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = rows;
    }
}

/// Prefetches every cache line of each row in range of a `dim × row_bytes` block at `base`.
#[cfg(target_arch = "x86_64")]
fn prefetch(base: *const u8, dim: usize, row_bytes: usize, rows: &[i64]) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    for &r in rows {
        let r = if r < 0 { r + dim as i64 } else { r };
        if r < 0 || r >= dim as i64 {
            continue;
        }
        // Addresses only: a prefetch never faults and reads nothing into the program, so the
        // pointers are formed with wrapping arithmetic and never dereferenced.
        let start = base.wrapping_add(r as usize * row_bytes);
        let end = start.wrapping_add(row_bytes);
        let mut line = start.wrapping_sub(start as usize % LINE);
        while line < end {
            // SAFETY: SSE, which the instruction needs, is part of every x86-64 CPU; a
            // prefetch of any address, mapped or not, has no effect but on the caches.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.cast::<i8>()) };
            line = line.wrapping_add(LINE);
        }
    }
}
