//! Progress of long work (build, add, sync, compact) on stderr: a bar per phase on a terminal and,
//! without one (systemd, nohup, a pipe into a log), one line per phase start, then one every
//! [`LINE_EVERY`] and one when the phase ends — phase, done of total, rate and time left — so a
//! half-hour build on a Pi is never silent. `--progress auto|bar|lines|off`.
use super::common::bar;
use clap::ValueEnum;
use indicatif::ProgressBar;
use leann_edge::index::Phase;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How progress is shown (`--progress`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Bars on a terminal, lines otherwise.
    #[default]
    Auto,
    /// Bars (redrawn in place).
    Bar,
    /// A line at each phase start, every 10 s and at each phase end.
    Lines,
    /// Nothing.
    Off,
}

/// Time between progress lines.
pub const LINE_EVERY: Duration = Duration::from_secs(10);

/// The progress of one command.
pub struct Progress {
    mode: ProgressMode,
    current: Mutex<Option<Current>>,
}

/// The phase being shown.
struct Current {
    phase: Phase,
    total: u64,
    started: Instant,
    last_line: Instant,
    ended: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `Auto` resolved against whether stderr is a terminal.
    pub fn new(mode: ProgressMode) -> Self {
        let mode = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Bar,
            ProgressMode::Auto => ProgressMode::Lines,
            m => m,
        };
        Progress {
            mode,
            current: Mutex::new(None),
        }
    }

    /// `done` of `total` in phase `ph`.
    pub fn update(&self, ph: Phase, done: u64, total: u64) {
        if self.mode == ProgressMode::Off {
            return;
        }
        let Ok(mut g) = self.current.lock() else {
            return;
        };
        if g.as_ref().map(|c| c.phase) != Some(ph) {
            if let Some(c) = g.take() {
                finish(c);
            }
            let now = Instant::now();
            let bar = (self.mode == ProgressMode::Bar).then(|| bar(total, ph.name()));
            if bar.is_none() {
                eprintln!("progress: {} 0/{total}", ph.name());
            }
            *g = Some(Current {
                phase: ph,
                total,
                started: now,
                last_line: now,
                ended: false,
                bar,
            });
        }
        let Some(c) = g.as_mut() else {
            return;
        };
        c.total = total;
        match &c.bar {
            Some(pb) => pb.set_position(done),
            None if c.ended => {}
            None => {
                let end = total > 0 && done >= total;
                if end || c.last_line.elapsed() >= LINE_EVERY {
                    eprintln!("progress: {}", line(c, done));
                    c.last_line = Instant::now();
                    c.ended = end;
                }
            }
        }
    }

    /// End the last phase shown.
    pub fn finish(&self) {
        if let Some(c) = self.current.lock().ok().and_then(|mut g| g.take()) {
            finish(c);
        }
    }
}

fn finish(c: Current) {
    if let Some(pb) = c.bar {
        pb.finish();
    }
}

/// `embed 12345/45637 (27%), 41.2/s, 13m 28s left`.
fn line(c: &Current, done: u64) -> String {
    let secs = c.started.elapsed().as_secs_f64();
    let rate = done as f64 / secs.max(1e-3);
    let pct = (100 * done).checked_div(c.total).unwrap_or(0);
    let mut s = format!("{} {done}/{} ({pct}%)", c.phase.name(), c.total);
    if done > 0 && secs >= 1.0 {
        s += &format!(", {rate:.1}/s");
        if done < c.total {
            let left = (c.total - done) as f64 / rate;
            s += &format!(", {} left", human(left));
        } else {
            s += &format!(", {} in all", human(secs));
        }
    }
    s
}

/// `1h 02m`, `13m 28s`, `9s`.
fn human(secs: f64) -> String {
    let s = secs.round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(9.4), "9s");
        assert_eq!(human(808.0), "13m 28s");
        assert_eq!(human(3720.0), "1h 02m");
    }
}
