//! `leann-edge serve` and `leann-edge mcp` as users run them: the real binary on loopback, a plain
//! HTTP/1.1 client, the official Python MCP SDK and a headless Chromium (installed by `.ci/run`:
//! `pip install -r tests/clients/requirements.txt`, Debian's chromium + chromium-driver).
#![cfg(all(feature = "cli", feature = "serve"))]
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_leann-edge");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn bin() -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(ROOT).env("LEANN_EDGE_BOARD", "x86_64-host");
    c
}

/// A copy of the example corpus (text files only) in `dir/docs`, indexed into `dir/ex.leann`.
/// Passages of `examples/corpus` at the default chunk size (raspberry-pi.md and pq.md hold two each).
const EXAMPLE_PASSAGES: u64 = 8;

fn corpus_index(dir: &Path) -> (PathBuf, PathBuf) {
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    for e in std::fs::read_dir(Path::new(ROOT).join("examples/corpus")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x != "bin") {
            std::fs::copy(&p, docs.join(p.file_name().unwrap())).unwrap();
        }
    }
    let idx = dir.join("ex.leann");
    let o = bin()
        .args(["build", docs.to_str().unwrap(), "-o", idx.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (idx, docs)
}

/// A running `serve`; killed when dropped.
struct Server {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(index: &Path, extra: &[&str]) -> Server {
        let mut child = bin()
            .arg("serve")
            .arg(index)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let (err, l) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(a) = line.split("on http://").nth(1) {
                    let _ = tx.send(a.split('/').next().unwrap_or("").to_string());
                }
                l.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve did not start: {}", log.lock().unwrap()));
        Server { child, addr, log }
    }

    fn get(&self, path: &str) -> Resp {
        http(&self.addr, "GET", path, &[], None)
    }

    fn post(&self, path: &str, body: &Value) -> Resp {
        http(&self.addr, "POST", path, &[], Some(&body.to_string()))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Resp {
    status: u16,
    headers: String,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{e}: not JSON ({}): {}", self.status, self.body))
    }
    /// The error code of a JSON error answer.
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    raw(addr, &req, body)
}

/// Send `head` (request line and headers, ending in an empty line) and `body` as they are.
fn raw(addr: &str, head: &str, body: &str) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body.as_bytes());
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Resp {
        status,
        headers: head.to_ascii_lowercase(),
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn top_source(v: &Value) -> String {
    v["hits"][0]["source"].as_str().unwrap_or("").to_string()
}

#[test]
fn http_api_searches_changes_and_answers_errors_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, docs) = corpus_index(dir.path());
    let s = Server::start(&idx, &["--sync", docs.to_str().unwrap()]);

    assert_eq!(s.get("/healthz").json()["status"], "ok");
    let r = s.get("/v1/search?q=how+much+RAM+does+the+Pi+Zero+2+W+have&k=2&min_score=-1");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert!(top_source(&v).contains("raspberry-pi.md"), "{v}");
    assert_eq!(v["hits"].as_array().unwrap().len(), 2);
    for f in ["rank", "id", "node", "score", "title", "source", "text"] {
        assert!(v["hits"][0].get(f).is_some(), "hit field {f} missing: {v}");
    }
    assert!(v["stats"]["recomputed"].as_u64().unwrap() >= 1);
    let v = s
        .post(
            "/v1/search",
            &json!({"query": "which planet has the most moons"}),
        )
        .json();
    assert!(top_source(&v).contains("planets.html"), "{v}");

    // The default score floor: an off-topic question gets no hits, and says how close it came.
    let v = s
        .get("/v1/search?q=who+won+the+football+world+cup+in+1998")
        .json();
    assert_eq!(v["hits"], json!([]), "{v}");
    assert!(v["best_score"].as_f64().unwrap() < 0.30, "{v}");
    let v = s
        .get("/v1/search?q=who+won+the+football+world+cup+in+1998&min_score=-1")
        .json();
    assert_eq!(v["hits"].as_array().unwrap().len(), 3, "{v}");

    // Rankings and filters through the API.
    let v = s
        .post(
            "/v1/search",
            &json!({"query": "bcm2712", "mode": "keyword", "k": 1}),
        )
        .json();
    assert!(
        v["hits"][0]["text"].as_str().unwrap().contains("BCM2712"),
        "{v}"
    );
    let v = s
        .get("/v1/search?q=coffee&filter=source=**/planets.html;type=html&min_score=-1")
        .json();
    assert!(
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["source"].as_str().unwrap().contains("planets.html")),
        "{v}"
    );
    assert_eq!(
        s.post("/v1/search", &json!({"query": "x", "filter": ["lang=en"]}))
            .code(),
        "invalid_filter"
    );

    // Errors: JSON, the right status, nothing served.
    let long = "x".repeat(9000);
    let cases: Vec<(Resp, u16, &str)> = vec![
        (s.get("/v1/search?q=moons&k=0"), 400, "invalid_param"),
        (s.get("/v1/search?q=moons&k=abc"), 400, "invalid_param"),
        (s.get("/v1/search?k=3"), 400, "invalid_param"),
        (s.get(&format!("/v1/search?q={long}")), 400, "invalid_query"),
        (
            s.post("/v1/search", &json!({"query": "   "})),
            400,
            "invalid_query",
        ),
        (
            s.post("/v1/search", &json!({"query": "a", "mode": "fast"})),
            400,
            "invalid_param",
        ),
        (
            http(&s.addr, "POST", "/v1/search", &[], Some("{\"query\":")),
            400,
            "invalid_body",
        ),
        (
            s.post("/v1/search", &json!({"query": "a", "nope": 1})),
            422,
            "invalid_body",
        ),
        (s.get("/v1/nothing"), 404, "not_found"),
        (
            http(&s.addr, "PUT", "/v1/search", &[], None),
            405,
            "method_not_allowed",
        ),
    ];
    for (r, status, code) in cases {
        assert_eq!((r.status, r.code().as_str()), (status, code), "{}", r.body);
    }
    let big = format!("[{{\"id\":\"big\",\"text\":\"{}\"}}]", "a ".repeat(9 << 20));
    let r = http(&s.addr, "POST", "/v1/documents", &[], Some(&big));
    assert_eq!(r.status, 413, "{}", r.body);

    // Describe and observe.
    let api = s.get("/v1/openapi.json").json();
    assert!(api["paths"]["/v1/search"]["get"].is_object());
    let info = s.get("/v1/info").json();
    assert_eq!(info["passages"], EXAMPLE_PASSAGES);
    assert_eq!(info["service"]["read_only"], false);
    let src = s.get("/v1/sources").json();
    assert!(
        src["sources"].to_string().contains("raspberry-pi.md"),
        "{src}"
    );
    let m = s.get("/metrics").body;
    assert!(m.contains("leann_searches_total 6"), "{m}");
    assert!(m.contains("leann_request_duration_seconds_bucket{le=\"+Inf\"}"));
    assert!(m
        .lines()
        .any(|l| l.starts_with("leann_rss_bytes ") && !l.ends_with(" 0")));

    // The recompute cache: the same question again takes its passages' vectors from RAM.
    let q = "/v1/search?q=which+planet+has+the+most+moons&min_score=-1&mode=dense";
    let first = s.get(q).json();
    let again = s.get(q).json();
    assert_eq!(again["stats"]["recomputed"], 0, "{again}");
    assert!(again["stats"]["recompute_cache_hits"].as_u64().unwrap() >= 3);
    let nodes = |v: &Value| -> Vec<Value> {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["node"].clone())
            .collect()
    };
    assert_eq!(
        nodes(&first),
        nodes(&again),
        "same answer from cached vectors"
    );
    let m = s.get("/metrics").body;
    let hits = m
        .lines()
        .find_map(|l| l.strip_prefix("leann_recompute_cache_hits "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(hits.is_some_and(|h| h >= 3.0), "{m}");
    let info = s.get("/v1/info").json();
    assert!(
        info["service"]["recompute_cache"]["entries"]
            .as_u64()
            .unwrap()
            >= 3
    );

    // Add, find, remove, gone.
    let doc = json!({"documents": [{"id": "err-1", "title": "Errors", "metadata": {"lang": "en", "year": 2024},
        "text": "EADDRINUSE: the port is already taken by another process; stop it or choose another port."}]});
    let r = s.post("/v1/documents", &doc);
    assert_eq!(
        (r.status, r.json()["added_passages"].clone()),
        (200, json!(1)),
        "{}",
        r.body
    );
    let q = "/v1/search?q=port+already+in+use+by+another+program&k=1";
    assert_eq!(s.get(q).json()["hits"][0]["id"], "err-1");
    // Its metadata comes back with the hit and filters (only it passes `year>=2024`).
    let r = s.post(
        "/v1/search",
        &json!({"query": "port in use", "filter": ["lang=en", "year>=2024"], "k": 3}),
    );
    let hits = r.json()["hits"].clone();
    assert_eq!(hits.as_array().map(|h| h.len()), Some(1), "{}", r.body);
    assert_eq!(hits[0]["metadata"], json!({"lang": "en", "year": 2024}));
    let bad = json!([{"id": "m", "text": "x y z", "metadata": {"source": "spoof"}}]);
    let r = s.post("/v1/documents", &bad);
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_param"),
        "{}",
        r.body
    );
    let r = http(&s.addr, "DELETE", "/v1/documents/err-1", &[], None);
    assert_eq!(
        (r.status, r.json()["removed_passages"].clone()),
        (200, json!(1))
    );
    assert_ne!(s.get(q).json()["hits"][0]["id"], "err-1");
    let r = http(&s.addr, "DELETE", "/v1/documents/err-1", &[], None);
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));

    // Sync the folder given at start: a new file comes in.
    std::fs::write(
        docs.join("tea.md"),
        "# Green tea\n\nBrew green tea at 75 to 80 degrees Celsius for two minutes; boiling water makes it bitter.\n",
    )
    .unwrap();
    let r = s.post("/v1/sync", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json()["added"].clone(), r.json()["unchanged"].clone()),
        (json!(1), json!(6))
    );
    let v = s
        .get("/v1/search?q=what+temperature+for+green+tea&k=1")
        .json();
    assert!(top_source(&v).contains("tea.md"), "{v}");

    // Browsers' ways in: another site's name (DNS rebinding) and a cross-site form post.
    let r = raw(
        &s.addr,
        "GET /v1/sources HTTP/1.1\r\nHost: evil.example:7878\r\nConnection: close\r\n\r\n",
        "",
    );
    assert_eq!((r.status, r.code().as_str()), (403, "bad_host"));
    let head = "POST /v1/sync HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(raw(&s.addr, head, "").status, 415);

    let log = s.log();
    assert!(log.contains("GET /v1/search 200 "), "{log}");
    assert!(log.contains("DELETE /v1/documents/err-1 404 "), "{log}");
}

