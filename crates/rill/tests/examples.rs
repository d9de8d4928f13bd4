//! Every guide example under `examples/`, run briefly on the real data so that none rots, each
//! checked for what it claims to show.

#[allow(dead_code)]
#[path = "../examples/augmentation_callbacks.rs"]
mod augmentation_callbacks;
#[allow(dead_code)]
#[path = "../examples/custom_layer.rs"]
mod custom_layer;
#[allow(dead_code)]
#[path = "../examples/custom_training_loop.rs"]
mod custom_training_loop;
#[allow(dead_code)]
#[path = "../examples/custom_training_objects.rs"]
mod custom_training_objects;
#[allow(dead_code)]
#[path = "../examples/functional_api.rs"]
mod functional_api;
#[allow(dead_code)]
#[path = "../examples/keras_files.rs"]
mod keras_files;
#[allow(dead_code)]
#[path = "../examples/onnx.rs"]
mod onnx;
#[allow(dead_code)]
#[path = "../examples/predict_image.rs"]
mod predict_image;
#[allow(dead_code)]
#[path = "../examples/recurrent_layers.rs"]
mod recurrent_layers;
#[allow(dead_code)]
#[path = "../examples/serving.rs"]
mod serving;
#[allow(dead_code)]
#[path = "../examples/text_classification.rs"]
mod text_classification;
#[allow(dead_code)]
#[path = "../examples/transfer_learning.rs"]
mod transfer_learning;

use rill::prelude::*;

#[test]
fn functional_api_trains_two_outputs_and_reloads_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let logs = functional_api::run(6000, 2, dir.path()).unwrap();
    assert!(logs["class_accuracy"] > 0.75, "{logs:?}");
    assert!(logs["footwear_accuracy"] > 0.97, "{logs:?}");
    assert!(logs.contains_key("footwear_loss"), "{logs:?}");
}

#[test]
fn a_text_classifier_reads_raw_strings_and_reloads_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (accuracy, diff) = text_classification::run(2000, 4, dir.path()).unwrap();
    assert!(accuracy > 0.95, "{accuracy}");
    assert_eq!(
        diff, 0.0,
        "the reloaded .keras model reads text as the trained one"
    );
}

#[test]
fn recurrent_layers_learn_order_through_padding_and_reload_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (accuracy, diff) = recurrent_layers::run(2000, 6, dir.path()).unwrap();
    assert!(accuracy > 0.9, "{accuracy}");
    assert_eq!(
        diff, 0.0,
        "the reloaded .keras model predicts as the trained one"
    );
}

#[test]
fn custom_layer_trains_and_reloads_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (accuracy, diff) = custom_layer::run(6000, 2, dir.path()).unwrap();
    assert!(accuracy > 0.75, "{accuracy}");
    assert_eq!(
        diff, 0.0,
        "the reloaded model predicts exactly as the trained one"
    );
}

#[test]
fn a_custom_loss_schedule_and_metric_save_load_and_train_on_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (test, same) = custom_training_objects::run(6000, 2, dir.path()).unwrap();
    assert!(same, "the reloaded model trained on differently");
    // Untrained, no image would be classified right with a probability of 0.8.
    assert!(test["confident_and_right"] > 0.25, "{test:?}");
    assert!(test.contains_key("loss"), "{test:?}");
}

#[test]
fn keras_files_evaluate_as_keras_and_fine_tune() {
    let dir = tempfile::tempdir().unwrap();
    let (before, after) = keras_files::run(6000, dir.path()).unwrap();
    // Keras' own model.evaluate gave 0.8776 (crates/rill-keras/tests/fixtures/tutorial.json).
    assert_eq!(format!("{before:.4}"), "0.8776");
    assert!(after > 0.85, "{after}");
    let back = rill::load_model(dir.path().join("tutorial-tuned.keras")).unwrap();
    assert_eq!(back.count_params(), 101_770);
}

