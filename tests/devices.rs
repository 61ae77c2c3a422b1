//! The real device path (cpal → callbacks → rings → worker), run against a PulseAudio server
//! whose default sink is a null sink and whose default source is that sink's monitor: what
//! palabre plays comes back as its microphone input. `scripts/test` starts that server and sets
//! `PALABRE_REQUIRE_DEVICES=1`; without it these tests say why they are skipped.

mod common;

use std::process::Command;

use palabre::audio::wav::read_mono_48k;

/// The tests share one sink (and its monitor): one at a time.
static SINK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether a sound server is there; panics when it must be and is not.
fn devices_available() -> bool {
    let required = std::env::var("PALABRE_REQUIRE_DEVICES").is_ok_and(|v| v == "1");
    let server = std::env::var("PULSE_SERVER").is_ok();
    if required {
        assert!(
            server,
            "PALABRE_REQUIRE_DEVICES=1 but no PULSE_SERVER: run the tests through scripts/test"
        );
    } else if !server {
        eprintln!("skipped: no PULSE_SERVER (scripts/test starts one)");
    }
    server
}

fn palabre(args: &[&str]) -> (bool, String, String) {
    palabre_with(args, &[])
}

fn palabre_with(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run palabre");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rising zero crossings per second.
fn frequency(signal: &[f32]) -> f64 {
    let crossings = signal
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    crossings as f64 * 48_000.0 / signal.len() as f64
}

fn alloc_violations(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("realtime:"))
        .expect("realtime counters line");
    let value = line
        .split("alloc_violations=")
        .nth(1)
        .expect("alloc_violations field");
    value.trim().parse().expect("a number")
}

#[test]
fn devices_are_listed() {
    let _sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !devices_available() {
        return;
    }
    let (ok, stdout, stderr) = palabre(&["devices", "--json"]);
    assert!(ok, "{stderr}");
    let list: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON");
    for direction in ["inputs", "outputs"] {
        let devices = list[direction].as_array().expect("array");
        assert!(!devices.is_empty(), "no {direction}: {stdout}");
        assert!(
            devices.iter().any(|d| d["is_default"] == true),
            "no default {direction}: {stdout}"
        );
    }
    let (ok, text, _) = palabre(&["devices"]);
    assert!(
        ok && text.contains("Input devices:") && text.contains("(default)"),
        "{text}"
    );
}

#[test]
fn tone_played_comes_back_from_the_monitor() {
    // The default devices go through the PulseAudio client library.
    let Some(stderr) = tone_comes_back(&[]) else {
        return;
    };
    assert!(stderr.contains("microphone: "), "{stderr}");
    assert!(
        stderr.contains(" (PulseAudio)"),
        "not through PulseAudio: {stderr}"
    );
}

#[test]
fn tone_played_comes_back_through_alsa_too() {
    // cpal's ALSA path: the fallback where no PulseAudio server answers, and devices chosen by
    // name.
    let Some(stderr) = tone_comes_back(&[("PALABRE_AUDIO", "alsa")]) else {
        return;
    };
    assert!(stderr.contains("microphone: "), "{stderr}");
    assert!(
        !stderr.contains("(PulseAudio)"),
        "not through ALSA: {stderr}"
    );
}

