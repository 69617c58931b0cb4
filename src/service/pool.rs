//! The bounded pool: at most `workers` requests use the encoder at once, at most `queue` more wait
//! for a turn, and the next one is refused at once ([`Busy`], HTTP 503 with `Retry-After`) instead
//! of piling up. The work itself runs on tokio's blocking threads, so the HTTP side keeps
//! answering (health, metrics, 503s) while the encoder is busy.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The pool is full: the request was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

/// The work panicked (caught: the service answers 500 and goes on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Panicked;

/// A bounded worker pool with a bounded queue (see the module docs).
#[derive(Debug)]
pub struct Pool {
    workers: usize,
    queue: usize,
    permits: Arc<Semaphore>,
    /// Requests admitted (running or waiting).
    admitted: Arc<AtomicUsize>,
    rejected: AtomicUsize,
}

impl Pool {
    /// `workers` ≥ 1 at once, `queue` more waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        Pool {
            workers,
            queue,
            permits: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            rejected: AtomicUsize::new(0),
        }
    }

    /// Workers.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Queue bound.
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// Requests running or waiting now.
    pub fn in_flight(&self) -> usize {
        self.admitted.load(Ordering::Relaxed)
    }

    /// Requests refused so far.
    pub fn rejected(&self) -> usize {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Run `f` on a blocking thread when a worker is free; [`Busy`] at once when `workers + queue`
    /// requests are already admitted; [`Panicked`] if `f` panicked.
    pub async fn run<T, F>(&self, f: F) -> Result<Result<T, Panicked>, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let cap = self.workers + self.queue;
        if self
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < cap).then_some(n + 1)
            })
            .is_err()
        {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(Busy);
        }
        // Given back when the request ends: here if it is dropped while waiting (its client went
        // away), else with the blocking work, which runs on even if nobody waits for it.
        let admitted = Admitted(self.admitted.clone());
        // The semaphore is never closed, so acquiring only fails if it were: treat as busy.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        let out = tokio::task::spawn_blocking(move || {
            let _held = (permit, admitted);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        })
        .await;
        match out {
            Ok(Ok(v)) => Ok(Ok(v)),
            Ok(Err(_)) => Ok(Err(Panicked)),
            // Only at runtime shutdown: the work never ran.
            Err(_) => Err(Busy),
        }
    }
}

/// Gives the admission back when dropped.
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_pool_refuses_instead_of_queueing() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool = Arc::new(Pool::new(1, 1));
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let rx = Arc::new(std::sync::Mutex::new(rx));
            // One running (blocked on the channel), one waiting: the third is refused.
            let mut held = Vec::new();
            for _ in 0..2 {
                let (p, r) = (pool.clone(), rx.clone());
                held.push(tokio::spawn(async move {
                    p.run(move || r.lock().unwrap().recv().ok())
                        .await
                        .map(Result::unwrap)
                }));
            }
            while pool.in_flight() < 2 {
                tokio::task::yield_now().await;
            }
            assert_eq!(pool.run(|| 1).await, Err(Busy));
            assert_eq!(pool.rejected(), 1);
            tx.send(()).unwrap();
            tx.send(()).unwrap();
            for h in held {
                assert_eq!(h.await.unwrap(), Ok(Some(())));
            }
            // A panic is caught and reported; admissions were given back: the pool works on.
            let boom = pool
                .run(|| -> u8 { panic!("test panic in pooled work") })
                .await;
            assert_eq!(boom, Ok(Err(Panicked)));
            assert_eq!(pool.in_flight(), 0);
            assert_eq!(pool.run(|| 7).await, Ok(Ok(7)));
        });
    }
}
