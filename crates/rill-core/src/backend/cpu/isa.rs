//! Which x86 vector extensions Rill's kernels may use, decided once per process.
//!
//! The kernels pick their widest path from what the CPU reports, capped by the environment
//! variable `RILL_ISA`, so a machine with AVX-512 can also measure the path every AVX2-only CPU
//! takes (`RILL_ISA=avx2 bench/compare ...`).

use std::sync::OnceLock;

/// The widest vector extension the kernels use, from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// No AVX2 and FMA (or not an x86 CPU): portable code and the `gemm` crate's own choice.
    Baseline,
    /// AVX2 with FMA: 8 lanes of f32.
    Avx2,
    /// AVX-512F: 16 lanes of f32.
    Avx512,
}

impl Isa {
    /// The name `RILL_ISA` takes for this level.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The level the kernels use: what the CPU has, lowered to `RILL_ISA` when that is set.
///
/// An unknown `RILL_ISA` value is reported once on stderr and ignored, rather than failing a
/// program over a tuning knob.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let detected = detected();
        match std::env::var("RILL_ISA") {
            Ok(cap) => match parse(&cap) {
                Some(cap) => detected.min(cap),
                None => {
                    eprintln!(
                        "rill: ignoring RILL_ISA={cap:?}; expected one of avx512, avx2, baseline"
                    );
                    detected
                }
            },
            Err(_) => detected,
        }
    })
}

fn parse(name: &str) -> Option<Isa> {
    [Isa::Baseline, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .find(|isa| name.trim().eq_ignore_ascii_case(isa.name()))
}

fn detected() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx2;
        }
    }
    Isa::Baseline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_from_narrow_to_wide() {
        for isa in [Isa::Baseline, Isa::Avx2, Isa::Avx512] {
            assert_eq!(parse(isa.name()), Some(isa));
        }
        assert_eq!(parse(" AVX2 "), Some(Isa::Avx2));
        assert_eq!(parse("sse9"), None);
        assert!(Isa::Baseline < Isa::Avx2 && Isa::Avx2 < Isa::Avx512);
        assert!(isa() <= detected());
    }
}
