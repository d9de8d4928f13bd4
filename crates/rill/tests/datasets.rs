//! `fit`, `evaluate` and `predict` on `rill-data` datasets: plain, with validation, and with
//! several inputs and outputs.

use rill::prelude::*;
use rill_core::Generator;

/// A stack of `layers` compiled as every test here trains it: Adam, logits, accuracy.
fn classifier(layers: Vec<Box<dyn Layer>>) -> Sequential {
    let mut m = Sequential::new(layers);
    m.compile(
        Adam::new(0.01),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    m
}

#[test]
fn fit_trains_from_a_dataset() {
    rill_core::set_seed(0);
    let mut g = Generator::new(3);
    let x = g.uniform(&[512, 2], -1.0, 1.0, DType::F32).unwrap();
    let y: Vec<i64> = x
        .to_vec::<f32>()
        .unwrap()
        .chunks(2)
        .map(|p| (p[0] + p[1] > 0.0) as i64)
        .collect();
    let y = Tensor::from_vec(y, &[512]).unwrap();
    let ds = Dataset::from_tensor_slices(vec![x, y])
        .unwrap()
        .shuffle(512, 1)
        .batch(32, false)
        .prefetch(2);
    let mut m = classifier(vec![
        Box::new(Dense::new(16).activation(Activation::Relu)),
        Box::new(Dense::new(2)),
    ]);
    let h = m
        .fit(
            &ds,
            FitConfig::default()
                .epochs(15)
                .validation_batches(ds.clone())
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert!(h.last("val_accuracy").unwrap() > 0.95, "{:?}", h.history);
    // predict and evaluate take datasets too; predict uses the first tensor of each element.
    let tx = Tensor::rand_uniform(&[70, 2], -1.0, 1.0, DType::F32).unwrap();
    let inputs = Dataset::from_tensor_slices(vec![tx.clone()])
        .unwrap()
        .batch(32, false);
    let from_ds = m.predict(&inputs, 0).unwrap();
    assert_eq!(from_ds.shape(), &[70, 2]);
    assert_eq!(
        from_ds.to_vec::<f32>().unwrap(),
        m.predict(&tx, 70).unwrap().to_vec::<f32>().unwrap()
    );
    assert!(m.evaluate(&ds, 0).unwrap()["accuracy"] > 0.95);
    // Features alone feed predict, not fit: the error says what is missing.
    let e = m
        .fit(&inputs, FitConfig::default().verbose(Verbosity::Silent))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fit: the data holds inputs without targets"),
        "{e}"
    );
    let e = m.evaluate(&tx, 8).unwrap_err().to_string();
    assert!(
        e.contains("evaluate: the data holds inputs without targets"),
        "{e}"
    );
    // A dataset of the wrong shape is refused per batch with the usual message.
    let bad = Dataset::from_tensor_slices(vec![
        Tensor::zeros(&[4, 3], DType::F32),
        Tensor::zeros(&[4], DType::I64),
    ])
    .unwrap()
    .batch(2, false);
    let e = m
        .fit(&bad, FitConfig::default().verbose(Verbosity::Silent))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("fit: expected input of shape (None, 2), found [2, 3]"),
        "{e}"
    );
}

/// Two seeded runs of `fit` on a dataset augmented in parallel on every core give the same
/// history to the last bit, and the augmentation differs from one epoch to the next.
#[test]
fn augmented_training_is_reproducible_from_its_seeds() {
    let mut g = Generator::new(5);
    let images = g.uniform(&[256, 8, 8], 0.0, 1.0, DType::F32).unwrap();
    let labels: Vec<i64> = images
        .to_vec::<f32>()
        .unwrap()
        .chunks(64)
        .map(|im| (im.iter().sum::<f32>() > 32.0) as i64)
        .collect();
    let labels = Tensor::from_vec(labels, &[256]).unwrap();
    let dataset = || {
        Dataset::from_tensor_slices(vec![images.clone(), labels.clone()])
            .unwrap()
            .shuffle(256, 1)
            // H×W images, straight from the tensor: no channel axis to add first.
            .map_random(9, |mut e, rng| {
                e[0] = augment::random_flip_left_right(&e[0], rng)?;
                e[0] = augment::random_crop_with_padding(&e[0], 1, rng)?;
                Ok(e)
            })
            .batch(32, false)
            .prefetch(2)
    };
    let run = || {
        rill_core::set_seed(2);
        let mut m = classifier(vec![
            Box::new(Flatten::new()),
            Box::new(Dense::new(16).activation(Activation::Relu)),
            Box::new(Dense::new(2)),
        ]);
        let h = m
            .fit(
                &dataset(),
                FitConfig::default()
                    .epochs(3)
                    .validation_batches(dataset())
                    .verbose(Verbosity::Silent),
            )
            .unwrap();
        h.history
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let ds = dataset();
    let first = |epoch| {
        ds.iter_epoch(epoch).next().unwrap().unwrap()[0]
            .to_vec::<f32>()
            .unwrap()
    };
    assert_eq!(first(0), first(0));
    assert_ne!(first(0), first(1), "each epoch draws new augmentations");
}

/// `fit` on a dataset validates on tensors (`validation_data`) or on another dataset, so that
/// callbacks watching `val_loss` work; `validation_split`, which needs tensors to split, is
/// refused before any training.
#[test]
fn fit_on_a_dataset_validates_and_refuses_a_split_up_front() {
    rill_core::set_seed(1);
    let x = Tensor::rand_uniform(&[64, 3], -1.0, 1.0, DType::F32).unwrap();
    let y = Tensor::from_vec((0..64).map(|i| (i % 2) as i64).collect(), &[64]).unwrap();
    let ds = Dataset::from_tensor_slices(vec![x.clone(), y.clone()])
        .unwrap()
        .batch(16, false);
    let mut m = classifier(vec![Box::new(Dense::new(2))]);
    let h = m
        .fit(
            &ds,
            FitConfig::default()
                .epochs(3)
                .validation_data(x.clone(), y.clone())
                .callback(EarlyStopping::new("val_loss", 5))
                .verbose(Verbosity::Silent),
        )
        .unwrap();
    assert_eq!(
        h.get("val_loss").map(<[f64]>::len),
        Some(3),
        "{:?}",
        h.history
    );
    assert!(h.get("val_accuracy").is_some());
    let before = m.get_weights();
    let e = m
        .fit(
            &ds,
            FitConfig::default()
                .validation_split(0.2)
                .verbose(Verbosity::Silent),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("validation_batches"), "{e}");
    assert_eq!(
        m.get_weights()
            .iter()
            .map(|t| t.to_vec::<f32>().unwrap())
            .collect::<Vec<_>>(),
        before
            .iter()
            .map(|t| t.to_vec::<f32>().unwrap())
            .collect::<Vec<_>>(),
        "refused before any step"
    );
}
