use super::{
    flush_denormal, option_builders, options_access, slot_of, slots, Optimizer, OptimizerOptions,
    Slots,
};
use crate::{Result, Variable};
#[cfg(target_arch = "x86_64")]
use rill_core::backend::cpu::Isa;
use rill_core::Gradients;
use std::sync::Mutex;

/// Adam (Kingma & Ba) with Keras' defaults: lr 1e-3, β₁ 0.9, β₂ 0.999, ε 1e-7, and Keras' form
/// of the update: `w −= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)`. [`Adam::adamw`] adds decoupled
/// weight decay (Keras' `AdamW`).
#[derive(Debug)]
pub struct Adam {
    /// Shared settings: learning rate, clipping, weight decay.
    pub options: OptimizerOptions,
    /// Decay of the first-moment average.
    pub beta_1: f64,
    /// Decay of the second-moment average.
    pub beta_2: f64,
    /// Added to √v for stability.
    pub epsilon: f64,
    pub(super) m: Slots,
    pub(super) v: Slots,
}

impl Default for Adam {
    fn default() -> Self {
        Adam::new(1e-3)
    }
}

impl Adam {
    /// Adam with learning rate `lr` and the other defaults.
    pub fn new(lr: f64) -> Self {
        Adam {
            options: OptimizerOptions::new(lr),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            m: Slots::new(),
            v: Slots::new(),
        }
    }
    /// AdamW: Adam with decoupled weight decay (Keras' default decay is 0.004).
    pub fn adamw(lr: f64, weight_decay: f64) -> Self {
        Adam::new(lr).weight_decay(weight_decay)
    }
}

option_builders!(Adam);

/// Adam's update of one variable: large ones in chunks shared with a second core.
fn update(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 4]) {
    let len = w.len();
    if len >= SPLIT_MIN_LEN {
        // Chunks shared with a second core when it is free: a square root and a division per
        // weight make this compute-bound (the tutorial MLP's 784×128 kernel: ~85 µs on one).
        let chunk_len = len.div_ceil(CHUNKS).next_multiple_of(16);
        let chunks = Mutex::new(
            w.chunks_mut(chunk_len)
                .zip(g.chunks(chunk_len))
                .zip(m.chunks_mut(chunk_len).zip(v.chunks_mut(chunk_len)))
                .map(Some)
                .collect::<Vec<_>>(),
        );
        return rill_core::backend::cpu::share_chunks(len.div_ceil(chunk_len), |i| {
            let chunk = chunks.lock().unwrap_or_else(|e| e.into_inner())[i].take();
            if let Some(((w, g), (m, v))) = chunk {
                update_on_this_thread(w, g, m, v, k);
            }
        });
    }
    update_on_this_thread(w, g, m, v, k)
}

/// Variables with at least this many weights are updated on two cores, in `CHUNKS` chunks (each
/// a multiple of the widest vector). The calling thread claims them from the first, the helper
/// from the last, so each usually updates one half of a kernel's rows: the half that the same
/// core multiplied and wrote in the products (`rill_core`'s small products split a dense
/// layer's forward product along its depth and its weight gradient by rows, in the same halves),
/// which then never leaves that core's cache.
const SPLIT_MIN_LEN: usize = 1 << 15;
const CHUNKS: usize = 8;

