//! Fuzzes `rill serve`'s predict-request parser (TF Serving's JSON, NaN and Infinity, named
//! inputs, size-1 axes): any body gives samples or an error, never a panic — and samples that
//! are accepted always fill each input exactly. Seed it with the JSON bodies in
//! `crates/rill-serve/tests/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rill_serve::TensorSpec;

fuzz_target!(|data: &[u8]| {
    let spec = |name: &str, shape: &[usize]| TensorSpec {
        name: name.into(),
        shape: shape.to_vec(),
        text: name == "review",
    };
    let models = [
        vec![spec("x", &[2, 3])],
        vec![spec("image", &[2, 2]), spec("meta", &[3])],
        vec![spec("pixels", &[4])],
        vec![spec("review", &[1]), spec("meta", &[3])],
    ];
    for inputs in &models {
        if let Ok((rows, values)) = rill_serve::parse_predict_request(data, inputs) {
            assert!(rows > 0);
            for (v, s) in values.iter().zip(inputs) {
                assert_eq!(v.len(), rows * s.shape.iter().product::<usize>());
            }
        }
    }
});
