//! Flush-to-zero mode for training and inference loops.
//!
//! Subnormal floats (below ~1.2e-38 in f32) make every arithmetic instruction that touches them
//! many times slower. Early in training they appear in gradients and moments; measured here,
//! the first epochs of the tutorial ran up to 60% slower because of them. TensorFlow runs its
//! kernels with the CPU's flush-to-zero and denormals-are-zero modes on; Rill does the same
//! for the duration of `fit`, `evaluate` and `predict`, and restores the mode afterwards.

/// Turns flush-to-zero and denormals-are-zero on for this thread until dropped, then restores
/// the previous mode. On CPUs other than x86-64 it does nothing.
pub struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
    _not_send: std::marker::PhantomData<*const ()>,
}

/// MXCSR bits: FTZ (15) flushes subnormal results to zero; DAZ (6) reads subnormal inputs as zero.
#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = (1 << 15) | (1 << 6);

#[cfg(target_arch = "x86_64")]
fn read_mxcsr() -> u32 {
    let mut v: u32 = 0;
    // SAFETY: `stmxcsr` stores the 4-byte MXCSR register into the u32 the pointer refers to,
    // which is valid, aligned and exclusively borrowed; it has no other effect.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack, preserves_flags)) };
    v
}

#[cfg(target_arch = "x86_64")]
fn write_mxcsr(v: u32) {
    // SAFETY: `ldmxcsr` loads MXCSR from a valid, aligned u32. The values written are the
    // current register with only the FTZ and DAZ mode bits changed (or a value read earlier on
    // this thread), so no exception is unmasked and only the rounding of subnormal floats on
    // this thread changes — nothing that affects memory safety.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &v, options(nostack, preserves_flags)) };
}

/// How many [`FlushDenormals::everywhere`] guards are alive; the first turns the mode on in
/// the rayon pool's threads and the last one dropped restores them.
#[cfg(target_arch = "x86_64")]
static POOL_GUARDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(target_arch = "x86_64")]
thread_local! {
    /// A pool thread's mode from before the first `everywhere` guard.
    static POOL_SAVED: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

impl FlushDenormals {
    /// Enables the mode on this thread.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let saved = read_mxcsr();
            write_mxcsr(saved | FTZ_DAZ);
            FlushDenormals {
                saved,
                _not_send: std::marker::PhantomData,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        FlushDenormals {
            _not_send: std::marker::PhantomData,
        }
    }
}

/// [`FlushDenormals::everywhere`]: the calling thread's guard plus the rayon pool's mode.
pub struct FlushDenormalsEverywhere {
    _here: FlushDenormals,
}

impl FlushDenormals {
    /// Enables the mode on this thread and on every thread of the rayon pool, where the
    /// parallel kernels run: MXCSR is per thread, so a guard on the calling thread alone would
    /// leave the heavy work unprotected. Costs one `rayon::broadcast` when the first such guard
    /// is created and one when the last is dropped; meant for whole loops (`fit`, `evaluate`,
    /// a large `predict`), not single small calls. Guards on several threads share the pool's
    /// setting; while one of them is being created, the pool may briefly still be in the old
    /// mode, which affects speed, never results beyond the rounding of subnormals.
    pub fn everywhere() -> FlushDenormalsEverywhere {
        let here = FlushDenormals::new();
        #[cfg(target_arch = "x86_64")]
        if POOL_GUARDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            rayon::broadcast(|_| {
                let saved = read_mxcsr();
                POOL_SAVED.with(|s| s.set(Some(saved)));
                write_mxcsr(saved | FTZ_DAZ);
            });
        }
        FlushDenormalsEverywhere { _here: here }
    }
}

impl Drop for FlushDenormalsEverywhere {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if POOL_GUARDS.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            rayon::broadcast(|_| {
                if let Some(saved) = POOL_SAVED.with(|s| s.take()) {
                    write_mxcsr(saved);
                }
            });
        }
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        write_mxcsr(self.saved);
    }
}

/// This thread's flush-to-zero and denormals-are-zero bits, for another thread to adopt with
/// [`with_denormal_mode`] while it does part of this thread's work (0 off x86-64).
pub(crate) fn denormal_mode() -> u32 {
    #[cfg(target_arch = "x86_64")]
    return read_mxcsr() & FTZ_DAZ;
    #[cfg(not(target_arch = "x86_64"))]
    0
}

/// Runs `f` with this thread's flush-to-zero and denormals-are-zero bits set to `mode` (from
/// [`denormal_mode`]), then restores them: work shared between threads rounds alike on each.
pub(crate) fn with_denormal_mode<R>(mode: u32, f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        let saved = read_mxcsr();
        let wanted = (saved & !FTZ_DAZ) | (mode & FTZ_DAZ);
        if wanted == saved {
            return f();
        }
        write_mxcsr(wanted);
        // Restored on unwinding too: the helper thread outlives a panicking chunk.
        struct Restore(u32);
        impl Drop for Restore {
            fn drop(&mut self) {
                write_mxcsr(self.0);
            }
        }
        let _restore = Restore(saved);
        f()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = mode;
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everywhere_reaches_the_pool_threads_and_restores_them() {
        use rayon::prelude::*;
        let flushed_in_pool = || {
            rayon::broadcast(|_| {
                std::hint::black_box(f32::MIN_POSITIVE) * std::hint::black_box(0.5f32) == 0.0
            })
        };
        assert!(
            flushed_in_pool().iter().all(|&f| !f),
            "the pool starts in the default mode"
        );
        {
            let _g = FlushDenormals::everywhere();
            #[cfg(target_arch = "x86_64")]
            assert!(
                flushed_in_pool().iter().all(|&f| f),
                "every pool thread flushes"
            );
            let work: Vec<f32> = (0..1 << 16)
                .into_par_iter()
                .map(|_| std::hint::black_box(f32::MIN_POSITIVE) * 0.5)
                .collect();
            #[cfg(target_arch = "x86_64")]
            assert!(work.iter().all(|&v| v == 0.0));
        }
        assert!(
            flushed_in_pool().iter().all(|&f| !f),
            "and is restored after"
        );
    }

    #[test]
    fn subnormals_flush_inside_the_guard_and_survive_outside() {
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        let half = std::hint::black_box(0.5f32);
        assert!(
            tiny * half > 0.0,
            "without the guard a subnormal result is kept"
        );
        {
            let _g = FlushDenormals::new();
            #[cfg(target_arch = "x86_64")]
            assert_eq!(
                std::hint::black_box(tiny) * std::hint::black_box(half),
                0.0,
                "flushed to zero inside the guard"
            );
        }
        assert!(
            std::hint::black_box(tiny) * std::hint::black_box(half) > 0.0,
            "the previous mode is restored"
        );
    }
}
