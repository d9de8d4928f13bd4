//! Parity with Keras (fixtures from tools/make_nn_fixtures.py): layer outputs and gradients,
//! every loss and its gradient, and weights after three steps of every optimizer.

use rill_core::{Gradients, Padding, Tensor};
use rill_nn::layers::{Conv2D, Dense, Layer};
use rill_nn::losses::*;
use rill_nn::optimizers::schedules::{CosineDecay, ExponentialDecay, PiecewiseConstantDecay};
use rill_nn::optimizers::{
    Adagrad, Adam, LearningRate, LearningRateSchedule, Optimizer, RmsProp, Sgd,
};
use rill_nn::{Activation, Variable};
use rill_test_support::fixtures::tensor;
use serde_json::Value;

fn fixtures() -> Value {
    serde_json::from_str(include_str!("fixtures/keras.json")).unwrap()
}

/// The cases of one section, checking the fixture holds at least `min` of them.
fn cases(section: &str, min: usize) -> Vec<Value> {
    let all = fixtures()[section].as_array().unwrap().clone();
    assert!(
        all.len() >= min,
        "fixture section {section} has {} cases, expected at least {min}",
        all.len()
    );
    all
}

/// Within 1e-5 relative (with a small absolute floor for values near zero).
fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (g, w)) in got
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .zip(want.to_vec::<f32>().unwrap())
        .enumerate()
    {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{what}: element {i}: rill {g}, Keras {w}"
        );
    }
}

#[test]
fn layers_match_keras_outputs_and_gradients() {
    for (i, c) in cases("layers", 4).iter().enumerate() {
        let cfg = &c["config"];
        let act = Activation::from_name(cfg["activation"].as_str().unwrap()).unwrap();
        let x = tensor(&c["x"]);
        let mut layer: Box<dyn Layer> = match c["layer"].as_str().unwrap() {
            "dense" => {
                Box::new(Dense::new(cfg["units"].as_u64().unwrap() as usize).activation(act))
            }
            "conv2d" => {
                let pair = |v: &Value| {
                    (
                        v[0].as_u64().unwrap() as usize,
                        v[1].as_u64().unwrap() as usize,
                    )
                };
                let padding = if cfg["padding"] == "same" {
                    Padding::Same
                } else {
                    Padding::Valid
                };
                Box::new(
                    Conv2D::new(
                        cfg["filters"].as_u64().unwrap() as usize,
                        pair(&cfg["kernel"]),
                    )
                    .strides(pair(&cfg["strides"]))
                    .padding(padding)
                    .activation(act),
                )
            }
            other => panic!("unknown layer {other}"),
        };
        let out_shape = layer.compute_output_shape(&x.shape()[1..]).unwrap();
        layer.build(&x.shape()[1..]).unwrap();
        for (v, w) in layer
            .variables()
            .into_iter()
            .zip(c["weights"].as_array().unwrap())
        {
            v.assign(&tensor(w)).unwrap();
        }
        let x = x.set_requires_grad(true).unwrap();
        let y = layer.call(&x, false).unwrap();
        assert_eq!(&y.shape()[1..], &out_shape[..], "case {i}: built shape");
        assert_close(&format!("case {i} output"), &y, &tensor(&c["y"]));
        let n = y.numel();
        let w = Tensor::linspace(0.5, 1.5, n, rill_core::DType::F32)
            .reshape(y.shape())
            .unwrap();
        let grads = y
            .mul(&w)
            .unwrap()
            .sum(&[], false)
            .unwrap()
            .backward()
            .unwrap();
        assert_close(
            &format!("case {i} grad x"),
            grads.get(&x).unwrap(),
            &tensor(&c["grad_x"]),
        );
        for (v, g) in layer
            .variables()
            .iter()
            .zip(c["grad_weights"].as_array().unwrap())
        {
            assert_close(
                &format!("case {i} grad {}", v.name()),
                grads.get(&v.value()).unwrap(),
                &tensor(g),
            );
        }
    }
}

