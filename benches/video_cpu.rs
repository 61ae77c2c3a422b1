//! CPU and bit rate of the video chains, per second of video.
//!
//! `cargo bench --bench video_cpu` (a plain `main`, no criterion).
//!
//! 30 s of 640×360 pictures at 15 frames a second, from two sources: palabre's test pattern
//! (flat colour bars and a moving block: easy for the encoder) and a camera-like scene (a
//! moving gradient with fine texture and per-pixel sensor noise: hard). Each goes through
//! `VideoOut` (VP8 at 300 kbit/s CBR, then RTP payloads), then through `VideoIn` (frames put
//! back together, then decoded) for one stream and for four at once (what the bridge sends at
//! most), then to window tiles (`Rgba::from_i420`, 320 pixels wide). Thread CPU time comes from
//! `/proc/thread-self/schedstat`, wall time is printed next to it; each figure is the minimum of
//! three runs. The luma PSNR of the decoded pictures against the source says what the bit
//! rate bought.

use std::time::{Duration, Instant};

use palabre::video::pipeline::{Outgoing, VideoIn, VideoOut};
use palabre::video::vp8::Packet;
use palabre::video::{I420, Rgba, SEND_FPS, SEND_HEIGHT, SEND_WIDTH, TILE_WIDTH, TestPattern};

const SECONDS: u32 = 30;
const REPEATS: usize = 3;

#[path = "common/cpu.rs"]
mod cpu;

/// Minimum wall and thread-CPU (wall where the kernel gives none) time over [`REPEATS`] runs.
fn best_of(f: impl FnMut()) -> (Duration, Duration) {
    let (wall, cpu) = cpu::best_of(REPEATS, f);
    (wall, cpu.unwrap_or(wall))
}

/// A camera-like scene: a diagonal gradient drifting, fine texture, and sensor noise that
/// differs on every frame (a cheap deterministic generator, so runs compare).
fn camera_like(frame: u32) -> I420 {
    let (w, h) = (SEND_WIDTH as usize, SEND_HEIGHT as usize);
    let mut picture = I420::black(SEND_WIDTH, SEND_HEIGHT);
    let mut seed = 0x9e37_79b9u32.wrapping_mul(frame + 1);
    for row in 0..h {
        for x in 0..w {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let gradient = ((x + row + frame as usize * 3) % 200) as i32 + 30;
            let texture = if (x / 4 + row / 4) % 2 == 0 { 8 } else { -8 };
            let noise = (seed % 13) as i32 - 6;
            picture.y[row * w + x] = (gradient + texture + noise).clamp(16, 235) as u8;
        }
    }
    for (index, value) in picture.u.iter_mut().enumerate() {
        *value = (110 + (index + frame as usize) % 30) as u8;
    }
    for (index, value) in picture.v.iter_mut().enumerate() {
        *value = (140 - (index / 7 + frame as usize) % 25) as u8;
    }
    picture
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        99.0
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

fn run(name: &str, pictures: &[I420]) {
    let frames = pictures.len() as u32;
    let seconds = f64::from(frames) / f64::from(SEND_FPS);
    let start = Instant::now();
    let at =
        |index: usize| start + Duration::from_millis(index as u64 * 1000 / u64::from(SEND_FPS));
    // Send: encode and cut into payloads.
    let mut sent: Vec<Outgoing> = Vec::new();
    let (enc_wall, enc_cpu) = best_of(|| {
        let mut out = VideoOut::new().expect("encoder");
        sent = pictures
            .iter()
            .enumerate()
            .flat_map(|(index, picture)| out.send(picture, index == 0, at(index)).expect("encodes"))
            .collect();
    });
    let payload_bytes: usize = sent.iter().flat_map(|f| &f.payloads).map(Vec::len).sum();
    let packets: usize = sent.iter().map(|f| f.payloads.len()).sum();
    // Bytes on the wire: payload + RTP header (12) + SRTP tag (10) + IPv4/UDP (28).
    let wire = payload_bytes + packets * (12 + 10 + 28);
    // Receive: `streams` cameras, all carrying the same frames.
    let mut decoded: Vec<I420> = Vec::new();
    let receive = |streams: u32, keep: &mut Vec<I420>| {
        let mut video = VideoIn::new();
        let mut seq = 0u16;
        for (index, frame) in sent.iter().enumerate() {
            let count = frame.payloads.len();
            for (n, payload) in frame.payloads.iter().enumerate() {
                seq = seq.wrapping_add(1);
                for ssrc in 0..streams {
                    let packet = Packet {
                        seq,
                        timestamp: frame.timestamp,
                        marker: n + 1 == count,
                        payload,
                    };
                    if let Some(picture) = video.receive(ssrc, packet, at(index)).picture
                        && ssrc == 0
                    {
                        keep.push(picture);
                    }
                }
            }
        }
    };
    let (dec1_wall, dec1_cpu) = best_of(|| {
        decoded.clear();
        receive(1, &mut decoded);
    });
    let (dec4_wall, dec4_cpu) = best_of(|| {
        let mut ignored = Vec::new();
        receive(4, &mut ignored);
    });
    let (tile_wall, tile_cpu) = best_of(|| {
        for picture in &decoded {
            std::hint::black_box(Rgba::from_i420(picture, TILE_WIDTH));
        }
    });
    let quality: f64 = decoded
        .iter()
        .zip(pictures)
        .map(|(d, s)| psnr(&d.y, &s.y))
        .sum::<f64>()
        / decoded.len().max(1) as f64;
    let per_s = |d: Duration| d.as_secs_f64() * 1000.0 / seconds;
    println!(
        "\n{name}: {frames} frames, {seconds:.0} s at {SEND_FPS} fps, {SEND_WIDTH}×{SEND_HEIGHT}"
    );
    println!(
        "  sent: {:.0} kbit/s of VP8, {:.0} kbit/s on the wire ({:.1} packets/s), {} key frame(s)",
        payload_bytes as f64 * 8.0 / seconds / 1000.0,
        wire as f64 * 8.0 / seconds / 1000.0,
        packets as f64 / seconds,
        sent.iter().filter(|f| f.key).count()
    );
    println!(
        "  decoded {} of {} pictures, luma PSNR {:.1} dB",
        decoded.len(),
        frames,
        quality
    );
    println!("  CPU, ms per second of video (thread CPU; wall in brackets):");
    println!(
        "    encode + packetize        {:6.1}  ({:.1})",
        per_s(enc_cpu),
        per_s(enc_wall)
    );
    println!(
        "    receive + decode, 1 camera {:5.1}  ({:.1})",
        per_s(dec1_cpu),
        per_s(dec1_wall)
    );
    println!(
        "    receive + decode, 4 cameras {:4.1}  ({:.1})",
        per_s(dec4_cpu),
        per_s(dec4_wall)
    );
    println!(
        "    tile (RGBA, {TILE_WIDTH} px), 1 camera {:3.1}  ({:.1})",
        per_s(tile_cpu),
        per_s(tile_wall)
    );
}

fn main() {
    if cfg!(debug_assertions) {
        println!("(a debug build: run `cargo bench --bench video_cpu` for the real figures)");
    }
    let frames = SECONDS * SEND_FPS;
    let mut pattern = TestPattern::new(SEND_WIDTH, SEND_HEIGHT);
    let test: Vec<I420> = (0..frames).map(|_| pattern.next_frame()).collect();
    run("Test pattern", &test);
    let camera: Vec<I420> = (0..frames).map(camera_like).collect();
    run("Camera-like scene (gradient, texture, noise)", &camera);
}
