//! The encoder's helper threads: a [`Crew`] of `threads - 1` spinning workers next to the caller.
//!
//! A lone text opens a [`Session`]: the helpers spin while it lasts (a hand-off costs a few µs, where
//! tract's rayon pool wakes sleeping workers and waits on a latch for every matmul) and park when it
//! ends; [`super::split::SplitOp`] posts its column bands to them. Data-parallel runs (a batch, one
//! text-run per thread) go to the same threads through [`Crew::run_all`].
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce() + Send>;

/// Busy-wait rounds (~10-50 µs) before a waiting thread starts yielding its core: a band of a
/// short text takes 50-200 µs, so waits on a machine with a core per thread end within the spin.
const SPINS_BEFORE_YIELD: u32 = 20_000;

/// One helper thread's mailbox.
struct Slot {
    job: Mutex<Option<Job>>,
    /// Jobs posted so far.
    posted: AtomicUsize,
    /// Jobs finished so far.
    done: AtomicUsize,
    /// The helper is parked (or about to park): posting must unpark it.
    parked: AtomicBool,
    /// A session is open: spin between jobs instead of parking.
    active: AtomicBool,
    stop: AtomicBool,
}

impl Slot {
    fn new() -> Self {
        Slot {
            job: Mutex::new(None),
            posted: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            active: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        }
    }
}

struct Helper {
    slot: Arc<Slot>,
    handle: Option<JoinHandle<()>>,
}

impl Helper {
    fn unpark(&self) {
        if let Some(h) = &self.handle {
            h.thread().unpark();
        }
    }
}

fn helper_loop(slot: Arc<Slot>) {
    let mut seen = 0usize;
    loop {
        // Wait for the next job: spin while a session is open, park otherwise.
        let mut spins = 0u32;
        loop {
            if slot.stop.load(Ordering::Acquire) {
                return;
            }
            if slot.posted.load(Ordering::Acquire) > seen {
                break;
            }
            spins = spins.saturating_add(1);
            if slot.active.load(Ordering::Relaxed) {
                if spins < SPINS_BEFORE_YIELD {
                    std::hint::spin_loop();
                } else {
                    // More threads than free cores: let the caller's thread run.
                    std::thread::yield_now();
                }
                continue;
            }
            if spins < 64 {
                std::hint::spin_loop();
                continue;
            }
            // Dekker-style handshake with `Crew::post`: announce the park, then re-check.
            slot.parked.store(true, Ordering::SeqCst);
            if slot.posted.load(Ordering::SeqCst) == seen
                && !slot.active.load(Ordering::SeqCst)
                && !slot.stop.load(Ordering::SeqCst)
            {
                std::thread::park();
            }
            slot.parked.store(false, Ordering::SeqCst);
            spins = 0;
        }
        seen += 1;
        let job = slot.job.lock().ok().and_then(|mut j| j.take());
        if let Some(job) = job {
            job();
        }
        slot.done.store(seen, Ordering::Release);
    }
}

/// Helper threads that run plan bands next to the calling thread (see the module docs).
pub(crate) struct Crew {
    helpers: Vec<Helper>,
    /// A session is open (one owner at a time).
    busy: AtomicBool,
}

impl std::fmt::Debug for Crew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crew({} helpers)", self.helpers.len())
    }
}

