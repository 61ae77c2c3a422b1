//! palabre as a Jitsi Meet client, end to end: Debian's real Prosody configured like a Jitsi
//! deployment, and an independent stand-in for jicofo and the videobridge (slixmpp + aiortc,
//! `tests/peers/jitsi/`), started per test by `common/jitsi.rs`. Every run is the real binary:
//! `palabre join http://127.0.0.1:PORT/Room --headless`, its JSON line and its stderr.

mod common;
#[path = "common/jitsi.rs"]
mod jitsi;

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jitsi::JitsiEnv;
use palabre::audio::wav;
use serde_json::{Value, json};

const RATE: usize = 48_000;

struct Palabre {
    child: Child,
}

struct Run {
    ok: bool,
    json: Value,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "ok={} json={}\n--- stderr ---\n{}",
            self.ok, self.json, self.stderr
        )
    }

    fn endpoint(&self) -> &str {
        self.json["endpoint"].as_str().unwrap_or_default()
    }
}

impl Palabre {
    fn spawn(link: &str, name: &str, config: &Path, args: &[&str]) -> Palabre {
        let child = Command::new(env!("CARGO_BIN_EXE_palabre"))
            .args(["join", link, "--headless", "--name", name, "--ice-loopback"])
            .args(args)
            .env("PALABRE_CONFIG_DIR", config)
            .env("RUST_LOG", "palabre=info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start palabre");
        Palabre { child }
    }

    fn command(&mut self, line: &str) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            writeln!(stdin, "{line}").ok();
            stdin.flush().ok();
        }
    }

    fn wait(self) -> Run {
        let out = self.child.wait_with_output().expect("wait for palabre");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = stdout
            .lines()
            .last()
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or(Value::Null);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        eprintln!("--- palabre: {json}\n{stderr}");
        Run {
            ok: out.status.success(),
            json,
            stderr,
        }
    }
}

fn count(json: &Value, path: &[&str]) -> u64 {
    let mut value = json;
    for key in path {
        value = &value[*key];
    }
    value.as_u64().unwrap_or(0)
}

/// The speech of `reference` comes out of `recording`, time-aligned and matching. Each 2 s of
/// it may also sit up to 300 ms from the overall delay: the receiving jitter buffer grows and shrinks
/// with the sender's bursts (the aiortc peer is a Python program on a loaded 2-core machine), and
/// one alignment over the whole file would count that as a mismatch.
fn assert_speech(recording: &Path, reference: &str, what: &str) -> common::Alignment {
    let reference = wav::read_mono_48k(&common::data(reference)).expect("reference");
    let mut heard = wav::read_mono_48k(recording).expect("recording");
    heard.resize(heard.len().max(reference.len() + RATE), 0.0);
    let alignment = common::align(&reference, &heard, heard.len() - reference.len());
    let by_parts =
        common::spectral_by_parts(&reference, &heard, alignment.delay_samples, 2_000, 300);
    eprintln!(
        "{what}: speech found {:.1} ms into the recording, correlation {:.3}, spectral \
         similarity {:.3} (by parts of 2 s: {by_parts:.3})",
        alignment.delay_samples as f64 * 1000.0 / RATE as f64,
        alignment.correlation,
        alignment.spectral
    );
    // Either alignment may show the match: one over the whole file when the delay held still,
    // by parts when it moved (other speech scores about 0.4 by parts).
    assert!(
        alignment.spectral.max(by_parts) > 0.8,
        "{what}: the recording does not match the speech: {alignment:?}, by parts {by_parts:.3}"
    );
    alignment
}

