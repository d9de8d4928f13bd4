use crate::backend::cpu::{
    recurrent_backward, recurrent_forward, CellKind, Recurrence, RecurrentInputs, Squash,
};
use crate::error::{Error, Result, ShapeDisplay};
use crate::tensor::Tensor;
use std::sync::Arc;

/// A recurrent cell for [`Tensor::recurrence`]: its kind and its two activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecurrentCell {
    /// SimpleRNN, LSTM or GRU.
    pub kind: CellKind,
    /// The candidate state's activation (Keras' `activation`, tanh by default).
    pub activation: Squash,
    /// The gates' activation (Keras' `recurrent_activation`, sigmoid by default).
    pub recurrent_activation: Squash,
}

/// The optional inputs of [`Tensor::recurrence`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RecurrentExtras<'a> {
    /// The LSTM's initial c, (batch, units); zeros when absent.
    pub c0: Option<&'a Tensor>,
    /// The recurrent bias of a GRU with `reset_after`, (3·units).
    pub recurrent_bias: Option<&'a Tensor>,
    /// (batch, steps): a zero marks a padding step, over which the states carry on unchanged.
    pub mask: Option<&'a Tensor>,
    /// The bias of the step inputs, (gates·units): added to each step's as it is read, instead
    /// of in a pass of its own over (batch, steps, gates·units).
    pub input_bias: Option<&'a Tensor>,
    /// Return only the last step's states, (batch, states·units), not every step's.
    pub last_only: bool,
    /// Recurrent dropout: (batch, units), multiplying h before every recurrent product (0 for
    /// a dropped unit, 1 / (1 − rate) for a kept one), the same at every step; no gradient.
    pub state_keep: Option<&'a Tensor>,
    /// The input kernel `W` (features, gates·units), `self` then being the sequences `x`
    /// (batch, steps, features): without gradients, each step's projection is made inside
    /// the loop and the whole projection never exists; with them, it is `x · W` first.
    pub input_kernel: Option<&'a Tensor>,
}

