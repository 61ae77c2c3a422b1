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
//! Each direction is one thread of ours running PulseAudio's main loop (the plain one, not the
//! threaded one) for one stream of 48 kHz mono `f32`. Between two iterations of the loop the
//! thread itself moves 10 ms blocks between the stream and the same callback bodies as cpal's
//! ([`Capture`], [`Playback`]): no allocation, no lock, no log of ours there, and one thread
//! woken per transfer (the blocking `pa_simple` API woke two: its main loop's thread, which then
//! woke the reader or writer). Each time a whole 10 ms block has come from the microphone, the
//! thread that opened the stream (the engine's worker) is woken, so the worker needs no timer
//! of its own. The speakers' thread stops feeding the server after a second of pure silence
//! ([`OutputLoop`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use libpulse_binding::context::{Context, FlagSet as ContextFlags, State as ContextState};
use libpulse_binding::def::BufferAttr;
use libpulse_binding::mainloop::standard::{IterateResult, Mainloop};
use libpulse_binding::sample::{Format, Spec};
use libpulse_binding::stream::{
    FlagSet as StreamFlags, PeekResult, SeekMode, State as StreamState, Stream,
};
use libpulse_binding::time::MicroSeconds;

use crate::audio::SAMPLE_RATE;
use crate::audio::rt::{Capture, Playback};

/// Frames moved per read or write (10 ms).
const BLOCK_FRAMES: usize = SAMPLE_RATE as usize / 100;
const BLOCK_BYTES: usize = BLOCK_FRAMES * 4;
/// What the server keeps queued for playback, in blocks (40 ms). Less makes the server run the
/// sink, and so a monitor source, in small pieces: at 20 ms a call's two streams cost 7.6–11.6 %
/// of a core on the null sink, 3.0 % at 30 ms, 2.25 % at 40 ms (benches/README.md §7).
const PLAYBACK_BLOCKS: u32 = 4;
/// The longest a stream's thread waits for the server before it looks at its stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// The stream format: 48 kHz mono float, whatever the device; the server converts.
const SPEC: Spec = Spec {
    format: Format::F32le,
    rate: SAMPLE_RATE,
    channels: 1,
};

/// A stream's thread. Dropping it tells the thread to stop; the thread is not waited for (a
/// server that hangs would hang the caller), and it ends within [`STOP_CHECK`].
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