thread_local! {
    /// This thread holds an open [`Session`] of the crew at this address.
    static SESSION: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Crew {
    /// A crew of `helpers` threads (the caller's thread is the other worker).
    pub(crate) fn new(helpers: usize) -> std::io::Result<Arc<Crew>> {
        let mut hs = Vec::with_capacity(helpers);
        for i in 0..helpers {
            let slot = Arc::new(Slot::new());
            let s = slot.clone();
            let handle = std::thread::Builder::new()
                .name(format!("leann-encoder-{}", i + 1))
                .spawn(move || helper_loop(s))?;
            hs.push(Helper {
                slot,
                handle: Some(handle),
            });
        }
        Ok(Arc::new(Crew {
            helpers: hs,
            busy: AtomicBool::new(false),
        }))
    }

    /// Open a session on this thread: the helpers spin (and split matmuls on this thread use them)
    /// until it is dropped. `None` when another thread holds the crew.
    pub(crate) fn session(self: &Arc<Self>) -> Option<Session> {
        self.open(true)
    }

    /// Hold the crew for [`Crew::run_all`] without a session: split matmuls on this thread run
    /// their bands themselves (the helpers are busy with other work).
    pub(crate) fn hold(self: &Arc<Self>) -> Option<Session> {
        self.open(false)
    }

    /// Helper threads (the caller's thread is one more worker).
    pub(crate) fn helpers(&self) -> usize {
        self.helpers.len()
    }

    /// Run `work(0)` on this thread and `work(i)` on helper `i - 1` for `i` in `1..n`, and return
    /// once every one has finished. Call it while holding the crew ([`Crew::hold`]). Data-parallel
    /// encoder runs go here rather than to fresh threads: with threads started per call, the
    /// helpers woke on the caller's core afterwards and a lone text's bands took turns on one core
    /// (query embedding 12-15 ms instead of 6 after a batch, measured on the 2-core x86).
    pub(crate) fn run_all(&self, n: usize, work: &(dyn Fn(usize) + Sync)) -> Result<(), String> {
        let n = n.min(self.helpers.len() + 1).max(1);
        let panicked = Arc::new(AtomicBool::new(false));
        // SAFETY: `work` is only borrowed for this call; every job posted below has finished
        // (`wait`) before this function returns, and `work(0)` cannot unwind past the waits
        // (`catch_unwind`), so no job outlives the borrow.
        let w: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(work) };
        for i in 1..n {
            let p = panicked.clone();
            self.post(
                i - 1,
                Box::new(move || {
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w(i))).is_err() {
                        p.store(true, Ordering::SeqCst);
                    }
                }),
            );
        }
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(0)));
        for i in 1..n {
            self.wait(i - 1);
        }
        if let Err(e) = mine {
            std::panic::resume_unwind(e);
        }
        if panicked.load(Ordering::SeqCst) {
            return Err("an encoder worker panicked".into());
        }
        Ok(())
    }

    fn open(self: &Arc<Self>, split: bool) -> Option<Session> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        for h in &self.helpers {
            h.slot.active.store(true, Ordering::SeqCst);
            if h.slot.parked.load(Ordering::SeqCst) {
                h.unpark();
            }
        }
        if split {
            SESSION.with(|s| s.set(Arc::as_ptr(self) as usize));
        }
        Some(Session {
            crew: self.clone(),
            split,
        })
    }

    /// Bands the helpers have run so far.
    #[cfg(test)]
    pub(crate) fn jobs_done(&self) -> usize {
        self.helpers
            .iter()
            .map(|h| h.slot.done.load(Ordering::Acquire))
            .sum()
    }

    pub(crate) fn in_session(&self) -> bool {
        SESSION.with(|s| s.get()) == self as *const Crew as usize
    }

    pub(crate) fn post(&self, i: usize, job: Job) {
        let h = &self.helpers[i];
        if let Ok(mut j) = h.slot.job.lock() {
            *j = Some(job);
        }
        h.slot.posted.fetch_add(1, Ordering::SeqCst);
        if h.slot.parked.load(Ordering::SeqCst) {
            h.unpark();
        }
    }

    pub(crate) fn wait(&self, i: usize) {
        let s = &self.helpers[i].slot;
        let target = s.posted.load(Ordering::Relaxed);
        let mut spins = 0u32;
        while s.done.load(Ordering::Acquire) < target {
            spins = spins.saturating_add(1);
            if spins < SPINS_BEFORE_YIELD {
                std::hint::spin_loop();
            } else {
                // Long band or an oversubscribed machine: stop burning the core.
                std::thread::yield_now();
            }
        }
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        for h in &mut self.helpers {
            h.slot.stop.store(true, Ordering::SeqCst);
            h.unpark();
            if let Some(t) = h.handle.take() {
                let _ = t.join();
            }
        }
    }
}

/// An open crew session (see [`Crew::session`]); closing it lets the helpers park.
pub(crate) struct Session {
    crew: Arc<Crew>,
    /// Opened by [`Crew::session`] (split ops on this thread use the crew), not [`Crew::hold`].
    split: bool,
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.split {
            SESSION.with(|s| s.set(0));
        }
        for h in &self.crew.helpers {
            h.slot.active.store(false, Ordering::SeqCst);
        }
        self.crew.busy.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_all_runs_every_index_once_on_distinct_threads_and_reports_panics() {
        let crew = Crew::new(2).unwrap();
        let _hold = crew.hold().expect("crew free");
        let seen: Vec<Mutex<Vec<std::thread::ThreadId>>> =
            (0..3).map(|_| Mutex::new(Vec::new())).collect();
        let work = |i: usize| seen[i].lock().unwrap().push(std::thread::current().id());
        crew.run_all(3, &work).unwrap();
        let ids: Vec<_> = seen.iter().map(|s| s.lock().unwrap().clone()).collect();
        assert!(ids.iter().all(|v| v.len() == 1), "{ids:?}");
        assert_eq!(ids[0][0], std::thread::current().id());
        assert!(ids[1][0] != ids[0][0] && ids[2][0] != ids[0][0] && ids[1][0] != ids[2][0]);
        // A panic on a helper is an error here, and the crew still works after it.
        let boom = |i: usize| assert!(i != 2, "worker {i} fails");
        assert!(crew.run_all(3, &boom).is_err());
        crew.run_all(3, &work).unwrap();
        assert_eq!(seen[2].lock().unwrap().len(), 2);
    }
}
