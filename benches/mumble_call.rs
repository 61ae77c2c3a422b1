//! Mumble calls through a real murmurd: bandwidth on the wire, speech quality, and the CPU and
//! memory of a headless palabre in a three-client call.
//!
//! `cargo bench --bench mumble_call` (no criterion: a plain `main`). It needs what the end-to-end
//! tests need (murmurd, openssl, and the pymumble venv that creates the channel; see
//! `tests/common/murmur.rs`), and for PESQ the bench venv (`target/bench-venv`, or
//! `PALABRE_BENCH_PYTHON`) that `scripts/bench` prepares. Every client is the release binary that
//! `cargo bench` builds (`CARGO_BIN_EXE_palabre`), run as `palabre join … --headless`.
//!
//! 1. **Bandwidth and quality.** Per setting (the three presets, and the official client's
//!    default of 40 kbit/s in 20 ms packets reproduced with palabre), alice sends each speech file
//!    to bob in one channel over UDP and bob records. Alice's `udp.wire_bytes_sent` (UDP payload
//!    plus IPv4 and UDP headers, her pings included) is divided by the time she talked (voice
//!    packets × frame length: gated pauses are not counted) and by the file's duration. Bob's
//!    recording is scored against the file with wideband PESQ (`benches/pesq_pair.py`, which
//!    aligns the two first). A separate 20 s run per setting without input gives the cost of
//!    silence (pings only).
//! 2. **CPU and memory.** Three clients (preset `standard`, headless defaults) in one channel,
//!    each sending speech all the time (both files looped, each client starting at another
//!    point; only the pauses inside the speech are gated) and recording the others. Over a 60 s window, `utime + stime` of each process from
//!    `/proc/PID/stat` gives its CPU time; `VmHWM` and `VmRSS` come from `/proc/PID/status`.
//!
//! Arguments (after `--`): `--skip-bandwidth`, `--skip-call`, `--window SECONDS` (default 60).

#[path = "../tests/common/murmur.rs"]
mod murmur;
#[path = "common/pesq.rs"]
mod pesq;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use murmur::{Murmur, Peer};
use palabre::audio::wav;
use pesq::{pesq_pair, pesq_python};
use serde_json::Value;

/// The binary `cargo bench` built with the bench profile (release).
const PALABRE: &str = env!("CARGO_BIN_EXE_palabre");
const SPEECH: [&str; 2] = ["speech_en.wav", "speech_fr.wav"];
/// How long each silence run lasts.
const SILENCE_SECONDS: f64 = 20.0;
/// The CPU and memory window of the three-client call, seconds (`--window N` to change it).
const CALL_WINDOW_SECONDS: u64 = 60;
/// Per-user bandwidth the server allows, bit/s: Mumble 1.4's default, so that no preset is capped
/// (murmurd 1.3.4's 72 000 would cap `high`: 64 kbit/s in 20 ms packets is 78.8 kbit/s by the
/// official formula).
const SERVER_BANDWIDTH: &str = "558000";
/// The official client's default, by its own formula (brief §2): 40 kbit/s + (35 + 2) × 400.
const MUMBLE_DEFAULT_WIRE_KBPS: f64 = 54.8;
const CHANNEL: &str = "Bench";

/// One send setting.
struct Setting {
    label: &'static str,
    args: &'static [&'static str],
}

const SETTINGS: [Setting; 4] = [
    Setting {
        label: "sober",
        args: &["--preset", "sober"],
    },
    Setting {
        label: "standard",
        args: &["--preset", "standard"],
    },
    Setting {
        label: "high",
        args: &["--preset", "high"],
    },
    Setting {
        label: "Mumble default settings (40 kbit/s, 20 ms)",
        args: &["--bitrate", "40", "--frame-ms", "20", "--no-denoise"],
    },
];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A running `palabre join … --headless`, its output read on threads.
struct Client {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    /// Stderr so far (for error messages while it runs).
    seen: Arc<Mutex<String>>,
    _config: tempfile::TempDir,
}

/// How a client ended.
struct Ended {
    ok: bool,
    json: Value,
    stderr: String,
}

