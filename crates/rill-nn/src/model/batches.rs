//! Whole tensors as the model cuts them into batches, and their alignment with the model's
//! inputs and outputs (the vocabulary — `Data`, `Batch`, `Batches`, `Feed` — is rill-core's).

use super::Model;
use crate::{Error, Result};
use rill_core::batches::BatchResult;
use rill_core::{Batch, Batches, Data, Generator, Tensor};

impl Model {
    /// `data`'s tensors in the order of `names` (the model's inputs or outputs), checking that
    /// each is there and that nothing else is.
    pub(crate) fn align(
        &self,
        op: &str,
        what: &str,
        names: &[String],
        data: &Data,
    ) -> Result<Vec<Tensor>> {
        match data {
            Data::One(t) if names.len() == 1 => Ok(vec![t.clone()]),
            Data::One(_) => Err(Error::Input(format!(
                "{op}: the model has {} {what}s ({}); give a list or a name→tensor map",
                names.len(),
                names.join(", ")
            ))),
            Data::List(ts) if ts.len() == names.len() => Ok(ts.clone()),
            Data::List(ts) => Err(Error::Input(format!(
                "{op}: the model has {} {what}s ({}), found {} tensors",
                names.len(),
                names.join(", "),
                ts.len()
            ))),
            Data::Named(ts) => {
                if let Some((extra, _)) = ts.iter().find(|(n, _)| !names.contains(n)) {
                    return Err(Error::Input(format!(
                        "{op}: no {what} named '{extra}'; the model's {what}s are {}",
                        names.join(", ")
                    )));
                }
                names
                    .iter()
                    .map(|n| {
                        ts.iter()
                            .find(|(m, _)| m == n)
                            .map(|(_, t)| t.clone())
                            .ok_or_else(|| Error::Input(format!("{op}: missing {what} '{n}'")))
                    })
                    .collect()
            }
        }
    }
}

/// Batches gathered by index from whole tensors, reshuffled each epoch from a seed.
pub(crate) struct TensorBatches {
    pub x: Vec<Tensor>,
    pub y: Vec<Tensor>,
    pub batch_size: usize,
    pub shuffle: bool,
    pub seed: u64,
}

impl TensorBatches {
    fn len(&self) -> usize {
        self.x.first().map_or(0, |t| t.shape()[0])
    }
}

/// The samples at `idx`, gathered into one batch.
fn gather_rows(t: &Tensor, idx: &Tensor) -> rill_core::Result<Tensor> {
    t.index_select(0, idx)
}

/// Samples `[start, end)` of every tensor, as views.
pub(crate) fn slice_all(ts: &[Tensor], start: usize, end: usize) -> rill_core::Result<Vec<Tensor>> {
    ts.iter().map(|t| t.slice(0, start, end)).collect()
}

impl Batches for TensorBatches {
    fn batches(&self, epoch: usize) -> Box<dyn Iterator<Item = BatchResult<Batch>> + Send + '_> {
        let n = self.len();
        let bs = self.batch_size.max(1);
        if !self.shuffle {
            // In order: each batch is a view, no copy.
            return Box::new((0..n.div_ceil(bs)).map(move |b| {
                let (s, e) = (b * bs, ((b + 1) * bs).min(n));
                Ok(Batch::new(
                    Data::List(slice_all(&self.x, s, e)?),
                    Data::List(slice_all(&self.y, s, e)?),
                ))
            }));
        }
        let mut order: Vec<i64> = (0..n as i64).collect();
        Generator::new(self.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .shuffle(&mut order);
        Box::new((0..n.div_ceil(bs)).map(move |b| {
            let idx = &order[b * bs..((b + 1) * bs).min(n)];
            let _batch = rill_core::profile::scope("batch");
            let idx = Tensor::from_vec(idx.to_vec(), &[idx.len()])?;
            let pick = |ts: &[Tensor]| {
                ts.iter()
                    .map(|t| gather_rows(t, &idx))
                    .collect::<rill_core::Result<Vec<_>>>()
            };
            Ok(Batch::new(
                Data::List(pick(&self.x)?),
                Data::List(pick(&self.y)?),
            ))
        }))
    }
    fn steps(&self) -> Option<usize> {
        Some(self.len().div_ceil(self.batch_size.max(1)))
    }
}
