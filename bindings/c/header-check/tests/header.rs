//! The checked-in header is what cbindgen makes of the code: a changed signature without a
//! regenerated header fails here (`LEANN_EDGE_BLESS=1` rewrites it).
use std::path::Path;

#[test]
fn checked_in_header_matches_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let mut made = Vec::new();
    // with_config first: it replaces the whole configuration, the crate included.
    cbindgen::Builder::new()
        .with_config(config)
        .with_crate(dir)
        .generate()
        .expect("cbindgen")
        .write(&mut made);
    let path = dir.join("include/leann_edge.h");
    if std::env::var_os("LEANN_EDGE_BLESS").is_some() {
        std::fs::write(&path, &made).unwrap();
    }
    let have = std::fs::read(&path).unwrap_or_default();
    assert!(
        have == made,
        "include/leann_edge.h is out of date: run `LEANN_EDGE_BLESS=1 cargo test -p leann-edge-c-header` and commit it"
    );
}
