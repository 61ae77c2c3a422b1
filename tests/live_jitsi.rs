//! A live Jitsi Meet call on the devices: `palabre join http://…/Room` (no `--headless`) under
//! the private PulseAudio null sink of `scripts/test`, against Prosody and the stand-in, with a
//! headless palabre as the other participant. Speech played into the sink (paplay) is the live
//! client's microphone and must reach the other participant.

mod common;
#[path = "common/jitsi.rs"]
mod jitsi;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use jitsi::JitsiEnv;

#[test]
fn a_live_jitsi_call_sends_the_microphone_and_chats() {
    let required = std::env::var("PALABRE_REQUIRE_DEVICES").is_ok_and(|v| v == "1");
    let sound = std::env::var("PULSE_SERVER").is_ok();
    assert!(
        sound || !required,
        "PALABRE_REQUIRE_DEVICES=1 but no PULSE_SERVER: run the tests through scripts/test"
    );
    if !sound {
        eprintln!("skipped: no PULSE_SERVER (scripts/test starts one)");
        return;
    }
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Live");
    let peer = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args([
            "join",
            &link,
            "--headless",
            "--name",
            "Peer",
            "--seconds",
            "22",
        ])
        .env("PALABRE_CONFIG_DIR", dir.path().join("peer"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the peer");
    let mut live = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(["join", &link, "--name", "live"])
        .env("PALABRE_CONFIG_DIR", dir.path().join("live"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start palabre");
    // Once the audio is up, someone speaks into the "room".
    env.wait_for(Duration::from_secs(30), |e| e["event"] == "session-accept")
        .unwrap_or_else(|| panic!("no session-accept: {}", env.log()));
    std::thread::sleep(Duration::from_secs(4));
    let mut speaker = Command::new("paplay")
        .arg(common::data("speech_en.wav"))
        .spawn()
        .expect("paplay (pulseaudio-utils) plays into the sink");
    std::thread::sleep(Duration::from_secs(5));
    speaker.kill().ok();
    speaker.wait().ok();
    let mut stdin = live.stdin.take().expect("stdin");
    writeln!(stdin, "say bye").expect("command");
    std::thread::sleep(Duration::from_millis(500));
    writeln!(stdin, "leave").expect("command");
    drop(stdin);
    let out = live.wait_with_output().expect("palabre ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peer = peer.wait_with_output().expect("the peer ends");
    let peer_json: serde_json::Value = String::from_utf8_lossy(&peer.stdout)
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or(serde_json::Value::Null);
    eprintln!(
        "--- palabre stdout\n{stdout}\n--- stderr\n{stderr}\n--- peer {peer_json}\n{}",
        String::from_utf8_lossy(&peer.stderr)
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("In the meeting"), "{stdout}");
    assert!(stdout.contains("Peer joined."), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON summary");
    assert_eq!(json["joined"], true, "{json}");
    assert_eq!(json["left"], true, "{json}");
    assert_eq!(peer_json["texts"][0]["message"], "bye", "{peer_json}");
    assert!(
        peer_json["traffic"]["audio_packets_received"]
            .as_u64()
            .unwrap_or(0)
            > 50,
        "the live microphone did not reach the peer: {peer_json}"
    );
}