#[test]
fn two_palabres_talk_chat_and_receive_no_video_through_the_bridge() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&["--video-bot"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Palabre-Test");
    let alice_wav = dir.path().join("alice.wav");
    let bob_wav = dir.path().join("bob.wav");
    let en = common::data("speech_en.wav");
    let fr = common::data("speech_fr.wav");
    let mut alice = Palabre::spawn(
        &link,
        "Alice",
        &dir.path().join("a"),
        &[
            "--input",
            en.to_str().expect("utf-8"),
            "--record",
            alice_wav.to_str().expect("utf-8"),
            "--wait-for",
            "Bob",
            "--no-gate",
            "--seconds",
            "22",
        ],
    );
    let bob = Palabre::spawn(
        &link,
        "Bob",
        &dir.path().join("b"),
        &[
            "--input",
            fr.to_str().expect("utf-8"),
            "--record",
            bob_wav.to_str().expect("utf-8"),
            "--wait-for",
            "Alice",
            "--no-gate",
            "--seconds",
            "22",
        ],
    );
    env.wait_for(Duration::from_secs(30), |e| e["event"] == "session-accept")
        .unwrap_or_else(|| panic!("no session-accept: {}", env.log()));
    std::thread::sleep(Duration::from_secs(3));
    alice.command("say Bonjour à tous <3");
    alice.command("tell Bob just for you");
    alice.command("hand");
    // Once the speech is over, a moderator (the focus) mutes Alice.
    std::thread::sleep(Duration::from_secs(12));
    let alice_endpoint = env
        .events_named("participant-joined")
        .into_iter()
        .find(|e| e["nick"] == "Alice")
        .and_then(|e| e["endpoint"].as_str().map(str::to_owned))
        .expect("Alice's endpoint");
    let mut env = env;
    env.command(&json!({"cmd": "mute", "endpoint": alice_endpoint}));
    let alice = alice.wait();
    let bob = bob.wait();
    assert!(alice.ok, "{}", alice.describe());
    assert!(bob.ok, "{}", bob.describe());
    for run in [&alice, &bob] {
        assert_eq!(run.json["media_connected"], true, "{}", run.describe());
        // RTCP's figures, which the window's connection line shows: a round trip to a bridge
        // on this machine, and the loss of what arrived.
        assert!(
            run.json["rtt_ms"].as_u64().is_some_and(|ms| ms < 200),
            "{}",
            run.describe()
        );
        assert!(
            run.json["loss_percent"].as_f64().is_some_and(|p| p < 3.0),
            "{}",
            run.describe()
        );
        assert!(
            count(&run.json, &["traffic", "audio_packets_received"]) > 400,
            "{}",
            run.describe()
        );
        assert_eq!(
            run.json["bridge_messages"]["ServerHello"],
            1,
            "{}",
            run.describe()
        );
        assert!(
            run.json["participants_seen"]
                .as_array()
                .is_some_and(|p| !p.is_empty()),
            "{}",
            run.describe()
        );
    }
    // Speech both ways, each the other's.
    assert_speech(&bob_wav, "speech_en.wav", "Alice → Bob");
    assert_speech(&alice_wav, "speech_fr.wav", "Bob → Alice");
    // Packets flowed all through the call (no gate), but each was shown speaking only while
    // the audio levels the bridge put on its packets said speech (about 10 s of it).
    for (run, other) in [(&bob, "Alice"), (&alice, "Bob")] {
        let seconds = run.json["speaking_seconds"][other].as_f64().unwrap_or(0.0);
        assert!(
            (4.0..14.0).contains(&seconds),
            "{other} shown speaking {seconds:.1} s: {}",
            run.describe()
        );
    }
    // Chat both ways: group and private, with HTML-looking text left alone.
    let texts = &bob.json["texts"];
    assert_eq!(
        texts[0]["message"],
        "Bonjour à tous <3",
        "{}",
        bob.describe()
    );
    assert_eq!(texts[0]["private"], false);
    assert_eq!(texts[1]["message"], "just for you");
    assert_eq!(texts[1]["private"], true);
    assert_eq!(texts[0]["from"], "Alice");
    // The raised hand and the moderator's mute, seen by both.
    assert!(
        bob.stderr.contains("Alice raised a hand."),
        "{}",
        bob.describe()
    );
    assert!(
        alice.stderr.contains("A moderator muted your microphone."),
        "{}",
        alice.describe()
    );
    assert!(
        bob.stderr.contains("Alice muted their microphone."),
        "{}",
        bob.describe()
    );
    let mute = env
        .events_named("mute-sent")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no mute: {}", env.log()));
    assert_eq!(mute["answer"], "result", "{mute}");
    // Audio-only: the session-accept asked for no video from the start, the bridge channel
    // said lastN 0, and the bridge sent no video packet to either, although the camera bot
    // was sending video to the room all along.
    let accepts = env.events_named("session-accept");
    assert_eq!(accepts.len(), 2, "{accepts:?}");
    for accept in &accepts {
        assert_eq!(accept["initial_last_n"], 0, "{accept}");
        assert_eq!(accept["setup"], "active", "{accept}");
        // The microphone, and the camera declared (muted) so that turning it on later needs
        // no new negotiation.
        let sources = accept["sources"].as_array().expect("sources");
        assert_eq!(sources.len(), 2, "{accept}");
        assert!(sources.iter().any(|s| s["media"] == "video"), "{accept}");
    }
    for run in [&alice, &bob] {
        let constraints = env
            .bridge_messages(run.endpoint(), "ReceiverVideoConstraints")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no ReceiverVideoConstraints from {}", run.endpoint()));
        assert_eq!(constraints["message"]["lastN"], 0);
        let media = env.media_counters(run.endpoint()).expect("media counters");
        assert!(
            count(&media, &["audio", "packets_received"]) > 400,
            "{media}"
        );
        assert_eq!(count(&media, &["video", "packets_sent"]), 0, "{media}");
    }
    // The camera bot was in the room, sending (the stand-in's self-test below shows that a
    // client that does not ask for audio only receives its video).
    assert!(
        alice.json["participants_seen"]
            .as_array()
            .is_some_and(|p| p.iter().any(|n| n == "Camera bot")),
        "{}",
        alice.describe()
    );
}

