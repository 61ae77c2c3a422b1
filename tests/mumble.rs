//! palabre as a Mumble client, end to end against a real murmurd (Debian's `mumble-server`,
//! started per test by `common/murmur.rs`) and an independent client (pymumble). Every run is
//! the real binary: `palabre join LINK --headless`, its JSON line and its stderr.

mod common;
#[path = "common/murmur.rs"]
mod murmur;

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use murmur::{Murmur, Peer};
use palabre::audio::wav;

const RATE: usize = 48_000;

fn available() -> bool {
    Murmur::skip_unless_available() && Peer::skip_unless_available()
}

/// A running `palabre join … --headless`.
struct Palabre {
    child: Child,
    name: String,
}

/// How it ended.
struct Run {
    ok: bool,
    json: serde_json::Value,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "ok={} json={}\n--- stderr ---\n{}",
            self.ok, self.json, self.stderr
        )
    }
}

impl Palabre {
    /// Starts palabre with its own configuration folder `config` (identity, known servers).
    fn spawn(link: &str, name: &str, config: &Path, args: &[&str]) -> Palabre {
        let child = Command::new(env!("CARGO_BIN_EXE_palabre"))
            .args(["join", link, "--headless", "--name", name])
            .args(args)
            .env("PALABRE_CONFIG_DIR", config)
            .env("RUST_LOG", "palabre=info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start palabre");
        Palabre {
            child,
            name: name.to_owned(),
        }
    }

    /// Writes one command line to its standard input.
    fn command(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        writeln!(stdin, "{line}").expect("write a command");
        stdin.flush().ok();
    }

    fn wait(self) -> Run {
        let name = self.name.clone();
        let out = self.child.wait_with_output().expect("wait for palabre");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = stdout
            .lines()
            .last()
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or(serde_json::Value::Null);
        eprintln!("--- {name}: {json}\n{stderr}");
        Run {
            ok: out.status.success(),
            json,
            stderr,
        }
    }
}

fn link(server: &Murmur, channel: &str) -> String {
    format!("mumble://127.0.0.1:{}/{channel}", server.port)
}

fn count(json: &serde_json::Value, path: &[&str]) -> u64 {
    let mut value = json;
    for key in path {
        value = &value[*key];
    }
    value.as_u64().unwrap_or(0)
}

/// Speech sent by one side comes out of the other's recording, time-aligned and matching.
fn assert_speech_received(recording: &Path, what: &str) -> common::Alignment {
    let reference = wav::read_mono_48k(&common::data("speech_en.wav")).expect("reference");
    let mut heard = wav::read_mono_48k(recording).expect("recording");
    assert!(
        heard.len() > reference.len() * 9 / 10,
        "{what}: recording of {} samples is much shorter than the speech ({})",
        heard.len(),
        reference.len()
    );
    // pymumble's recording starts with the first sound it heard: give the search some room.
    heard.resize(heard.len().max(reference.len() + RATE), 0.0);
    let alignment = common::align(&reference, &heard, heard.len() - reference.len());
    eprintln!(
        "{what}: speech found {:.1} ms into the recording, correlation {:.3}, spectral \
         similarity {:.3}",
        alignment.delay_samples as f64 * 1000.0 / RATE as f64,
        alignment.correlation,
        alignment.spectral
    );
    assert!(
        alignment.spectral > 0.8,
        "{what}: the recording does not match the speech: {alignment:?}"
    );
    alignment
}