impl Client {
    fn spawn(port: u16, name: &str, args: &[&str]) -> Client {
        let config = tempfile::Builder::new()
            .prefix("palabre-bench-")
            .tempdir()
            .expect("temporary directory");
        let mut child = Command::new(PALABRE)
            .args(["join", &format!("mumble://127.0.0.1:{port}/{CHANNEL}")])
            .args(["--headless", "--name", name])
            .args(args)
            .env("PALABRE_CONFIG_DIR", config.path())
            .env("RUST_LOG", "palabre=info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {PALABRE}: {e}"));
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().expect("stdout is piped");
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        let err = child.stderr.take().expect("stderr is piped");
        let seen = Arc::new(Mutex::new(String::new()));
        let seen_by_reader = Arc::clone(&seen);
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                text.push_str(&line);
                text.push('\n');
                if let Ok(mut seen) = seen_by_reader.lock() {
                    seen.push_str(&line);
                    seen.push('\n');
                }
            }
            text
        });
        Client {
            name: name.to_owned(),
            child,
            stdin,
            stdout: Some(stdout),
            stderr: Some(stderr),
            seen,
            _config: config,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until its stderr (from the start) contains `needle`; false if the client ended or
    /// `timeout` passed first.
    fn wait_line(&mut self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.stderr_so_far().contains(needle) {
                return true;
            }
            let running = matches!(self.child.try_wait(), Ok(None));
            if !running || Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr_so_far(&self) -> String {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Panics with what the client said so far unless a stderr line contains `needle` within
    /// `timeout`.
    fn expect_line(&mut self, needle: &str, timeout: Duration) {
        if !self.wait_line(needle, timeout) {
            panic!(
                "{}: no “{needle}” within {timeout:?}\n--- stderr ---\n{}",
                self.name,
                self.stderr_so_far()
            );
        }
    }

    /// Asks it to leave (a `leave` line on its standard input).
    fn leave(&mut self) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "leave");
            let _ = stdin.flush();
        }
    }

    /// Waits for its end (killed after `timeout`) and parses its JSON line.
    fn wait(mut self, timeout: Duration) -> Ended {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break Some(status);
            }
            if Instant::now() > deadline {
                eprintln!("{}: still running after {timeout:?}, killed", self.name);
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let json = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        Ended {
            ok: status.is_some_and(|s| s.success()),
            json,
            stderr,
        }
    }
}

impl Ended {
    fn expect_ok(self, who: &str) -> Ended {
        assert!(
            self.ok && self.json.is_object(),
            "{who} failed: json={}\n--- stderr ---\n{}",
            self.json,
            self.stderr
        );
        self
    }

    fn u64(&self, path: &[&str]) -> u64 {
        let mut value = &self.json;
        for key in path {
            value = &value[*key];
        }
        value.as_u64().unwrap_or(0)
    }

    fn f64(&self, key: &str) -> f64 {
        self.json[key].as_f64().unwrap_or(0.0)
    }
}

/// The official client's wire bandwidth for `bitrate` bit/s in `frame_ms` packets
/// (`AudioInput::getNetworkBandwidth`, brief §2), in kbit/s.
fn mumble_formula_kbps(bitrate: u64, frame_ms: u64) -> f64 {
    let frames = (frame_ms / 10).max(1);
    let overhead = 20 + 8 + 4 + 1 + 2 + frames;
    (bitrate + overhead * (800 / frames)) as f64 / 1000.0
}

/// One speech run of part 1.
struct SpeechRun {
    speech_seconds: f64,
    talk_seconds: f64,
    voice_packets: u64,
    udp_packets: u64,
    tunnel_packets: u64,
    wire_bytes: u64,
    bitrate: u64,
    frame_ms: u64,
    received: u64,
    lost: u64,
    late: u64,
    concealed: u64,
    pesq: Option<f64>,
    lag_s: Option<f64>,
}

impl SpeechRun {
    fn talking_kbps(&self) -> f64 {
        self.wire_bytes as f64 * 8.0 / self.talk_seconds / 1000.0
    }

    fn file_kbps(&self) -> f64 {
        self.wire_bytes as f64 * 8.0 / self.speech_seconds / 1000.0
    }
}

