//! The tutorial itself (examples/fashion_mnist.rs), run for one epoch on the real data: it must
//! reach 0.80 test accuracy, write every picture as a valid PNG of the expected size, and
//! write TensorBoard logs.

#[allow(dead_code)]
#[path = "../examples/fashion_mnist.rs"]
mod tutorial;

use clap::Parser;

#[test]
fn one_epoch_of_the_tutorial_trains_and_draws_every_picture() {
    let dir = tempfile::tempdir().unwrap();
    let args = tutorial::Args::parse_from([
        "fashion_mnist",
        "--epochs",
        "1",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let report = tutorial::run(args).unwrap();
    assert!(
        report.test_accuracy >= 0.80,
        "test accuracy after one epoch: {}",
        report.test_accuracy
    );
    let expected = [
        ("train_images.png", (800, 840)),
        ("training_curves.png", (1120, 420)),
        ("prediction_0.png", (400, 240)),
        ("prediction_12.png", (400, 240)),
        ("predictions.png", (1200, 1040)),
        ("confusion_matrix.png", (780, 810)),
    ];
    assert_eq!(report.pictures.len(), expected.len());
    for (name, size) in expected {
        let path = dir.path().join(name);
        let img =
            image::open(&path).unwrap_or_else(|e| panic!("{name} is not a readable PNG: {e}"));
        assert_eq!((img.width(), img.height()), size, "{name}");
        // Not a blank canvas: a picture has both dark and light pixels.
        let luma = img.to_luma8();
        assert!(
            luma.pixels().any(|p| p[0] < 64) && luma.pixels().any(|p| p[0] > 192),
            "{name} looks blank"
        );
    }
    for run in ["train", "validation"] {
        let events: Vec<_> = std::fs::read_dir(dir.path().join("logs").join(run))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            events.len() == 1 && events[0].starts_with("events.out.tfevents."),
            "TensorBoard logs for {run}: {events:?}"
        );
    }
    assert!(
        !dir.path().join("train_images.png.tmp").exists(),
        "no temporary file left behind"
    );
}
