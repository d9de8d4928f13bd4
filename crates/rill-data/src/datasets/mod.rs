//! Built-in datasets, found locally or downloaded once and verified.
//!
//! Where a dataset is looked for, in order:
//! 1. an explicit folder ([`DataSource::from_dir`]) or the `RILL_DATA_DIR` environment variable
//!    (`$RILL_DATA_DIR/<name>/`);
//! 2. the repository's `data/<name>/` (when run from a checkout);
//! 3. the user cache, `~/.cache/rill/datasets/<name>/`;
//! 4. Debian's `/usr/share/datasets/<name>/`;
//! 5. a download from the dataset's official source into the user cache, each file verified by
//!    SHA-256 before it is kept.

mod download;
pub mod fashion_mnist;
mod locate;
pub mod mnist;

pub use locate::{DataSource, IdxDataset};

use rill_core::Tensor;

/// One split of an image classification dataset.
#[derive(Debug, Clone)]
pub struct Split {
    /// Images, u8, `[N, height, width]`.
    pub images: Tensor,
    /// Labels, u8, `[N]`.
    pub labels: Tensor,
}

/// Train and test splits with class names, as Keras' `load_data()` returns them.
#[derive(Debug, Clone)]
pub struct Splits {
    /// 60,000 training samples for the MNIST family.
    pub train: Split,
    /// 10,000 test samples.
    pub test: Split,
    /// The name of each class, by label.
    pub class_names: Vec<String>,
}