/// Out of audio-only mode: Dave asks the bridge for cameras and gets the camera bot's test
/// pattern, decoded; Carol sends palabre's own test pattern, which the bridge decodes with
/// aiortc's VP8 (an independent depacketizer and decoder), and receives the bot too.
#[test]
fn video_is_received_and_sent_out_of_audio_only_mode() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&["--video-bot"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Palabre-Video");
    let carol = Palabre::spawn(
        &link,
        "Carol",
        &dir.path().join("c"),
        &["--camera", "test-pattern", "--seconds", "14"],
    );
    let dave = Palabre::spawn(
        &link,
        "Dave",
        &dir.path().join("d"),
        &["--video", "--seconds", "14"],
    );
    let carol = carol.wait();
    let dave = dave.wait();
    assert!(carol.ok, "{}", carol.describe());
    assert!(dave.ok, "{}", dave.describe());
    for run in [&carol, &dave] {
        // Pictures of the bot, decoded, no taller than asked.
        let bot = &run.json["video_received"]["Camera bot"];
        assert!(
            bot["frames"].as_u64().is_some_and(|n| n >= 30),
            "{}",
            run.describe()
        );
        assert!(
            bot["height"]
                .as_u64()
                .is_some_and(|h| (2..=360).contains(&h)),
            "{}",
            run.describe()
        );
        assert!(run.json["video_error"].is_null(), "{}", run.describe());
        let constraints = env
            .bridge_messages(run.endpoint(), "ReceiverVideoConstraints")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no ReceiverVideoConstraints from {}", run.endpoint()));
        assert_eq!(constraints["message"]["lastN"], 4);
        assert_eq!(
            constraints["message"]["defaultConstraints"]["maxHeight"],
            360
        );
    }
    // Carol's camera: encoded at 15 frames a second, decoded by the bridge at 640×360.
    assert!(
        carol.json["video_frames_sent"]
            .as_u64()
            .is_some_and(|n| n >= 60),
        "{}",
        carol.describe()
    );
    let decoded = env
        .events_named("video-decoded")
        .into_iter()
        .filter(|e| e["endpoint"] == carol.endpoint())
        .max_by_key(|e| e["frames"].as_u64())
        .unwrap_or_else(|| panic!("the bridge decoded none of Carol's video: {}", env.log()));
    assert!(
        decoded["frames"].as_u64().is_some_and(|n| n >= 30),
        "{decoded}"
    );
    assert_eq!(
        (decoded["width"].as_u64(), decoded["height"].as_u64()),
        (Some(640), Some(360))
    );
    // Dave's camera stayed off: the bridge got no video from him.
    assert!(
        env.events_named("video-decoded")
            .iter()
            .all(|e| e["endpoint"] != dave.endpoint()),
        "{}",
        env.log()
    );
    assert_eq!(dave.json["video_frames_sent"], 0);
    // The figures, for whoever runs this with --nocapture (measured in benchmarks, not here).
    for (who, run) in [("Carol", &carol), ("Dave", &dave)] {
        eprintln!(
            "{who}: {:.1} s, wire bytes sent {}, received {}, video {}",
            run.json["seconds"].as_f64().unwrap_or(0.0),
            run.json["wire_bytes_sent"],
            run.json["wire_bytes_received"],
            run.json["video_received"]
        );
    }
}

