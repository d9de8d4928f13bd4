//! Training state survives the file: a resumed run equals an uninterrupted one, bit for bit;
//! ModelCheckpoint and BackupAndRestore.

use rill_core::{set_seed, DType, Tensor};
use rill_io::{load_model, save_model_with, BackupAndRestore, ModelCheckpoint, SaveOptions};
use rill_nn::callbacks::Callback;
use rill_nn::prelude::*;
use rill_nn::Result;

fn data() -> (Tensor, Tensor) {
    set_seed(7);
    let x = Tensor::rand_uniform(&[96, 5], -1.0, 1.0, DType::F32).unwrap();
    let y: Vec<i64> = x
        .to_vec::<f32>()
        .unwrap()
        .chunks(5)
        .map(|r| (r[0] + r[1] * r[2] > 0.0) as i64)
        .collect();
    (x, Tensor::from_vec(y, &[96]).unwrap())
}

fn model() -> Sequential {
    set_seed(8);
    let mut m = Sequential::new(vec![
        Box::new(Dense::new(8).activation(Activation::Relu)),
        Box::new(BatchNormalization::new()),
        Box::new(Dropout::new(0.3)),
        Box::new(Dense::new(2)),
    ])
    .with_input_shape(&[5])
    .unwrap();
    m.compile(
        Adam::new(0.01).clipnorm(1.0),
        SparseCategoricalCrossentropy::from_logits(),
        &["accuracy"],
    )
    .unwrap();
    m
}

fn weights(m: &Sequential) -> Vec<u32> {
    m.get_weights()
        .iter()
        .flat_map(|w| w.to_vec::<f32>().unwrap())
        .map(f32::to_bits)
        .collect()
}

fn fit(
    m: &mut Sequential,
    from: usize,
    to: usize,
    extra: Vec<Box<dyn Callback>>,
) -> rill_nn::Result<rill_nn::History> {
    let (x, y) = data();
    let mut cfg = FitConfig::default()
        .epochs(to)
        .initial_epoch(from)
        .batch_size(16)
        .seed(3)
        .verbose(Verbosity::Silent);
    cfg.callbacks = extra;
    m.fit((&x, &y), cfg)
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let mut straight = model();
    fit(&mut straight, 0, 4, vec![]).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.rill");
    let mut first = model();
    fit(&mut first, 0, 2, vec![]).unwrap();
    save_model_with(
        &first,
        &path,
        &SaveOptions {
            include_optimizer: true,
            class_names: None,
        },
    )
    .unwrap();
    let mut resumed = load_model(&path).unwrap();
    assert_eq!(resumed.optimizer().unwrap().iterations(), 12);
    assert_eq!(resumed.optimizer().unwrap().options().clipnorm, Some(1.0));
    fit(&mut resumed, 2, 4, vec![]).unwrap();
    assert_eq!(weights(&resumed), weights(&straight));
}

/// Fails (as a kill would) after `batches` training steps of epoch `epoch`.
struct Crash {
    epoch: usize,
    batches: usize,
    current: usize,
}

impl Callback for Crash {
    fn on_epoch_begin(&mut self, epoch: usize, _m: &mut Sequential) -> Result<()> {
        self.current = epoch;
        Ok(())
    }
    fn on_train_batch_end(
        &mut self,
        step: usize,
        _batch: &rill_nn::callbacks::BatchEnd,
        _m: &mut Sequential,
    ) -> Result<()> {
        if self.current == self.epoch && step + 1 == self.batches {
            return Err(rill_nn::Error::Config("killed".into()));
        }
        Ok(())
    }
}

#[test]
fn backup_and_restore_resumes_a_killed_run_exactly() {
    let mut straight = model();
    fit(&mut straight, 0, 4, vec![]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup");
    let mut run = model();
    let e = fit(
        &mut run,
        0,
        4,
        vec![
            Box::new(BackupAndRestore::new(&backup)),
            Box::new(Crash {
                epoch: 2,
                batches: 3,
                current: 0,
            }),
        ],
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "killed");
    assert!(backup.join("backup.rill").exists());
    // A new process: a fresh model, the same call. It restarts at epoch 2 and ends identical.
    let mut again = model();
    let h = fit(
        &mut again,
        0,
        4,
        vec![Box::new(BackupAndRestore::new(&backup))],
    )
    .unwrap();
    assert_eq!(h.epochs, 2, "only epochs 3 and 4 ran");
    assert_eq!(weights(&again), weights(&straight));
    assert!(
        !backup.join("backup.rill").exists(),
        "the backup is removed once training completes"
    );
}

#[test]
fn model_checkpoint_keeps_the_best_or_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let best = dir.path().join("best.rill");
    let every = dir.path().join("epoch-{epoch}.rill");
    let mut m = model();
    let (x, y) = data();
    let cfg = FitConfig::default()
        .epochs(3)
        .batch_size(16)
        .validation_split(0.25)
        .verbose(Verbosity::Silent)
        .callback(
            ModelCheckpoint::new(best.to_str().unwrap())
                .monitor("val_accuracy")
                .save_best_only(true),
        )
        .callback(ModelCheckpoint::new(every.to_str().unwrap()));
    let h = m.fit((&x, &y), cfg).unwrap();
    for e in 1..=3 {
        assert!(dir.path().join(format!("epoch-{e}.rill")).exists());
    }
    let accs = h.get("val_accuracy").unwrap();
    let best_epoch = accs
        .iter()
        .enumerate()
        .fold(0, |b, (i, &v)| if v > accs[b] { i } else { b });
    let saved = load_model(&best).unwrap();
    let at_best = load_model(dir.path().join(format!("epoch-{}.rill", best_epoch + 1))).unwrap();
    assert_eq!(
        weights(&saved),
        weights(&at_best),
        "the best file holds the best epoch's weights"
    );
}
