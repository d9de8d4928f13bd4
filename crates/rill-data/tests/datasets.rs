//! Dataset loading: the real Fashion-MNIST files, the search order, mismatched files, and a
//! verified download from a loopback HTTP server. Environment variables are process-wide, so
//! everything that sets them runs in one test, in order.

use flate2::{write::GzEncoder, Compression};
use rill_core::Tensor;
use rill_data::datasets::{fashion_mnist, DataSource, IdxDataset};
use rill_data::idx::encode_idx_u8;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A tiny dataset in the MNIST layout: `n` 2×2 images, labels `i % 3`.
fn tiny_files(n: usize, labels: usize) -> Vec<(String, Vec<u8>)> {
    let img = |n: usize| {
        gz(&encode_idx_u8(
            &Tensor::from_vec((0..n * 4).map(|v| v as u8).collect(), &[n, 2, 2]).unwrap(),
        )
        .unwrap())
    };
    let lab = |n: usize| {
        gz(&encode_idx_u8(
            &Tensor::from_vec((0..n).map(|v| (v % 3) as u8).collect(), &[n]).unwrap(),
        )
        .unwrap())
    };
    vec![
        ("train-images-idx3-ubyte.gz".into(), img(n)),
        ("train-labels-idx1-ubyte.gz".into(), lab(labels)),
        ("t10k-images-idx3-ubyte.gz".into(), img(2)),
        ("t10k-labels-idx1-ubyte.gz".into(), lab(2)),
    ]
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn tiny_dataset(name: &'static str, files: &[(String, Vec<u8>)]) -> IdxDataset {
    let f = |i: usize| {
        (
            leak(files[i].0.clone()),
            leak(hex(&Sha256::digest(&files[i].1))),
        )
    };
    IdxDataset {
        name,
        base_url: None,
        files: [f(0), f(1), f(2), f(3)],
        class_names: &["a", "b", "c"],
    }
}

fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (n, b) in files {
        std::fs::write(dir.join(n), b).unwrap();
    }
}

/// Serves `files` under `/<dataset>/<file>` on loopback for `requests` requests; returns the base URL.
fn serve(files: Vec<(String, Vec<u8>)>, dataset: &'static str, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let req = String::from_utf8_lossy(&buf[..n]);
            let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
            let body = files
                .iter()
                .find(|(f, _)| path == format!("/{dataset}/{f}"))
                .map(|(_, b)| b.clone());
            let (status, body) = match body {
                Some(b) => ("200 OK", b),
                None => ("404 Not Found", b"missing".to_vec()),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn real_fashion_mnist_loads_with_its_shapes_and_classes() {
    let d = DataSource::from_dir(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/fashion-mnist"),
    )
    .load(&fashion_mnist::DATASET)
    .unwrap();
    assert_eq!(d.train.images.shape(), &[60000, 28, 28]);
    assert_eq!(d.train.labels.shape(), &[60000]);
    assert_eq!(d.test.images.shape(), &[10000, 28, 28]);
    assert_eq!(d.class_names[9], "Ankle boot");
    let mut counts = [0usize; 10];
    for &l in d.train.labels.data::<u8>().unwrap().iter() {
        counts[l as usize] += 1;
    }
    assert_eq!(
        counts, [6000; 10],
        "Fashion-MNIST has 6,000 training images per class"
    );
    // The first training image is an ankle boot (label 9), as in the Keras tutorial.
    assert_eq!(d.train.labels.data::<u8>().unwrap()[0], 9);
}

#[test]
fn search_order_mismatches_and_verified_download() {
    let root = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_CACHE_HOME", root.path().join("cache"));
    let files = tiny_files(5, 5);
    let ds = tiny_dataset("tiny-set", &files);

    // Nothing anywhere and no URL: a clear error listing the folders searched.
    std::env::remove_var("RILL_DATASETS_URL");
    let e = DataSource::standard().load(&ds).unwrap_err().to_string();
    assert!(
        e.contains("tiny-set: not found in") && e.contains("no verified download"),
        "{e}"
    );

    // RILL_DATA_DIR wins over the cache.
    write_all(
        &root.path().join("cache/rill/datasets/tiny-set"),
        &tiny_files(7, 7),
    );
    write_all(&root.path().join("env/tiny-set"), &files);
    std::env::set_var("RILL_DATA_DIR", root.path().join("env"));
    assert_eq!(
        DataSource::standard()
            .load(&ds)
            .unwrap()
            .train
            .images
            .shape(),
        &[5, 2, 2]
    );
    std::env::remove_var("RILL_DATA_DIR");
    assert_eq!(
        DataSource::standard()
            .load(&ds)
            .unwrap()
            .train
            .images
            .shape(),
        &[7, 2, 2],
        "then the user cache"
    );
    std::fs::remove_dir_all(root.path().join("cache/rill/datasets/tiny-set")).unwrap();

    // 5 images but 4 labels: the error names the label file and both counts.
    let bad = root.path().join("bad");
    write_all(&bad, &tiny_files(5, 4));
    let e = DataSource::from_dir(&bad)
        .load(&ds)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("train-labels-idx1-ubyte.gz")
            && e.contains("holds 5 images but this file holds 4 labels"),
        "{e}"
    );

    // Download from loopback: a file whose checksum differs is refused and not kept...
    let mut tampered = files.clone();
    tampered[0].1 = tiny_files(6, 6)[0].1.clone();
    std::env::set_var("RILL_DATASETS_URL", serve(tampered, "tiny-set", 1));
    let e = DataSource::standard().load(&ds).unwrap_err().to_string();
    assert!(
        e.contains("SHA-256 mismatch") && e.contains("was not kept"),
        "{e}"
    );
    let cached = root.path().join("cache/rill/datasets/tiny-set");
    assert!(!cached.join("train-images-idx3-ubyte.gz").exists());
    assert!(
        std::fs::read_dir(&cached).unwrap().next().is_none(),
        "no partial file left behind"
    );

    // ...and the real files are fetched, verified, cached and loaded.
    std::env::set_var("RILL_DATASETS_URL", serve(files, "tiny-set", 4));
    let d = DataSource::standard().load(&ds).unwrap();
    assert_eq!(d.train.images.shape(), &[5, 2, 2]);
    assert!(cached.join("t10k-labels-idx1-ubyte.gz").exists());
    // A second load reads the cache; the server has stopped answering.
    assert_eq!(
        DataSource::standard()
            .load(&ds)
            .unwrap()
            .test
            .labels
            .shape(),
        &[2]
    );
    std::env::remove_var("RILL_DATASETS_URL");
}
