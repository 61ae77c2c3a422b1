//! `palabre echo-test` end to end on files: a speech WAV through the whole call chain comes
//! back time-aligned and close to what went in, with and without packet loss.

mod common;

use std::path::Path;
use std::process::Command;

use palabre::audio::wav::read_mono_48k;

struct Run {
    summary: serde_json::Value,
    alignment: common::Alignment,
    stderr: String,
}

fn echo_test(extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = common::data("speech_en.wav");
    let output = dir.path().join("out.wav");
    let result = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .arg("echo-test")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(extra)
        .output()
        .expect("run palabre");
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert!(
        result.status.success(),
        "echo-test {extra:?} failed: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    let last = stdout.lines().last().expect("a JSON line");
    let summary: serde_json::Value = serde_json::from_str(last).expect("valid JSON summary");
    let reference = read_mono_48k(&input).expect("input");
    let degraded = read_mono_48k(&output).expect("output");
    assert!(
        degraded.len() >= reference.len(),
        "output shorter than input"
    );
    let alignment = common::align(&reference, &degraded, 48_000 / 2);
    eprintln!("{extra:?}: {alignment:?} {summary}");
    Run {
        summary,
        alignment,
        stderr,
    }
}

fn field(run: &Run, name: &str) -> f64 {
    run.summary[name]
        .as_f64()
        .unwrap_or_else(|| panic!("summary lacks {name}: {}", run.summary))
}

#[test]
fn speech_comes_back_aligned_and_close_without_loss() {
    let run = echo_test(&[]);
    assert!(
        run.alignment.spectral > 0.85,
        "correlation {:?}",
        run.alignment
    );
    // The delay the chain reports is the delay measured in the file, within 5 ms.
    let measured_ms = run.alignment.delay_samples as f64 / 48.0;
    let reported_ms = field(&run, "chain_delay_ms");
    assert!(
        (measured_ms - reported_ms).abs() <= 5.0,
        "measured {measured_ms} ms, reported {reported_ms} ms"
    );
    assert!(
        measured_ms < 80.0,
        "a clean link adds little delay: {measured_ms} ms"
    );
    assert_eq!(field(&run, "packets_lost"), 0.0);
    assert!(field(&run, "packets_sent") > 100.0);
    assert!(run.stderr.is_empty() || !run.stderr.contains("panicked"));
}

#[test]
fn speech_survives_loss_with_fec_and_jitter() {
    let run = echo_test(&["--loss", "0.1", "--jitter-ms", "30", "--seed", "7"]);
    let sent = field(&run, "packets_sent");
    let lost = field(&run, "packets_lost");
    assert!(
        (0.05..0.15).contains(&(lost / sent)),
        "lost {lost} of {sent}"
    );
    assert!(
        field(&run, "packets_recovered_fec") > 0.0,
        "FEC recovered nothing: {}",
        run.summary
    );
    assert!(field(&run, "mean_jitter_delay_ms") >= 20.0);
    assert!(
        run.alignment.spectral > 0.6,
        "correlation {:?}",
        run.alignment
    );
}

#[test]
fn fec_is_what_recovers_lost_packets() {
    let with = echo_test(&["--loss", "0.1", "--seed", "3"]);
    let without = echo_test(&["--loss", "0.1", "--seed", "3", "--no-fec"]);
    assert!(
        field(&with, "packets_recovered_fec") > 0.0,
        "{}",
        with.summary
    );
    assert_eq!(
        field(&without, "packets_recovered_fec"),
        0.0,
        "{}",
        without.summary
    );
    assert!(
        field(&without, "frames_concealed") > field(&with, "frames_concealed"),
        "without FEC more is concealed: {} vs {}",
        without.summary,
        with.summary
    );
}

#[test]
fn every_preset_and_frame_size_round_trips() {
    for args in [
        &["--preset", "sober"][..],
        &["--preset", "high"],
        &["--frame-ms", "10"],
        &["--frame-ms", "60", "--bitrate", "12"],
        &["--no-gate", "--no-denoise", "--no-aec"],
    ] {
        let run = echo_test(args);
        assert!(
            run.alignment.spectral > 0.7,
            "{args:?}: {:?}",
            run.alignment
        );
    }
}

fn failing(args: &[&str]) -> String {
    let result = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(args)
        .output()
        .expect("run palabre");
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert!(!result.status.success(), "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    stderr
}

#[test]
fn bad_input_is_explained_in_plain_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o.wav");
    let out = out.to_str().expect("utf-8 path");
    let missing = failing(&[
        "echo-test",
        "--input",
        "/nonexistent/speech.wav",
        "--output",
        out,
    ]);
    assert!(missing.contains("does not exist"), "{missing}");
    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, vec![0x42u8; 4096]).expect("write");
    let garbage = failing(&[
        "echo-test",
        "--input",
        garbage.to_str().expect("utf-8"),
        "--output",
        out,
    ]);
    assert!(garbage.contains("not a valid WAV file"), "{garbage}");
    let input = common::data("speech_en.wav");
    let input = input.to_str().expect("utf-8");
    let bitrate = failing(&[
        "echo-test",
        "--input",
        input,
        "--output",
        out,
        "--bitrate",
        "500",
    ]);
    assert!(bitrate.contains("kbit/s"), "{bitrate}");
    let loss = failing(&[
        "echo-test",
        "--input",
        input,
        "--output",
        out,
        "--loss",
        "1.5",
    ]);
    assert!(loss.contains("--loss"), "{loss}");
    let frame = failing(&[
        "echo-test",
        "--input",
        input,
        "--output",
        out,
        "--frame-ms",
        "25",
    ]);
    assert!(frame.contains("10, 20, 40 or 60"), "{frame}");
    // Nothing was written for runs that failed.
    assert!(!Path::new(out).exists(), "a failed run left {out}");
}

/// The measure the Jitsi tests use (`common::spectral_by_parts`): the same speech passes even
/// when its delay moves during the file, other speech does not.
#[test]
fn speech_similarity_by_parts_follows_a_moving_delay_and_tells_other_speech_apart() {
    let en = read_mono_48k(&common::data("speech_en.wav")).expect("speech");
    let fr = read_mono_48k(&common::data("speech_fr.wav")).expect("speech");
    // The English speech 300 ms late, then 420 ms late from the middle on (120 ms of silence
    // inserted, as a jitter buffer growing under a burst).
    let half = en.len() / 2;
    let mut moved = vec![0.0f32; 14_400];
    moved.extend_from_slice(&en[..half]);
    moved.extend(std::iter::repeat_n(0.0, 5_760));
    moved.extend_from_slice(&en[half..]);
    let once = common::align(&en, &moved, 48_000);
    let parts = common::spectral_by_parts(&en, &moved, once.delay_samples, 2_000, 300);
    let other = common::spectral_by_parts(&en, &fr, 0, 2_000, 300);
    eprintln!(
        "one alignment {:.3}, by parts {parts:.3}, other speech {other:.3}",
        once.spectral
    );
    assert!(parts > 0.95, "{parts}");
    assert!(parts > once.spectral + 0.05, "{parts} vs {}", once.spectral);
    assert!(other < 0.7, "{other}");
}
