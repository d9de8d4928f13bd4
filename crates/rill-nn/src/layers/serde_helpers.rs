//! Serde forms for the few config fields whose types live in `rill-core` (no serde there).

use rill_core::Padding;
use serde::{Deserialize, Deserializer, Serializer};

/// `Padding` as Keras writes it: `"valid"` or `"same"`.
pub mod padding {
    use super::*;

    /// Writes the Keras name.
    pub fn serialize<S: Serializer>(p: &Padding, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match p {
            Padding::Valid => "valid",
            Padding::Same => "same",
        })
    }
    /// Reads the Keras name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Padding, D::Error> {
        match String::deserialize(d)?.as_str() {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            other => Err(serde::de::Error::custom(format!(
                "padding must be \"valid\" or \"same\", found {other:?}"
            ))),
        }
    }
}

/// A bound on sizes read from a config, checked before anything is allocated: far above any
/// real layer, far below what would exhaust memory when multiplied out.
pub const MAX_DIM: usize = 1 << 24;

/// Checks that every size is in `1..=MAX_DIM`, naming the layer kind and the field.
pub fn check_sizes(kind: &str, field: &str, sizes: &[usize]) -> crate::Result<()> {
    if let Some(bad) = sizes.iter().find(|&&d| d == 0 || d > MAX_DIM) {
        return Err(crate::Error::Config(format!(
            "{kind}: '{field}' must be between 1 and {MAX_DIM}, found {bad}"
        )));
    }
    Ok(())
}

/// The most values one sample may hold in any layer's output (or in a convolution's patch
/// matrix): 64 Mi, 256 MB of f32 — far above real models, far below what a crafted file's
/// shapes could otherwise make each call allocate.
pub const MAX_SAMPLE_VALUES: usize = 1 << 26;

/// The most axes a value may have, the batch axis included: NumPy 2's limit, far above any
/// real model. Shapes come from files, and work per axis (answers, summaries, strides) must
/// stay small.
pub const MAX_RANK: usize = 64;

/// Refuses a per-sample shape with more than `MAX_RANK - 1` axes (the batch axis comes on
/// top), naming the layer kind and what the shape is — without listing its sizes.
pub fn check_rank(kind: &str, what: &str, dims: &[usize]) -> crate::Result<()> {
    if dims.len() < MAX_RANK {
        return Ok(());
    }
    Err(crate::Error::Config(format!(
        "{kind}: {what} has {} axes with the batch axis; Rill's tensors have at most {MAX_RANK}",
        dims.len() + 1
    )))
}

/// Refuses a per-sample shape (or work size) above [`MAX_SAMPLE_VALUES`] or with more axes
/// than [`MAX_RANK`] allows, naming the layer kind and what the shape is.
pub fn check_sample_values(kind: &str, what: &str, dims: &[usize]) -> crate::Result<()> {
    check_rank(kind, what, dims)?;
    match dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) {
        Some(n) if n <= MAX_SAMPLE_VALUES => Ok(()),
        _ => Err(crate::Error::Config(format!(
            "{kind}: {what} of {dims:?} per sample is more than {MAX_SAMPLE_VALUES} values"
        ))),
    }
}
