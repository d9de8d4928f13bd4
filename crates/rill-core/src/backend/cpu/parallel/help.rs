//! Sharing a short piece of work with a second core without ever waiting for it to wake up.
//!
//! `rayon::join` called from outside the pool (as `fit`'s loop is: it runs on the caller's
//! thread, whose random generator and other thread-local state the layers use) hands the work to
//! the pool and blocks the caller until a worker has woken up, run it and woken it again. A
//! worker idle for more than a few tens of microseconds is asleep, and in a virtual machine
//! waking it can take as long as half of a 100 µs product: measured on 2 cores, the tutorial
//! MLP's step became bimodal and no faster.
//!
//! Here the work is cut into chunks that two threads claim one by one, the caller from the first
//! (it starts at once) and one helper thread from the last (it takes whatever is left when it
//! gets there); the caller waits only for chunks the helper is running. The helper is Rill's own
//! thread rather than a rayon job because it must spin for a while after each piece of work (as
//! OpenMP runtimes do): a training step or a stream of predictions shares work every few tens of
//! microseconds, and a helper that is still awake takes it within a microsecond. A rayon job
//! spinning like this would hold one of the pool's workers away from the pool's own work
//! (measured: slower epochs).

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long the helper spins for new work after its last chunk before it parks.
const LINGER: Duration = Duration::from_micros(200);

/// While it spins, the helper offers its core to other threads every this many spins (10–20 µs,
/// as long as the CPU takes for a spin-wait hint). Measured on the 2-core EPYC with a third busy
/// process (`yes > /dev/null`), the tutorial MLP's epoch: 0.52–0.78 s without, 0.41–0.44 s
/// with, 0.39–0.42 s on one thread; unloaded, 0.30 s either way. Every 64 spins slowed
/// single-image predictions by 3% (the system call delays the helper's start).
const YIELD_SPINS: u32 = 512;

/// A chunk's work, its lifetime erased: see [`share_chunks`] for why it is only called while the
/// borrowed data lives.
type ChunkFn = dyn Fn(usize) + Sync + 'static;

