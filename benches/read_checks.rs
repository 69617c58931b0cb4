//! What checking every block a read uses (format 8, `index::checked`) costs: the same index opened
//! with checked and with unchecked reads (`OpenOptions::unchecked_reads`, the baseline), searched
//! alternately in one run. Two synthetic indexes (table embeddings, so the encoder's time does not
//! hide the reads' — with the real encoder a query costs 100+ ms more):
//!
//! - docs-faq's shape: 45,637 passages of ~330 bytes, 384-d, the default navigation;
//! - over 1 GB: 1,400,000 passages of ~760 bytes, 16-d, scan navigation (every PQ code read per
//!   query).
//!
//! Per index: open (median of 20), the first search after an open (every block it touches is
//! checked: median of 20 opens), and warm searches (median of 300; blocks already checked cost a
//! bit test). Run: `cargo bench --bench read_checks` (builds the indexes under
//! `target/bench-read-checks/` once; ~3 GB of RAM while building the large one).
use leann_edge::embed::TableEmbedder;
use leann_edge::index::{BuildParams, Index, IndexBuilder, Navigation, OpenOptions};
use leann_edge::passages::PassageRecord;
use leann_edge::search::SearchParams;
use leann_edge::Embedder;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

const WORDS: [&str; 16] = [
    "index", "passage", "search", "flash", "board", "graph", "query", "vector", "memory",
    "encoder", "storage", "kiosk", "answer", "document", "recall", "latency",
];

/// Passage `i`: unique (its number first), then words up to `bytes`.
fn text(i: usize, bytes: usize, rng: &mut Rng) -> String {
    let mut t = format!("passage {i}:");
    while t.len() < bytes {
        t.push(' ');
        t.push_str(WORDS[(rng.next() % 16) as usize]);
    }
    t
}

struct Corpus {
    path: PathBuf,
    emb: TableEmbedder,
    queries: Vec<Vec<f32>>,
}

fn corpus(dir: &Path, n: usize, bytes: usize, dim: usize, nav: Navigation) -> Corpus {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
    let texts: Vec<String> = (0..n).map(|i| text(i, bytes, &mut rng)).collect();
    let rows: Vec<f32> = (0..n * dim).map(|_| rng.unit()).collect();
    let queries = (0..32)
        .map(|q| {
            let r = (q * 7919) % n;
            rows[r * dim..(r + 1) * dim]
                .iter()
                .map(|x| x + 0.05 * rng.unit())
                .collect()
        })
        .collect();
    let emb = TableEmbedder::new(dim, texts.clone(), rows);
    let path = dir.join(format!("{n}x{bytes}.leann"));
    if !path.exists() {
        let t = Instant::now();
        let mut b = IndexBuilder::new(BuildParams {
            navigation: nav,
            ..BuildParams::default()
        });
        for t in texts {
            b.add_passage(PassageRecord::plain(&t));
        }
        b.build_with_vectors(emb.rows(), dim, &emb.fingerprint(), &path)
            .unwrap();
        eprintln!(
            "built {} in {:.0} s",
            path.display(),
            t.elapsed().as_secs_f64()
        );
    }
    Corpus { path, emb, queries }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn open(c: &Corpus, checked: bool) -> Index<leann_edge::flash::FileSource> {
    let o = OpenOptions {
        unchecked_reads: !checked,
        ..OpenOptions::default()
    };
    Index::open_file(&c.path, &o).unwrap()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn measure(name: &str, c: &Corpus) {
    let p = SearchParams::default();
    let bytes = std::fs::metadata(&c.path).unwrap().len();
    println!("{name}: {:.1} MB index", bytes as f64 / 1e6);
    for checked in [false, true] {
        let (mut opens, mut firsts) = (Vec::new(), Vec::new());
        for i in 0..20 {
            let t = Instant::now();
            let idx = open(c, checked);
            opens.push(ms(t));
            let t = Instant::now();
            idx.search(&c.queries[i % 32], &c.emb, &p).unwrap();
            firsts.push(ms(t));
        }
        println!(
            "  {:>9}: open {:.3} ms, first search {:.3} ms",
            if checked { "checked" } else { "unchecked" },
            median(opens),
            median(firsts)
        );
    }
    let (a, b) = (open(c, false), open(c, true));
    let (mut plain, mut checked) = (Vec::new(), Vec::new());
    for i in 0..300 {
        let q = &c.queries[i % 32];
        let t = Instant::now();
        a.search(q, &c.emb, &p).unwrap();
        plain.push(ms(t));
        let t = Instant::now();
        b.search(q, &c.emb, &p).unwrap();
        checked.push(ms(t));
    }
    let (u, k) = (median(plain), median(checked));
    println!(
        "  warm search p50: unchecked {u:.3} ms, checked {k:.3} ms (+{:.3} ms, x{:.3})",
        k - u,
        k / u
    );
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-read-checks");
    std::fs::create_dir_all(&dir).unwrap();
    let small = corpus(&dir, 45_637, 330, 384, Navigation::Auto);
    measure("docs-faq shape (45,637 x 330 B, 384-d)", &small);
    drop(small);
    let large = corpus(&dir, 1_400_000, 760, 16, Navigation::Scan);
    measure("over 1 GB (1,400,000 x 760 B, 16-d, scan)", &large);
}
