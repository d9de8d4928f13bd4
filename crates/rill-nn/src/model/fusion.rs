//! The rewrite a model's graph goes through when it is built (made, loaded or compiled): pairs
//! of layers that run faster as one step, found by what the layers are, not by hooks on
//! [`Layer`]. The graph keeps both layers (their names, weights and configs are what is saved
//! and summarised); its execution plan runs the pair as one step where the first layer's own
//! output is read by the second alone and is no model output.
//!
//! - `Conv2D` (ReLU or no activation) → `MaxPooling2D`: pools the raw convolution, then adds
//!   the bias and applies the ReLU to a quarter of the values ([`Conv2D::call_then_max_pool`]).
//! - `BatchNormalization` (training, unfrozen) → ReLU: the normalized values never go to
//!   memory ([`BatchNormalization::call_then_relu`]).

use crate::layers::{ActivationLayer, BatchNormalization, Conv2D, Layer, MaxPooling2D, ReLU};
use crate::{Activation, Result};
use rill_core::Tensor;
use std::any::Any;
use std::sync::Arc;

/// Runs a fused pair on the first layer's input: the second layer's output, or `None` where
/// the pair must run apart this time (a batch normalization in inference).
pub(crate) type FusedCall = Box<dyn Fn(&Tensor, bool) -> Option<Result<Tensor>> + Send + Sync>;

/// A rule: the fused step for `first` read by `second`, if the two fuse.
type Rule = fn(&Arc<dyn Layer>, &dyn Layer) -> Option<FusedCall>;

const RULES: [Rule; 2] = [conv_then_max_pool, batch_normalization_then_relu];

/// The fused step for `first` read only by `second`, if a rule fuses them.
pub(crate) fn fuse(first: &Arc<dyn Layer>, second: &dyn Layer) -> Option<FusedCall> {
    RULES.iter().find_map(|rule| rule(first, second))
}

/// `layer` as a `T`, shared.
fn shared<T: Layer>(layer: &Arc<dyn Layer>) -> Option<Arc<T>> {
    let any: Arc<dyn Any + Send + Sync> = layer.clone();
    any.downcast::<T>().ok()
}

fn is<T: Layer>(layer: &dyn Layer) -> Option<&T> {
    (layer as &dyn Any).downcast_ref::<T>()
}

/// Whether `layer` computes `max(x, 0)` and nothing else.
fn is_plain_relu(layer: &dyn Layer) -> bool {
    use crate::layers::Configurable;
    let activation = match (is::<ActivationLayer>(layer), is::<ReLU>(layer)) {
        (Some(a), _) => a.get_config().activation,
        (_, Some(r)) => r.get_config().activation,
        _ => return false,
    };
    activation == Activation::Relu
}

fn conv_then_max_pool(first: &Arc<dyn Layer>, second: &dyn Layer) -> Option<FusedCall> {
    let window = is::<MaxPooling2D>(second)?.window();
    let conv = shared::<Conv2D>(first).filter(|c| c.pools_first())?;
    Some(Box::new(move |x, _| {
        Some(conv.call_then_max_pool(x, &window))
    }))
}

fn batch_normalization_then_relu(first: &Arc<dyn Layer>, second: &dyn Layer) -> Option<FusedCall> {
    if !is_plain_relu(second) {
        return None;
    }
    let norm = shared::<BatchNormalization>(first)?;
    Some(Box::new(move |x, training| {
        norm.call_then_relu(x, training)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Dense, Softmax};

    fn first(layer: impl Layer) -> Arc<dyn Layer> {
        Arc::new(layer)
    }

    #[test]
    fn the_rules_fuse_exactly_the_pairs_that_compute_the_same_together() {
        let pool = MaxPooling2D::new((2, 2));
        let relu_conv = first(Conv2D::new(4, (3, 3)).activation(Activation::Relu));
        assert!(fuse(&relu_conv, &pool).is_some());
        assert!(fuse(&first(Conv2D::new(4, (3, 3))), &pool).is_some());
        // A sigmoid does not commute with the maximum's bias: no fusion.
        let sigmoid_conv = first(Conv2D::new(4, (3, 3)).activation(Activation::Sigmoid));
        assert!(fuse(&sigmoid_conv, &pool).is_none());
        assert!(fuse(&first(Dense::new(3)), &pool).is_none());

        let norm = first(BatchNormalization::new());
        assert!(fuse(&norm, &ReLU::new()).is_some());
        assert!(fuse(&norm, &ActivationLayer::new(Activation::Relu)).is_some());
        assert!(fuse(&norm, &ActivationLayer::new(Activation::Tanh)).is_none());
        assert!(fuse(&norm, &Softmax::new()).is_none());
        assert!(fuse(&first(Dense::new(3)), &ReLU::new()).is_none());
    }
}