fn two_palabres_exchange_speech(no_udp: bool) {
    let server = Murmur::builder().channel("Test").start();
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("bob.wav");
    let speech = common::data("speech_en.wav");
    let mut extra: Vec<&str> = Vec::new();
    if no_udp {
        extra.push("--no-udp");
    }
    let mut bob_args = vec![
        "--record",
        record.to_str().expect("utf-8"),
        "--seconds",
        "14",
    ];
    bob_args.extend(&extra);
    let bob = Palabre::spawn(
        &link(&server, "Test"),
        "bob",
        &dir.path().join("bob"),
        &bob_args,
    );
    let mut alice_args = vec![
        "--input",
        speech.to_str().expect("utf-8"),
        "--wait-for",
        "bob",
    ];
    alice_args.extend(&extra);
    let alice = Palabre::spawn(
        &link(&server, "Test"),
        "alice",
        &dir.path().join("alice"),
        &alice_args,
    )
    .wait();
    let bob = bob.wait();
    assert!(alice.ok, "alice: {}", alice.describe());
    assert!(bob.ok, "bob: {}", bob.describe());
    assert_eq!(alice.json["channel"], "Test");
    assert_eq!(bob.json["channel"], "Test");
    assert!(
        alice.json["users_seen"]
            .as_array()
            .is_some_and(|u| u.contains(&"bob".into()))
    );

    let sent = count(&alice.json, &["voice_packets_sent"]);
    let received = count(&bob.json, &["voice_packets_received"]);
    assert!(sent > 50, "alice sent {sent} voice packets");
    assert!(
        received >= sent * 98 / 100,
        "bob received {received} of {sent} packets"
    );
    if no_udp {
        assert_eq!(alice.json["transport"], "tcp");
        assert_eq!(count(&alice.json, &["udp", "packets_sent"]), 0);
        assert_eq!(count(&alice.json, &["tunnel", "packets_sent"]), sent);
        assert_eq!(count(&bob.json, &["tunnel", "packets_received"]), received);
    } else {
        assert_eq!(alice.json["transport"], "udp", "{}", alice.describe());
        assert_eq!(bob.json["transport"], "udp", "{}", bob.describe());
        // Voice goes over UDP once the first ping has come back: before bob joined.
        assert!(
            count(&alice.json, &["tunnel", "packets_sent"]) <= 2,
            "{}",
            alice.describe()
        );
        assert!(count(&bob.json, &["udp", "packets_received"]) >= received * 95 / 100);
    }
    assert_speech_received(&record, if no_udp { "tunnel" } else { "UDP" });
}

#[test]
fn two_palabre_clients_talk_over_udp() {
    if available() {
        two_palabres_exchange_speech(false);
    }
}

#[test]
fn two_palabre_clients_talk_through_the_tcp_tunnel() {
    if available() {
        two_palabres_exchange_speech(true);
    }
}

#[test]
fn palabre_and_pymumble_hear_each_other_and_chat() {
    if !available() {
        return;
    }
    let server = Murmur::builder().channel("Test").channel("Other").start();
    let dir = tempfile::tempdir().expect("tempdir");
    let speech = common::data("speech_en.wav");
    let from_python = dir.path().join("from_python.wav");
    let from_palabre = dir.path().join("from_palabre.wav");
    // pymumble needs 48 kHz 16-bit mono: the same speech, converted.
    let speech48 = dir.path().join("speech48.wav");
    wav::write_mono_48k(&speech48, &wav::read_mono_48k(&speech).expect("speech"))
        .expect("write 48 kHz speech");

    let mut py = server.peer(
        "py",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "pal",
            "--send-wav",
            speech48.to_str().expect("utf-8"),
            "--send-delay",
            "1",
            "--record-wav",
            from_palabre.to_str().expect("utf-8"),
            "--say",
            "hello from python",
            "--expect-text",
            "hello from palabre",
            "--seconds",
            "17",
        ],
    );
    let mut pal = Palabre::spawn(
        &link(&server, "Test"),
        "pal",
        &dir.path().join("pal"),
        &[
            "--input",
            speech.to_str().expect("utf-8"),
            "--wait-for",
            "py",
            // pymumble's recorder closes up gaps shorter than 150 ms between talk spurts, which
            // would shift the speech in time: send one continuous stream.
            "--no-gate",
            "--record",
            from_python.to_str().expect("utf-8"),
            "--seconds",
            "18",
        ],
    );
    assert!(
        py.wait_joined(Duration::from_secs(15)).is_some(),
        "py never joined"
    );
    std::thread::sleep(Duration::from_secs(2));
    pal.command("say hello from palabre");
    pal.command("tell py just for you");
    // After the speech (10.7 s from when py joined) has been heard.
    std::thread::sleep(Duration::from_secs(12));
    pal.command("move Other");
    let pal = pal.wait();
    let py = py.wait();
    assert!(pal.ok, "{}", pal.describe());
    assert!(py.success(), "{}", py.describe());
    // Text both ways.
    assert_eq!(
        py.received_text(),
        ["hello from palabre", "just for you"],
        "{}",
        py.describe()
    );
    assert_eq!(pal.json["texts"][0]["from"], "py");
    assert_eq!(pal.json["texts"][0]["message"], "hello from python");
    // The move: palabre ends in Other.
    assert_eq!(pal.json["channel"], "Other", "{}", pal.describe());
    // Audio both ways.
    assert!(py.received_audio_seconds() > 2.0, "{}", py.describe());
    assert_speech_received(&from_palabre, "palabre → pymumble");
    assert_speech_received(&from_python, "pymumble → palabre");
}

