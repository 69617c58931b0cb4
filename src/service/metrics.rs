//! Counters for `GET /metrics` in the Prometheus text format: requests by route and status, a
//! request-latency histogram, searches, passages recomputed, encoder time, neighbour-cache hits,
//! writes, pool state and the process's resident memory.
use crate::search::SearchStats;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency histogram buckets, seconds.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    /// Counts per bucket (cumulative when rendered), then +Inf.
    latency: [u64; BUCKETS.len() + 1],
    latency_sum: f64,
    latency_count: u64,
    searches: u64,
    recomputed: u64,
    embed_micros: u64,
    cache_hits: u64,
    cache_misses: u64,
    writes: u64,
    reloads: u64,
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// One finished request: its route pattern (never the raw path: bounded label values), status
    /// and duration.
    pub fn record_request(&self, route: &str, status: u16, seconds: f64) {
        self.with(|m| {
            *m.requests.entry((route.to_string(), status)).or_default() += 1;
            let b = BUCKETS
                .iter()
                .position(|&le| seconds <= le)
                .unwrap_or(BUCKETS.len());
            m.latency[b] += 1;
            m.latency_sum += seconds;
            m.latency_count += 1;
        })
    }

    /// One search's costs.
    pub fn record_search(&self, st: &SearchStats) {
        self.with(|m| {
            m.searches += 1;
            m.recomputed += st.recomputed;
            m.embed_micros += st.embed_micros;
            m.cache_hits += st.cache_hits;
            m.cache_misses += st.cache_misses;
        })
    }

    /// One committed write.
    pub fn record_write(&self) {
        self.with(|m| m.writes += 1)
    }

    /// One swap to an index file another process replaced.
    pub fn record_reload(&self) {
        self.with(|m| m.reloads += 1)
    }

    /// Searches answered so far.
    pub fn searches(&self) -> u64 {
        self.with(|m| m.searches)
    }

    /// The Prometheus text; `extra` are gauges sampled now (name, help, value).
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut o = String::new();
        self.with(|m| {
            head(
                &mut o,
                "leann_requests_total",
                "HTTP requests by route and status.",
                "counter",
            );
            for ((route, status), n) in &m.requests {
                let _ = writeln!(
                    o,
                    "leann_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    route.replace(['"', '\\', '\n'], "_")
                );
            }
            let h = "leann_request_duration_seconds";
            head(&mut o, h, "HTTP request latency.", "histogram");
            let mut cum = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cum += m.latency[i];
                let _ = writeln!(o, "{h}_bucket{{le=\"{le}\"}} {cum}");
            }
            cum += m.latency[BUCKETS.len()];
            let _ = writeln!(o, "{h}_bucket{{le=\"+Inf\"}} {cum}");
            let _ = writeln!(o, "{h}_sum {}", m.latency_sum);
            let _ = writeln!(o, "{h}_count {}", m.latency_count);
            let counters: [(&str, &str, f64); 7] = [
                (
                    "leann_searches_total",
                    "Searches answered.",
                    m.searches as f64,
                ),
                (
                    "leann_passages_recomputed_total",
                    "Passages embedded at query time.",
                    m.recomputed as f64,
                ),
                (
                    "leann_encoder_seconds_total",
                    "Encoder time spent on searches.",
                    m.embed_micros as f64 / 1e6,
                ),
                (
                    "leann_neighbor_cache_hits_total",
                    "Neighbour-list cache hits.",
                    m.cache_hits as f64,
                ),
                (
                    "leann_neighbor_cache_misses_total",
                    "Neighbour-list cache misses.",
                    m.cache_misses as f64,
                ),
                (
                    "leann_writes_total",
                    "Committed index changes.",
                    m.writes as f64,
                ),
                (
                    "leann_index_reloads_total",
                    "Swaps to an index file another process replaced (a CLI sync, a deploy).",
                    m.reloads as f64,
                ),
            ];
            for (name, help, v) in counters {
                head(&mut o, name, help, "counter");
                let _ = writeln!(o, "{name} {v}");
            }
        });
        for (name, help, v) in extra {
            head(&mut o, name, help, "gauge");
            let _ = writeln!(o, "{name} {v}");
        }
        o
    }
}

fn head(o: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Resident set size of this process in bytes (Linux: `/proc/self/statm`; elsewhere 0).
pub fn rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf has no preconditions; it returns -1 on error, handled below.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 {
            return n as u64;
        }
    }
    4096
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_match() {
        let m = Metrics::default();
        m.record_request("/v1/search", 200, 0.003);
        m.record_request("/v1/search", 200, 0.2);
        m.record_request("/v1/search", 503, 30.0);
        let t = m.render(&[("leann_rss_bytes", "RSS.", 5.0)]);
        assert!(t.contains("leann_requests_total{route=\"/v1/search\",status=\"200\"} 2"));
        assert!(t.contains("leann_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(t.contains("leann_request_duration_seconds_bucket{le=\"0.25\"} 2"));
        assert!(t.contains("leann_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(t.contains("leann_request_duration_seconds_count 3"));
        assert!(t.contains("leann_rss_bytes 5"));
    }
}