/// Plays the test sound while recording the microphone (the sink's monitor) and checks the tone
/// came back; returns palabre's standard error (`None`: skipped, no sound server).
fn tone_comes_back(env: &[(&str, &str)]) -> Option<String> {
    let _sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !devices_available() {
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("monitor.wav");
    let (ok, _, stderr) = palabre_with(
        &[
            "test-sound",
            "--record",
            record.to_str().expect("utf-8"),
            "--seconds",
            "4",
        ],
        env,
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        alloc_violations(&stderr),
        0,
        "allocation in a real-time callback: {stderr}"
    );
    let samples = read_mono_48k(&record).expect("recording");
    // Find the loudest second: the 1 s tone, whenever the capture caught it.
    let second = 48_000;
    assert!(
        samples.len() > second,
        "recorded only {} samples",
        samples.len()
    );
    let best = (0..samples.len() - second)
        .step_by(480)
        .max_by(|a, b| {
            let e = |s: usize| samples[s..s + second].iter().map(|x| x * x).sum::<f32>();
            e(*a).total_cmp(&e(*b))
        })
        .expect("a window");
    let window = &samples[best + 2400..best + second - 2400];
    let f = frequency(window);
    let rms = (window.iter().map(|x| (x * x) as f64).sum::<f64>() / window.len() as f64).sqrt();
    eprintln!("tone back from the monitor: {f:.1} Hz, rms {rms:.3}");
    assert!((f - 440.0).abs() < 5.0, "frequency {f}");
    // Played at amplitude 0.25: RMS 0.177.
    assert!((rms - 0.177).abs() < 0.03, "rms {rms}");
    Some(stderr)
}

#[test]
fn live_echo_test_carries_speech_played_into_the_room() {
    let _sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !devices_available() {
        return;
    }
    // Someone speaks in the room (paplay into the sink, so the monitor "microphone" hears it)
    // while the live echo test runs; the speech must go through the whole chain.
    let echo = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(["echo-test", "--seconds", "6"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run palabre");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let mut speaker = Command::new("paplay")
        .arg(common::data("speech_en.wav"))
        .spawn()
        .expect("paplay (pulseaudio-utils) plays into the sink");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let _ = speaker.kill();
    let _ = speaker.wait();
    let out = echo.wait_with_output().expect("palabre ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        alloc_violations(&stderr),
        0,
        "allocation in a real-time callback: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("JSON line")).expect("JSON");
    eprintln!("live echo test: {summary}");
    assert!(
        summary["seconds"].as_f64().expect("seconds") > 3.0,
        "{summary}"
    );
    // Three seconds of speech at 20 ms per packet, minus pauses the gate keeps back.
    assert!(
        summary["packets_sent"].as_f64().expect("packets") > 50.0,
        "{summary}"
    );
}

#[test]
fn a_missing_device_is_named_with_the_alternatives() {
    let _sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !devices_available() {
        return;
    }
    let (ok, _, stderr) = palabre(&[
        "echo-test",
        "--seconds",
        "1",
        "--input-device",
        "No Such Microphone",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("No Such Microphone") && stderr.contains("available:"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn pactl(args: &[&str]) -> String {
    let out = Command::new("pactl")
        .args(args)
        .output()
        .expect("pactl (pulseaudio-utils)");
    assert!(
        out.status.success(),
        "pactl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Takes the null sink away, as if a USB headset were unplugged, then plugs it back.
fn unplug_and_replug_sink(away: std::time::Duration) {
    let modules = pactl(&["list", "short", "modules"]);
    let module = modules
        .lines()
        .find(|l| l.contains("module-null-sink"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the null sink module")
        .to_owned();
    pactl(&["unload-module", &module]);
    std::thread::sleep(away);
    pactl(&[
        "load-module",
        "module-null-sink",
        "sink_name=palabre_sink",
        "rate=48000",
        "channels=2",
        "sink_properties=device.description=palabre_null_sink",
    ]);
    pactl(&["set-default-sink", "palabre_sink"]);
    pactl(&["set-default-source", "palabre_sink.monitor"]);
}

#[test]
fn a_lost_device_is_reported_and_replaced_without_a_crash() {
    let _sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !devices_available() {
        return;
    }
    let echo = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .args(["echo-test", "--seconds", "14"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run palabre");
    std::thread::sleep(std::time::Duration::from_secs(4));
    unplug_and_replug_sink(std::time::Duration::from_secs(3));
    let out = echo.wait_with_output().expect("palabre ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lost = stderr
        .find("went away")
        .unwrap_or_else(|| panic!("loss not reported: {stderr}"));
    assert!(
        stderr[lost..].contains("microphone: "),
        "microphone not reopened: {stderr}"
    );
    assert!(
        stderr[lost..].contains("speakers: "),
        "speakers not reopened: {stderr}"
    );
    assert_eq!(alloc_violations(&stderr), 0, "{stderr}");
}

/// The level meter wakes the window at most 30 times a second, and only while a meter is
/// shown: the engine on the null sink, speech played into the room with `paplay` (the sink's
/// monitor is the microphone, so the level moves all the time), wake-ups counted apart from
/// those that came with an event.
#[test]
fn meters_wake_the_window_at_most_thirty_times_a_second() {
    use palabre::command::Command as EngineCommand;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};
    // The sink is shared: no other test plays into it meanwhile.
    let _sink = SINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !devices_available() {
        return;
    }
    let wakes = Arc::new(AtomicU64::new(0));
    let counter = wakes.clone();
    let engine = palabre::audio::engine::spawn(
        Default::default(),
        None,
        None,
        Box::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        }),
    );
    engine.commands.send(EngineCommand::SetActive(true)).ok();
    // Wake-ups over `seconds` of speech played into the room, less one per event the engine
    // sent.
    let speech = common::data("speech_en.wav");
    let measure = |seconds: u64| -> u64 {
        let mut player = Command::new("paplay")
            .arg(&speech)
            .spawn()
            .expect("paplay (pulseaudio-utils)");
        // The first words, then the measurement.
        std::thread::sleep(Duration::from_millis(500));
        let before = wakes.load(Ordering::Relaxed);
        let mut events = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(seconds) {
            while engine.events.try_recv().is_ok() {
                events += 1;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let woken = wakes.load(Ordering::Relaxed) - before;
        while engine.events.try_recv().is_ok() {
            events += 1;
        }
        player.kill().ok();
        player.wait().ok();
        woken.saturating_sub(events)
    };
    // Devices open, nothing shown yet: let them settle.
    std::thread::sleep(Duration::from_secs(1));
    while engine.events.try_recv().is_ok() {}
    engine.commands.send(EngineCommand::ShowMeters(true)).ok();
    let shown = measure(3);
    eprintln!("meter wake-ups in 3 s of speech: {shown}");
    assert!(
        shown <= 3 * 1000 / 33 + 2,
        "{shown} wake-ups for the meter in 3 s: more than 30 a second"
    );
    assert!(shown >= 10, "only {shown} wake-ups for a meter that moved");
    engine.commands.send(EngineCommand::ShowMeters(false)).ok();
    std::thread::sleep(Duration::from_millis(200));
    let hidden = measure(2);
    assert_eq!(hidden, 0, "the hidden meter woke the window {hidden} times");
    engine.commands.send(EngineCommand::Shutdown).ok();
}
