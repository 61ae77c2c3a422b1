//! The whole window in a Jitsi Meet call: the real `PalabreApp` (state, view, glue, audio engine
//! on the PulseAudio null sink, Jitsi driver) driven through AccessKit by egui_kittest, against
//! real Prosody and the stand-in for jicofo and the videobridge, with a headless palabre as the
//! other participant. Needs `scripts/test` (sound server, Prosody, the stand-in's venv).

mod common;
#[path = "common/jitsi.rs"]
mod jitsi;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use jitsi::JitsiEnv;
use palabre::conference::Stage;
use palabre::config::{Language, Settings};
use palabre::ui::PalabreApp;

fn available() -> bool {
    let required = std::env::var("PALABRE_REQUIRE_DEVICES").is_ok_and(|v| v == "1");
    let sound = std::env::var("PULSE_SERVER").is_ok();
    assert!(
        sound || !required,
        "PALABRE_REQUIRE_DEVICES=1 but no PULSE_SERVER: run the tests through scripts/test"
    );
    if !sound {
        eprintln!("skipped: no PULSE_SERVER (scripts/test starts one)");
        return false;
    }
    JitsiEnv::skip_unless_available()
}

fn step_until(
    harness: &mut Harness<'_, PalabreApp>,
    limit: Duration,
    what: &str,
    done: impl Fn(&PalabreApp) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(harness.state()) {
        assert!(
            Instant::now() < deadline,
            "the window never reached: {what}; state: {:?}",
            harness.state().state().call
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    harness.step();
}

/// A headless palabre named Peer in the meeting at `link` (settings in `config`), with
/// `args`; its standard input takes control lines.
fn headless_peer(link: &str, config: &std::path::Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(["join", link, "--headless", "--name", "Peer"])
        .args(args)
        .env("PALABRE_CONFIG_DIR", config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the peer")
}

/// The real window (engine on the sound server) opened on `link` with `settings`, saving into
/// `config`, with Join clicked.
fn window_joining(
    link: &str,
    settings: Settings,
    config: std::path::PathBuf,
) -> Harness<'static, PalabreApp> {
    let link = link.to_owned();
    let mut harness = Harness::builder()
        .with_size(eframe::egui::Vec2::new(900.0, 640.0))
        .build_eframe(move |cc| {
            PalabreApp::new(
                &cc.egui_ctx,
                settings,
                Some(config),
                None,
                Some(link),
                |wake| palabre::audio::engine::spawn(Default::default(), None, None, wake),
            )
        });
    harness.step();
    harness.step();
    harness.get_by_label("Join").click();
    harness
}

#[test]
fn the_window_joins_a_jitsi_meeting_and_talks() {
    if !available() {
        return;
    }
    let env = JitsiEnv::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Window");
    // The other participant: a headless palabre with the speech, who waits for the window.
    let speech = common::data("speech_en.wav");
    let speech = speech.to_str().expect("utf-8");
    let mut peer = headless_peer(
        &link,
        &dir.path().join("peer"),
        &[
            "--no-gate",
            "--input",
            speech,
            "--wait-for",
            "Anaïs",
            "--seconds",
            "20",
        ],
    );

    let settings = Settings {
        language: Language::En,
        display_name: "Anaïs".to_owned(),
        ..Settings::default()
    };
    let mut harness = window_joining(&link, settings, dir.path().join("config"));
    step_until(
        &mut harness,
        Duration::from_secs(30),
        "in the meeting with Peer",
        |app| {
            app.state().call.stage == Stage::Connected
                && app
                    .state()
                    .call
                    .participants
                    .iter()
                    .any(|p| p.name == "Peer")
        },
    );
    let peer_id = harness
        .state()
        .state()
        .call
        .participants
        .iter()
        .find(|p| p.name == "Peer")
        .map(|p| p.id)
        .expect("Peer");
    // The peer's speech is played: the window shows them speaking, through AccessKit.
    step_until(
        &mut harness,
        Duration::from_secs(20),
        "Peer speaking",
        |app| app.state().call.speaking.contains(&peer_id),
    );
    harness.get_by_label("Peer is speaking");
    // Chat both ways.
    if let Some(stdin) = peer.stdin.as_mut() {
        writeln!(stdin, "say bonjour la fenêtre").ok();
        stdin.flush().ok();
    }
    step_until(
        &mut harness,
        Duration::from_secs(10),
        "Peer's message",
        |app| {
            app.state()
                .call
                .chat
                .iter()
                .any(|m| m.text == "bonjour la fenêtre")
        },
    );
    harness.get_by_label("Chat (1)").click();
    for _ in 0..3 {
        harness.step();
    }
    harness.get_by_label("Message").focus();
    harness.step();
    harness
        .get_by_label("Message")
        .type_text("hello from the window");
    harness.step();
    harness.get_by_label("Send").click();
    harness.step();
    std::thread::sleep(Duration::from_millis(500));
    harness.step();
    harness.get_by_label("Leave").click();
    step_until(&mut harness, Duration::from_secs(10), "ended", |app| {
        matches!(app.state().call.stage, Stage::Ended { failed: false, .. })
    });
    let out = peer.wait_with_output().expect("the peer ends");
    let json: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or(serde_json::Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{json}\n{stderr}");
    assert_eq!(
        json["texts"][0]["message"], "hello from the window",
        "{json}\n{stderr}"
    );
    assert_eq!(json["texts"][0]["from"], "Anaïs");
    assert!(
        json["participants_seen"]
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n == "Anaïs")),
        "{json}"
    );
}

/// Video from the window: joined audio only (the default), then "Audio only" unticked in the
/// call shows the camera bot's tile; the camera (the test picture, chosen in the settings) is
/// turned on, shows the user's own tile and reaches the bridge, which decodes it with aiortc;
/// "Audio only" ticked again removes the tiles, turns the camera off and tells the bridge.
#[test]
fn the_window_turns_video_on_and_off_in_a_meeting() {
    if !available() {
        return;
    }
    let env = JitsiEnv::start(&["--video-bot"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Window-Video");
    // Jingle starts with two participants (the bot does not count): a headless peer.
    let mut peer = headless_peer(&link, &dir.path().join("peer"), &["--seconds", "40"]);
    let settings = Settings {
        language: Language::En,
        display_name: "Anaïs".to_owned(),
        camera: Some("test-pattern".to_owned()),
        ..Settings::default()
    };
    let mut harness = window_joining(&link, settings, dir.path().join("config"));
    step_until(
        &mut harness,
        Duration::from_secs(30),
        "in the meeting with the camera bot",
        |app| {
            app.state().call.stage == Stage::Connected
                && app
                    .state()
                    .call
                    .participants
                    .iter()
                    .any(|p| p.name == "Camera bot")
        },
    );
    let bot = harness
        .state()
        .state()
        .call
        .participants
        .iter()
        .find(|p| p.name == "Camera bot")
        .map(|p| p.id)
        .expect("the bot");
    let endpoint = env
        .wait_for(Duration::from_secs(10), |e| {
            e["event"] == "participant-joined" && e["nick"] == "Anaïs"
        })
        .and_then(|e| e["endpoint"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("the window's endpoint: {}", env.log()));
    // Audio only: no tile, the camera button disabled.
    std::thread::sleep(Duration::from_secs(2));
    harness.step();
    assert!(harness.state().state().call.videos.is_empty());
    assert!(
        harness
            .get_by_label("Turn camera on")
            .accesskit_node()
            .is_disabled()
    );
    harness.get_by_label("Audio only").click();
    step_until(
        &mut harness,
        Duration::from_secs(15),
        "the bot's tile",
        |app| app.state().call.videos.contains_key(&bot),
    );
    harness.get_by_label("Camera of Camera bot");
    harness.get_by_label("Turn camera on").click();
    step_until(
        &mut harness,
        Duration::from_secs(15),
        "our own tile",
        |app| app.state().call.camera_on && app.state().call.videos.contains_key(&0),
    );
    harness.get_by_label("Camera of Anaïs");
    let decoded = env
        .wait_for(Duration::from_secs(20), |e| {
            e["event"] == "video-decoded" && e["endpoint"] == endpoint.as_str() && e["frames"] == 30
        })
        .unwrap_or_else(|| {
            panic!(
                "the bridge decoded none of the window's video: {}",
                env.log()
            )
        });
    assert_eq!(
        (decoded["width"].as_u64(), decoded["height"].as_u64()),
        (Some(640), Some(360))
    );
    // The others were told the camera is on (presence), and off again below.
    harness.get_by_label("Audio only").click();
    for _ in 0..3 {
        harness.step();
    }
    let call = &harness.state().state().call;
    assert!(call.videos.is_empty() && !call.camera_on);
    assert!(
        harness
            .get_by_label("Turn camera on")
            .accesskit_node()
            .is_disabled()
    );
    // What the window told the bridge, in order: nothing, then 4 cameras at 360, then nothing.
    let constraints = |env: &JitsiEnv| -> Vec<i64> {
        env.bridge_messages(&endpoint, "ReceiverVideoConstraints")
            .into_iter()
            .filter_map(|e| e["message"]["lastN"].as_i64())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while constraints(&env) != [0, 4, 0] {
        assert!(
            Instant::now() < deadline,
            "constraints: {:?}",
            constraints(&env)
        );
        std::thread::sleep(Duration::from_millis(100));
        harness.step();
    }
    harness.get_by_label("Leave").click();
    step_until(&mut harness, Duration::from_secs(10), "ended", |app| {
        matches!(app.state().call.stage, Stage::Ended { failed: false, .. })
    });
    peer.kill().ok();
    peer.wait().ok();
}