#[test]
fn self_mute_sends_no_voice() {
    if !available() {
        return;
    }
    let server = Murmur::builder().channel("Test").start();
    let dir = tempfile::tempdir().expect("tempdir");
    let speech = common::data("speech_en.wav");
    let py = server.peer(
        "listener",
        &["--channel", "Test", "--seconds", "9", "--wait-for", "muted"],
    );
    let muted = Palabre::spawn(
        &link(&server, "Test"),
        "muted",
        &dir.path().join("muted"),
        &[
            "--input",
            speech.to_str().expect("utf-8"),
            "--mute",
            "--seconds",
            "6",
        ],
    )
    .wait();
    let py = py.wait();
    assert!(muted.ok, "{}", muted.describe());
    assert!(
        muted.stderr.contains("You are muted."),
        "{}",
        muted.describe()
    );
    assert_eq!(count(&muted.json, &["voice_packets_sent"]), 0);
    assert_eq!(count(&muted.json, &["tunnel", "packets_sent"]), 0);
    assert_eq!(py.received_audio_seconds(), 0.0, "{}", py.describe());
}

#[test]
fn refusals_are_explained() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Murmur::builder()
        .ini("serverpassword", "s3cret")
        .ini("users", "1")
        .start();
    let plain = format!("mumble://127.0.0.1:{}", server.port);
    let config = dir.path().join("c");

    let run = Palabre::spawn(&plain, "nopass", &config, &["--seconds", "1"]).wait();
    assert!(!run.ok);
    assert_eq!(run.json["state"], "rejected");
    assert!(
        run.stderr
            .contains("The server password is missing or wrong."),
        "{}",
        run.describe()
    );

    let run = Palabre::spawn(&plain, "bad/name", &config, &["--password", "s3cret"]).wait();
    assert!(!run.ok);
    assert!(
        run.stderr.contains("does not accept this user name"),
        "{}",
        run.describe()
    );

    // One user allowed: a first palabre fills the server.
    let first = Palabre::spawn(
        &plain,
        "first",
        &dir.path().join("first"),
        &["--password", "s3cret", "--seconds", "6"],
    );
    std::thread::sleep(Duration::from_secs(2));
    let run = Palabre::spawn(&plain, "second", &config, &["--password", "s3cret"]).wait();
    assert!(!run.ok);
    assert!(
        run.stderr.contains("The server is full"),
        "{}\n--- server log ---\n{}",
        run.describe(),
        server.log()
    );
    assert!(first.wait().ok);

    // Nothing listens: a plain sentence, no retry, exit code non-zero.
    let closed = format!("mumble://127.0.0.1:{}", server.port + 1);
    drop(server);
    let started = Instant::now();
    let run = Palabre::spawn(&closed, "nobody", &config, &[]).wait();
    assert!(!run.ok);
    assert!(run.stderr.contains("Could not reach"), "{}", run.describe());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_killed_server_is_rejoined_in_the_same_channel() {
    if !available() {
        return;
    }
    let mut server = Murmur::builder().channel("Test").start();
    let dir = tempfile::tempdir().expect("tempdir");
    let pal = Palabre::spawn(
        &link(&server, "Test"),
        "survivor",
        &dir.path().join("s"),
        &["--seconds", "16"],
    );
    std::thread::sleep(Duration::from_secs(3));
    server.kill();
    std::thread::sleep(Duration::from_secs(2));
    server.restart();
    // Someone else in the channel sees palabre come back.
    let mut watcher = server.peer(
        "watcher",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "survivor",
            "--seconds",
            "1",
        ],
    );
    assert!(watcher.wait_joined(Duration::from_secs(10)).is_some());
    let watcher = watcher.wait();
    let pal = pal.wait();
    assert!(pal.ok, "{}", pal.describe());
    assert!(pal.stderr.contains("Reconnecting in"), "{}", pal.describe());
    assert!(count(&pal.json, &["reconnections"]) >= 1);
    assert_eq!(pal.json["channel"], "Test", "{}", pal.describe());
    assert!(
        watcher.users_seen().contains(&"survivor".to_owned()),
        "{}",
        watcher.describe()
    );
}

