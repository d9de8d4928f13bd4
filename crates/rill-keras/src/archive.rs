//! The `.keras` zip: `metadata.json`, `config.json`, `model.weights.h5` and the files below
//! `assets/`, each read with its size checked before anything is allocated.

use crate::error::{format, Error, Result};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The largest JSON part read (a config of tens of thousands of layers fits).
const MAX_JSON: u64 = 64 << 20;
/// The largest weights file read.
const MAX_WEIGHTS: u64 = 4 << 30;
/// Room for the zip's own headers and directory around the three parts.
const ZIP_OVERHEAD: u64 = 1 << 20;

/// The most the files of a model's assets folder may hold together (vocabularies).
const MAX_ASSETS: u64 = 256 << 20;

/// Files below `assets/`, by their path below it (a lookup layer's `vocabulary.txt`).
pub(crate) type Assets = std::collections::BTreeMap<String, Vec<u8>>;

/// The parts of a `.keras` file Rill reads.
pub(crate) struct Parts {
    pub config: serde_json::Value,
    pub weights: Vec<u8>,
    pub assets: Assets,
}

/// The most a deflate stream can expand: 258 bytes from about two bits, 1032 to 1.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Reads entry `name` of at most `limit` bytes from an archive of `archive_len` bytes. The size
/// its header claims is checked against what the archive can hold before any memory is
/// reserved for it, the reservation is fallible (an error, not an abort, where memory is
/// capped), and what the entry really holds must be what its header claimed.
fn part<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
    archive_len: u64,
) -> Result<Vec<u8>> {
    let entry = zip
        .by_name(name)
        .map_err(|e| format(format!("no {name} in the archive ({e})")))?;
    let claimed = entry.size();
    let packed = entry.compressed_size();
    if claimed > limit {
        return Err(format(format!(
            "{name} declares {claimed} bytes, more than the {limit} read"
        )));
    }
    if packed > archive_len {
        return Err(format(format!(
            "{name} declares {packed} stored bytes in an archive of {archive_len}"
        )));
    }
    let most = match entry.compression() {
        zip::CompressionMethod::Stored => packed,
        _ => packed.saturating_mul(MAX_DEFLATE_RATIO).saturating_add(64),
    };
    if claimed > most {
        return Err(format(format!(
            "{name} declares {claimed} bytes from {packed} stored bytes, more than they can hold: the archive's header is wrong"
        )));
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(claimed as usize)
        .map_err(|_| format(format!("{name}: no memory for its {claimed} bytes")))?;
    entry
        .take(claimed + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format(format!("{name}: {e}")))?;
    if bytes.len() as u64 != claimed {
        return Err(format(format!(
            "{name} holds {} bytes where the archive's header declares {claimed}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Reads the parts from a `.keras` file's bytes.
pub(crate) fn read(bytes: &[u8]) -> Result<Parts> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format(format!("not a zip archive ({e})")))?;
    let len = bytes.len() as u64;
    let config = part(&mut zip, "config.json", MAX_JSON, len)?;
    let config =
        serde_json::from_slice(&config).map_err(|e| format(format!("config.json: {e}")))?;
    let weights = part(&mut zip, "model.weights.h5", MAX_WEIGHTS, len)?;
    let names: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with("assets/") && !n.ends_with('/'))
        .map(String::from)
        .collect();
    let mut assets = Assets::new();
    let mut left = MAX_ASSETS;
    for name in names {
        let bytes = part(&mut zip, &name, left, len)?;
        left -= bytes.len() as u64;
        assets.insert(name["assets/".len()..].to_string(), bytes);
    }
    Ok(Parts {
        config,
        weights,
        assets,
    })
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
