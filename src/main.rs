//! The `leann-edge` command-line tool.
use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use leann_edge::boards::Board;
use leann_edge::embed::tract::{default_model_dir, TractEmbedder, TractOptions};
use leann_edge::embed::Embedder;
use leann_edge::index::{BuildParams, Index, IndexBuilder, Navigation, Phase};
use leann_edge::ingest::{collect, IngestOptions};
use leann_edge::search::{Mode, SearchParams};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

#[derive(Parser)]
#[command(
    name = "leann-edge",
    version,
    about = "Semantic search over your own documents in a tiny fraction of the storage (LEANN on the edge)"
)]
struct Cli {
    /// Board profile (see `leann-edge boards`); default: detected.
    #[arg(long, global = true)]
    board: Option<String>,
    /// Encoder model folder (default: models/all-minilm-l6-v2-int8, or $LEANN_EDGE_MODEL).
    #[arg(long, global = true)]
    model: Option<PathBuf>,
    /// Encoder threads (default: the board's).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct SearchOpts {
    /// Results to show.
    #[arg(short, long)]
    k: Option<usize>,
    /// Search beam (more = better recall, more PQ work).
    #[arg(long)]
    ef: Option<usize>,
    /// Share of the beam recomputed exactly.
    #[arg(long)]
    rerank_ratio: Option<f32>,
    /// Encoder batch for recompute.
    #[arg(long)]
    batch: Option<usize>,
    /// Search mode: pq-first (default) or two-level (paper Alg. 2).
    #[arg(long)]
    mode: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Index files/folders (text, Markdown, reST, HTML) or JSONL passages.
    Build {
        /// Files or folders to index.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Index file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Target bytes per passage for graph + PQ (chooses degree and PQ size).
        #[arg(long)]
        budget_bytes_per_passage: Option<f32>,
        /// Tokens per passage when chunking files.
        #[arg(long, default_value_t = 256)]
        chunk_tokens: usize,
        /// Overlap tokens between chunks.
        #[arg(long, default_value_t = 32)]
        overlap_tokens: usize,
        /// Skip files larger than this many MiB.
        #[arg(long, default_value_t = 16)]
        max_file_mib: u64,
        /// Cache passage embeddings here; a rebuild of the same corpus and model skips embedding.
        #[arg(long)]
        embed_cache: Option<PathBuf>,
        /// Turn high-degree-preserving pruning off.
        #[arg(long)]
        no_prune: bool,
        /// Non-hub degree after pruning.
        #[arg(long)]
        degree: Option<usize>,
        /// PQ sub-spaces (must divide the projected dimension).
        #[arg(long)]
        pq: Option<usize>,
        /// PQ bits per code: 8 (default) or 4.
        #[arg(long)]
        pq_bits: Option<u32>,
        /// Learned OPQ projection before PQ to this many dimensions (default 128; 0 = off).
        #[arg(long)]
        pq_rotate: Option<usize>,
        /// Store f16 embeddings of top-degree nodes, this many bytes (0 = off; default: board's).
        #[arg(long)]
        hub_cache_bytes: Option<u64>,
        /// Also write the passage embeddings next to the index (for `bench` ground truth).
        #[arg(long)]
        keep_vectors: bool,
        /// Build seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// auto (default: scan while the PQ codes total at most 16 MiB, else a graph), graph or scan.
        /// --degree / --no-prune imply graph.
        #[arg(long)]
        navigation: Option<String>,
    },
    /// Search an index.
    Search {
        index: PathBuf,
        query: String,
        #[command(flatten)]
        s: SearchOpts,
        /// One JSON document.
        #[arg(long)]
        json: bool,
        /// Show what the query cost.
        #[arg(long)]
        stats: bool,
    },
    /// Storage breakdown and build parameters.
    Info {
        index: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check every section checksum and the model fingerprint.
    Verify { index: PathBuf },
    /// Benchmark with the real encoder: queries.jsonl (+ qrels.tsv) against the index and exact search.
    Bench {
        index: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long)]
        qrels: Option<PathBuf>,
        #[command(flatten)]
        s: SearchOpts,
        /// Only the first N queries.
        #[arg(long)]
        limit: Option<usize>,
        /// Sweep: comma-separated ef values (with --sweep-ratio).
        #[arg(long, value_delimiter = ',')]
        sweep_ef: Vec<usize>,
        #[arg(long, value_delimiter = ',')]
        sweep_ratio: Vec<f32>,
        #[arg(long)]
        json: bool,
    },
    /// List board profiles (and which one this machine is).
    Boards,
    /// Encoder speed: passages/s for batch × length, and model load time.
    BenchEncoder {
        #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
        batch: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_value = "16,64,128,256")]
        tokens: Vec<usize>,
        /// Repetitions per point (median reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
    /// Build an index over the bundled example corpus and answer a few questions.
    Demo,
    /// Benchmark the index alone on raw f32 embedding tables (passages + queries).
    BenchTable {
        #[arg(long)]
        passages: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long, default_value_t = 384)]
        dim: usize,
        #[arg(long, value_delimiter = ',', default_value = "32,64,96,128")]
        ef: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_value = "0.25,0.5")]
        ratio: Vec<f32>,
        #[arg(long, default_value_t = 16)]
        batch: usize,
        #[arg(long)]
        no_prune: bool,
        #[arg(long)]
        degree: Option<usize>,
        #[arg(long)]
        pq: Option<usize>,
        #[arg(long)]
        pq_bits: Option<u32>,
        /// OPQ projection dimension (0 = off).
        #[arg(long)]
        pq_rotate: Option<usize>,
        #[arg(long)]
        budget: Option<f32>,
        #[arg(long)]
        reorder: bool,
        /// auto, graph or scan (see `build --help`).
        #[arg(long)]
        navigation: Option<String>,
        #[arg(long)]
        json: bool,
        /// Search mode: pq-first or two-level.
        #[arg(long, default_value = "pq-first")]
        mode: String,
        #[arg(long, default_value = "target/bench-table.leann")]
        index: PathBuf,
    },
}

