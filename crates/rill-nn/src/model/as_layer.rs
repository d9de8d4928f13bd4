//! A model is a layer: nested in another model it runs its graph, exposes its variables under
//! its own name, and freezes or unfreezes as one (`base.set_trainable(false)`).

use super::Model;
use crate::layers::Layer;
use crate::{Error, Result, Variable};
use rill_core::Tensor;

impl Layer for Model {
    fn kind(&self) -> &'static str {
        if self.sequential {
            "Sequential"
        } else {
            "Functional"
        }
    }
    fn compute_output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (ins, outs) = (self.input_shapes(), self.output_shapes());
        if ins.len() != 1 || outs.len() != 1 {
            return Err(Error::Config(format!(
                "{}: a model with {} inputs and {} outputs cannot be used as a single layer; call it with call_many",
                self.name,
                ins.len(),
                outs.len()
            )));
        }
        if ins[0].as_slice() != input_shape {
            return Err(Error::Input(format!(
                "{}: built for inputs {}, found {}",
                self.name,
                crate::batch_shape(&ins[0]),
                crate::batch_shape(input_shape)
            )));
        }
        Ok(outs[0].clone())
    }
    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if self.graph.is_none() {
            Model::build(self, input_shape)?;
        }
        self.compute_output_shape(input_shape).map(|_| ())
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        Model::call(self, x, training)
    }
    fn variables(&self) -> Vec<Variable> {
        Model::variables(self)
    }
    fn variable_names(&self) -> Vec<String> {
        self.named_variables().into_iter().map(|(n, _)| n).collect()
    }
    fn regularization_loss(&self) -> Result<Option<Tensor>> {
        Model::regularization_loss(self)
    }
    fn config(&self) -> Option<serde_json::Value> {
        self.get_config().ok()
    }
    fn reset_states(&self) {
        Model::reset_states(self)
    }
    fn as_model(&self) -> Option<&Model> {
        Some(self)
    }
}

impl Model {
    /// A second handle on this model: the same layers and weights (training either trains
    /// both), its own compile state. What Keras does when a built model is reused inside
    /// another, as in `Sequential([model, Softmax()])`.
    ///
    /// ```
    /// use rill_nn::prelude::*;
    /// let model = Sequential::new(vec![Box::new(Dense::new(3))]).with_input_shape(&[2])?;
    /// let probabilities = Sequential::new(vec![Box::new(model.share()?), Box::new(Softmax::new())])
    ///     .with_input_shape(&[2])?;
    /// model.set_weights(&[Tensor::ones(&[2, 3], DType::F32), Tensor::zeros(&[3], DType::F32)])?;
    /// // The nested handle sees the new weights: equal logits, a uniform softmax.
    /// let p = probabilities.predict(&Tensor::ones(&[1, 2], DType::F32), 1)?;
    /// assert!(p.to_vec::<f32>()?.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-6));
    /// # Ok::<(), rill_nn::Error>(())
    /// ```
    pub fn share(&self) -> Result<Model> {
        use super::graph::{Graph, GraphNode, Op};
        let g = self.graph("share")?;
        let nodes = g
            .nodes
            .iter()
            .map(|n| {
                let op = match &n.op {
                    Op::Input(d) => Op::Input(*d),
                    Op::Layer(l) => Op::Layer(l.clone()),
                };
                Ok(GraphNode {
                    name: n.name.clone(),
                    op,
                    parents: n.parents.clone(),
                    shape: n.shape.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let graph = Graph::new(nodes, g.inputs.clone(), g.outputs.clone())?;
        Ok(Model::from_graph(&self.name, self.sequential, graph))
    }
}