impl Tensor {
    /// Runs a recurrent cell over every step of a sequence: `self` holds each step's input
    /// projection `x · W` (plus [`RecurrentExtras::input_bias`]), shaped (batch, steps, gates·units) with the gates in Keras'
    /// order (LSTM i, f, c, o; GRU z, r, h); `kernel` is the recurrent kernel (units,
    /// gates·units); `h0` the initial state (batch, units). The result is (batch, steps,
    /// units) — h after each step — and for an LSTM (batch, steps, 2·units): h then c; with
    /// [`RecurrentExtras::last_only`], the last step's alone (batch, units or 2·units).
    /// One op each way, whose gradient reaches every input but the mask.
    ///
    /// ```
    /// use rill_core::{CellKind, RecurrentCell, RecurrentExtras, Squash, Tensor};
    /// let cell = RecurrentCell {
    ///     kind: CellKind::SimpleRnn,
    ///     activation: Squash::Linear,
    ///     recurrent_activation: Squash::Sigmoid,
    /// };
    /// // h_t = x_t + 2·h_{t-1} for one sequence of three steps, one unit.
    /// let x = Tensor::from_vec(vec![1.0f32, 1.0, 1.0], &[1, 3, 1])?;
    /// let u = Tensor::from_vec(vec![2.0f32], &[1, 1])?;
    /// let h0 = Tensor::zeros(&[1, 1], x.dtype());
    /// let h = x.recurrence(&cell, &u, &h0, RecurrentExtras::default())?;
    /// assert_eq!(h.to_vec::<f32>()?, vec![1.0, 3.0, 7.0]);
    /// # Ok::<(), rill_core::Error>(())
    /// ```
    pub fn recurrence(
        &self,
        cell: &RecurrentCell,
        kernel: &Tensor,
        h0: &Tensor,
        extras: RecurrentExtras<'_>,
    ) -> Result<Tensor> {
        const OP: &str = "recurrence";
        if let Some(w) = extras.input_kernel {
            if Tensor::records_from(&[self, w, kernel, h0]) || self.rank() != 3 {
                let xw = self.matmul(w)?;
                let extras = RecurrentExtras {
                    input_kernel: None,
                    ..extras
                };
                return xw.recurrence(cell, kernel, h0, extras);
            }
        }
        let r = self.recurrence_geometry(cell, kernel, h0, &extras)?;
        let mask: Option<Arc<Vec<bool>>> = match extras.mask {
            Some(m) => Some(Arc::new(
                m.to_dtype(crate::DType::F64)?
                    .to_vec::<f64>()?
                    .iter()
                    .map(|&v| v != 0.0)
                    .collect(),
            )),
            None => None,
        };
        let zeros_c0;
        let c0 = match (cell.kind, extras.c0) {
            (CellKind::Lstm, None) => {
                zeros_c0 = Tensor::zeros(h0.shape(), self.dtype());
                Some(&zeros_c0)
            }
            (_, c0) => c0,
        };
        let mut inputs: Vec<&Tensor> = vec![self, kernel, h0];
        // Where each optional input sits among the recorded inputs.
        let c0_at = c0.map(|t| {
            inputs.push(t);
            inputs.len() - 1
        });
        let bias_at = extras.recurrent_bias.map(|t| {
            inputs.push(t);
            inputs.len() - 1
        });
        let input_bias_at = extras.input_bias.map(|t| {
            inputs.push(t);
            inputs.len() - 1
        });
        let keep = Tensor::records_from(&inputs);
        let width = cell.kind.states() * r.units;
        let out_shape = match extras.last_only {
            true => vec![r.batch, width],
            false => vec![r.batch, r.steps, width],
        };
        crate::dispatch_float!(self.dtype(), OP, T => {
            let (xw, k, h) = (self.data::<T>()?, kernel.data::<T>()?, h0.data::<T>()?);
            let w = extras.input_kernel.map(|w| w.data::<T>()).transpose()?;
            let c = c0.map(|c| c.data::<T>()).transpose()?;
            let b = extras.recurrent_bias.map(|b| b.data::<T>()).transpose()?;
            let ib = extras.input_bias.map(|b| b.data::<T>()).transpose()?;
            let keep_mask: Option<Arc<Vec<T>>> = extras
                .state_keep
                .map(|m| m.to_dtype(self.dtype())?.to_vec::<T>().map(Arc::new))
                .transpose()?;
            let (values, saved) = recurrent_forward(
                &r,
                RecurrentInputs {
                    xw: &xw,
                    input_kernel: w.as_deref().map(|w| (w, self.shape()[2])),
                    input_bias: ib.as_deref(),
                    kernel: &k,
                    h0: &h,
                    c0: c.as_deref(),
                    recurrent_bias: b.as_deref(),
                    mask: mask.as_deref().map(|m| &m[..]),
                    state_keep: keep_mask.as_deref().map(|m| &m[..]),
                },
                keep,
            );
            let saved = Arc::new(saved);
            Ok(Tensor::record(
                <T as crate::Element>::into_storage(values),
                &out_shape,
                &inputs,
                OP,
                move |ctx| {
                    let at = |i: Option<usize>| i.map(|i| ctx.inputs[i].data::<T>()).transpose();
                    let (xw, k, h) = (
                        ctx.inputs[0].data::<T>()?,
                        ctx.inputs[1].data::<T>()?,
                        ctx.inputs[2].data::<T>()?,
                    );
                    let (c, b, dy) = (at(c0_at)?, at(bias_at)?, ctx.grad.data::<T>()?);
                    let ib = at(input_bias_at)?;
                    let grads = recurrent_backward(
                        &r,
                        RecurrentInputs {
                            xw: &xw,
                            input_kernel: None,
                            input_bias: ib.as_deref(),
                            kernel: &k,
                            h0: &h,
                            c0: c.as_deref(),
                            recurrent_bias: b.as_deref(),
                            mask: mask.as_deref().map(|m| &m[..]),
                            state_keep: keep_mask.as_deref().map(|m| &m[..]),
                        },
                        &saved,
                        &dy,
                    );
                    let tensor = |v: Vec<T>, like: &Tensor| {
                        Tensor::from_parts(<T as crate::Element>::into_storage(v), like.shape())
                    };
                    let mut out = vec![
                        ctx.needs[0].then(|| tensor(grads.xw, &ctx.inputs[0])),
                        ctx.needs[1].then(|| tensor(grads.kernel, &ctx.inputs[1])),
                        ctx.needs[2].then(|| tensor(grads.h0, &ctx.inputs[2])),
                    ];
                    if let Some(i) = c0_at {
                        out.push(ctx.needs[i].then(|| tensor(grads.c0, &ctx.inputs[i])));
                    }
                    if let Some(i) = bias_at {
                        out.push(
                            ctx.needs[i].then(|| tensor(grads.recurrent_bias, &ctx.inputs[i])),
                        );
                    }
                    if let Some(i) = input_bias_at {
                        out.push(ctx.needs[i].then(|| tensor(grads.input_bias, &ctx.inputs[i])));
                    }
                    Ok(out)
                },
            ))
        })
    }

