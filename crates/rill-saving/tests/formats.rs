//! The one door: every extension saves in its own format and loads back with the same outputs,
//! whoever reads it; unknown extensions are errors that list the known ones.

use rill_nn::prelude::*;
use rill_saving::{load_model, save_model, ModelFiles, ModelFormat};

fn trained() -> Model {
    rill_core::set_seed(2);
    let mut m = Sequential::new(vec![
        Box::new(Dense::new(8).activation(Activation::Relu)) as Box<dyn Layer>,
        Box::new(Dense::new(3)),
    ])
    .with_input_shape(&[4])
    .unwrap();
    m.compile(Adam::default(), MeanSquaredError::default(), &[])
        .unwrap();
    m
}

/// 32 samples of 4 features and 3 targets, to fit `trained()` on.
fn regression_data() -> (Tensor, Tensor) {
    let mut g = rill_core::Generator::new(1);
    (
        g.uniform(&[32, 4], -1.0, 1.0, DType::F32).unwrap(),
        g.uniform(&[32, 3], -1.0, 1.0, DType::F32).unwrap(),
    )
}

fn outputs(m: &Model) -> Vec<f32> {
    let x = rill_core::Generator::new(5)
        .uniform(&[6, 4], -1.0, 1.0, DType::F32)
        .unwrap();
    m.predict(&x, 6).unwrap().to_vec::<f32>().unwrap()
}

#[test]
fn every_extension_saves_its_format_and_loads_back_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained();
    for (name, format) in [
        ("m.rill", ModelFormat::Rill),
        ("m.keras", ModelFormat::Keras),
        ("m.onnx", ModelFormat::Onnx),
        ("M.KERAS", ModelFormat::Keras),
    ] {
        let path = dir.path().join(name);
        assert_eq!(ModelFormat::from_path(&path).unwrap(), format);
        save_model(&model, &path).unwrap();
        assert_eq!(
            outputs(&load_model(&path).unwrap()),
            outputs(&model),
            "{name}"
        );
        // Written in the format the extension names: that format's own reader opens it.
        let own = match format {
            ModelFormat::Rill => rill_io::load_model(&path)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            ModelFormat::Keras => rill_keras::load_model(&path)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            ModelFormat::Onnx => rill_onnx::load(&path)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            ModelFormat::KerasWeights => unreachable!(),
        };
        own.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // A compiled model keeps how it was compiled in `.rill` and `.keras`, as `model.save` does.
    assert!(load_model(dir.path().join("m.rill")).unwrap().is_compiled());
}

#[test]
fn weights_go_through_the_same_door() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained();
    let fresh = || {
        rill_core::set_seed(9);
        Sequential::new(vec![
            Box::new(Dense::new(8).activation(Activation::Relu)) as Box<dyn Layer>,
            Box::new(Dense::new(3)),
        ])
        .with_input_shape(&[4])
        .unwrap()
    };
    for name in ["w.weights.h5", "w.rill", "w.bin", "m.keras"] {
        let path = dir.path().join(name);
        if name == "m.keras" {
            model.save(&path).unwrap();
        } else {
            model.save_weights(&path).unwrap();
        }
        let other = fresh();
        assert_ne!(outputs(&other), outputs(&model));
        other.load_weights(&path).unwrap();
        assert_eq!(outputs(&other), outputs(&model), "{name}");
    }
    let e = load_model(dir.path().join("w.weights.h5"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("holds weights only") && e.contains("load_weights"),
        "{e}"
    );
}

#[test]
fn an_extension_no_format_has_is_an_error_listing_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["m.h5", "model", "m.pt", ".keras"] {
        let path = dir.path().join(name);
        let e = save_model(&trained(), &path).unwrap_err().to_string();
        assert!(
            e.contains(name)
                && e.contains(
                    ".rill (rill), .keras (keras), .onnx (onnx), .weights.h5 (keras-weights)"
                ),
            "{name}: {e}"
        );
        assert!(!path.exists(), "{name}: nothing is written");
        assert!(load_model(&path).is_err());
    }
    assert_eq!(ModelFormat::from_name("KERAS"), Some(ModelFormat::Keras));
    assert_eq!(
        ModelFormat::from_name("keras-weights"),
        Some(ModelFormat::KerasWeights)
    );
    assert_eq!(ModelFormat::from_name("h5"), None);
}

#[test]
fn a_checkpoint_writes_the_format_its_path_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt-{epoch:02d}.keras");
    let mut model = trained();
    let (x, y) = regression_data();
    let checkpoint = rill_saving::checkpoint(path.to_str().unwrap())
        .unwrap()
        .monitor("loss");
    model
        .fit(
            (&x, &y),
            FitConfig::default()
                .epochs(2)
                .verbose(Verbosity::Silent)
                .callback(checkpoint),
        )
        .unwrap();
    let second = dir.path().join("ckpt-02.keras");
    let loaded = rill_keras::load_model(&second).unwrap();
    assert_eq!(outputs(&loaded), outputs(&model));
    let e = rill_saving::checkpoint("best.h5").unwrap_err().to_string();
    assert!(
        e.contains("best.h5: the extension names no model format"),
        "{e}"
    );
}

#[test]
fn the_preludes_checkpoint_saves_what_model_save_saves() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = trained();
    let (x, y) = regression_data();
    let rill = dir.path().join("last.rill");
    let keras = dir.path().join("last.keras");
    model
        .fit(
            (&x, &y),
            FitConfig::default()
                .epochs(1)
                .verbose(Verbosity::Silent)
                .callback(rill_saving::ModelCheckpoint::new(rill.to_str().unwrap()).monitor("loss"))
                .callback(
                    rill_saving::ModelCheckpoint::new(keras.to_str().unwrap()).monitor("loss"),
                ),
        )
        .unwrap();
    // Compiled, with the optimizer's state, as `model.save` writes a compiled model: the
    // checkpoint evaluates and resumes at once.
    let resumed = rill_io::load_model(&rill).unwrap();
    assert!(resumed.is_compiled());
    assert_eq!(outputs(&resumed), outputs(&model));
    assert_eq!(
        outputs(&rill_keras::load_model(&keras).unwrap()),
        outputs(&model)
    );
}