#[test]
fn identity_is_kept_and_a_changed_certificate_is_refused() {
    if !available() {
        return;
    }
    let mut server = Murmur::builder().start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("me");
    let plain = format!("mumble://127.0.0.1:{}", server.port);

    // First run: an identity is created, the certificate pinned, the name registered.
    let mut first = Palabre::spawn(&plain, "regular", &config, &["--seconds", "4"]);
    std::thread::sleep(Duration::from_secs(2));
    first.command("register");
    let first = first.wait();
    assert!(first.ok, "{}", first.describe());
    assert!(
        first.stderr.contains("created your identity"),
        "{}",
        first.describe()
    );
    assert!(
        first.stderr.contains("First connection"),
        "{}",
        first.describe()
    );
    let user_id = first.json["user_id"].as_u64().expect("registered");

    // Second run: the server recognises the identity (same account id at login).
    let second = Palabre::spawn(&plain, "regular", &config, &["--seconds", "1"]).wait();
    assert!(second.ok, "{}", second.describe());
    assert_eq!(second.json["user_id"].as_u64(), Some(user_id));
    assert!(!second.stderr.contains("created your identity"));
    assert!(second.stderr.contains("accepted on earlier connections"));

    // Someone else with the registered name but without the identity is refused.
    let impostor = Palabre::spawn(
        &plain,
        "regular",
        &dir.path().join("other"),
        &["--seconds", "1"],
    )
    .wait();
    assert!(!impostor.ok);
    assert!(
        impostor.stderr.contains("registered on the server"),
        "{}",
        impostor.describe()
    );

    // The identity moves to another computer: export, import, recognised there.
    let exported = dir.path().join("me.pem");
    let status = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(["identity", "--export", exported.to_str().expect("utf-8")])
        .env("PALABRE_CONFIG_DIR", &config)
        .status()
        .expect("export");
    assert!(status.success());
    let elsewhere = dir.path().join("elsewhere");
    let status = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(["identity", "--import", exported.to_str().expect("utf-8")])
        .env("PALABRE_CONFIG_DIR", &elsewhere)
        .status()
        .expect("import");
    assert!(status.success());
    let moved = Palabre::spawn(&plain, "regular", &elsewhere, &["--seconds", "1"]).wait();
    assert!(moved.ok, "{}", moved.describe());
    assert_eq!(moved.json["user_id"].as_u64(), Some(user_id));

    // A new server certificate: refused, then accepted when asked.
    server.restart_with_new_cert();
    let refused = Palabre::spawn(&plain, "regular", &config, &["--seconds", "1"]).wait();
    assert!(!refused.ok);
    assert_eq!(refused.json["state"], "untrusted");
    assert!(
        refused.stderr.contains("has changed"),
        "{}",
        refused.describe()
    );
    let accepted = Palabre::spawn(
        &plain,
        "regular",
        &config,
        &["--seconds", "1", "--accept-new-certificate"],
    )
    .wait();
    assert!(accepted.ok, "{}", accepted.describe());
    let again = Palabre::spawn(&plain, "regular", &config, &["--seconds", "1"]).wait();
    assert!(again.ok, "{}", again.describe());
}

