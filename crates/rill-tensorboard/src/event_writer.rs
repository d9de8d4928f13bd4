//! An event file: TFRecord framing (length, masked CRC of the length, the `Event` bytes,
//! masked CRC of those), one `Event` per record, the first naming the file's version.

use crate::crc::masked_crc32c;
use crate::proto::{event, histogram, metadata, summary, tensor, Message};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Buckets of a written histogram (TensorBoard's own histogram summaries use 30).
pub const HISTOGRAM_BUCKETS: usize = 30;

/// Files made by this process so far: two writers opened in the same second get two names.
static FILES: AtomicU64 = AtomicU64::new(0);

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// This machine's name, for file names (`localhost` when unknown).
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(['/', '\\']))
        .unwrap_or_else(|| "localhost".into())
}

/// Writes one event file in a run folder (`log_dir/train`, say). Records reach the file
/// whole; [`EventWriter::flush`] hands them to the system, after which a reader (TensorBoard
/// while training runs) sees them and an interrupted run keeps them.
pub struct EventWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl EventWriter {
    /// A new event file in `dir` (made if missing), named as TensorFlow names them:
    /// `events.out.tfevents.<seconds>.<host>.<pid>.<n>`. An existing file is never reused.
    pub fn create(dir: impl AsRef<Path>) -> io::Result<EventWriter> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let name = format!(
            "events.out.tfevents.{}.{}.{}.{}",
            now() as u64,
            hostname(),
            std::process::id(),
            FILES.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let file = File::options().write(true).create_new(true).open(&path)?;
        let mut w = EventWriter {
            out: BufWriter::new(file),
            path,
        };
        let version = Message::new()
            .double(event::WALL_TIME, now())
            .bytes(event::FILE_VERSION, b"brain.Event:2");
        w.record(&version.into_bytes())?;
        w.flush()?;
        Ok(w)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record(&mut self, data: &[u8]) -> io::Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut rec = Vec::with_capacity(data.len() + 16);
        rec.extend_from_slice(&len);
        rec.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
        rec.extend_from_slice(data);
        rec.extend_from_slice(&masked_crc32c(data).to_le_bytes());
        self.out.write_all(&rec)
    }

    /// Writes a `Summary` holding `value` at `step`.
    fn summary(&mut self, step: u64, value: Message) -> io::Result<()> {
        let summary = Message::new().message(summary::VALUE, &value);
        let e = Message::new()
            .double(event::WALL_TIME, now())
            .int(event::STEP, step as i64)
            .message(event::SUMMARY, &summary);
        self.record(&e.into_bytes())
    }

    /// A scalar (a point on a curve).
    pub fn scalar(&mut self, tag: &str, value: f64, step: u64) -> io::Result<()> {
        let v = Message::new()
            .bytes(summary::value::TAG, tag.as_bytes())
            .float(summary::value::SIMPLE_VALUE, value as f32);
        self.summary(step, v)
    }

    /// A histogram of `values` in [`HISTOGRAM_BUCKETS`] equal buckets from their minimum to
    /// their maximum (non-finite values are left out).
    pub fn histogram(&mut self, tag: &str, values: &[f64], step: u64) -> io::Result<()> {
        let v = Message::new()
            .bytes(summary::value::TAG, tag.as_bytes())
            .message(summary::value::HISTO, &histogram_proto(values));
        self.summary(step, v)
    }

    /// A grayscale image, `height × width` bytes row by row, stored as PNG.
    pub fn image(
        &mut self,
        tag: &str,
        pixels: &[u8],
        height: usize,
        width: usize,
        step: u64,
    ) -> io::Result<()> {
        let png = encode_png(pixels, height, width)?;
        let image = Message::new()
            .int(summary::image::HEIGHT, height as i64)
            .int(summary::image::WIDTH, width as i64)
            .int(summary::image::COLORSPACE, 1)
            .bytes(summary::image::ENCODED, &png);
        let v = Message::new()
            .bytes(summary::value::TAG, tag.as_bytes())
            .message(summary::value::IMAGE, &image);
        self.summary(step, v)
    }

