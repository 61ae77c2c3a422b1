//! Helpers shared by the integration tests: signal alignment and similarity.
#![allow(dead_code)]

use std::path::PathBuf;

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// Writes `seconds` of a sine at `hz`, amplitude 0.3, as a 48 kHz mono WAV: a peer's voice that
/// any level meter or speaking indicator notices.
pub fn write_tone(path: &std::path::Path, hz: f32, seconds: usize) {
    let samples: Vec<f32> = (0..48_000 * seconds)
        .map(|i| 0.3 * (2.0 * std::f32::consts::PI * hz * i as f32 / 48_000.0).sin())
        .collect();
    palabre::audio::wav::write_mono_48k(path, &samples).expect("tone");
}

/// Path of a file under `tests/data`.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// How `degraded` relates to `reference`: the delay (in samples) that best aligns them, the
/// normalised waveform correlation once aligned, and the similarity of their spectrograms.
///
/// The echo canceller's band-splitting filters keep the spectrum but not the phase (they may even
/// flip the polarity), so the waveform correlation says little about what a listener hears; the
/// spectral similarity (correlation of log-magnitude spectrograms over the frames where the
/// reference has speech) does.
#[derive(Debug, Clone, Copy)]
pub struct Alignment {
    pub delay_samples: usize,
    pub correlation: f64,
    pub spectral: f64,
}

/// Finds the delay in `0..=max_delay` samples of `degraded` relative to `reference` by FFT
/// cross-correlation, then measures the correlation coefficient after alignment.
pub fn align(reference: &[f32], degraded: &[f32], max_delay: usize) -> Alignment {
    let n = (reference.len() + degraded.len()).next_power_of_two();
    let mut planner = FftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n);
    let inverse = planner.plan_fft_inverse(n);
    let mut a: Vec<Complex<f64>> = reference
        .iter()
        .map(|s| Complex::new(*s as f64, 0.0))
        .collect();
    a.resize(n, Complex::new(0.0, 0.0));
    let mut b: Vec<Complex<f64>> = degraded
        .iter()
        .map(|s| Complex::new(*s as f64, 0.0))
        .collect();
    b.resize(n, Complex::new(0.0, 0.0));
    forward.process(&mut a);
    forward.process(&mut b);
    let mut product: Vec<Complex<f64>> = a.iter().zip(&b).map(|(x, y)| x.conj() * y).collect();
    inverse.process(&mut product);
    // Polarity may be flipped: take the strongest peak either way.
    let delay_samples = (0..=max_delay.min(n - 1))
        .max_by(|i, j| product[*i].re.abs().total_cmp(&product[*j].re.abs()))
        .unwrap_or(0);
    let aligned = &degraded[delay_samples.min(degraded.len())..];
    Alignment {
        delay_samples,
        correlation: correlation(reference, aligned),
        spectral: spectral_similarity(reference, aligned),
    }
}

/// Log-magnitude spectrogram (20 ms Hann windows, 10 ms hop, 0–8 kHz at 48 kHz), in dB.
fn log_spectrogram(signal: &[f32]) -> Vec<Vec<f64>> {
    const WINDOW: usize = 960;
    const HOP: usize = 480;
    const BINS: usize = 160;
    let mut planner = FftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(WINDOW);
    let hann: Vec<f64> = (0..WINDOW)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / WINDOW as f64).cos())
        .collect();
    let mut frames = Vec::new();
    let mut start = 0;
    while start + WINDOW <= signal.len() {
        let mut buffer: Vec<Complex<f64>> = signal[start..start + WINDOW]
            .iter()
            .zip(&hann)
            .map(|(s, w)| Complex::new(*s as f64 * w, 0.0))
            .collect();
        fft.process(&mut buffer);
        frames.push(
            buffer[1..=BINS]
                .iter()
                .map(|c| 10.0 * (c.norm_sqr() + 1e-9).log10())
                .collect(),
        );
        start += HOP;
    }
    frames
}

/// Correlation of the two log spectrograms over the frames where `reference` is within 40 dB
/// of its loudest frame.
pub fn spectral_similarity(reference: &[f32], degraded: &[f32]) -> f64 {
    let a = log_spectrogram(reference);
    let b = log_spectrogram(degraded);
    let energy = |frame: &Vec<f64>| frame.iter().cloned().fold(f64::MIN, f64::max);
    let loudest = a.iter().map(energy).fold(f64::MIN, f64::max);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (fa, fb) in a.iter().zip(&b) {
        if energy(fa) > loudest - 40.0 {
            x.extend(fa.iter().map(|v| *v as f32));
            y.extend(fb.iter().map(|v| *v as f32));
        }
    }
    correlation(&x, &y)
}

/// The spectral similarity of `degraded` to `reference` when each part of `parts_ms` of the
/// reference may sit up to `slack_ms` (in 10 ms steps) away from `delay_samples`: a receiver's
/// jitter buffer may move the delay during a call (it grows under bursts, shrinks after), which a
/// single alignment over the whole file counts as a mismatch. Parts without speech (none of
/// their frames within 40 dB of the reference's loudest) are left out; the figure is the mean
/// over the others.
pub fn spectral_by_parts(
    reference: &[f32],
    degraded: &[f32],
    delay_samples: usize,
    parts_ms: usize,
    slack_ms: usize,
) -> f64 {
    const HOP_MS: usize = 10;
    let slack = slack_ms / HOP_MS;
    let start = delay_samples
        .saturating_sub(slack * 480)
        .min(degraded.len());
    // Frame `i` of the reference lines up with frame `i + lead` of `b` at the global delay;
    // `lead` is at most `slack`, so shifts from 0 cover `slack` frames earlier.
    let lead = (delay_samples - start) / 480;
    let a = log_spectrogram(reference);
    let b = log_spectrogram(&degraded[start..]);
    let energy = |frame: &Vec<f64>| frame.iter().cloned().fold(f64::MIN, f64::max);
    let loudest = a.iter().map(energy).fold(f64::MIN, f64::max);
    let part = parts_ms / HOP_MS;
    let mut scores = Vec::new();
    for first in (0..a.len()).step_by(part.max(1)) {
        let frames = first..(first + part).min(a.len());
        let speech: Vec<usize> = frames.filter(|i| energy(&a[*i]) > loudest - 40.0).collect();
        if speech.is_empty() {
            continue;
        }
        let best = (0..=lead + slack)
            .map(|shift| {
                let (mut x, mut y) = (Vec::new(), Vec::new());
                for i in &speech {
                    if let Some(fb) = b.get(i + shift) {
                        x.extend(a[*i].iter().map(|v| *v as f32));
                        y.extend(fb.iter().map(|v| *v as f32));
                    }
                }
                correlation(&x, &y)
            })
            .fold(f64::MIN, f64::max);
        scores.push(best);
    }
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().sum::<f64>() / scores.len() as f64
}

/// Pearson correlation over the common length.
pub fn correlation(x: &[f32], y: &[f32]) -> f64 {
    let len = x.len().min(y.len());
    if len == 0 {
        return 0.0;
    }
    let (x, y) = (&x[..len], &y[..len]);
    let mean = |v: &[f32]| v.iter().map(|s| *s as f64).sum::<f64>() / len as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (a, b) = (*a as f64 - mx, *b as f64 - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if sxx == 0.0 || syy == 0.0 {
        return 0.0;
    }
    sxy / (sxx * syy).sqrt()
}
