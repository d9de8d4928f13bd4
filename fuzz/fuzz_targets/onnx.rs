//! Fuzzes the ONNX importer: any byte string must give a model or an error, never a panic or
//! an abort; a model that imports must run on a small batch (or refuse it with an error).
//! Seed it with the fixtures: `cp ../crates/rill-onnx/tests/fixtures/*.onnx corpus/onnx/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = rill_onnx::load_bytes(data) {
        let inputs: Vec<rill_core::Tensor> = model
            .input_shapes()
            .iter()
            .map(|s| {
                let mut shape = vec![1];
                shape.extend(s);
                rill_core::Tensor::zeros(&shape, rill_core::DType::F32)
            })
            .collect();
        let total: usize = inputs.iter().map(|t| t.numel()).sum();
        if total <= 1 << 20 {
            let _ = model.call_many(&inputs, false);
        }
    }
});
