//! Lock-free meters shared between the audio threads and the window.
//!
//! Written by the worker thread (and the capture callback), read by the UI each frame. Values are
//! `f32` stored as bits in atomics: no locks, no allocation, safe to touch from any thread.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Levels and flags the UI shows live.
#[derive(Debug)]
pub struct Meters {
    input_dbfs: AtomicU32,
    output_dbfs: AtomicU32,
    gate_open: AtomicBool,
    remote_speaking: AtomicBool,
}

impl Default for Meters {
    fn default() -> Self {
        Self {
            input_dbfs: AtomicU32::new(SILENCE_DBFS.to_bits()),
            output_dbfs: AtomicU32::new(SILENCE_DBFS.to_bits()),
            gate_open: AtomicBool::new(false),
            remote_speaking: AtomicBool::new(false),
        }
    }
}

/// The level reported for digital silence.
pub const SILENCE_DBFS: f32 = -96.0;

impl Meters {
    /// Microphone level after capture, in dBFS (RMS of the last 10 ms).
    pub fn input_dbfs(&self) -> f32 {
        f32::from_bits(self.input_dbfs.load(Ordering::Relaxed))
    }
    /// Sets the microphone level.
    pub fn set_input_dbfs(&self, dbfs: f32) {
        self.input_dbfs.store(dbfs.to_bits(), Ordering::Relaxed);
    }
    /// Level of what is sent to the speakers, in dBFS.
    pub fn output_dbfs(&self) -> f32 {
        f32::from_bits(self.output_dbfs.load(Ordering::Relaxed))
    }
    /// Sets the speaker level.
    pub fn set_output_dbfs(&self, dbfs: f32) {
        self.output_dbfs.store(dbfs.to_bits(), Ordering::Relaxed);
    }
    /// Whether the noise gate lets the microphone through (the user is "speaking").
    pub fn gate_open(&self) -> bool {
        self.gate_open.load(Ordering::Relaxed)
    }
    /// Sets the gate flag.
    pub fn set_gate_open(&self, open: bool) {
        self.gate_open.store(open, Ordering::Relaxed);
    }
    /// Whether sound from the far end is being played.
    pub fn remote_speaking(&self) -> bool {
        self.remote_speaking.load(Ordering::Relaxed)
    }
    /// Sets the far-end speaking flag.
    pub fn set_remote_speaking(&self, speaking: bool) {
        self.remote_speaking.store(speaking, Ordering::Relaxed);
    }
}

/// RMS level of `samples` in dBFS, floored at [`SILENCE_DBFS`]. No allocation.
pub fn rms_dbfs(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return SILENCE_DBFS;
    }
    let energy: f32 = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
    if energy <= 0.0 {
        return SILENCE_DBFS;
    }
    (10.0 * energy.log10()).max(SILENCE_DBFS)
}

/// The loudness of `samples` in −dBov as RFC 6464 (the RTP audio level) counts it: 0 is the
/// loudest, 127 silence.
pub fn level_dbov(samples: &[f32]) -> u8 {
    let dbfs = rms_dbfs(samples);
    if dbfs <= SILENCE_DBFS {
        return 127;
    }
    (-dbfs).round().clamp(0.0, 127.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_rfc_6464() {
        assert_eq!(level_dbov(&[0.0; 480]), 127);
        assert_eq!(level_dbov(&[1.0; 480]), 0);
        assert_eq!(level_dbov(&[0.1; 480]), 20);
        assert_eq!(level_dbov(&[-0.01; 480]), 40);
    }

    #[test]
    fn full_scale_sine_is_minus_three_db() {
        let sine: Vec<f32> = (0..4800)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / 48_000.0).sin())
            .collect();
        let db = rms_dbfs(&sine);
        assert!((db + 3.01).abs() < 0.05, "got {db}");
        assert_eq!(rms_dbfs(&[0.0; 480]), SILENCE_DBFS);
    }
}
