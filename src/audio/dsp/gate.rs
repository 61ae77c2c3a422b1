//! Noise gate with hysteresis, attack, hold and release, and a push-to-talk mode.
//!
//! Works on 10 ms frames. While the gate is closed the send chain produces no packet at all, so
//! silence costs no bandwidth. The gate decides on the level of the frame after echo
//! cancellation and noise suppression.

use crate::audio::FRAME_SAMPLES;
use crate::audio::meter::rms_dbfs;

/// Time the gate stays open after the level falls under the close threshold.
pub const HOLD_MS: u32 = 200;
/// Gain ramp from closed to open.
pub const ATTACK_MS: u32 = 5;
/// Gain ramp from open to closed once the hold time is over.
pub const RELEASE_MS: u32 = 40;

const FRAME_MS: u32 = 10;

/// What the send chain should do with the frame the gate just processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateDecision {
    /// Send the frame.
    Transmit,
    /// Send the frame; it is the last one of this talk spurt (the gate closes after it).
    TransmitLast,
    /// Send nothing.
    Silent,
}

/// How the gate is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// Always transmit (gate switched off).
    Off,
    /// Voice activation: the level decides.
    Voice,
    /// Push-to-talk: transmit only while the key is held.
    PushToTalk,
}

/// Noise gate state. All fields are plain values: no allocation, safe on any thread.
#[derive(Debug, Clone)]
pub struct NoiseGate {
    mode: GateMode,
    open_dbfs: f32,
    close_dbfs: f32,
    ptt_held: bool,
    /// Whether the gate transmits (attack, open, hold or release phase).
    open: bool,
    /// Milliseconds left in the hold phase; meaningful while `open`.
    hold_left_ms: u32,
    /// Current gain, 0.0 (closed) to 1.0 (open).
    gain: f32,
    /// Level of the last frame, dBFS.
    last_dbfs: f32,
}

impl NoiseGate {
    /// A gate in voice-activation mode with the given thresholds (dBFS). A close threshold above
    /// the open one is lowered to it (no negative hysteresis).
    pub fn new(mode: GateMode, open_dbfs: f32, close_dbfs: f32) -> Self {
        let mut gate = Self {
            mode,
            open_dbfs: 0.0,
            close_dbfs: 0.0,
            ptt_held: false,
            open: false,
            hold_left_ms: 0,
            gain: 0.0,
            last_dbfs: crate::audio::meter::SILENCE_DBFS,
        };
        gate.set_thresholds(open_dbfs, close_dbfs);
        gate
    }

    /// Changes the thresholds (dBFS).
    pub fn set_thresholds(&mut self, open_dbfs: f32, close_dbfs: f32) {
        self.open_dbfs = open_dbfs;
        self.close_dbfs = close_dbfs.min(open_dbfs);
    }

    /// Changes the mode.
    pub fn set_mode(&mut self, mode: GateMode) {
        self.mode = mode;
    }

    /// Push-to-talk key state.
    pub fn set_push_to_talk(&mut self, held: bool) {
        self.ptt_held = held;
    }

    /// The mode in force.
    pub fn mode(&self) -> GateMode {
        self.mode
    }

    /// Whether the push-to-talk key is held.
    pub fn push_to_talk_held(&self) -> bool {
        self.ptt_held
    }

    /// The open threshold, dBFS.
    pub fn open_dbfs(&self) -> f32 {
        self.open_dbfs
    }

    /// Whether the gate currently transmits.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Level of the last processed frame, dBFS.
    pub fn last_dbfs(&self) -> f32 {
        self.last_dbfs
    }

    /// Processes one frame in place (applies the gain ramps) and says whether to send it.
    pub fn process(&mut self, frame: &mut [f32]) -> GateDecision {
        debug_assert_eq!(frame.len(), FRAME_SAMPLES);
        self.last_dbfs = rms_dbfs(frame);
        let want_open = match self.mode {
            GateMode::Off => true,
            GateMode::PushToTalk => self.ptt_held,
            GateMode::Voice => {
                if self.last_dbfs >= self.open_dbfs {
                    true
                } else if self.open && self.last_dbfs >= self.close_dbfs {
                    // Hysteresis: between the two thresholds an open gate stays open.
                    true
                } else {
                    false
                }
            }
        };
        if want_open {
            self.open = true;
            self.hold_left_ms = match self.mode {
                GateMode::Voice => HOLD_MS,
                _ => 0,
            };
            self.ramp(frame, 1.0, ATTACK_MS);
            return GateDecision::Transmit;
        }
        if !self.open {
            self.gain = 0.0;
            return GateDecision::Silent;
        }
        if self.hold_left_ms > 0 {
            self.hold_left_ms = self.hold_left_ms.saturating_sub(FRAME_MS);
            self.ramp(frame, 1.0, ATTACK_MS);
            return GateDecision::Transmit;
        }
        // Release: fade out over RELEASE_MS, then close.
        self.ramp(frame, 0.0, RELEASE_MS);
        if self.gain <= 0.0 {
            self.open = false;
            GateDecision::TransmitLast
        } else {
            GateDecision::Transmit
        }
    }

