//! Jitsi Meet calls through real Prosody and the slixmpp/aiortc stand-in for jicofo and the
//! videobridge (`tests/peers/jitsi/`): bandwidth up and down in audio-only mode, speech quality,
//! the time from the command to audio flowing, and the CPU and memory of a headless palabre.
//!
//! `cargo bench --bench jitsi_call` (a plain `main`). It needs what the end-to-end tests need
//! (`prosody`, the test venv with slixmpp and aiortc) and, for PESQ, the bench venv
//! (`scripts/bench` prepares both). Every client is the release binary, run as
//! `palabre join http://127.0.0.1:PORT/Room --headless --ice-loopback`.
//!
//! 1. **Bandwidth and quality.** Per preset, and with settings like a browser's (Opus
//!    32 kbit/s in 20 ms packets, no gate), Alice sends each speech file to Bob. Alice's UDP
//!    bytes sent (payload plus IPv4 and UDP headers: RTP, RTCP, ICE and the bridge channel)
//!    are divided by the file's duration; so are Bob's bytes received. Bob's recording is scored
//!    against the file with wideband PESQ. The stand-in bridge decodes and re-encodes what it
//!    relays (aiortc cannot forward RTP as the real bridge does), so the PESQ figures include a
//!    second encoding: they are lower bounds of what a real bridge gives. A 20 s run without
//!    input gives the cost of silence.
//! 2. **Time to audio.** From starting `palabre join` (with someone already in the room) to its
//!    "Audio connected." line: discovery, XMPP, conference request, room, Jingle, ICE and DTLS.
//! 3. **CPU and memory.** Two clients talking all the time (the speech files looped): over a 60 s
//!    window, `utime + stime` from `/proc/PID/stat`, and `VmHWM` from `/proc/PID/status`, of
//!    one of them.
//!
//! Arguments (after `--`): `--skip-bandwidth`, `--skip-call`, `--window SECONDS`.

#[path = "../tests/common/jitsi.rs"]
mod jitsi;
#[path = "common/pesq.rs"]
mod pesq;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jitsi::JitsiEnv;
use palabre::audio::wav;
use pesq::{pesq_pair, pesq_python};
use serde_json::Value;

const PALABRE: &str = env!("CARGO_BIN_EXE_palabre");
const SPEECH: [&str; 2] = ["speech_en.wav", "speech_fr.wav"];
/// A browser's audio in a Jitsi call (brief, issue 6): Opus ≈ 32 kbit/s plus ≈ 27 kbit/s of
/// packet overhead at 20 ms.
const BROWSER_WIRE_KBPS: f64 = 59.0;

struct Setting {
    label: &'static str,
    args: &'static [&'static str],
}

const SETTINGS: [Setting; 3] = [
    Setting {
        label: "sober",
        args: &["--preset", "sober"],
    },
    Setting {
        label: "standard",
        args: &["--preset", "standard"],
    },
    Setting {
        label: "browser-like (32 kbit/s, 20 ms, no gate)",
        args: &[
            "--bitrate",
            "32",
            "--frame-ms",
            "20",
            "--no-gate",
            "--no-denoise",
        ],
    },
];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

struct Client {
    child: Child,
    stderr: Arc<Mutex<Vec<(Instant, String)>>>,
    stderr_thread: Option<std::thread::JoinHandle<()>>,
    _config: tempfile::TempDir,
}

impl Client {
    fn start(link: &str, name: &str, args: &[&str]) -> Client {
        let config = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(PALABRE)
            .args(["join", link, "--headless", "--name", name, "--ice-loopback"])
            .args(args)
            .env("PALABRE_CONFIG_DIR", config.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start palabre");
        let stderr = child.stderr.take().expect("stderr");
        let lines: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let thread = {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().expect("lines").push((Instant::now(), line));
                }
            })
        };
        Client {
            child,
            stderr: lines,
            stderr_thread: Some(thread),
            _config: config,
        }
    }

    fn line_at(&self, text: &str) -> Option<Instant> {
        self.stderr
            .lock()
            .expect("lines")
            .iter()
            .find(|(_, line)| line.contains(text))
            .map(|(at, _)| *at)
    }

    fn wait(mut self) -> Value {
        let out = self.child.wait_with_output().expect("wait");
        if let Some(thread) = self.stderr_thread.take() {
            thread.join().ok();
        }
        let json = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or(Value::Null);
        if !out.status.success() {
            let log: Vec<String> = self
                .stderr
                .lock()
                .expect("lines")
                .iter()
                .map(|(_, l)| l.clone())
                .collect();
            eprintln!("jitsi_call: a client failed: {json}\n{}", log.join("\n"));
        }
        json
    }
}