/// An older deployment: offers without SCTP, so the bridge channel is the colibri WebSocket
/// the offer names; and a room whose policy starts everyone muted.
#[test]
fn without_sctp_the_bridge_channel_is_the_websocket_and_the_room_starts_muted() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&["--colibri-ws", "--no-sctp", "--start-muted", "Quiet"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Quiet");
    let en = common::data("speech_en.wav");
    // Alice's file starts playing as soon as her media is up, but she starts muted.
    let mut alice = Palabre::spawn(
        &link,
        "Alice",
        &dir.path().join("a"),
        &["--input", en.to_str().expect("utf-8"), "--seconds", "20"],
    );
    let bob = Palabre::spawn(&link, "Bob", &dir.path().join("b"), &["--seconds", "20"]);
    let alice_endpoint = env
        .wait_for(Duration::from_secs(30), |e| {
            e["event"] == "participant-joined" && e["nick"] == "Alice"
        })
        .and_then(|e| e["endpoint"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("Alice did not join: {}", env.log()));
    env.wait_for(Duration::from_secs(30), |e| {
        e["event"] == "connection-state"
            && e["endpoint"] == alice_endpoint
            && e["state"] == "connected"
    })
    .unwrap_or_else(|| panic!("Alice's media did not connect: {}", env.log()));
    // Two of the bridge's counting periods with the file playing: nothing reached it.
    std::thread::sleep(Duration::from_secs(5));
    let muted = env
        .media_counters(&alice_endpoint)
        .expect("Alice's counters");
    assert_eq!(count(&muted, &["audio", "packets_received"]), 0, "{muted}");
    alice.command("unmute");
    let alice = alice.wait();
    let bob = bob.wait();
    assert!(alice.ok, "{}", alice.describe());
    assert!(bob.ok, "{}", bob.describe());
    for run in [&alice, &bob] {
        assert!(
            run.stderr.contains("The meeting starts newcomers muted"),
            "{}",
            run.describe()
        );
        // The bridge channel was the WebSocket: its ServerHello came once, the audio-only
        // constraints went over it, and no data channel was opened.
        assert_eq!(
            run.json["bridge_messages"]["ServerHello"],
            1,
            "{}",
            run.describe()
        );
        assert!(
            env.events_named("colibri-ws-open")
                .iter()
                .any(|e| e["endpoint"] == run.endpoint()),
            "no colibri WebSocket from {}: {}",
            run.endpoint(),
            env.log()
        );
        let constraints = env
            .bridge_messages(run.endpoint(), "ReceiverVideoConstraints")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no ReceiverVideoConstraints from {}", run.endpoint()));
        assert_eq!(constraints["transport"], "websocket", "{constraints}");
        assert_eq!(constraints["message"]["lastN"], 0, "{constraints}");
    }
    assert!(env.events_named("data-channel-open").is_empty());
    // Once unmuted, Alice was heard and seen speaking, and the bridge's dominant-speaker
    // events reached Bob over the WebSocket.
    assert!(
        count(&alice.json, &["traffic", "audio_packets_sent"]) > 100,
        "{}",
        alice.describe()
    );
    assert!(
        bob.stderr.contains("Alice unmuted their microphone."),
        "{}",
        bob.describe()
    );
    let spoke = bob.json["speaking_seconds"]["Alice"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        spoke > 2.0,
        "Alice shown speaking {spoke:.1} s: {}",
        bob.describe()
    );
    assert!(
        bob.json["dominant_speakers"]
            .as_array()
            .is_some_and(|s| s.iter().any(|e| e == alice.endpoint())),
        "{}",
        bob.describe()
    );
}

#[test]
fn an_independent_client_comes_and_goes_and_is_heard() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Mixed");
    let heard = dir.path().join("pal.wav");
    let peer_heard = dir.path().join("peer.wav");
    let en = common::data("speech_en.wav");
    let fr = common::data("speech_fr.wav");
    let pal = Palabre::spawn(
        &link,
        "Pal",
        &dir.path().join("p"),
        &[
            "--input",
            fr.to_str().expect("utf-8"),
            "--record",
            heard.to_str().expect("utf-8"),
            "--wait-for",
            "Peer",
            "--no-gate",
            "--seconds",
            "28",
        ],
    );
    let other = Palabre::spawn(&link, "Other", &dir.path().join("o"), &["--seconds", "28"]);
    env.wait_for(Duration::from_secs(30), |e| e["event"] == "session-accept")
        .unwrap_or_else(|| panic!("no session-accept: {}", env.log()));
    std::thread::sleep(Duration::from_secs(2));
    // The third participant: an independent Jitsi client (slixmpp + aiortc), who sends English
    // speech and records what it hears, then leaves.
    let peer = Command::new(JitsiEnv::python())
        .arg(JitsiEnv::peer_script())
        .args([
            "--port",
            &env.get("c2s_port"),
            "--domain",
            &env.get("domain"),
        ])
        .args([
            "--guest-domain",
            &env.get("guest_domain"),
            "--muc",
            &env.get("muc"),
        ])
        .args(["--room", "mixed", "--nick", "Peer", "--audio-only"])
        .arg("--send-wav")
        .arg(&en)
        .args(["--send-delay", "2"])
        .arg("--record-wav")
        .arg(&peer_heard)
        .args(["--stay", "16", "--timeout", "60"])
        .output()
        .expect("run the Jitsi peer");
    let peer_json: Value = String::from_utf8_lossy(&peer.stdout)
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or(Value::Null);
    eprintln!(
        "--- peer: {peer_json}\n{}",
        String::from_utf8_lossy(&peer.stderr)
    );
    assert!(peer.status.success(), "the Jitsi peer failed: {peer_json}");
    let pal = pal.wait();
    let other = other.wait();
    assert!(pal.ok, "{}", pal.describe());
    assert!(other.ok, "{}", other.describe());
    // palabre heard the independent client, and the client heard palabre.
    assert_speech(&heard, "speech_en.wav", "peer → palabre");
    assert_speech(&peer_heard, "speech_fr.wav", "palabre → peer");
    // Its sources were added, then removed, at both palabres; both saw it come.
    for run in [&pal, &other] {
        let mine = |name: &str| {
            env.events_named(name)
                .into_iter()
                .filter(|e| e["endpoint"] == run.endpoint())
                .count()
        };
        assert!(
            mine("source-add-sent") >= 1,
            "no source-add for {}",
            run.endpoint()
        );
        assert!(
            mine("source-remove-sent") >= 1,
            "no source-remove for {}",
            run.endpoint()
        );
        assert!(
            run.json["participants_seen"]
                .as_array()
                .is_some_and(|p| p.iter().any(|n| n == "Peer")),
            "{}",
            run.describe()
        );
        assert!(run.stderr.contains("Peer left."), "{}", run.describe());
    }
}

