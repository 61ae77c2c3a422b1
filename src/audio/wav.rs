//! Reading and writing WAV files for headless runs (echo test, bots, tests).
//!
//! Any common WAV layout is accepted (8/16/24/32-bit integer or 32-bit float, any rate, any
//! channel count): it is mixed down to mono and converted to 48 kHz.

use std::path::Path;

use crate::audio::dsp::resample::resample_all;
use crate::audio::{AudioError, SAMPLE_RATE};

fn wav_error(path: &Path, reason: impl std::fmt::Display) -> AudioError {
    AudioError::Wav {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Plain words for hound's errors.
fn explain(e: hound::Error) -> String {
    match e {
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::NotFound => {
            "the file does not exist".to_owned()
        }
        hound::Error::IoError(io) => io.to_string(),
        hound::Error::FormatError(what) => format!("it is not a valid WAV file ({what})"),
        hound::Error::Unsupported => {
            "its sample format is not supported (use 8, 16, 24 or 32-bit PCM or 32-bit float)"
                .to_owned()
        }
        other => other.to_string(),
    }
}

/// Reads a WAV file as 48 kHz mono `f32` in [-1, 1].
pub fn read_mono_48k(path: &Path) -> Result<Vec<f32>, AudioError> {
    let reader = hound::WavReader::open(path).map_err(|e| wav_error(path, explain(e)))?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(wav_error(
            path,
            "its header declares no channel or a zero sample rate",
        ));
    }
    if !(1_000..=768_000).contains(&spec.sample_rate) {
        return Err(wav_error(
            path,
            format!(
                "its sample rate of {} Hz is not a sound rate",
                spec.sample_rate
            ),
        ));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| wav_error(path, explain(e)))?,
        hound::SampleFormat::Int => {
            if !(1..=32).contains(&spec.bits_per_sample) {
                return Err(wav_error(path, explain(hound::Error::Unsupported)));
            }
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| wav_error(path, explain(e)))?
        }
    };
    let channels = spec.channels as usize;
    let mono: Vec<f32> = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    resample_all(&mono, spec.sample_rate, SAMPLE_RATE)
}

/// Writes 48 kHz mono samples as a 16-bit PCM WAV file.
pub fn write_mono_48k(path: &Path, samples: &[f32]) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer =
        hound::WavWriter::create(path, spec).map_err(|e| wav_error(path, explain(e)))?;
    for sample in samples {
        let value = (sample.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16;
        writer
            .write_sample(value)
            .map_err(|e| wav_error(path, explain(e)))?;
    }
    writer.finalize().map_err(|e| wav_error(path, explain(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_44k_float_becomes_mono_48k() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut writer = hound::WavWriter::create(&path, spec).expect("create");
        for i in 0..44_100 {
            let s = 0.5 * (i as f32 * 2.0 * std::f32::consts::PI * 500.0 / 44_100.0).sin();
            writer.write_sample(s).expect("left");
            writer
                .write_sample(-s)
                .expect("right: cancels the left once mixed down");
        }
        writer.finalize().expect("finalize");
        let mono = read_mono_48k(&path).expect("read");
        assert!((mono.len() as i64 - 48_000).abs() <= 2);
        assert!(mono.iter().all(|s| s.abs() < 1e-3));
    }

    #[test]
    fn round_trip_16_bit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rt.wav");
        let samples: Vec<f32> = (0..4800)
            .map(|i| ((i % 100) as f32 - 50.0) / 100.0)
            .collect();
        write_mono_48k(&path, &samples).expect("write");
        let back = read_mono_48k(&path).expect("read");
        assert_eq!(back.len(), samples.len());
        for (a, b) in samples.iter().zip(&back) {
            assert!((a - b).abs() < 1e-4);
        }
    }

    #[test]
    fn garbage_and_missing_files_are_explained() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.wav");
        std::fs::write(&path, b"this is not a wav file at all").expect("write");
        let err = read_mono_48k(&path).expect_err("garbage").to_string();
        assert!(err.contains("not a valid WAV file"), "{err}");
        let err = read_mono_48k(&dir.path().join("none.wav"))
            .expect_err("missing")
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
