#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dropship_fuzz_harness::journal(data));