#[test]
fn refusals_and_waits_become_sentences() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&["--room-password", "locked=secret", "--lobby", "waiting"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c");
    // Password required.
    let run = Palabre::spawn(&env.link("Locked"), "Zoé", &config, &["--seconds", "2"]).wait();
    assert!(!run.ok, "{}", run.describe());
    assert_eq!(run.json["state"], "refused", "{}", run.describe());
    assert_eq!(
        run.json["reason"],
        "This meeting is protected by a password."
    );
    // Wrong password.
    let run = Palabre::spawn(
        &env.link("Locked"),
        "Zoé",
        &config,
        &["--password", "guess", "--seconds", "2"],
    )
    .wait();
    assert_eq!(
        run.json["reason"],
        "The meeting password is wrong.",
        "{}",
        run.describe()
    );
    // The right one.
    let run = Palabre::spawn(
        &env.link("Locked"),
        "Zoé",
        &config,
        &["--password", "secret", "--seconds", "2"],
    )
    .wait();
    assert!(run.ok, "{}", run.describe());
    assert_eq!(run.json["joined"], true);
    // A lobby: palabre says it waits, and leaves cleanly when its time is up.
    let run = Palabre::spawn(&env.link("Waiting"), "Zoé", &config, &["--seconds", "4"]).wait();
    assert_eq!(run.json["joined"], false, "{}", run.describe());
    assert!(
        run.stderr
            .contains("This meeting has a lobby: waiting for a moderator to let you in"),
        "{}",
        run.describe()
    );
    assert_eq!(run.json["state"], "left", "{}", run.describe());
}

