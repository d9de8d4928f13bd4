//! What recurrent layers carry: a stateful layer continues each row in the next batch until
//! `reset_states`, and initial states given as inputs start the sequence from them.

use rill_core::{set_seed, DType, Generator, Tensor};
use rill_nn::prelude::*;

fn lstm_model(steps: usize, stateful: bool) -> Model {
    Sequential::new(vec![
        Box::new(Lstm::new(4).stateful(stateful)) as Box<dyn Layer>,
        Box::new(Dense::new(2)),
    ])
    .with_input_shape(&[steps, 3])
    .unwrap()
}

fn close(a: &Tensor, b: &Tensor) -> bool {
    let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[test]
fn a_stateful_layer_continues_each_row_until_reset() {
    set_seed(0);
    let whole = lstm_model(10, false);
    let halves = lstm_model(5, true);
    halves.set_weights(&whole.get_weights()).unwrap();
    let x = Generator::new(1)
        .normal(&[2, 10, 3], 0.0, 1.0, DType::F32)
        .unwrap();
    let (first, second) = (x.slice(1, 0, 5).unwrap(), x.slice(1, 5, 10).unwrap());
    let want = whole.predict_on_batch(&x).unwrap();
    let fresh = halves.predict_on_batch(&first).unwrap();
    // The second half, continuing from the first: what the whole sequence gives.
    assert!(close(&halves.predict_on_batch(&second).unwrap(), &want));
    halves.reset_states();
    assert!(close(&halves.predict_on_batch(&first).unwrap(), &fresh));
    // A batch of another size cannot continue the rows of the last one.
    let e = halves
        .predict_on_batch(&first.slice(0, 0, 1).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("reset_states"), "{e}");
}

#[test]
fn initial_states_given_as_inputs_start_the_sequence_and_get_gradients() {
    set_seed(2);
    let mut b = FunctionalBuilder::new();
    let x = b.input_named("x", &[6, 3]).unwrap();
    let context = b.input_named("context", &[2]).unwrap();
    let h0 = b.layer_named("h0", Dense::new(4), context).unwrap();
    let c0 = b.layer_named("c0", Dense::new(4), context).unwrap();
    let y = b.merge(Lstm::new(4), &[x, h0, c0]).unwrap();
    let out = b.layer_named("out", Dense::new(1), y).unwrap();
    let mut model = b.build(&[x, context], &[out]).unwrap();
    let g = &mut Generator::new(3);
    let xs = g.normal(&[8, 6, 3], 0.0, 1.0, DType::F32).unwrap();
    let ctx = g.normal(&[8, 2], 0.0, 1.0, DType::F32).unwrap();
    let zeros = Tensor::zeros(&[8, 2], DType::F32);
    let a = model.call_many(&[xs.clone(), ctx.clone()], false).unwrap();
    let z = model.call_many(&[xs.clone(), zeros], false).unwrap();
    assert!(!close(&a[0], &z[0]), "the initial state changes the output");
    // Training reaches the layers that make the initial states.
    model
        .compile(Sgd::new(0.5), MeanSquaredError::default(), &[])
        .unwrap();
    let before = model.layer("h0").unwrap().variables()[0]
        .value()
        .to_vec::<f32>()
        .unwrap();
    let y = Tensor::ones(&[8, 1], DType::F32);
    model.train_on_batch(vec![xs, ctx], y).unwrap();
    let after = model.layer("h0").unwrap().variables()[0]
        .value()
        .to_vec::<f32>()
        .unwrap();
    assert_ne!(before, after);
}

#[test]
fn recurrent_dropout_is_random_in_training_and_absent_in_inference() {
    set_seed(4);
    let model = Sequential::new(vec![
        Box::new(Lstm::new(6).recurrent_dropout(0.5)) as Box<dyn Layer>
    ])
    .with_input_shape(&[5, 3])
    .unwrap();
    let x = Generator::new(5)
        .normal(&[4, 5, 3], 0.0, 1.0, DType::F32)
        .unwrap();
    let (a, b) = (model.call(&x, true).unwrap(), model.call(&x, true).unwrap());
    assert!(!close(&a, &b), "two training calls draw two masks");
    let (c, d) = (
        model.call(&x, false).unwrap(),
        model.call(&x, false).unwrap(),
    );
    assert!(close(&c, &d) && !close(&a, &c));
}
