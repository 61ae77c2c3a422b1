//! Acoustic echo cancellation: removes from the microphone the far-end sound that the speakers
//! played and the microphone picked up again, so people on laptops without headphones do not
//! send the other participants their own voices back.
//!
//! [`EchoCanceller`] owns one instance of WebRTC's AEC3 (adaptive linear filter, delay
//! estimator and residual-echo suppressor), as ported to pure Rust by the `sonora` crate: no C
//! library, so it builds the same way on Linux, Windows and macOS.
//!
//! # Contract
//!
//! - 48 kHz mono, frames of [`FRAME_SAMPLES`] samples (10 ms) in `[-1, 1]`.
//! - In every 10 ms period, call [`EchoCanceller::process_render`] once with exactly the frame
//!   handed to the speakers (silence when nothing plays), then
//!   [`EchoCanceller::process_capture`] with the microphone frame. Skipping render calls while
//!   capture goes on makes the canceller lose its alignment until it re-converges.
//! - The delay from the render call to the echo in the microphone (playback buffer, room,
//!   capture buffer) is found by AEC3's own delay estimator; nothing needs to be reported.
//!   Measured to work from 5 ms to 480 ms. With no delay at all (the echo in the very frame of
//!   its render call) it cancels nothing, but real devices always add more than 5 ms.
//! - The microphone's DC and sub-audio rumble are removed (a one-pole DC blocker, instead of
//!   AEC3's own high-pass filter, which cost speech quality) and, above 16 kHz, cut: the
//!   canceller works internally at 32 kHz, which is plenty for voice.
//!
//! # Threads and allocation
//!
//! Runs on the audio worker thread, never in a device callback. This module allocates only in
//! [`EchoCanceller::new`], but sonora 0.2 itself makes about 40 short-lived small allocations
//! per frame (vectors of slice references inside its AEC3 wrapper), so it must not move into a
//! real-time callback (rule R1) as it is.
//!
//! # Measured
//!
//! `tests/echo_canceller.rs` plays speech through a simulated room (40 ms and 120 ms delay,
//! echo at -6 dB, reverberation tail, small-speaker filtering, -60 dBFS noise): about 35 dB of
//! echo return loss enhancement after two seconds, and the near-end talker survives double
//! talk (about -5 dB of level at a 0 dB signal-to-echo ratio).

use sonora::config::EchoCanceller as EchoCancellerConfig;
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::audio::{FRAME_SAMPLES, SAMPLE_RATE};

/// Removes the echo of the far-end signal from the microphone signal (WebRTC AEC3, pure Rust).
///
/// See the module documentation for the calling contract.
#[derive(Debug)]
pub struct EchoCanceller {
    processing: AudioProcessing,
    /// Render frame as given to sonora, with non-finite samples replaced by silence.
    render: Box<[f32]>,
    /// Sonora copies the render frame back here (AEC3 does not change it); discarded.
    render_sink: Box<[f32]>,
    /// Microphone frame as given to sonora: it reads one buffer and writes another.
    capture: Box<[f32]>,
    /// Removes DC and sub-audio rumble from the microphone before the canceller.
    dc_blocker: DcBlocker,
}

/// One-pole DC blocker, y[n] = x[n] − x[n−1] + R·y[n−1]: −3 dB at about 38 Hz at 48 kHz, flat
/// (within 0.1 dB) above 150 Hz.
#[derive(Debug, Clone, Copy, Default)]
struct DcBlocker {
    previous_in: f32,
    previous_out: f32,
}

impl DcBlocker {
    const R: f32 = 0.995;

    fn process(&mut self, frame: &mut [f32]) {
        for sample in frame.iter_mut() {
            let out = *sample - self.previous_in + Self::R * self.previous_out;
            self.previous_in = *sample;
            self.previous_out = out;
            *sample = out;
        }
    }
}

impl EchoCanceller {
    /// How much later a sound comes out than it went in, in samples: AEC3's conversion to its
    /// internal 32 kHz and band splitting. Measured with the echo test on speech (8.96 ms).
    pub const DELAY_SAMPLES: usize = 430;