#[test]
fn a_guest_waits_for_the_host_then_joins() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&["--auth-required", "--user", "host:hostpass"]);
    let dir = tempfile::tempdir().expect("tempdir");
    // The guest leaves 20 s after it joins, or after it started if it never gets in.
    let guest = Palabre::spawn(
        &env.link("Board"),
        "Guest",
        &dir.path().join("g"),
        &["--seconds", "20"],
    );
    std::thread::sleep(Duration::from_secs(6));
    // A wrong login is refused in plain words.
    let wrong = Palabre::spawn(
        &env.link("Board"),
        "Host",
        &dir.path().join("w"),
        &[
            "--login-user",
            "host",
            "--login-password",
            "nope",
            "--seconds",
            "2",
        ],
    )
    .wait();
    assert_eq!(
        wrong.json["reason"],
        "The server refused the login: wrong user name or password.",
        "{}",
        wrong.describe()
    );
    assert_eq!(wrong.json["state"], "refused", "{}", wrong.describe());
    let host = Palabre::spawn(
        &env.link("Board"),
        "Host",
        &dir.path().join("h"),
        &[
            "--login-user",
            "host",
            "--login-password",
            "hostpass",
            "--seconds",
            "14",
        ],
    );
    let guest = guest.wait();
    let host = host.wait();
    assert!(host.ok, "{}", host.describe());
    assert!(
        guest
            .stderr
            .contains("Waiting for the host to start the meeting"),
        "{}",
        guest.describe()
    );
    assert!(
        guest.ok,
        "the guest got in once the host came: {}",
        guest.describe()
    );
    assert_eq!(guest.json["joined"], true);
    assert!(
        guest.json["participants_seen"]
            .as_array()
            .is_some_and(|p| p.iter().any(|n| n == "Host")),
        "{}",
        guest.describe()
    );
}

#[test]
fn a_lone_participants_session_expires_and_comes_back() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let mut env = JitsiEnv::start(&["--lone-timeout", "2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Solo");
    let stay = Palabre::spawn(&link, "Stay", &dir.path().join("s"), &["--seconds", "26"]);
    let visit = |name: &str, seconds: &str| {
        Palabre::spawn(&link, name, &dir.path().join(name), &["--seconds", seconds]).wait()
    };
    std::thread::sleep(Duration::from_secs(2));
    let first = visit("First", "6");
    assert!(first.ok, "{}", first.describe());
    // Alone again: the focus ends the session after 2 s; a new visitor brings a new one.
    env.wait_for(Duration::from_secs(15), |e| {
        e["event"] == "session-terminate-sent" && e["reason"] == "expired"
    })
    .unwrap_or_else(|| panic!("no expiry: {}", env.log()));
    let second = visit("Second", "6");
    assert!(second.ok, "{}", second.describe());
    env.command(&json!({"cmd": "stats"}));
    let stay = stay.wait();
    assert!(stay.ok, "{}", stay.describe());
    assert_eq!(stay.json["media_sessions"], 2, "{}", stay.describe());
    assert!(
        stay.stderr
            .contains("The conference ended the media session"),
        "{}",
        stay.describe()
    );
}

