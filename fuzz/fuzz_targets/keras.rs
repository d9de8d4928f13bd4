//! Fuzzes the `.keras` reader (zip archive, config JSON, HDF5 weights): any byte string must
//! give a model or an error, never a panic or an abort. Seed it with the fixtures:
//! `cp ../crates/rill-keras/tests/fixtures/*.keras corpus/keras/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rill_keras::load_bytes(data);
});