/// PQ options of `build` and `bench-table`: any of them turns the corpus-size automatic choice off.
fn set_pq(p: &mut BuildParams, m: Option<usize>, bits: Option<u32>, rotate: Option<usize>) {
    if let Some(m) = m {
        p.pq_subspaces = m;
    }
    if let Some(b) = bits {
        p.pq_bits = b;
    }
    if let Some(r) = rotate {
        p.pq_rotate_dim = r;
    }
    p.pq_auto = m.is_none() && bits.is_none() && rotate.is_none();
}

/// `--navigation`: an explicit choice wins; graph options (`--degree`, `--no-prune`) imply a graph.
fn set_navigation(p: &mut BuildParams, nav: Option<&str>, graph_opts: bool) -> Result<()> {
    p.navigation = match nav {
        Some("auto") => Navigation::Auto,
        Some("graph") => Navigation::Graph,
        Some("scan") => Navigation::Scan,
        Some(o) => bail!("unknown --navigation {o}: use auto, graph or scan"),
        None if graph_opts => Navigation::Graph,
        None => Navigation::Auto,
    };
    Ok(())
}

fn board(cli: &Cli) -> Result<Board> {
    Ok(match &cli.board {
        Some(b) => leann_edge::boards::get(b)?,
        None => leann_edge::boards::detect()?,
    })
}

fn encoder(cli: &Cli, b: &Board) -> Result<TractEmbedder> {
    let dir = cli.model.clone().unwrap_or_else(default_model_dir);
    let threads = cli.threads.unwrap_or(b.threads).max(1);
    Ok(TractEmbedder::open(
        &dir,
        TractOptions {
            threads,
            ..Default::default()
        },
    )?)
}

fn search_params(b: &Board, s: &SearchOpts) -> Result<SearchParams> {
    let mut p = b.search_params();
    if let Some(k) = s.k {
        p.k = k;
    }
    if let Some(e) = s.ef {
        p.ef = e;
    }
    if let Some(r) = s.rerank_ratio {
        if !(r > 0.0 && r <= 1.0) {
            bail!("--rerank-ratio must be in (0, 1]");
        }
        p.rerank_ratio = r;
    }
    if let Some(bs) = s.batch {
        p.batch_size = bs.max(1);
    }
    if let Some(m) = &s.mode {
        p.mode = match m.as_str() {
            "pq-first" => Mode::PqFirst,
            "two-level" => Mode::TwoLevel,
            o => bail!("unknown --mode {o}: use pq-first or two-level"),
        };
    }
    Ok(p)
}

fn open_index(path: &Path) -> Result<Index<leann_edge::flash::MmapSource>> {
    if !path.exists() {
        bail!(
            "{} does not exist; build it with `leann-edge build <docs> -o {}`",
            path.display(),
            path.display()
        );
    }
    Index::open(path).with_context(|| format!("cannot open index {}", path.display()))
}

fn bar(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap()
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_string());
    pb
}

