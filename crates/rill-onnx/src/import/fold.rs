//! Constant folding: the ops whose inputs are all known while importing are evaluated here, so
//! the shape arithmetic exporters write into graphs (`Shape` → `Gather` → `Unsqueeze` →
//! `Concat` → `Reshape`) turns into plain constants. The batch size stays symbolic ([`BATCH`]);
//! arithmetic on it is refused rather than guessed.
//!
//! Every result that needs new memory is charged to the import's [`Budget`] before it is
//! made; results that only rename or reshape their input share its values.

use super::{ops, Budget, BATCH};
use crate::attributes::Attributes;
use crate::error::{invalid, unsupported, Result};
use crate::proto::{data_type, NodeProto};
use crate::tensors::{checked_shape, read, Const};

/// The most values a constant made while importing (not read from the file) may hold.
const MAX_FOLDED: usize = 1 << 24;

fn ints_of<'c>(c: &'c Const, what: &str) -> Result<&'c [i64]> {
    c.ints(what)
}

fn axis_of(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r.max(1)).contains(&a) {
        return Err(invalid(format!(
            "axis {axis} is out of range for rank {rank}"
        )));
    }
    Ok(a as usize)
}

fn i64s(shape: Vec<usize>, data: Vec<i64>) -> Const {
    Const::i64(shape, data)
}

