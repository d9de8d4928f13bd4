//! Reading a whole model file without trusting it: only regular files, and never more than
//! the caller's limit, so a path to `/dev/zero`, a FIFO or a file grown past any real model
//! gives an error instead of reading until memory runs out.

use std::io::{self, Read};
use std::path::Path;

/// The bytes of the regular file at `path`, refused (before reading) when it holds more than
/// `max_bytes`, and read no further than the length the file system reports.
pub fn read_bounded(path: &Path, max_bytes: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let len = meta.len();
    if len > max_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes, more than the {max_bytes} a model file of this kind may hold"),
        ));
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(len as usize)
        .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e.to_string()))?;
    // A file that grows while it is read stops at the length checked above.
    file.take(len).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_oversized_files_are_refused_and_files_read_whole() {
        #[cfg(unix)]
        {
            let e = read_bounded(Path::new("/dev/zero"), 1 << 30).unwrap_err();
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.bin");
        std::fs::write(&p, [7u8; 100]).unwrap();
        assert_eq!(read_bounded(&p, 100).unwrap(), [7u8; 100]);
        let e = read_bounded(&p, 99).unwrap_err();
        assert!(e.to_string().contains("100 bytes, more than the 99"), "{e}");
    }
}