fn count(json: &Value, path: &[&str]) -> f64 {
    let mut value = json;
    for key in path {
        value = &value[*key];
    }
    value.as_f64().unwrap_or(0.0)
}

fn duration_of(path: &Path) -> f64 {
    wav::read_mono_48k(path).map_or(0.0, |s| s.len() as f64 / 48_000.0)
}

/// Alice sends `speech` (with `args`) to Bob, who records it to `record` when given.
fn talk(link: String, args: &[&str], speech: &str, record: Option<&Path>) -> (Value, Value, ()) {
    let mut alice_args: Vec<&str> = vec!["--wait-for", "Bob", "--seconds", "22"];
    alice_args.extend_from_slice(args);
    alice_args.extend_from_slice(&["--input", speech]);
    let alice = Client::start(&link, "Alice", &alice_args);
    let record_arg = record.map(|p| p.to_str().expect("utf-8").to_owned());
    let mut bob_args: Vec<&str> = vec!["--seconds", "22"];
    if let Some(record) = &record_arg {
        bob_args.extend_from_slice(&["--record", record]);
    }
    let bob = Client::start(&link, "Bob", &bob_args);
    (alice.wait(), bob.wait(), ())
}

fn bandwidth_and_quality(env: &JitsiEnv) {
    let python = pesq_python();
    if python.is_none() {
        eprintln!(
            "jitsi_call: no python with numpy and pesq (scripts/bench prepares it): PESQ not measured"
        );
    }
    println!(
        "\n## Audio-only Jitsi call through the stand-in bridge: wire bandwidth and quality\n"
    );
    println!(
        "| setting | file | up kbit/s (wire) | down kbit/s (wire) | PESQ WB | silence up / down kbit/s |"
    );
    println!("|---|---|---|---|---|---|");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut room = 0;
    let mut next_link = || {
        room += 1;
        env.link(&format!("Bench{room}"))
    };
    for setting in &SETTINGS {
        // Silence first: both there, nobody talks (RTCP, ICE keep-alives, the bridge channel).
        let link = next_link();
        let mut args: Vec<&str> = vec!["--seconds", "20"];
        args.extend_from_slice(setting.args);
        let alice = Client::start(&link, "Alice", &args);
        let bob = Client::start(&link, "Bob", &["--seconds", "20"]);
        let alice = alice.wait();
        let _ = bob.wait();
        let stay = count(&alice, &["seconds"]).max(1.0);
        let silent_up = count(&alice, &["wire_bytes_sent"]) * 8.0 / 1000.0 / stay;
        let silent_down = count(&alice, &["wire_bytes_received"]) * 8.0 / 1000.0 / stay;
        for file in SPEECH {
            let speech = data(file);
            let seconds = duration_of(&speech);
            let speech_arg = speech.to_str().expect("utf-8").to_owned();
            // Bandwidth: the setting as it is (noise gate included).
            let (alice, bob, _) = talk(next_link(), setting.args, &speech_arg, None);
            let alice_stay = count(&alice, &["seconds"]).max(seconds);
            let bob_stay = count(&bob, &["seconds"]).max(seconds);
            let up = (count(&alice, &["wire_bytes_sent"]) * 8.0 / 1000.0
                - silent_up * (alice_stay - seconds))
                / seconds;
            let down = (count(&bob, &["wire_bytes_received"]) * 8.0 / 1000.0
                - silent_down * (bob_stay - seconds))
                / seconds;
            // Quality: the same without the gate, since the stand-in (decoding and re-encoding
            // what it relays) closes up the pauses the gate leaves, which a real bridge does not.
            let record = dir
                .path()
                .join(format!("bob-{}-{file}", setting.label.len()));
            let mut ungated: Vec<&str> = setting.args.to_vec();
            if !ungated.contains(&"--no-gate") {
                ungated.push("--no-gate");
            }
            let _ = talk(next_link(), &ungated, &speech_arg, Some(&record));
            let score = python
                .as_deref()
                .and_then(|python| pesq_pair(python, &speech, &record))
                .map_or("—".to_owned(), |(pesq, _)| format!("{pesq:.2}"));
            println!(
                "| {} | {file} ({seconds:.1} s) | {up:.1} | {down:.1} | {score} | {silent_up:.2} / {silent_down:.2} |",
                setting.label
            );
        }
    }
    println!(
        "\nA browser's audio in the same call: ≈ {BROWSER_WIRE_KBPS:.0} kbit/s each way while \
         talking (brief). Down figures and the silence down figure are the stand-in's: it \
         re-encodes what it relays at aiortc's own bitrate and sends during silence, where a real \
         bridge forwards the sender's packets (down ≈ the sender's up) and nothing in silence. \
         PESQ is measured without the noise gate and includes the stand-in's second encoding."
    );
}