#[test]
fn losses_match_keras_values_and_gradients() {
    for (i, c) in cases("losses", 9).iter().enumerate() {
        let cfg = &c["config"];
        let from_logits = cfg["from_logits"].as_bool().unwrap_or(false);
        let smoothing = cfg["label_smoothing"].as_f64().unwrap_or(0.0);
        let loss: Box<dyn Loss> = match c["loss"].as_str().unwrap() {
            "sparse_categorical_crossentropy" => {
                Box::new(SparseCategoricalCrossentropy { from_logits })
            }
            "categorical_crossentropy" => Box::new(CategoricalCrossentropy {
                from_logits,
                label_smoothing: smoothing,
            }),
            "binary_crossentropy" => Box::new(BinaryCrossentropy {
                from_logits,
                label_smoothing: smoothing,
            }),
            "mean_squared_error" => Box::new(MeanSquaredError::default()),
            "mean_absolute_error" => Box::new(MeanAbsoluteError::default()),
            "huber" => Box::new(Huber {
                delta: cfg["delta"].as_f64().unwrap(),
            }),
            other => panic!("unknown loss {other}"),
        };
        let y_pred = tensor(&c["y_pred"]).set_requires_grad(true).unwrap();
        let value = loss.compute(&tensor(&c["y_true"]), &y_pred).unwrap();
        let want = c["value"].as_f64().unwrap() as f32;
        let got = value.item::<f32>().unwrap();
        assert!(
            (got - want).abs() <= 1e-5 * want.abs().max(1.0),
            "case {i} ({}): loss {got}, Keras {want}",
            loss.name()
        );
        let grads = value.backward().unwrap();
        assert_close(
            &format!("case {i} ({}) gradient", loss.name()),
            grads.get(&y_pred).unwrap(),
            &tensor(&c["grad"]),
        );
    }
}

/// Gradients for `var` as if a loss had produced `g`: the gradient of sum(var · g).
fn gradients_for(var: &Variable, g: &Tensor) -> Gradients {
    var.value()
        .mul(g)
        .unwrap()
        .sum(&[], false)
        .unwrap()
        .backward()
        .unwrap()
}

#[test]
fn optimizers_match_keras_after_three_steps() {
    for (i, c) in cases("optimizers", 13).iter().enumerate() {
        let cfg = &c["config"];
        let lr = cfg["learning_rate"].as_f64().unwrap();
        let mut opt: Box<dyn Optimizer> = match c["optimizer"].as_str().unwrap() {
            "adam" => Box::new(Adam::new(lr)),
            "adamw" => Box::new(Adam::adamw(lr, cfg["weight_decay"].as_f64().unwrap())),
            "sgd" => Box::new(Sgd::with_momentum(
                lr,
                cfg["momentum"].as_f64().unwrap(),
                cfg["nesterov"].as_bool().unwrap(),
            )),
            "rmsprop" => {
                let mut r = RmsProp::new(lr);
                r.momentum = cfg["momentum"].as_f64().unwrap_or(0.0);
                r.centered = cfg["centered"].as_bool().unwrap_or(false);
                Box::new(r)
            }
            "adagrad" => Box::new(Adagrad::new(lr)),
            other => panic!("unknown optimizer {other}"),
        };
        let o = opt.options_mut();
        o.clipnorm = cfg["clipnorm"].as_f64();
        o.clipvalue = cfg["clipvalue"].as_f64();
        if let Some(wd) = cfg["weight_decay"].as_f64() {
            o.weight_decay = wd;
        }
        if cfg["schedule"].is_object() {
            o.learning_rate = LearningRate::Schedule(schedule(lr, &cfg["schedule"]));
        }
        let var = Variable::trainable("w", tensor(&c["w0"])).unwrap();
        for (step, (g, want)) in c["grads"]
            .as_array()
            .unwrap()
            .iter()
            .zip(c["steps"].as_array().unwrap())
            .enumerate()
        {
            let grads = gradients_for(&var, &tensor(g));
            opt.apply(std::slice::from_ref(&var), &grads).unwrap();
            assert_close(
                &format!("case {i} ({}) step {}", opt.name(), step + 1),
                &var.value(),
                &tensor(want),
            );
        }
        assert_eq!(opt.iterations(), 3);
    }
}