/// What the caller and its helper share: the counter they claim chunks from, how many are done,
/// and the first panic of either side.
struct Shared {
    count: usize,
    /// The caller's flush-to-zero mode, which the helper adopts for its chunks.
    denormal_mode: u32,
    claimed: Box<[AtomicBool]>,
    done: AtomicUsize,
    work: *const ChunkFn,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

// SAFETY: `work` points at a `Fn + Sync` closure, which any thread may call through a shared
// reference; `share_chunks` keeps it alive for as long as any thread can still claim a chunk
// (below `count`). The other fields are atomics and a mutex.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    /// Claims and runs every chunk not claimed yet, the caller from the first, the helper from
    /// the last: each core then takes the same part of the work call after call (the same
    /// columns of a weight matrix, which stay in its own cache) unless the other is late.
    /// A panic in one of this thread's chunks is kept in `panic` before that chunk is counted
    /// done: the caller reads it once `done` reaches `count`, so it must be there by then.
    fn run_chunks(&self, from_the_last: bool) {
        let _inside = InsideChunks::enter();
        let mut panicked = false;
        for i in 0..self.count {
            let chunk = if from_the_last { self.count - 1 - i } else { i };
            if self.claimed[chunk].swap(true, Ordering::AcqRel) {
                continue;
            }
            if !panicked {
                // SAFETY: this thread claimed the chunk and has not counted it done, so the
                // caller of `share_chunks` is still waiting (it cannot return before `done`
                // reaches `count`): the closure and what it borrows are alive.
                let work = unsafe { &*self.work };
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| work(chunk))) {
                    panicked = true;
                    lock(&self.panic).get_or_insert(panic);
                }
            }
            // After a panic the remaining chunks are claimed but skipped, so that the caller
            // stops waiting soon.
            self.done.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// Runs `work(0)`, …, `work(count - 1)`, on this thread and, for the chunks this thread has not
/// reached yet when it gets there, on the helper thread. Returns when every chunk has finished;
/// a panic in any chunk is resumed here (the other chunks may then not have run).
pub fn share_chunks<F>(count: usize, work: F)
where
    F: Fn(usize) + Sync,
{
    let helper = match helper() {
        Some(helper) if count >= 2 && rayon::current_num_threads() >= 2 && !InsideChunks::now() => {
            helper
        }
        _ => return (0..count).for_each(work),
    };
    let work: &(dyn Fn(usize) + Sync + '_) = &work;
    // SAFETY: only the lifetime changes. The pointer is dereferenced only for a chunk claimed
    // and not yet counted done, and this function does not return (or unwind) before `done`
    // reaches `count`, that is, before every such chunk has finished: so never after `work` is
    // gone. A helper that gets there later finds every chunk claimed and touches only the `Arc`.
    let work: *const ChunkFn = unsafe { std::mem::transmute(work as *const _) };
    let shared = Arc::new(Shared {
        count,
        denormal_mode: crate::float_mode::denormal_mode(),
        claimed: (0..count).map(|_| AtomicBool::new(false)).collect(),
        done: AtomicUsize::new(0),
        work,
        panic: Mutex::new(None),
    });
    helper.post(Arc::clone(&shared));
    shared.run_chunks(false);
    wait_until_done(&shared);
    let panic = lock(&shared.panic).take();
    if let Some(panic) = panic {
        resume_unwind(panic);
    }
}

thread_local! {
    /// Whether this thread is running a shared chunk: work shared from inside one (a product
    /// inside a recurrent layer's half of the batch) stays on this thread, as both cores are
    /// busy already and the helper's one mailbox may be its own.
    static INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as running shared chunks until dropped.
struct InsideChunks(bool);

impl InsideChunks {
    fn enter() -> Self {
        InsideChunks(INSIDE.with(|i| i.replace(true)))
    }
    fn now() -> bool {
        INSIDE.with(|i| i.get())
    }
}

impl Drop for InsideChunks {
    fn drop(&mut self) {
        INSIDE.with(|i| i.set(self.0));
    }
}

/// The helper thread and its one-job mailbox.
struct Helper {
    mailbox: Mutex<Option<Arc<Shared>>>,
    has_mail: AtomicBool,
    parked: AtomicBool,
    thread: Thread,
}

/// The helper, started on first use; `None` if the system would not start a thread (then all
/// work stays on the calling thread).
fn helper() -> Option<&'static Helper> {
    static HELPER: OnceLock<Option<&'static Helper>> = OnceLock::new();
    *HELPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<&'static Helper>();
        let thread = std::thread::Builder::new()
            .name("rill-helper".into())
            .spawn(move || {
                // The state is sent right after the spawn; without it there is nothing to do.
                if let Ok(me) = rx.recv() {
                    me.serve()
                }
            })
            .ok()?;
        let helper: &'static Helper = Box::leak(Box::new(Helper {
            mailbox: Mutex::new(None),
            has_mail: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            thread: thread.thread().clone(),
        }));
        tx.send(helper).ok()?;
        Some(helper)
    })
}

impl Helper {
    /// Leaves `job` for the helper (replacing one it has not picked up: that job's caller claims
    /// those chunks itself) and wakes it if it is parked.
    fn post(&self, job: Arc<Shared>) {
        *lock(&self.mailbox) = Some(job);
        // SeqCst with `serve`'s pair of accesses: at least one side sees the other's store, so a
        // posted job never waits for a helper that parked without seeing it.
        self.has_mail.store(true, Ordering::SeqCst);
        if self.parked.swap(false, Ordering::SeqCst) {
            self.thread.unpark();
        }
    }

    /// The helper's loop: run posted jobs, spin for [`LINGER`] after each, then park.
    fn serve(&self) -> ! {
        loop {
            let mut since = Instant::now();
            let mut spins = 0u32;
            loop {
                if self.has_mail.swap(false, Ordering::SeqCst) {
                    let job = lock(&self.mailbox).take();
                    if let Some(job) = job {
                        let mode = job.denormal_mode;
                        crate::float_mode::with_denormal_mode(mode, || job.run_chunks(true));
                    }
                    since = Instant::now();
                }
                std::hint::spin_loop();
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(64) && since.elapsed() > LINGER {
                    break;
                }
                if spins.is_multiple_of(YIELD_SPINS) {
                    // A thread waiting for this core (the caller itself, when a third busy
                    // thread holds the other) gets it now rather than at the end of a time
                    // slice; with none, this returns at once.
                    std::thread::yield_now();
                }
            }
            self.parked.store(true, Ordering::SeqCst);
            if self.has_mail.load(Ordering::SeqCst) {
                self.parked.store(false, Ordering::SeqCst);
                continue;
            }
            while self.parked.load(Ordering::SeqCst) {
                std::thread::park();
            }
        }
    }
}

