//! Test support for the product kernels: operands stored in every order a view can have, and a
//! plain triple loop in f64 to compare a kernel's output with.

use super::MatRef;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::mem::MaybeUninit;

/// A matrix of `rows`×`cols` stored in a larger buffer: row-major, column-major (a transposed
/// view) or with neither stride 1 (every other element of a wider matrix).
#[derive(Clone, Copy, Debug)]
pub(super) enum Order {
    Rows,
    Columns,
    Spread,
}

/// A matrix's buffer and the strides that read it.
struct Stored {
    data: Vec<f32>,
    offset: usize,
    row_stride: usize,
    col_stride: usize,
}

impl Stored {
    fn new(rng: &mut ChaCha8Rng, rows: usize, cols: usize, order: Order) -> Stored {
        let (offset, row_stride, col_stride, len) = match order {
            Order::Rows => (3, cols, 1, 3 + rows * cols),
            Order::Columns => (1, 1, rows, 1 + rows * cols),
            Order::Spread => (0, 2 * cols + 1, 2, rows * (2 * cols + 1)),
        };
        let data = (0..len).map(|_| rng.gen_range(-1.0..1.0)).collect();
        Stored {
            data,
            offset,
            row_stride,
            col_stride,
        }
    }

    fn view(&self) -> MatRef<'_, f32> {
        MatRef {
            data: &self.data,
            offset: self.offset,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }
}

fn at(m: &MatRef<f32>, i: usize, j: usize) -> f32 {
    m.data[m.offset + i * m.row_stride + j * m.col_stride]
}

/// A kernel under test: `(m, n, k, a, b, out, accumulate)`, returning whether it took the product.
pub(super) type Kernel =
    fn(usize, usize, usize, &MatRef<f32>, &MatRef<f32>, &mut [MaybeUninit<f32>], bool) -> bool;

/// Runs `kernel` on random operands stored in `orders` and, when it took the product, compares
/// every element with the f64 reference; returns whether it took it.
pub(super) fn check(
    kernel: Kernel,
    (m, n, k): (usize, usize, usize),
    orders: (Order, Order),
    accumulate: bool,
) -> bool {
    let mut rng = ChaCha8Rng::seed_from_u64((m * 31 + n * 7 + k) as u64);
    let (a, b) = (
        Stored::new(&mut rng, m, k, orders.0),
        Stored::new(&mut rng, k, n, orders.1),
    );
    let (a, b) = (a.view(), b.view());
    let start: Vec<f32> = (0..m * n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let mut out: Vec<MaybeUninit<f32>> = start.iter().map(|&x| MaybeUninit::new(x)).collect();
    if !kernel(m, n, k, &a, &b, &mut out, accumulate) {
        return false;
    }
    for i in 0..m {
        for j in 0..n {
            let (mut want, mut scale) = (0.0f64, 0.0f64);
            for p in 0..k {
                let term = at(&a, i, p) as f64 * at(&b, p, j) as f64;
                want += term;
                scale += term.abs();
            }
            if accumulate {
                want += start[i * n + j] as f64;
            }
            // SAFETY: the kernel took the product, so it wrote (or updated) all of `out`.
            let got = unsafe { out[i * n + j].assume_init() } as f64;
            assert!(
                (got - want).abs() <= 1e-5 * (scale + 1.0),
                "{m}x{n}x{k} {orders:?} accumulate={accumulate}: ({i}, {j}) = {got}, want {want}"
            );
        }
    }
    true
}
