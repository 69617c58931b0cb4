//! End to end through the binary with the real encoder on the bundled example corpus.
#![cfg(all(feature = "cli", feature = "tract"))]
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leann-edge"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LEANN_EDGE_BOARD", "x86_64-host");
    c
}

fn run(args: &[&str]) -> (bool, String, String) {
    let o = bin().args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn build_search_info_verify_and_refuse_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("ex.leann");
    let idx_s = idx.to_str().unwrap();
    let (ok, _, err) = run(&["build", "examples/corpus", "-o", idx_s]);
    assert!(ok, "{err}");
    assert!(err.contains("skipped 1: binary"), "{err}");
    for (q, file) in [
        ("how much RAM does the Pi Zero 2 W have", "raspberry-pi.md"),
        ("which planet has the most moons", "planets.html"),
        ("what does hooch on my starter mean", "sourdough.txt"),
        (
            "asymmetric distance computation with lookup tables",
            "pq.md",
        ),
        ("why can't I change a Python string", "python-faq.rst"),
    ] {
        let (ok, out, err) = run(&["search", idx_s, q, "--json", "-k", "3"]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let top = v["hits"][0]["source"].as_str().unwrap();
        assert!(top.contains(file), "{q}: top hit {top}");
        assert!(v["stats"]["recomputed"].as_u64().unwrap() >= 1);
    }
    let (ok, out, _) = run(&["search", idx_s, "espresso grind size", "--stats"]);
    assert!(
        ok && out.contains("espresso.md") && out.contains("passages recomputed"),
        "{out}"
    );
    let (ok, out, _) = run(&["info", idx_s, "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["passages"].as_u64().unwrap(), 7);
    assert!(v["components"]["graph"]["bytes"].as_u64().unwrap() > 0);
    let (ok, out, err) = run(&["verify", idx_s]);
    assert!(ok && out.contains("OK"), "{out}{err}");
    // empty query: clear error
    let (ok, _, err) = run(&["search", idx_s, "  "]);
    assert!(!ok && err.contains("empty"), "{err}");
    // corrupt one byte in the middle: refused with a clear one-line error
    let mut bytes = std::fs::read(&idx).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&idx, &bytes).unwrap();
    let (ok, _, err) = run(&["search", idx_s, "moons"]);
    assert!(
        !ok && err.starts_with("error:") && err.contains("corrupt") && err.contains("rebuild"),
        "{err}"
    );
    // missing index
    let (ok, _, err) = run(&["info", "/nonexistent/x.leann"]);
    assert!(!ok && err.contains("leann-edge build"), "{err}");
}

#[test]
fn jsonl_ids_are_kept_and_bad_lines_counted() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    std::fs::write(&corpus, "{\"id\":\"d1\",\"title\":\"Cats\",\"text\":\"Cats purr when they are content and sometimes when stressed.\"}\nnot json\n{\"id\":\"d2\",\"title\":\"Trains\",\"text\":\"The Shinkansen bullet train runs at up to 320 km/h.\"}\n{\"id\":\"d3\",\"text\":\"\"}\n").unwrap();
    let idx = dir.path().join("j.leann");
    let (ok, _, err) = run(&[
        "build",
        corpus.to_str().unwrap(),
        "-o",
        idx.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("invalid JSON line") && err.contains("without text"),
        "{err}"
    );
    let (ok, out, _) = run(&[
        "search",
        idx.to_str().unwrap(),
        "fast railway in Japan",
        "--json",
        "-k",
        "1",
    ]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hits"][0]["id"], "d2");
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // The reader goes away before the tool writes (as with `leann-edge boards | head -0`).
    let mut child = bin()
        .arg("boards")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}