#[test]
fn the_servers_bandwidth_cap_is_respected_and_told() {
    if !available() {
        return;
    }
    // 32 kbit/s per user: the high preset (64 kbit/s, 20 ms) does not fit; murmurd would drop
    // the excess without a word.
    let server = Murmur::builder()
        .channel("Test")
        .ini("bandwidth", "32000")
        .start();
    let dir = tempfile::tempdir().expect("tempdir");
    let speech = common::data("speech_en.wav");
    let bob = Palabre::spawn(
        &link(&server, "Test"),
        "bob",
        &dir.path().join("bob"),
        &["--seconds", "14"],
    );
    let alice = Palabre::spawn(
        &link(&server, "Test"),
        "alice",
        &dir.path().join("alice"),
        &[
            "--input",
            speech.to_str().expect("utf-8"),
            "--wait-for",
            "bob",
            "--preset",
            "high",
        ],
    )
    .wait();
    let bob = bob.wait();
    assert!(
        alice.ok && bob.ok,
        "{}\n{}",
        alice.describe(),
        bob.describe()
    );
    assert!(
        alice
            .stderr
            .contains("The server allows only 32 kbit/s per user: audio adjusted to"),
        "{}",
        alice.describe()
    );
    let (bitrate, frame_ms) = (
        count(&alice.json, &["bitrate"]),
        count(&alice.json, &["frame_ms"]),
    );
    assert_eq!((bitrate, frame_ms), (24_000, 40), "{}", alice.json);
    let sent = count(&alice.json, &["voice_packets_sent"]);
    let received = count(&bob.json, &["voice_packets_received"]);
    assert!(
        received >= sent * 98 / 100,
        "the server dropped packets: {received} of {sent}"
    );
}

#[test]
fn the_availability_check_asks_the_server_query() {
    if !available() {
        return;
    }
    let server = Murmur::builder().start();
    match palabre::net::probe::mumble("127.0.0.1", server.port) {
        palabre::net::probe::Probe::Up { rtt_ms, users } => {
            assert!(rtt_ms < 1000);
            assert_eq!(users, Some((0, 10)));
        }
        down => panic!("{down:?}"),
    }
}

/// Options for a driver of our own as `name`, into the server's channel "Test", remembering no
/// certificate.
fn driver_options(server: &Murmur, name: &str) -> palabre::net::mumble::MumbleOptions {
    let mut session = palabre::call::session_config(name);
    session.channel_path = vec!["Test".to_owned()];
    palabre::net::mumble::MumbleOptions {
        host: "127.0.0.1".to_owned(),
        port: server.port,
        session,
        identity: None,
        config_dir: None,
        accept_new_certificate: false,
        reconnect: false,
    }
}