/// The endpoints `nick` has had, in order of joining.
fn endpoints_of(env: &JitsiEnv, nick: &str) -> Vec<String> {
    env.events_named("participant-joined")
        .iter()
        .filter(|e| e["nick"] == nick)
        .filter_map(|e| e["endpoint"].as_str().map(str::to_owned))
        .collect()
}

/// How many times the bridge saw `endpoint`'s media connect.
fn media_connections(env: &JitsiEnv, endpoint: &str) -> usize {
    env.events_named("connection-state")
        .iter()
        .filter(|e| e["endpoint"] == endpoint && e["state"] == "connected")
        .count()
}

/// The start of the recovery scenarios: Alice, recording to `heard`, and a witness in `link`'s
/// room (the focus offers media once two are in), until Alice's media is up. Returns them and
/// Alice's endpoint.
fn alice_with_a_witness(
    env: &JitsiEnv,
    link: &str,
    dir: &Path,
    heard: &Path,
) -> (Palabre, Palabre, String) {
    let alice = Palabre::spawn(
        link,
        "Alice",
        &dir.join("a"),
        &[
            "--record",
            heard.to_str().expect("utf-8"),
            "--seconds",
            "90",
        ],
    );
    let witness = Palabre::spawn(link, "Witness", &dir.join("w"), &["--seconds", "90"]);
    let endpoint = env
        .wait_for(Duration::from_secs(30), |_| {
            endpoints_of(env, "Alice")
                .first()
                .is_some_and(|first| media_connections(env, first) >= 1)
        })
        .map(|_| endpoints_of(env, "Alice").remove(0))
        .unwrap_or_else(|| panic!("Alice's media did not connect: {}", env.log()));
    (alice, witness, endpoint)
}

/// The end of the recovery scenarios: Bob says his speech to Alice, then Alice and the witness
/// leave; Alice's run, and her recording checked against Bob's speech (`what`).
fn bob_is_heard_then_all_leave(
    link: &str,
    dir: &Path,
    (mut alice, mut witness): (Palabre, Palabre),
    heard: &Path,
    what: &str,
) -> Run {
    let fr = common::data("speech_fr.wav");
    let bob = Palabre::spawn(
        link,
        "Bob",
        &dir.join("b"),
        &[
            "--input",
            fr.to_str().expect("utf-8"),
            "--wait-for",
            "Alice",
            "--no-gate",
        ],
    )
    .wait();
    assert!(bob.ok, "{}", bob.describe());
    alice.command("leave");
    witness.command("leave");
    let alice = alice.wait();
    assert!(witness.wait().ok);
    assert!(alice.ok, "{}", alice.describe());
    assert_speech(heard, "speech_fr.wav", what);
    alice
}

