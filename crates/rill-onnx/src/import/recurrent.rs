//! ONNX's recurrent operators — `LSTM`, `GRU`, `RNN` — as Rill's recurrent layers. The layer
//! files read the weights and attributes (their import patterns); this module reads what the
//! three operators share: the layout of `X` (time-major, or batch-major with `layout=1`), the
//! initial states, and the outputs `Y` (steps, directions, batch, units) and `Y_h`, which stay
//! batch-first nodes underneath (see `moved.rs`).

use super::layers::{OnnxSlice, SliceConfig, SliceRange};
use super::node_view::NodeView;
use super::{moved, Importer, Value};
use crate::attributes::Attributes;
use crate::error::{invalid, unsupported, Result};
use crate::proto::NodeProto;
use rill_nn::layers::{Configurable, Reshape};
use rill_nn::Node;

/// A batch-first node and its per-sample shape.
type Batch = (Node, Vec<usize>);

/// Converts an `LSTM`, `GRU` or `RNN` node.
pub(super) fn convert(
    imp: &mut Importer,
    node: &NodeProto,
    inputs: &[Option<Value>],
    a: &Attributes,
) -> Result<Value> {
    let op = node.op_type.as_str();
    let time_major = match a.int("layout", 0)? {
        0 => true,
        1 => false,
        other => return Err(invalid(format!("layout {other}"))),
    };
    let x = batch_first(inputs.first().cloned().flatten(), time_major, 3, "X")?;
    if inputs.get(4).is_some_and(Option::is_some) {
        return Err(unsupported(
            "sequence_lens (sequences of different lengths are read with a mask in Rill)",
        ));
    }
    // Initial states: absent or all zeros mean zeros; otherwise each is (1, batch, units).
    let state_inputs: &[usize] = if op == "LSTM" { &[5, 6] } else { &[5] };
    let mut states = Vec::new();
    for &i in state_inputs {
        match inputs.get(i).cloned().flatten() {
            None => {}
            Some(Value::Const { value, .. }) if value.floats().iter().all(|&v| v == 0.0) => {}
            Some(Value::Filled { value: 0.0 }) => {}
            Some(v @ (Value::Node { .. } | Value::Moved { .. })) => {
                let (s, shape) = batch_first(Some(v), time_major, 3, "an initial state")?;
                let units = shape[1];
                let flat = imp.layer(node, Reshape::new(&[units]), s, &shape, vec![])?;
                let Value::Node { node: s, .. } = flat else {
                    return Err(invalid("a reshape of a computed value is computed"));
                };
                states.push((s, vec![units]));
            }
            Some(_) => {
                return Err(unsupported(
                    "an initial state that is neither computed nor zeros",
                ))
            }
        }
    }
    if !states.is_empty() && states.len() != state_inputs.len() {
        return Err(unsupported(
            "an LSTM given one initial state but not the other",
        ));
    }
    // The layer's own pattern reads W, R, B and the attributes, seeing X batch-first.
    let mut seen = inputs.to_vec();
    seen[0] = Some(Value::Node {
        node: x.0,
        shape: x.1.clone(),
    });
    let mut found = None;
    for (kind, import) in rill_nn::layers::onnx_importers(op) {
        let view = NodeView {
            node,
            attrs: Attributes::of(node),
            inputs: &seen,
            imp,
        };
        if let Some(f) = import(&view)? {
            found = Some((kind, f));
            break;
        }
    }
    let Some((kind, found)) = found else {
        return Err(unsupported(format!("{op} on these inputs")));
    };
    let layer = rill_nn::layers::from_config(kind, &found.config)?;
    let mut xs = vec![x.clone()];
    xs.extend(states);
    let Value::Node {
        node: sequence,
        shape,
    } = imp.layer_on(node, layer, &xs, found.weights)?
    else {
        return Err(invalid("a recurrent layer's output is computed"));
    };
    let &[steps, units] = &shape[..] else {
        return Err(invalid(format!(
            "{kind} imported with outputs {shape:?}, not every step's"
        )));
    };
    let backwards = found.config["go_backwards"] == true;
    // The outputs beyond Y, made only if read.
    if let Some(y_h) = node.output.get(1).filter(|n| !n.is_empty()) {
        imp.values.insert(
            y_h.clone(),
            Value::LastState {
                sequence,
                shape: shape.clone(),
                time_major,
            },
        );
    }
    if let Some(y_c) = node.output.get(2).filter(|n| !n.is_empty()) {
        imp.values.insert(
            y_c.clone(),
            Value::Refused(format!(
                "'{y_c}', the last cell state of LSTM '{}', is not among what Rill's LSTM outputs",
                node.name
            )),
        );
    }
    // A reverse-direction op writes Y in the input's order; Rill's layer in the order it ran.
    let mut y = sequence;
    if backwards {
        let back = SliceRange {
            axis: 1,
            start: steps - 1,
            len: steps,
            step: -1,
        };
        let layer = OnnxSlice::from_config(SliceConfig { ranges: vec![back] })?;
        let Value::Node { node: r, .. } = imp.layer(node, layer, y, &shape, vec![])? else {
            return Err(invalid("a slice of a computed value is computed"));
        };
        y = r;
    }
    // Y is (steps, 1, batch, units), or (batch, steps, 1, units) with layout=1.
    let with_direction = [steps, 1, units];
    let Value::Node { node: y, .. } =
        imp.layer(node, Reshape::new(&with_direction), y, &shape, vec![])?
    else {
        return Err(invalid("a reshape of a computed value is computed"));
    };
    let axes = if time_major {
        vec![1, 2, 0, 3]
    } else {
        vec![0, 1, 2, 3]
    };
    moved::settle(imp, node, y, with_direction.to_vec(), axes)
}

