//! The clocks of the CPU benchmarks: wall time and the calling thread's CPU time.

use std::time::{Duration, Instant};

/// CPU time consumed so far by the calling thread, from `/proc/thread-self/schedstat` (Linux;
/// a plain file read, no FFI), when the kernel exposes it.
pub fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Wall and thread-CPU time of one run of `f`.
pub fn measure(mut f: impl FnMut()) -> (Duration, Option<Duration>) {
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    f();
    let wall = t0.elapsed();
    let cpu = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    (wall, cpu)
}

/// Minimum over `repeats` runs of each clock (thread CPU `None` where the kernel gives none).
pub fn best_of(repeats: usize, mut f: impl FnMut()) -> (Duration, Option<Duration>) {
    let mut best: Option<(Duration, Option<Duration>)> = None;
    for _ in 0..repeats.max(1) {
        let (wall, cpu) = measure(&mut f);
        best = Some(match best {
            None => (wall, cpu),
            Some((w, c)) => (
                w.min(wall),
                match (c, cpu) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    _ => None,
                },
            ),
        });
    }
    best.expect("at least one run")
}
