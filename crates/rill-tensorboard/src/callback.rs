//! Keras' `TensorBoard` callback: per-epoch (and optionally per-batch) curves, weight
//! histograms and images, and the model graph, in `log_dir/train` and `log_dir/validation`.

use crate::event_writer::EventWriter;
use crate::keras_graph::keras_model_json;
use rill_nn::callbacks::{BatchEnd, Callback};
use rill_nn::{Error, Logs, Model, Result};
use std::path::PathBuf;

/// How often batch-level curves are written (Keras' `update_freq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateFreq {
    /// Only per epoch (Keras' default, `"epoch"`).
    Epoch,
    /// `batch_loss`, `batch_accuracy`, … (the epoch's running values, as Keras writes them)
    /// after every `n` training steps (`"batch"` is `Every(1)`).
    Every(usize),
}

/// Writes what `fit` does as TensorBoard logs, with Keras' tag names: `epoch_loss`,
/// `epoch_accuracy`, …, `epoch_learning_rate` in `train/`; the validation values as
/// `epoch_*` and `evaluation_*_vs_iterations` in `validation/`; `batch_*` when asked;
/// `<layer>/<weight>/histogram` (and `/image`) every `histogram_freq` epochs; the graph as
/// tag `keras`; with `profile_batch`, a Chrome trace of every op of the chosen steps. Each
/// run gets new event files; they are flushed every epoch.
///
/// ```no_run
/// use rill_nn::prelude::*;
/// use rill_tensorboard::TensorBoard;
/// let tb = TensorBoard::new("out/logs/run1").histogram_freq(1).write_images(true);
/// let config = FitConfig::default().epochs(5).callback(tb);
/// // then: model.fit((&x, &y), config)? and `tensorboard --logdir out/logs`
/// ```
#[derive(Debug)]
pub struct TensorBoard {
    log_dir: PathBuf,
    histogram_freq: usize,
    write_graph: bool,
    write_images: bool,
    update_freq: UpdateFreq,
    writers: Option<(EventWriter, EventWriter)>,
    /// Training steps since the run began: the x axis of batch curves.
    steps: u64,
    /// Steps (from 1, inclusive) whose ops are traced.
    profile_batch: Option<(u64, u64)>,
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::Config(format!("TensorBoard: {what}: {e}"))
}

impl TensorBoard {
    /// Logs under `log_dir`, per epoch, with the graph (Keras' defaults).
    pub fn new(log_dir: impl Into<PathBuf>) -> Self {
        TensorBoard {
            log_dir: log_dir.into(),
            histogram_freq: 0,
            write_graph: true,
            write_images: false,
            update_freq: UpdateFreq::Epoch,
            writers: None,
            steps: 0,
            profile_batch: None,
        }
    }
    /// Traces every op of training steps `first..=last` (counted from 1 over the run) and
    /// writes the trace as Chrome's Trace Event JSON to
    /// `log_dir/plugins/profile/<time>/<host>.trace.json.gz`, which Perfetto
    /// (ui.perfetto.dev) and `chrome://tracing` open.
    pub fn profile_batch(mut self, first: u64, last: u64) -> Self {
        self.profile_batch = (first >= 1 && last >= first).then_some((first, last));
        self
    }

    fn write_trace(&self) -> Result<()> {
        let (_, events) = rill_core::profile::take_with_trace();
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let dir = self.log_dir.join("plugins/profile").join(secs.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| io_error("profile", e))?;
        let path = dir.join(format!("{}.trace.json.gz", crate::event_writer::hostname()));
        let file = std::fs::File::create(&path).map_err(|e| io_error("profile", e))?;
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        std::io::Write::write_all(
            &mut gz,
            rill_core::profile::chrome_trace_json(&events).as_bytes(),
        )
        .and_then(|_| gz.finish().map(|_| ()))
        .map_err(|e| io_error(&path.display().to_string(), e))
    }
    /// Weight histograms every `epochs` epochs (0: never).
    pub fn histogram_freq(mut self, epochs: usize) -> Self {
        self.histogram_freq = epochs;
        self
    }
    /// Whether to write the model graph.
    pub fn write_graph(mut self, on: bool) -> Self {
        self.write_graph = on;
        self
    }
    /// Whether to write weights as images too (with the histograms).
    pub fn write_images(mut self, on: bool) -> Self {
        self.write_images = on;
        self
    }
    /// How often batch-level curves are written.
    pub fn update_freq(mut self, f: UpdateFreq) -> Self {
        self.update_freq = f;
        self
    }

    fn writers(&mut self) -> Result<&mut (EventWriter, EventWriter)> {
        self.writers
            .as_mut()
            .ok_or_else(|| Error::Config("TensorBoard: used outside fit".into()))
    }

    fn log_weights(&mut self, epoch: u64, model: &Model) -> Result<()> {
        let images = self.write_images;
        let (train, _) = self.writers()?;
        for (name, v) in model.named_variables() {
            let value = v.value();
            let values = value.to_f64_vec();
            train
                .histogram(&format!("{name}/histogram"), &values, epoch)
                .map_err(|e| io_error("histogram", e))?;
            if images {
                if let Some((pixels, h, w)) = weight_image(value.shape(), &values) {
                    train
                        .image(&format!("{name}/image"), &pixels, h, w, epoch)
                        .map_err(|e| io_error("image", e))?;
                }
            }
        }
        Ok(())
    }
}

