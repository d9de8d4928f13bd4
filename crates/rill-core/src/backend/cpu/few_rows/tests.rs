//! The streaming products against a plain triple loop in f64: both storage orders of both
//! operands, lengths that fill the 64- and 8-column blocks and leave remainders, overwriting
//! and accumulating; and the products it must leave to the general kernel.

use super::*;
use crate::backend::cpu::test_matrices::{check, Order};

#[test]
fn one_or_two_rows_stream_through_b_in_either_order() {
    let orders = [
        (Order::Rows, Order::Rows),
        (Order::Rows, Order::Columns),
        (Order::Columns, Order::Rows),
        (Order::Columns, Order::Columns),
    ];
    for orders in orders {
        for (m, n, k) in [
            (1, 128, 784),
            (1, 10, 128),
            (2, 70, 33),
            (1, 7, 5),
            (2, 64, 1),
            (1, 1, 1),
        ] {
            for accumulate in [false, true] {
                let taken = check(sgemm_few_rows, (m, n, k), orders, accumulate);
                assert_eq!(taken, isa() >= Isa::Avx2, "{m}x{n}x{k} {orders:?}");
            }
        }
    }
}

#[test]
fn leaves_more_rows_and_general_strides_to_the_general_kernel() {
    assert!(!check(
        sgemm_few_rows,
        (3, 16, 8),
        (Order::Rows, Order::Rows),
        false
    ));
    assert!(!check(
        sgemm_few_rows,
        (1, 16, 8),
        (Order::Rows, Order::Spread),
        false
    ));
    assert!(
        check(
            sgemm_few_rows,
            (1, 16, 8),
            (Order::Spread, Order::Rows),
            true
        ) == (isa() >= Isa::Avx2)
    );
}
