//! `rill::zoo`'s residual network and its training recipe: the network's shape, the recipe's
//! checks, that it learns and is reproducible from its seed, and that the trained network
//! saved as a probability model (as `rill train --model resnet` saves it) loads and predicts
//! the same.

use rill::datasets::Split;
use rill::prelude::*;
use rill::zoo::{fashion_mnist_resnet, fashion_mnist_resnet_large, Recipe};

/// The first `n` images and labels of a split.
fn head(s: &Split, n: usize) -> Split {
    Split {
        images: s.images.slice(0, 0, n).unwrap(),
        labels: s.labels.slice(0, 0, n).unwrap(),
    }
}

#[test]
fn the_residual_network_has_the_documented_layers() {
    let m = fashion_mnist_resnet().unwrap();
    assert_eq!(m.output_shape(), Some(vec![10]));
    let kinds: Vec<&str> = m.layers().iter().map(|(_, l)| l.kind()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "Conv2D").count(), 4);
    assert_eq!(
        kinds.iter().filter(|k| **k == "BatchNormalization").count(),
        4
    );
    // Convolutions without biases: 9·1·32 + 9·32·64 + 2·9·64·64; four BatchNormalizations
    // (γ, β trainable); Dense 3136 → 256 → 10.
    let trainable: usize = m
        .trainable_variables()
        .iter()
        .map(|v| v.value().numel())
        .sum();
    assert_eq!(
        trainable,
        9 * 32
            + 9 * 32 * 64
            + 2 * 9 * 64 * 64
            + 2 * (32 + 64 + 64 + 64)
            + 3136 * 256
            + 256
            + 256 * 10
            + 10
    );
}

#[test]
fn the_large_residual_network_has_the_documented_layers() {
    let m = fashion_mnist_resnet_large().unwrap();
    assert_eq!(m.output_shape(), Some(vec![10]));
    let kinds: Vec<&str> = m.layers().iter().map(|(_, l)| l.kind()).collect();
    let count = |kind: &str| kinds.iter().filter(|k| **k == kind).count();
    assert_eq!(count("Conv2D"), 8);
    assert_eq!(count("BatchNormalization"), 8);
    assert_eq!(count("GlobalAveragePooling2D"), 1);
    let trainable: usize = m
        .trainable_variables()
        .iter()
        .map(|v| v.value().numel())
        .sum();
    let convolutions = 9 * (32 + 32 * 32 + 32 * 64 + 2 * 64 * 64 + 64 * 128 + 2 * 128 * 128);
    let normalizations = 2 * (32 + 32 + 64 + 64 + 64 + 128 + 128 + 128);
    assert_eq!(trainable, convolutions + normalizations + 128 * 10 + 10);
}

#[test]
fn a_recipe_with_impossible_numbers_is_refused() {
    let mut m = fashion_mnist_resnet().unwrap();
    let bad = [
        Recipe {
            epochs: 0,
            ..Recipe::fashion_mnist_fast()
        },
        Recipe {
            warmup_fraction: 1.0,
            ..Recipe::fashion_mnist_fast()
        },
        Recipe {
            label_smoothing: -0.1,
            ..Recipe::fashion_mnist_fast()
        },
        Recipe {
            peak_learning_rate: f64::NAN,
            ..Recipe::fashion_mnist_fast()
        },
    ];
    for r in bad {
        let e = r.compile(&mut m, 1000).unwrap_err().to_string();
        assert!(e.starts_with("Recipe:"), "{e}");
    }
}

