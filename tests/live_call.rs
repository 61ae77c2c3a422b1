//! A live Mumble call on the devices: `palabre join LINK` (no `--headless`) under the private
//! PulseAudio null sink of `scripts/test`, with a pymumble peer on a real murmurd. The peer's
//! voice is played on the sink; speech played into the sink (paplay) is palabre's microphone
//! and must reach the peer.

mod common;
#[path = "common/murmur.rs"]
mod murmur;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use murmur::{Murmur, Peer};

fn devices_available() -> bool {
    let required = std::env::var("PALABRE_REQUIRE_DEVICES").is_ok_and(|v| v == "1");
    let server = std::env::var("PULSE_SERVER").is_ok();
    assert!(
        server || !required,
        "PALABRE_REQUIRE_DEVICES=1 but no PULSE_SERVER: run the tests through scripts/test"
    );
    if !server {
        eprintln!("skipped: no PULSE_SERVER (scripts/test starts one)");
    }
    server
}

#[test]
fn a_live_call_plays_the_others_and_sends_the_microphone() {
    if !(devices_available() && Murmur::skip_unless_available() && Peer::skip_unless_available()) {
        return;
    }
    let server = Murmur::builder().channel("Test").start();
    let dir = tempfile::tempdir().expect("tempdir");
    let tone = dir.path().join("tone.wav");
    common::write_tone(&tone, 440.0, 3);
    let record = dir.path().join("py.wav");
    let mut py = server.peer(
        "py",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "live",
            "--send-wav",
            tone.to_str().expect("utf-8"),
            "--send-delay",
            "1",
            "--record-wav",
            record.to_str().expect("utf-8"),
            "--seconds",
            "14",
        ],
    );
    assert!(py.wait_joined(Duration::from_secs(15)).is_some());
    let mut live = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(["join", &format!("mumble://127.0.0.1:{}/Test", server.port)])
        .args(["--name", "live"])
        .env("PALABRE_CONFIG_DIR", dir.path().join("config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start palabre");
    // The peer's tone plays first; then someone speaks into the "room".
    std::thread::sleep(Duration::from_secs(6));
    let mut speaker = Command::new("paplay")
        .arg(common::data("speech_en.wav"))
        .spawn()
        .expect("paplay (pulseaudio-utils) plays into the sink");
    std::thread::sleep(Duration::from_secs(4));
    speaker.kill().ok();
    speaker.wait().ok();
    let mut stdin = live.stdin.take().expect("stdin");
    writeln!(stdin, "say bye").expect("command");
    writeln!(stdin, "leave").expect("command");
    drop(stdin);
    let out = live.wait_with_output().expect("palabre ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let py = py.wait();
    eprintln!(
        "--- palabre stdout\n{stdout}\n--- stderr\n{stderr}\n--- py {}",
        py.json
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("- live (you)"), "no tree shown: {stdout}");
    assert!(stdout.contains("- py"), "{stdout}");
    assert!(stdout.contains("py is speaking."), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON summary");
    assert_eq!(json["channel"], "Test");
    assert!(
        json["voice_packets_received"].as_u64().unwrap_or(0) > 100,
        "{json}"
    );
    assert!(
        json["voice_packets_sent"].as_u64().unwrap_or(0) > 50,
        "{json}"
    );
    assert!(py.received_audio_seconds() > 1.0, "{}", py.describe());
    assert_eq!(py.received_text(), ["bye"], "{}", py.describe());
}
