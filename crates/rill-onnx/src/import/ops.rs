//! One ONNX node → Rill layers (or a folded constant).

use super::layers::*;
use super::node_view::NodeView;
use super::{fold, Importer, Value, BATCH};
use crate::attributes::Attributes;
use crate::error::{invalid, unsupported, Result};
use crate::proto::NodeProto;
use crate::tensors::{read, Const};
use rill_nn::layers::{Configurable, Reshape};
use rill_nn::Node;

fn axis_of(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r).contains(&a) {
        return Err(invalid(format!(
            "axis {axis} is out of range for rank {rank}"
        )));
    }
    Ok(a as usize)
}

/// Refuses an `Unsqueeze` to more axes than tensors may have (checked before the axes are
/// inserted one by one).
pub(super) fn unsqueezed_rank(rank: usize) -> Result<()> {
    let most = rill_nn::layers::MAX_RANK;
    if rank > most {
        return Err(unsupported(format!(
            "Unsqueeze to {rank} axes; Rill's tensors have at most {most}"
        )));
    }
    Ok(())
}

/// Refuses sorted axes that name one axis twice (onnxruntime refuses them too).
pub(super) fn no_repeats(sorted_axes: &[usize]) -> Result<()> {
    match sorted_axes.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(invalid(format!("axis {} is named twice", w[0]))),
        None => Ok(()),
    }
}

/// The batch axis belongs to the batch: ops that would move or mix it are refused.
fn not_batch(axis: usize, what: &str) -> Result<usize> {
    if axis == 0 {
        return Err(unsupported(format!("{what} over the batch axis (axis 0) mixes samples; Rill models compute each sample alone")));
    }
    Ok(axis)
}