    /// Creates a canceller for 48 kHz mono, frames of [`FRAME_SAMPLES`] samples in `[-1, 1]`.
    ///
    /// Allocates every buffer it needs; it starts unadapted and converges within about two
    /// seconds of far-end speech.
    pub fn new() -> Self {
        let stream = StreamConfig::new(SAMPLE_RATE, 1);
        // AEC3's own high-pass filter is off: measured through the echo test, it cost 0.4 of
        // PESQ (3.57 → 3.18 at 24 kbit/s) with no echo at all, while the ERLE without it is the
        // same (35.1 dB). A gentle DC blocker ([`DcBlocker`]) removes what the filter is there
        // for (DC offset, sub-audio rumble) without touching the voice band.
        let config = Config {
            echo_canceller: Some(EchoCancellerConfig {
                enforce_high_pass_filtering: false,
                ..EchoCancellerConfig::default()
            }),
            high_pass_filter: None,
            ..Config::default()
        };
        let processing = AudioProcessing::builder()
            .config(config)
            .capture_config(stream)
            .render_config(stream)
            .build();
        Self {
            processing,
            render: vec![0.0; FRAME_SAMPLES].into_boxed_slice(),
            render_sink: vec![0.0; FRAME_SAMPLES].into_boxed_slice(),
            capture: vec![0.0; FRAME_SAMPLES].into_boxed_slice(),
            dc_blocker: DcBlocker::default(),
        }
    }

    /// Tells the canceller what the speakers play: `far` is the exact 10 ms frame that was sent
    /// to the speakers. Call once per frame, before [`process_capture`](Self::process_capture)
    /// of the same period, also with silence when nothing plays.
    ///
    /// # Panics
    ///
    /// If `far` is not [`FRAME_SAMPLES`] long.
    pub fn process_render(&mut self, far: &[f32]) {
        assert_eq!(
            far.len(),
            FRAME_SAMPLES,
            "process_render takes one 10 ms frame"
        );
        copy_finite(&mut self.render, far);
        self.processing
            .process_render_f32(&[&self.render[..]], &mut [&mut self.render_sink[..]])
            // Sonora fails only on an unsupported stream format; 48 kHz mono is supported.
            .expect("48 kHz mono render stream");
    }

    /// Removes the echo from `near`, the 10 ms microphone frame, in place.
    ///
    /// # Panics
    ///
    /// If `near` is not [`FRAME_SAMPLES`] long.
    pub fn process_capture(&mut self, near: &mut [f32]) {
        assert_eq!(
            near.len(),
            FRAME_SAMPLES,
            "process_capture takes one 10 ms frame"
        );
        copy_finite(&mut self.capture, near);
        self.dc_blocker.process(&mut self.capture);
        self.processing
            .process_capture_f32(&[&self.capture[..]], &mut [near])
            // Sonora fails only on an unsupported stream format; 48 kHz mono is supported.
            .expect("48 kHz mono capture stream");
    }
}

impl Default for EchoCanceller {
    fn default() -> Self {
        Self::new()
    }
}

/// Copies `src` into `dst`, replacing NaN and infinities with silence: one bad sample would
/// otherwise poison AEC3's adaptive filter for the rest of the call.
fn copy_finite(dst: &mut [f32], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = if s.is_finite() { s } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_move_to_the_worker_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<EchoCanceller>();
    }

    #[test]
    fn silence_stays_silence_and_nan_does_not_stick() {
        let mut aec = EchoCanceller::new();
        let mut bad = [0.0f32; FRAME_SAMPLES];
        bad[10] = f32::NAN;
        bad[20] = f32::INFINITY;
        for _ in 0..50 {
            aec.process_render(&bad);
            let mut near = bad;
            aec.process_capture(&mut near);
            assert!(
                near.iter().all(|s| s.is_finite()),
                "output must stay finite"
            );
        }
        aec.process_render(&[0.0; FRAME_SAMPLES]);
        let mut near = [0.0f32; FRAME_SAMPLES];
        aec.process_capture(&mut near);
        assert!(
            near.iter().all(|s| s.abs() < 1e-3),
            "silence in, silence out"
        );
    }

    #[test]
    #[should_panic(expected = "one 10 ms frame")]
    fn wrong_frame_length_panics() {
        EchoCanceller::new().process_render(&[0.0; 100]);
    }
}
