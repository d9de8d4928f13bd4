//! Fashion-MNIST (Zalando, MIT licence): 70,000 28×28 grayscale images of clothing in 10 classes.

use super::{DataSource, IdxDataset, Splits};
use crate::Result;

/// The dataset's files, checksums, source and class names.
pub const DATASET: IdxDataset = IdxDataset {
    name: "fashion-mnist",
    base_url: Some("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
    files: [
        (
            "train-images-idx3-ubyte.gz",
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        ),
        (
            "train-labels-idx1-ubyte.gz",
            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ),
        (
            "t10k-images-idx3-ubyte.gz",
            "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ),
        (
            "t10k-labels-idx1-ubyte.gz",
            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        ),
    ],
    class_names: &[
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
};

/// Loads the train and test splits from the standard locations (Keras' `load_data()`).
///
/// ```no_run
/// let data = rill_data::datasets::fashion_mnist::load_data()?;
/// assert_eq!(data.train.images.shape(), &[60000, 28, 28]);
/// # Ok::<(), rill_data::Error>(())
/// ```
pub fn load_data() -> Result<Splits> {
    DataSource::standard().load(&DATASET)
}