pub(super) fn convert(imp: &mut Importer, node: &NodeProto) -> Result<Value> {
    let op = node.op_type.as_str();
    let a = Attributes::of(node);
    if op == "Constant" {
        return constant(&a);
    }
    let mut inputs = Vec::with_capacity(node.input.len());
    for name in &node.input {
        inputs.push(if name.is_empty() {
            None
        } else {
            Some(imp.value(name)?)
        });
    }
    if op == "ConstantOfShape" {
        if let Some(Some(Value::Const { value, .. })) = inputs.first() {
            if value.ints("shape")?.contains(&BATCH) {
                let fill = match a.tensor("value")?.map(read).transpose()? {
                    Some(c) => c.floats().first().copied().unwrap_or(0.0),
                    None => 0.0,
                };
                return Ok(Value::Filled { value: fill });
            }
        }
    }
    if !matches!(op, "LSTM" | "GRU" | "RNN")
        && inputs
            .iter()
            .flatten()
            .any(|v| matches!(v, Value::Filled { .. }))
    {
        return Err(unsupported(
            "a constant as large as the batch (ConstantOfShape of the batch size) is read only as a recurrent op's initial state",
        ));
    }
    let any_node = inputs
        .iter()
        .flatten()
        .any(|v| !matches!(v, Value::Const { .. }));
    if !any_node {
        let consts: Vec<Option<Const>> = inputs
            .iter()
            .map(|v| {
                v.as_ref().map(|v| match v {
                    Value::Const { value, .. } => value.clone(),
                    _ => unreachable!("no computed inputs here"),
                })
            })
            .collect();
        let weight = inputs
            .iter()
            .flatten()
            .any(|v| matches!(v, Value::Const { weight: true, .. }));
        let value = fold::evaluate(node, imp.opset, &consts, &imp.budget)?;
        if value.shape().len() > rill_nn::layers::MAX_RANK {
            return Err(unsupported(format!(
                "a constant of {} axes; Rill's tensors have at most {}",
                value.shape().len(),
                rill_nn::layers::MAX_RANK
            )));
        }
        let weight = weight && matches!(value, Const::F32 { .. });
        return Ok(Value::Const { value, weight });
    }
    // Values with the batch axis moved (time-major sequences) and recurrent ops.
    if let Some(v) = super::moved::convert(imp, node, &inputs, &a)? {
        return Ok(v);
    }
    let dynamic = |i: usize| -> Result<(Node, Vec<usize>)> {
        match inputs.get(i) {
            Some(Some(Value::Node { node, shape })) => Ok((*node, shape.clone())),
            Some(Some(Value::Moved { axes, .. })) => Err(unsupported(format!(
                "input {i} has its batch axis moved (ONNX axes {axes:?} of a batch); Rill reads such values only in Transpose, Squeeze, Unsqueeze, Slice and the recurrent ops"
            ))),
            _ => Err(unsupported(format!(
                "input {i} must be computed by the graph, not a constant"
            ))),
        }
    };
    let constant_input = |i: usize, what: &str| -> Result<Const> {
        match inputs.get(i) {
            Some(Some(Value::Const { value, .. })) => Ok(value.clone()),
            Some(Some(_)) => Err(unsupported(format!(
                "{what} (input {i}) must be a constant, not computed by the graph"
            ))),
            _ => Err(invalid(format!("{what} (input {i}) is missing"))),
        }
    };
    let optional_const = |i: usize, what: &str| -> Result<Option<Const>> {
        match inputs.get(i) {
            None | Some(None) => Ok(None),
            Some(_) => constant_input(i, what).map(Some),
        }
    };
    // Axes: an attribute until the op's opset moved them into input 1.
    let axes = |input_from: i64| -> Result<Option<Vec<i64>>> {
        if imp.opset >= input_from {
            optional_const(1, "axes")?
                .map(|c| c.ints("axes").map(<[i64]>::to_vec))
                .transpose()
        } else {
            a.ints("axes")
        }
    };
    let only_first_output = || -> Result<()> {
        if node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(unsupported("only the first output is supported"));
        }
        Ok(())
    };
    // 1-D convolutions and poolings run as 2-D ones of height 1.
    if matches!(op, "Conv" | "MaxPool" | "AveragePool") {
        if let Ok((x, s)) = dynamic(0) {
            if s.len() == 2 {
                return lifted_1d(imp, node, x, &s);
            }
        }
    }
    // A node a layer's import pattern answers to becomes that layer (the patterns live in the
    // layers' files; Keras' layers are asked before the importer's own).
    for (kind, import) in rill_nn::layers::onnx_importers(op) {
        let view = NodeView {
            node,
            attrs: Attributes::of(node),
            inputs: &inputs,
            imp,
        };
        let Some(found) = import(&view)? else {
            continue;
        };
        let (x, s) = dynamic(found.input)?;
        let layer = rill_nn::layers::from_config(kind, &found.config)?;
        return imp.layer_boxed(node, layer, x, &s, found.weights);
    }
    match op {
        "Identity" | "Dropout" => {
            only_first_output()?;
            dynamic(0).map(|(node, shape)| Value::Node { node, shape })
        }
        // Rill computes in f32; integer casts of computed values keep them as floats that
        // hold whole numbers (what Embedding reads).
        "Cast" => dynamic(0).map(|(node, shape)| Value::Node { node, shape }),
        "Add" | "Sub" | "Mul" | "Div" | "Pow" => {
            let arith = match op {
                "Add" => Arithmetic::Add,
                "Sub" => Arithmetic::Sub,
                "Mul" => Arithmetic::Mul,
                "Div" => Arithmetic::Div,
                _ => Arithmetic::Pow,
            };
            match (&inputs[0], inputs.get(1).cloned().flatten()) {
                (Some(Value::Node { .. }), Some(Value::Node { .. })) => {
                    let xs = vec![dynamic(0)?, dynamic(1)?];
                    imp.merge(node, Box::new(OnnxBinary(arith)), &xs)
                }
                (_, Some(_)) => {
                    let constant_first = matches!(inputs[0], Some(Value::Const { .. }));
                    let (xi, ci) = if constant_first { (1, 0) } else { (0, 1) };
                    let (x, s) = dynamic(xi)?;
                    let (c, weight) = match &inputs[ci] {
                        Some(Value::Const { value, weight }) => (value.clone(), *weight),
                        _ => return Err(invalid("missing operand")),
                    };
                    let layer = OnnxConstantOp::from_config(ConstantOpConfig {
                        op: arith,
                        shape: c.shape().to_vec(),
                        constant_first,
                        trainable: weight,
                    })?;
                    imp.layer(
                        node,
                        layer,
                        x,
                        &s,
                        vec![imp.tensor(&c, "the constant operand")?],
                    )
                }
                _ => Err(invalid("missing operand")),
            }
        }
        "Flatten" => {
            let (x, s) = dynamic(0)?;
            let axis = axis_of(a.int("axis", 1)?, s.len() + 1 + 1).map(|v| v.min(s.len() + 1))?;
            // At axis 1, Keras' Flatten took it (its import pattern).
            if axis > 1 && s[..axis - 1].iter().all(|&d| d == 1) {
                let rest: usize = s[axis - 1..].iter().product();
                imp.layer(node, Reshape::new(&[rest]), x, &s, vec![])
            } else {
                Err(unsupported(format!(
                    "Flatten at axis {axis}, which folds samples into each other"
                )))
            }
        }
        "Reshape" => {
            let (x, s) = dynamic(0)?;
            let target = constant_input(1, "shape")?;
            let per_sample =
                reshape_target(&s, target.ints("shape")?, a.int("allowzero", 0)? != 0)?;
            imp.layer(node, Reshape::new(&per_sample), x, &s, vec![])
        }
        "Squeeze" | "Unsqueeze" => {
            let (x, s) = dynamic(0)?;
            let axes = axes(13)?;
            let mut full = vec![usize::MAX];
            full.extend(&s);
            if op == "Unsqueeze" {
                let axes = axes.ok_or_else(|| invalid("Unsqueeze needs axes"))?;
                let r = full.len() + axes.len();
                unsqueezed_rank(r)?;
                let mut norm = axes
                    .iter()
                    .map(|&v| axis_of(v, r).and_then(|v| not_batch(v, op)))
                    .collect::<Result<Vec<_>>>()?;
                norm.sort_unstable();
                no_repeats(&norm)?;
                for v in norm {
                    full.insert(v, 1);
                }
            } else {
                let r = full.len();
                let remove: Vec<usize> = match axes {
                    Some(axes) => axes
                        .iter()
                        .map(|&v| axis_of(v, r).and_then(|v| not_batch(v, op)))
                        .collect::<Result<_>>()?,
                    None => (1..r).filter(|&i| full[i] == 1).collect(),
                };
                if let Some(&bad) = remove.iter().find(|&&i| full[i] != 1) {
                    return Err(invalid(format!(
                        "Squeeze of axis {bad}, which has size {}",
                        full[bad]
                    )));
                }
                full = full
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !remove.contains(i))
                    .map(|(_, &d)| d)
                    .collect();
            }
            imp.layer(node, Reshape::new(&full[1..]), x, &s, vec![])
        }
        // A product by a constant is Dense's pattern; of two computed values, attention's.
        "MatMul" => {
            let xs = vec![dynamic(0)?, dynamic(1)?];
            imp.merge(node, Box::new(OnnxMatMul), &xs)
        }
        "Concat" => {
            let xs = (0..inputs.len()).map(dynamic).collect::<Result<Vec<_>>>()?;
            let r = xs[0].1.len() + 1;
            let axis = not_batch(axis_of(a.int("axis", 0)?, r)?, "Concat")?;
            if xs.len() == 1 {
                let (node, shape) = xs[0].clone();
                return Ok(Value::Node { node, shape });
            }
            imp.merge(node, Box::new(OnnxConcat { axis }), &xs)
        }
        "Shape" => {
            let (_, s) = dynamic(0)?;
            let shape: Vec<i64> = std::iter::once(BATCH)
                .chain(s.iter().map(|&d| d as i64))
                .collect();
            Ok(Value::Const {
                value: fold::slice_shape(&a, shape)?,
                weight: false,
            })
        }
        other => {
            let supported = super::supported_ops();
            if supported.contains(&other) {
                Err(unsupported(format!("{other} on these inputs")))
            } else {
                Err(unsupported(format!(
                    "op {other} is not supported; Rill imports {}",
                    supported.join(", ")
                )))
            }
        }
    }
}