/// The bridge vanishes from under palabre's media (no Jingle said so): palabre notices, asks
/// the focus for a fresh session, and is heard again on it.
#[test]
fn lost_media_is_restarted_through_the_focus() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let mut env = JitsiEnv::start(&["--lone-timeout", "300"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Restart");
    let heard = dir.path().join("heard.wav");
    let (alice, witness, endpoint) = alice_with_a_witness(&env, &link, dir.path(), &heard);
    env.command(&json!({"cmd": "break-media", "endpoint": endpoint}));
    let restart = env
        .wait_for(Duration::from_secs(45), |e| {
            e["event"] == "session-terminate" && e["endpoint"] == endpoint && e["restart"] == true
        })
        .unwrap_or_else(|| panic!("no restart request: {}", env.log()));
    assert_eq!(restart["reason"], "connectivity-error", "{restart}");
    env.wait_for(Duration::from_secs(30), |_| {
        media_connections(&env, &endpoint) >= 2
    })
    .unwrap_or_else(|| panic!("the new session did not connect: {}", env.log()));
    let alice = bob_is_heard_then_all_leave(
        &link,
        dir.path(),
        (alice, witness),
        &heard,
        "Bob → Alice after the restart",
    );
    assert_eq!(alice.json["media_sessions"], 2, "{}", alice.describe());
    assert!(
        alice
            .stderr
            .contains("The audio connection is lost; asking the meeting for a new one"),
        "{}",
        alice.describe()
    );
}

/// The connection to the server drops (no closing handshake, as when a network goes away):
/// palabre rejoins by itself, as a new participant, and is heard again.
#[test]
fn a_lost_connection_is_rejoined() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let mut env = JitsiEnv::start(&["--ws-proxy"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let link = env.link("Rejoin");
    let heard = dir.path().join("heard.wav");
    let (alice, witness, _) = alice_with_a_witness(&env, &link, dir.path(), &heard);
    env.command(&json!({"cmd": "cut-websockets"}));
    env.wait_for(Duration::from_secs(10), |e| e["event"] == "websockets-cut")
        .unwrap_or_else(|| panic!("no cut: {}", env.log()));
    env.wait_for(Duration::from_secs(40), |_| {
        endpoints_of(&env, "Alice")
            .get(1)
            .is_some_and(|again| media_connections(&env, again) >= 1)
    })
    .unwrap_or_else(|| panic!("Alice did not rejoin: {}", env.log()));
    let alice = bob_is_heard_then_all_leave(
        &link,
        dir.path(),
        (alice, witness),
        &heard,
        "Bob → Alice after the rejoin",
    );
    assert_eq!(alice.json["reconnections"], 1, "{}", alice.describe());
    assert_eq!(alice.json["media_sessions"], 2, "{}", alice.describe());
    assert!(
        alice
            .stderr
            .contains("Rejoining the meeting in 1 s (attempt 1)"),
        "{}",
        alice.describe()
    );
}

/// The stand-in checks itself with its own independent peers: speech through the bridge,
/// source-add/remove, video to a client that wants it and none to an audio-only one, expiry,
/// password, lobby, occupant limit, login. If the stand-in is wrong, palabre's tests above
/// prove nothing; this makes that visible.
#[test]
fn the_stand_in_passes_its_own_self_test() {
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let out = Command::new(JitsiEnv::python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/jitsi/selftest.py"))
        .output()
        .expect("run the stand-in's self-test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

/// The window's side of a meeting with a password (the conference adapter, not through the
/// binary): without a password, then with a wrong one, it says a password is needed (and
/// whether the one given was wrong) before the meeting ends, in words the window translates.
#[test]
fn the_conference_asks_for_the_meeting_password() {
    use palabre::conference::{self, ConferenceEvent, Stage};
    use palabre::i18n::Phrase;
    use palabre::link::Link;
    use palabre::net::jitsi::driver::JitsiOptions;
    use std::sync::{Arc, mpsc};
    use std::time::Instant;

    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&["--room-password", "locked=secret"]);
    let Ok(Link::Jitsi(link)) = palabre::link::parse(&env.link("Locked")) else {
        panic!("the test meeting's link");
    };
    for (password, wrong, id) in [
        (None, false, "jitsi-password-required"),
        (Some("guess"), true, "jitsi-password-wrong"),
    ] {
        let options = JitsiOptions {
            link: link.clone(),
            display_name: "Zoé".into(),
            password: password.map(str::to_owned),
            login: None,
            ca_file: None,
            ice_loopback: true,
            audio_muted: false,
            audio_only: true,
            machine_uid: String::new(),
        };
        let (engine, _engine_rx) = mpsc::channel();
        let handle = conference::spawn_jitsi(
            options,
            Box::new(|options: &mut JitsiOptions| {
                options.machine_uid = "0123456789abcdef0123456789abcdef".into();
                None
            }),
            engine,
            Arc::new(|| {}),
        )
        .expect("conference thread");
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(event) = handle.events.recv_timeout(Duration::from_millis(100)) {
                let done = matches!(event, ConferenceEvent::Stage(Stage::Ended { .. }));
                events.push(event);
                if done {
                    break;
                }
            }
        }
        let needed = events
            .iter()
            .position(|e| *e == ConferenceEvent::PasswordNeeded { wrong });
        let ended = events.iter().position(|e| {
            matches!(e, ConferenceEvent::Stage(Stage::Ended { reason: Phrase::Message(said, _), failed: true }) if *said == id)
        });
        assert!(
            needed.is_some() && ended.is_some() && needed < ended,
            "{password:?}: {events:?}"
        );
    }
}