fn proc_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

fn proc_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with(key))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn time_to_audio_and_cost(env: &JitsiEnv, window: u64) {
    println!("\n## Time to audio, CPU and memory (headless, release build)\n");
    let dir = tempfile::tempdir().expect("tempdir");
    // A long speech file: both files, six times.
    let mut long = Vec::new();
    for _ in 0..6 {
        for file in SPEECH {
            long.extend(wav::read_mono_48k(&data(file)).expect("speech"));
        }
    }
    let long_path = dir.path().join("long.wav");
    wav::write_mono_48k(&long_path, &long).expect("write");
    let long_arg = long_path.to_str().expect("utf-8").to_owned();
    let seconds = (window + 25).to_string();
    let link = env.link("Cost");
    let first = Client::start(
        &link,
        "First",
        &["--input", &long_arg, "--seconds", &seconds],
    );
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    let second = Client::start(
        &link,
        "Second",
        &["--input", &long_arg, "--seconds", &seconds],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut connected = None;
    while Instant::now() < deadline && connected.is_none() {
        connected = second.line_at("Audio connected.");
        std::thread::sleep(Duration::from_millis(20));
    }
    match connected {
        Some(at) => println!(
            "- from `palabre join` to audio flowing: {:.0} ms",
            at.duration_since(started).as_secs_f64() * 1000.0
        ),
        None => println!("- audio never connected within 30 s"),
    }
    std::thread::sleep(Duration::from_secs(5));
    let pid = second.child.id();
    let cpu_start = proc_cpu_seconds(pid);
    let wall_start = Instant::now();
    std::thread::sleep(Duration::from_secs(window));
    let cpu = proc_cpu_seconds(pid) - cpu_start;
    let wall = wall_start.elapsed().as_secs_f64();
    let hwm = proc_kib(pid, "VmHWM:");
    let rss = proc_kib(pid, "VmRSS:");
    println!(
        "- one client in a two-way call, both talking all the time: CPU {:.1} % of one core over {:.0} s, \
         peak resident memory {:.1} MB (now {:.1} MB)",
        cpu / wall * 100.0,
        wall,
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    let a = first.wait();
    let b = second.wait();
    println!(
        "- audio packets received: {} and {}; frames concealed: {} and {}",
        count(&a, &["traffic", "audio_packets_received"]),
        count(&b, &["traffic", "audio_packets_received"]),
        count(&a, &["frames_concealed"]),
        count(&b, &["frames_concealed"])
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let window = args
        .iter()
        .position(|a| a == "--window")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    if !JitsiEnv::skip_unless_available() {
        return;
    }
    let env = JitsiEnv::start(&[]);
    if !args.iter().any(|a| a == "--skip-bandwidth") {
        bandwidth_and_quality(&env);
    }
    if !args.iter().any(|a| a == "--skip-call") {
        time_to_audio_and_cost(&env, window);
    }
}
