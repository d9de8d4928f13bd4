//! Fuzzes the Rill model-file reader (safetensors header, metadata, checksum, architecture,
//! weights): any byte string gives a model or an error, never a panic or an allocation sized
//! by the file's claims. Seed it with saved models (`out/**/*.rill`). Most mutations fail the
//! checksum early; the `crafted_files` tests cover architectures with a valid one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rill_io::load_model_bytes(data);
});
