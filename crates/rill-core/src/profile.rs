//! Timing hooks: where the time of a forward pass, a backward pass or a training step goes,
//! op by op — Rill's counterpart of `torch.profiler`'s operator table.
//!
//! Switched off (the default) it costs one relaxed atomic load per op. Switched on, the calling
//! thread keeps a table of (op, phase) → calls and seconds:
//! - a backward rule is timed exactly, around its closure;
//! - an op's forward is the time from the end of the previous timed event on this thread to
//!   the moment its result is recorded, which is the op's own work because ops run one after
//!   another; glue between ops (layer bookkeeping) lands in the following op;
//! - [`scope`] times any other stretch exactly (the training loop marks batch assembly and the
//!   optimizer step with it); ops run inside a backward rule or a scope are not counted again.
//!
//! [`enable_trace`] also keeps every event with its start and length, which
//! [`take_with_trace`] returns and [`chrome_trace_json`] writes in Chrome's Trace Event
//! format (Perfetto and `chrome://tracing` open it): one track per profiled thread.
//!
//! ```
//! use rill_core::{profile, Tensor};
//! profile::enable();
//! let a = Tensor::ones(&[64, 64], rill_core::DType::F32);
//! let _b = a.matmul(&a)?.relu()?;
//! let table = profile::take();
//! assert!(table.rows().iter().any(|r| r.name == "matmul" && r.calls == 1));
//! println!("{table}");
//! # Ok::<(), rill_core::Error>(())
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Which part of the work a row of the profile measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// An op computing its result.
    Forward,
    /// An op's gradient rule.
    Backward,
    /// A [`scope`]: anything else worth naming (batch assembly, the optimizer step).
    Scope,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Forward => "forward",
            Phase::Backward => "backward",
            Phase::Scope => "scope",
        })
    }
}

/// One line of a [`Profile`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    /// The op's name (as in gradient-rule errors) or the scope's name.
    pub name: &'static str,
    /// Forward, backward or a named scope.
    pub phase: Phase,
    /// How many times it ran.
    pub calls: u64,
    /// Total seconds.
    pub seconds: f64,
}

/// The table [`take`] returns: one row per (name, phase), the costliest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    rows: Vec<ProfileRow>,
}

impl Profile {
    /// The rows, the costliest first.
    pub fn rows(&self) -> &[ProfileRow] {
        &self.rows
    }

    /// Seconds summed over every row.
    pub fn total_seconds(&self) -> f64 {
        self.rows.iter().map(|r| r.seconds).sum()
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total_seconds().max(f64::MIN_POSITIVE);
        writeln!(f, "| op | phase | calls | seconds | share |")?;
        writeln!(f, "|---|---|---:|---:|---:|")?;
        for r in &self.rows {
            writeln!(
                f,
                "| {} | {} | {} | {:.3} | {:.1}% |",
                r.name,
                r.phase,
                r.calls,
                r.seconds,
                100.0 * r.seconds / total
            )?;
        }
        Ok(())
    }
}

/// One timed event of a trace: what ran, on which thread, when and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent {
    /// The op's or scope's name.
    pub name: &'static str,
    /// Forward, backward or a named scope.
    pub phase: Phase,
    /// Microseconds from the start of the trace.
    pub start_us: f64,
    /// Length in microseconds.
    pub duration_us: f64,
    /// The thread's name (or its id, for an unnamed thread), shared by its events.
    pub thread: Arc<str>,
}

