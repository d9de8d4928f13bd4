use crate::Result;
use rill_core::{Generator, Tensor};

/// A source of `(features, labels)` batches that `fit` can run epochs over. Tensors get one
/// through [`Sequential::fit`](crate::Sequential::fit); `rill-data`'s `Dataset` implements it.
pub trait Batches: Sync {
    /// The batches of one epoch (a source may reshuffle per epoch).
    fn batches(
        &self,
        epoch: usize,
    ) -> Box<dyn Iterator<Item = Result<(Tensor, Tensor)>> + Send + '_>;
    /// Batches per epoch, when known (for the progress bar).
    fn steps(&self) -> Option<usize>;
}

/// A source of input batches (no labels) for [`Sequential::predict_batches`](crate::Sequential::predict_batches).
pub trait InputBatches: Sync {
    /// The input batches, in order.
    fn input_batches(&self) -> Box<dyn Iterator<Item = Result<Tensor>> + Send + '_>;
}

/// Batches gathered by index from whole tensors, reshuffled each epoch from a seed.
pub(crate) struct TensorBatches {
    pub x: Tensor,
    pub y: Tensor,
    pub batch_size: usize,
    pub shuffle: bool,
    pub seed: u64,
}

impl TensorBatches {
    fn len(&self) -> usize {
        self.x.shape()[0]
    }
}

/// The samples at `idx`, gathered into one batch.
fn gather_rows(t: &Tensor, idx: &[i64]) -> Result<Tensor> {
    let idx = Tensor::from_vec(idx.to_vec(), &[idx.len()])?;
    Ok(t.index_select(0, &idx)?)
}

impl Batches for TensorBatches {
    fn batches(
        &self,
        epoch: usize,
    ) -> Box<dyn Iterator<Item = Result<(Tensor, Tensor)>> + Send + '_> {
        let n = self.len();
        let bs = self.batch_size.max(1);
        if !self.shuffle {
            // In order: each batch is a view, no copy.
            return Box::new((0..n.div_ceil(bs)).map(move |b| {
                let (s, e) = (b * bs, ((b + 1) * bs).min(n));
                Ok((self.x.slice(0, s, e)?, self.y.slice(0, s, e)?))
            }));
        }
        let mut order: Vec<i64> = (0..n as i64).collect();
        Generator::new(self.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .shuffle(&mut order);
        Box::new((0..n.div_ceil(bs)).map(move |b| {
            let idx = &order[b * bs..((b + 1) * bs).min(n)];
            let _batch = rill_core::profile::scope("batch");
            Ok((gather_rows(&self.x, idx)?, gather_rows(&self.y, idx)?))
        }))
    }
    fn steps(&self) -> Option<usize> {
        Some(self.len().div_ceil(self.batch_size.max(1)))
    }
}
