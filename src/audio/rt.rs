//! Everything that runs inside the device callbacks, and nothing else.
//!
//! Rules (ARCHITECTURE.md, "Real-time audio"): no allocation or deallocation, no lock, no log,
//! no I/O, no blocking. The callbacks only move samples between the device buffer and wait-free
//! single-producer rings (`rtrb`), mix channels down or up, and count over- and underruns in
//! atomics. Built with the `assert-no-alloc` feature, each body runs inside
//! `assert_no_alloc`, and any allocation there is counted as a violation.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cpal::{FromSample, Sample, SizedSample};

/// Counters the callbacks update and the worker reads.
#[derive(Debug, Default)]
pub struct RtCounters {
    /// Device frames dropped because the capture ring was full (worker too slow).
    pub capture_overruns: AtomicU64,
    /// Device frames filled with silence because the playback ring was empty.
    pub playback_underruns: AtomicU64,
    /// Capture callback invocations: a count that stops moving means a dead device.
    pub capture_callbacks: AtomicU64,
    /// Playback callback invocations.
    pub playback_callbacks: AtomicU64,
}

#[inline]
fn guarded<T>(body: impl FnOnce() -> T) -> T {
    #[cfg(feature = "assert-no-alloc")]
    {
        assert_no_alloc::assert_no_alloc(body)
    }
    #[cfg(not(feature = "assert-no-alloc"))]
    {
        body()
    }
}

/// Allocations seen inside callback bodies since start (always 0 without the
/// `assert-no-alloc` feature, or in release builds).
pub fn alloc_violations() -> u32 {
    #[cfg(feature = "assert-no-alloc")]
    {
        assert_no_alloc::violation_count()
    }
    #[cfg(not(feature = "assert-no-alloc"))]
    {
        0
    }
}

/// State of the capture callback: device samples in, mono samples into the ring.
#[derive(Debug)]
pub struct Capture {
    ring: rtrb::Producer<f32>,
    channels: usize,
    counters: Arc<RtCounters>,
}

impl Capture {
    /// A capture callback state for a device with `channels` channels.
    pub fn new(ring: rtrb::Producer<f32>, channels: usize, counters: Arc<RtCounters>) -> Self {
        Self {
            ring,
            channels: channels.max(1),
            counters,
        }
    }

    /// The callback body: mixes each device frame down to mono and pushes it.
    pub fn process<T>(&mut self, data: &[T])
    where
        T: Sample,
        f32: FromSample<T>,
    {
        guarded(|| {
            self.counters
                .capture_callbacks
                .fetch_add(1, Ordering::Relaxed);
            let scale = 1.0 / self.channels as f32;
            let mut dropped = 0u64;
            for frame in data.chunks_exact(self.channels) {
                let mono = frame.iter().map(|s| f32::from_sample(*s)).sum::<f32>() * scale;
                if self.ring.push(mono).is_err() {
                    dropped += 1;
                }
            }
            if dropped > 0 {
                self.counters
                    .capture_overruns
                    .fetch_add(dropped, Ordering::Relaxed);
            }
        });
    }
}

/// State of the playback callback: mono samples from the ring out to every device channel.
#[derive(Debug)]
pub struct Playback {
    ring: rtrb::Consumer<f32>,
    channels: usize,
    counters: Arc<RtCounters>,
}

impl Playback {
    /// A playback callback state for a device with `channels` channels.
    pub fn new(ring: rtrb::Consumer<f32>, channels: usize, counters: Arc<RtCounters>) -> Self {
        Self {
            ring,
            channels: channels.max(1),
            counters,
        }
    }

    /// Samples waiting in the ring.
    pub fn queued(&self) -> usize {
        self.ring.slots()
    }

    /// Counts a period in which the device was served without taking samples (see
    /// `pulse::OutputLoop`), so the engine does not take it for stalled.
    pub fn served_idle(&self) {
        self.counters
            .playback_callbacks
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The callback body: fills the device buffer, silence where the ring ran dry.
    pub fn process<T>(&mut self, data: &mut [T])
    where
        T: SizedSample + FromSample<f32>,
    {
        guarded(|| {
            self.counters
                .playback_callbacks
                .fetch_add(1, Ordering::Relaxed);
            let mut missing = 0u64;
            for frame in data.chunks_exact_mut(self.channels) {
                let value = match self.ring.pop() {
                    Ok(sample) => sample,
                    Err(_) => {
                        missing += 1;
                        0.0
                    }
                };
                let converted = T::from_sample(value);
                frame.fill(converted);
            }
            if missing > 0 {
                self.counters
                    .playback_underruns
                    .fetch_add(missing, Ordering::Relaxed);
            }
        });
    }
}
