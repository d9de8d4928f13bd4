//! Fuzzes the IDX parser: any byte string must give a tensor or an error, never a panic, and a
//! tensor must hold exactly the elements its header promises.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = rill_data::idx::parse_idx(data) {
        assert_eq!(t.numel(), t.shape().iter().product::<usize>());
    }
});