#[test]
fn token_read_only_and_address_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    // Beyond loopback without a token: refused before anything loads.
    let o = bin()
        .args(["serve", idx.to_str().unwrap(), "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--token"), "{err}");

    let s = Server::start(&idx, &["--read-only", "--token", "s3cret"]);
    let auth = [("Authorization", "Bearer s3cret")];
    let r = s.get("/v1/search?q=moons");
    assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
    let r = http(
        &s.addr,
        "GET",
        "/v1/search?q=moons",
        &[("Authorization", "Bearer wrong")],
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        http(&s.addr, "GET", "/v1/search?q=moons", &auth, None).status,
        200
    );
    assert_eq!(s.get("/healthz").status, 200);
    let page = s.get("/");
    assert!(
        page.status == 200 && page.body.contains("<form"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("http://") && !page.body.contains("https://"),
        "page must be self-contained"
    );
    let body = json!([{"id": "a", "text": "b"}]).to_string();
    let r = http(&s.addr, "POST", "/v1/documents", &auth, Some(&body));
    assert_eq!((r.status, r.code().as_str()), (403, "read_only"));
    assert_eq!(http(&s.addr, "GET", "/metrics", &[], None).status, 401);
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    let s = Server::start(&idx, &["--workers", "1", "--queue", "1"]);
    let n = 12;
    let gate = Arc::new(std::sync::Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (addr, gate) = (s.addr.clone(), gate.clone());
            std::thread::spawn(move || {
                let body =
                    json!({"query": format!("raspberry pi power supply {i}"), "k": 5}).to_string();
                gate.wait();
                let r = http(&addr, "POST", "/v1/search", &[], Some(&body));
                (r.status, r.headers.contains("retry-after: 1"), r.body)
            })
        })
        .collect();
    let res: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = res.iter().filter(|r| r.0 == 200).count();
    let busy: Vec<_> = res.iter().filter(|r| r.0 == 503).collect();
    assert_eq!(ok + busy.len(), n, "{res:?}");
    assert!(
        ok >= 2,
        "one running and one queued must be answered: {res:?}"
    );
    assert!(
        !busy.is_empty(),
        "12 at once with 1 worker + 1 queued: {res:?}"
    );
    assert!(
        busy.iter().all(|r| r.1 && r.2.contains("\"busy\"")),
        "{busy:?}"
    );
    // Still healthy and answering afterwards.
    assert_eq!(s.post("/v1/search", &json!({"query": "moons"})).status, 200);
    assert!(s.get("/metrics").body.contains("leann_pool_rejected "));
}

