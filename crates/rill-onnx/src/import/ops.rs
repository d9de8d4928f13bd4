//! One ONNX node → Rill layers (or a folded constant).

use super::layers::*;
use super::{fold, Importer, Value, BATCH};
use crate::attributes::Attributes;
use crate::error::{invalid, unsupported, Result};
use crate::proto::NodeProto;
use crate::tensors::{read, Const};
use rill_core::Tensor;
use rill_nn::layers::{
    ActivationLayer, Configurable, Dense, Embedding, Flatten, GlobalMaxPooling1D,
    LayerNormalization, Reshape, Softmax,
};
use rill_nn::{Activation, Node};

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

/// Window pads from `pads` / `auto_pad` for a 2-D window over (C, H, W) inputs.
fn window_pads(
    a: &Attributes,
    s: &[usize],
    k: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
) -> Result<[usize; 4]> {
    let auto = a.string("auto_pad")?.unwrap_or_else(|| "NOTSET".into());
    match auto.as_str() {
        "NOTSET" => {
            let p = a.ints("pads")?.unwrap_or_else(|| vec![0; 4]);
            if p.len() != 4 || p.iter().any(|&v| !(0..=1 << 20).contains(&v)) {
                return Err(invalid(format!("pads {p:?} must be four sizes")));
            }
            Ok([p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize])
        }
        "VALID" => Ok([0; 4]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut pads = [0; 4];
            for ax in 0..2 {
                let (small, large) =
                    rill_core::same_padding(s[ax + 1], k[ax], strides[ax], dilations[ax]);
                let (begin, end) = if auto == "SAME_UPPER" {
                    (small, large)
                } else {
                    (large, small)
                };
                pads[ax] = begin;
                pads[ax + 2] = end;
            }
            Ok(pads)
        }
        other => Err(unsupported(format!("auto_pad '{other}'"))),
    }
}

