//! The input pipeline's order, seeding and stages, and images from files and folders.

use rill_core::{DType, Generator, Tensor};
use rill_data::images::{decode_image, image_dataset_from_directory, ColorMode};
use rill_data::{augment, Dataset};

fn numbers(n: usize) -> Dataset {
    let x = Tensor::arange(0.0, n as f64, 1.0, DType::F32)
        .unwrap()
        .reshape(&[n, 1])
        .unwrap();
    let y = Tensor::arange(0.0, n as f64, 1.0, DType::I64).unwrap();
    Dataset::from_tensor_slices(vec![x, y]).unwrap()
}

fn labels(ds: &Dataset, epoch: u64) -> Vec<i64> {
    ds.iter_epoch(epoch)
        .flat_map(|e| e.unwrap()[1].to_vec::<i64>().unwrap())
        .collect()
}

#[test]
fn order_batching_take_skip_repeat() {
    let ds = numbers(10);
    assert_eq!(labels(&ds, 0), (0..10).collect::<Vec<_>>());
    let b = ds.batch(4, false);
    assert_eq!(b.len(), Some(3));
    let shapes: Vec<Vec<usize>> = b.iter().map(|e| e.unwrap()[0].shape().to_vec()).collect();
    assert_eq!(shapes, vec![vec![4, 1], vec![4, 1], vec![2, 1]]);
    assert_eq!(ds.batch(4, true).iter().count(), 2);
    assert_eq!(labels(&ds.skip(3).take(4), 0), vec![3, 4, 5, 6]);
    assert_eq!(
        labels(&ds.take(2).repeat(Some(3)), 0),
        vec![0, 1, 0, 1, 0, 1]
    );
    assert_eq!(ds.take(2).repeat(None).iter().take(7).count(), 7);
}

#[test]
fn shuffle_is_seeded_complete_and_new_each_epoch() {
    let ds = numbers(100).shuffle(100, 7);
    let (a, b) = (labels(&ds, 0), labels(&ds, 0));
    assert_eq!(a, b, "same seed and epoch, same order");
    assert_ne!(a, (0..100).collect::<Vec<_>>(), "shuffled");
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (0..100).collect::<Vec<_>>(),
        "every element exactly once"
    );
    assert_ne!(labels(&ds, 1), a, "a new order each epoch");
    assert_ne!(
        labels(&numbers(100).shuffle(100, 8), 0),
        a,
        "another seed, another order"
    );
    // A buffer of 2 can only emit element 0 or 1 first.
    let local = labels(&numbers(100).shuffle(2, 1), 0);
    assert!(local[0] <= 1);
}

#[test]
fn map_runs_in_parallel_but_keeps_order_and_prefetch_and_cache_replay() {
    let ds = numbers(200)
        .map(|e| Ok(vec![e[0].mul_scalar(2.0)?, e[1].clone()]))
        .prefetch(4);
    let xs: Vec<f32> = ds
        .iter()
        .map(|e| e.unwrap()[0].to_vec::<f32>().unwrap()[0])
        .collect();
    assert_eq!(xs, (0..200).map(|v| 2.0 * v as f32).collect::<Vec<_>>());
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = calls.clone();
    let cached = numbers(20)
        .map(move |e| {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(e)
        })
        .cache();
    assert_eq!(labels(&cached, 0), labels(&cached, 1));
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        20,
        "the second pass replays the cache"
    );
    let failing = numbers(5).map(|e| {
        if e[1].to_vec::<i64>()?[0] == 3 {
            Err(rill_data::Error::Pipeline("bad element".into()))
        } else {
            Ok(e)
        }
    });
    assert!(failing.iter().any(|e| e.is_err()));
}

#[test]
fn augmentations_keep_shape_and_are_seeded() {
    let img = Tensor::arange(0.0, 48.0, 1.0, DType::F32)
        .unwrap()
        .reshape(&[4, 4, 3])
        .unwrap();
    let run = |seed| {
        let mut g = Generator::new(seed);
        let a = augment::random_flip_left_right(&img, &mut g).unwrap();
        let b = augment::random_crop_with_padding(&a, 1, &mut g).unwrap();
        augment::random_translation(&b, 0.25, &mut g).unwrap()
    };
    assert_eq!(run(1).shape(), &[4, 4, 3]);
    assert_eq!(
        run(1).to_vec::<f32>().unwrap(),
        run(1).to_vec::<f32>().unwrap()
    );
    let flips: Vec<bool> = (0..20)
        .map(|s| {
            let f = augment::random_flip_left_right(&img, &mut Generator::new(s)).unwrap();
            f.to_vec::<f32>().unwrap()[0] != 0.0
        })
        .collect();
    assert!(flips.contains(&true) && flips.contains(&false));
    let flipped = (0..20)
        .map(|s| augment::random_flip_left_right(&img, &mut Generator::new(s)).unwrap())
        .find(|f| f.to_vec::<f32>().unwrap()[0] != 0.0)
        .unwrap();
    assert_eq!(
        &flipped.to_vec::<f32>().unwrap()[..3],
        &[9.0, 10.0, 11.0],
        "the first pixel of a flip is the last of its row"
    );
}