/// Two pieces of work, the second shared with a helper as in [`share_chunks`].
pub fn join_or_help<A, B>(first: A, second: B)
where
    A: FnOnce() + Send,
    B: FnOnce() + Send,
{
    let (first, second) = (Mutex::new(Some(first)), Mutex::new(Some(second)));
    share_chunks(2, |chunk| {
        if chunk == 0 {
            if let Some(first) = lock(&first).take() {
                first();
            }
        } else if let Some(second) = lock(&second).take() {
            second();
        }
    });
}

/// Spins while the helper finishes the chunks it took (each about as long as one of this
/// thread's), then yields the core, which a third thread may need.
fn wait_until_done(shared: &Shared) {
    let mut spins = 0u32;
    while shared.done.load(Ordering::Acquire) < shared.count {
        if spins < 1 << 12 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere, which is carried separately.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
    fn every_chunk_runs_once_with_borrowed_data_on_any_pool() {
        for threads in [1, 2, 4] {
            pool(threads).install(|| {
                for count in [0, 1, 2, 7, 64] {
                    let hits: Vec<AtomicUsize> = (0..count).map(|_| AtomicUsize::new(0)).collect();
                    share_chunks(count, |i| {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                    });
                    assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
                }
            });
        }
        // From outside any pool, as `fit` calls it, back to back and after pauses.
        let (mut a, mut b) = (0, 0);
        for i in 0..2000 {
            join_or_help(|| a += 1, || b += 1);
            if i % 500 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        assert_eq!((a, b), (2000, 2000));
    }

    /// The helper rounds subnormal results as the caller does, with and without the caller's
    /// flush-to-zero guard, and gives its own mode back afterwards.
    #[test]
    fn the_helper_adopts_the_callers_flush_to_zero_mode() {
        let run = || {
            let results: Vec<Mutex<(f32, std::thread::ThreadId)>> = (0..16)
                .map(|_| Mutex::new((f32::NAN, std::thread::current().id())))
                .collect();
            share_chunks(16, |i| {
                std::thread::sleep(std::time::Duration::from_millis(1));
                let tiny = std::hint::black_box(1e-30f32) * std::hint::black_box(1e-10f32);
                *lock(&results[i]) = (tiny, std::thread::current().id());
            });
            let results: Vec<_> = results
                .into_iter()
                .map(|r| r.into_inner().unwrap())
                .collect();
            let me = std::thread::current().id();
            assert!(
                results.iter().any(|r| r.1 != me),
                "the helper took no chunk"
            );
            results.into_iter().map(|r| r.0).collect::<Vec<f32>>()
        };
        // First without the guard, so that the helper thread (which would inherit the mode of
        // the thread that starts it) exists before it.
        assert!(run().iter().all(|&x| x > 0.0));
        if cfg!(target_arch = "x86_64") {
            let guard = crate::FlushDenormals::new();
            // Bits, not `== 0.0`: under denormals-are-zero a subnormal compares equal to zero.
            assert!(run().iter().all(|&x| x.to_bits() == 0));
            drop(guard);
        }
        assert!(run().iter().all(|&x| x > 0.0));
    }

    #[test]
    fn a_panic_in_any_chunk_reaches_the_caller_after_the_others_are_done() {
        for panicking in [0, 1, 5] {
            let running = AtomicUsize::new(0);
            let caught = catch_unwind(AssertUnwindSafe(|| {
                share_chunks(6, |i| {
                    running.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_micros(200));
                    running.fetch_sub(1, Ordering::SeqCst);
                    assert!(i != panicking, "chunk {i}");
                })
            }));
            assert!(caught.is_err());
            assert_eq!(
                running.load(Ordering::SeqCst),
                0,
                "a chunk outlived the call"
            );
        }
    }
}