    /// A string tensor read by the TensorBoard plugin `plugin` (e.g. a Keras model's JSON for
    /// the graph plugin, `graph_keras_model`).
    pub fn plugin_text(
        &mut self,
        tag: &str,
        plugin: &str,
        content: &[u8],
        text: &str,
        step: u64,
    ) -> io::Result<()> {
        let plugin_data = Message::new()
            .bytes(metadata::PLUGIN_NAME, plugin.as_bytes())
            .bytes(metadata::CONTENT, content);
        let meta = Message::new().message(metadata::PLUGIN_DATA, &plugin_data);
        let t = Message::new()
            .int(tensor::DTYPE, tensor::DT_STRING)
            .message(tensor::SHAPE, &Message::new())
            .bytes(tensor::STRING_VAL, text.as_bytes());
        let v = Message::new()
            .bytes(summary::value::TAG, tag.as_bytes())
            .message(summary::value::METADATA, &meta)
            .message(summary::value::TENSOR, &t);
        self.summary(step, v)
    }

    /// Hands everything written so far to the system.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl std::fmt::Debug for EventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventWriter({})", self.path.display())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        // Nothing to report to; a failure here was (or will be) seen by `flush`.
        let _ = self.out.flush();
    }
}

/// The smallest and largest of `values` (NaN left out; `(∞, −∞)` when there are none).
pub(crate) fn value_range(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// `HistogramProto` for `values`: bucket `i` counts the values up to `bucket_limit[i]` and
/// above the previous limit (the first from the minimum).
fn histogram_proto(values: &[f64]) -> Message {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (min, max) = value_range(&finite);
    let (limits, counts) = if finite.is_empty() {
        (Vec::new(), Vec::new())
    } else if min == max {
        (vec![max], vec![finite.len() as f64])
    } else {
        let width = (max - min) / HISTOGRAM_BUCKETS as f64;
        let mut counts = vec![0.0; HISTOGRAM_BUCKETS];
        for &v in &finite {
            let i = (((v - min) / width) as usize).min(HISTOGRAM_BUCKETS - 1);
            counts[i] += 1.0;
        }
        let limits = (1..=HISTOGRAM_BUCKETS)
            .map(|i| {
                if i == HISTOGRAM_BUCKETS {
                    max
                } else {
                    min + width * i as f64
                }
            })
            .collect();
        (limits, counts)
    };
    let (min, max) = if finite.is_empty() {
        (0.0, 0.0)
    } else {
        (min, max)
    };
    Message::new()
        .double(histogram::MIN, min)
        .double(histogram::MAX, max)
        .double(histogram::NUM, finite.len() as f64)
        .double(histogram::SUM, finite.iter().sum())
        .double(histogram::SUM_SQUARES, finite.iter().map(|v| v * v).sum())
        .packed_doubles(histogram::BUCKET_LIMIT, &limits)
        .packed_doubles(histogram::BUCKET, &counts)
}

fn encode_png(pixels: &[u8], height: usize, width: usize) -> io::Result<Vec<u8>> {
    if pixels.len() != height * width || height == 0 || width == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "an image of {height}×{width} needs that many pixels, found {}",
                pixels.len()
            ),
        ));
    }
    let too_big = |_| io::Error::new(io::ErrorKind::InvalidInput, "image too large for PNG");
    let mut png = Vec::new();
    let mut enc = png::Encoder::new(
        &mut png,
        u32::try_from(width).map_err(too_big)?,
        u32::try_from(height).map_err(too_big)?,
    );
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(io::Error::other)?;
    w.write_image_data(pixels).map_err(io::Error::other)?;
    w.finish().map_err(io::Error::other)?;
    Ok(png)
}
