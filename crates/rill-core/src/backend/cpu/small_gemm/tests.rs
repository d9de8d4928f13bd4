//! The unpacked products against a plain triple loop in f64: `A` in every storage order, sizes
//! that fill the 6×16 tiles and leave every remainder of rows and columns, `B` by rows and by
//! columns, overwriting and accumulating, on one thread and split between two; and the
//! products it must leave to the general kernels.

use super::*;
use crate::backend::cpu::test_matrices::{check, Order};

const A_ORDERS: [Order; 3] = [Order::Rows, Order::Columns, Order::Spread];

#[test]
fn few_rows_or_a_short_depth_match_the_reference_in_every_order_of_a() {
    let shapes = [
        // The tutorial MLP's forward product and its weight gradient (m = 784, k = the batch).
        (32, 128, 784),
        (784, 128, 32),
        // Every remainder of rows (1..=5) and of columns (1..=15), and both at once.
        (7, 17, 9),
        (11, 33, 64),
        (5, 19, 65),
        (64, 16, 200),
        (3, 24, 1),
        (100, 31, 64),
        (1, 16, 1),
    ];
    // B by rows, and by columns (a transposed weight matrix: `dy · wᵀ`, copied into rows per
    // slice), including depths past one slice of 256.
    for b_order in [Order::Rows, Order::Columns] {
        for a_order in A_ORDERS {
            for (m, n, k) in shapes.into_iter().chain([(32, 784, 128), (9, 40, 600)]) {
                for accumulate in [false, true] {
                    let taken = check(sgemm_small, (m, n, k), (a_order, b_order), accumulate);
                    assert_eq!(
                        taken,
                        isa() >= Isa::Avx2,
                        "{m}x{n}x{k} {a_order:?} {b_order:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn products_split_between_threads_match_the_reference() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        // Split along k (few rows, deep: x · w), by rows (many rows: xᵀ · dy, or too few
        // columns to split) and by columns.
        for (m, n, k) in [
            (32, 128, 784),
            (5, 17, 7001),
            (784, 128, 32),
            (61, 47, 300),
            (600, 16, 60),
            (640, 17, 64),
        ] {
            assert!(m * n * k >= THREADED_MIN_MACS);
            for (b_order, accumulate) in [
                (Order::Rows, false),
                (Order::Rows, true),
                (Order::Columns, false),
                (Order::Columns, true),
            ] {
                let taken = check(sgemm_small, (m, n, k), (Order::Rows, b_order), accumulate);
                assert_eq!(taken, isa() >= Isa::Avx2, "{m}x{n}x{k} {b_order:?}");
            }
        }
    });
}

/// A deep product with few rows is summed as two halves of k whatever the number of threads:
/// the same bits on one thread as on two.
#[test]
fn the_halves_of_a_deep_product_give_the_same_bits_on_one_thread_and_two() {
    if isa() < Isa::Avx2 {
        return;
    }
    let (m, n, k) = (32, 128, 784);
    assert!(m <= SMALL_SIDE && k >= SPLIT_DEPTH_MIN && m * n * k >= THREADED_MIN_MACS);
    let a: Vec<f32> = (0..m * k)
        .map(|i| ((i * 7919) % 1013) as f32 / 1013.0 - 0.5)
        .collect();
    let b: Vec<f32> = (0..k * n)
        .map(|i| ((i * 104_729) % 997) as f32 / 997.0 - 0.5)
        .collect();
    fn view(data: &[f32], cols: usize) -> MatRef<'_, f32> {
        MatRef {
            data,
            offset: 0,
            row_stride: cols,
            col_stride: 1,
        }
    }
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut out = vec![MaybeUninit::new(0f32); m * n];
            assert!(sgemm_small(
                m,
                n,
                k,
                &view(&a, k),
                &view(&b, n),
                &mut out,
                false
            ));
            out.iter()
                // SAFETY: the product was taken, so every element was written.
                .map(|v| unsafe { v.assume_init() }.to_bits())
                .collect::<Vec<u32>>()
        })
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn leaves_large_products_and_b_with_no_unit_stride_to_the_general_kernels() {
    let rows = (Order::Rows, Order::Rows);
    assert!(!check(sgemm_small, (65, 16, 65), rows, false));
    assert!(!check(sgemm_small, (64, 128, 1025), rows, false));
    assert!(!check(sgemm_small, (1025, 128, 64), rows, false));
    assert!(!check(sgemm_small, (32, 10, 128), rows, false));
    assert!(!check(
        sgemm_small,
        (8, 16, 8),
        (Order::Rows, Order::Spread),
        false
    ));
}