#[test]
fn onnx_exports_exactly_and_fine_tunes_a_pytorch_model() {
    let dir = tempfile::tempdir().unwrap();
    let (diff, accuracy) = onnx::run(6000, 2, dir.path()).unwrap();
    assert!(diff <= 1e-6, "{diff}");
    assert!(accuracy > 0.75, "{accuracy}");
    // The fine-tuned PyTorch model reloads from its .rill file with the ONNX layers.
    let reloaded = rill::load_model(dir.path().join("torch_cnn.rill")).unwrap();
    assert!(reloaded.summary().contains("OnnxConv"));
}

#[test]
fn custom_training_loop_learns() {
    let history = custom_training_loop::run(6000, 2).unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[1] > 0.75, "{history:?}");
}

#[test]
fn transfer_learning_keeps_the_frozen_base_and_learns_the_new_task() {
    let (frozen, tuned, unchanged) = transfer_learning::run(6000, 3000, 3).unwrap();
    assert!(unchanged, "the frozen base's weights changed during fit");
    // Five classes: chance is 0.2.
    assert!(frozen > 0.6, "{frozen}");
    assert!(tuned > 0.6, "{tuned}");
}

#[test]
fn augmentation_callbacks_write_keras_named_checkpoints_and_a_csv_log() {
    let dir = tempfile::tempdir().unwrap();
    let (history, checkpoints) = augmentation_callbacks::run(6000, 3, dir.path()).unwrap();
    assert!(
        history.last("val_accuracy").unwrap() > 0.7,
        "{:?}",
        history.history
    );
    assert!(!checkpoints.is_empty());
    for c in &checkpoints {
        let name = c.file_name().unwrap().to_str().unwrap();
        // best-{epoch:02d}-{val_loss:.3f}.rill
        let (epoch, loss) = name["best-".len()..name.len() - ".rill".len()]
            .split_once('-')
            .unwrap();
        assert_eq!(epoch.len(), 2, "{name}");
        assert_eq!(loss.split_once('.').unwrap().1.len(), 3, "{name}");
    }
    let csv = std::fs::read_to_string(dir.path().join("training.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("val_loss"), "{csv}");
}

#[test]
fn predict_image_names_the_sample_images() {
    let dir = tempfile::tempdir().unwrap();
    set_seed(9);
    let data = rill::datasets::fashion_mnist::load_data().unwrap();
    let x = data
        .train
        .images
        .to_dtype(DType::F32)
        .unwrap()
        .div_scalar(255.0)
        .unwrap();
    let mut m = rill::zoo::fashion_mnist_mlp().unwrap();
    m.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::from_logits(),
        &[],
    )
    .unwrap();
    m.fit(
        (&x, &data.train.labels),
        FitConfig::default().epochs(1).verbose(Verbosity::Silent),
    )
    .unwrap();
    m.add(Softmax::new()).unwrap(); // probabilities out, as `rill train` saves
    let model = dir.path().join("fashion.rill");
    rill::io::save_model_with_classes(&m, Some(&data.class_names), &model).unwrap();
    let images = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/images");
    for (file, class) in [
        ("ankle_boot.png", "Ankle boot"),
        ("pullover.png", "Pullover"),
        ("trouser.png", "Trouser"),
    ] {
        let (name, p) = predict_image::run(&model, &images.join(file)).unwrap();
        assert_eq!(name, class, "{file}");
        assert!(p > 0.5 && p <= 1.0, "{file}: {p}");
    }
}

#[test]
fn serving_answers_as_the_model_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let (served, local) = serving::run(1, 5, dir.path()).unwrap();
    assert_eq!(served.len(), 5);
    for (s, l) in served.iter().zip(&local) {
        assert_eq!(s.len(), 10);
        for (a, b) in s.iter().zip(l) {
            assert!((a - b).abs() < 1e-6, "{s:?} vs {l:?}");
        }
    }
}