/// Two epochs on 3,000 images, shifted and mirrored: well above chance, the same history twice
/// from one seed, and the learning rate back at zero after the last step.
#[test]
fn the_recipe_learns_reproducibly() {
    let data = rill::datasets::fashion_mnist::load_data().unwrap();
    let (train, test) = (head(&data.train, 3000), head(&data.test, 1000));
    let recipe = Recipe {
        epochs: 2,
        batch_size: 64,
        crop_padding: 2,
        ..Recipe::fashion_mnist_fast()
    };
    let run = || {
        set_seed(3);
        let mut m = fashion_mnist_resnet().unwrap();
        let fit = FitConfig::default().seed(3).verbose(Verbosity::Silent);
        let history = recipe.fit(&mut m, &train, Some(&test), fit).unwrap();
        (m, history)
    };
    let (mut m, h1) = run();
    let (_, h2) = run();
    assert_eq!(h1.history, h2.history, "the same seed gives the same run");
    let accuracy = *h1.history["val_accuracy"].last().unwrap();
    assert!(accuracy > 0.6, "test accuracy after two epochs: {accuracy}");
    let lr = m.optimizer().unwrap().learning_rate();
    assert!(lr.abs() < 1e-12, "learning rate after the last step: {lr}");
    // The recipe compiled for one-hot targets; evaluate takes them from `evaluation_data`.
    let logs = m
        .evaluate(recipe.evaluation_data(&test).unwrap(), 250)
        .unwrap();
    assert_eq!(logs["accuracy"], accuracy);
    check_accuracy_with_mirror_images(&m, &recipe, &test);

    // Saved as `rill train` saves it (the network inside a Sequential with a Softmax) and
    // loaded back: the same probabilities.
    let probabilities = Sequential::new(vec![Box::new(m), Box::new(Softmax::new())])
        .with_input_shape(&[28, 28])
        .unwrap();
    let (x, _) = recipe.evaluation_data(&test).unwrap();
    let want = probabilities
        .predict(&x, 250)
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet.rill");
    rill::io::save_model(&probabilities, &path).unwrap();
    let loaded = rill::load_model(&path).unwrap();
    assert_eq!(
        loaded.predict(&x, 250).unwrap().to_vec::<f32>().unwrap(),
        want
    );
}

/// `Recipe::accuracy` against a count made here: without mirroring, the plain accuracy; with
/// it, the argmax of the two views' summed softmax, the mirror images built pixel by pixel.
fn check_accuracy_with_mirror_images(m: &Model, recipe: &Recipe, test: &Split) {
    let (x, _) = recipe.evaluation_data(test).unwrap();
    let labels: Vec<i64> = test.labels.to_dtype(DType::I64).unwrap().to_vec().unwrap();
    let n = labels.len();
    let pixels = x.to_vec::<f32>().unwrap();
    let mirrored: Vec<f32> = (0..n * 28 * 28)
        .map(|i| {
            let (image, y, col) = (i / 784, i % 784 / 28, i % 28);
            pixels[image * 784 + y * 28 + (27 - col)]
        })
        .collect();
    let mirrored = Tensor::from_vec(mirrored, &[n, 28, 28]).unwrap();
    let scores = |x: &Tensor| -> Vec<f32> {
        let s = m.predict(x, 250).unwrap().softmax(-1).unwrap();
        s.to_vec().unwrap()
    };
    let (one, other) = (scores(&x), scores(&mirrored));
    let argmax = |row: &[f32]| (0..10).fold(0, |b, c| if row[c] > row[b] { c } else { b });
    let count = |views: &dyn Fn(usize, usize) -> f32| {
        let right = (0..n)
            .filter(|&i| {
                let row: Vec<f32> = (0..10).map(|c| views(i, c)).collect();
                argmax(&row) as i64 == labels[i]
            })
            .count();
        right as f64 / n as f64
    };
    let plain = count(&|i, c| one[i * 10 + c]);
    let both = count(&|i, c| one[i * 10 + c] + other[i * 10 + c]);
    let mirror_only = count(&|i, c| other[i * 10 + c]);
    // The two views disagree on some images, so a wrong mirror (or none) would show.
    assert_ne!(
        plain, mirror_only,
        "the mirror images are scored differently"
    );
    let with_flips = Recipe {
        flip: true,
        ..recipe.clone()
    };
    assert!((with_flips.accuracy(m, test).unwrap() - both).abs() < 1e-12);
    let without = Recipe {
        flip: false,
        ..recipe.clone()
    };
    assert!((without.accuracy(m, test).unwrap() - plain).abs() < 1e-12);
}
