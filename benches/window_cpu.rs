//! CPU and memory of the real window (the release binary, drawing with Mesa's llvmpipe under
//! Xvfb, sound through the PulseAudio null sink), idle and in a Mumble call.
//!
//! `cargo bench --bench window_cpu` (a plain `main`). Needs `Xvfb`, `xdotool`, a sound server in
//! `PULSE_SERVER` (scripts/bench starts the null sink), and what the Mumble end-to-end tests need
//! (murmurd, the pymumble venv).
//!
//! 1. **Idle**: `palabre` on its home screen, untouched, for the window (30 s by default).
//! 2. **In a call**: `palabre mumble://bench@…/Test` opens the before-joining screen; `xdotool`
//!    clicks Join; a pymumble peer in the channel talks the whole time (speech, looped), so the
//!    window plays it, shows who speaks and updates the traffic line; palabre's microphone is the
//!    null sink's monitor (silence but for what it plays, which the echo canceller removes).
//! 3. **The official client in the same call**: Debian's Mumble (Qt) joins the same channel
//!    under the same Xvfb and sound server (`benches/official_mumble.py` answers its first-run
//!    questions beforehand and waits until it is in the channel), with a peer talking the same
//!    way; it only listens (push-to-talk with no key), as a user who has not spoken yet. Skipped
//!    when `mumble` is not installed.
//!
//! CPU is `utime + stime` of the whole process (all threads, Mesa's included) over the window,
//! from `/proc/PID/stat`; per-thread figures show where it goes. Memory is `VmRSS` at the end and
//! `VmHWM` (peak).
//!
//! Arguments (after `--`): `--window SECONDS`; `--no-official` leaves the official client out;
//! `--like-official` gives palabre's call the official client's settings in this bench: no echo
//! cancellation (Mumble 1.3.4's default), and push-to-talk with the key never pressed.
//! `--headset` gives palabre's call (default settings) a microphone that does not hear its
//! speakers: the monitor of a second null sink (`pactl`, Debian package pulseaudio-utils), as
//! a headset would. `--settle SECONDS` is how long the call runs after Join before it is
//! measured (6 by default; the echo canceller rests with a headset only after 15 s of the far
//! end's sound). `--official-echo` turns the official client's echo cancellation on (off by
//! default in Mumble 1.3.4), to compare the two clients both cancelling the echo.

#[path = "../tests/common/murmur.rs"]
mod murmur;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use murmur::{Murmur, Peer};
use palabre::audio::wav;

const PALABRE: &str = env!("CARGO_BIN_EXE_palabre");
/// Where Join is on the before-joining screen of a 900×640 window at (0, 0) (checked on the
/// screenshots in packaging/screenshots; the window manager-less Xvfb puts it at the origin).
const JOIN_BUTTON: (u32, u32) = (77, 198);

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process or thread, from its `stat` file.
fn ticks(stat_path: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn threads(pid: u32) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = std::fs::read_to_string(path.join("comm"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            if let Some(t) = ticks(&path.join("stat").to_string_lossy()) {
                *out.entry(name).or_default() += t;
            }
        }
    }
    out
}

fn status_mb(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(key))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Measure {
    cpu_percent: f64,
    rss_mb: f64,
    peak_mb: f64,
    top_threads: Vec<(String, f64)>,
}

fn measure(pid: u32, seconds: u64) -> Measure {
    let hz = ticks_per_second();
    let before = ticks(&format!("/proc/{pid}/stat")).unwrap_or(0);
    let threads_before = threads(pid);
    std::thread::sleep(Duration::from_secs(seconds));
    let after = ticks(&format!("/proc/{pid}/stat")).unwrap_or(0);
    let threads_after = threads(pid);
    let mut top: Vec<(String, f64)> = threads_after
        .iter()
        .map(|(name, t)| {
            let spent = t.saturating_sub(*threads_before.get(name).unwrap_or(&0));
            (name.clone(), spent as f64 / hz / seconds as f64 * 100.0)
        })
        .filter(|(_, percent)| *percent > 0.0)
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.truncate(5);
    Measure {
        cpu_percent: after.saturating_sub(before) as f64 / hz / seconds as f64 * 100.0,
        rss_mb: status_mb(pid, "VmRSS:"),
        peak_mb: status_mb(pid, "VmHWM:"),
        top_threads: top,
    }
}

/// The null sink whose monitor is the microphone with `--headset`.
const HEADSET_SINK: &str = "palabre_bench_headset";