#[test]
fn searches_during_writes_never_fail_and_sigterm_lets_the_write_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    let mut s = Server::start(&idx, &["--min-score", "-1"]);
    let addr = s.addr.clone();
    let searcher = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..25 {
            let r = http(
                &addr,
                "GET",
                "/v1/search?q=espresso+grind+size&k=3",
                &[],
                None,
            );
            seen.push((r.status, r.json()["hits"].as_array().map_or(0, Vec::len)));
        }
        seen
    });
    for round in 0..4 {
        let docs: Vec<Value> = (0..10)
            .map(|i| json!({"id": format!("r{round}-{i}"), "text": format!("note {i} of round {round} about coffee beans")}))
            .collect();
        assert_eq!(s.post("/v1/documents", &json!(docs)).status, 200);
        let r = http(
            &s.addr,
            "DELETE",
            &format!("/v1/documents/r{round}-3"),
            &[],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for (status, hits) in searcher.join().unwrap() {
        assert_eq!((status, hits), (200, 3), "a search during writes failed");
    }
    assert_eq!(
        s.get("/healthz").json()["passages"],
        EXAMPLE_PASSAGES + 4 * 9
    );

    // SIGTERM while a large write runs: the write is answered, then the process exits cleanly.
    let docs: Vec<Value> = (0..150)
        .map(|i| json!({"id": format!("late-{i}"), "text": format!("late note number {i} on grinding coffee and water temperature")}))
        .collect();
    let addr = s.addr.clone();
    let writer = std::thread::spawn(move || {
        http(
            &addr,
            "POST",
            "/v1/documents",
            &[],
            Some(&json!(docs).to_string()),
        )
    });
    std::thread::sleep(Duration::from_millis(400));
    let killed = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let r = writer.join().unwrap();
    assert_eq!(r.status, 200, "the write in flight must finish: {}", r.body);
    let t = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}: {}", s.log());
    assert!(s.log().contains("stopped"), "{}", s.log());
    let o = bin()
        .args(["verify", idx.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin()
        .args(["list", idx.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let l: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l["passages"], EXAMPLE_PASSAGES + 4 * 9 + 150);
}

/// Run a client script from tests/clients; its dependencies missing is a failure that says how to
/// install them.
fn client(script: &str, args: &[&str]) -> Value {
    let o = Command::new("python3")
        .arg(Path::new(ROOT).join("tests/clients").join(script))
        .args(args)
        .current_dir(ROOT)
        .env("LEANN_EDGE_BOARD", "x86_64-host")
        .output()
        .expect("python3");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "{script}: {err}\ninstall the test clients: pip install -r tests/clients/requirements.txt \
         (and apt-get install chromium chromium-driver); .ci/run does both"
    );
    assert!(
        o.status.success(),
        "{script} failed: {err}\n{}",
        String::from_utf8_lossy(&o.stdout)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn mcp_tools_work_with_the_official_python_sdk_over_stdio_and_http() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    let idx_s = idx.to_str().unwrap();
    let v = client("mcp_client.py", &["stdio", BIN, idx_s]);
    assert_eq!(
        v["tools"],
        json!(["add_document", "list_sources", "search_documents"])
    );
    assert!(top_source(&v["search"]).contains("raspberry-pi.md"), "{v}");
    assert!(v["text"].as_str().unwrap().contains("5 V"), "{v}");
    assert!(
        v["missing_query_error"].as_str().unwrap().contains("query"),
        "{v}"
    );
    assert_eq!(v["sources"]["passages"], EXAMPLE_PASSAGES);

    let s = Server::start(&idx, &["--read-only", "--token", "t0k"]);
    let url = format!("http://{}/mcp", s.addr);
    let v = client("mcp_client.py", &["http", &url, "--token", "t0k"]);
    assert_eq!(
        v["tools"],
        json!(["list_sources", "search_documents"]),
        "read-only: no add_document"
    );
    assert!(top_source(&v["search"]).contains("raspberry-pi.md"), "{v}");
}

#[test]
fn kiosk_page_works_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    let s = Server::start(&idx, &[]);
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiosk.png");
    let url = format!("http://{}/", s.addr);
    let v = client(
        "kiosk_browser.py",
        &[
            &url,
            "how much power does a raspberry pi 5 need",
            "5 A USB-C",
            shot.to_str().unwrap(),
        ],
    );
    assert_eq!(v["found"], true, "{v}");
    assert_eq!(v["autofocus"], true, "{v}");
    assert!(
        v["status"]
            .as_str()
            .unwrap()
            .contains("passages recomputed"),
        "{v}"
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
    assert!(s.log().contains("POST /v1/search 200"), "{}", s.log());
}

/// Raise this process's open-file limit towards `want` (the hard limit permitting); what it is now.
fn raise_file_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the one struct they are given.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < want {
            let raised = libc::rlimit {
                rlim_cur: want.min(lim.rlim_max),
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = raised.rlim_cur;
            }
        }
    }
    lim.rlim_cur
}

/// Whether the server closes `c` (EOF or reset) within `within`, sending nothing first.
fn closed_within(c: &mut TcpStream, within: Duration) -> bool {
    c.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 256];
    match c.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

/// Slow and idle clients cannot hold the service: a silent connection and an idle kept-alive one
/// are closed after the client timeout, a body trickled a byte at a time gets 408, the token is
/// checked before any body is read, and with 500 idle or header-trickling connections open (far
/// more than the cap) `/healthz` and searches still answer.
#[test]
fn idle_and_trickling_clients_cannot_hold_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    let s = Server::start(&idx, &["--client-timeout", "2"]);
    // Silent from the start.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    assert!(
        closed_within(&mut c, Duration::from_secs(15)),
        "silent connection kept open"
    );
    // Idle after one answer on a kept-alive connection.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", s.addr);
    c.write_all(head.as_bytes()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut buf = [0u8; 4096];
    let n = c.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut c, Duration::from_secs(15)),
        "idle keep-alive kept open"
    );
    // A body trickled at a byte a second.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    let head = format!(
        "POST /v1/search HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        s.addr
    );
    c.write_all(head.as_bytes()).unwrap();
    let mut w = c.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..12 {
            std::thread::sleep(Duration::from_secs(1));
            if w.write_all(b" ").is_err() {
                break;
            }
        }
    });
    c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.starts_with("HTTP/1.1 408") && got.contains("request_timeout"),
        "{got}"
    );
    trickle.join().unwrap();
    assert!(s.log().contains("POST /v1/search 408"), "{}", s.log());
    drop(s);

    // With a token: refused before any body is read.
    let s = Server::start(&idx, &["--token", "s3cret", "--client-timeout", "30"]);
    let mut c = TcpStream::connect(&s.addr).unwrap();
    let head = format!(
        "POST /v1/documents HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        s.addr
    );
    c.write_all(head.as_bytes()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let n = c.read(&mut buf).unwrap_or(0);
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 401"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    drop(s);

    // 500 idle or trickling connections against a cap of 64 and a timeout that does not expire
    // during the test: the longest-idle ones are closed to make room.
    let want = 500u64;
    let n_conns = want.min(raise_file_limit(want + 100).saturating_sub(100)) as usize;
    let s = Server::start(
        &idx,
        &["--max-connections", "64", "--client-timeout", "120"],
    );
    let mut held = Vec::new();
    for i in 0..n_conns {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        if i % 2 == 1 {
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHo");
        }
        held.push(c);
    }
    let r = s.get("/healthz");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.post("/v1/search", &json!({"query": "moons of Saturn"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let m = s.get("/metrics").body;
    let shed: f64 = m
        .lines()
        .find_map(|l| l.strip_prefix("leann_http_connections_shed "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(
        shed >= (n_conns - 64) as f64,
        "{n_conns} connections, cap 64, shed {shed}:\n{m}"
    );
    drop(held);
}

/// A change another process makes (the CLI's `add`, as cron's `sync` would) is served without a
/// restart: the service notices the replaced file between requests, logs and counts the swap.
#[test]
fn serve_follows_an_index_the_cli_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    let s = Server::start(&idx, &[]);
    let note = dir.path().join("zebra.md");
    std::fs::write(
        &note,
        "# Zebras\n\nEvery zebra has its own stripe pattern; no two zebras share one, like fingerprints.\n",
    )
    .unwrap();
    let o = bin()
        .args(["add", idx.to_str().unwrap(), note.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s.post(
            "/v1/search",
            &json!({"query": "zebra stripe pattern", "k": 1}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        if top_source(&r.json()).contains("zebra.md") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the added note is never served: {}\n{}",
            r.body,
            s.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        s.log().contains("was replaced by another process"),
        "{}",
        s.log()
    );
    assert!(s
        .get("/metrics")
        .body
        .contains("leann_index_reloads_total 1"));
    assert_eq!(s.get("/healthz").json()["passages"], EXAMPLE_PASSAGES + 1);
}

/// Byte offset and length of section `kind` in an index file (header: count at byte 12; table
/// entries of 24 bytes after the 24-byte header: kind u32, crc u32, offset u64, len u64).
fn section_of(index: &Path, kind: u32) -> (u64, u64) {
    let b = std::fs::read(index).unwrap();
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    (0..u32_at(12) as usize)
        .map(|i| 24 + 24 * i)
        .find(|&e| u32_at(e) == kind)
        .map(|e| (u64_at(e + 8), u64_at(e + 16)))
        .expect("section")
}

/// Bit rot in the index being served: searches that read the damaged bytes answer `corrupt`
/// (never garbled text), `/healthz` turns 503 saying so, `/metrics` sets `leann_index_corrupt`.
#[test]
fn damage_in_the_served_index_is_reported_not_served() {
    use std::io::{Seek, SeekFrom};
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    let s = Server::start(&idx, &[]);
    assert_eq!(s.get("/healthz").status, 200);
    let (text_at, text_len) = section_of(&idx, 7); // passage text
    let mut f = std::fs::OpenOptions::new().write(true).open(&idx).unwrap();
    f.seek(SeekFrom::Start(text_at + text_len / 2)).unwrap();
    f.write_all(&[0x01]).unwrap();
    drop(f);
    std::thread::sleep(Duration::from_millis(700)); // past the replaced-file check interval
    let mut codes = Vec::new();
    for q in [
        "moons of Saturn",
        "raspberry pi power",
        "espresso",
        "product quantization",
    ] {
        let r = s.post("/v1/search", &json!({"query": q, "k": 8, "min_score": -1}));
        if r.status == 200 {
            assert!(
                !r.body.contains("\\u0001"),
                "garbled text served: {}",
                r.body
            );
        } else {
            codes.push((r.status, r.code()));
        }
    }
    assert!(
        codes.iter().any(|(st, c)| *st == 500 && c == "corrupt"),
        "{codes:?}\n{}",
        s.log()
    );
    let h = s.get("/healthz");
    assert_eq!(h.status, 503, "{}", h.body);
    assert_eq!(h.json()["status"], "corrupt");
    assert!(h.json()["error"].as_str().unwrap().contains("passage_text"));
    assert!(s.get("/metrics").body.contains("leann_index_corrupt 1"));
}

/// A client that leaves before its answer: the request is still logged (as 499) and a write it
/// started still commits.
#[test]
fn a_request_whose_client_left_is_logged_and_its_write_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (idx, _) = corpus_index(dir.path());
    let s = Server::start(&idx, &[]);
    let body =
        json!([{"id": "gone", "text": "Written by a client that did not wait for the answer."}])
            .to_string();
    let mut c = TcpStream::connect(&s.addr).unwrap();
    let head = format!(
        "POST /v1/documents HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        s.addr,
        body.len()
    );
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(body.as_bytes()).unwrap();
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !s.log().contains("POST /v1/documents") {
        assert!(Instant::now() < deadline, "never logged: {}", s.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let line = s.log();
    assert!(
        line.contains("POST /v1/documents 499") && line.contains("client went away"),
        "{line}"
    );
    // The write committed: the document is there.
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.get("/healthz").json()["passages"] != EXAMPLE_PASSAGES + 1 {
        assert!(Instant::now() < deadline, "the write never committed");
        std::thread::sleep(Duration::from_millis(100));
    }
}
