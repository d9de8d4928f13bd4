//! The direct kernels on both vector paths against a plain loop over the definition: the
//! convolution summed in f64, pooled over 2×2 tiles with the first maximum in row order.

use super::*;

/// A geometry as `conv2d` would make it for an `h × w × c` input.
#[allow(clippy::too_many_arguments)]
fn geometry(
    n: usize,
    (h, w, c): (usize, usize, usize),
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    (dh, dw): (usize, usize),
    (pad_top, pad_left): (usize, usize),
    (oh, ow): (usize, usize),
) -> PatchGeometry {
    PatchGeometry {
        n,
        h,
        w,
        c,
        kh,
        kw,
        sh,
        sw,
        dh,
        dw,
        pad_top,
        pad_left,
        oh,
        ow,
    }
}

/// The cases: the tutorial's first layer ("same", one channel, 32 filters); three channels with
/// 20 filters (a block and a part) and an odd output (its last row and column pooled away); a
/// 5×5 window with stride 2; a dilated window over two channels with 40 filters (a pair of
/// blocks and a part).
fn cases() -> Vec<(PatchGeometry, usize)> {
    vec![
        (
            geometry(3, (28, 28, 1), (3, 3), (1, 1), (1, 1), (1, 1), (28, 28)),
            32,
        ),
        (
            geometry(2, (9, 11, 3), (3, 3), (1, 1), (1, 1), (0, 0), (7, 9)),
            20,
        ),
        (
            geometry(2, (13, 12, 1), (5, 5), (2, 2), (1, 1), (2, 2), (7, 6)),
            16,
        ),
        (
            geometry(2, (12, 10, 2), (3, 3), (1, 1), (2, 2), (2, 2), (12, 10)),
            40,
        ),
    ]
}

/// Seeded values in [-1, 1), with the first half of every image zero: whole tiles whose four
/// outputs tie (as on Fashion-MNIST's background), where the first must win.
fn input(g: &PatchGeometry, seed: u64) -> Vec<f32> {
    let per_image = g.h * g.w * g.c;
    let mut state = seed;
    (0..g.n * per_image)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
            if i % per_image < per_image / 2 {
                0.0
            } else {
                v
            }
        })
        .collect()
}

/// The convolution's output at (image, oy, ox, channel), summed in f64.
fn conv_at(x: &[f32], k: &[f32], g: &PatchGeometry, co: usize, at: [usize; 4]) -> f64 {
    let [i, oy, ox, ch] = at;
    let mut sum = 0.0;
    for ki in 0..g.kh {
        for kj in 0..g.kw {
            if let Some((y, xx)) = g.source(oy, ox, ki, kj) {
                for c in 0..g.c {
                    let v = x[((i * g.h + y) * g.w + xx) * g.c + c] as f64;
                    sum += v * k[((ki * g.kw + kj) * g.c + c) * co + ch] as f64;
                }
            }
        }
    }
    sum
}

/// The pooled values and picks by definition, and the gap between each maximum and the
/// runner-up (a pick is only compared where rounding cannot change it).
fn reference(x: &[f32], k: &[f32], g: &PatchGeometry, co: usize) -> (Vec<f64>, Vec<u8>, Vec<f64>) {
    let (ph, pw) = (g.oh / 2, g.ow / 2);
    let (mut out, mut picks, mut gaps) = (vec![], vec![], vec![]);
    for i in 0..g.n {
        for py in 0..ph {
            for px in 0..pw {
                for ch in 0..co {
                    let sums: Vec<f64> = (0..4)
                        .map(|pos| {
                            conv_at(x, k, g, co, [i, 2 * py + pos / 2, 2 * px + pos % 2, ch])
                        })
                        .collect();
                    let mut pick = 0;
                    for pos in 1..4 {
                        if sums[pos] > sums[pick] {
                            pick = pos;
                        }
                    }
                    let gap = (0..4)
                        .filter(|&pos| sums[pos] != sums[pick])
                        .map(|pos| sums[pick] - sums[pos])
                        .fold(f64::INFINITY, f64::min);
                    out.push(sums[pick]);
                    picks.push(pick as u8);
                    gaps.push(gap);
                }
            }
        }
    }
    (out, picks, gaps)
}

