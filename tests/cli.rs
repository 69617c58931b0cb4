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
    // --group-by-doc: one hit per file (raspberry-pi.md has many passages).
    let (ok, out, _) = run(&[
        "search",
        idx_s,
        "Raspberry Pi power supply and memory",
        "--json",
        "-k",
        "3",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let files = |v: &serde_json::Value| -> Vec<String> {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                h["source"]
                    .as_str()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let plain = files(&v);
    assert!(
        ok && plain.iter().filter(|f| f.contains("raspberry-pi")).count() >= 2,
        "{plain:?}"
    );
    let (ok, out, _) = run(&[
        "search",
        idx_s,
        "Raspberry Pi power supply and memory",
        "--json",
        "-k",
        "3",
        "--group-by-doc",
    ]);
    let grouped = files(&serde_json::from_str(&out).unwrap());
    let distinct: std::collections::HashSet<_> = grouped.iter().collect();
    assert!(
        ok && grouped.len() == 3 && distinct.len() == 3,
        "{grouped:?}"
    );
    assert!(grouped[0].contains("raspberry-pi"), "{grouped:?}");
    // --min-score: a question with no good answer gets none; --top-k is -k.
    let (ok, out, _) = run(&[
        "search",
        idx_s,
        "tax law of medieval Venice",
        "--min-score",
        "0.6",
    ]);
    assert!(ok && out.contains("nothing relevant"), "{out}");
    let (ok, out, _) = run(&[
        "search",
        idx_s,
        "which planet has the most moons",
        "--json",
        "--top-k",
        "1",
        "--min-score",
        "0.4",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(ok && v["hits"].as_array().unwrap().len() == 1, "{v}");
    let (ok, out, _) = run(&["search", idx_s, "espresso grind size", "--stats"]);
    assert!(
        ok && out.contains("espresso.md") && out.contains("passages recomputed"),
        "{out}"
    );
    let (ok, out, _) = run(&["info", idx_s, "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["passages"].as_u64().unwrap(), 8);
    // Eight passages: scan search, so no graph is stored, only PQ codes.
    assert!(v["components"]["pq_codes"]["bytes"].as_u64().unwrap() > 0);
    assert!(v["components"].get("graph").is_none(), "{v}");
    assert_eq!(v["edges"].as_u64(), Some(0));
    // Seven passages get raw 4-bit PQ (12 KB of codebook), no 100+ KB projection.
    assert!(v["components"].get("pq_rotation").is_none(), "{v}");
    assert!(v["total_bytes"].as_u64().unwrap() < 24_000, "{v}");
    let (ok, out, err) = run(&["verify", idx_s]);
    assert!(ok && out.contains("OK"), "{out}{err}");
    // empty query: clear error
    let (ok, _, err) = run(&["search", idx_s, "  "]);
    assert!(!ok && err.contains("empty"), "{err}");
    // corrupt one byte in the middle: `verify` refuses it with a clear one-line error; `search`
    // (which checks only what it reads) answers or refuses, never panics
    let mut bytes = std::fs::read(&idx).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&idx, &bytes).unwrap();
    let (ok, _, err) = run(&["verify", idx_s]);
    assert!(
        !ok && err.starts_with("error[corrupt]:") && err.contains("rebuild"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let o = bin().args(["search", idx_s, "moons"]).output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{o:?}");
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

#[test]
fn bench_builds_its_exact_baseline_once_and_scores_against_qrels() {
    let dir = tempfile::tempdir().unwrap();
    let topics = [
        ("d1", "Sourdough starter", "Feed the starter flour and water every day; hooch is the liquid that collects on top when it is hungry."),
        ("d2", "Espresso", "A finer grind slows the shot; aim for about 25 seconds for a double espresso."),
        ("d3", "Raspberry Pi Zero 2 W", "The Pi Zero 2 W has a quad-core Cortex-A53 and 512 MB of RAM."),
        ("d4", "Saturn", "Saturn has the most known moons of any planet in the solar system."),
        ("d5", "Python strings", "Python strings are immutable: methods return new strings instead of changing them."),
        ("d6", "Bicycle chains", "Clean and oil a bicycle chain every few hundred kilometres to stop it wearing the gears."),
        ("d7", "Tomatoes", "Tomato plants need full sun, deep watering and support as they grow tall."),
        ("d8", "Backups", "Keep three copies of your data on two kinds of media, one of them off site."),
    ];
    let corpus: String = topics
        .iter()
        .map(|(id, t, x)| format!("{}\n", serde_json::json!({"id": id, "title": t, "text": x})))
        .collect();
    std::fs::write(dir.path().join("corpus.jsonl"), corpus).unwrap();
    std::fs::write(
        dir.path().join("queries.jsonl"),
        "{\"id\":\"q1\",\"text\":\"how much memory does the pi zero 2 have\"}\n{\"id\":\"q2\",\"text\":\"which planet has the most moons\"}\n{\"id\":\"q3\",\"text\":\"can I modify a python string in place\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("qrels.tsv"),
        "query-id\tcorpus-id\tscore\nq1\td3\t1\nq2\td4\t1\nq3\td5\t1\n",
    )
    .unwrap();
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let (ok, _, err) = run(&["build", &p("corpus.jsonl"), "-o", &p("s.leann")]);
    assert!(ok, "{err}");
    let bench = || {
        let (ok, out, err) = run(&[
            "bench",
            &p("s.leann"),
            "--queries",
            &p("queries.jsonl"),
            "--qrels",
            &p("qrels.tsv"),
            "--json",
        ]);
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let first = bench();
    // The exact baseline was embedded once and written whole (no partial file left behind).
    let vectors = std::fs::metadata(p("s.leann.vectors")).unwrap();
    assert_eq!(vectors.len(), 8 * 384 * 4);
    assert!(!dir.path().join("s.leann.vectors.partial").exists());
    let second = bench();
    for r in [&first, &second] {
        assert_eq!(r["queries"].as_u64(), Some(3));
        assert_eq!(r["exact_success10"].as_f64(), Some(1.0), "{r}");
        let pt = &r["points"][0];
        // 8 passages, so every one is a candidate and the rerank is exact.
        assert_eq!(pt["recall3"].as_f64(), Some(1.0), "{pt}");
        assert_eq!(pt["success10"].as_f64(), Some(1.0), "{pt}");
        let top: Vec<&str> = pt["queries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["hits"][0].as_str().unwrap())
            .collect();
        assert_eq!(top, ["d3", "d4", "d5"]);
    }
    assert_eq!(first["exact_ndcg10"], second["exact_ndcg10"]);
}

#[test]
fn bad_parameters_are_refused_before_reading_or_embedding() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/x.leann");
    // A copy of a document, so that a regression can only damage the copy.
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let doc = docs.join("pq.md");
    std::fs::copy("examples/corpus/pq.md", &doc).unwrap();
    let (docs_s, doc_s) = (docs.to_str().unwrap(), doc.to_str().unwrap());
    for (args, want) in [
        (
            vec!["build", "examples/corpus", "-o", missing.to_str().unwrap()],
            "does not exist",
        ),
        (vec!["build", doc_s, "-o", doc_s], "one of the inputs"),
        (vec!["build", docs_s, "-o", doc_s], "not a leann-edge index"),
        (
            vec![
                "build",
                "examples/corpus",
                "-o",
                dir.path().to_str().unwrap(),
            ],
            "is a folder",
        ),
        (
            vec![
                "build",
                "examples/corpus",
                "-o",
                "x.leann",
                "--pq",
                "7",
                "--pq-rotate",
                "0",
            ],
            "must divide",
        ),
        (
            vec![
                "build",
                "examples/corpus",
                "-o",
                "x.leann",
                "--overlap-tokens",
                "300",
            ],
            "--overlap-tokens",
        ),
        (
            vec!["search", "x.leann", "q", "-k", "1000000000000"],
            "out of range",
        ),
        (
            vec!["search", "x.leann", "q", "--mode", "fast"],
            "possible values",
        ),
        (vec!["search", "x.leann", "q", "--threads", "512"], "512"),
        (
            vec!["search", "x.leann", "q", "--ef", "1000000000000"],
            "out of range",
        ),
        (
            vec!["search", "x.leann", "q", "--batch", "0"],
            "out of range",
        ),
        (
            vec!["search", "x.leann", "q", "--recall", "1.5"],
            "--recall 1.5 is out of range",
        ),
        (
            vec![
                "build",
                "examples/corpus",
                "-o",
                "x.leann",
                "--navigation",
                "tree",
            ],
            "possible values",
        ),
    ] {
        let (ok, _, err) = run(&args);
        assert!(!ok && err.contains(want), "{args:?}: {err}");
        // Nothing was read or embedded: the summary of the documents never printed.
        assert!(!err.contains("read "), "{args:?}: {err}");
    }
    assert!(!std::path::Path::new("x.leann").exists());
    let before = std::fs::read("examples/corpus/pq.md").unwrap();
    assert_eq!(
        std::fs::read(&doc).unwrap(),
        before,
        "the document was overwritten"
    );
}

/// Run with a deadline: a command that hangs (a FIFO opened for reading) fails the test instead.
fn run_within(args: &[&str], secs: u64) -> (bool, String, String) {
    let mut child = bin()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?} still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn hostile_corpus_and_special_files_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("secret.txt"),
        "The launch code for the moon base is swordfish.",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.join("secret.txt"), docs.join("link.txt")).unwrap();
    // A byte-order mark before the first record, a duplicate id, and terminal escape codes.
    std::fs::write(
        docs.join("c.jsonl"),
        "\u{feff}{\"id\":\"a\",\"text\":\"Penguins live in the southern hemisphere.\"}\n\
         {\"id\":\"b\",\"text\":\"Old text about volcanoes that should be replaced.\"}\n\
         {\"id\":\"b\",\"text\":\"Volcanoes erupt molten rock \\u001b[31mcalled lava\\u001b[0m.\"}\n",
    )
    .unwrap();
    let idx = dir.path().join("i.leann");
    let (idx_s, docs_s) = (idx.to_str().unwrap(), docs.to_str().unwrap());
    let (ok, _, err) = run(&["build", docs_s, "-o", idx_s]);
    assert!(ok, "{err}");
    assert!(err.contains("symlink leading outside"), "{err}");
    assert!(err.contains("duplicate JSONL id"), "{err}");
    let (ok, out, _) = run(&[
        "search",
        idx_s,
        "launch code moon base",
        "--json",
        "-k",
        "3",
    ]);
    assert!(ok);
    assert!(
        !out.contains("swordfish"),
        "a link out of the folder was indexed: {out}"
    );
    let (ok, out, _) = run(&["search", idx_s, "penguins", "--json", "-k", "1"]);
    assert!(
        ok && out.contains("\"id\": \"a\""),
        "the record after the BOM was lost: {out}"
    );
    let (ok, out, _) = run(&["search", idx_s, "lava", "--json", "-k", "1"]);
    assert!(
        ok && out.contains("molten") && !out.contains("should be replaced"),
        "{out}"
    );
    assert!(
        out.contains("\\u001b"),
        "JSON keeps control characters escaped: {out}"
    );
    let (ok, out, _) = run(&["search", idx_s, "lava", "-k", "1"]);
    assert!(
        ok && out.contains("called lava") && !out.contains('\u{1b}'),
        "{out:?}"
    );
    // With --follow-symlinks the link is indexed.
    let idx2 = dir.path().join("j.leann");
    let (ok, _, err) = run(&[
        "build",
        docs_s,
        "-o",
        idx2.to_str().unwrap(),
        "--follow-symlinks",
    ]);
    assert!(ok && !err.contains("symlink leading outside"), "{err}");
    // A FIFO as the index: a clear error, no hang.
    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo.leann");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let (ok, _, err) = run_within(&["search", fifo.to_str().unwrap(), "x"], 20);
            assert!(!ok && err.contains("not a regular file"), "{err}");
            let (ok, _, err) = run_within(&["info", fifo.to_str().unwrap()], 20);
            assert!(!ok && err.contains("not a regular file"), "{err}");
        }
    }
}

#[test]
fn kill_9_during_a_build_never_leaves_a_broken_index() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("k.leann");
    let idx_s = idx.to_str().unwrap();
    let (ok, _, err) = run(&["build", "examples/corpus", "-o", idx_s]);
    assert!(ok, "{err}");
    let good = std::fs::read(&idx).unwrap();
    for delay_ms in [30u64, 150, 400, 800, 1500] {
        let mut child = bin()
            .args(["build", "examples/corpus", "-o", idx_s])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Whenever it died, the index is the old one or a complete new one (same corpus: same bytes).
        assert_eq!(
            std::fs::read(&idx).unwrap(),
            good,
            "killed after {delay_ms} ms"
        );
        let (ok, out, err) = run(&["verify", idx_s]);
        assert!(ok && out.contains("OK"), "{err}");
    }
    // Temporary files of writers that died (the kills above; one with a PID above Linux's maximum)
    // are removed by the next write once they are a minute old (a live writer's file never is).
    let stale = dir.path().join(".k.leann.tmp-4194399-dead");
    std::fs::write(&stale, b"partial").unwrap();
    let fresh = dir.path().join(".k.leann.tmp-4194398-young");
    std::fs::write(&fresh, b"partial").unwrap();
    let minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if e.file_name().to_string_lossy().contains(".tmp-") && e.path() != fresh {
            let f = std::fs::File::options().write(true).open(e.path()).unwrap();
            f.set_modified(minutes_ago).unwrap();
        }
    }
    let (ok, _, err) = run(&["build", "examples/corpus", "-o", idx_s]);
    assert!(ok, "{err}");
    if cfg!(target_os = "linux") {
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert_eq!(left, [".k.leann.tmp-4194398-young"], "temporary files left");
    }
}

/// `info --json`'s passage count, or None when the index does not open.
fn passages(idx: &str) -> Option<u64> {
    let (ok, out, _) = run(&["info", idx, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).ok()?;
    ok.then(|| v["passages"].as_u64()).flatten()
}

/// A JSONL file of `{"id", "text"}` records.
fn write_jsonl(path: &std::path::Path, recs: &[(&str, &str)]) {
    let lines: String = recs
        .iter()
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
        .collect();
    std::fs::write(path, lines).unwrap();
}

fn change_json(args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = run(args);
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `info --json`'s navigation and edge count.
fn graph_of(idx: &str) -> (String, u64) {
    let (ok, out, err) = run(&["info", idx, "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    (
        v["navigation"].as_str().unwrap().into(),
        v["edges"].as_u64().unwrap(),
    )
}

#[test]
fn a_graph_index_is_changed_in_place_and_keeps_its_graph() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for f in ["espresso.md", "sourdough.txt", "planets.html", "pq.md"] {
        std::fs::copy(format!("examples/corpus/{f}"), docs.join(f)).unwrap();
    }
    let idx = dir.path().join("graph.leann");
    let (idx_s, docs_s) = (idx.to_str().unwrap(), docs.to_str().unwrap());
    let (ok, _, err) = run(&["build", docs_s, "-o", idx_s, "--navigation", "graph"]);
    assert!(ok, "{err}");
    let (nav, edges0) = graph_of(idx_s);
    assert!(nav == "graph" && edges0 > 0, "{nav} {edges0}");
    let n0 = passages(idx_s).unwrap();
    // add: the new passages are linked in and found by the graph search.
    let pi = dir.path().join("raspberry-pi.md");
    std::fs::copy("examples/corpus/raspberry-pi.md", &pi).unwrap();
    let r = change_json(&["add", idx_s, pi.to_str().unwrap(), "--json"]);
    let added = r["added_passages"].as_u64().unwrap();
    assert!(
        added >= 1 && r["embedded_passages"].as_u64() == Some(added),
        "{r}"
    );
    let (nav, edges1) = graph_of(idx_s);
    assert!(
        nav == "graph" && edges1 > edges0,
        "{nav} {edges0} -> {edges1}"
    );
    let (ok, out, _) = run(&[
        "search",
        idx_s,
        "Pi Zero 2 W memory",
        "--json",
        "--mode",
        "dense",
        "-k",
        "1",
    ]);
    assert!(ok && out.contains("raspberry-pi.md"), "{out}");
    // remove: gone from the results; the graph is still a graph with fewer edges.
    let r = change_json(&["remove", idx_s, "--source", pi.to_str().unwrap(), "--json"]);
    assert_eq!(r["passages_after"].as_u64(), Some(n0), "{r}");
    let (_, out, _) = run(&[
        "search",
        idx_s,
        "Pi Zero 2 W memory",
        "--json",
        "--mode",
        "dense",
        "-k",
        "10",
    ]);
    assert!(!out.contains("raspberry-pi.md"), "{out}");
    let (nav, edges2) = graph_of(idx_s);
    assert!(
        nav == "graph" && edges2 < edges1,
        "{nav} {edges1} -> {edges2}"
    );
    // sync after an edit and a deletion: the edited passage is found, verify passes.
    let mut text = std::fs::read_to_string(docs.join("espresso.md")).unwrap();
    text.push_str(
        "\n\nA flat white is espresso with steamed milk and a thin layer of microfoam.\n",
    );
    std::fs::write(docs.join("espresso.md"), text).unwrap();
    std::fs::remove_file(docs.join("planets.html")).unwrap();
    let r = change_json(&["sync", idx_s, docs_s, "--json"]);
    assert_eq!(
        (r["changed"].as_u64(), r["removed"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let q = "espresso with steamed milk and microfoam";
    let (ok, out, _) = run(&["search", idx_s, q, "--json", "--mode", "dense", "-k", "1"]);
    assert!(ok && out.contains("microfoam"), "{out}");
    let (ok, out, err) = run(&["verify", idx_s]);
    assert!(ok && out.contains("OK"), "{err}");
    assert_eq!(graph_of(idx_s).0, "graph");
}

/// The ids of an index in storage order (`list --json`), and its kept vectors by id.
fn ids_and_vectors(idx: &str) -> (Vec<String>, std::collections::HashMap<String, Vec<u8>>) {
    let (ok, out, err) = run(&["list", idx, "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<String> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    let bytes = std::fs::read(format!("{idx}.vectors")).unwrap();
    let row = bytes.len() / ids.len();
    assert_eq!(row * ids.len(), bytes.len());
    let rows = ids
        .iter()
        .zip(bytes.chunks_exact(row))
        .map(|(id, r)| (id.clone(), r.to_vec()))
        .collect();
    (ids, rows)
}

#[test]
fn kept_vectors_follow_compact_and_removals_and_go_when_passages_are_added() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    let recs: Vec<(String, String)> = (0..12)
        .rev()
        .map(|i| {
            (
                format!("r{i}"),
                format!("Note number {i} is about topic {}.", i % 4),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = recs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    write_jsonl(&corpus, &refs);
    let idx = dir.path().join("v.leann");
    let idx_s = idx.to_str().unwrap();
    let (ok, _, err) = run(&[
        "build",
        corpus.to_str().unwrap(),
        "-o",
        idx_s,
        "--keep-vectors",
    ]);
    assert!(ok, "{err}");
    let (ids0, rows0) = ids_and_vectors(idx_s);
    assert_eq!(ids0[0], "r11", "built in the given order");
    // compact sorts (r0, r1, … r11) and moves every vector with its passage.
    change_json(&["compact", idx_s, "--json"]);
    let (ids1, rows1) = ids_and_vectors(idx_s);
    assert_eq!(ids1[0], "r0");
    assert_eq!(ids1[11], "r11");
    assert_eq!(rows1, rows0);
    // remove keeps them in step; an add (no vectors for the new passage) deletes them.
    change_json(&["remove", idx_s, "--id", "r3", "--json"]);
    let (ids2, rows2) = ids_and_vectors(idx_s);
    assert_eq!(ids2.len(), 11);
    assert!(ids2.iter().all(|id| rows2[id] == rows0[id]));
    let more = dir.path().join("m.jsonl");
    write_jsonl(&more, &[("r99", "A new note.")]);
    change_json(&["add", idx_s, more.to_str().unwrap(), "--json"]);
    assert!(!std::path::Path::new(&format!("{idx_s}.vectors")).exists());
}

#[test]
fn add_remove_sync_and_list_change_an_index_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for f in ["espresso.md", "sourdough.txt", "planets.html"] {
        std::fs::copy(format!("examples/corpus/{f}"), docs.join(f)).unwrap();
    }
    let idx = dir.path().join("live.leann");
    let (idx_s, docs_s) = (idx.to_str().unwrap(), docs.to_str().unwrap());
    let (ok, _, err) = run(&["build", docs_s, "-o", idx_s]);
    assert!(ok, "{err}");
    let n0 = passages(idx_s).unwrap();
    // add: a new file becomes searchable; its passages are the only ones embedded.
    let pi = dir.path().join("raspberry-pi.md");
    std::fs::copy("examples/corpus/raspberry-pi.md", &pi).unwrap();
    let r = change_json(&["add", idx_s, pi.to_str().unwrap(), "--json"]);
    let added = r["added_passages"].as_u64().unwrap();
    assert!(
        added >= 1 && r["embedded_passages"].as_u64() == Some(added),
        "{r}"
    );
    assert_eq!(r["passages_after"].as_u64(), Some(n0 + added));
    let (ok, out, _) = run(&["search", idx_s, "Pi Zero 2 W memory", "--json", "-k", "1"]);
    assert!(ok && out.contains("raspberry-pi.md"), "{out}");
    // list: every source with its passages.
    let (ok, out, _) = run(&["list", idx_s, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(ok && v["sources"].as_array().unwrap().len() == 4, "{v}");
    // remove --source: gone from the results from the moment remove returns.
    let r = change_json(&["remove", idx_s, "--source", pi.to_str().unwrap(), "--json"]);
    assert_eq!(r["passages_after"].as_u64(), Some(n0), "{r}");
    let (_, out, _) = run(&["search", idx_s, "Pi Zero 2 W memory", "--json", "-k", "10"]);
    assert!(!out.contains("raspberry-pi.md"), "{out}");
    // sync after editing one file: only that file's new passage is embedded; a vanished file goes.
    let mut text = std::fs::read_to_string(docs.join("espresso.md")).unwrap();
    text.push_str(
        "\n\nA flat white is espresso with steamed milk and a thin layer of microfoam.\n",
    );
    std::fs::write(docs.join("espresso.md"), text).unwrap();
    std::fs::remove_file(docs.join("planets.html")).unwrap();
    let r = change_json(&["sync", idx_s, docs_s, "--json"]);
    assert_eq!(
        (
            r["changed"].as_u64(),
            r["removed"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{r}"
    );
    let embedded = r["embedded_passages"].as_u64().unwrap();
    assert!((1..=2).contains(&embedded), "{r}");
    // A second sync of unchanged files costs no encoder work.
    let r = change_json(&["sync", idx_s, docs_s, "--json"]);
    let n_after_sync = r["passages_after"].as_u64().unwrap();
    assert_eq!(
        (r["embedded_passages"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{r}"
    );
    let (ok, out, _) = run(&[
        "search",
        idx_s,
        "espresso with steamed milk and microfoam",
        "--json",
        "-k",
        "1",
    ]);
    assert!(ok && out.contains("microfoam"), "{out}");
    let (ok, out, err) = run(&["verify", idx_s]);
    assert!(ok && out.contains("OK"), "{err}");
    // compact: passages sorted (here already in that order: the same size), same passages after.
    let before = std::fs::metadata(&idx).unwrap().len();
    let r = change_json(&["compact", idx_s, "--json"]);
    assert_eq!(r["passages_after"], r["passages_before"], "{r}");
    assert_eq!(r["embedded_passages"].as_u64(), Some(0), "{r}");
    assert_eq!(std::fs::metadata(&idx).unwrap().len(), before);
    // JSONL: a record with an existing id is replaced; remove --id drops it.
    let j = dir.path().join("extra.jsonl");
    std::fs::write(
        &j,
        "{\"id\":\"x1\",\"text\":\"Tardigrades survive the vacuum of space.\"}\n",
    )
    .unwrap();
    change_json(&["add", idx_s, j.to_str().unwrap(), "--json"]);
    std::fs::write(
        &j,
        "{\"id\":\"x1\",\"text\":\"Tardigrades are also called water bears.\"}\n",
    )
    .unwrap();
    let r = change_json(&["add", idx_s, j.to_str().unwrap(), "--json"]);
    assert_eq!(
        (r["added_passages"].as_u64(), r["removed_passages"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    let r = change_json(&["remove", idx_s, "--id", "x1", "--json"]);
    assert_eq!(r["removed_passages"].as_u64(), Some(1), "{r}");
    // A removal that matches nothing is refused (a mistyped id), and so is a sync of a missing path.
    let (ok, _, err) = run(&["remove", idx_s, "--id", "no-such-id"]);
    assert!(!ok && err.contains("no passage has"), "{err}");
    let typo = dir.path().join("no-such-folder");
    let (ok, _, err) = run(&["sync", idx_s, typo.to_str().unwrap()]);
    assert!(!ok && err.contains("refuses a path"), "{err}");
    assert_eq!(passages(idx_s), Some(n_after_sync));
    // One writer at a time: while another process holds the lock, a change is refused, naming it.
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let lock = dir.path().join(".live.leann.lock");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .unwrap();
        // SAFETY: flock on a descriptor `f` owns; released when `f` is dropped below.
        let held = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(held, 0);
        std::fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
        let (ok, _, err) = run(&["remove", idx_s, "--source", docs_s]);
        assert!(
            !ok && err.contains(&format!("being changed by process {}", std::process::id())),
            "{err}"
        );
        assert!(
            err.contains(&lock.display().to_string()),
            "names the lock file: {err}"
        );
        drop(f);
        // A lock file hard-linked to another file is refused, and that file is left as it was.
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep me\n").unwrap();
        std::fs::remove_file(&lock).unwrap();
        std::fs::hard_link(&victim, &lock).unwrap();
        let (ok, _, err) = run(&["remove", idx_s, "--source", docs_s]);
        assert!(!ok && err.contains("hard links"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
        std::fs::remove_file(&lock).unwrap();
        // The lock of a writer that is gone (its flock died with it) never blocks the next one.
        let (ok, _, err) = run(&["remove", idx_s, "--source", docs_s]);
        assert!(ok, "{err}");
        assert_eq!(passages(idx_s), Some(0));
    }
}

#[test]
fn kill_9_during_changes_leaves_the_state_before_or_after() {
    kill_9_during_changes(&[]);
}

#[test]
fn kill_9_during_changes_to_a_graph_index_leaves_the_state_before_or_after() {
    kill_9_during_changes(&["--navigation", "graph"]);
}

/// 50 add/remove commands killed at spread moments on an index built with `build_args`.
fn kill_9_during_changes(build_args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("k.leann");
    let idx_s = idx.to_str().unwrap();
    let mut args = vec!["build", "examples/corpus/espresso.md", "-o", idx_s];
    args.extend_from_slice(build_args);
    let (ok, _, err) = run(&args);
    assert!(ok, "{err}");
    let pi = "examples/corpus/raspberry-pi.md";
    let before = passages(idx_s).unwrap();
    let mut seen_after = false;
    let mut states = std::collections::BTreeSet::from([before]);
    // 50 kills at moments spread over the model load, the embedding and the write.
    for i in 0..50u64 {
        let n = passages(idx_s).expect("the index opens after every kill");
        let args: Vec<&str> = if n == before {
            vec!["add", idx_s, pi]
        } else {
            seen_after = true;
            vec!["remove", idx_s, "--source", pi]
        };
        let mut child = bin()
            .args(&args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20 + (i * 37) % 900));
        let _ = child.kill();
        let _ = child.wait();
        states.insert(passages(idx_s).expect("the index opens after a kill"));
        // Only two states exist: without the file and with all of its passages.
        assert!(
            states.len() <= 2,
            "half-applied change: passage counts {states:?}"
        );
        let (ok, _, err) = run(&["verify", idx_s]);
        assert!(ok, "verify after kill {i}: {err}");
    }
    assert!(
        seen_after,
        "no change ever completed: the kill delays are too short"
    );
}

fn search_json(idx: &str, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["search", idx];
    a.extend_from_slice(args);
    a.push("--json");
    let (ok, out, err) = run(&a);
    assert!(ok, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn keyword_hybrid_filters_and_grep() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("ex.leann");
    let idx_s = idx.to_str().unwrap();
    // One passage per example file (at the default chunk size raspberry-pi.md splits in two,
    // and the two halves tie in the fusion below).
    let (ok, _, err) = run(&[
        "build",
        "examples/corpus",
        "-o",
        idx_s,
        "--chunk-tokens",
        "256",
    ]);
    assert!(ok, "{err}");
    let hits = |v: &serde_json::Value| v["hits"].as_array().unwrap().clone();
    // An identifier: keyword ranking finds the one passage that holds it, with no encoder work.
    let v = search_json(idx_s, &["bcm2712", "--mode", "keyword", "-k", "1"]);
    assert!(
        hits(&v)[0]["text"].as_str().unwrap().contains("BCM2712"),
        "{v}"
    );
    assert_eq!(hits(&v)[0]["signals"], serde_json::json!(["keyword"]));
    assert_eq!(v["stats"]["recomputed"], 0);
    // Hybrid (the default) finds it too, says which signals found each hit, and is deterministic.
    let q = ["which board uses the BCM2712", "-k", "3"];
    let v = search_json(idx_s, &q);
    assert_eq!(v["mode"], "hybrid");
    assert!(
        hits(&v)[0]["text"].as_str().unwrap().contains("BCM2712"),
        "{v}"
    );
    assert!(
        hits(&v)[0]["signals"].to_string().contains("keyword"),
        "{v}"
    );
    assert_eq!(search_json(idx_s, &q)["hits"], v["hits"]);
    // Filters apply before ranking: k hits, all passing, when k passages pass.
    let v = search_json(
        idx_s,
        &[
            "Raspberry Pi power",
            "--filter",
            "type=md",
            "--filter",
            "source!=**/raspberry-pi.md",
            "-k",
            "3",
        ],
    );
    assert_eq!(
        hits(&v).len(),
        2,
        "exactly 2 passages pass (k = 3 asked): {v}"
    );
    for h in hits(&v) {
        let s = h["source"].as_str().unwrap();
        assert!(s.contains(".md:") && !s.contains("raspberry-pi.md"), "{s}");
    }
    for mode in ["dense", "keyword", "hybrid"] {
        let v = search_json(
            idx_s,
            &[
                "moons of jupiter",
                "--filter",
                "source=**/planets.html",
                "--mode",
                mode,
                "-k",
                "1",
            ],
        );
        assert!(
            hits(&v)
                .iter()
                .all(|h| h["source"].as_str().unwrap().contains("planets.html")),
            "{mode}: {v}"
        );
    }
    let v = search_json(idx_s, &["Raspberry Pi", "--filter", "source=nowhere/**"]);
    assert!(hits(&v).is_empty(), "no passage passes: no hits, no error");
    let v = search_json(
        idx_s,
        &[
            "which processor",
            "--grep",
            "Cortex-A7[26]",
            "--mode",
            "dense",
        ],
    );
    assert!(!hits(&v).is_empty());
    for h in hits(&v) {
        let t = h["text"].as_str().unwrap();
        assert!(t.contains("Cortex-A72") || t.contains("Cortex-A76"), "{t}");
    }
    // A graph index: the filtered search scans the passing set, so k hits still come back.
    let g = dir.path().join("g.leann");
    let g_s = g.to_str().unwrap();
    let (ok, _, err) = run(&[
        "build",
        "examples/corpus",
        "-o",
        g_s,
        "--navigation",
        "graph",
    ]);
    assert!(ok, "{err}");
    let v = search_json(
        g_s,
        &[
            "espresso",
            "--filter",
            "source=**/raspberry-pi.md",
            "-k",
            "2",
        ],
    );
    assert_eq!(hits(&v).len(), 2, "{v}");
    let (ok, _, err) = run(&["search", idx_s, "x", "--filter", "lang=en"]);
    assert!(
        !ok && err.contains("unknown filter field \"lang\""),
        "{err}"
    );
    let (ok, _, err) = run(&["search", idx_s, "x", "--grep", "(unclosed"]);
    assert!(!ok && err.contains("--grep"), "{err}");
}

#[test]
fn metadata_is_stored_filtered_on_and_kept_through_changes() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let rec = |id: &str, text: &str, md: &str| {
        format!("{{\"id\":\"{id}\",\"text\":\"{text}\",\"metadata\":{md}}}\n")
    };
    let long = "The boiler manual explains pressure and valves. ".repeat(400);
    let jsonl = [
        rec(
            "en23",
            "Printer jams on floor two.",
            r#"{"lang":"en","year":2023}"#,
        ),
        rec(
            "en24",
            "Printer toner is in the cupboard.",
            r#"{"lang":"en","year":2024}"#,
        ),
        rec(
            "de24",
            "Der Drucker klemmt im zweiten Stock.",
            r#"{"lang":"de","year":2024}"#,
        ),
        rec(
            "en25",
            "Printer drivers are on the share.",
            r#"{"lang":"en","year":2025.5}"#,
        ),
        rec(
            "bad",
            "Printer paper is A4.",
            r#"{"lang":"en","nest":{"x":1}}"#,
        ),
        rec("plain", "Printer repairs are booked by mail.", "null"),
        rec("long", &long, r#"{"lang":"en","year":2020}"#),
    ]
    .concat();
    std::fs::write(p("a.jsonl"), jsonl).unwrap();
    std::fs::create_dir(p("docs")).unwrap();
    let day = std::time::Duration::from_secs(86_400);
    for (name, days) in [("old.md", 19_000u64), ("new.md", 20_000)] {
        let f = dir.path().join("docs").join(name);
        std::fs::write(
            &f,
            format!("# {name}\n\nThe printer manual, edition {days}.\n"),
        )
        .unwrap();
        let t = std::time::UNIX_EPOCH + day * days as u32;
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    let idx = p("m.leann");
    let (ok, _, err) = run(&["build", &p("a.jsonl"), &p("docs"), "-o", &idx]);
    assert!(ok, "{err}");
    assert!(err.contains("JSONL metadata fields dropped"), "{err}");
    let ids = |args: &[&str]| -> Vec<String> {
        // Every passing passage (the long record's parts repeat one sentence).
        let mut a = vec!["printer", "-k", "50", "--mode", "dense", "--keep-overlaps"];
        a.extend_from_slice(args);
        let v = search_json(&idx, &a);
        let mut ids: Vec<String> = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| match h["source"].as_str() {
                Some(s) => s.rsplit('/').next().unwrap().to_string(),
                None => h["id"].as_str().unwrap().to_string(),
            })
            .collect();
        ids.sort();
        ids
    };
    // AND of clauses, numeric ranges (2025.5 is a number), a missing field passes only !=.
    assert_eq!(
        ids(&["--filter", "lang=en", "--filter", "year>=2024"]),
        ["en24", "en25"]
    );
    let long_parts = ids(&["--filter", "id=long*"]);
    assert!(
        long_parts.len() > 1,
        "the long record was split: {long_parts:?}"
    );
    let mut want = long_parts.clone();
    want.insert(0, "en23".to_string());
    want.sort();
    assert_eq!(
        ids(&["--filter", "year<2024", "--filter", "lang!=de"]),
        want,
        "every part of the long record keeps its metadata"
    );
    assert_eq!(
        ids(&["--filter", "lang!=en"]),
        ["de24", "new.md:1", "old.md:1", "plain"],
        "passages without the field pass only !="
    );
    assert_eq!(
        ids(&[
            "--filter",
            "mtime>=1990-01-01",
            "--filter",
            "mtime<2024-01-01"
        ]),
        ["old.md:1"]
    );
    assert!(
        ids(&["--filter", "lang=fr"]).is_empty(),
        "no match: no hits, no error"
    );
    let (ok, _, err) = run(&["search", &idx, "x", "--filter", "colour=red"]);
    assert!(
        !ok && err.contains("unknown filter field \"colour\"") && err.contains("lang, mtime, year"),
        "{err}"
    );
    // Hits carry their metadata; info shows the component.
    let v = search_json(&idx, &["toner", "--filter", "id=en24", "-k", "1"]);
    assert_eq!(
        v["hits"][0]["metadata"],
        serde_json::json!({"lang": "en", "year": 2024})
    );
    let (ok, out, _) = run(&["info", &idx, "--json"]);
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        ok && info["components"]["passage_meta"]["bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        info["metadata"]["fields"],
        serde_json::json!(["lang", "mtime", "year"])
    );
    // Kept through add, remove and a rewrite; removed passages never pass a filter.
    std::fs::write(
        p("b.jsonl"),
        rec(
            "fr25",
            "Imprimante en panne.",
            r#"{"lang":"fr","year":2025}"#,
        ),
    )
    .unwrap();
    change_json(&["add", &idx, &p("b.jsonl"), "--json"]);
    change_json(&["remove", &idx, "--id", "en24", "--json"]);
    assert_eq!(ids(&["--filter", "year>=2024"]), ["de24", "en25", "fr25"]);
    assert_eq!(ids(&["--filter", "lang=fr"]), ["fr25"]);
    let (ok, _, err) = run(&["verify", &idx]);
    assert!(ok, "{err}");
}

#[test]
fn a_copied_binary_finds_the_model_in_the_user_data_folder_and_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("bin/leann-edge");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_leann-edge"), &exe).unwrap();
    let data = dir.path().join("data");
    let run_here = |args: &[&str]| {
        let o = Command::new(&exe)
            .args(args)
            .current_dir(dir.path())
            .env_remove("LEANN_EDGE_MODEL")
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", &data)
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .env("LEANN_EDGE_BOARD", "x86_64-host")
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let want = data.join("leann-edge/models/all-minilm-l6-v2-int8");
    let (ok, _, err) = run_here(&["demo"]);
    assert!(!ok && err.contains("no encoder model found"), "{err}");
    assert!(
        err.contains(want.to_str().unwrap()) && err.contains("/usr/share/leann-edge/models"),
        "names every place: {err}"
    );
    assert!(err.contains("Fix:") && err.lines().count() == 1, "{err}");
    // Put the model where a user install keeps it: found from any folder, `demo` included.
    std::fs::create_dir_all(&want).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-minilm-l6-v2-int8");
    for f in ["model.onnx", "tokenizer.json", "config.json"] {
        std::fs::copy(src.join(f), want.join(f)).unwrap();
    }
    let (ok, out, err) = run_here(&["models", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let used: Vec<&serde_json::Value> = v["places"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["used"] == true)
        .collect();
    assert_eq!(used.len(), 1, "{v}");
    assert_eq!(used[0]["why"], "user data folder");
    assert!(used[0]["state"].as_str().unwrap().starts_with("ok"), "{v}");
    let (ok, out, err) = run_here(&["demo"]);
    assert!(ok, "{err}");
    assert!(out.contains("Q: Which planet has the most moons?"), "{out}");
}

#[test]
fn a_full_disk_during_a_change_is_one_clear_error_and_leaves_the_index_intact() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("full.leann");
    let idx_s = idx.to_str().unwrap();
    let (ok, _, err) = run(&["build", "examples/corpus/espresso.md", "-o", idx_s]);
    assert!(ok, "{err}");
    let before = (passages(idx_s).unwrap(), std::fs::read(&idx).unwrap());
    // The writer's file-size limit (RLIMIT_FSIZE) sits just above the old index: writing the new
    // one fails part-way exactly as on a full disk (EFBIG instead of ENOSPC; SIGXFSZ ignored so
    // the write returns the error).
    let limit_kib = before.1.len() / 1024 + 1;
    let script = format!("trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" \"$@\"");
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_leann-edge"))
        .args(["add", idx_s, "examples/corpus", "--json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LEANN_EDGE_BOARD", "x86_64-host")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "the write cannot fit: {err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error[disk_full]: ")
            && last.contains(idx_s)
            && last.contains("free space"),
        "{err}"
    );
    // Nothing changed, nothing left behind.
    assert_eq!(std::fs::read(&idx).unwrap(), before.1);
    let (ok, _, err) = run(&["verify", idx_s]);
    assert!(ok, "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // With room again the same change goes through.
    change_json(&["add", idx_s, "examples/corpus", "--json"]);
    assert!(passages(idx_s).unwrap() > before.0);
}

/// Sentences (longer than a few words) two passages have in common.
fn shared_sentences(a: &str, b: &str) -> usize {
    let sentences = |t: &str| -> Vec<String> {
        t.split(['.', '\n'])
            .map(|s| s.trim().to_string())
            .filter(|s| s.len() > 30)
            .collect()
    };
    let sb = sentences(b);
    sentences(a).iter().filter(|s| sb.contains(s)).count()
}

#[test]
fn neighbouring_chunks_do_not_fill_the_hits_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    // One file: a region about watering tomatoes among unrelated paragraphs, chunked small with a
    // one-sentence overlap, so the best chunks for a watering question are neighbours.
    let mut text = String::from("# Garden notes\n\n");
    for i in 0..6 {
        text += &format!(
            "Ferry timetable {i} lists departures from the north pier every forty minutes. \
             Tickets for the ferry are sold at the kiosk beside the harbour office.\n\n"
        );
    }
    for s in [
        "Water tomato plants deeply twice a week rather than a little every day.",
        "Tomatoes in pots dry out faster and may need watering every morning in summer.",
        "Water the soil at the base of the tomato plant, not the leaves, to avoid blight.",
        "Uneven watering of tomatoes causes split fruit and blossom end rot.",
        "A layer of mulch keeps the tomato bed moist between waterings.",
    ] {
        text += s;
        text += " ";
    }
    text += "\n\n";
    for i in 0..6 {
        text += &format!(
            "Chapter {i} of the castle history describes the siege of the eastern tower. \
             The garrison held the walls for three winters before the treaty was signed.\n\n"
        );
    }
    std::fs::write(docs.join("garden.md"), text).unwrap();
    let idx = dir.path().join("g.leann");
    let idx_s = idx.to_str().unwrap();
    let d = docs.to_str().unwrap();
    let (ok, _, err) = run(&[
        "build",
        d,
        "-o",
        idx_s,
        "--chunk-tokens",
        "40",
        "--overlap-tokens",
        "20",
    ]);
    assert!(ok, "{err}");
    let q = "how often should I water my tomato plants";
    let search = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["search", idx_s, q, "--json", "-k", "3", "--mode", "dense"];
        args.extend_from_slice(extra);
        let (ok, out, err) = run(&args);
        assert!(ok, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let overlapping_pairs = |v: &serde_json::Value| -> usize {
        let texts: Vec<&str> = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["text"].as_str().unwrap())
            .collect();
        let mut n = 0;
        for i in 0..texts.len() {
            for j in i + 1..texts.len() {
                n += usize::from(shared_sentences(texts[i], texts[j]) > 0);
            }
        }
        n
    };
    let kept = search(&["--keep-overlaps"]);
    assert!(overlapping_pairs(&kept) >= 1, "{kept:#}");
    assert_eq!(kept["overlaps_dropped"], 0);
    let plain = search(&[]);
    assert_eq!(overlapping_pairs(&plain), 0, "{plain:#}");
    assert!(
        plain["overlaps_dropped"].as_u64().unwrap() >= 1,
        "{plain:#}"
    );
    // Still k hits, the best one first in both.
    assert_eq!(plain["hits"].as_array().unwrap().len(), 3, "{plain:#}");
    assert_eq!(plain["hits"][0]["node"], kept["hits"][0]["node"]);
}

/// The multilingual model of the manifest, where `models/fetch.sh --model
/// multilingual-e5-small-int8` puts it (`.ci/run` fetches it).
fn multilingual_model() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(leann_edge::embed::tract::MULTILINGUAL);
    dir.join("model.onnx").is_file().then_some(dir)
}

#[test]
fn the_multilingual_model_answers_across_languages_and_its_index_refuses_another_model() {
    let Some(_) = multilingual_model() else {
        eprintln!("skipped: run models/fetch.sh --model multilingual-e5-small-int8 (.ci/run does)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    let recs = [
        ("zug", "Der Zug nach Lyon fährt täglich um 7:42 Uhr von Gleis 3 ab. Fahrräder dürfen nur mit Reservierung mitgenommen werden."),
        ("pan", "Para un pan sencillo mezcle 500 gramos de harina y 350 mililitros de agua y hornéelo a 230 grados."),
        ("musee", "L'entrée du musée de la ville coûte 8 euros. Elle est gratuite le premier dimanche du mois."),
        ("akku", "Der Akku des Staubsaugers hält etwa 40 Minuten; laden Sie ihn vor dem ersten Gebrauch vollständig auf."),
    ];
    write_jsonl(&corpus, &recs);
    let idx = dir.path().join("ml.leann");
    let (idx_s, corpus_s) = (idx.to_str().unwrap(), corpus.to_str().unwrap());
    // `--model NAME` finds the manifest's model where the default one is looked for.
    let ml = leann_edge::embed::tract::MULTILINGUAL;
    let (ok, _, err) = run(&["--model", ml, "build", corpus_s, "-o", idx_s]);
    assert!(ok, "{err}");
    for (q, want) in [
        ("Can I take my bicycle on the train?", "zug"),
        ("¿Cuándo es gratis la entrada al museo?", "musee"),
        ("Wie heiß wird das Brot gebacken?", "pan"),
        ("How long does the vacuum cleaner battery last?", "akku"),
    ] {
        let (ok, out, err) = run(&[
            "--model", ml, "search", idx_s, q, "--json", "-k", "1", "--mode", "dense",
        ]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["hits"][0]["id"], want, "{q}: {v:#}");
    }
    let (ok, out, _) = run(&["info", idx_s, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        ok && v["encoder_languages"].as_str().unwrap().contains("100"),
        "{v}"
    );
    // The default (English) model cannot search it: one clear error.
    let (ok, _, err) = run(&["search", idx_s, "train"]);
    assert!(
        !ok && err.contains(ml) && err.contains("same model"),
        "{err}"
    );
}

#[test]
fn a_hostile_pdf_kills_only_the_pdf_helper_not_the_build() {
    use leann_edge::ingest::document_samples as samples;
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    // A form that draws itself: pdf-extract recurses until the stack overflows, which would abort
    // a process reading it in place.
    std::fs::write(docs.join("bomb.pdf"), samples::pdf_recursive_form()).unwrap();
    std::fs::write(docs.join("loop.pdf"), samples::pdf_parent_loop()).unwrap();
    std::fs::write(
        docs.join("manual.pdf"),
        samples::pdf(&[&["Boiler Manual"], &["Bleed the radiators once a year."]]),
    )
    .unwrap();
    std::fs::write(
        docs.join("notes.md"),
        "# Notes\n\nThe boiler is serviced in May.\n",
    )
    .unwrap();
    let idx = dir.path().join("d.leann");
    let idx_s = idx.to_str().unwrap();
    let (ok, _, err) = run(&["build", docs.to_str().unwrap(), "-o", idx_s, "-v"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("bomb.pdf: unreadable PDF (the reader failed on it)"),
        "{err}"
    );
    assert!(err.contains("loop.pdf: unreadable PDF"), "{err}");
    // The good PDF and the Markdown file are indexed.
    let v = search_json(idx_s, &["bleed the radiators", "--mode", "keyword"]);
    let src = v["hits"][0]["source"].as_str().unwrap();
    assert!(src.contains("manual.pdf:"), "{v}");
    let (ok, out, _) = run(&["list", idx_s]);
    assert!(
        ok && out.contains("notes.md") && !out.contains("bomb.pdf"),
        "{out}"
    );
}

/// `--compute int8` (the default for a new index) at build: the index records it, every later
/// command computes the same way without being told, and asking for the other arithmetic is one
/// clear error (both ways).
#[test]
fn an_int8_compute_index_is_searched_and_changed_with_int8_compute() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.jsonl");
    let recs = [
        (
            "kettle",
            "Descale the kettle every month with a cup of white vinegar and a litre of water.",
        ),
        (
            "bike",
            "Pump the bicycle tyres to four bar before a long ride and check the brake pads.",
        ),
        (
            "fern",
            "Ferns like shade and damp soil; water them twice a week in summer.",
        ),
        (
            "tax",
            "The tax return is due by the end of July; late filing costs a fee.",
        ),
    ];
    write_jsonl(&corpus, &recs);
    let idx = dir.path().join("i8.leann");
    let (idx_s, corpus_s) = (idx.to_str().unwrap(), corpus.to_str().unwrap());
    let (ok, _, err) = run(&["--compute", "int8", "build", corpus_s, "-o", idx_s]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["info", idx_s, "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["encoder_compute"], "int8", "{v}");
    for (q, want) in [
        ("how do I remove limescale from a kettle", "kettle"),
        ("what tyre pressure for cycling", "bike"),
        ("when must I file my taxes", "tax"),
    ] {
        let (ok, out, err) = run(&["search", idx_s, q, "--json", "-k", "1", "--mode", "dense"]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["hits"][0]["id"], want, "{q}: {v:#}");
    }
    let (ok, _, err) = run(&["--compute", "f32", "search", idx_s, "kettle"]);
    assert!(
        !ok && err.contains("int8") && err.contains("--compute"),
        "{err}"
    );
    // A change embeds with the index's arithmetic: the new passage is found, verify passes.
    let more = dir.path().join("more.jsonl");
    write_jsonl(
        &more,
        &[("owl", "Owls hunt at night and swallow mice whole.")],
    );
    let (ok, _, err) = run(&["add", idx_s, more.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&[
        "search",
        idx_s,
        "which birds hunt mice at night",
        "--json",
        "-k",
        "1",
        "--mode",
        "dense",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hits"][0]["id"], "owl", "{v:#}");
    let (ok, _, err) = run(&["verify", idx_s]);
    assert!(ok, "{err}");
    // And the other way round: an f32 index refuses int8 compute.
    let f32_idx = dir.path().join("f32.leann");
    let (ok, _, err) = run(&[
        "--compute",
        "f32",
        "build",
        corpus_s,
        "-o",
        f32_idx.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&[
        "--compute",
        "int8",
        "search",
        f32_idx.to_str().unwrap(),
        "kettle",
    ]);
    assert!(
        !ok && err.contains("f32") && err.contains("--compute"),
        "{err}"
    );
}

/// An index built small and grown past the size where a fresh build projects before PQ: `compact`
/// retrains it (re-embedding every passage from the stored text), `--retrain never` only
/// rewrites, and a retrained index is left alone by the next `compact`.
#[test]
fn compact_retrains_the_pq_when_a_fresh_build_would_choose_another() {
    let dir = tempfile::tempdir().unwrap();
    let (colours, animals) = (
        [
            "red", "green", "blue", "amber", "violet", "grey", "white", "black",
        ],
        [
            "otter", "heron", "lynx", "badger", "falcon", "newt", "moose", "gecko",
        ],
    );
    let (places, foods) = (
        [
            "Oslo", "Lima", "Perth", "Quito", "Accra", "Hanoi", "Riga", "Tunis",
        ],
        [
            "berries", "fish", "seeds", "insects", "roots", "honey", "grass", "eggs",
        ],
    );
    let line = |i: usize| {
        let text = format!(
            "Record {i}: the {} {} of {} eats {} and sleeps {} hours.",
            colours[i % 8],
            animals[(i / 8) % 8],
            places[(i / 64) % 8],
            foods[(i * 7) % 8],
            i % 11 + 1
        );
        serde_json::json!({"id": format!("r{i}"), "text": text}).to_string() + "\n"
    };
    let (first, rest) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    std::fs::write(&first, (0..300).map(line).collect::<String>()).unwrap();
    std::fs::write(&rest, (300..1100).map(line).collect::<String>()).unwrap();
    let idx = dir.path().join("grow.leann");
    let idx_s = idx.to_str().unwrap();
    let (ok, _, err) = run(&["build", first.to_str().unwrap(), "-o", idx_s]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["add", idx_s, rest.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["compact", idx_s, "--retrain", "never"]);
    assert!(ok && err.contains("would use PQ"), "{out}{err}");
    let compact = |extra: &[&str]| {
        let mut args = vec!["compact", idx_s, "--json"];
        args.extend_from_slice(extra);
        let (ok, out, err) = run(&args);
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let v = compact(&[]);
    assert_eq!(v["retrained"], true, "{v}");
    assert_eq!(v["embedded_passages"], 1100, "{v}");
    assert_eq!(v["passages_after"], 1100, "{v}");
    let (ok, _, err) = run(&["verify", idx_s]);
    assert!(ok, "{err}");
    // Every passage is still there and found by its text (ids kept).
    for i in [5usize, 299, 300, 1099] {
        let q = serde_json::from_str::<serde_json::Value>(&line(i)).unwrap()["text"]
            .as_str()
            .unwrap()
            .to_string();
        let v = search_json(idx_s, &[&q, "-k", "1", "--mode", "dense"]);
        assert_eq!(v["hits"][0]["id"], format!("r{i}"), "{q}: {v:#}");
    }
    let v = compact(&[]);
    assert_eq!(v["retrained"], false, "{v}");
    assert_eq!(v["embedded_passages"], 0, "{v}");
}

/// Every rewrite of an index keeps its mode and group (it holds all passage text): a private
/// 0600 index stays 0600 through add, remove, compact and a rebuild over it, and a group it was
/// given (a second group of this user, where there is one) stays its group.
#[cfg(unix)]
#[test]
fn changes_keep_the_index_mode_and_group() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("p.leann");
    let idx_s = idx.to_str().unwrap();
    let (ok, _, err) = run(&["build", "examples/corpus/espresso.md", "-o", idx_s]);
    assert!(ok, "{err}");
    std::fs::set_permissions(&idx, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut gid = std::fs::metadata(&idx).unwrap().gid();
    let mut groups = [0 as libc::gid_t; 64];
    // SAFETY: getgroups writes at most `groups.len()` ids into the array it is given.
    let n = unsafe { libc::getgroups(groups.len() as i32, groups.as_mut_ptr()) };
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mine = groups[..n.max(0) as usize].iter().copied();
    // root may give the file any group (65534: nogroup); others one of their own.
    let other = if root {
        Some(65534)
    } else {
        mine.clone().find(|&g| g != gid)
    };
    if let Some(other) = other.filter(|&g| g != gid) {
        std::os::unix::fs::chown(&idx, None, Some(other)).unwrap();
        gid = other;
    }
    let pi = "examples/corpus/raspberry-pi.md";
    let steps: [&[&str]; 4] = [
        &["add", idx_s, pi],
        &["remove", idx_s, "--source", pi],
        &["compact", idx_s],
        &["build", "examples/corpus/espresso.md", "-o", idx_s],
    ];
    for args in steps {
        let (ok, _, err) = run(args);
        assert!(ok, "{args:?}: {err}");
        let m = std::fs::metadata(&idx).unwrap();
        assert_eq!(m.mode() & 0o777, 0o600, "{args:?} changed the mode");
        assert_eq!(m.gid(), gid, "{args:?} changed the group");
    }
}

/// Without a terminal (systemd, nohup, a log file) a build still says how far it is: a line per
/// phase start and end (and every 10 s between); `--progress off` says nothing.
#[test]
fn progress_is_lines_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("p.leann");
    let idx_s = idx.to_str().unwrap();
    let (ok, _, err) = run(&["build", "examples/corpus", "-o", idx_s]);
    assert!(ok, "{err}");
    for want in [
        "progress: embed 0/8",
        "progress: embed 8/8 (100%)",
        "progress: write 1/1",
    ] {
        assert!(err.contains(want), "{want:?} missing:\n{err}");
    }
    let (ok, _, err) = run(&["build", "examples/corpus", "-o", idx_s, "--progress", "off"]);
    assert!(ok && !err.contains("progress:"), "{err}");
    let (ok, _, err) = run(&[
        "add",
        idx_s,
        "examples/corpus/espresso.md",
        "--progress",
        "lines",
    ]);
    assert!(ok, "{err}");
    assert!(
        !err.contains('\r'),
        "lines are lines, not a redrawn bar: {err:?}"
    );
}