fn window(
    display: &str,
    config: &std::path::Path,
    link: Option<&str>,
    microphone: Option<&str>,
) -> Child {
    let mut command = Command::new(PALABRE);
    if let Some(link) = link {
        command.arg(link);
    }
    if let Some(source) = microphone {
        // libpulse's default source for this client.
        command.env("PULSE_SOURCE", source);
    }
    command
        .env("DISPLAY", display)
        .env("PALABRE_CONFIG_DIR", config)
        // Each window its own single-instance socket: none hands its link to another.
        .env("PALABRE_INSTANCE_DIR", config.join("instance"))
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the window")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `--NAME SECONDS`, or `default`.
    let seconds_after = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let seconds = seconds_after("--window", 30);
    let settle = seconds_after("--settle", 6);
    let with_official = !args.iter().any(|a| a == "--no-official");
    let like_official = args.iter().any(|a| a == "--like-official");
    let headset = args.iter().any(|a| a == "--headset");
    let official_echo = args.iter().any(|a| a == "--official-echo");
    if std::env::var("PULSE_SERVER").is_err() {
        eprintln!("window_cpu: skipped, no PULSE_SERVER (scripts/bench starts the null sink)");
        return;
    }
    if !(Murmur::skip_unless_available() && Peer::skip_unless_available()) {
        return;
    }
    let display = format!(":{}", 150 + std::process::id() % 50);
    let mut xvfb = Command::new("Xvfb")
        .args([&display, "-screen", "0", "900x640x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (Debian package xvfb)");
    std::thread::sleep(Duration::from_secs(2));
    let dir = tempfile::tempdir().expect("tempdir");

    // 1. Idle.
    let mut idle = window(&display, &dir.path().join("idle"), None, None);
    std::thread::sleep(Duration::from_secs(5));
    let idle_figures = measure(idle.id(), seconds);
    idle.kill().ok();
    idle.wait().ok();

    // 2. In a call.
    let server = Murmur::builder().channel("Test").start();
    let speech = wav::read_mono_48k(&std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/speech_en.wav"
    )))
    .expect("speech");
    let mut long = Vec::new();
    while long.len() < 48_000 * (seconds + settle) as usize + 48_000 * 20 {
        long.extend_from_slice(&speech);
    }
    let talk = dir.path().join("talk.wav");
    wav::write_mono_48k(&talk, &long).expect("write the talk");
    let mut peer = server.peer(
        "talker",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "bench",
            "--send-wav",
            talk.to_str().expect("utf-8"),
            "--seconds",
            &(seconds + settle + 9).to_string(),
        ],
    );
    assert!(peer.wait_joined(Duration::from_secs(15)).is_some(), "peer");
    let link = format!("mumble://bench@127.0.0.1:{}/Test", server.port);
    let call_dir = dir.path().join("call");
    if like_official {
        std::fs::create_dir_all(&call_dir).expect("config directory");
        std::fs::write(
            call_dir.join("settings.toml"),
            "[audio]\necho_cancel = false\ntransmit = \"push-to-talk\"\n",
        )
        .expect("settings");
    }
    let headset_module = headset.then(|| {
        let out = Command::new("pactl")
            .args([
                "load-module",
                "module-null-sink",
                &format!("sink_name={HEADSET_SINK}"),
            ])
            .output()
            .expect("pactl (Debian package pulseaudio-utils)");
        assert!(
            out.status.success(),
            "pactl could not make the headset sink"
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    });
    let microphone = format!("{HEADSET_SINK}.monitor");
    let mut call = window(
        &display,
        &call_dir,
        Some(&link),
        headset.then_some(microphone.as_str()),
    );
    std::thread::sleep(Duration::from_secs(4));
    let clicked = Command::new("xdotool")
        .env("DISPLAY", &display)
        .args([
            "mousemove",
            &JOIN_BUTTON.0.to_string(),
            &JOIN_BUTTON.1.to_string(),
            "click",
            "1",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        clicked,
        "xdotool (Debian package xdotool) could not click Join"
    );
    std::thread::sleep(Duration::from_secs(settle));
    let call_figures = measure(call.id(), seconds);
    // The peer stops talking and leaves: the window alone in the channel.
    let peer = peer.wait();
    let alone_figures = measure(call.id(), seconds);
    call.kill().ok();
    call.wait().ok();
    if let Some(module) = headset_module {
        Command::new("pactl")
            .args(["unload-module", &module])
            .status()
            .ok();
    }
    let joined = peer.users_seen().contains(&"bench".to_owned());

    // 3. The official client, in the same call.
    let official = with_official
        .then(|| official_client(&display, &server, &talk, seconds, official_echo, dir.path()))
        .flatten();
    xvfb.kill().ok();
    xvfb.wait().ok();

    println!("### The window, idle and in a Mumble call ({seconds} s each)");
    println!();
    if like_official {
        println!(
            "palabre's call with the official client's settings here: no echo cancellation, \
             push-to-talk never pressed."
        );
        println!();
    }
    if official_echo {
        println!("The official client cancels echo (audio/echo=true; off by default).");
        println!();
    }
    if headset {
        println!(
            "palabre's call with a headset: its microphone does not hear its speakers \
             (default settings); measured from {settle} s after Join."
        );
        println!();
    }
    println!(
        "| state | CPU % of one core | RSS MB (end) | peak RSS MB | busiest threads (% of a core) |"
    );
    println!("|---|---|---|---|---|");
    let mut rows = vec![
        ("idle, home screen".to_owned(), &idle_figures),
        ("in a call, someone talking".to_owned(), &call_figures),
        ("in a call, alone and silent".to_owned(), &alone_figures),
    ];
    if let Some((version, talking, alone)) = &official {
        rows.push((
            format!("official Mumble {version}, same call, someone talking"),
            talking,
        ));
        rows.push((
            format!("official Mumble {version}, alone and silent"),
            alone,
        ));
    }
    for (label, m) in rows {
        let top: Vec<String> = m
            .top_threads
            .iter()
            .map(|(name, p)| format!("{name} {p:.2}"))
            .collect();
        println!(
            "| {label} | {:.2} | {:.0} | {:.0} | {} |",
            m.cpu_percent,
            m.rss_mb,
            m.peak_mb,
            top.join(", ")
        );
    }
    println!();
    println!(
        "The peer {} the window in the channel; it heard {:.1} s from it.",
        if joined { "saw" } else { "did NOT see" },
        peer.received_audio_seconds()
    );
    if official.is_none() {
        println!("The official client was not measured (see above).");
    }
}

/// Runs Debian's Mumble client in the call and measures it like the window: `(version, while
/// the peer talks, once the peer has left)`, or `None` (said on stderr) when it is not
/// installed or did not get in.
fn official_client(
    display: &str,
    server: &Murmur,
    talk: &std::path::Path,
    seconds: u64,
    echo: bool,
    dir: &std::path::Path,
) -> Option<(String, Measure, Measure)> {
    let version = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "mumble"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|version| !version.is_empty());
    let Some(version) = version else {
        eprintln!("window_cpu: the official client is not installed (Debian package mumble)");
        return None;
    };
    let mut peer = server.peer(
        "talker",
        &[
            "--channel",
            "Test",
            "--wait-for",
            "official",
            "--send-wav",
            talk.to_str().expect("utf-8"),
            "--seconds",
            &(seconds + 25).to_string(),
        ],
    );
    assert!(peer.wait_joined(Duration::from_secs(15)).is_some(), "peer");
    let link = format!("mumble://official@127.0.0.1:{}/Test", server.port);
    let home = dir.join("official");
    let mut client = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/official_mumble.py"
        ))
        .args(["--display", display, "--link", &link, "--home"])
        .arg(&home)
        .args(echo.then_some("--echo"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    if let Some(stdout) = client.stdout.take() {
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).ok();
    }
    let started: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
    let pid = started["pid"]
        .as_u64()
        .filter(|_| started["connected"] == true);
    let talking = pid.map(|pid| {
        std::thread::sleep(Duration::from_secs(6));
        measure(pid as u32, seconds)
    });
    let peer = peer.wait();
    let alone = pid.map(|pid| measure(pid as u32, seconds));
    client.kill().ok();
    client.wait().ok();
    let figures = talking.zip(alone);
    if figures.is_none() {
        eprintln!("window_cpu: the official client did not get into the call: {line}");
    }
    println!(
        "The peer {} the official client; it heard {:.1} s from it.",
        if peer.users_seen().contains(&"official".to_owned()) {
            "saw"
        } else {
            "did NOT see"
        },
        peer.received_audio_seconds()
    );
    figures.map(|(talking, alone)| (version, talking, alone))
}