#[test]
fn images_decode_resize_and_load_from_class_folders() {
    let dir = tempfile::tempdir().unwrap();
    for (class, shade) in [("cats", 200u8), ("dogs", 50u8)] {
        std::fs::create_dir_all(dir.path().join(class)).unwrap();
        for i in 0..2 {
            let img = image::RgbImage::from_pixel(8, 6, image::Rgb([shade, shade, shade]));
            let ext = if i == 0 { "png" } else { "jpg" };
            img.save(dir.path().join(class).join(format!("{i}.{ext}")))
                .unwrap();
        }
    }
    std::fs::write(dir.path().join("dogs/notes.txt"), "not an image").unwrap();
    let f = image_dataset_from_directory(dir.path(), ColorMode::Grayscale, (3, 4)).unwrap();
    assert_eq!(f.images.shape(), &[4, 3, 4, 1]);
    assert_eq!(f.class_names, vec!["cats", "dogs"]);
    assert_eq!(f.labels.to_vec::<i64>().unwrap(), vec![0, 0, 1, 1]);
    let px = f.images.to_vec::<u8>().unwrap();
    assert!(px[0].abs_diff(200) <= 2 && px[px.len() - 1].abs_diff(50) <= 2);
    let png = std::fs::read(dir.path().join("cats/0.png")).unwrap();
    assert_eq!(
        decode_image(&png, ColorMode::Rgb, None).unwrap().shape(),
        &[6, 8, 3]
    );
    assert!(decode_image(b"garbage", ColorMode::Rgb, None)
        .unwrap_err()
        .contains("not a readable PNG or JPEG"));
}

/// Our PNG and JPEG decoding, colour conversion and resizing against the `image` crate's, on
/// pictures of every PNG colour type we meet (gray, gray + alpha, RGB, RGBA, 16-bit) and a
/// JPEG: the same pixels, give or take rounding (we convert to gray before resizing, it after).
#[test]
fn decoding_and_resizing_match_the_image_crate() {
    let (w, h) = (37u32, 23u32);
    let rgba = image::RgbaImage::from_fn(w, h, |x, y| {
        let v = |k: u32| ((x * 7 + y * 13 + k * 61 + (x * y) % 17) % 256) as u8;
        image::Rgba([v(0), v(1), v(2), v(3)])
    });
    let source = image::DynamicImage::ImageRgba8(rgba);
    let encoded = |img: image::DynamicImage, format: image::ImageFormat| {
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    };
    let png = image::ImageFormat::Png;
    let files = [
        ("gray PNG", encoded(source.to_luma8().into(), png)),
        (
            "gray+alpha PNG",
            encoded(source.to_luma_alpha8().into(), png),
        ),
        ("RGB PNG", encoded(source.to_rgb8().into(), png)),
        ("RGBA PNG", encoded(source.clone(), png)),
        ("16-bit PNG", encoded(source.to_rgb16().into(), png)),
        (
            "JPEG",
            encoded(source.to_rgb8().into(), image::ImageFormat::Jpeg),
        ),
    ];
    for (what, bytes) in &files {
        let reference = image::load_from_memory(bytes).unwrap();
        for size in [None, Some((11usize, 50usize)), Some((9, 9))] {
            let resized = match size {
                Some((th, tw)) => reference.resize_exact(
                    tw as u32,
                    th as u32,
                    image::imageops::FilterType::Triangle,
                ),
                None => reference.clone(),
            };
            for mode in [ColorMode::Grayscale, ColorMode::Rgb] {
                let theirs = match mode {
                    ColorMode::Grayscale => resized.to_luma8().into_raw(),
                    ColorMode::Rgb => resized.to_rgb8().into_raw(),
                };
                let ours = decode_image(bytes, mode, size).unwrap();
                let (th, tw) = size.unwrap_or((h as usize, w as usize));
                let channels = if mode == ColorMode::Rgb { 3 } else { 1 };
                assert_eq!(ours.shape(), &[th, tw, channels], "{what}");
                let ours = ours.to_vec::<u8>().unwrap();
                let worst = ours.iter().zip(&theirs).map(|(a, b)| a.abs_diff(*b));
                let worst = worst.max().unwrap();
                assert!(worst <= 2, "{what} {mode:?} {size:?}: off by {worst}");
            }
        }
    }
    // Damaged and oversized files are refused with a message, never a panic.
    let jpeg = &files[5].1;
    assert!(decode_image(&jpeg[..jpeg.len() / 3], ColorMode::Rgb, None).is_err());
    let mut huge = files[2].1.clone();
    huge[16..24].copy_from_slice(&[0, 1, 0, 0, 0, 1, 0, 0]); // IHDR: 65536 × 65536
    let err = decode_image(&huge, ColorMode::Rgb, None).unwrap_err();
    assert!(err.contains("not a readable"), "{err}");
    assert!(decode_image(jpeg, ColorMode::Rgb, Some((1 << 20, 1 << 20))).is_err());
}