    /// Checks the shapes and dtypes of [`Tensor::recurrence`]'s inputs; the loop's size.
    fn recurrence_geometry(
        &self,
        cell: &RecurrentCell,
        kernel: &Tensor,
        h0: &Tensor,
        extras: &RecurrentExtras<'_>,
    ) -> Result<Recurrence> {
        const OP: &str = "recurrence";
        let bad = |what: String| Error::shape(OP, what);
        let &[batch, steps, inner] = self.shape() else {
            return Err(bad(format!(
                "expected step inputs (batch, steps, gates·units), found {}",
                ShapeDisplay(self.shape())
            )));
        };
        // With an input kernel, `self` holds the features and the kernel gives the width.
        let width = match extras.input_kernel {
            Some(w) if w.shape() == [inner, kernel.shape().get(1).copied().unwrap_or(0)] => {
                w.shape()[1]
            }
            Some(w) => {
                return Err(bad(format!(
                    "an input kernel of shape {} for sequences of {inner} features and a recurrent kernel of shape {}",
                    ShapeDisplay(w.shape()),
                    ShapeDisplay(kernel.shape())
                )))
            }
            None => inner,
        };
        let gates = cell.kind.gates();
        let units = width / gates;
        if units == 0 || width % gates != 0 {
            return Err(bad(format!(
                "step inputs of width {width} are not {gates} gate blocks of units"
            )));
        }
        let expect = |name: &str, t: &Tensor, shape: &[usize]| -> Result<()> {
            if t.shape() != shape {
                return Err(bad(format!(
                    "{name} of shape {} for {} step inputs; expected {}",
                    ShapeDisplay(t.shape()),
                    ShapeDisplay(self.shape()),
                    ShapeDisplay(shape)
                )));
            }
            if t.dtype() != self.dtype() && !name.contains("mask") {
                return Err(Error::dtype(
                    OP,
                    format!("{name} is {}, the step inputs {}", t.dtype(), self.dtype()),
                ));
            }
            Ok(())
        };
        expect("recurrent kernel", kernel, &[units, width])?;
        if let Some(w) = extras.input_kernel {
            expect("input kernel", w, &[inner, width])?;
        }
        expect("initial h", h0, &[batch, units])?;
        if let Some(c0) = extras.c0 {
            if cell.kind != CellKind::Lstm {
                return Err(bad("only an LSTM carries a c state".into()));
            }
            expect("initial c", c0, &[batch, units])?;
        }
        let wants_bias = cell.kind == (CellKind::Gru { reset_after: true });
        match extras.recurrent_bias {
            Some(b) if wants_bias => expect("recurrent bias", b, &[width])?,
            Some(_) => {
                return Err(bad(
                    "a recurrent bias belongs to a GRU with reset_after only".into(),
                ))
            }
            None => {}
        }
        if let Some(m) = extras.mask {
            expect("mask", m, &[batch, steps])?;
        }
        if let Some(b) = extras.input_bias {
            expect("input bias", b, &[width])?;
        }
        if let Some(m) = extras.state_keep {
            expect("state keep mask", m, &[batch, units])?;
        }
        Ok(Recurrence {
            kind: cell.kind,
            batch,
            steps,
            units,
            activation: cell.activation,
            recurrent_activation: cell.recurrent_activation,
            sequences: !extras.last_only,
        })
    }
}
