//! Self-test of the end-to-end infrastructure (tests/common/murmur.rs and
//! tests/peers/pymumble_peer.py), without palabre's client: a real murmurd and two independent
//! pymumble peers. `scripts/test` installs murmurd, prepares the peers' venv and sets
//! `PALABRE_REQUIRE_SERVERS=1`; without them these tests say why they are skipped.

#[path = "common/murmur.rs"]
mod murmur;

use std::path::Path;
use std::time::{Duration, Instant};

use murmur::{Murmur, Peer};

const RATE: usize = 48_000;

fn servers_and_peers_available() -> bool {
    Murmur::skip_unless_available() && Peer::skip_unless_available()
}

/// Writes `seconds` of a `frequency` Hz sine at `amplitude` (of full scale), 48 kHz mono 16-bit.
fn write_tone(path: &Path, frequency: f64, amplitude: f64, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(path, spec).expect("create tone WAV");
    for i in 0..(seconds * RATE as f64) as usize {
        let t = i as f64 / RATE as f64;
        let s = amplitude * (2.0 * std::f64::consts::PI * frequency * t).sin();
        wav.write_sample((s * 32767.0).round() as i16)
            .expect("write sample");
    }
    wav.finalize().expect("finish tone WAV");
}

fn read_wav(path: &Path) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).expect("open the recording");
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, RATE as u32, 16),
        "recording format"
    );
    reader
        .samples::<i16>()
        .map(|s| s.expect("sample") as f32 / 32768.0)
        .collect()
}

/// Rising zero crossings per second.
fn frequency(signal: &[f32]) -> f64 {
    let crossings = signal
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    crossings as f64 * RATE as f64 / signal.len() as f64
}

fn rms(signal: &[f32]) -> f64 {
    (signal.iter().map(|x| (x * x) as f64).sum::<f64>() / signal.len().max(1) as f64).sqrt()
}