/// One fused pass over a variable, on the widest vectors the CPU has (`rill_core::backend::cpu::isa`,
/// which `RILL_ISA` can cap): the square root and division per element dominate, and 16 lanes do
/// them in half the time of 8; the AVX2 variant gives AVX2-only CPUs 8 lanes instead of the
/// baseline's 4 (not measured on its own: the MLP epoch it is part of moved within noise).
fn update_on_this_thread(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 4]) {
    #[cfg(target_arch = "x86_64")]
    match rill_core::backend::cpu::isa() {
        // SAFETY (both arms): each variant only differs from `update_portable` in being compiled
        // with wider vectors enabled, and `isa()` reports only extensions this CPU executes.
        Isa::Avx512 => return unsafe { update_avx512(w, g, m, v, k) },
        Isa::Avx2 => return unsafe { update_avx2(w, g, m, v, k) },
        Isa::Baseline => {}
    }
    update_portable(w, g, m, v, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update_avx512(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 4]) {
    update_portable(w, g, m, v, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update_avx2(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 4]) {
    update_portable(w, g, m, v, k)
}

#[inline(always)]
fn update_portable(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 4]) {
    let [alpha, b1, b2, eps] = k;
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = flush_denormal(*m + (g - *m) * (1.0 - b1));
        *v = flush_denormal(*v + (g * g - *v) * (1.0 - b2));
        *w -= alpha * *m / (v.sqrt() + eps);
    }
}

/// [`Adam`]'s own hyperparameters, as stored in a compiled model's file (the learning rate and
/// the shared options are stored beside them).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AdamConfig {
    /// See [`Adam`]'s field of this name.
    pub beta_1: f64,
    /// See [`Adam`]'s field of this name.
    pub beta_2: f64,
    /// See [`Adam`]'s field of this name.
    pub epsilon: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        crate::saveable::Saveable::get_config(&Adam::new(1e-3))
    }
}

/// Saved as Keras' `adam`.
impl crate::saveable::Saveable for Adam {
    const NAME: &'static str = "adam";
    type Config = AdamConfig;
    fn get_config(&self) -> AdamConfig {
        AdamConfig {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
        }
    }
    fn from_config(c: AdamConfig) -> Result<Self> {
        Ok(Adam {
            beta_1: c.beta_1,
            beta_2: c.beta_2,
            epsilon: c.epsilon,
            ..Adam::new(1e-3)
        })
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        if self.options.weight_decay > 0.0 {
            "adamw"
        } else {
            "adam"
        }
    }
    options_access!();
    fn hyperparameters(&self) -> serde_json::Value {
        serde_json::Value::Object(crate::saveable::config_json(self))
    }
    fn slots(&self) -> Vec<(&'static str, &Slots)> {
        vec![("m", &self.m), ("v", &self.v)]
    }
    fn slots_mut(&mut self) -> Vec<(&'static str, &mut Slots)> {
        vec![("m", &mut self.m), ("v", &mut self.v)]
    }
    fn apply(&mut self, variables: &[Variable], grads: &Gradients) -> Result<()> {
        slots(&mut self.m, variables, 0.0)?;
        slots(&mut self.v, variables, 0.0)?;
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let (m, v) = (&mut self.m, &mut self.v);
        self.options.step(variables, grads, |id, w, g, lr, t| {
            let t = t as f64;
            let alpha = lr as f64 * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
            update(
                w,
                g,
                slot_of(m, id),
                slot_of(v, id),
                [alpha as f32, b1 as f32, b2 as f32, eps as f32],
            );
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A variable large enough to be shared between two cores gets exactly the update it gets on
    /// one, element for element.
    #[test]
    fn large_variables_shared_between_cores_update_exactly_as_on_one_thread() {
        let n = SPLIT_MIN_LEN + 1234;
        let wave = |s: f32| (0..n).map(|i| ((i as f32) * s).sin()).collect::<Vec<f32>>();
        let (g, k) = (wave(0.37), [1e-3, 0.9, 0.999, 1e-7]);
        let (mut w, mut m, mut v) = (wave(0.11), wave(0.05), wave(0.02));
        v.iter_mut().for_each(|x| *x = x.abs());
        let (mut w1, mut m1, mut v1) = (w.clone(), m.clone(), v.clone());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| update(&mut w, &g, &mut m, &mut v, k));
        update_on_this_thread(&mut w1, &g, &mut m1, &mut v1, k);
        assert_eq!((w, m, v), (w1, m1, v1));
    }
}
