//! CPU cost of the send and receive chains, per second of audio.
//!
//! `cargo bench --bench chain_cpu` (no criterion: a plain `main`, to keep build time down).
//!
//! Both speech files are looped to 60 s at 48 kHz and pushed, 10 ms at a time, through
//! `SendChain` (echo cancellation → noise suppression → gate → Opus) and then through
//! `ReceiveStream` (jitter buffer → Opus decoder / concealment) plus the mixer, on one thread,
//! as fast as it goes. Each measurement is repeated five times and the minimum kept.
//!
//! Two clocks are read around each pass: wall time (`Instant`) and the CPU time of the
//! benchmark thread, from `/proc/thread-self/schedstat` (Linux; a plain file read, no FFI).
//! Thread CPU time is what the table shows when it is available, because the machine is shared;
//! wall time is printed next to it for comparison.
//!
//! The echo canceller's reference (the "far end") is the same speech 30 s further on, so it
//! works on a real signal; the gate is on, as in a call (pauses are not encoded), and a last line
//! per preset shows the worst case with the gate off (every frame encoded and decoded).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use palabre::audio::dsp::mix::{limit, mix_into};
use palabre::audio::receive::ReceiveStream;
use palabre::audio::send::SendChain;
use palabre::audio::{FRAME_SAMPLES, Meters, SAMPLE_RATE, wav};
use palabre::config::{AudioSettings, Preset};

const SECONDS: usize = 60;
const REPEATS: usize = 5;

#[path = "common/cpu.rs"]
mod cpu;

fn best_of(f: impl FnMut()) -> (Duration, Option<Duration>) {
    cpu::best_of(REPEATS, f)
}

fn speech_60s() -> Vec<f32> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut clip = Vec::new();
    for name in ["speech_en.wav", "speech_fr.wav"] {
        let path = data.join(name);
        clip.extend(
            wav::read_mono_48k(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
    }
    let total = SECONDS * SAMPLE_RATE as usize;
    clip.iter().copied().cycle().take(total).collect()
}

/// One encoded packet: media time and payload.
type Packet = (u64, Vec<u8>);

/// Runs the send chain over the whole signal; returns the packets when `keep` is set.
fn run_send(settings: &AudioSettings, mic: &[f32], far: &[f32], keep: bool) -> Vec<Packet> {
    let mut chain = SendChain::new(settings).expect("send chain");
    let meters = Meters::default();
    let mut frame = [0.0f32; FRAME_SAMPLES];
    let mut payload = Vec::with_capacity(1500);
    let mut packets = Vec::new();
    for (m, f) in mic
        .chunks_exact(FRAME_SAMPLES)
        .zip(far.chunks_exact(FRAME_SAMPLES))
    {
        frame.copy_from_slice(m);
        if let Some((ts, _last)) = chain.process(&mut frame, f, &meters).expect("process") {
            let n = chain.encode_pending(&mut payload).expect("encode");
            if keep {
                packets.push((ts, payload[..n].to_vec()));
            }
            black_box(&payload);
        }
    }
    packets
}

/// Runs the receive side over the packets: each arrives at its media time, one 10 ms frame
/// is pulled and mixed per step.
fn run_receive(packets: &[Packet], frames: usize) {
    let mut receive = ReceiveStream::new().expect("receive stream");
    let start = Instant::now();
    let mut decoded = [0.0f32; FRAME_SAMPLES];
    let mut speaker = [0.0f32; FRAME_SAMPLES];
    let mut next = 0;
    for step in 0..frames {
        let now = start + Duration::from_millis(10 * step as u64);
        let media = (step * FRAME_SAMPLES) as u64;
        while next < packets.len() && packets[next].0 <= media {
            receive.push_packet(now, packets[next].0, &packets[next].1);
            next += 1;
        }
        speaker.fill(0.0);
        let playing = receive.pull_frame(now, &mut decoded);
        mix_into(&mut speaker, &decoded, 1.0);
        limit(&mut speaker);
        black_box((playing, &speaker));
    }
}

fn ms_per_s(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0 / SECONDS as f64
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters presets by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mic = speech_60s();
    let mut far = mic.clone();
    far.rotate_left(30 * SAMPLE_RATE as usize);
    let frames = mic.len() / FRAME_SAMPLES;
    let cpu_clock = cpu::thread_cpu().is_some();
    println!(
        "chain_cpu: {SECONDS} s of speech, 48 kHz mono, 10 ms frames; min of {REPEATS} runs; {}",
        if cpu_clock {
            "thread CPU time (wall time in brackets)"
        } else {
            "wall time"
        }
    );
    println!();
    println!("| preset | chain | send ms/s | receive ms/s | send + receive ms/s |");
    println!("|---|---|---|---|---|");
    let variants: [(&str, bool, bool, bool); 5] = [
        ("plain", false, false, true),
        ("+NS", true, false, true),
        ("+AEC", false, true, true),
        ("+NS+AEC", true, true, true),
        ("plain, gate off", false, false, false),
    ];
    for preset in [Preset::Sober, Preset::Standard, Preset::High] {
        let name = format!("{preset:?}").to_lowercase();
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        for (label, denoise, echo_cancel, gate) in variants {
            let settings = AudioSettings {
                preset,
                denoise,
                echo_cancel,
                gate,
                ..AudioSettings::default()
            };
            let packets = run_send(&settings, &mic, &far, true);
            let send = best_of(|| {
                black_box(run_send(&settings, &mic, &far, false));
            });
            let receive = best_of(|| run_receive(&packets, frames));
            let show = |(wall, cpu): (Duration, Option<Duration>)| match cpu {
                Some(cpu) => format!("{:.2} ({:.2})", ms_per_s(cpu), ms_per_s(wall)),
                None => format!("{:.2}", ms_per_s(wall)),
            };
            let total = (
                send.0 + receive.0,
                send.1.zip(receive.1).map(|(a, b)| a + b),
            );
            println!(
                "| {name} | {label} | {} | {} | {} |",
                show(send),
                show(receive),
                show(total)
            );
        }
    }
}
