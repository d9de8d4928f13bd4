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