#[derive(Default)]
struct State {
    /// End of the last timed event; the next op's forward starts here.
    last: Option<Instant>,
    /// When tracing: the trace's start, this thread's name, and the events so far.
    trace: Option<(Instant, Arc<str>, Vec<TraceEvent>)>,
    /// Open backward rules and scopes: ops inside them are theirs, not counted again.
    depth: usize,
    table: HashMap<(&'static str, Phase), (u64, f64)>,
}

impl State {
    fn add(&mut self, name: &'static str, phase: Phase, start: Instant, end: Instant) {
        let seconds = (end - start).as_secs_f64();
        let entry = self.table.entry((name, phase)).or_default();
        entry.0 += 1;
        entry.1 += seconds;
        if let Some((origin, thread, events)) = &mut self.trace {
            events.push(TraceEvent {
                name,
                phase,
                start_us: start.saturating_duration_since(*origin).as_secs_f64() * 1e6,
                duration_us: seconds * 1e6,
                thread: thread.clone(),
            });
        }
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Starts profiling this thread, from an empty table.
pub fn enable() {
    STATE.with(|s| {
        *s.borrow_mut() = State {
            last: Some(Instant::now()),
            ..State::default()
        }
    });
    ENABLED.store(true, Ordering::Relaxed);
}

fn current_thread_name() -> Arc<str> {
    let thread = std::thread::current();
    thread
        .name()
        .map_or_else(|| format!("{:?}", thread.id()), str::to_string)
        .into()
}

/// Starts profiling this thread like [`enable`], keeping every event for a trace too.
pub fn enable_trace() {
    let now = Instant::now();
    STATE.with(|s| {
        *s.borrow_mut() = State {
            last: Some(now),
            trace: Some((now, current_thread_name(), Vec::new())),
            ..State::default()
        }
    });
    ENABLED.store(true, Ordering::Relaxed);
}

/// Stops profiling; returns this thread's table and its trace (empty unless started with
/// [`enable_trace`]).
pub fn take_with_trace() -> (Profile, Vec<TraceEvent>) {
    let events = STATE.with(|s| s.borrow_mut().trace.take().map(|(_, _, e)| e));
    (take(), events.unwrap_or_default())
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out + "\""
}

/// `events` as Chrome's Trace Event JSON: one complete (`"X"`) event each, on one track per
/// thread (named by a metadata event), times in microseconds.
pub fn chrome_trace_json(events: &[TraceEvent]) -> String {
    let mut threads: Vec<&str> = Vec::new();
    for e in events {
        if !threads.contains(&&*e.thread) {
            threads.push(&e.thread);
        }
    }
    let tid = |t: &str| threads.iter().position(|&x| x == t).unwrap_or(0) + 1;
    let mut parts: Vec<String> = threads
        .iter()
        .map(|t| {
            format!(
                r#"{{"name":"thread_name","ph":"M","pid":1,"tid":{},"args":{{"name":{}}}}}"#,
                tid(t),
                json_string(t)
            )
        })
        .collect();
    parts.extend(events.iter().map(|e| {
        format!(
            r#"{{"name":{},"cat":"{}","ph":"X","ts":{:.3},"dur":{:.3},"pid":1,"tid":{}}}"#,
            json_string(e.name),
            e.phase,
            e.start_us,
            e.duration_us,
            tid(&e.thread)
        )
    }));
    format!(
        "{{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n{}\n]}}\n",
        parts.join(",\n")
    )
}

/// Whether profiling is on.
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Stops profiling and returns this thread's table, leaving it empty.
pub fn take() -> Profile {
    ENABLED.store(false, Ordering::Relaxed);
    let table = STATE.with(|s| std::mem::take(&mut *s.borrow_mut()).table);
    let mut rows: Vec<ProfileRow> = table
        .into_iter()
        .map(|((name, phase), (calls, seconds))| ProfileRow {
            name,
            phase,
            calls,
            seconds,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then((a.name, a.phase).cmp(&(b.name, b.phase)))
    });
    Profile { rows }
}

/// Called when an op has computed its result.
pub(crate) fn forward_done(op: &'static str) {
    if !is_enabled() {
        return;
    }
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.depth > 0 {
            return;
        }
        let now = Instant::now();
        if let Some(last) = s.last {
            s.add(op, Phase::Forward, last, now);
        }
        s.last = Some(now);
    });
}

/// Runs `f` as one timed event named `name`.
pub(crate) fn timed<T>(name: &'static str, phase: Phase, f: impl FnOnce() -> T) -> T {
    if !is_enabled() {
        return f();
    }
    let _span = Span::open(name, phase);
    f()
}

/// Times the stretch until the returned guard is dropped as `name` (phase [`Phase::Scope`]).
///
/// ```
/// let _batch = rill_core::profile::scope("batch");
/// ```
pub fn scope(name: &'static str) -> Span {
    Span::open(name, Phase::Scope)
}

/// An open timed stretch; see [`scope`].
#[must_use = "the stretch ends when this guard is dropped"]
pub struct Span {
    open: Option<(&'static str, Phase, Instant)>,
}

impl Span {
    fn open(name: &'static str, phase: Phase) -> Span {
        if !is_enabled() {
            return Span { open: None };
        }
        let now = Instant::now();
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.depth += 1;
            s.last = Some(now);
        });
        Span {
            open: Some((name, phase, now)),
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        let Some((name, phase, start)) = self.open else {
            return;
        };
        let now = Instant::now();
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.depth = s.depth.saturating_sub(1);
            if s.depth == 0 && is_enabled() {
                s.add(name, phase, start, now);
            }
            s.last = Some(now);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DType, Tensor};
    use std::sync::Mutex;

