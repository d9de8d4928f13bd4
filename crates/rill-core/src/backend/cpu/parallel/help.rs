//! Splitting a short piece of work in two without ever waiting for a thread to wake up.
//!
//! `rayon::join` called from outside the pool (as `fit`'s loop is: it runs on the caller's
//! thread, whose random generator and other thread-local state the layers use) hands both halves
//! to the pool and blocks the caller until a worker has woken up, run them and woken it again.
//! A worker idle for more than a few tens of microseconds is asleep, and waking it costs about
//! as much as a 50 µs half of a small product saves; measured on 2 cores, the tutorial MLP's
//! step became bimodal and no faster. Here the caller offers the second half to the pool, runs
//! the first itself, and then takes the second back unless a worker has already started it: a
//! sleeping pool costs one wake-up call, never a wait.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// Nobody has started the offered half yet.
const OFFERED: u8 = 0;
/// The caller took it back (and runs it, or has run it).
const TAKEN_BACK: u8 = 1;
/// A pool worker started it.
const STARTED: u8 = 2;
/// A pool worker finished it and dropped it: nothing it borrowed is used any more.
const FINISHED: u8 = 3;

/// A closure whose borrows the caller of [`join_or_help`] keeps alive (see there).
type Offered = Box<dyn FnOnce() + Send + 'static>;

/// The offered half and what became of it, shared by the caller and the pool's job.
struct Offer {
    state: AtomicU8,
    work: Mutex<Option<Offered>>,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

/// Runs `first` and `second`, `second` on a pool worker if one is free to start it while `first`
/// runs, otherwise on this thread after `first`. Returns when both have finished; a panic in
/// either is resumed here.
pub fn join_or_help<A, B>(first: A, second: B)
where
    A: FnOnce(),
    B: FnOnce() + Send,
{
    if rayon::current_num_threads() < 2 {
        first();
        second();
        return;
    }
    let second: Box<dyn FnOnce() + Send + '_> = Box::new(second);
    // SAFETY: only the lifetime changes (same type otherwise). The closure may borrow from the
    // caller's frame, and this function does not return or unwind before the closure has been
    // dropped: either this thread takes it back (state OFFERED → TAKEN_BACK) and runs it here, or
    // a worker took it (OFFERED → STARTED), and then this thread waits for FINISHED, which the
    // worker stores only after the closure has run and been dropped. `first`'s panic is caught
    // and resumed only after that; the pool's job keeps only the `Arc` once the closure is gone.
    let second: Offered = unsafe { std::mem::transmute(second) };
    let offer = Arc::new(Offer {
        state: AtomicU8::new(OFFERED),
        work: Mutex::new(Some(second)),
        panic: Mutex::new(None),
    });
    let job = Arc::clone(&offer);
    rayon::spawn(move || {
        if job
            .state
            .compare_exchange(OFFERED, STARTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let work = take(&job.work);
            if let Err(panic) = catch_unwind(AssertUnwindSafe(work)) {
                *lock(&job.panic) = Some(panic);
            }
            job.state.store(FINISHED, Ordering::Release);
        }
    });
    let first = catch_unwind(AssertUnwindSafe(first));
    if offer
        .state
        .compare_exchange(OFFERED, TAKEN_BACK, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        take(&offer.work)();
    } else {
        wait_until_finished(&offer.state);
    }
    if let Err(panic) = first {
        resume_unwind(panic);
    }
    let second_panic = lock(&offer.panic).take();
    if let Some(panic) = second_panic {
        resume_unwind(panic);
    }
}

/// Spins while the worker runs its half (about as long as this thread's own half took), then
/// yields the core, which a third thread may need.
fn wait_until_finished(state: &AtomicU8) {
    let mut spins = 0u32;
    while state.load(Ordering::Acquire) != FINISHED {
        if spins < 1 << 12 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere, already carried in `panic`.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn take(work: &Mutex<Option<Offered>>) -> Offered {
    lock(work)
        .take()
        .expect("join_or_help: the offered half is started exactly once")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn both_halves_run_once_with_borrowed_data_on_any_pool() {
        for threads in [1, 2, 4] {
            pool(threads).install(|| {
                for _ in 0..200 {
                    let mut left = vec![0u32; 1000];
                    let mut right = vec![0u32; 1000];
                    join_or_help(
                        || left.iter_mut().for_each(|x| *x += 1),
                        || right.iter_mut().for_each(|x| *x += 2),
                    );
                    assert!(left.iter().all(|&x| x == 1) && right.iter().all(|&x| x == 2));
                }
            });
        }
        // From outside any pool, as `fit` calls it.
        let (mut a, mut b) = (0, 0);
        join_or_help(|| a += 1, || b += 1);
        assert_eq!((a, b), (1, 1));
    }

    #[test]
    fn a_panic_in_either_half_reaches_the_caller_after_both_are_done() {
        let done = std::sync::atomic::AtomicUsize::new(0);
        for panicking in [0, 1] {
            let caught = catch_unwind(AssertUnwindSafe(|| {
                join_or_help(
                    || {
                        done.fetch_add(1, Ordering::SeqCst);
                        assert!(panicking != 0, "first");
                    },
                    || {
                        done.fetch_add(1, Ordering::SeqCst);
                        assert!(panicking != 1, "second");
                    },
                )
            }));
            assert!(caught.is_err());
        }
        assert_eq!(done.load(Ordering::SeqCst), 4);
    }
}
