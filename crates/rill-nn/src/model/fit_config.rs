use super::progress::Verbosity;
use crate::callbacks::Callback;
use rill_core::{Batches, Data};

/// The options of [`Model::fit`](crate::Model::fit), with Keras' defaults.
///
/// ```
/// use rill_nn::FitConfig;
/// let cfg = FitConfig::default().epochs(10).batch_size(64).validation_split(0.1);
/// assert_eq!(cfg.epochs, 10);
/// ```
pub struct FitConfig {
    /// Samples per gradient step (32).
    pub batch_size: usize,
    /// Passes over the data (1): training ends after epoch number `epochs`.
    pub epochs: usize,
    /// The epoch to start at (0), for resuming an earlier run.
    pub initial_epoch: usize,
    /// Fraction of the data, taken from the end before shuffling, held out for validation.
    pub validation_split: f64,
    /// Explicit validation data (takes precedence over `validation_split`).
    pub validation_data: Option<(Data, Data)>,
    /// Validation batches from a source such as a `Dataset` (takes precedence over both).
    pub validation_batches: Option<Box<dyn Batches + Send>>,
    /// Reshuffle the training samples every epoch (true), from `seed`.
    pub shuffle: bool,
    /// Seed of the shuffle order.
    pub seed: u64,
    /// Progress output.
    pub verbose: Verbosity,
    /// Hooks run during training.
    pub callbacks: Vec<Box<dyn Callback>>,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            batch_size: 32,
            epochs: 1,
            initial_epoch: 0,
            validation_split: 0.0,
            validation_data: None,
            validation_batches: None,
            shuffle: true,
            seed: 0,
            verbose: Verbosity::Auto,
            callbacks: Vec::new(),
        }
    }
}

impl FitConfig {
    /// Sets the batch size.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    /// Sets the number of epochs.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// Starts at epoch `e` (the epochs before it counted as done).
    pub fn initial_epoch(mut self, e: usize) -> Self {
        self.initial_epoch = e;
        self
    }
    /// Holds out the last `fraction` of the samples for validation.
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }
    /// Validates on `(x, y)` after each epoch (tensors, lists or maps, as `fit` takes them).
    pub fn validation_data(mut self, x: impl Into<Data>, y: impl Into<Data>) -> Self {
        self.validation_data = Some((x.into(), y.into()));
        self
    }
    /// Validates on every batch of `data` (e.g. a `Dataset`) after each epoch.
    pub fn validation_batches(mut self, data: impl Batches + Send + 'static) -> Self {
        self.validation_batches = Some(Box::new(data));
        self
    }
    /// Turns per-epoch shuffling on or off.
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }
    /// Seeds the shuffle.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the progress output.
    pub fn verbose(mut self, v: Verbosity) -> Self {
        self.verbose = v;
        self
    }
    /// Adds a callback.
    pub fn callback(mut self, c: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(c));
        self
    }
}