/// The driver as the window uses it (not through the binary): with a voice sink, the other
/// users' voice goes to the sink on the driver's thread, in order, and none of it comes out as
/// events, which would wake the window's conference thread for every packet.
#[test]
fn the_driver_hands_voice_to_its_sink_and_not_to_the_events() {
    use palabre::net::mumble::{self, MumbleEvent, ReceivedVoice};
    use palabre::proto::mumble::session::SessionEvent;
    use std::sync::mpsc;

    if !available() {
        return;
    }
    let server = Murmur::builder().channel("Test").start();
    let dir = tempfile::tempdir().expect("tempdir");
    let tone = dir.path().join("tone.wav");
    common::write_tone(&tone, 440.0, 3);
    let mut py = server.peer(
        "py",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "sink",
            "--send-wav",
            tone.to_str().expect("utf-8"),
            "--send-delay",
            "1",
            "--seconds",
            "8",
        ],
    );
    assert!(
        py.wait_joined(Duration::from_secs(15)).is_some(),
        "py never joined"
    );
    let options = driver_options(&server, "sink");
    let (voice_tx, voice_rx) = mpsc::channel::<ReceivedVoice>();
    let sink: mumble::VoiceSink = Box::new(move |voice| {
        voice_tx.send(voice).ok();
    });
    let handle = mumble::spawn(options, None, Some(sink)).expect("driver thread");
    let mut py_session = None;
    let mut received: Vec<ReceivedVoice> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    // The tone lasts 3 s: wait for 2 s of it (20 ms packets).
    while received.len() < 100 && Instant::now() < deadline {
        while let Ok(event) = handle.events.try_recv() {
            match event {
                MumbleEvent::Session(SessionEvent::Voice { .. }) => {
                    panic!("a voice packet came out as an event")
                }
                MumbleEvent::Tree(tree) => {
                    if let Some(user) = tree.users.iter().find(|user| user.name == "py") {
                        py_session = Some(user.session);
                    }
                }
                MumbleEvent::Finished { reason, .. } => panic!("the driver ended: {reason:?}"),
                _ => {}
            }
        }
        received.extend(voice_rx.try_iter());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        received.len() >= 100,
        "only {} voice packets reached the sink",
        received.len()
    );
    let py_session = py_session.expect("py in the tree");
    assert!(received.iter().all(|voice| voice.session == py_session));
    assert!(received.iter().all(|voice| !voice.opus.is_empty()));
    assert!(
        received
            .windows(2)
            .all(|pair| pair[1].sequence > pair[0].sequence),
        "voice out of order"
    );
    handle.leave();
    let py = py.wait();
    assert!(py.success(), "{}", py.describe());
}

