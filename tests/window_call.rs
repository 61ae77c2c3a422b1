//! The whole window in a Mumble call: the real `PalabreApp` (state, view, glue, audio engine on
//! the PulseAudio null sink, Mumble driver) driven through AccessKit by egui_kittest, against a
//! real murmurd with a pymumble peer. Needs `scripts/test` (sound server, murmurd, peer venv).

mod common;
#[path = "common/murmur.rs"]
mod murmur;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use murmur::{Murmur, Peer};
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
    Murmur::skip_unless_available() && Peer::skip_unless_available()
}

/// Steps the window until `done` says so, or fails after `limit` with `what`.
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

/// The whole window as Anaïs with `settings` (its engine on the same audio settings, on the
/// default devices), opened on the link of `server`'s channel Test: Join clicked, stepped until
/// connected with py in the roster. `keys_on`: the X display where keys held in other windows
/// are seen.
fn join_as_anais(
    server: &Murmur,
    settings: Settings,
    config: std::path::PathBuf,
    keys_on: Option<String>,
) -> Harness<'static, PalabreApp> {
    let link = format!("mumble://127.0.0.1:{}/Test", server.port);
    let audio = settings.audio.clone();
    let mut harness = Harness::builder()
        .with_size(eframe::egui::Vec2::new(900.0, 640.0))
        .build_eframe(move |cc| {
            let mut app = PalabreApp::new(
                &cc.egui_ctx,
                settings,
                Some(config),
                None,
                Some(link),
                |wake| palabre::audio::engine::spawn(audio, None, None, wake),
            );
            if keys_on.is_some() {
                app.watch_keys_on(keys_on);
            }
            app
        });
    harness.step();
    harness.step();
    harness.get_by_label("Join").click();
    step_until(&mut harness, Duration::from_secs(20), "connected", |app| {
        app.state().call.stage == Stage::Connected
            && app.state().call.participants.iter().any(|p| p.name == "py")
    });
    harness
}

#[test]
fn the_window_joins_a_mumble_channel_and_talks() {
    if !available() {
        return;
    }
    let server = Murmur::builder().channel("Test").start();
    let dir = tempfile::tempdir().expect("tempdir");
    let tone = dir.path().join("tone.wav");
    common::write_tone(&tone, 330.0, 4);
    let mut py = server.peer(
        "py",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "Anaïs",
            "--send-wav",
            tone.to_str().expect("utf-8"),
            "--send-delay",
            "2",
            "--say",
            "bonjour la fenêtre",
            "--expect-text",
            "hello from the window",
            "--seconds",
            "10",
        ],
    );
    assert!(py.wait_joined(Duration::from_secs(15)).is_some());

    let settings = Settings {
        language: Language::En,
        display_name: "Anaïs".to_owned(),
        ..Settings::default()
    };
    // `palabre LINK` opens the before-joining screen with the remembered name.
    let mut harness = join_as_anais(&server, settings, dir.path().join("config"), None);
    let state = harness.state().state();
    let me = state
        .call
        .participants
        .iter()
        .find(|p| p.you)
        .expect("we are in the roster");
    let py_id = state
        .call
        .participants
        .iter()
        .find(|p| p.name == "py")
        .map(|p| p.id)
        .expect("py");
    assert_eq!(me.name, "Anaïs");
    let test_room = state
        .call
        .rooms
        .iter()
        .find(|room| room.name == "Test")
        .map(|room| room.id);
    assert_eq!(me.room, test_room, "landed in the link's channel");

    // py's tone is played: the window shows them speaking, through AccessKit.
    step_until(
        &mut harness,
        Duration::from_secs(15),
        "py speaking",
        |app| app.state().call.speaking.contains(&py_id),
    );
    harness.get_by_label("py is speaking");
    // py's message arrives; ours goes out.
    step_until(
        &mut harness,
        Duration::from_secs(10),
        "py's message",
        |app| {
            app.state()
                .call
                .chat
                .iter()
                .any(|m| m.text == "bonjour la fenêtre")
        },
    );
    // The chat button shows the unread message: "Chat (1)".
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
    std::thread::sleep(Duration::from_millis(300));
    harness.step();
    // Leave: the call ends cleanly.
    harness.get_by_label("Leave").click();
    step_until(&mut harness, Duration::from_secs(10), "ended", |app| {
        matches!(app.state().call.stage, Stage::Ended { failed: false, .. })
    });
    let py = py.wait();
    assert!(py.success(), "{}", py.describe());
    assert_eq!(
        py.received_text(),
        ["hello from the window"],
        "{}",
        py.describe()
    );
    assert!(py.users_seen().contains(&"Anaïs".to_owned()));
}

/// Push-to-talk with a function key on an X11 desktop: the window (which here has no X window
/// at all, as if another program were in front) sends while F8 is held on the X server, and
/// nothing before or after.
#[test]
fn push_to_talk_works_from_another_window() {
    if !available() {
        return;
    }
    let Some(xvfb) = xvfb::Xvfb::start() else {
        return;
    };
    let server = Murmur::builder().channel("Test").start();
    let mut py = server.peer(
        "py",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "Anaïs",
            "--seconds",
            "14",
        ],
    );
    assert!(py.wait_joined(Duration::from_secs(15)).is_some());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings {
        language: Language::En,
        display_name: "Anaïs".to_owned(),
        push_to_talk_key: "F8".to_owned(),
        ..Settings::default()
    };
    settings.audio.transmit = palabre::config::TransmitMode::PushToTalk;
    let mut harness = join_as_anais(
        &server,
        settings,
        dir.path().join("config"),
        Some(xvfb.display.clone()),
    );
    let step_for = |harness: &mut Harness<'_, PalabreApp>, seconds: f64| {
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        while Instant::now() < until {
            harness.step();
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // Speech goes on in the room the whole time (into the null sink, whose monitor is the
    // microphone), so that what is sent while F8 is held is heard as such.
    let speech = palabre::audio::wav::read_mono_48k(&std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/speech_en.wav"
    )))
    .expect("speech");
    let room: Vec<f32> = speech.iter().copied().cycle().take(48_000 * 12).collect();
    let room_wav = dir.path().join("room.wav");
    palabre::audio::wav::write_mono_48k(&room_wav, &room).expect("room");
    let mut talking = std::process::Command::new("paplay")
        .args(["--device=palabre_sink"])
        .arg(&room_wav)
        .spawn()
        .expect("paplay (Debian package pulseaudio-utils)");
    step_for(&mut harness, 2.0);
    assert!(!harness.state().state().call.sending);

    // F8 held on the X server, by a keyboard of the test's (XTEST).
    let keyboard = xvfb::Keyboard::open(&xvfb.display);
    let key = |down: bool| keyboard.key("F8", down);
    key(true);
    step_until(&mut harness, Duration::from_secs(5), "sending", |app| {
        app.state().call.sending
    });
    step_for(&mut harness, 2.0);
    key(false);
    step_until(&mut harness, Duration::from_secs(5), "not sending", |app| {
        !app.state().call.sending
    });
    step_for(&mut harness, 2.0);
    talking.kill().ok();
    talking.wait().ok();
    harness.get_by_label("Leave").click();
    step_until(&mut harness, Duration::from_secs(10), "ended", |app| {
        matches!(app.state().call.stage, Stage::Ended { failed: false, .. })
    });
    let py = py.wait();
    assert!(py.success(), "{}", py.describe());
    // About the two seconds F8 was held, and nothing of the speech before or after.
    let heard = py.received_audio_seconds();
    assert!((1.8..3.0).contains(&heard), "py heard {heard:.2} s");
}