/// A weight as a grayscale image, as Keras draws them: a vector as one row, a matrix with
/// its longer side across, the kernels of a convolution on one channel side by side (one
/// pixel apart); values stretched from their minimum (black) to maximum (white). Other
/// weights (convolutions over several channels) are not drawn, as in Keras.
fn weight_image(shape: &[usize], values: &[f64]) -> Option<(Vec<u8>, usize, usize)> {
    let (lo, hi) = crate::event_writer::value_range(values);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let gray = |v: f64| (((v - lo) / span) * 255.0).round().clamp(0.0, 255.0) as u8;
    if let [kh, kw, 1, filters] = *shape {
        // HWIO: kernel f's pixel (y, x) is values[(y * kw + x) * filters + f].
        let w = filters * (kw + 1) - 1;
        let mut pixels = vec![0u8; kh * w];
        for f in 0..filters {
            for y in 0..kh {
                for x in 0..kw {
                    pixels[y * w + f * (kw + 1) + x] = gray(values[(y * kw + x) * filters + f]);
                }
            }
        }
        return Some((pixels, kh, w));
    }
    let (h, w, transpose) = match *shape {
        [n] => (1, n, false),
        [r, c] if r > c => (c, r, true),
        [r, c] => (r, c, false),
        _ => return None,
    };
    let pixels = (0..h * w)
        .map(|i| {
            let (y, x) = (i / w, i % w);
            gray(if transpose {
                values[x * h + y]
            } else {
                values[i]
            })
        })
        .collect();
    Some((pixels, h, w))
}

impl Callback for TensorBoard {
    fn on_train_begin(&mut self, model: &mut Model) -> Result<()> {
        let train = EventWriter::create(self.log_dir.join("train"))
            .map_err(|e| io_error(&self.log_dir.join("train").display().to_string(), e))?;
        let val = EventWriter::create(self.log_dir.join("validation"))
            .map_err(|e| io_error(&self.log_dir.join("validation").display().to_string(), e))?;
        self.writers = Some((train, val));
        self.steps = 0;
        if self.profile_batch.is_some_and(|(first, _)| first == 1) {
            rill_core::profile::enable_trace();
        }
        if self.write_graph {
            match model.get_config() {
                Ok(config) => {
                    let json = keras_model_json(&config).to_string();
                    let (train, _) = self.writers()?;
                    train
                        .plugin_text("keras", "graph_keras_model", b"1", &json, 0)
                        .map_err(|e| io_error("graph", e))?;
                }
                // A custom layer without a config: the curves matter more than the drawing.
                Err(e) => eprintln!("TensorBoard: the graph is not written: {e}"),
            }
        }
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        _step: usize,
        batch: &BatchEnd,
        model: &mut Model,
    ) -> Result<()> {
        self.steps += 1;
        if let Some((first, last)) = self.profile_batch {
            if self.steps + 1 == first {
                rill_core::profile::enable_trace();
            } else if self.steps == last {
                self.write_trace()?;
            }
        }
        let UpdateFreq::Every(n) = self.update_freq else {
            return Ok(());
        };
        if self.steps.is_multiple_of(n.max(1) as u64) {
            let step = self.steps;
            let logs = batch.logs(model);
            let (train, _) = self.writers()?;
            for (name, &value) in &logs {
                train
                    .scalar(&format!("batch_{name}"), value, step)
                    .map_err(|e| io_error(name, e))?;
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<()> {
        let (epoch, steps) = (epoch as u64, self.steps);
        let lr = model.optimizer().map(|o| o.learning_rate());
        let (train, val) = self.writers()?;
        for (name, &value) in logs {
            let write = match name.strip_prefix("val_") {
                Some(v) => val
                    .scalar(&format!("epoch_{v}"), value, epoch)
                    .and_then(|_| {
                        val.scalar(&format!("evaluation_{v}_vs_iterations"), value, steps)
                    }),
                None => train.scalar(&format!("epoch_{name}"), value, epoch),
            };
            write.map_err(|e| io_error(name, e))?;
        }
        if let Some(lr) = lr {
            train
                .scalar("epoch_learning_rate", lr, epoch)
                .map_err(|e| io_error("learning rate", e))?;
        }
        if self.histogram_freq > 0 && epoch.is_multiple_of(self.histogram_freq as u64) {
            self.log_weights(epoch, model)?;
        }
        let (train, val) = self.writers()?;
        train.flush().map_err(|e| io_error("flush", e))?;
        val.flush().map_err(|e| io_error("flush", e))
    }

    fn on_train_end(&mut self, _model: &mut Model) -> Result<()> {
        if let Some((mut train, mut val)) = self.writers.take() {
            train.flush().map_err(|e| io_error("flush", e))?;
            val.flush().map_err(|e| io_error("flush", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::weight_image;

    #[test]
    fn weights_are_drawn_as_keras_draws_them() {
        // A [3, 2] kernel is drawn 2 × 3, transposed: pixel (y, x) is value (x, y).
        let (px, h, w) = weight_image(&[3, 2], &[0.0, 5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!((h, w), (2, 3));
        assert_eq!(px, [0, 51, 102, 255, 204, 153]);
        // Two 2×2 kernels on one channel, side by side with a black gap.
        let hwio: Vec<f64> = (0..8).map(f64::from).collect();
        let (px, h, w) = weight_image(&[2, 2, 1, 2], &hwio).unwrap();
        assert_eq!((h, w), (2, 5));
        let g = |v: f64| (v / 7.0 * 255.0).round() as u8;
        assert_eq!(
            px,
            [g(0.), g(2.), 0, g(1.), g(3.), g(4.), g(6.), 0, g(5.), g(7.)]
        );
        assert!(weight_image(&[3, 3, 4, 8], &[0.0; 288]).is_none());
    }
}
