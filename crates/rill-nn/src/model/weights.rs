//! A model's layers and weights: by name, as tensors, trainable or not.

use super::Model;
use crate::layers::Layer;
use crate::{Error, Result, Variable};
use rill_core::Tensor;
use std::sync::Arc;

impl Model {
    /// The layers of a built model, in graph order, with their names.
    pub fn layers(&self) -> Vec<(&str, &Arc<dyn Layer>)> {
        self.graph.iter().flat_map(|g| g.layers()).collect()
    }
    /// Forgets what every stateful layer carries from one batch to the next (Keras'
    /// `model.reset_states()`): the next batch starts from zero states.
    pub fn reset_states(&self) {
        self.layers().iter().for_each(|(_, l)| l.reset_states());
    }
    /// The names of the layers, in graph order.
    pub fn layer_names(&self) -> Vec<String> {
        self.layers().iter().map(|(n, _)| n.to_string()).collect()
    }
    /// The layer called `name` (Keras' `get_layer`): a handle to the layer itself, so freezing
    /// it (`set_trainable(false)`) or using it in another model acts on this model's weights.
    pub fn layer(&self, name: &str) -> Result<Arc<dyn Layer>> {
        self.graph("layer")?
            .layers()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| l.clone())
            .ok_or_else(|| {
                Error::Input(format!(
                    "{}: no layer named '{name}'; its layers are {}",
                    self.name,
                    self.layer_names().join(", ")
                ))
            })
    }

    /// Every variable with its path name (`layer/variable`, `outer/inner/variable` inside a
    /// nested model), in layer order.
    pub fn named_variables(&self) -> Vec<(String, Variable)> {
        self.layers()
            .into_iter()
            .flat_map(|(name, l)| {
                l.variable_names()
                    .into_iter()
                    .zip(l.variables())
                    .map(move |(n, v)| (format!("{name}/{n}"), v))
            })
            .collect()
    }
    /// Every variable, trainable and not, in layer order.
    pub fn variables(&self) -> Vec<Variable> {
        self.layers()
            .into_iter()
            .flat_map(|(_, l)| l.variables())
            .collect()
    }
    /// The variables the optimizer trains now: weights of layers that are not frozen.
    pub fn trainable_variables(&self) -> Vec<Variable> {
        self.variables()
            .into_iter()
            .filter(Variable::is_trainable)
            .collect()
    }
    /// The total number of scalars in all weights (state such as random streams excluded).
    pub fn count_params(&self) -> usize {
        self.variables()
            .iter()
            .filter(|v| !v.is_state())
            .map(Variable::numel)
            .sum()
    }
    /// Copies of every weight, in layer order.
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.variables()
            .iter()
            .filter(|v| !v.is_state())
            .map(|v| v.value().detach())
            .collect()
    }
    /// Replaces every weight (same order, shapes and dtypes as [`Model::get_weights`]).
    pub fn set_weights(&self, weights: &[Tensor]) -> Result<()> {
        let vars: Vec<Variable> = self
            .variables()
            .into_iter()
            .filter(|v| !v.is_state())
            .collect();
        if vars.len() != weights.len() {
            return Err(Error::Input(format!(
                "set_weights: the model has {} weights, found {}",
                vars.len(),
                weights.len()
            )));
        }
        for (v, w) in vars.iter().zip(weights) {
            v.assign(w)
                .map_err(|e| Error::Input(format!("set_weights: weight '{}': {e}", v.name())))?;
        }
        Ok(())
    }
    /// Replaces the variable at path `name` (e.g. `dense/kernel`; same shape and dtype).
    pub fn set_weight(&self, name: &str, value: &Tensor) -> Result<()> {
        let (_, v) = self
            .named_variables()
            .into_iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| Error::Input(format!("set_weight: the model has no weight '{name}'")))?;
        v.assign(value)
            .map_err(|e| Error::Input(format!("weight '{name}': {e}")))
    }
    /// Values of every variable by path name, e.g. `dense/kernel`.
    pub fn named_weights(&self) -> Vec<(String, Tensor)> {
        self.named_variables()
            .into_iter()
            .map(|(n, v)| (n, v.value().detach()))
            .collect()
    }
    /// The penalty the layers add to the loss (kernel regularizers), if any.
    pub fn regularization_loss(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for (_, l) in self.layers() {
            if let Some(p) = l.regularization_loss()? {
                total = Some(match total {
                    Some(t) => t.add(&p)?,
                    None => p,
                });
            }
        }
        Ok(total)
    }
}
