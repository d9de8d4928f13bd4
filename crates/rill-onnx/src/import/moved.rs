//! Values whose batch axis ONNX has moved from the front — the time-major sequences
//! (steps, batch, features) that recurrent operators read and write — and the ops that move
//! it there and back: `Transpose`, `Squeeze`, `Unsqueeze` and `Slice`. Rill's graph keeps every
//! value batch-first; a moved value is a batch-first node plus the order in which ONNX sees
//! its axes ([`Value::Moved`]), so moving the batch costs no layer at all, and a value is a
//! plain node again as soon as the batch is back in front.

use super::layers::{OnnxSlice, OnnxTranspose, SliceConfig, SliceRange, TransposeConfig};
use super::{Importer, Value};
use crate::attributes::Attributes;
use crate::error::{invalid, unsupported, Result};
use crate::proto::NodeProto;
use rill_nn::layers::{Configurable, Reshape};
use rill_nn::Node;

/// A computed value as (node, per-sample shape, ONNX axis order).
type Moved = (Node, Vec<usize>, Vec<usize>);

fn moved(v: &Option<Value>) -> Option<Moved> {
    match v {
        Some(Value::Node { node, shape }) => {
            Some((*node, shape.clone(), identity(shape.len() + 1)))
        }
        Some(Value::Moved { node, shape, axes }) => Some((*node, shape.clone(), axes.clone())),
        _ => None,
    }
}

fn identity(rank: usize) -> Vec<usize> {
    (0..rank).collect()
}

