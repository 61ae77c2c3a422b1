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
//! ([`Capture`], [`Playback`]): no allocation, no lock, no log of ours on those threads. The
//! speakers' thread stops feeding the server after a second of pure silence ([`OutputLoop`]).

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
    playback: Playback,
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
            let mut output = OutputLoop::new(playback);
            let mut bytes = [0u8; BLOCK_BYTES];
            let mut resting_steps = 0u32;
            while !stop.load(Ordering::Relaxed) {
                // A write blocks until the server has room: that is what paces the thread.
                let written = output.step(|block| {
                    for (sample, raw) in block.iter().zip(bytes.chunks_exact_mut(4)) {
                        raw.copy_from_slice(&sample.to_le_bytes());
                    }
                    simple.write(&bytes).is_ok()
                });
                match written {
                    Step::Wrote => resting_steps = 0,
                    Step::Resting => {
                        // No write tells whether the sink is still there: ask every 100 ms.
                        resting_steps = resting_steps.wrapping_add(1);
                        if resting_steps.is_multiple_of(10) && simple.get_latency().is_err() {
                            on_error(cpal::ErrorKind::DeviceNotAvailable);
                            return;
                        }
                        std::thread::sleep(BLOCK);
                    }
                    Step::Failed => {
                        on_error(cpal::ErrorKind::DeviceNotAvailable);
                        return;
                    }
                }
            }
        },
    )
}

/// One block's duration.
const BLOCK: Duration = Duration::from_millis(10);
/// After this many silent blocks (1 s) the speakers' stream is no longer fed: the server and its
/// mainloop thread then rest too, as in a quiet channel most of the time.
const REST_AFTER_SILENT_BLOCKS: u32 = 100;
/// While resting, the ring is kept at this many blocks (the silence beyond is dropped), as
/// when the server takes a block every 10 ms, so the delay is the same when sound comes back.
const REST_KEEP_BLOCKS: usize = 3;

/// What one step of [`OutputLoop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A block went to the server.
    Wrote,
    /// Nothing was written: wait a block's time.
    Resting,
    /// The server refused a block.
    Failed,
}

/// The speakers' side: takes 10 ms blocks from the ring and writes them, except while there is
/// only silence to play. On waking it first writes the server's queue full of silence minus one
/// block, so the sound comes out with the same delay as if it had never rested, and the ring is
/// not drained faster than it fills.
struct OutputLoop {
    playback: Playback,
    block: [f32; BLOCK_FRAMES],
    silent_blocks: u32,
    resting: bool,
}

impl OutputLoop {
    fn new(playback: Playback) -> Self {
        Self {
            playback,
            block: [0.0; BLOCK_FRAMES],
            silent_blocks: 0,
            resting: false,
        }
    }

    /// Moves at most one block with `write` (which answers whether it went through).
    fn step(&mut self, mut write: impl FnMut(&[f32]) -> bool) -> Step {
        if self.resting {
            // One block a step, as the server would take it, and the silence beyond the kept
            // blocks dropped.
            let (mut popped, mut woke) = (false, false);
            while !woke
                && ((!popped && self.playback.queued() >= BLOCK_FRAMES)
                    || self.playback.queued() > REST_KEEP_BLOCKS * BLOCK_FRAMES)
            {
                self.playback.process(&mut self.block[..]);
                popped = true;
                woke = !self.block_is_silent();
            }
            if !popped {
                self.playback.served_idle();
            }
            if !woke {
                return Step::Resting;
            }
            self.resting = false;
            self.silent_blocks = 0;
            let sound = self.block;
            let silence = [0.0f32; BLOCK_FRAMES];
            for _ in 1..PLAYBACK_BLOCKS {
                if !write(&silence[..]) {
                    return Step::Failed;
                }
            }
            return if write(&sound[..]) {
                Step::Wrote
            } else {
                Step::Failed
            };
        }
        self.playback.process(&mut self.block[..]);
        if self.block_is_silent() {
            self.silent_blocks = self.silent_blocks.saturating_add(1);
        } else {
            self.silent_blocks = 0;
        }
        if !write(&self.block[..]) {
            return Step::Failed;
        }
        if self.silent_blocks >= REST_AFTER_SILENT_BLOCKS {
            self.resting = true;
        }
        Step::Wrote
    }

