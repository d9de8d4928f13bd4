//! The IDX reader on good, truncated, corrupt and mismatched files.

use flate2::{write::GzEncoder, Compression};
use rill_core::Tensor;
use rill_data::idx::{encode_idx_u8, parse_idx, read_idx};
use std::io::Write;

fn sample() -> Vec<u8> {
    encode_idx_u8(&Tensor::from_vec((0..24u8).collect(), &[2, 3, 4]).unwrap()).unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[test]
fn reads_raw_and_gzipped_files() {
    for bytes in [sample(), gzip(&sample())] {
        let t = parse_idx(&bytes).unwrap();
        assert_eq!(t.shape(), &[2, 3, 4]);
        assert_eq!(t.to_vec::<u8>().unwrap(), (0..24).collect::<Vec<u8>>());
    }
}

#[test]
fn reads_other_dtypes_big_endian() {
    let mut b = vec![0, 0, 0x0C, 1, 0, 0, 0, 2];
    b.extend_from_slice(&(-5i32).to_be_bytes());
    b.extend_from_slice(&70000i32.to_be_bytes());
    assert_eq!(
        parse_idx(&b).unwrap().to_vec::<i32>().unwrap(),
        vec![-5, 70000]
    );
    let mut f = vec![0, 0, 0x0D, 1, 0, 0, 0, 1];
    f.extend_from_slice(&1.5f32.to_be_bytes());
    assert_eq!(parse_idx(&f).unwrap().to_vec::<f32>().unwrap(), vec![1.5]);
}

#[test]
fn broken_files_give_errors_that_say_what_is_wrong() {
    let good = sample();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "truncated: 0 bytes, too short for an IDX header"),
        (
            vec![1, 2, 8, 1],
            "not an IDX file: magic number starts with 0x01 0x02, expected 0x00 0x00",
        ),
        (
            vec![0, 0, 0x42, 1, 0, 0, 0, 1, 0],
            "unknown IDX dtype code 0x42",
        ),
        (
            good[..10].to_vec(),
            "truncated header: 3 dimensions need 16 bytes, found 10",
        ),
        (
            good[..30].to_vec(),
            "truncated data: dimensions [2, 3, 4] need 24 bytes after the header, found 14",
        ),
        (
            [good.clone(), vec![9]].concat(),
            "trailing data: dimensions [2, 3, 4] need 24 bytes after the header, found 25",
        ),
        (
            vec![
                0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
            ],
            "too large",
        ),
        (vec![0x1f, 0x8b, 1, 2, 3], "not a valid gzip stream"),
        (gzip(&good)[..20].to_vec(), "not a valid gzip stream"),
    ];
    for (bytes, want) in cases {
        let err = parse_idx(&bytes).unwrap_err();
        assert!(err.contains(want), "expected '{want}', got '{err}'");
    }
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken-idx3-ubyte");
    std::fs::write(&p, [0u8, 0, 8]).unwrap();
    let e = read_idx(&p).unwrap_err().to_string();
    assert!(
        e.starts_with(&p.display().to_string()) && e.contains("truncated"),
        "{e}"
    );
    let missing = read_idx(dir.path().join("nope")).unwrap_err().to_string();
    assert!(missing.contains("nope"), "{missing}");
}

/// Every input `cargo fuzz run idx` ever crashed on (see fuzz/README.md) must now give a clean
/// result or error.
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(t) = parse_idx(&bytes) {
            assert_eq!(t.numel(), t.shape().iter().product::<usize>());
        }
        n += 1;
    }
    assert!(n >= 1);
    // The first crash: a zero dimension beside huge ones.
    let mut b = vec![0, 0, 0x08, 3];
    for d in [0x0f00_8b00u32, 0, 0x0100_0000] {
        b.extend_from_slice(&d.to_be_bytes());
    }
    assert!(parse_idx(&b).unwrap_err().contains("too large"));
}
