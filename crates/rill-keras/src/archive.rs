//! The `.keras` zip: `metadata.json`, `config.json` and `model.weights.h5`, each read with its
//! size checked before anything is allocated.

use crate::error::{format, Error, Result};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The largest JSON part read (a config of tens of thousands of layers fits).
const MAX_JSON: u64 = 64 << 20;
/// The largest weights file read.
const MAX_WEIGHTS: u64 = 4 << 30;
/// Room for the zip's own headers and directory around the three parts.
const ZIP_OVERHEAD: u64 = 1 << 20;

/// The three parts of a `.keras` file.
pub(crate) struct Parts {
    pub config: serde_json::Value,
    pub weights: Vec<u8>,
}

fn part<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, name: &str, limit: u64) -> Result<Vec<u8>> {
    let entry = zip
        .by_name(name)
        .map_err(|e| format(format!("no {name} in the archive ({e})")))?;
    if entry.size() > limit {
        return Err(format(format!(
            "{name} declares {} bytes, more than the {limit} read",
            entry.size()
        )));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format(format!("{name}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(format(format!(
            "{name} is larger than the {limit} bytes read"
        )));
    }
    Ok(bytes)
}

/// Reads the parts from a `.keras` file's bytes.
pub(crate) fn read(bytes: &[u8]) -> Result<Parts> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format(format!("not a zip archive ({e})")))?;
    let config = part(&mut zip, "config.json", MAX_JSON)?;
    let config =
        serde_json::from_slice(&config).map_err(|e| format(format!("config.json: {e}")))?;
    let weights = part(&mut zip, "model.weights.h5", MAX_WEIGHTS)?;
    Ok(Parts { config, weights })
}

/// Reads a file, refusing one larger than any `.keras` file read.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    // Only a regular file, and no more than its parts may hold.
    rill_io::read_bounded(path, MAX_WEIGHTS + 2 * MAX_JSON + ZIP_OVERHEAD).map_err(io)
}

/// Writes the parts as a `.keras` zip (stored, as Keras writes them), atomically.
pub(crate) fn write(path: &Path, metadata: &str, config: &str, weights: &[u8]) -> Result<()> {
    let zip_error = |e: zip::result::ZipError| format(format!("writing the archive: {e}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(weights.len() as u64 >= u32::MAX as u64);
    for (name, bytes) in [
        ("metadata.json", metadata.as_bytes()),
        ("config.json", config.as_bytes()),
        ("model.weights.h5", weights),
    ] {
        zip.start_file(name, options).map_err(zip_error)?;
        zip.write_all(bytes)
            .map_err(|e| format(format!("writing the archive: {e}")))?;
    }
    let bytes = zip.finish().map_err(zip_error)?.into_inner();
    rill_io::write_atomically(path, &bytes).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}