#[test]
fn normalization_layers_match_keras_in_training_and_inference() {
    use rill_nn::layers::{BatchNormalization, LayerNormalization};
    for (i, c) in cases("norms", 4).iter().enumerate() {
        let x = tensor(&c["x"]);
        let training = c["training"].as_bool().unwrap();
        let mut layer: Box<dyn Layer> = match c["layer"].as_str().unwrap() {
            "batch_norm" => Box::new(BatchNormalization::new()),
            _ => Box::new(LayerNormalization::new()),
        };
        layer.build(&x.shape()[1..]).unwrap();
        for (v, w) in layer
            .variables()
            .into_iter()
            .zip(c["weights"].as_array().unwrap())
        {
            v.assign(&tensor(w)).unwrap();
        }
        let x = x.set_requires_grad(true).unwrap();
        let y = layer.call(&x, training).unwrap();
        assert_close(&format!("norm case {i} output"), &y, &tensor(&c["y"]));
        let w = Tensor::linspace(0.5, 1.5, y.numel(), rill_core::DType::F32)
            .reshape(y.shape())
            .unwrap();
        let grads = y
            .mul(&w)
            .unwrap()
            .sum(&[], false)
            .unwrap()
            .backward()
            .unwrap();
        assert_close(
            &format!("norm case {i} grad x"),
            grads.get(&x).unwrap(),
            &tensor(&c["grad_x"]),
        );
        // The moving statistics move in training and stay put in inference, as in Keras.
        for (v, want) in layer
            .variables()
            .iter()
            .zip(c["weights_after"].as_array().unwrap())
        {
            assert_close(
                &format!("norm case {i} {} after the call", v.name()),
                &v.value(),
                &tensor(want),
            );
        }
    }
}

fn schedule(initial: f64, c: &Value) -> Box<dyn LearningRateSchedule> {
    let initial = c["initial"].as_f64().unwrap_or(initial);
    let u = |k: &str| c[k].as_u64().unwrap();
    match c["kind"].as_str().unwrap() {
        "exponential" => Box::new(ExponentialDecay {
            initial_learning_rate: initial,
            decay_steps: u("decay_steps"),
            decay_rate: c["decay_rate"].as_f64().unwrap(),
            staircase: c["staircase"].as_bool().unwrap(),
        }),
        "piecewise" => Box::new(PiecewiseConstantDecay {
            boundaries: c["boundaries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect(),
            values: c["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect(),
        }),
        "cosine" => Box::new(CosineDecay {
            initial_learning_rate: initial,
            decay_steps: u("decay_steps"),
            alpha: c["alpha"].as_f64().unwrap(),
            warmup_target: c["warmup_target"].as_f64(),
            warmup_steps: c["warmup_steps"].as_u64().unwrap_or(0),
        }),
        other => panic!("unknown schedule {other}"),
    }
}

#[test]
fn schedules_match_keras_at_every_step() {
    for (i, c) in cases("schedules", 5).iter().enumerate() {
        let s = schedule(0.0, &c["config"]);
        for (step, want) in c["steps"]
            .as_array()
            .unwrap()
            .iter()
            .zip(c["values"].as_array().unwrap())
        {
            let (step, want) = (step.as_u64().unwrap(), want.as_f64().unwrap());
            // Keras evaluates schedules in f32; 1e-5 relative is the parity bar for everything here.
            let got = s.at(step);
            assert!(
                (got - want).abs() <= 1e-5 * want.abs().max(1e-3),
                "schedule {i} ({}) at step {step}: rill {got}, Keras {want}",
                c["config"]
            );
        }
    }
}

#[test]
fn global_clipnorm_scales_all_gradients_together() {
    // Two gradients with norms 3 and 4 (joint norm 5) clipped to joint norm 1 with SGD lr 1:
    // each weight moves by its gradient / 5.
    let a = Variable::trainable("a", Tensor::zeros(&[1], rill_core::DType::F32)).unwrap();
    let b = Variable::trainable("b", Tensor::zeros(&[1], rill_core::DType::F32)).unwrap();
    let loss = a
        .value()
        .mul_scalar(3.0)
        .unwrap()
        .add(&b.value().mul_scalar(4.0).unwrap())
        .unwrap()
        .sum(&[], false)
        .unwrap();
    let grads = loss.backward().unwrap();
    let mut opt = Sgd::new(1.0).global_clipnorm(1.0);
    opt.apply(&[a.clone(), b.clone()], &grads).unwrap();
    assert!(
        (a.value().item::<f32>().unwrap() + 0.6).abs() < 1e-6
            && (b.value().item::<f32>().unwrap() + 0.8).abs() < 1e-6
    );
    let e = Sgd::new(1.0)
        .clipnorm(1.0)
        .clipvalue(1.0)
        .apply(std::slice::from_ref(&a), &grads)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("only one of clipnorm, global_clipnorm and clipvalue"),
        "{e}"
    );
}
