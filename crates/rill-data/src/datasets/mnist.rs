//! MNIST handwritten digits, through the same IDX loader as Fashion-MNIST.
//!
//! No download: this project knows no SHA-256 for the MNIST files that it could verify, and it
//! will not keep an unverified download. Put the four files in `$RILL_DATA_DIR/mnist/`,
//! `~/.cache/rill/datasets/mnist/` or `/usr/share/datasets/mnist/`.

use super::{DataSource, IdxDataset, Splits};
use crate::Result;

/// The dataset's files and class names (no verified checksums, so no download).
pub const DATASET: IdxDataset = IdxDataset {
    name: "mnist",
    base_url: None,
    files: [
        ("train-images-idx3-ubyte.gz", ""),
        ("train-labels-idx1-ubyte.gz", ""),
        ("t10k-images-idx3-ubyte.gz", ""),
        ("t10k-labels-idx1-ubyte.gz", ""),
    ],
    class_names: &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
};

/// Loads the train and test splits from the standard locations.
pub fn load_data() -> Result<Splits> {
    DataSource::standard().load(&DATASET)
}