    /// Moves the gain towards `target` at the rate of a full swing in `ramp_ms`, sample by
    /// sample, multiplying the frame by it.
    fn ramp(&mut self, frame: &mut [f32], target: f32, ramp_ms: u32) {
        let step = 1.0 / (ramp_ms.max(1) as f32 * crate::audio::SAMPLE_RATE as f32 / 1000.0);
        for sample in frame.iter_mut() {
            let gap = target - self.gain;
            // Snap within half a step, so rounding never leaves a sliver of gain.
            self.gain = if gap.abs() <= step * 1.5 {
                target
            } else {
                self.gain + step.copysign(gap)
            };
            *sample *= self.gain;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amplitude: f32) -> [f32; FRAME_SAMPLES] {
        let mut frame = [0.0; FRAME_SAMPLES];
        for (i, s) in frame.iter_mut().enumerate() {
            *s = amplitude * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 48_000.0).sin();
        }
        frame
    }

    fn run(gate: &mut NoiseGate, amplitude: f32, frames: usize) -> Vec<GateDecision> {
        (0..frames)
            .map(|_| gate.process(&mut tone(amplitude)))
            .collect()
    }

    #[test]
    fn silence_sends_nothing() {
        let mut gate = NoiseGate::new(GateMode::Voice, -45.0, -52.0);
        let decisions = run(&mut gate, 0.0005, 100);
        assert!(
            decisions.iter().all(|d| *d == GateDecision::Silent),
            "{decisions:?}"
        );
    }

    #[test]
    fn burst_opens_holds_then_releases_once() {
        let mut gate = NoiseGate::new(GateMode::Voice, -45.0, -52.0);
        // -9 dBFS burst of 300 ms.
        let on = run(&mut gate, 0.5, 30);
        assert!(on.iter().all(|d| *d == GateDecision::Transmit));
        assert!(gate.is_open());
        // Then quiet (-75 dBFS): hold 200 ms, release 40 ms, then silence.
        let off = run(&mut gate, 0.0002, 50);
        let transmitted = off.iter().filter(|d| **d != GateDecision::Silent).count();
        let expected = (HOLD_MS + RELEASE_MS) as usize / 10;
        assert_eq!(transmitted, expected, "{off:?}");
        assert_eq!(off[expected - 1], GateDecision::TransmitLast);
        assert!(off[expected..].iter().all(|d| *d == GateDecision::Silent));
        assert!(!gate.is_open());
    }

    #[test]
    fn hysteresis_keeps_gate_open_between_thresholds() {
        let mut gate = NoiseGate::new(GateMode::Voice, -30.0, -50.0);
        run(&mut gate, 0.5, 3);
        // -40 dBFS: under the open threshold, above the close one.
        let mid = run(&mut gate, 0.014, 100);
        assert!(mid.iter().all(|d| *d == GateDecision::Transmit));
        // A fresh gate does not open at that level.
        let mut fresh = NoiseGate::new(GateMode::Voice, -30.0, -50.0);
        assert!(
            run(&mut fresh, 0.014, 50)
                .iter()
                .all(|d| *d == GateDecision::Silent)
        );
    }

    #[test]
    fn attack_ramps_instead_of_clicking() {
        let mut gate = NoiseGate::new(GateMode::Voice, -45.0, -52.0);
        let mut frame = [0.5; FRAME_SAMPLES];
        gate.process(&mut frame);
        assert!(frame[0] < 0.01, "first sample is ramped: {}", frame[0]);
        assert!(
            (frame[FRAME_SAMPLES - 1] - 0.5).abs() < 1e-6,
            "ramp done within 5 ms"
        );
    }

    #[test]
    fn push_to_talk_follows_the_key_only() {
        let mut gate = NoiseGate::new(GateMode::PushToTalk, -45.0, -52.0);
        assert!(
            run(&mut gate, 0.5, 10)
                .iter()
                .all(|d| *d == GateDecision::Silent)
        );
        gate.set_push_to_talk(true);
        assert!(
            run(&mut gate, 0.0, 10)
                .iter()
                .all(|d| *d == GateDecision::Transmit)
        );
        gate.set_push_to_talk(false);
        let after = run(&mut gate, 0.5, 10);
        let sent = after.iter().filter(|d| **d != GateDecision::Silent).count();
        assert_eq!(
            sent,
            RELEASE_MS as usize / 10,
            "only the release fade: {after:?}"
        );
    }

    #[test]
    fn off_mode_always_transmits() {
        let mut gate = NoiseGate::new(GateMode::Off, -45.0, -52.0);
        assert!(
            run(&mut gate, 0.0, 20)
                .iter()
                .all(|d| *d == GateDecision::Transmit)
        );
    }
}