/// The window's side of a Mumble call (the conference adapter, not through the binary): its
/// thread sleeps until the driver or the window wakes it, so a command must still go out, and a
/// window that drops its handle without leaving must still leave the server and stop the call.
#[test]
fn the_conference_carries_commands_and_leaves_when_dropped() {
    use palabre::command::Command;
    use palabre::conference::{self, ConferenceCommand, ConferenceEvent, Stage};
    use std::sync::{Arc, mpsc};

    if !available() {
        return;
    }
    let server = Murmur::builder().channel("Test").start();
    let mut py = server.peer(
        "py",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "conf",
            "--expect-text",
            "by command",
            "--seconds",
            "12",
        ],
    );
    assert!(
        py.wait_joined(Duration::from_secs(15)).is_some(),
        "py never joined"
    );
    let options = driver_options(&server, "conf");
    let (engine_tx, engine_rx) = mpsc::channel();
    let handle = conference::spawn_mumble(
        options,
        conference::nothing_to_prepare(),
        palabre::config::AudioSettings::default(),
        engine_tx,
        Arc::new(|| {}),
    )
    .expect("conference thread");
    let wait_for = |what: &str, matches: &dyn Fn(&ConferenceEvent) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(event) = handle.events.recv_timeout(Duration::from_millis(100))
                && matches(&event)
            {
                return;
            }
        }
        panic!("no {what}");
    };
    wait_for("connection", &|event| {
        matches!(event, ConferenceEvent::Stage(Stage::Connected))
    });
    assert!(
        matches!(
            engine_rx.recv_timeout(Duration::from_secs(5)),
            Ok(Command::StartCall(_))
        ),
        "the engine was not asked to start the call"
    );
    wait_for("us in Test", &|event| match event {
        ConferenceEvent::Roster {
            participants,
            rooms,
        } => {
            let test = rooms.iter().find(|room| room.name == "Test").map(|r| r.id);
            participants
                .iter()
                .any(|p| p.you && p.room.is_some() && p.room == test)
        }
        _ => false,
    });
    handle.send(ConferenceCommand::Chat {
        to: None,
        text: "by command".to_owned(),
    });
    wait_for(
        "echo of our message",
        &|event| matches!(event, ConferenceEvent::Chat(message) if message.own && message.text == "by command"),
    );
    // The connection line: the round trip from the pings, to a server on this machine.
    wait_for("the connection's round trip", &|event| {
        matches!(event, ConferenceEvent::Traffic(traffic)
            if traffic.quality.rtt_ms.is_some_and(|ms| ms < 200)
                && traffic.quality.level() == conference::QualityLevel::Good)
    });
    // Give the message time to reach py before the window "goes away".
    std::thread::sleep(Duration::from_millis(500));
    drop(handle);
    let stopped = Instant::now() + Duration::from_secs(10);
    loop {
        match engine_rx.recv_timeout(stopped.saturating_duration_since(Instant::now())) {
            Ok(Command::StopCall) => break,
            Ok(_) => {}
            Err(e) => panic!("the call was not stopped after the window went: {e}"),
        }
    }
    let py = py.wait();
    assert!(py.success(), "{}", py.describe());
    assert_eq!(py.received_text(), ["by command"], "{}", py.describe());
}

/// A server with a password, joined from the window's side: without a password, then with a
/// wrong one, the conference says a password is needed (and whether the one given was wrong)
/// before it ends, in words the window translates; with the right one it connects.
#[test]
fn the_conference_asks_for_the_server_password() {
    use palabre::conference::{self, ConferenceEvent, Stage};
    use palabre::i18n::Phrase;
    use std::sync::{Arc, mpsc};

    if !Murmur::skip_unless_available() {
        return;
    }
    let server = Murmur::builder()
        .channel("Test")
        .ini("serverpassword", "s3cret")
        .start();
    let events_of = |password: Option<&str>| {
        let mut options = driver_options(&server, "knocking");
        options.session.password = password.map(str::to_owned);
        let (engine, _engine_rx) = mpsc::channel();
        let handle = conference::spawn_mumble(
            options,
            conference::nothing_to_prepare(),
            palabre::config::AudioSettings::default(),
            engine,
            Arc::new(|| {}),
        )
        .expect("conference thread");
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(event) = handle.events.recv_timeout(Duration::from_millis(100)) {
                let done = matches!(
                    event,
                    ConferenceEvent::Stage(Stage::Ended { .. } | Stage::Connected)
                );
                events.push(event);
                if done {
                    break;
                }
            }
        }
        events
    };
    for (password, wrong) in [(None, false), (Some("guess"), true)] {
        let events = events_of(password);
        let needed = events
            .iter()
            .position(|e| *e == ConferenceEvent::PasswordNeeded { wrong });
        // The refusal in words the window translates.
        let ended = events.iter().position(|e| {
            matches!(e, ConferenceEvent::Stage(Stage::Ended { reason: reason @ Phrase::Message(..), failed: true })
                if reason.to_string().contains("The server password is missing or wrong."))
        });
        assert!(
            needed.is_some() && ended.is_some() && needed < ended,
            "{password:?}: {events:?}"
        );
    }
    let events = events_of(Some("s3cret"));
    assert!(
        events.contains(&ConferenceEvent::Stage(Stage::Connected)),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ConferenceEvent::PasswordNeeded { .. })),
        "{events:?}"
    );
}