/// Opens the server's default source; mono 48 kHz samples go through `capture`, and `wake` is
/// woken each time another 10 ms has come (the server may hand them over in smaller pieces).
pub fn open_input(
    mut capture: Capture,
    wake: std::thread::Thread,
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
        Side::Record,
        attr,
        timeout,
        move |link, stop| {
            let mut samples = [0.0f32; BLOCK_FRAMES];
            // Frames captured since `wake` was last woken.
            let mut unannounced = 0usize;
            while !stop.load(Ordering::Relaxed) {
                if !link.wait(STOP_CHECK) {
                    on_error(cpal::ErrorKind::DeviceNotAvailable);
                    return;
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                while link.stream.readable_size().is_some_and(|bytes| bytes > 0) {
                    match link.stream.peek() {
                        Ok(PeekResult::Data(bytes)) => {
                            for chunk in bytes.chunks(BLOCK_BYTES) {
                                let frames = chunk.len() / 4;
                                for (sample, raw) in samples.iter_mut().zip(chunk.chunks_exact(4)) {
                                    *sample = f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                                }
                                capture.process(&samples[..frames]);
                                unannounced += frames;
                            }
                        }
                        // A gap the server reports after an overrun: nothing to read in it.
                        Ok(PeekResult::Hole(_)) => {}
                        Ok(PeekResult::Empty) => break,
                        Err(_) => {
                            on_error(cpal::ErrorKind::DeviceNotAvailable);
                            return;
                        }
                    }
                    if link.stream.discard().is_err() {
                        on_error(cpal::ErrorKind::DeviceNotAvailable);
                        return;
                    }
                }
                if unannounced >= BLOCK_FRAMES {
                    unannounced = 0;
                    wake.unpark();
                }
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
        Side::Playback,
        attr,
        timeout,
        move |link, stop| {
            let mut output = OutputLoop::new(playback);
            let mut bytes = [0u8; BLOCK_BYTES];
            // While resting, the thread takes a block on its own clock, every 10 ms.
            let mut next_rest_step = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let wait = if output.resting {
                    next_rest_step.saturating_duration_since(Instant::now())
                } else {
                    STOP_CHECK
                };
                if !link.wait(wait) {
                    on_error(cpal::ErrorKind::DeviceNotAvailable);
                    return;
                }
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if output.resting {
                    let now = Instant::now();
                    if now < next_rest_step {
                        continue;
                    }
                    // Behind by more than a block (a late wake-up): start counting again from now.
                    next_rest_step = (next_rest_step + BLOCK).max(now);
                    if output.step(|block| write_block(&mut link.stream, &mut bytes, block))
                        == Step::Failed
                    {
                        on_error(cpal::ErrorKind::DeviceNotAvailable);
                        return;
                    }
                    continue;
                }
                // The server asks for what it wants queued: that is what paces the thread.
                while !output.resting
                    && link
                        .stream
                        .writable_size()
                        .is_some_and(|room| room >= BLOCK_BYTES)
                {
                    if output.step(|block| write_block(&mut link.stream, &mut bytes, block))
                        == Step::Failed
                    {
                        on_error(cpal::ErrorKind::DeviceNotAvailable);
                        return;
                    }
                }
                if output.resting {
                    next_rest_step = Instant::now() + BLOCK;
                }
            }
        },
    )
}

/// Hands one block to the server (which copies it); answers whether it took it.
fn write_block(stream: &mut Stream, bytes: &mut [u8; BLOCK_BYTES], block: &[f32]) -> bool {
    for (sample, raw) in block.iter().zip(bytes.chunks_exact_mut(4)) {
        raw.copy_from_slice(&sample.to_le_bytes());
    }
    stream.write_copy(&bytes[..], 0, SeekMode::Relative).is_ok()
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

/// Which way a stream goes.
#[derive(Debug, Clone, Copy)]
enum Side {
    Record,
    Playback,
}

/// A connection to the server with its one stream, owned by the stream's thread.
struct Link {
    mainloop: Mainloop,
    context: Context,
    stream: Stream,
}

impl Link {
    /// Connects to the default server and opens a stream on its default device (autospawning a
    /// server as any PulseAudio client may). Blocks until both are ready or have failed.
    fn open(side: Side, attr: &BufferAttr) -> Result<Link, String> {
        let mut mainloop = Mainloop::new().ok_or("no PulseAudio main loop")?;
        let mut context = Context::new(&mainloop, "palabre").ok_or("no PulseAudio context")?;
        context
            .connect(None, ContextFlags::NOFLAGS, None)
            .map_err(text)?;
        loop {
            iterate(&mut mainloop)?;
            match context.get_state() {
                ContextState::Ready => break,
                ContextState::Failed | ContextState::Terminated => {
                    return Err(text(context.errno()));
                }
                _ => {}
            }
        }
        let mut stream =
            Stream::new(&mut context, "voice", &SPEC, None).ok_or("no PulseAudio stream")?;
        // The latency asked for is what the server gives the device (no timing updates: palabre
        // does not ask for the stream's latency).
        let flags = StreamFlags::ADJUST_LATENCY;
        match side {
            Side::Record => stream.connect_record(None, Some(attr), flags),
            Side::Playback => stream.connect_playback(None, Some(attr), flags, None, None),
        }
        .map_err(text)?;
        loop {
            iterate(&mut mainloop)?;
            match stream.get_state() {
                StreamState::Ready => break,
                StreamState::Failed | StreamState::Terminated => {
                    return Err(text(context.errno()));
                }
                _ => {}
            }
        }
        Ok(Link {
            mainloop,
            context,
            stream,
        })
    }

    /// Runs one iteration of the main loop, waiting at most `timeout` for the server; answers
    /// whether the connection and the stream are still there.
    fn wait(&mut self, timeout: Duration) -> bool {
        let micros = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
        let iterated = self.mainloop.prepare(Some(MicroSeconds(micros))).is_ok()
            && self.mainloop.poll().is_ok()
            && self.mainloop.dispatch().is_ok();
        iterated
            && self.context.get_state() == ContextState::Ready
            && self.stream.get_state() == StreamState::Ready
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = self.stream.disconnect();
        self.context.disconnect();
    }
}

/// One blocking iteration of the main loop while connecting.
fn iterate(mainloop: &mut Mainloop) -> Result<(), String> {
    match mainloop.iterate(true) {
        IterateResult::Success(_) => Ok(()),
        IterateResult::Quit(_) => Err("the PulseAudio main loop quit".to_owned()),
        IterateResult::Err(e) => Err(text(e)),
    }
}

/// A PulseAudio error in words.
fn text(error: libpulse_binding::error::PAErr) -> String {
    error
        .to_string()
        .unwrap_or_else(|| "PulseAudio error".to_owned())
}

/// Connects on a new thread (a hung server must not hang the caller past `timeout`), then runs
/// `body` there.
fn start(
    name: &str,
    side: Side,
    attr: BufferAttr,
    timeout: Duration,
    body: impl FnOnce(&mut Link, &AtomicBool) + Send + 'static,
) -> Result<PulseStream, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready) = mpsc::sync_channel(1);
    let thread_stop = stop.clone();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || match Link::open(side, &attr) {
            Ok(mut link) => {
                if ready_tx.send(Ok(())).is_ok() {
                    body(&mut link, &thread_stop);
                }
            }
            Err(reason) => {
                let _ = ready_tx.send(Err(reason));
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
