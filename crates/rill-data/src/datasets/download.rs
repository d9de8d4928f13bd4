use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// The largest file accepted from a download (the MNIST family's largest is 26 MB).
const MAX_DOWNLOAD: u64 = 256 << 20;

/// Downloads `url` to `target` only if its SHA-256 is `sha256`; writes a temporary file and
/// renames it, so a failed or corrupt download never leaves a file behind.
pub(crate) fn fetch_verified(url: &str, sha256: &str, target: &Path) -> Result<()> {
    let err = |message: String| Error::Download {
        url: url.to_string(),
        message,
    };
    eprintln!("Downloading {url}");
    let response = ureq::get(url).call().map_err(|e| err(e.to_string()))?;
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_DOWNLOAD + 1)
        .read_to_end(&mut body)
        .map_err(|e| err(e.to_string()))?;
    if body.len() as u64 > MAX_DOWNLOAD {
        return Err(err(format!("larger than {MAX_DOWNLOAD} bytes")));
    }
    let got = hex(&Sha256::digest(&body));
    if got != sha256 {
        return Err(err(format!(
            "SHA-256 mismatch: expected {sha256}, got {got}; the file was not kept"
        )));
    }
    let tmp = target.with_extension("part");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, target)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(target, e)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
