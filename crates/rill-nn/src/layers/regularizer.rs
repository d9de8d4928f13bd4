use crate::Result;
use rill_core::Tensor;

/// A weight penalty added to the loss, as Keras' `kernel_regularizer`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Regularizer {
    /// l1 · Σ|w|
    L1(f64),
    /// l2 · Σw²
    L2(f64),
    /// l1 · Σ|w| + l2 · Σw²
    L1L2(f64, f64),
}

impl Regularizer {
    /// The penalty for weight `w`.
    pub fn penalty(&self, w: &Tensor) -> Result<Tensor> {
        let l1 = |f: f64| w.abs()?.sum(&[], false)?.mul_scalar(f);
        let l2 = |f: f64| w.square()?.sum(&[], false)?.mul_scalar(f);
        Ok(match *self {
            Regularizer::L1(f) => l1(f)?,
            Regularizer::L2(f) => l2(f)?,
            Regularizer::L1L2(a, b) => l1(a)?.add(&l2(b)?)?,
        })
    }
}

impl Regularizer {
    /// The regularizer as configuration: `{"l1": .., "l2": ..}`.
    pub fn config(&self) -> serde_json::Value {
        let (l1, l2) = match *self {
            Regularizer::L1(a) => (a, 0.0),
            Regularizer::L2(b) => (0.0, b),
            Regularizer::L1L2(a, b) => (a, b),
        };
        serde_json::json!({"l1": l1, "l2": l2})
    }
    /// Rebuilds a regularizer from [`Regularizer::config`].
    pub fn from_config(v: &serde_json::Value) -> Option<Self> {
        Self::from_factors(
            v["l1"].as_f64().unwrap_or(0.0),
            v["l2"].as_f64().unwrap_or(0.0),
        )
    }
    pub(crate) fn from_factors(l1: f64, l2: f64) -> Option<Self> {
        match (l1 > 0.0, l2 > 0.0) {
            (true, true) => Some(Regularizer::L1L2(l1, l2)),
            (true, false) => Some(Regularizer::L1(l1)),
            (false, true) => Some(Regularizer::L2(l2)),
            (false, false) => None,
        }
    }
}

impl serde::Serialize for Regularizer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&self.config(), s)
    }
}

impl<'de> serde::Deserialize<'de> for Regularizer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Factors {
            #[serde(default)]
            l1: f64,
            #[serde(default)]
            l2: f64,
        }
        let f = Factors::deserialize(d)?;
        Regularizer::from_factors(f.l1, f.l2)
            .ok_or_else(|| serde::de::Error::custom("a regularizer needs l1 or l2 above zero"))
    }
}
