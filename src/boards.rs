//! Board profiles (`boards/*.toml`, compiled in): threads, batch sizes, cache sizes, default search
//! parameters and RAM budget per device, with detection from `/proc/device-tree/model` and
//! `/proc/cpuinfo`.
use crate::error::{Error, Result};
use crate::search::SearchParams;

/// Default search parameters of a board.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq)]
pub struct BoardSearch {
    /// Results.
    pub k: usize,
    /// Beam.
    pub ef: usize,
    /// Rerank share (fixed recompute count, when `recall` is 0).
    pub rerank_ratio: f32,
    /// Recall target of the adaptive recompute (0 = the fixed share above).
    #[serde(default = "default_recall")]
    pub recall: f32,
    /// Encoder batch during search.
    pub batch_size: usize,
}

fn default_recall() -> f32 {
    crate::search::DEFAULT_RECALL
}

/// One board profile.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, PartialEq)]
pub struct Board {
    /// Name.
    pub name: String,
    /// Human description.
    pub description: String,
    /// Rust target triple.
    pub target: String,
    /// Substrings of /proc/device-tree/model that identify it.
    pub detect_model: Vec<String>,
    /// `CPU part` values of /proc/cpuinfo that identify it.
    pub detect_cpu_part: Vec<String>,
    /// Encoder / build threads.
    pub threads: usize,
    /// Encoder batch while building.
    pub encoder_batch: usize,
    /// Neighbour-list cache capacity.
    pub neighbor_cache: usize,
    /// Hub-embedding bytes stored at build time.
    pub hub_cache_bytes: u64,
    /// RAM budget, MB.
    pub ram_budget_mb: u64,
    /// RAM for the recompute cache of a long-running process (`serve`, `mcp`), MB; unset: a
    /// 64th of the RAM budget.
    #[serde(default)]
    pub recompute_cache_mb: Option<u64>,
    /// Default search parameters.
    pub search: BoardSearch,
}

impl Board {
    /// Check every number against its range (a profile can come from any `.toml`).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParam(m));
        if self.threads == 0 || self.threads > MAX_THREADS {
            return bad(format!(
                "threads {} out of range 1-{MAX_THREADS}",
                self.threads
            ));
        }
        if self.encoder_batch == 0 || self.encoder_batch > 1024 {
            return bad(format!(
                "encoder_batch {} out of range 1-1024",
                self.encoder_batch
            ));
        }
        if self.neighbor_cache > MAX_NEIGHBOR_CACHE {
            return bad(format!(
                "neighbor_cache {} over {MAX_NEIGHBOR_CACHE}",
                self.neighbor_cache
            ));
        }
        if self
            .recompute_cache_mb
            .is_some_and(|m| m > self.ram_budget_mb)
        {
            return bad(format!(
                "recompute_cache_mb {:?} is more than the RAM budget ({} MB)",
                self.recompute_cache_mb, self.ram_budget_mb
            ));
        }
        self.search_params().validate()
    }

    /// Client connections `serve` keeps open at once: a quarter of the RAM budget in MB, 32 to
    /// 512 (an idle connection costs tens of KB; 128 on a 512 MB budget).
    pub fn max_connections(&self) -> usize {
        (self.ram_budget_mb / 4).clamp(32, 512) as usize
    }

    /// Data memory the PDF reader (a child process) may use: half the RAM budget, 192 MiB to
    /// 1 GiB, so a PDF that inflates to gigabytes is skipped before the OOM killer picks `serve`.
    pub fn pdf_memory_bytes(&self) -> u64 {
        (self.ram_budget_mb / 2).clamp(192, 1024) << 20
    }

    /// Bytes of the recompute cache a long-running process keeps.
    pub fn recompute_cache_bytes(&self) -> u64 {
        self.recompute_cache_mb
            .unwrap_or(self.ram_budget_mb / 64)
            .saturating_mul(1 << 20)
    }

    /// Search parameters from this profile.
    pub fn search_params(&self) -> SearchParams {
        SearchParams {
            k: self.search.k,
            ef: self.search.ef,
            rerank_ratio: self.search.rerank_ratio,
            recall: self.search.recall,
            batch_size: self.search.batch_size,
            cache_capacity: self.neighbor_cache,
            ..SearchParams::default()
        }
    }
}

/// The built-in profiles (file name, contents).
pub const BUILTIN: &[(&str, &str)] = &[
    ("x86_64-host", include_str!("../boards/x86_64-host.toml")),
    ("rpi4", include_str!("../boards/rpi4.toml")),
    ("rpi5", include_str!("../boards/rpi5.toml")),
    ("rpi-zero-2w", include_str!("../boards/rpi-zero-2w.toml")),
    (
        "jetson-orin-nano",
        include_str!("../boards/jetson-orin-nano.toml"),
    ),
];

fn parse(name: &str, text: &str) -> Result<Board> {
    let b: Board = toml::from_str(text)
        .map_err(|e| Error::InvalidParam(format!("board profile {name}: {e}")))?;
    b.validate()
        .map_err(|e| Error::InvalidParam(format!("board profile {name}: {e}")))?;
    Ok(b)
}

/// Most encoder threads a profile may ask for.
pub const MAX_THREADS: usize = 64;
/// Most neighbour lists a profile may cache (~520 B each: ~0.5 GB).
pub const MAX_NEIGHBOR_CACHE: usize = 1 << 20;

