//! Pictures refuse inconsistent data with a clear error, and write valid PNGs.

use rill_core::{DType, Tensor};
use rill_viz::{confusion_matrix, image_grid, prediction_grid, training_curves, Prediction, Tile};
use std::collections::BTreeMap;

#[test]
fn inconsistent_inputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = vec!["a".into(), "b".into()];
    let e = confusion_matrix(dir.path().join("c.png"), "t", &[vec![1, 2]], &names)
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected a square matrix"), "{e}");
    let e = training_curves(dir.path().join("h.png"), &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("neither 'loss' nor 'accuracy'"), "{e}");
    let rgb = Tile {
        image: Tensor::zeros(&[4, 4, 3], DType::U8),
        caption: "x".into(),
        color: (0, 0, 0),
    };
    let e = image_grid(dir.path().join("g.png"), "t", &[rgb], 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("expected a [height, width] grayscale image, found shape [4, 4, 3]"),
        "{e}"
    );
    let bad = Prediction {
        image: Tensor::zeros(&[4, 4], DType::F32),
        probabilities: vec![0.5, 0.5],
        label: 2,
    };
    assert!(prediction_grid(dir.path().join("p.png"), "t", &[bad], &names, 1, 1).is_err());
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "failed drawings leave no file"
    );
}

#[test]
fn a_grid_of_float_images_is_a_png_of_the_grid_size() {
    let dir = tempfile::tempdir().unwrap();
    let tiles: Vec<Tile> = (0..6)
        .map(|i| Tile {
            image: Tensor::full(&[8, 8], i as f64 / 5.0, DType::F32),
            caption: format!("tile {i}"),
            color: (0, 0, 0),
        })
        .collect();
    let path = dir.path().join("grid.png");
    image_grid(&path, "six tiles", &tiles, 3).unwrap();
    let img = image::open(&path).unwrap();
    assert_eq!((img.width(), img.height()), (480, 360));
}
