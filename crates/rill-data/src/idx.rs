//! The IDX format of MNIST and Fashion-MNIST: a magic number (two zero bytes, a dtype code, the
//! number of dimensions), big-endian u32 dimensions, then the big-endian elements. Gzipped files
//! are recognised by their own magic bytes.
//!
//! Every check fails with an error that names the file and the problem; a truncated, corrupt or
//! oversized file is never a panic.

use crate::{Error, Result};
use rill_core::Tensor;
use std::io::Read;
use std::path::Path;

/// The largest element count accepted (guards allocation against a corrupt header).
const MAX_ELEMENTS: usize = 1 << 31;

/// Reads an IDX file (gzipped or raw) into a tensor: u8 for unsigned-byte data, i32 for int,
/// f32 and f64 for floats; signed bytes and shorts are widened to i32.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_idx(&raw).map_err(|m| Error::format(path, m))
}

/// Un-gzips `raw` when it starts with the gzip magic bytes.
pub(crate) fn maybe_gunzip(raw: &[u8]) -> std::result::Result<std::borrow::Cow<'_, [u8]>, String> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        // The gzip trailer states the size (mod 2³²): reserving it up front avoids growing the
        // buffer by doubling, which for the training images would peak at twice their size.
        // Deflate expands at most 1032-fold, which bounds what a corrupt trailer can reserve.
        let stated = raw
            .len()
            .checked_sub(4)
            .map(|at| u32::from_le_bytes(raw[at..].try_into().expect("4 bytes")) as usize)
            .unwrap_or(0);
        let mut out = Vec::with_capacity(stated.min(raw.len().saturating_mul(1032)));
        flate2::read::GzDecoder::new(raw)
            .read_to_end(&mut out)
            .map_err(|e| format!("not a valid gzip stream: {e}"))?;
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(raw))
    }
}

/// Parses IDX bytes (gzipped or raw). Errors are messages without the file name.
pub fn parse_idx(raw: &[u8]) -> std::result::Result<Tensor, String> {
    let bytes = maybe_gunzip(raw)?;
    let b = &bytes[..];
    if b.len() < 4 {
        return Err(format!(
            "truncated: {} bytes, too short for an IDX header",
            b.len()
        ));
    }
    if b[0] != 0 || b[1] != 0 {
        return Err(format!(
            "not an IDX file: magic number starts with {:#04x} {:#04x}, expected 0x00 0x00",
            b[0], b[1]
        ));
    }
    let (code, ndim) = (b[2], b[3] as usize);
    let elem = match code {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        other => {
            return Err(format!(
            "unknown IDX dtype code {other:#04x} (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)"
        ))
        }
    };
    let header = 4 + 4 * ndim;
    if b.len() < header {
        return Err(format!(
            "truncated header: {ndim} dimensions need {header} bytes, found {}",
            b.len()
        ));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(b[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize)
        .collect();
    // Bounded even when a zero dimension makes the count 0: the others still size the layout
    // (a crash found by `cargo fuzz run idx`).
    let extent = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))
        .filter(|&n| n <= MAX_ELEMENTS);
    let count = extent
        .map(|_| dims.iter().product::<usize>())
        .ok_or_else(|| format!("dimensions {dims:?} are too large"))?;
    let body = &b[header..];
    let need = count * elem;
    if body.len() != need {
        return Err(format!(
            "{} data: dimensions {dims:?} need {need} bytes after the header, found {}",
            if body.len() < need {
                "truncated"
            } else {
                "trailing"
            },
            body.len()
        ));
    }
    let t = match code {
        0x08 => {
            // Bytes stay bytes: reuse the decompressed buffer rather than copy the body out.
            let body = match bytes {
                std::borrow::Cow::Owned(mut v) => {
                    v.drain(..header);
                    v
                }
                std::borrow::Cow::Borrowed(b) => b[header..].to_vec(),
            };
            Tensor::from_vec(body, &dims)
        }
        0x09 => Tensor::from_vec(body.iter().map(|&v| v as i8 as i32).collect(), &dims),
        0x0B => Tensor::from_vec(
            body.chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]) as i32)
                .collect(),
            &dims,
        ),
        0x0C => Tensor::from_vec(
            body.chunks_exact(4)
                .map(|c| i32::from_be_bytes(c.try_into().expect("4")))
                .collect(),
            &dims,
        ),
        0x0D => Tensor::from_vec(
            body.chunks_exact(4)
                .map(|c| f32::from_be_bytes(c.try_into().expect("4")))
                .collect(),
            &dims,
        ),
        _ => Tensor::from_vec(
            body.chunks_exact(8)
                .map(|c| f64::from_be_bytes(c.try_into().expect("8")))
                .collect(),
            &dims,
        ),
    };
    t.map_err(|e| e.to_string())
}

/// Encodes a u8 tensor as raw IDX bytes (for tests and tools).
pub fn encode_idx_u8(t: &Tensor) -> Result<Vec<u8>> {
    let mut out = vec![0, 0, 0x08, t.rank() as u8];
    for &d in t.shape() {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(&t.data::<u8>()?);
    Ok(out)
}
