//! Arbitrary bytes as an index file: open (checksums on and off), verify, read, search.
#![no_main]
use leann_edge::flash::SliceSource;
use leann_edge::index::{Index, OpenOptions};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    for opts in [OpenOptions::default(), OpenOptions::verified()] {
        if let Ok(idx) = Index::from_source(SliceSource::new(data), &opts) {
            common::exercise(&idx);
        }
    }
});
