//! Sound through the PulseAudio client library, used for the default devices wherever a
//! PulseAudio server answers (PulseAudio itself, or PipeWire's PulseAudio server); cpal's ALSA
//! path stays the fallback and serves the other devices chosen by name.
//!
//! Why not ALSA's PulseAudio plug-in, which cpal would use: its capture side reports data ready
//! as soon as a period's worth of bytes sits in the stream, counting the part of a fragment it
//! has already handed out, while cpal waits for a whole period of fresh frames. As soon as
//! another program plays into the same server the fragments stop lining up with the periods,
//! and cpal's capture thread spins in `poll` (30–50 % of a core measured, benches/README.md §7).
//!
//! Each direction is one thread owning a blocking `pa_simple` stream of 48 kHz mono `f32` that
//! moves 10 ms blocks between the server and the same callback bodies as cpal's
//! ([`Capture`], [`Playback`]): no allocation, no lock, no log of ours on those threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use libpulse_binding::def::BufferAttr;
use libpulse_binding::sample::{Format, Spec};
use libpulse_binding::stream::Direction as PaDirection;
use libpulse_simple_binding::Simple;

use crate::audio::SAMPLE_RATE;
use crate::audio::rt::{Capture, Playback};

/// Frames moved per read or write (10 ms).
const BLOCK_FRAMES: usize = SAMPLE_RATE as usize / 100;
const BLOCK_BYTES: usize = BLOCK_FRAMES * 4;
/// What the server keeps queued for playback, in blocks (40 ms). Less makes the server run the
/// sink, and so a monitor source, in small pieces: at 20 ms a call's two streams cost 7.6–11.6 %
/// of a core on the null sink, 3.0 % at 30 ms, 2.25 % at 40 ms (benches/README.md §7).
const PLAYBACK_BLOCKS: u32 = 4;

/// The stream format: 48 kHz mono float, whatever the device; the server converts.
const SPEC: Spec = Spec {
    format: Format::F32le,
    rate: SAMPLE_RATE,
    channels: 1,
};

/// A stream's thread. Dropping it tells the thread to stop; the thread is not waited for (a
/// server that hangs would hang the caller), and it ends after its current block.
pub struct PulseStream {
    stop: Arc<AtomicBool>,
}

impl Drop for PulseStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What a stream thread reports: its errors after it started.
pub type ErrorSink = Box<dyn FnMut(cpal::ErrorKind) + Send + 'static>;

/// Opens the server's default source; mono 48 kHz samples go through `capture`.
pub fn open_input(
    mut capture: Capture,
    mut on_error: ErrorSink,
    timeout: Duration,
) -> Result<PulseStream, String> {
    let attr = BufferAttr {
        maxlength: u32::MAX,
        tlength: u32::MAX,
        prebuf: u32::MAX,
        minreq: u32::MAX,
        fragsize: BLOCK_BYTES as u32,
    };
    start(
        "palabre-pulse-in",
        PaDirection::Record,
        attr,
        timeout,
        move |simple, stop| {
            let mut bytes = [0u8; BLOCK_BYTES];
            let mut samples = [0.0f32; BLOCK_FRAMES];
            while !stop.load(Ordering::Relaxed) {
                if simple.read(&mut bytes).is_err() {
                    on_error(cpal::ErrorKind::DeviceNotAvailable);
                    return;
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                for (sample, raw) in samples.iter_mut().zip(bytes.chunks_exact(4)) {
                    *sample = f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                }
                capture.process(&samples[..]);
            }
        },
    )
}

/// Opens the server's default sink; it plays what `playback` gives, on every channel.
pub fn open_output(
    mut playback: Playback,
    mut on_error: ErrorSink,
    timeout: Duration,
) -> Result<PulseStream, String> {
    let attr = BufferAttr {
        maxlength: u32::MAX,
        tlength: PLAYBACK_BLOCKS * BLOCK_BYTES as u32,
        prebuf: u32::MAX,
        minreq: BLOCK_BYTES as u32,
        fragsize: u32::MAX,
    };
    start(
        "palabre-pulse-out",
        PaDirection::Playback,
        attr,
        timeout,
        move |simple, stop| {
            let mut bytes = [0u8; BLOCK_BYTES];
            let mut samples = [0.0f32; BLOCK_FRAMES];
            while !stop.load(Ordering::Relaxed) {
                playback.process(&mut samples[..]);
                for (sample, raw) in samples.iter().zip(bytes.chunks_exact_mut(4)) {
                    raw.copy_from_slice(&sample.to_le_bytes());
                }
                // Blocks until the server has room: this is what paces the thread.
                if simple.write(&bytes).is_err() {
                    on_error(cpal::ErrorKind::DeviceNotAvailable);
                    return;
                }
            }
        },
    )
}

/// Connects on a new thread (a hung server must not hang the caller past `timeout`), then runs
/// `body` there.
fn start(
    name: &str,
    direction: PaDirection,
    attr: BufferAttr,
    timeout: Duration,
    body: impl FnOnce(&Simple, &AtomicBool) + Send + 'static,
) -> Result<PulseStream, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready) = mpsc::sync_channel(1);
    let thread_stop = stop.clone();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let simple = Simple::new(
                None,
                "palabre",
                direction,
                None,
                "voice",
                &SPEC,
                None,
                Some(&attr),
            );
            match simple {
                Ok(simple) => {
                    if ready_tx.send(Ok(())).is_ok() {
                        body(&simple, &thread_stop);
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string().unwrap_or_default()));
                }
            }
        })
        .map_err(|e| e.to_string())?;
    match ready.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(PulseStream { stop }),
        Ok(Err(reason)) => Err(reason),
        Err(_) => {
            stop.store(true, Ordering::Relaxed);
            Err("the sound server did not answer".to_owned())
        }
    }
}