/// Elementwise arithmetic of two constants where one is a single value or both have one shape.
fn arithmetic(op: &str, a: &Const, b: &Const, budget: &Budget) -> Result<Const> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    let na: usize = sa.iter().product();
    let nb: usize = sb.iter().product();
    let shape = if na == 1 && sb.len() >= sa.len() {
        sb
    } else if nb == 1 || sa == sb {
        sa
    } else {
        return Err(unsupported(format!(
            "{op} of constants of shapes {sa:?} and {sb:?}"
        )));
    };
    let n: usize = shape.iter().product();
    budget.charge(op, n, 8)?;
    let pick = |len: usize, i: usize| if len == 1 { 0 } else { i };
    match (a, b) {
        (Const::I64 { data: x, .. }, Const::I64 { data: y, .. }) => {
            let data = (0..n)
                .map(|i| {
                    let (p, q) = (x[pick(na, i)], y[pick(nb, i)]);
                    if p == BATCH || q == BATCH {
                        return Err(unsupported("arithmetic on the batch size (the model would only run for one batch size)"));
                    }
                    Ok(match op {
                        "Add" => p.wrapping_add(q),
                        "Sub" => p.wrapping_sub(q),
                        "Mul" => p.wrapping_mul(q),
                        "Div" if q != 0 => p / q,
                        "Div" => return Err(invalid("integer division by zero")),
                        _ => return Err(unsupported(format!("{op} of integer constants"))),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(i64s(shape, data))
        }
        _ => {
            let (x, y) = (a.floats(), b.floats());
            budget.charge(op, na + nb, 4)?;
            let data = (0..n)
                .map(|i| {
                    let (p, q) = (x[pick(na, i)], y[pick(nb, i)]);
                    Ok(match op {
                        "Add" => p + q,
                        "Sub" => p - q,
                        "Mul" => p * q,
                        "Div" => p / q,
                        "Pow" => p.powf(q),
                        _ => return Err(unsupported(format!("{op} of float constants"))),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Const::f32(shape, data))
        }
    }
}

/// Evaluates `node` on constant inputs (`None` for an omitted optional input), charging what
/// it makes to `budget` first.
pub(crate) fn evaluate(
    node: &NodeProto,
    opset: i64,
    inputs: &[Option<Const>],
    budget: &Budget,
) -> Result<Const> {
    let a = Attributes::of(node);
    let input = |i: usize| -> Result<&Const> {
        inputs
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| invalid(format!("input {i} is missing")))
    };
    let op = node.op_type.as_str();
    Ok(match op {
        "Identity" | "Dropout" => input(0)?.clone(),
        "Cast" => {
            let to = a.int("to", data_type::FLOAT as i64)? as i32;
            match (input(0)?, to) {
                (c @ Const::F32 { .. }, data_type::FLOAT | data_type::DOUBLE) => c.clone(),
                (c, data_type::FLOAT | data_type::DOUBLE) => {
                    budget.charge(op, c.len(), 4)?;
                    Const::f32(c.shape().to_vec(), c.floats())
                }
                (Const::F32 { shape, data }, _) => {
                    budget.charge(op, data.len(), 8)?;
                    i64s(shape.clone(), data.iter().map(|&v| v as i64).collect())
                }
                (c @ Const::I64 { .. }, _) => c.clone(),
            }
        }
        "Shape" => {
            let shape: Vec<i64> = input(0)?.shape().iter().map(|&d| d as i64).collect();
            slice_shape(&a, shape)?
        }
        "Add" | "Sub" | "Mul" | "Div" | "Pow" => arithmetic(op, input(0)?, input(1)?, budget)?,
        "Unsqueeze" | "Squeeze" => {
            let c = input(0)?;
            let axes = match (opset >= 13, inputs.get(1).and_then(Option::as_ref)) {
                (true, Some(axes)) => Some(ints_of(axes, "axes")?.to_vec()),
                (true, None) => None,
                (false, _) => a.ints("axes")?,
            };
            let mut shape = c.shape().to_vec();
            if op == "Unsqueeze" {
                let axes = axes.ok_or_else(|| invalid("Unsqueeze needs axes"))?;
                let r = shape.len() + axes.len();
                ops::unsqueezed_rank(r)?;
                let mut norm: Vec<usize> =
                    axes.iter().map(|&x| axis_of(x, r)).collect::<Result<_>>()?;
                norm.sort_unstable();
                ops::no_repeats(&norm)?;
                for x in norm {
                    shape.insert(x, 1);
                }
            } else {
                let r = shape.len();
                let remove: Vec<usize> = match axes {
                    Some(axes) => axes.iter().map(|&x| axis_of(x, r)).collect::<Result<_>>()?,
                    None => (0..r).filter(|&i| shape[i] == 1).collect(),
                };
                shape = shape
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !remove.contains(i))
                    .map(|(_, &d)| d)
                    .collect();
            }
            c.reshaped(shape)
        }
        "Concat" => {
            let parts: Vec<&Const> = inputs.iter().flatten().collect();
            if parts.iter().any(|p| p.shape().len() != 1) {
                return Err(unsupported("Concat of constants of rank other than 1"));
            }
            // The sum of the parts, charged before any is copied: one large constant named
            // many times is many times its size here.
            let n = parts
                .iter()
                .try_fold(0usize, |n, p| n.checked_add(p.len()))
                .unwrap_or(usize::MAX);
            budget.charge(op, n, 8)?;
            if parts.iter().all(|p| matches!(p, Const::I64 { .. })) {
                let mut data = Vec::with_capacity(n);
                for p in &parts {
                    data.extend_from_slice(p.ints("Concat's inputs")?);
                }
                i64s(vec![n], data)
            } else {
                Const::f32(vec![n], parts.iter().flat_map(|p| p.floats()).collect())
            }
        }
        "Gather" => {
            let (data, idx) = (input(0)?, input(1)?);
            if data.shape().len() != 1 || a.int("axis", 0)? != 0 {
                return Err(unsupported("Gather of constants other than from a vector"));
            }
            let n = data.shape()[0] as i64;
            budget.charge(op, idx.len(), 16)?;
            let picks = ints_of(idx, "Gather indices")?
                .iter()
                .map(|&i| {
                    let j = if i < 0 { i + n } else { i };
                    if (0..n).contains(&j) {
                        Ok(j as usize)
                    } else {
                        Err(invalid(format!(
                            "Gather index {i} is out of range for {n} values"
                        )))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let shape = idx.shape().to_vec();
            match data {
                Const::I64 { data, .. } => i64s(shape, picks.iter().map(|&j| data[j]).collect()),
                Const::F32 { data, .. } => {
                    Const::f32(shape, picks.iter().map(|&j| data[j]).collect())
                }
            }
        }
        "Slice" => {
            let data = input(0)?;
            let get = |i: usize| {
                inputs
                    .get(i)
                    .and_then(Option::as_ref)
                    .map(|c| c.ints("Slice bounds"))
                    .transpose()
            };
            let (starts, ends) = if opset >= 10 {
                (
                    get(1)?.map(<[i64]>::to_vec).unwrap_or_default(),
                    get(2)?.map(<[i64]>::to_vec).unwrap_or_default(),
                )
            } else {
                (
                    a.ints("starts")?.unwrap_or_default(),
                    a.ints("ends")?.unwrap_or_default(),
                )
            };
            let axes = match if opset >= 10 {
                get(3)?.map(<[i64]>::to_vec)
            } else {
                a.ints("axes")?
            } {
                Some(axes) => axes,
                None => (0..starts.len() as i64).collect(),
            };
            let steps = get(4)?
                .map(<[i64]>::to_vec)
                .unwrap_or_else(|| vec![1; starts.len()]);
            if ends.len() != starts.len()
                || axes.len() != starts.len()
                || steps.len() != starts.len()
            {
                return Err(invalid(
                    "Slice's starts, ends, axes and steps differ in length",
                ));
            }
            slice(data, &starts, &ends, &axes, &steps, budget)?
        }
        "Reshape" => {
            let c = input(0)?;
            let target = ints_of(input(1)?, "Reshape's shape")?;
            let n: usize = c.shape().iter().product();
            let known: i64 = target
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    if d == 0 {
                        c.shape().get(i).copied().unwrap_or(1) as i64
                    } else if d < 0 {
                        1
                    } else {
                        d
                    }
                })
                .product();
            let shape = target
                .iter()
                .enumerate()
                .map(|(i, &d)| match d {
                    0 => Ok(c.shape().get(i).copied().unwrap_or(0)),
                    -1 if known > 0 => Ok(n / known as usize),
                    d if d > 0 => Ok(d as usize),
                    _ => Err(invalid(format!("cannot reshape a constant to {target:?}"))),
                })
                .collect::<Result<Vec<_>>>()?;
            if shape.iter().product::<usize>() != n {
                return Err(invalid(format!(
                    "cannot reshape a constant of {n} values to {target:?}"
                )));
            }
            c.reshaped(shape)
        }
        "ConstantOfShape" => {
            let dims = ints_of(input(0)?, "ConstantOfShape's shape")?;
            if dims.contains(&BATCH) {
                return Err(unsupported("a constant as large as the batch"));
            }
            let (shape, n) = checked_shape(dims, "ConstantOfShape")?;
            // A constant the file's bytes do not hold: made here, so bounded here.
            if n > MAX_FOLDED {
                return Err(unsupported(format!(
                    "ConstantOfShape of {dims:?}: more than {MAX_FOLDED} values"
                )));
            }
            budget.charge(op, n, 8)?;
            match a.tensor("value")?.map(read).transpose()? {
                Some(Const::I64 { data, .. }) => {
                    i64s(shape, vec![data.first().copied().unwrap_or(0); n])
                }
                Some(Const::F32 { data, .. }) => {
                    Const::f32(shape, vec![data.first().copied().unwrap_or(0.0); n])
                }
                None => Const::f32(shape, vec![0.0; n]),
            }
        }
        "Transpose" => {
            let c = input(0)?;
            let s = c.shape();
            if s.len() != 2 {
                return Err(unsupported("Transpose of constants other than matrices"));
            }
            let (r, k) = (s[0], s[1]);
            budget.charge(op, r * k, 8)?;
            let at = |i: usize| (i % r) * k + i / r;
            match c {
                Const::F32 { data, .. } => {
                    Const::f32(vec![k, r], (0..r * k).map(|i| data[at(i)]).collect())
                }
                Const::I64 { data, .. } => {
                    i64s(vec![k, r], (0..r * k).map(|i| data[at(i)]).collect())
                }
            }
        }
        other => {
            return Err(unsupported(format!(
                "{other} on constant inputs cannot be folded"
            )))
        }
    })
}

/// ONNX `Slice` of a constant of any rank.
fn slice(
    c: &Const,
    starts: &[i64],
    ends: &[i64],
    axes: &[i64],
    steps: &[i64],
    budget: &Budget,
) -> Result<Const> {
    let shape = c.shape().to_vec();
    let r = shape.len();
    // Per axis: the indices kept.
    let mut picks: Vec<Vec<usize>> = shape.iter().map(|&d| (0..d).collect()).collect();
    for k in 0..starts.len() {
        let axis = axis_of(axes[k], r)?;
        let d = shape[axis] as i64;
        let step = steps[k];
        if step == 0 {
            return Err(invalid("Slice with step 0"));
        }
        let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (mut i, end) = if step > 0 {
            (norm(starts[k]).clamp(0, d), norm(ends[k]).clamp(0, d))
        } else {
            (
                norm(starts[k]).clamp(0, d - 1),
                norm(ends[k]).clamp(-1, d - 1),
            )
        };
        let mut kept = Vec::new();
        while (step > 0 && i < end) || (step < 0 && i > end) {
            kept.push(i as usize);
            i += step;
        }
        picks[axis] = kept;
    }
    let out_shape: Vec<usize> = picks.iter().map(Vec::len).collect();
    let n: usize = out_shape.iter().product();
    // The values and, for each, where it comes from.
    budget.charge("Slice", n, 16)?;
    let mut strides = vec![1usize; r];
    for a in (0..r.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let source: Vec<usize> = (0..n)
        .map(|mut flat| {
            let mut at = 0;
            for a in (0..r).rev() {
                at += picks[a][flat % out_shape[a]] * strides[a];
                flat /= out_shape[a];
            }
            at
        })
        .collect();
    Ok(match c {
        Const::I64 { data, .. } => i64s(out_shape, source.iter().map(|&i| data[i]).collect()),
        Const::F32 { data, .. } => Const::f32(out_shape, source.iter().map(|&i| data[i]).collect()),
    })
}

/// `Shape`'s optional `start` and `end` (opset 15).
pub(crate) fn slice_shape(a: &Attributes, shape: Vec<i64>) -> Result<Const> {
    let r = shape.len() as i64;
    let norm = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = norm(a.int("start", 0)?);
    let end = norm(a.int("end", r)?).max(start);
    let data = shape[start..end].to_vec();
    Ok(i64s(vec![data.len()], data))
}