/// A 1-D `Conv` or pooling node (per-sample inputs (channels, steps)) through its 2-D form
/// on (channels, 1, steps): the input reshaped, the weights given a height of 1, each window
/// attribute a leading 1 (and `pads` a 0 at both ends of the new axis), the output reshaped
/// back. The 2-D node is converted as any other.
fn lifted_1d(imp: &mut Importer, node: &NodeProto, x: Node, s: &[usize]) -> Result<Value> {
    let out = node
        .output
        .first()
        .ok_or_else(|| invalid("the node has no output"))?;
    let value = |part: &str| format!("{out}/{part}_as_2d");
    let image = imp.layer(node, Reshape::new(&[s[0], 1, s[1]]), x, s, vec![])?;
    imp.values.insert(value("x"), image);
    let mut lifted = node.clone();
    lifted.input[0] = value("x");
    if node.op_type == "Conv" {
        let w = node
            .input
            .get(1)
            .ok_or_else(|| invalid("Conv needs weights"))?;
        let Value::Const { value: w, weight } = imp.value(w)? else {
            return Err(unsupported(
                "W (input 1) must be a constant, not computed by the graph",
            ));
        };
        let &[o, i, k] = w.shape() else {
            return Err(invalid(format!(
                "a 1-D Conv's weights have shape {:?}, not (out, in, window)",
                w.shape()
            )));
        };
        imp.values.insert(
            value("w"),
            Value::Const {
                value: w.reshaped(vec![o, i, 1, k]),
                weight,
            },
        );
        lifted.input[1] = value("w");
    }
    for attr in &mut lifted.attribute {
        match attr.name.as_str() {
            "kernel_shape" | "strides" | "dilations" if attr.ints.len() == 1 => {
                attr.ints.insert(0, 1)
            }
            "pads" if attr.ints.len() == 2 => attr.ints = vec![0, attr.ints[0], 0, attr.ints[1]],
            _ => {}
        }
    }
    lifted.output = vec![value("y")];
    let Value::Node { node: y, shape } = convert(imp, &lifted)? else {
        return Err(invalid("a convolution of a computed value is computed"));
    };
    imp.layer(node, Reshape::new(&[shape[0], shape[2]]), y, &shape, vec![])
}