/// Converts `node` if it reads a moved value, moves the batch axis, slices a computed value or
/// is a recurrent op; `None` leaves it to the other rules.
pub(super) fn convert(
    imp: &mut Importer,
    node: &NodeProto,
    inputs: &[Option<Value>],
    a: &Attributes,
) -> Result<Option<Value>> {
    let op = node.op_type.as_str();
    if matches!(op, "LSTM" | "GRU" | "RNN") {
        return super::recurrent::convert(imp, node, inputs, a).map(Some);
    }
    let Some((x, shape, axes)) = inputs.first().and_then(moved) else {
        return Ok(None);
    };
    let is_moved = matches!(inputs[0], Some(Value::Moved { .. }));
    let rank = axes.len();
    let const_ints = |i: usize, what: &str| -> Result<Option<Vec<i64>>> {
        match inputs.get(i) {
            None | Some(None) => Ok(None),
            Some(Some(Value::Const { value, .. })) => Ok(Some(value.ints(what)?.to_vec())),
            Some(Some(_)) => Err(unsupported(format!("{what} computed by the graph"))),
        }
    };
    let axis = |v: i64, r: usize| -> Result<usize> {
        let a = if v < 0 { v + r as i64 } else { v };
        if !(0..r as i64).contains(&a) {
            return Err(invalid(format!("axis {v} is out of range for rank {r}")));
        }
        Ok(a as usize)
    };
    let v = match op {
        "Transpose" => {
            let perm = match a.ints("perm")? {
                Some(p) => p.iter().map(|&v| axis(v, rank)).collect::<Result<Vec<_>>>()?,
                None => (0..rank).rev().collect(),
            };
            if perm.len() != rank {
                return Err(invalid(format!("perm {perm:?} for a rank-{rank} value")));
            }
            if !is_moved && perm[0] == 0 {
                return Ok(None); // an ordinary transpose (OnnxTranspose's pattern)
            }
            let axes: Vec<usize> = perm.iter().map(|&p| axes[p]).collect();
            settle(imp, node, x, shape, axes)?
        }
        "Unsqueeze" => {
            let wanted = match imp.opset {
                o if o >= 13 => const_ints(1, "axes")?,
                _ => a.ints("axes")?,
            }
            .ok_or_else(|| invalid("Unsqueeze needs axes"))?;
            let r = rank + wanted.len();
            super::ops::unsqueezed_rank(r)?;
            let mut at = wanted
                .iter()
                .map(|&v| axis(v, r))
                .collect::<Result<Vec<_>>>()?;
            at.sort_unstable();
            super::ops::no_repeats(&at)?;
            if !is_moved && !at.contains(&0) {
                return Ok(None); // the batch stays first: an ordinary reshape
            }
            // The new unit axes go right after the node's batch axis, in ONNX's order.
            let n = at.len();
            let mut node_shape = vec![1; n];
            node_shape.extend(&shape);
            let x = imp.layer(node, Reshape::new(&node_shape), x, &shape, vec![])?;
            let mut old = axes.iter().map(|&v| if v == 0 { 0 } else { v + n });
            let mut new_axis = 1..=n;
            let axes: Vec<usize> = (0..r)
                .map(|k| match at.contains(&k) {
                    true => new_axis.next().unwrap_or(0),
                    false => old.next().unwrap_or(0),
                })
                .collect();
            let Value::Node { node: x, .. } = x else {
                return Err(invalid("a reshape of a computed value is computed"));
            };
            settle(imp, node, x, node_shape, axes)?
        }
        "Gather" => {
            let Some(Some(Value::Const { value, .. })) = inputs.get(1) else {
                return Ok(None);
            };
            let k = axis(a.int("axis", 0)?, rank)?;
            let n = axes[k];
            if n == 0 {
                return Err(unsupported(
                    "Gather over the batch axis; Rill models compute each sample alone",
                ));
            }
            let dim = shape[n - 1] as i64;
            let picks = value.ints("indices")?.to_vec();
            let norm = |i: i64| if i < 0 { i + dim } else { i };
            if let Some(&bad) = picks.iter().find(|&&i| !(0..dim).contains(&norm(i))) {
                return Err(invalid(format!("index {bad} of an axis of {dim}")));
            }
            let (start, step) = match picks[..] {
                [] => return Err(unsupported("Gather of no indices")),
                [one] => (norm(one), 1),
                [first, second, ..] => (norm(first), norm(second) - norm(first)),
            };
            let progression = step != 0
                && picks.iter().enumerate().all(|(j, &i)| norm(i) == start + j as i64 * step);
            if !progression {
                return Err(unsupported(format!(
                    "Gather of indices {picks:?} from a computed value (only evenly spaced ones)"
                )));
            }
            let range = SliceRange {
                axis: n,
                start: start as usize,
                len: picks.len(),
                step,
            };
            let layer = OnnxSlice::from_config(SliceConfig { ranges: vec![range] })?;
            let Value::Node { node: y, shape: s } = imp.layer(node, layer, x, &shape, vec![])? else {
                return Err(invalid("a slice of a computed value is computed"));
            };
            if value.shape().is_empty() {
                // A scalar index drops the axis.
                let (y, s, axes) = drop_unit_axes(imp, node, y, s, axes, &[k])?;
                settle(imp, node, y, s, axes)?
            } else {
                settle(imp, node, y, s, axes)?
            }
        }
        "Squeeze" if is_moved => {
            let wanted = match imp.opset {
                o if o >= 13 => const_ints(1, "axes")?,
                _ => a.ints("axes")?,
            };
            let dim = |node_axis: usize| shape.get(node_axis.wrapping_sub(1)).copied();
            let gone: Vec<usize> = match wanted {
                Some(w) => w.iter().map(|&v| axis(v, rank)).collect::<Result<_>>()?,
                None => (0..rank)
                    .filter(|&k| axes[k] != 0 && dim(axes[k]) == Some(1))
                    .collect(),
            };
            for &k in &gone {
                if axes[k] == 0 || dim(axes[k]) != Some(1) {
                    return Err(invalid(format!(
                        "Squeeze of axis {k}, which is not of size 1"
                    )));
                }
            }
            let (x, s, axes) = drop_unit_axes(imp, node, x, shape, axes, &gone)?;
            settle(imp, node, x, s, axes)?
        }
        "Slice" => {
            let starts = const_ints(1, "starts")?.ok_or_else(|| invalid("Slice needs starts"))?;
            let ends = const_ints(2, "ends")?.ok_or_else(|| invalid("Slice needs ends"))?;
            let which = const_ints(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
            let steps = const_ints(4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
            if [ends.len(), which.len(), steps.len()] != [starts.len(); 3] {
                return Err(invalid("Slice's starts, ends, axes and steps differ in length"));
            }
            let mut ranges = Vec::new();
            for i in 0..starts.len() {
                let k = axis(which[i], rank)?;
                let n = axes[k];
                if n == 0 {
                    // The batch axis may only be taken whole.
                    if starts[i] == 0 && ends[i] >= i32::MAX as i64 && steps[i] == 1 {
                        continue;
                    }
                    return Err(unsupported(
                        "Slice of the batch axis; Rill models compute each sample alone",
                    ));
                }
                let range = SliceRange::from_onnx(n, shape[n - 1], starts[i], ends[i], steps[i])
                    .map_err(|e| invalid(e.to_string()))?;
                ranges.push(range);
            }
            let layer = OnnxSlice::from_config(SliceConfig { ranges })?;
            let Value::Node { node: y, shape: s } = imp.layer(node, layer, x, &shape, vec![])? else {
                return Err(invalid("a slice of a computed value is computed"));
            };
            settle(imp, node, y, s, axes)?
        }
        _ if is_moved => {
            return Err(unsupported(format!(
                "{op} of a value whose batch axis is moved (ONNX axes {axes:?} of a batch); Rill reads such values only in Transpose, Squeeze, Unsqueeze, Slice and the recurrent ops"
            )))
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// Drops the size-1 ONNX axes `gone` (never the batch) from node `x` of per-sample `shape`
/// seen in the order `axes`: the node reshaped and the order renumbered.
fn drop_unit_axes(
    imp: &mut Importer,
    node: &NodeProto,
    x: Node,
    shape: Vec<usize>,
    axes: Vec<usize>,
    gone: &[usize],
) -> Result<Moved> {
    let node_gone: Vec<usize> = gone.iter().map(|&k| axes[k]).collect();
    let node_shape: Vec<usize> = shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !node_gone.contains(&(i + 1)))
        .map(|(_, &d)| d)
        .collect();
    let Value::Node { node: x, .. } =
        imp.layer(node, Reshape::new(&node_shape), x, &shape, vec![])?
    else {
        return Err(invalid("a reshape of a computed value is computed"));
    };
    let axes: Vec<usize> = axes
        .iter()
        .filter(|v| !node_gone.contains(v))
        .map(|&v| v - node_gone.iter().filter(|&&g| g < v).count())
        .collect();
    Ok((x, node_shape, axes))
}

/// The value ONNX sees as node `x`'s axes in the order `axes`: the node itself when that is
/// its own order, a transpose of it when the batch is first, a moved value otherwise.
pub(super) fn settle(
    imp: &mut Importer,
    node: &NodeProto,
    x: Node,
    shape: Vec<usize>,
    axes: Vec<usize>,
) -> Result<Value> {
    if axes == identity(axes.len()) {
        return Ok(Value::Node { node: x, shape });
    }
    if axes[0] == 0 {
        let layer = OnnxTranspose::from_config(TransposeConfig { perm: axes })?;
        return imp.layer(node, layer, x, &shape, vec![]);
    }
    Ok(Value::Moved {
        node: x,
        shape,
        axes,
    })
}