#[test]
fn two_peers_exchange_voice_and_text() {
    if !servers_and_peers_available() {
        return;
    }
    let started = Instant::now();
    let server = Murmur::builder().channel("Test").start();
    eprintln!(
        "server up on port {} in {:?}",
        server.port,
        started.elapsed()
    );
    let info = server.ping().expect("UDP ping answer");
    assert_eq!((info.max_users, info.bandwidth), (10, 72_000), "{info:?}");
    assert_eq!(info.version >> 16, 1, "{info:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let tone = dir.path().join("tone.wav");
    let record = dir.path().join("bob.wav");
    write_tone(&tone, 440.0, 0.35, 2.0);
    let bob = server.peer(
        "bob",
        &[
            "--channel",
            "Test",
            "--record-wav",
            record.to_str().expect("utf-8"),
            "--expect-text",
            "hello from alice",
            "--seconds",
            "15",
            "--idle-exit",
            "1",
        ],
    );
    let alice = server
        .peer(
            "alice",
            &[
                "--channel",
                "Test",
                "--wait-for",
                "bob",
                "--say",
                "hello from alice",
                "--send-wav",
                tone.to_str().expect("utf-8"),
                "--seconds",
                "0",
            ],
        )
        .wait();
    let bob = bob.wait();
    let log = server.log();
    assert!(alice.success(), "alice: {}\n{log}", alice.describe());
    assert!(bob.success(), "bob: {}\n{log}", bob.describe());
    eprintln!("alice: {}", alice.json);
    eprintln!("bob: {}", bob.json);
    assert_eq!(alice.json["channel"], "Test");
    assert_eq!(alice.json["sent_audio_seconds"], 2.0);
    assert!(alice.users_seen().contains(&"bob".to_owned()));
    assert!(bob.users_seen().contains(&"alice".to_owned()));
    assert_eq!(bob.received_text(), ["hello from alice"], "{}", bob.json);
    assert_eq!(bob.json["received_messages"][0]["from"], "alice");
    let heard = bob.received_audio_seconds();
    assert!((1.9..=2.2).contains(&heard), "bob heard {heard} s");
    assert_eq!(bob.json["audio_by_user"]["alice"].as_f64(), Some(heard));

    let samples = read_wav(&record);
    // The tone must be there, at its pitch, in one piece (the recorder keeps a speaker's stream
    // contiguous): 10 ms frames louder than -30 dBFS from the first to the last.
    let frames: Vec<f64> = samples.chunks(RATE / 100).map(rms).collect();
    let loud: Vec<usize> = (0..frames.len()).filter(|i| frames[*i] > 0.03).collect();
    let (first, last) = (
        *loud.first().expect("no audio in the recording"),
        *loud.last().expect("audio"),
    );
    let span = (last - first + 1) as f64 / 100.0;
    eprintln!(
        "recording: {:.2} s, tone from {:.2} s for {span:.2} s, {} loud frames",
        samples.len() as f64 / RATE as f64,
        first as f64 / 100.0,
        loud.len()
    );
    assert!((1.9..=2.2).contains(&span), "tone spans {span} s");
    assert!(
        loud.len() as f64 >= 0.97 * span * 100.0,
        "gaps in the tone: {} loud frames over {span} s",
        loud.len()
    );
    let middle = &samples[(first + 20) * RATE / 100..(last - 20) * RATE / 100];
    let f = frequency(middle);
    let level = rms(middle);
    eprintln!("tone received: {f:.1} Hz, rms {level:.3} (sent 0.247)");
    assert!((f - 440.0).abs() < 3.0, "frequency {f}");
    assert!((level - 0.35 / 2f64.sqrt()).abs() < 0.05, "rms {level}");
    eprintln!("voice and text test took {:?}", started.elapsed());
}

#[test]
fn killed_server_restarts_on_the_same_port() {
    if !servers_and_peers_available() {
        return;
    }
    let started = Instant::now();
    let mut server = Murmur::start(&[]);
    let port = server.port;
    let cert = server.served_cert_sha1();
    assert_eq!(cert, server.cert_sha1());

    // A peer in a "call" when the server dies sees the connection drop, at once.
    let mut carol = server.peer("carol", &["--seconds", "20"]);
    let joined = carol.wait_joined(Duration::from_secs(10));
    assert!(
        joined.is_some(),
        "carol never joined: {}",
        carol.wait().describe()
    );
    assert_eq!(server.ping().map(|info| info.users), Some(1));
    server.kill();
    let killed = Instant::now();
    let carol = carol.wait();
    let left = killed.elapsed();
    eprintln!("carol left {left:?} after the kill: {}", carol.json);
    assert!(
        carol.json["connected"] == true && carol.disconnected(),
        "{}",
        carol.describe()
    );
    assert!(
        left < Duration::from_secs(3),
        "carol noticed after {left:?}"
    );
    assert!(
        murmur::udp_ping(port, Duration::from_millis(300)).is_none(),
        "a killed server answers pings"
    );

    server.restart();
    assert_eq!(server.port, port);
    assert!(server.ping().is_some(), "no UDP answer after restart");
    assert_eq!(
        server.served_cert_sha1(),
        cert,
        "restart changed the certificate"
    );
    let dave = server.peer("dave", &["--seconds", "0"]).wait();
    assert!(dave.success(), "{}\n{}", dave.describe(), server.log());

    // A clean stop and start again, too.
    server.stop();
    assert!(
        murmur::udp_ping(port, Duration::from_millis(300)).is_none(),
        "a stopped server answers pings"
    );
    server.restart();
    let erin = server.peer("erin", &["--seconds", "0"]).wait();
    assert!(erin.success(), "{}\n{}", erin.describe(), server.log());
    assert!(server.log().contains("Caught SIGTERM"), "{}", server.log());
    eprintln!("kill and restart test took {:?}", started.elapsed());
}

#[test]
fn restart_with_new_cert_changes_the_served_certificate() {
    if !Murmur::skip_unless_available() {
        return;
    }
    let started = Instant::now();
    // Extra ini keys win over the defaults.
    let mut server = Murmur::start(&[("users", "3"), ("bandwidth", "40000")]);
    let info = server.ping().expect("UDP ping answer");
    assert_eq!((info.max_users, info.bandwidth), (3, 40_000), "{info:?}");
    let port = server.port;
    let before = server.served_cert_sha1();
    assert_eq!(before, server.cert_sha1());
    server.restart_with_new_cert();
    let after = server.served_cert_sha1();
    assert_eq!(server.port, port);
    assert_ne!(before, after, "the certificate did not change");
    assert_eq!(after, server.cert_sha1());

    // And back to a given certificate.
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    murmur::generate_cert(&cert, &key);
    let expected = murmur::sha1_hex(&murmur::pem_cert_der(&cert));
    server.restart_with_cert(&cert, &key);
    assert_eq!(server.served_cert_sha1(), expected);
    eprintln!("certificate test took {:?}", started.elapsed());
}

#[test]
fn murmurd_own_certificate_survives_restart() {
    if !Murmur::skip_unless_available() {
        return;
    }
    let mut server = Murmur::builder()
        .murmurd_cert()
        .superuser_password(None)
        .start();
    assert!(server.cert_path().is_none());
    let before = server.served_cert_sha1();
    server.kill();
    server.restart();
    assert_eq!(server.served_cert_sha1(), before);
    assert!(
        server.log().contains("Generating new server certificate"),
        "{}",
        server.log()
    );
}