/// A `Constant` node's value.
fn constant(a: &Attributes) -> Result<Value> {
    let value = if let Some(t) = a.tensor("value")? {
        read(t)?
    } else if a.has("value_float") {
        Const::f32(vec![], vec![a.float("value_float", 0.0)?])
    } else if let Some(v) = a.ints("value_ints")? {
        Const::i64(vec![v.len()], v)
    } else if a.has("value_int") {
        Const::i64(vec![], vec![a.int("value_int", 0)?])
    } else {
        let names: Vec<&str> = a.names().collect();
        return Err(unsupported(format!("Constant with attributes {names:?} (value, value_float, value_int and value_ints are supported)")));
    };
    Ok(Value::Const {
        value,
        weight: false,
    })
}

/// The per-sample shape of `Reshape(x, target)` for per-sample `s`: the first target axis is
/// the batch (copied with 0, the symbolic batch, −1 or a size), the rest is the sample.
fn reshape_target(s: &[usize], target: &[i64], allowzero: bool) -> Result<Vec<usize>> {
    if target.is_empty() {
        return Err(unsupported(
            "Reshape to a scalar, which drops the batch axis",
        ));
    }
    let most = rill_nn::layers::MAX_RANK;
    if target.len() > most {
        return Err(unsupported(format!(
            "Reshape to {} axes; Rill's tensors have at most {most}",
            target.len()
        )));
    }
    let numel: usize = s.iter().product();
    let rest = &target[1..];
    if target[0] == -1 && rest.iter().all(|&d| d > 0) {
        let shape: Vec<usize> = rest.iter().map(|&d| d as usize).collect();
        if shape.iter().product::<usize>() != numel {
            return Err(unsupported(format!(
                "Reshape to {target:?}, which changes the batch size"
            )));
        }
        return Ok(shape);
    }
    let mut infer = None;
    let mut shape = Vec::with_capacity(rest.len());
    for (i, &d) in rest.iter().enumerate() {
        shape.push(match d {
            0 if !allowzero => *s.get(i).ok_or_else(|| {
                invalid(format!(
                    "Reshape copies axis {} of a rank-{} input",
                    i + 1,
                    s.len() + 1
                ))
            })?,
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            d if d > 0 => d as usize,
            _ => return Err(unsupported(format!("Reshape to {target:?}"))),
        });
    }
    let known: usize = shape.iter().product();
    if let Some(i) = infer {
        if known == 0 || !numel.is_multiple_of(known) {
            return Err(invalid(format!(
                "cannot reshape samples of {numel} values to {target:?}"
            )));
        }
        shape[i] = numel / known;
    }
    if shape.iter().product::<usize>() != numel {
        return Err(unsupported(format!(
            "Reshape of samples of {numel} values to {target:?}"
        )));
    }
    Ok(shape)
}