    fn block_is_silent(&self) -> bool {
        self.block.iter().all(|sample| *sample == 0.0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::rt::RtCounters;

    /// A loop on a ring the test fills, and the counters the engine would watch.
    fn output_loop() -> (OutputLoop, rtrb::Producer<f32>, Arc<RtCounters>) {
        let (producer, consumer) = rtrb::RingBuffer::new(SAMPLE_RATE as usize);
        let counters = Arc::new(RtCounters::default());
        let playback = Playback::new(consumer, 1, counters.clone());
        (OutputLoop::new(playback), producer, counters)
    }

    /// One step whose writes all go through; each block written adds its first sample to
    /// `written` (the tests fill blocks with one value).
    fn step_into(output: &mut OutputLoop, written: &mut Vec<f32>) -> Step {
        output.step(|block| {
            written.push(block[0]);
            true
        })
    }

    fn push(ring: &mut rtrb::Producer<f32>, value: f32, blocks: usize) {
        for _ in 0..blocks * BLOCK_FRAMES {
            ring.push(value).expect("room");
        }
    }

    #[test]
    fn silence_stops_feeding_the_server_and_sound_resumes_with_the_same_delay() {
        let (mut output, mut ring, counters) = output_loop();
        let mut written: Vec<f32> = Vec::new();
        let mut steps = Vec::new();
        // The engine keeps 3 blocks queued and adds one per 10 ms, as in a call.
        push(&mut ring, 0.0, 3);
        for _ in 0..150 {
            push(&mut ring, 0.0, 1);
            steps.push(step_into(&mut output, &mut written));
        }
        // One second of silence is played, then nothing more is written.
        assert_eq!(written.len(), REST_AFTER_SILENT_BLOCKS as usize);
        assert!(steps[100..].iter().all(|step| *step == Step::Resting));
        // The ring stays where it was; the engine is told the device runs.
        assert_eq!(output.playback.queued(), 3 * BLOCK_FRAMES);
        assert_eq!(counters.playback_callbacks.load(Ordering::Relaxed), 150);
        assert_eq!(counters.playback_underruns.load(Ordering::Relaxed), 0);

        // Sound: the server's queue is filled with silence, then the sound block, behind the
        // three silent blocks still queued.
        written.clear();
        push(&mut ring, 0.5, 1);
        for _ in 0..3 {
            assert_eq!(step_into(&mut output, &mut written), Step::Resting);
            push(&mut ring, 0.5, 1);
        }
        assert_eq!(step_into(&mut output, &mut written), Step::Wrote);
        // Three silent blocks popped while resting were dropped: same delay as before the rest.
        assert_eq!(written, vec![0.0, 0.0, 0.0, 0.5]);
        // Then one block per step, as usual.
        push(&mut ring, 0.5, 1);
        written.clear();
        assert_eq!(step_into(&mut output, &mut written), Step::Wrote);
        assert_eq!(written, vec![0.5]);
    }

    #[test]
    fn a_test_sound_queued_while_resting_wakes_the_stream() {
        // The set-up screen: nothing queued (the engine only feeds the speakers for a test
        // sound), so the stream rests on the underruns' silence; then the engine queues its 30 ms
        // and waits for them to be taken before adding more.
        let (mut output, mut ring, _) = output_loop();
        for _ in 0..REST_AFTER_SILENT_BLOCKS {
            assert_eq!(output.step(|_| true), Step::Wrote);
        }
        assert_eq!(output.step(|_| true), Step::Resting);
        push(&mut ring, 0.25, 3);
        let mut written = Vec::new();
        assert_eq!(step_into(&mut output, &mut written), Step::Wrote);
        assert_eq!(written, vec![0.0, 0.0, 0.0, 0.25]);
        assert_eq!(output.playback.queued(), 2 * BLOCK_FRAMES);
    }

    #[test]
    fn a_refused_block_is_reported() {
        let (mut output, mut ring, _) = output_loop();
        push(&mut ring, 0.0, 1);
        assert_eq!(output.step(|_| false), Step::Failed);
    }
}