    /// The switch is process-wide: these tests must not turn it off under each other.
    static SWITCH: Mutex<()> = Mutex::new(());

    #[test]
    fn counts_forward_backward_and_scopes_without_double_counting() {
        let _one_at_a_time = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
        enable();
        let w = Tensor::ones(&[8, 8], DType::F32)
            .set_requires_grad(true)
            .unwrap();
        let loss = w.matmul(&w).unwrap().sum(&[], false).unwrap();
        {
            let _s = scope("backward pass");
            loss.backward().unwrap();
        }
        let p = take();
        let row = |name: &str, phase| p.rows().iter().find(|r| r.name == name && r.phase == phase);
        assert_eq!(row("matmul", Phase::Forward).map(|r| r.calls), Some(1));
        assert_eq!(row("backward pass", Phase::Scope).map(|r| r.calls), Some(1));
        // Inside the scope, the gradient rules are the scope's, not rows of their own.
        assert!(row("matmul", Phase::Backward).is_none());
        assert!(!is_enabled());
    }

    #[test]
    fn a_trace_holds_every_counted_event_in_order_on_its_thread() {
        let _one_at_a_time = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
        enable_trace();
        let w = Tensor::ones(&[8, 8], DType::F32)
            .set_requires_grad(true)
            .unwrap();
        let loss = w
            .matmul(&w)
            .unwrap()
            .relu()
            .unwrap()
            .sum(&[], false)
            .unwrap();
        {
            let _s = scope("step \"one\"");
            loss.backward().unwrap();
        }
        let (table, events) = take_with_trace();
        // As many events as the table counts calls, each after the one before.
        let calls: u64 = table.rows().iter().map(|r| r.calls).sum();
        assert_eq!(events.len() as u64, calls);
        for pair in events.windows(2) {
            assert!(pair[1].start_us >= pair[0].start_us + pair[0].duration_us - 1e-3);
        }
        assert!(events
            .iter()
            .all(|e| e.duration_us >= 0.0 && e.thread == events[0].thread));
        let json = chrome_trace_json(&events);
        assert!(
            json.contains(r#""name":"matmul","cat":"forward","ph":"X""#),
            "{json}"
        );
        assert!(
            json.contains(r#""name":"step \"one\"","cat":"scope""#),
            "{json}"
        );
        assert!(json.contains(r#""ph":"M","pid":1,"tid":1"#), "{json}");
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed["traceEvents"].as_array().unwrap().len(),
            events.len() + 1
        );
        // Without enable_trace there is no trace.
        enable();
        let _ = Tensor::ones(&[2], DType::F32).relu().unwrap();
        assert!(take_with_trace().1.is_empty());
    }

    #[test]
    fn backward_rules_are_timed_when_not_inside_a_scope() {
        let _one_at_a_time = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
        enable();
        let w = Tensor::ones(&[4], DType::F64)
            .set_requires_grad(true)
            .unwrap();
        let loss = w.square().unwrap().sum(&[], false).unwrap();
        loss.backward().unwrap();
        let p = take();
        assert!(p
            .rows()
            .iter()
            .any(|r| r.phase == Phase::Backward && r.calls == 1));
        assert!(p.to_string().contains("| forward |"));
    }
}
