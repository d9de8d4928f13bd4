//! Learning-rate schedules with Keras' definitions, evaluated at the optimizer's step count
//! (0 for the first step).

/// A learning rate as a function of the step count.
pub trait LearningRateSchedule: Send + Sync {
    /// The rate for step `step` (0-based).
    fn at(&self, step: u64) -> f64;
    /// The schedule's stored form ([`schedule_json`](crate::saveable::schedule_json)), or
    /// `None` (the default) when it is code that cannot be saved with the model — a
    /// [`Saveable`](crate::saveable::Saveable) schedule, registered with
    /// [`register_schedule`](crate::saveable::register_schedule), can.
    fn config(&self) -> Option<serde_json::Value> {
        None
    }
}

// Saved under Keras' class names.
crate::saveable::saveable_as_data!(ExponentialDecay, "ExponentialDecay");
crate::saveable::saveable_as_data!(PiecewiseConstantDecay, "PiecewiseConstantDecay");
crate::saveable::saveable_as_data!(CosineDecay, "CosineDecay");

/// `initial · rate^(step / decay_steps)`, the exponent floored when `staircase`.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct ExponentialDecay {
    /// The rate at step 0.
    pub initial_learning_rate: f64,
    /// Steps per factor of `decay_rate`.
    pub decay_steps: u64,
    /// The factor.
    pub decay_rate: f64,
    /// Decay in whole steps of `decay_steps`.
    pub staircase: bool,
}

impl LearningRateSchedule for ExponentialDecay {
    fn config(&self) -> Option<serde_json::Value> {
        Some(crate::saveable::schedule_json(self))
    }
    fn at(&self, step: u64) -> f64 {
        let mut p = step as f64 / self.decay_steps.max(1) as f64;
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate * self.decay_rate.powf(p)
    }
}

/// `values[i]` while `step ≤ boundaries[i]` (and past the last boundary, the last value).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PiecewiseConstantDecay {
    /// Increasing step boundaries.
    pub boundaries: Vec<u64>,
    /// One more value than boundaries.
    pub values: Vec<f64>,
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn config(&self) -> Option<serde_json::Value> {
        Some(crate::saveable::schedule_json(self))
    }
    fn at(&self, step: u64) -> f64 {
        let i = self.boundaries.iter().take_while(|&&b| step > b).count();
        self.values
            .get(i)
            .or(self.values.last())
            .copied()
            .unwrap_or(0.0)
    }
}

/// Cosine decay from `initial` (or, after a linear warmup, from `warmup_target`) down to
/// `alpha` times that over `decay_steps`.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct CosineDecay {
    /// The rate at step 0.
    pub initial_learning_rate: f64,
    /// Steps of the cosine part.
    pub decay_steps: u64,
    /// The final rate as a fraction of the peak.
    pub alpha: f64,
    /// The peak reached by a linear warmup, if any.
    pub warmup_target: Option<f64>,
    /// Steps of the warmup.
    pub warmup_steps: u64,
}

impl CosineDecay {
    /// Cosine decay over `decay_steps` with no warmup and alpha 0.
    pub fn new(initial: f64, decay_steps: u64) -> Self {
        CosineDecay {
            initial_learning_rate: initial,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0,
        }
    }
}

impl LearningRateSchedule for CosineDecay {
    fn config(&self) -> Option<serde_json::Value> {
        Some(crate::saveable::schedule_json(self))
    }
    fn at(&self, step: u64) -> f64 {
        let decay = |peak: f64, s: u64| {
            let done = s.min(self.decay_steps) as f64 / self.decay_steps.max(1) as f64;
            let cosine = 0.5 * (1.0 + (std::f64::consts::PI * done).cos());
            peak * ((1.0 - self.alpha) * cosine + self.alpha)
        };
        match self.warmup_target {
            Some(target) if step < self.warmup_steps => {
                self.initial_learning_rate
                    + (target - self.initial_learning_rate) * step as f64 / self.warmup_steps as f64
            }
            Some(target) => decay(target, step - self.warmup_steps),
            None => decay(self.initial_learning_rate, step),
        }
    }
}