/// Alice sends `file` to bob with `setting`; bob records.
fn speech_run(
    server: &Murmur,
    setting: &Setting,
    file: &str,
    python: Option<&Path>,
    dir: &Path,
) -> SpeechRun {
    let speech = data(file);
    let speech_seconds = wav::read_mono_48k(&speech).expect("speech").len() as f64 / 48_000.0;
    let record = dir.join(format!(
        "bob-{}-{file}",
        setting.label.split_whitespace().next().unwrap_or("x")
    ));
    let mut alice_args = vec![
        "--input",
        speech.to_str().expect("utf-8"),
        "--wait-for",
        "bob",
    ];
    alice_args.extend(setting.args);
    // Alice first: her UDP path is up before bob arrives and she starts talking, so none of
    // her voice goes through the TCP tunnel.
    let mut alice = Client::spawn(server.port, "alice", &alice_args);
    alice.expect_line("Voice goes over UDP", Duration::from_secs(10));
    let mut bob = Client::spawn(
        server.port,
        "bob",
        &["--record", record.to_str().expect("utf-8")],
    );
    let alice = alice
        .wait(Duration::from_secs_f64(speech_seconds + 30.0))
        .expect_ok("alice");
    std::thread::sleep(Duration::from_millis(500));
    bob.leave();
    let bob = bob.wait(Duration::from_secs(10)).expect_ok("bob");
    let voice_packets = alice.u64(&["voice_packets_sent"]);
    let frame_ms = alice.u64(&["frame_ms"]);
    let scored = python.and_then(|python| pesq_pair(python, &speech, &record));
    SpeechRun {
        speech_seconds,
        talk_seconds: voice_packets as f64 * frame_ms as f64 / 1000.0,
        voice_packets,
        udp_packets: alice.u64(&["udp", "packets_sent"]),
        tunnel_packets: alice.u64(&["tunnel", "packets_sent"]),
        wire_bytes: alice.u64(&["udp", "wire_bytes_sent"]),
        bitrate: alice.u64(&["bitrate"]),
        frame_ms,
        received: bob.u64(&["voice_packets_received"]),
        lost: bob.u64(&["udp_lost"]),
        late: bob.u64(&["udp_late"]),
        concealed: bob.u64(&["frames_concealed"]),
        pesq: scored.map(|s| s.0),
        lag_s: scored.map(|s| s.1),
    }
}

fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.into_iter().collect();
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn bandwidth_and_quality(server: &Murmur) {
    let python = pesq_python();
    if python.is_none() {
        eprintln!(
            "mumble_call: no python with numpy and pesq (target/bench-venv, or \
             PALABRE_BENCH_PYTHON): PESQ is not measured; scripts/bench prepares the venv"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");

    // Silence: one client per setting, all at once (they send nothing but pings).
    let silent: Vec<Client> = SETTINGS
        .iter()
        .enumerate()
        .map(|(i, setting)| {
            let mut args = vec!["--seconds", "20"];
            args.extend(setting.args);
            Client::spawn(server.port, &format!("quiet{i}"), &args)
        })
        .collect();
    let silence: Vec<(f64, u64)> = silent
        .into_iter()
        .map(|client| {
            let ended = client
                .wait(Duration::from_secs_f64(SILENCE_SECONDS + 20.0))
                .expect_ok("silent client");
            let seconds = ended.f64("seconds");
            (
                ended.u64(&["udp", "wire_bytes_sent"]) as f64 * 8.0 / seconds / 1000.0,
                ended.u64(&["udp", "packets_sent"]),
            )
        })
        .collect();

    let mut runs: Vec<Vec<SpeechRun>> = Vec::new();
    for setting in &SETTINGS {
        runs.push(
            SPEECH
                .iter()
                .map(|file| speech_run(server, setting, file, python.as_deref(), dir.path()))
                .collect(),
        );
    }

    let show = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"));
    println!("#### 1. Bandwidth and speech quality, alice → murmurd → bob over UDP");
    println!();
    println!(
        "Per file. Wire = UDP payload + 28 B of IPv4/UDP headers per datagram, alice's pings \
         included. Talking = voice packets × frame length (gated pauses excluded)."
    );
    println!();
    println!(
        "| setting | file | Opus kbit/s, frame | voice packets (UDP + tunnel) | all UDP datagrams | \
         talk s / file s | B per datagram | wire kbit/s talking | wire kbit/s over the file | bob \
         received / lost / late / concealed | PESQ WB | lag s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (setting, runs) in SETTINGS.iter().zip(&runs) {
        for (file, r) in SPEECH.iter().zip(runs) {
            println!(
                "| {} | {} | {}, {} ms | {} ({} + {}) | {} | {:.2} / {:.2} | {:.1} | {:.1} | {:.1} \
                 | {} / {} / {} / {} | {} | {} |",
                setting.label,
                file.trim_end_matches(".wav"),
                r.bitrate / 1000,
                r.frame_ms,
                r.voice_packets,
                r.voice_packets - r.tunnel_packets.min(r.voice_packets),
                r.tunnel_packets,
                r.udp_packets,
                r.talk_seconds,
                r.speech_seconds,
                r.wire_bytes as f64 / r.udp_packets.max(1) as f64,
                r.talking_kbps(),
                r.file_kbps(),
                r.received,
                r.lost,
                r.late,
                r.concealed,
                show(r.pesq),
                r.lag_s
                    .map_or_else(|| "–".to_owned(), |v| format!("{v:.3}")),
            );
        }
    }
    println!();
    println!("Summary (mean of both files; silence: {SILENCE_SECONDS:.0} s without input).");
    println!();
    println!(
        "| setting | wire kbit/s talking | wire kbit/s over the file | Mumble's formula kbit/s | \
         silence kbit/s (datagrams) | PESQ WB en / fr / mean |"
    );
    println!("|---|---|---|---|---|---|");
    for ((setting, runs), (silence_kbps, silence_packets)) in
        SETTINGS.iter().zip(&runs).zip(&silence)
    {
        let pesq: Vec<f64> = runs.iter().filter_map(|r| r.pesq).collect();
        let pesq_cells = if pesq.len() == runs.len() {
            format!(
                "{} / {} / **{:.2}**",
                show(runs[0].pesq),
                show(runs[1].pesq),
                mean(pesq.iter().copied())
            )
        } else {
            "–".to_owned()
        };
        println!(
            "| {} | **{:.1}** | {:.1} | {:.1} | {:.2} ({}) | {} |",
            setting.label,
            mean(runs.iter().map(SpeechRun::talking_kbps)),
            mean(runs.iter().map(SpeechRun::file_kbps)),
            mumble_formula_kbps(runs[0].bitrate, runs[0].frame_ms),
            silence_kbps,
            silence_packets,
            pesq_cells,
        );
    }
    println!();
    let sober = &runs[0];
    let talking = mean(sober.iter().map(SpeechRun::talking_kbps));
    let limit = MUMBLE_DEFAULT_WIRE_KBPS / 2.0;
    let pesq: Vec<f64> = sober.iter().filter_map(|r| r.pesq).collect();
    let pesq_ok = pesq.len() == sober.len() && pesq.iter().all(|p| *p >= 3.3);
    println!(
        "Goal: `sober` under half of the official default's {MUMBLE_DEFAULT_WIRE_KBPS} kbit/s \
         (< {limit:.1} kbit/s on the wire while talking) with PESQ ≥ 3.3 on each file: \
         {talking:.1} kbit/s ({}), PESQ {} ({}).",
        if talking < limit { "met" } else { "NOT met" },
        pesq.iter()
            .map(|p| format!("{p:.2}"))
            .collect::<Vec<_>>()
            .join(" / "),
        if pesq.len() < sober.len() {
            "not measured"
        } else if pesq_ok {
            "met"
        } else {
            "NOT met"
        },
    );
    println!();
}

/// `utime + stime` of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: fields after its closing bracket.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `Vm…` line of /proc/PID/status, in kB.
fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// One process's figures over the window.
struct Usage {
    cpu_percent: f64,
    rss_start_mb: f64,
    rss_end_mb: f64,
    hwm_mb: f64,
}

fn three_client_call(server: &Murmur, window: Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut speech = Vec::new();
    for file in SPEECH {
        speech.extend(wav::read_mono_48k(&data(file)).expect("speech"));
    }
    // Enough for the joins, the settling second and the window.
    let input_seconds = window.as_secs() + 12;
    let names = ["anna", "ben", "carl"];
    let mut inputs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        // Each client starts at another point of the loop, so they do not say the same thing.
        let offset = i * speech.len() / names.len();
        let samples: Vec<f32> = speech
            .iter()
            .cycle()
            .skip(offset)
            .take(input_seconds as usize * 48_000)
            .copied()
            .collect();
        let path = dir.path().join(format!("{name}-input.wav"));
        wav::write_mono_48k(&path, &samples).expect("write input");
        inputs.push(path);
    }
    let seconds = (input_seconds - 2).to_string();
    let mut clients: Vec<Client> = names
        .iter()
        .zip(&inputs)
        .map(|(name, input)| {
            let record = dir.path().join(format!("{name}-heard.wav"));
            Client::spawn(
                server.port,
                name,
                &[
                    "--input",
                    input.to_str().expect("utf-8"),
                    "--record",
                    record.to_str().expect("utf-8"),
                    "--seconds",
                    &seconds,
                ],
            )
        })
        .collect();
    for client in &mut clients {
        client.expect_line("Sending the input file", Duration::from_secs(15));
        client.expect_line("Voice goes over UDP", Duration::from_secs(10));
    }
    std::thread::sleep(Duration::from_secs(1));
    let murmurd = server.pid();
    let mut pids: Vec<(String, u32)> = clients.iter().map(|c| (c.name.clone(), c.pid())).collect();
    if let Some(pid) = murmurd {
        pids.push(("murmurd (server)".to_owned(), pid));
    }
    let tck = clock_ticks_per_second() as f64;
    let mb = |kb: Option<u64>| kb.unwrap_or(0) as f64 / 1024.0;
    let start: Vec<(Option<u64>, Option<u64>)> = pids
        .iter()
        .map(|(_, pid)| (cpu_ticks(*pid), status_kb(*pid, "VmRSS:")))
        .collect();
    let t0 = Instant::now();
    std::thread::sleep(window);
    let end: Vec<(Option<u64>, Option<u64>, Option<u64>)> = pids
        .iter()
        .map(|(_, pid)| {
            (
                cpu_ticks(*pid),
                status_kb(*pid, "VmRSS:"),
                status_kb(*pid, "VmHWM:"),
            )
        })
        .collect();
    let wall = t0.elapsed().as_secs_f64();
    let usage: Vec<Usage> = start
        .iter()
        .zip(&end)
        .map(|((c0, r0), (c1, r1, hwm))| Usage {
            cpu_percent: match (c0, c1) {
                (Some(a), Some(b)) => (b - a) as f64 / tck / wall * 100.0,
                _ => f64::NAN,
            },
            rss_start_mb: mb(*r0),
            rss_end_mb: mb(*r1),
            hwm_mb: mb(*hwm),
        })
        .collect();
    let ended: Vec<Ended> = clients
        .into_iter()
        .map(|c| {
            let name = c.name.clone();
            c.wait(Duration::from_secs(30)).expect_ok(&name)
        })
        .collect();

    println!(
        "#### 2. Three-client call: CPU and memory of each headless palabre over {:.1} s",
        wall
    );
    println!();
    println!(
        "Preset `standard` (32 kbit/s, 20 ms; gate and noise suppression on, no echo \
         cancellation in headless mode); everyone talks all the time (both files looped; only the pauses inside the speech are gated) and records the others. \
         CPU = Δ(utime + stime) / wall time (100 % = one core; {tck:.0} ticks/s). RSS from \
         /proc/PID/status: VmRSS at the start and end of the window, VmHWM (peak) at the end."
    );
    println!();
    println!(
        "| process | CPU % of one core | RSS start MB | RSS end MB | peak RSS (VmHWM) MB | voice \
         packets sent / received | UDP lost / late | frames concealed |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (i, ((name, _), u)) in pids.iter().zip(&usage).enumerate() {
        let traffic = match ended.get(i) {
            Some(e) => format!(
                "{} / {} | {} / {} | {}",
                e.u64(&["voice_packets_sent"]),
                e.u64(&["voice_packets_received"]),
                e.u64(&["udp_lost"]),
                e.u64(&["udp_late"]),
                e.u64(&["frames_concealed"]),
            ),
            None => "– | – | –".to_owned(),
        };
        println!(
            "| {name} | **{:.2}** | {:.1} | {:.1} | **{:.1}** | {traffic} |",
            u.cpu_percent, u.rss_start_mb, u.rss_end_mb, u.hwm_mb
        );
    }
    println!();
}

fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let date = Command::new("date")
        .args(["-u", "+%F %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let murmurd = Command::new(murmur::murmurd_path())
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            text.rsplit_once("-- ")
                .map(|(_, v)| v.lines().next().unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "?".to_owned());
    format!("{date} — {cores} cores, {model} — murmurd {murmurd}")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let skip = |what: &str| args.iter().any(|a| a == what);
    let window = args
        .iter()
        .position(|a| a == "--window")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(CALL_WINDOW_SECONDS);
    if !(Murmur::skip_unless_available() && Peer::skip_unless_available()) {
        eprintln!("mumble_call: skipped (scripts/bench installs what it needs)");
        return;
    }
    // The bench profile inherits from release: say which binary is measured.
    let optimised = Path::new(PALABRE)
        .components()
        .any(|c| c.as_os_str() == "release");
    println!("### Mumble calls through murmurd");
    println!();
    println!(
        "{} — client `{}` ({}).",
        machine_line(),
        PALABRE
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(PALABRE)
            .trim_start_matches('/'),
        if optimised {
            "release build"
        } else {
            "NOT a release build: the figures are not representative"
        }
    );
    println!();
    let server = Murmur::builder()
        .ini("bandwidth", SERVER_BANDWIDTH)
        .ini("users", "20")
        .channel(CHANNEL)
        .start();
    if !skip("--skip-bandwidth") {
        bandwidth_and_quality(&server);
    }
    if !skip("--skip-call") {
        three_client_call(&server, Duration::from_secs(window));
    }
}