fn pair(a: &Attributes, name: &str, default: [usize; 2]) -> Result<[usize; 2]> {
    match a.ints(name)? {
        None => Ok(default),
        Some(v) if v.len() == 2 && v.iter().all(|&x| (1..=1 << 20).contains(&x)) => {
            Ok([v[0] as usize, v[1] as usize])
        }
        Some(v) => Err(unsupported(format!(
            "{name} {v:?}: only 2-D windows with positive sizes are supported"
        ))),
    }
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
    let any_node = inputs
        .iter()
        .flatten()
        .any(|v| matches!(v, Value::Node { .. }));
    if !any_node {
        let consts: Vec<Option<Const>> = inputs
            .iter()
            .map(|v| {
                v.as_ref().map(|v| match v {
                    Value::Const { value, .. } => value.clone(),
                    Value::Node { .. } => unreachable!("no node inputs here"),
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
    let dynamic = |i: usize| -> Result<(Node, Vec<usize>)> {
        match inputs.get(i) {
            Some(Some(Value::Node { node, shape })) => Ok((*node, shape.clone())),
            _ => Err(unsupported(format!(
                "input {i} must be computed by the graph, not a constant"
            ))),
        }
    };
    let constant_input = |i: usize, what: &str| -> Result<Const> {
        match inputs.get(i) {
            Some(Some(Value::Const { value, .. })) => Ok(value.clone()),
            Some(Some(Value::Node { .. })) => Err(unsupported(format!(
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
    let activation = |imp: &mut Importer, act: Activation| -> Result<Value> {
        let (x, s) = dynamic(0)?;
        imp.layer(node, ActivationLayer::new(act), x, &s, vec![])
    };
    let unary = |imp: &mut Importer, layer: OnnxUnary| -> Result<Value> {
        let (x, s) = dynamic(0)?;
        imp.layer(node, layer, x, &s, vec![])
    };
    match op {
        "Identity" | "Dropout" => {
            only_first_output()?;
            dynamic(0).map(|(node, shape)| Value::Node { node, shape })
        }
        // Rill computes in f32; integer casts of computed values keep them as floats that
        // hold whole numbers (what Embedding reads).
        "Cast" => dynamic(0).map(|(node, shape)| Value::Node { node, shape }),
        "Relu" => activation(imp, Activation::Relu),
        "Sigmoid" => activation(imp, Activation::Sigmoid),
        "Tanh" => activation(imp, Activation::Tanh),
        "Softplus" => activation(imp, Activation::Softplus),
        "Elu" => match a.float("alpha", 1.0)? {
            1.0 => activation(imp, Activation::Elu),
            alpha => Err(unsupported(format!("Elu with alpha {alpha} (only 1.0)"))),
        },
        "Gelu" => match a.string("approximate")?.as_deref() {
            None | Some("none") => activation(imp, Activation::Gelu),
            Some(other) => Err(unsupported(format!(
                "Gelu with approximate='{other}' (only 'none')"
            ))),
        },
        "LeakyRelu" => unary(imp, OnnxUnary::leaky_relu(a.float("alpha", 0.01)? as f64)),
        "Erf" | "Neg" | "Sqrt" | "Exp" | "Log" | "Abs" | "Reciprocal" => {
            unary(imp, OnnxUnary::new(&op.to_lowercase()))
        }
        "Clip" => {
            let bound = |i: usize, attr: &str, default: f32| -> Result<f32> {
                if imp.opset >= 11 {
                    Ok(optional_const(i, attr)?
                        .and_then(|c| c.first_float())
                        .unwrap_or(default))
                } else {
                    a.float(attr, default)
                }
            };
            let (lo, hi) = (
                bound(1, "min", f32::NEG_INFINITY)?,
                bound(2, "max", f32::INFINITY)?,
            );
            if lo == 0.0 && hi == f32::INFINITY {
                activation(imp, Activation::Relu)
            } else {
                unary(imp, OnnxUnary::clip(lo as f64, hi as f64))
            }
        }
        "Softmax" | "LogSoftmax" => {
            let (x, s) = dynamic(0)?;
            let r = s.len() + 1;
            let default = if imp.opset >= 13 { -1 } else { 1 };
            let axis = not_batch(axis_of(a.int("axis", default)?, r)?, op)?;
            if imp.opset < 13 && axis != r - 1 {
                return Err(unsupported(format!("{op} before opset 13 over axis {axis} of a rank-{r} input (it flattens the trailing axes)")));
            }
            if op == "Softmax" && axis == r - 1 {
                imp.layer(node, Softmax::new(), x, &s, vec![])
            } else {
                imp.layer(
                    node,
                    OnnxSoftmax::from_config(SoftmaxConfig {
                        axis,
                        log: op == "LogSoftmax",
                    })?,
                    x,
                    &s,
                    vec![],
                )
            }
        }
        "Gemm" => {
            let (x, s) = dynamic(0)?;
            if s.len() != 1 {
                return Err(invalid(format!(
                    "Gemm takes (batch, features) inputs, found {}",
                    rill_nn::batch_shape(&s)
                )));
            }
            if a.int("transA", 0)? != 0 {
                return Err(unsupported("Gemm with transA=1 on a batch"));
            }
            let b = constant_input(1, "B")?;
            if b.shape().len() != 2 {
                return Err(invalid(format!(
                    "B has shape {:?}, not a matrix",
                    b.shape()
                )));
            }
            let mut kernel = imp.tensor(&b, "B")?;
            if a.int("transB", 0)? != 0 {
                kernel = kernel.transpose(0, 1)?.contiguous();
            }
            let alpha = a.float("alpha", 1.0)?;
            if alpha != 1.0 {
                kernel = kernel.mul_scalar(alpha as f64)?;
            }
            let (k, n) = (kernel.shape()[0], kernel.shape()[1]);
            if k != s[0] {
                return Err(invalid(format!(
                    "B has {k} rows for inputs of {} features",
                    s[0]
                )));
            }
            let mut weights = vec![kernel];
            let c = optional_const(2, "C")?;
            if let Some(c) = &c {
                let beta = a.float("beta", 1.0)?;
                if c.len() != 1 && c.len() != n {
                    return Err(unsupported(format!(
                        "Gemm's C of shape {:?} (only a bias of {n} or one value)",
                        c.shape()
                    )));
                }
                imp.budget.charge("C", n, 4)?;
                let bias: Vec<f32> = match c.first_float() {
                    Some(v) if c.len() == 1 => vec![v * beta; n],
                    _ => c.floats().iter().map(|v| v * beta).collect(),
                };
                weights.push(Tensor::from_vec(bias, &[n])?);
            }
            imp.layer(node, Dense::new(n).use_bias(c.is_some()), x, &s, weights)
        }
        "MatMul" => {
            let (x, s) = dynamic(0)?;
            let b = constant_input(1, "B")?;
            if b.shape().len() != 2 || s.last() != Some(&b.shape()[0]) {
                return Err(unsupported(format!(
                    "MatMul of inputs {} with a constant of shape {:?} (only a matrix whose rows match the last axis)",
                    rill_nn::batch_shape(&s),
                    b.shape()
                )));
            }
            let n = b.shape()[1];
            imp.layer(
                node,
                Dense::new(n).use_bias(false),
                x,
                &s,
                vec![imp.tensor(&b, "B")?],
            )
        }
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
        "Conv" => {
            let (x, s) = dynamic(0)?;
            if s.len() == 2 {
                return lifted_1d(imp, node, x, &s);
            }
            let w = constant_input(1, "W")?;
            if s.len() != 3 || w.shape().len() != 4 {
                return Err(unsupported(format!(
                    "Conv on inputs {} with weights {:?}: only 2-D convolutions (N, C, H, W) are supported",
                    rill_nn::batch_shape(&s),
                    w.shape()
                )));
            }
            let ws = w.shape().to_vec();
            let kernel_shape = pair(&a, "kernel_shape", [ws[2], ws[3]])?;
            if kernel_shape != [ws[2], ws[3]] {
                return Err(invalid(format!(
                    "kernel_shape {kernel_shape:?} disagrees with weights {ws:?}"
                )));
            }
            let strides = pair(&a, "strides", [1, 1])?;
            let dilations = pair(&a, "dilations", [1, 1])?;
            let group = a.int("group", 1)?;
            if group < 1 || s[0] as i64 % group != 0 || ws[1] as i64 * group != s[0] as i64 {
                return Err(invalid(format!(
                    "group {group} with weights {ws:?} does not fit {} input channels",
                    s[0]
                )));
            }
            let pads = window_pads(&a, &s, kernel_shape, strides, dilations)?;
            let bias = optional_const(2, "B")?;
            let mut weights = vec![imp.tensor(&w, "W")?];
            if let Some(b) = &bias {
                weights.push(imp.tensor(b, "B")?);
            }
            let layer = OnnxConv::from_config(ConvConfig {
                filters: ws[0],
                kernel_shape,
                strides,
                pads,
                dilations,
                group: group as usize,
                use_bias: bias.is_some(),
            })?;
            imp.layer(node, layer, x, &s, weights)
        }
        "MaxPool" | "AveragePool" => {
            only_first_output()?;
            let (x, s) = dynamic(0)?;
            if s.len() == 2 {
                return lifted_1d(imp, node, x, &s);
            }
            if s.len() != 3 {
                return Err(unsupported(format!(
                    "{op} on inputs {}: only 2-D pooling (N, C, H, W)",
                    rill_nn::batch_shape(&s)
                )));
            }
            let kernel = pair(&a, "kernel_shape", [0, 0])?;
            if kernel == [0, 0] {
                return Err(invalid("kernel_shape is missing"));
            }
            let strides = pair(&a, "strides", [1, 1])?;
            if pair(&a, "dilations", [1, 1])? != [1, 1] {
                return Err(unsupported("pooling with dilations"));
            }
            if a.int("storage_order", 0)? != 0 {
                return Err(unsupported("storage_order=1"));
            }
            let pads = window_pads(&a, &s, kernel, strides, [1, 1])?;
            if a.int("ceil_mode", 0)? != 0 {
                // Rounding up matters only when a window would start inside the padding's end.
                for ax in 0..2 {
                    let span = s[ax + 1] + pads[ax] + pads[ax + 2];
                    if span >= kernel[ax] && (span - kernel[ax]) % strides[ax] != 0 {
                        return Err(unsupported("ceil_mode=1 where it changes the output size"));
                    }
                }
            }
            let layer = OnnxPool::from_config(PoolConfig {
                mode: if op == "MaxPool" { "max" } else { "average" }.into(),
                kernel_shape: kernel,
                strides,
                pads,
                count_include_pad: a.int("count_include_pad", 0)? != 0,
            })?;
            imp.layer(node, layer, x, &s, vec![])
        }
        "GlobalAveragePool" => {
            let (x, s) = dynamic(0)?;
            if s.len() < 2 {
                return Err(invalid(format!(
                    "GlobalAveragePool needs spatial axes, found {}",
                    rill_nn::batch_shape(&s)
                )));
            }
            let layer = OnnxReduceMean::from_config(ReduceMeanConfig {
                axes: (2..=s.len()).collect(),
                keepdims: true,
            })?;
            imp.layer(node, layer, x, &s, vec![])
        }
        "ReduceMean" => {
            let (x, s) = dynamic(0)?;
            let r = s.len() + 1;
            let axes = axes(18)?;
            let axes = axes.ok_or_else(|| {
                unsupported("ReduceMean over every axis, the batch axis included")
            })?;
            let axes = axes
                .iter()
                .map(|&v| axis_of(v, r).and_then(|v| not_batch(v, "ReduceMean")))
                .collect::<Result<Vec<_>>>()?;
            let layer = OnnxReduceMean::from_config(ReduceMeanConfig {
                axes,
                keepdims: a.int("keepdims", 1)? != 0,
            })?;
            imp.layer(node, layer, x, &s, vec![])
        }
        "ReduceMax" => {
            // The largest value over the steps of (steps, channels) samples: Keras'
            // GlobalMaxPooling1D, as Rill exports it.
            let (x, s) = dynamic(0)?;
            let axes = axes(18)?;
            let steps_only = axes.is_some_and(|axes| matches!(axes[..], [1] | [-2]));
            if s.len() != 2 || !steps_only || a.int("keepdims", 1)? != 0 {
                return Err(unsupported(
                    "ReduceMax other than over axis 1 of (batch, steps, channels) inputs with keepdims=0",
                ));
            }
            imp.layer(node, GlobalMaxPooling1D::new(), x, &s, vec![])
        }
        "BatchNormalization" => {
            only_first_output()?;
            if a.int("training_mode", 0)? != 0 {
                return Err(unsupported(
                    "BatchNormalization with training_mode=1 in an inference graph",
                ));
            }
            let (x, s) = dynamic(0)?;
            let c = *s
                .first()
                .ok_or_else(|| invalid("BatchNormalization needs a channel axis"))?;
            let params = (1..5)
                .map(|i| {
                    let p = constant_input(i, ["scale", "B", "input_mean", "input_var"][i - 1])?;
                    if p.shape() != [c] {
                        return Err(invalid(format!(
                            "a parameter of shape {:?} for {c} channels",
                            p.shape()
                        )));
                    }
                    imp.tensor(&p, "a normalisation parameter")
                })
                .collect::<Result<Vec<_>>>()?;
            let layer = OnnxBatchNorm::from_config(BatchNormConfig {
                epsilon: a.float("epsilon", 1e-5)? as f64,
                momentum: a.float("momentum", 0.9)? as f64,
            })?;
            imp.layer(node, layer, x, &s, params)
        }
        "LayerNormalization" => {
            only_first_output()?;
            let (x, s) = dynamic(0)?;
            let r = s.len() + 1;
            if axis_of(a.int("axis", -1)?, r)? != r - 1 {
                return Err(unsupported(
                    "LayerNormalization over more than the last axis",
                ));
            }
            let c = *s
                .last()
                .ok_or_else(|| invalid("LayerNormalization needs a feature axis"))?;
            let scale = constant_input(1, "Scale")?;
            let bias = optional_const(2, "B")?;
            if scale.shape() != [c] || bias.as_ref().is_some_and(|b| b.shape() != [c]) {
                return Err(unsupported(format!(
                    "LayerNormalization parameters that are not vectors of {c}"
                )));
            }
            let beta = match &bias {
                Some(b) => imp.tensor(b, "B")?,
                None => Tensor::zeros(&[c], rill_core::DType::F32),
            };
            let layer = LayerNormalization::new().epsilon(a.float("epsilon", 1e-5)? as f64);
            imp.layer(node, layer, x, &s, vec![imp.tensor(&scale, "Scale")?, beta])
        }
        "Flatten" => {
            let (x, s) = dynamic(0)?;
            let axis = axis_of(a.int("axis", 1)?, s.len() + 1 + 1).map(|v| v.min(s.len() + 1))?;
            if axis == 1 {
                imp.layer(node, Flatten::new(), x, &s, vec![])
            } else if axis > 1 && s[..axis - 1].iter().all(|&d| d == 1) {
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
        "Transpose" => {
            let (x, s) = dynamic(0)?;
            let r = s.len() + 1;
            let perm = match a.ints("perm")? {
                Some(p) => p
                    .iter()
                    .map(|&v| axis_of(v, r))
                    .collect::<Result<Vec<_>>>()?,
                None => (0..r).rev().collect(),
            };
            if perm.first() != Some(&0) {
                return Err(unsupported(format!(
                    "Transpose with perm {perm:?}, which moves the batch axis"
                )));
            }
            imp.layer(
                node,
                OnnxTranspose::from_config(TransposeConfig { perm })?,
                x,
                &s,
                vec![],
            )
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
        "Gather" => {
            let table = constant_input(0, "data")?;
            let (ids, s) = dynamic(1)?;
            if table.shape().len() != 2 || a.int("axis", 0)? != 0 {
                return Err(unsupported(
                    "Gather from anything but a constant table's rows (an embedding lookup)",
                ));
            }
            let (rows, cols) = (table.shape()[0], table.shape()[1]);
            imp.layer(
                node,
                Embedding::new(rows, cols),
                ids,
                &s,
                vec![imp.tensor(&table, "the table")?],
            )
        }
        "Pad" => {
            let (x, s) = dynamic(0)?;
            let r = s.len() + 1;
            let mode = a.string("mode")?.unwrap_or_else(|| "constant".into());
            if mode != "constant" {
                return Err(unsupported(format!(
                    "Pad in '{mode}' mode (only 'constant')"
                )));
            }
            let (pads, value) = if imp.opset >= 11 {
                let pads = constant_input(1, "pads")?.ints("pads")?.to_vec();
                let value = optional_const(2, "constant_value")?
                    .and_then(|c| c.first_float())
                    .unwrap_or(0.0);
                if optional_const(3, "axes")?.is_some() {
                    return Err(unsupported("Pad with axes"));
                }
                (pads, value)
            } else {
                (a.ints("pads")?.unwrap_or_default(), a.float("value", 0.0)?)
            };
            if pads.len() != 2 * r || pads.iter().any(|&p| p < 0) {
                return Err(unsupported(format!(
                    "pads {pads:?} for a rank-{r} input (only non-negative pads on every axis)"
                )));
            }
            if pads[0] != 0 || pads[r] != 0 {
                return Err(unsupported("padding the batch axis"));
            }
            let pairs = (1..r)
                .map(|i| (pads[i] as usize, pads[i + r] as usize))
                .collect();
            imp.layer(
                node,
                OnnxPad::from_config(PadConfig {
                    pads: pairs,
                    value: value as f64,
                })?,
                x,
                &s,
                vec![],
            )
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
            if super::SUPPORTED_OPS.contains(&other) {
                Err(unsupported(format!("{other} on these inputs")))
            } else {
                Err(unsupported(format!(
                    "op {other} is not supported; Rill imports {}",
                    super::SUPPORTED_OPS.join(", ")
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