/// `Y_h` of the recurrent node whose output (as Rill's layer ran it) is `sequence`: its last
/// step, as ONNX's (1, batch, units) (or (batch, 1, units) with `layout=1`).
pub(super) fn last_state(
    imp: &mut Importer,
    name: &str,
    sequence: Node,
    shape: &[usize],
    time_major: bool,
) -> Result<Value> {
    let node = NodeProto {
        name: name.to_string(),
        op_type: "Slice".into(),
        ..Default::default()
    };
    let last = SliceRange {
        axis: 1,
        start: shape[0] - 1,
        len: 1,
        step: 1,
    };
    let layer = OnnxSlice::from_config(SliceConfig { ranges: vec![last] })?;
    let Value::Node { node: h, shape: s } = imp.layer(&node, layer, sequence, shape, vec![])?
    else {
        return Err(invalid("a slice of a computed value is computed"));
    };
    let axes = if time_major {
        vec![1, 0, 2]
    } else {
        vec![0, 1, 2]
    };
    moved::settle(imp, &node, h, s, axes)
}

/// A recurrent op's input of ONNX rank `rank` as a batch-first node: time-major values must be
/// a batch-first node seen with its first two axes swapped.
fn batch_first(v: Option<Value>, time_major: bool, rank: usize, what: &str) -> Result<Batch> {
    let swapped: Vec<usize> = [1, 0].into_iter().chain(2..rank).collect();
    match v {
        Some(Value::Moved { node, shape, axes }) if time_major && axes == swapped => {
            Ok((node, shape))
        }
        Some(Value::Node { node, shape }) if !time_major && shape.len() + 1 == rank => {
            Ok((node, shape))
        }
        Some(Value::Node { .. } | Value::Moved { .. }) if time_major => Err(unsupported(format!(
            "{what} that is not a batch-first value transposed to time-major (Rill's graph keeps the batch axis first)"
        ))),
        _ => Err(unsupported(format!(
            "{what} that is not computed by the graph, of rank {rank}"
        ))),
    }
}
