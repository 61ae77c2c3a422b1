//! Sample-rate conversion between a device's native rate and palabre's 48 kHz (rubato).
//!
//! [`StreamResampler`] converts a mono stream chunk by chunk with buffers sized up front, so it
//! can run on the audio worker every 10 ms without allocating. [`resample_all`] converts a whole
//! clip (WAV files).

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use crate::audio::AudioError;

fn sinc_parameters() -> SincInterpolationParameters {
    SincInterpolationParameters::new(64, WindowFunction::BlackmanHarris2)
        .oversampling_factor(128)
        .interpolation(SincInterpolationType::Linear)
}

fn build(from_hz: u32, to_hz: u32, chunk: usize) -> Result<Async<f32>, AudioError> {
    Async::<f32>::new_sinc(
        to_hz as f64 / from_hz as f64,
        1.0,
        &sinc_parameters(),
        chunk,
        1,
        FixedAsync::Input,
    )
    .map_err(|e| {
        AudioError::InvalidSetting(format!("cannot convert {from_hz} Hz to {to_hz} Hz: {e}"))
    })
}

/// A mono streaming converter from one rate to another; a plain copy when both are equal.
pub struct StreamResampler {
    inner: Option<Async<f32>>,
    chunk: usize,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    output: VecDeque<f32>,
    delay_frames: usize,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("chunk", &self.chunk)
            .field("pending", &self.pending.len())
            .field("output", &self.output.len())
            .finish()
    }
}

impl StreamResampler {
    /// A converter from `from_hz` to `to_hz`, consuming input in chunks of 10 ms.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, AudioError> {
        if from_hz == 0 || to_hz == 0 {
            return Err(AudioError::InvalidSetting(format!(
                "a sample rate of {from_hz} Hz or {to_hz} Hz is not usable"
            )));
        }
        let chunk = (from_hz as usize / 100).max(1);
        let (inner, scratch_len, delay_frames) = if from_hz == to_hz {
            (None, 0, 0)
        } else {
            let resampler = build(from_hz, to_hz, chunk)?;
            let max = resampler.output_frames_max();
            let delay = resampler.output_delay();
            (Some(resampler), max, delay)
        };
        Ok(Self {
            inner,
            chunk,
            pending: Vec::with_capacity(chunk),
            scratch: vec![0.0; scratch_len],
            // Room for a few hundred milliseconds of backlog without growing.
            output: VecDeque::with_capacity(to_hz as usize / 2),
            delay_frames,
        })
    }

    /// The converter's own delay, in output samples.
    pub fn delay_frames(&self) -> usize {
        self.delay_frames
    }

    /// Feeds input samples.
    pub fn push(&mut self, input: &[f32]) {
        let Some(inner) = self.inner.as_mut() else {
            self.output.extend(input);
            return;
        };
        let mut rest = input;
        while !rest.is_empty() {
            let take = (self.chunk - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == self.chunk {
                let scratch_len = self.scratch.len();
                let produced = match (
                    InterleavedSlice::new(&self.pending[..], 1, self.chunk),
                    InterleavedSlice::new_mut(&mut self.scratch[..], 1, scratch_len),
                ) {
                    (Ok(input), Ok(mut output)) => inner
                        .process_into_buffer(&input, &mut output, None)
                        .map(|(_, produced)| produced)
                        .unwrap_or(0),
                    _ => 0,
                };
                self.output.extend(&self.scratch[..produced]);
                self.pending.clear();
            }
        }
    }

    /// Samples ready to be taken.
    pub fn available(&self) -> usize {
        self.output.len()
    }

    /// Takes exactly `out.len()` samples if that many are ready; returns whether it did.
    pub fn pop_exact(&mut self, out: &mut [f32]) -> bool {
        if self.output.len() < out.len() {
            return false;
        }
        let wanted = out.len();
        for (o, s) in out.iter_mut().zip(self.output.drain(..wanted)) {
            *o = s;
        }
        true
    }
}

/// Converts a whole mono clip from `from_hz` to `to_hz`, delay trimmed, length scaled.
pub fn resample_all(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, AudioError> {
    if from_hz == to_hz {
        return Ok(input.to_vec());
    }
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let mut resampler = build(from_hz, to_hz, 1024)?;
    let needed = resampler.process_all_needed_output_len(input.len());
    let mut output = vec![0.0f32; needed];
    let failed = |e: &dyn std::fmt::Display| {
        AudioError::InvalidSetting(format!("cannot convert {from_hz} Hz to {to_hz} Hz: {e}"))
    };
    let input_adapter = InterleavedSlice::new(input, 1, input.len()).map_err(|e| failed(&e))?;
    let mut output_adapter =
        InterleavedSlice::new_mut(&mut output[..], 1, needed).map_err(|e| failed(&e))?;
    let (_, produced) = resampler
        .process_all_into_buffer(&input_adapter, &mut output_adapter, input.len(), None)
        .map_err(|e| failed(&e))?;
    output.truncate(produced);
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f32, samples: usize) -> Vec<f32> {
        (0..samples)
            .map(|i| 0.5 * (i as f32 * 2.0 * std::f32::consts::PI * freq / rate as f32).sin())
            .collect()
    }

    /// Frequency estimate by counting rising zero crossings.
    fn frequency(signal: &[f32], rate: u32) -> f32 {
        let crossings = signal
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        crossings as f32 * rate as f32 / signal.len() as f32
    }

    #[test]
    fn clip_keeps_pitch_and_length() {
        let input = sine(44_100, 1000.0, 44_100);
        let output = resample_all(&input, 44_100, 48_000).expect("resample");
        assert!(
            (output.len() as i64 - 48_000).abs() <= 2,
            "len {}",
            output.len()
        );
        let f = frequency(&output[2000..46_000], 48_000);
        assert!((f - 1000.0).abs() < 3.0, "frequency {f}");
        let peak = output[2000..46_000]
            .iter()
            .fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((peak - 0.5).abs() < 0.02, "amplitude {peak}");
    }

    #[test]
    fn stream_conversion_matches_rate_ratio() {
        let mut resampler = StreamResampler::new(16_000, 48_000).expect("resampler");
        let input = sine(16_000, 440.0, 16_000);
        // Odd-sized pushes, as device callbacks deliver them.
        for piece in input.chunks(137) {
            resampler.push(piece);
        }
        let ready = resampler.available();
        assert!((47_000..=48_000).contains(&ready), "ready {ready}");
        let mut out = vec![0.0; ready];
        assert!(resampler.pop_exact(&mut out));
        let f = frequency(&out[2000..], 48_000);
        assert!((f - 440.0).abs() < 2.0, "frequency {f}");
        assert!(!resampler.pop_exact(&mut [0.0; 10]));
    }

    #[test]
    fn same_rate_is_a_copy() {
        let mut resampler = StreamResampler::new(48_000, 48_000).expect("resampler");
        resampler.push(&[0.1, 0.2, 0.3]);
        let mut out = [0.0; 3];
        assert!(resampler.pop_exact(&mut out));
        assert_eq!(out, [0.1, 0.2, 0.3]);
        assert_eq!(resampler.delay_frames(), 0);
    }

    #[test]
    fn zero_rate_is_refused() {
        assert!(StreamResampler::new(0, 48_000).is_err());
    }
}
