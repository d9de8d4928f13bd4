use super::history::Logs;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How much `fit`, `evaluate` and `predict` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Nothing.
    Silent,
    /// A live progress bar on a terminal; one line per epoch otherwise (Keras' `"auto"`).
    #[default]
    Auto,
    /// Always the live progress bar.
    ProgressBar,
    /// One line per epoch.
    OneLine,
}

/// Where `fit` writes its progress: standard output unless a host — the Python package, whose
/// users read `sys.stdout` in a terminal or a notebook — directs it elsewhere with
/// [`set_progress_output`].
pub trait ProgressOutput: Send + Sync {
    /// Whether a live bar can be redrawn in place (a terminal, a notebook).
    fn is_live(&self) -> bool;
    /// Replaces the current line with `line` (a live bar's redraw).
    fn redraw(&self, line: &str);
    /// Ends the current line with `line` and starts a new one.
    fn print_line(&self, line: &str);
}

static OUTPUT: RwLock<Option<Arc<dyn ProgressOutput>>> = RwLock::new(None);

/// Sends every later progress line to `output` (`None`: back to standard output).
pub fn set_progress_output(output: Option<Arc<dyn ProgressOutput>>) {
    *OUTPUT.write().unwrap_or_else(|e| e.into_inner()) = output;
}

fn output() -> Option<Arc<dyn ProgressOutput>> {
    OUTPUT.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Prints a line of progress where [`set_progress_output`] says.
pub(crate) fn print_line(line: &str) {
    match output() {
        Some(out) => out.print_line(line),
        None => println!("{line}"),
    }
}

const BAR_WIDTH: usize = 20;
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Keras' progress line: `1875/1875 ━━━━━━━━━━━━━━━━━━━━ 1s 480us/step - accuracy: 0.8213 - loss: 0.5012`.
pub(crate) struct Progress {
    total: Option<usize>,
    live: bool,
    print_end: bool,
    start: Instant,
    last_draw: Option<Instant>,
}

fn per_step(d: f64) -> String {
    if d >= 1.0 {
        format!("{d:.0}s/step")
    } else if d >= 1e-3 {
        format!("{:.0}ms/step", d * 1e3)
    } else {
        format!("{:.0}us/step", d * 1e6)
    }
}

pub(crate) fn format_logs(logs: &Logs) -> String {
    logs.iter()
        .map(|(k, v)| format!(" - {k}: {v:.4}"))
        .collect()
}

impl Progress {
    pub(crate) fn new(total: Option<usize>, verbose: Verbosity) -> Self {
        let tty = match output() {
            Some(out) => out.is_live(),
            None => std::io::stdout().is_terminal(),
        };
        let live = matches!(verbose, Verbosity::ProgressBar) || (verbose == Verbosity::Auto && tty);
        let print_end = verbose != Verbosity::Silent;
        Progress {
            total,
            live,
            print_end,
            start: Instant::now(),
            last_draw: None,
        }
    }

    fn line(&self, step: usize, logs: &Logs) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        let (total, filled) = match self.total {
            Some(t) => (
                t.to_string(),
                (step * BAR_WIDTH)
                    .checked_div(t)
                    .unwrap_or(BAR_WIDTH)
                    .min(BAR_WIDTH),
            ),
            None => ("Unknown".to_string(), 0),
        };
        let bar: String = "━".repeat(filled) + &"─".repeat(BAR_WIDTH - filled);
        let width = total.len();
        format!(
            "{step:>width$}/{total} {bar} {:.0}s {}{}",
            elapsed,
            per_step(elapsed / step.max(1) as f64),
            format_logs(logs)
        )
    }

    /// Redraws the live bar after a step, at most every 100 ms.
    pub(crate) fn update(&mut self, step: usize, logs: impl FnOnce() -> Logs) {
        if !self.live || self.last_draw.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let line = self.line(step, &logs());
        if let Some(out) = output() {
            return out.redraw(&line);
        }
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "\r{line}\x1b[K");
        let _ = out.flush();
    }

    /// Prints the final line of the epoch (with validation results, if any).
    pub(crate) fn finish(&mut self, steps_done: usize, logs: &Logs) {
        if !self.print_end {
            return;
        }
        self.total.get_or_insert(steps_done);
        let line = self.line(steps_done, logs);
        if let Some(out) = output() {
            out.print_line(&line);
        } else if self.live {
            println!("\r{line}\x1b[K");
        } else {
            println!("{line}");
        }
    }
}