/// All built-in boards.
pub fn all() -> Result<Vec<Board>> {
    BUILTIN.iter().map(|(n, t)| parse(n, t)).collect()
}

/// A board by name, or from a `.toml` path.
pub fn get(name: &str) -> Result<Board> {
    if name.ends_with(".toml") {
        let mut f = crate::flash::open_regular(name.as_ref()).map_err(|e| Error::io(name, e))?;
        let mut t = String::new();
        std::io::Read::read_to_string(&mut f, &mut t).map_err(|e| Error::io(name, e))?;
        return parse(name, &t);
    }
    match BUILTIN.iter().find(|(n, _)| *n == name) {
        Some((n, t)) => parse(n, t),
        None => Err(Error::InvalidParam(format!(
            "unknown board `{name}`; `leann-edge boards` lists them ({})",
            BUILTIN.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Pick a board from a device-tree model string and /proc/cpuinfo text; `None` when no built-in
/// profile names this machine.
pub fn match_builtin(model: &str, cpuinfo: &str) -> Result<Option<Board>> {
    let boards = all()?;
    if let Some(b) = boards
        .iter()
        .find(|b| b.detect_model.iter().any(|m| model.contains(m.as_str())))
    {
        return Ok(Some(b.clone()));
    }
    let parts: Vec<&str> = cpuinfo
        .lines()
        .filter(|l| l.starts_with("CPU part"))
        .filter_map(|l| l.split(':').nth(1))
        .map(|s| s.trim())
        .collect();
    Ok(boards
        .iter()
        .find(|b| {
            b.detect_cpu_part
                .iter()
                .any(|p| parts.contains(&p.as_str()))
        })
        .cloned())
}

/// The profile of a machine no built-in profile names, from its cores and memory: the x86 host
/// profile's search settings, one encoder thread per core (at most 8: more add little to one
/// query), a RAM budget of a quarter of the memory (64 MiB to 4 GiB), and a smaller encoder batch
/// below 2 GiB.
pub fn derived(cores: usize, mem_mb: u64) -> Result<Board> {
    let base = get("x86_64-host")?;
    let b = Board {
        name: "derived".into(),
        description: format!(
            "this machine: {cores} cores, {mem_mb} MiB (no built-in profile matched; derived)"
        ),
        target: format!("{}-unknown-linux", std::env::consts::ARCH),
        detect_model: Vec::new(),
        detect_cpu_part: Vec::new(),
        threads: cores.clamp(1, 8),
        encoder_batch: if mem_mb < 2048 { 8 } else { base.encoder_batch },
        ram_budget_mb: (mem_mb / 4).clamp(64, 4096),
        recompute_cache_mb: None,
        ..base
    };
    b.validate()?;
    Ok(b)
}

/// Total memory in MiB from /proc/meminfo text (`MemTotal: N kB`).
pub fn mem_total_mb(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// The board for this machine: `LEANN_EDGE_BOARD` if set, else a built-in profile that names it,
/// else one [`derived`] from its cores and memory.
pub fn detect() -> Result<Board> {
    if let Some(n) = &crate::env::knobs().board {
        return get(n);
    }
    let model = std::fs::read_to_string("/proc/device-tree/model").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    if let Some(b) = match_builtin(model.trim_end_matches('\0'), &cpu)? {
        return Ok(b);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| mem_total_mb(&m))
        .unwrap_or(1024);
    derived(cores, mem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boards_parse_validate_and_are_detected() {
        let all = all().unwrap();
        assert_eq!(all.len(), BUILTIN.len());
        for (b, (file, _)) in all.iter().zip(BUILTIN) {
            assert_eq!(b.name, *file, "a profile's name is its file name");
            b.search_params().validate().unwrap();
            assert!(
                b.threads >= 1 && b.encoder_batch >= 1 && b.ram_budget_mb > 0,
                "{b:?}"
            );
        }
        let name = |m: &str, c: &str| match_builtin(m, c).unwrap().map(|b| b.name);
        assert_eq!(
            name("Raspberry Pi 4 Model B Rev 1.4", "").as_deref(),
            Some("rpi4")
        );
        let cpu = "processor\t: 0\nCPU part\t: 0xd08\n";
        assert_eq!(name("", cpu).as_deref(), Some("rpi4"));
        assert_eq!(name("Some Board", ""), None);
        // Unknown machines get a profile from their cores and memory.
        let pc = derived(16, 32 * 1024).unwrap();
        assert_eq!(
            (pc.threads, pc.ram_budget_mb, pc.encoder_batch),
            (8, 4096, 16)
        );
        let pi3 = derived(4, 906).unwrap();
        assert_eq!(
            (pi3.threads, pi3.ram_budget_mb, pi3.encoder_batch),
            (4, 226, 8)
        );
        assert_eq!(pi3.search, get("x86_64-host").unwrap().search);
        assert_eq!(
            mem_total_mb("MemTotal:        8000000 kB\nMemFree: 1 kB\n"),
            Some(7812)
        );
        assert!(get("no-such-board")
            .unwrap_err()
            .to_string()
            .contains("rpi4"));
        // A profile from a file is validated like the built-in ones.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big.toml");
        let text = BUILTIN[0].1.replace("threads = 2", "threads = 1000");
        assert_ne!(text, BUILTIN[0].1, "the x86 profile sets threads = 2");
        std::fs::write(&f, text).unwrap();
        let e = get(f.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("threads 1000"), "{e}");
    }
}