/// The levels this CPU runs (the direct kernels need AVX2 at least).
fn levels() -> Vec<Isa> {
    let mut levels = vec![];
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            levels.push(Isa::Avx2);
        }
        if is_x86_feature_detected!("avx512f") {
            levels.push(Isa::Avx512);
        }
    }
    levels
}

fn kernel(g: &PatchGeometry, co: usize) -> Vec<f32> {
    (0..g.patch_len() * co)
        .map(|i| ((i * 37 % 101) as f32 / 101.0 - 0.5) * 0.8)
        .collect()
}

#[test]
fn pooled_values_and_picks_match_the_definition_on_every_vector_path() {
    for (g, co) in cases() {
        let (x, k) = (input(&g, 7), kernel(&g, co));
        let (want, want_picks, gaps) = reference(&x, &k, &g, co);
        let ties = gaps.iter().filter(|&&gap| gap == f64::INFINITY).count();
        assert!(ties > 0, "{g:?}: no tile of four equal outputs tested");
        for isa in levels() {
            let (got, picks) = forward_on(isa, &x, &k, &g, co);
            assert_eq!(got.len(), want.len(), "{isa} {g:?}");
            for (i, (&got, &want)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "{isa} {g:?} value {i}: {got} against {want}"
                );
                if gaps[i] > 1e-4 {
                    assert_eq!(picks[i], want_picks[i], "{isa} {g:?} pick {i}");
                }
            }
        }
    }
}

#[test]
fn a_nan_wins_only_as_a_tiles_first_output() {
    // One channel, a 1×1 window: the outputs are the inputs times the one weight.
    let g = geometry(1, (2, 4, 1), (1, 1), (1, 1), (1, 1), (0, 0), (2, 4));
    let x = [f32::NAN, 1.0, 0.5, f32::NAN, 2.0, 3.0, 4.0, 1.0];
    for isa in levels() {
        let (out, picks) = forward_on(isa, &x, &[1.0], &g, 1);
        assert!(out[0].is_nan() && picks[0] == 0, "{isa}: a first NaN stays");
        assert_eq!(
            (out[1], picks[1]),
            (4.0, 2),
            "{isa}: a later NaN never wins"
        );
    }
}

#[test]
fn kernel_gradient_matches_the_definition_on_every_vector_path() {
    for (g, co) in cases() {
        let (x, k) = (input(&g, 11), kernel(&g, co));
        let (_, picks, _) = reference(&x, &k, &g, co);
        let grad: Vec<f32> = (0..picks.len())
            .map(|i| ((i * 53 % 97) as f32 / 97.0) - 0.4)
            .collect();
        // dk[k, ch] = Σ over pooled outputs of grad · (the picked output's patch value k).
        let (ph, pw) = (g.oh / 2, g.ow / 2);
        let mut want = vec![0.0f64; g.patch_len() * co];
        for i in 0..g.n {
            for py in 0..ph {
                for px in 0..pw {
                    for ch in 0..co {
                        let at = ((i * ph + py) * pw + px) * co + ch;
                        let pos = picks[at] as usize;
                        let (oy, ox) = (2 * py + pos / 2, 2 * px + pos % 2);
                        for ki in 0..g.kh {
                            for kj in 0..g.kw {
                                if let Some((y, xx)) = g.source(oy, ox, ki, kj) {
                                    for c in 0..g.c {
                                        let v = x[((i * g.h + y) * g.w + xx) * g.c + c] as f64;
                                        want[((ki * g.kw + kj) * g.c + c) * co + ch] +=
                                            v * grad[at] as f64;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for isa in levels() {
            let got = kernel_grad_on(isa, &x, &grad, &picks, &g, co);
            for (i, (&got, &want)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (got as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{isa} {g:?} dk {i}: {got} against {want}"
                );
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let (g, co) = cases()[0];
    let g = PatchGeometry { n: 9, ..g };
    let (x, k) = (input(&g, 3), kernel(&g, co));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let (out, picks) = conv_max_pool_forward(&x, &k, &g, co);
            let grad: Vec<f32> = out.iter().map(|v| v * 0.5 - 0.1).collect();
            let dk = conv_max_pool_kernel_grad(&x, &grad, &picks, &g, co);
            (out, picks, dk)
        })
    };
    if direct_conv_pool_applies(&g) {
        assert_eq!(run(1), run(2));
    }
}
