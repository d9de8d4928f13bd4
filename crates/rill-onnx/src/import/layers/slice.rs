//! ONNX `Slice` of computed values: ranges of per-sample axes, with any step (a negative one
//! reverses, as a backwards recurrent layer's export does).

use super::*;

/// One axis' range: the indices `start + i·step` for `i` in `0..len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceRange {
    /// The axis, counting the batch axis (so at least 1).
    pub axis: usize,
    /// The first index taken.
    pub start: usize,
    /// How many indices are taken.
    pub len: usize,
    /// The step between them (negative: backwards).
    pub step: i64,
}

impl SliceRange {
    /// ONNX's range `starts..ends` by `steps` on an axis of `dim`, clamped as ONNX clamps it.
    pub fn from_onnx(axis: usize, dim: usize, start: i64, end: i64, step: i64) -> Result<Self> {
        if step == 0 {
            return Err(config_error(OnnxSlice::KIND, "a step of 0"));
        }
        let d = dim as i64;
        let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (start, end) = (norm(start), norm(end));
        let (start, end) = if step > 0 {
            (start.clamp(0, d), end.clamp(0, d))
        } else {
            (start.clamp(0, d - 1), end.clamp(-1, d - 1))
        };
        let span = if step > 0 { end - start } else { start - end };
        let len = if span <= 0 {
            0
        } else {
            (span + step.abs() - 1) / step.abs()
        };
        Ok(SliceRange {
            axis,
            start: start.max(0) as usize,
            len: len as usize,
            step,
        })
    }

    fn indices(&self) -> Vec<i64> {
        (0..self.len as i64)
            .map(|i| self.start as i64 + i * self.step)
            .collect()
    }
}

/// [`OnnxSlice`]'s attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SliceConfig {
    /// The ranges, one per sliced axis.
    pub ranges: Vec<SliceRange>,
}

/// ONNX `Slice` on per-sample axes.
#[derive(Debug)]
pub struct OnnxSlice(SliceConfig);

impl Configurable for OnnxSlice {
    const KIND: &'static str = "OnnxSlice";
    type Config = SliceConfig;
    fn get_config(&self) -> SliceConfig {
        self.0.clone()
    }
    fn from_config(c: SliceConfig) -> Result<Self> {
        if let Some(r) = c.ranges.iter().find(|r| r.axis == 0 || r.step == 0) {
            return Err(config_error(
                Self::KIND,
                format!("range {r:?}: slices take per-sample axes (1…) by a non-zero step"),
            ));
        }
        Ok(OnnxSlice(c))
    }
    fn examples() -> Vec<LayerExample<SliceConfig>> {
        let r = |axis, start, len, step| SliceRange {
            axis,
            start,
            len,
            step,
        };
        vec![
            LayerExample::new(
                SliceConfig {
                    ranges: vec![r(1, 4, 5, -1), r(2, 1, 2, 2)],
                },
                &[5, 4],
            ),
            LayerExample::new(
                SliceConfig {
                    ranges: vec![r(1, 2, 1, 1)],
                },
                &[3, 2],
            ),
        ]
    }
}

impl Layer for OnnxSlice {
    rill_nn::configurable_layer!();
    fn compute_output_shape(&self, s: &[usize]) -> Result<Vec<usize>> {
        let mut out = s.to_vec();
        for r in &self.0.ranges {
            let dim = *s.get(r.axis - 1).ok_or_else(|| {
                config_error(Self::KIND, format!("axis {} of inputs {}", r.axis, full(s)))
            })?;
            let last = r.start as i64 + (r.len as i64 - 1) * r.step;
            if r.len > 0 && (r.start >= dim || last < 0 || last >= dim as i64) {
                return Err(config_error(
                    Self::KIND,
                    format!("range {r:?} leaves axis {} of inputs {}", r.axis, full(s)),
                ));
            }
            out[r.axis - 1] = r.len;
        }
        Ok(out)
    }
    fn call(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        let mut y = x.clone();
        for r in &self.0.ranges {
            let axis = r.axis as isize;
            y = if r.step == 1 {
                y.slice(axis, r.start, r.start + r.len)?
            } else {
                let idx = Tensor::from_vec(r.indices(), &[r.len])?;
                y.index_select(axis, &idx)?
            };
        }
        Ok(y)
    }
}

/// ONNX: `Slice` by the same ranges.
impl OnnxForm for OnnxSlice {
    fn to_onnx(c: &SliceConfig, l: OnnxLayer<'_>, g: &mut dyn OnnxGraph) -> Result<String> {
        let starts: Vec<i64> = c.ranges.iter().map(|r| r.start as i64).collect();
        // One past the last index taken; before the first index, ONNX needs a value below −dim.
        let ends: Vec<i64> = c
            .ranges
            .iter()
            .map(|r| match r.start as i64 + r.len as i64 * r.step {
                e if e < 0 => i64::MIN,
                e => e,
            })
            .collect();
        let axes: Vec<i64> = c.ranges.iter().map(|r| r.axis as i64).collect();
        let steps: Vec<i64> = c.ranges.iter().map(|r| r.step).collect();
        let inputs = vec![
            l.input.clone(),
            g.int64s(&l.part("starts"), &starts),
            g.int64s(&l.part("ends"), &ends),
            g.int64s(&l.part("axes"), &axes),
            g.int64s(&l.part("steps"), &steps),
        ];
        Ok(g.node("Slice", inputs, l.name, vec![]))
    }
}