fn vectors_path(index: &Path) -> PathBuf {
    let mut s = index.as_os_str().to_owned();
    s.push(".vectors");
    PathBuf::from(s)
}

fn main() {
    // `leann-edge search ... | head`: exit quietly when the reader goes away, like other Unix tools,
    // instead of panicking in println! on EPIPE (Rust ignores SIGPIPE by default).
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // One malloc arena: encoder runs on short-lived worker threads, and glibc's per-thread arenas
    // each kept their own high-water mark of freed activations (docs-faq bench, 150 queries: peak
    // RSS 203 MB with the default arenas, 153 MB with one, same p50 latency).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any other thread exists; M_ARENA_MAX takes a plain integer.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    if let Err(e) = run(cli) {
        let mut msg = format!("{e}");
        for c in e.chain().skip(1) {
            msg.push_str(&format!(": {c}"));
        }
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}

#[allow(clippy::too_many_arguments)]
fn do_build(
    cli: &Cli,
    b: &Board,
    paths: &[PathBuf],
    output: &Path,
    params: BuildParams,
    ingest: IngestOptions,
    keep_vectors: bool,
    quiet: bool,
) -> Result<()> {
    let (recs, sum) = collect(paths, &ingest);
    if !quiet {
        eprintln!(
            "read {} files ({} bytes): {} passages; skipped {}{}",
            sum.files,
            sum.bytes,
            recs.len(),
            sum.skipped_total(),
            if sum.lossy_utf8 > 0 {
                format!(
                    "; {} files had invalid UTF-8 (decoded lossily)",
                    sum.lossy_utf8
                )
            } else {
                String::new()
            }
        );
        for (r, n) in &sum.skipped {
            eprintln!("  skipped {n}: {r}");
        }
    }
    if recs.is_empty() {
        bail!("no passages found in {:?}: give folders or files of text, Markdown, reST, HTML or JSONL", paths);
    }
    let enc = encoder(cli, b)?;
    let mut builder = IndexBuilder::new(params);
    for r in recs {
        builder.add_passage(r);
    }
    let bars: Mutex<Option<(Phase, ProgressBar)>> = Mutex::new(None);
    let progress = |ph: Phase, done: u64, total: u64| {
        if quiet {
            return;
        }
        let mut g = bars.lock().unwrap();
        if g.as_ref().map(|x| x.0) != Some(ph) {
            if let Some((_, pb)) = g.take() {
                pb.finish();
            }
            let name = match ph {
                Phase::Embed => "embed",
                Phase::Graph => "graph",
                Phase::Pq => "pq",
                Phase::Write => "write",
            };
            *g = Some((ph, bar(total, name)));
        }
        if let Some((_, pb)) = g.as_ref() {
            pb.set_position(done);
        }
    };
    let cancel = AtomicBool::new(false);
    let (vecs, _) = builder.embed_all(&enc, &progress, &cancel)?;
    let report = builder.build_with_vectors_progress(
        &vecs,
        enc.dim(),
        &enc.fingerprint(),
        output,
        &progress,
        &cancel,
    )?;
    if let Some((_, pb)) = bars.lock().unwrap().take() {
        pb.finish();
    }
    if keep_vectors {
        // Storage order is insertion order (the CLI never reorders).
        let mut bytes = Vec::with_capacity(vecs.len() * 4);
        for x in &vecs {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        let vp = vectors_path(output);
        std::fs::write(&vp, &bytes).with_context(|| format!("writing {}", vp.display()))?;
    }
    if !quiet {
        eprintln!(
            "wrote {} ({} bytes): {} passages, {}",
            output.display(),
            report.file_bytes,
            report.passages,
            if report.navigation == Navigation::Scan {
                "no graph (scan search)".to_string()
            } else {
                format!("{} edges", report.edges)
            }
        );
        if let Some(c) = &report.budget {
            eprintln!("budget {} B/passage chose PQ {} x {} bits and degree {} (estimated {:.1} B/passage)", c.budget, c.pq_subspaces, c.pq_bits, c.degree, c.estimate);
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match &cli.cmd {
        Cmd::Build {
            paths,
            output,
            budget_bytes_per_passage,
            chunk_tokens,
            overlap_tokens,
            max_file_mib,
            embed_cache,
            no_prune,
            degree,
            pq,
            pq_bits,
            pq_rotate,
            hub_cache_bytes,
            keep_vectors,
            seed,
            navigation,
        } => {
            let b = board(&cli)?;
            let mut params = BuildParams {
                budget_bytes_per_passage: *budget_bytes_per_passage,
                embed_cache: embed_cache.clone(),
                hub_cache_bytes: hub_cache_bytes.unwrap_or(b.hub_cache_bytes),
                embed_batch: b.encoder_batch,
                ..BuildParams::default()
            };
            params.graph.seed = *seed;
            if *no_prune {
                params.prune = None;
            }
            if let (Some(d), Some(p)) = (degree, params.prune.as_mut()) {
                p.degree = *d;
            }
            set_pq(&mut params, *pq, *pq_bits, *pq_rotate);
            set_navigation(
                &mut params,
                navigation.as_deref(),
                *no_prune || degree.is_some(),
            )?;
            let ingest = IngestOptions {
                max_tokens: *chunk_tokens,
                overlap_tokens: *overlap_tokens,
                max_file_bytes: max_file_mib << 20,
            };
            do_build(
                &cli,
                &b,
                paths,
                output,
                params,
                ingest,
                *keep_vectors,
                false,
            )
        }
        Cmd::Search {
            index,
            query,
            s,
            json,
            stats,
        } => {
            let b = board(&cli)?;
            let p = search_params(&b, s)?;
            let idx = open_index(index)?;
            let enc = encoder(&cli, &b)?;
            let mut se = idx.searcher(&enc, p.cache_capacity)?;
            let r = se.search_text(query, &p)?;
            let hits: Vec<_> = r
                .hits
                .iter()
                .map(|h| idx.passage(h.id).map(|ps| (h, ps)))
                .collect::<Result<_, _>>()?;
            if *json {
                let hs: Vec<_> = hits.iter().enumerate().map(|(i, (h, ps))| json!({"rank": i + 1, "id": ps.id, "node": h.id, "score": h.score, "title": ps.title, "source": ps.source.as_ref().map(|s| format!("{}:{}", s.path, s.line)), "text": ps.text})).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"query": query, "hits": hs, "stats": r.stats})
                    )?
                );
            } else {
                for (i, (h, ps)) in hits.iter().enumerate() {
                    let src = ps
                        .source
                        .as_ref()
                        .map(|s| format!("{}:{}", s.path, s.line))
                        .unwrap_or_else(|| ps.id.clone());
                    println!(
                        "{}. [{:.3}] {}{}",
                        i + 1,
                        h.score,
                        src,
                        if ps.title.is_empty() {
                            String::new()
                        } else {
                            format!("  — {}", ps.title)
                        }
                    );
                    let text: String = ps.text.chars().take(400).collect();
                    println!(
                        "   {}{}\n",
                        text.replace('\n', "\n   "),
                        if ps.text.chars().count() > 400 {
                            " …"
                        } else {
                            ""
                        }
                    );
                }
                if hits.is_empty() {
                    println!("no results");
                }
                if *stats {
                    let st = &r.stats;
                    println!("stats: {} ms total ({} ms encoder), {} passages recomputed in {} encoder calls, {} PQ distances, {} hops, neighbour cache {} hits / {} misses, {} bytes read", st.micros / 1000, st.embed_micros / 1000, st.recomputed, st.embed_calls, st.pq_distances, st.hops, st.cache_hits, st.cache_misses, st.bytes_read);
                }
            }
            Ok(())
        }
        Cmd::Info { index, json } => {
            let idx = open_index(index)?;
            let br = idx.breakdown();
            let n = br.passages.max(1) as f64;
            let text = br
                .parts
                .iter()
                .find(|p| p.0 == "passage_text")
                .map_or(0, |p| p.1);
            let m = idx.meta();
            if *json {
                let parts: serde_json::Map<String, serde_json::Value> = br.parts.iter().map(|(k, v)| (k.clone(), json!({"bytes": v, "bytes_per_passage": *v as f64 / n, "percent_of_text": 100.0 * *v as f64 / text.max(1) as f64}))).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"passages": br.passages, "total_bytes": br.total, "overhead_bytes": br.overhead, "overhead_bytes_per_passage": br.overhead as f64 / n, "passage_text_bytes": text, "components": parts, "dim": m.dim, "encoder": m.encoder, "edges": m.edges, "navigation": if idx.has_graph() { "graph" } else { "scan" }, "build": m.build.iter().cloned().collect::<std::collections::BTreeMap<_, _>>()})
                    )?
                );
            } else {
                println!(
                    "{}: {} passages, {} bytes, encoder {}",
                    index.display(),
                    br.passages,
                    br.total,
                    m.encoder
                );
                println!(
                    "{:<18} {:>12} {:>10} {:>9}",
                    "component", "bytes", "B/passage", "% text"
                );
                for (k, v) in &br.parts {
                    println!(
                        "{:<18} {:>12} {:>10.2} {:>8.2}%",
                        k,
                        v,
                        *v as f64 / n,
                        100.0 * *v as f64 / text.max(1) as f64
                    );
                }
                println!(
                    "{:<18} {:>12} {:>10.2} {:>8.2}%",
                    "overhead (not text)",
                    br.overhead,
                    br.overhead as f64 / n,
                    100.0 * br.overhead as f64 / text.max(1) as f64
                );
                if idx.has_graph() {
                    println!(
                        "graph: {} edges ({:.1} per passage), PQ {} x {} bits",
                        m.edges,
                        m.edges as f64 / n,
                        m.pq_m,
                        m.pq_bits
                    );
                } else {
                    println!(
                        "no graph (scan search over all PQ codes), PQ {} x {} bits",
                        m.pq_m, m.pq_bits
                    );
                }
                for (k, v) in &m.build {
                    println!("  {k}: {v}");
                }
            }
            Ok(())
        }
        Cmd::Verify { index } => {
            let idx = open_index(index)?;
            idx.verify()?;
            let b = board(&cli)?;
            let enc = encoder(&cli, &b)?;
            idx.check_embedder(&enc)?;
            println!(
                "{}: OK ({} sections, checksums match, encoder {} present)",
                index.display(),
                idx.layout().sections.len(),
                idx.meta().encoder
            );
            Ok(())
        }
        Cmd::BenchEncoder {
            batch,
            tokens,
            reps,
        } => {
            let b = board(&cli)?;
            let t = std::time::Instant::now();
            let enc = encoder(&cli, &b)?;
            println!(
                "model load {:.0} ms, threads {}",
                t.elapsed().as_secs_f64() * 1000.0,
                cli.threads.unwrap_or(b.threads)
            );
            println!(
                "{:>6} {:>7} {:>12} {:>12} {:>10}",
                "batch", "tokens", "ms/call", "ms/passage", "passages/s"
            );
            for &tk in tokens {
                // "word " is one word-piece; [CLS] and [SEP] make two more.
                let text = "word ".repeat(tk.saturating_sub(2).max(1));
                for &bs in batch {
                    let texts: Vec<&str> = vec![text.as_str(); bs];
                    enc.embed(&texts)?; // warm-up: builds the plan for this shape
                    let mut times = Vec::new();
                    for _ in 0..*reps {
                        let t = std::time::Instant::now();
                        enc.embed(&texts)?;
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    times.sort_by(|a, b| a.total_cmp(b));
                    let med = times[times.len() / 2];
                    println!(
                        "{:>6} {:>7} {:>12.2} {:>12.2} {:>10.1}",
                        bs,
                        tk,
                        med,
                        med / bs as f64,
                        1000.0 * bs as f64 / med
                    );
                }
            }
            println!("peak RSS {:.0} MB", leann_edge::bench::peak_rss_mb());
            Ok(())
        }
        Cmd::Boards => {
            let here = leann_edge::boards::detect()
                .map(|b| b.name)
                .unwrap_or_default();
            for b in leann_edge::boards::all()? {
                println!("{}{:<18} {:<32} threads {:>2}  batch {:>2}  cache {:>5}  ef {:>3}  RAM {} MB  — {}", if b.name == here { "* " } else { "  " }, b.name, b.target, b.threads, b.encoder_batch, b.neighbor_cache, b.search.ef, b.ram_budget_mb, b.description);
            }
            Ok(())
        }
        Cmd::Demo => {
            let b = board(&cli)?;
            let corpus = find_demo_corpus()?;
            let out =
                std::env::temp_dir().join(format!("leann-edge-demo-{}.leann", std::process::id()));
            eprintln!("indexing the example corpus in {} ...", corpus.display());
            do_build(
                &cli,
                &b,
                &[corpus],
                &out,
                BuildParams {
                    embed_batch: b.encoder_batch,
                    ..BuildParams::default()
                },
                IngestOptions::default(),
                false,
                false,
            )?;
            let idx = open_index(&out)?;
            let br = idx.breakdown();
            let text = br
                .parts
                .iter()
                .find(|p| p.0 == "passage_text")
                .map_or(0, |p| p.1);
            println!("index: {} passages, {} bytes on disk, of which {} passage text; overhead {:.1} B/passage", br.passages, br.total, text, br.overhead as f64 / br.passages.max(1) as f64);
            let enc = encoder(&cli, &b)?;
            let p = b.search_params();
            let mut se = idx.searcher(&enc, p.cache_capacity)?;
            for q in [
                "How much memory does the Raspberry Pi Zero 2 W have?",
                "What is product quantization?",
                "how do I keep my sourdough starter alive",
                "Which planet has the most moons?",
            ] {
                let r = se.search_text(q, &p)?;
                println!("\nQ: {q}");
                for (i, h) in r.hits.iter().enumerate() {
                    let ps = idx.passage(h.id)?;
                    let src = ps
                        .source
                        .as_ref()
                        .map(|s| {
                            format!(
                                "{}:{}",
                                Path::new(&s.path)
                                    .file_name()
                                    .map(|f| f.to_string_lossy().into_owned())
                                    .unwrap_or_default(),
                                s.line
                            )
                        })
                        .unwrap_or_default();
                    let text: String = ps.text.chars().take(140).collect();
                    println!(
                        "  {}. [{:.3}] {src}  {}",
                        i + 1,
                        h.score,
                        text.replace('\n', " ")
                    );
                }
                println!(
                    "  ({} ms, {} passages recomputed)",
                    r.stats.micros / 1000,
                    r.stats.recomputed
                );
            }
            let _ = std::fs::remove_file(&out);
            Ok(())
        }
        Cmd::Bench {
            index,
            queries,
            qrels,
            s,
            limit,
            sweep_ef,
            sweep_ratio,
            json,
        } => {
            let b = board(&cli)?;
            let base = search_params(&b, s)?;
            let idx = open_index(index)?;
            let enc = encoder(&cli, &b)?;
            let cfg = leann_edge::bench::BenchConfig {
                queries: queries.clone(),
                qrels: qrels.clone(),
                limit: *limit,
                vectors: vectors_path(index),
            };
            let mut points = vec![base.clone()];
            if !sweep_ef.is_empty() {
                points.clear();
                let ratios = if sweep_ratio.is_empty() {
                    vec![base.rerank_ratio]
                } else {
                    sweep_ratio.clone()
                };
                for &e in sweep_ef {
                    for &r in &ratios {
                        points.push(SearchParams {
                            ef: e,
                            rerank_ratio: r,
                            ..base.clone()
                        });
                    }
                }
            }
            let rep = leann_edge::bench::run(&idx, &enc, &cfg, &points, !*json)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rep)?);
            } else {
                leann_edge::bench::print(&rep);
            }
            Ok(())
        }
        Cmd::BenchTable {
            passages,
            queries,
            dim,
            ef,
            ratio,
            batch,
            no_prune,
            degree,
            pq,
            pq_bits,
            pq_rotate,
            budget,
            reorder,
            navigation,
            json,
            mode,
            index,
        } => {
            let p = leann_edge::tablebench::read_f32_table(passages, *dim)?;
            let q = leann_edge::tablebench::read_f32_table(queries, *dim)?;
            let mut bp = BuildParams {
                reorder: *reorder,
                budget_bytes_per_passage: *budget,
                ..BuildParams::default()
            };
            if *no_prune {
                bp.prune = None;
            }
            if let (Some(d), Some(pp)) = (degree, bp.prune.as_mut()) {
                pp.degree = *d;
            }
            set_pq(&mut bp, *pq, *pq_bits, *pq_rotate);
            set_navigation(
                &mut bp,
                navigation.as_deref(),
                *no_prune || degree.is_some() || *reorder,
            )?;
            let base = SearchParams {
                batch_size: *batch,
                mode: if mode == "two-level" {
                    Mode::TwoLevel
                } else {
                    Mode::PqFirst
                },
                ..Default::default()
            };
            let r = leann_edge::tablebench::run(&p, &q, *dim, &bp, ef, ratio, &base, index)
                .context("table benchmark")?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                leann_edge::tablebench::print(&r);
            }
            Ok(())
        }
    }
}

fn find_demo_corpus() -> Result<PathBuf> {
    let rel = PathBuf::from("examples/corpus");
    if rel.is_dir() {
        return Ok(rel);
    }
    if let Ok(exe) = std::env::current_exe() {
        for a in exe.ancestors().skip(1) {
            let c = a.join("examples/corpus");
            if c.is_dir() {
                return Ok(c);
            }
        }
    }
    Err(anyhow!(
        "the example corpus (examples/corpus) was not found; run the demo from the repository root"
    ))
}
