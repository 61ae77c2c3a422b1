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
//! One thread of ours (`palabre-pulse`) holds one connection to the server and the open
//! streams (48 kHz mono `f32`, the microphone and the speakers), and runs PulseAudio's plain
//! main loop. Between two iterations of the loop it moves 10 ms blocks between the streams and
//! the same callback bodies as cpal's ([`Capture`], [`Playback`]): no allocation, no lock, no
//! log of ours there. One thread wakes when the server sends or asks for sound, whichever
//! stream it is for: the blocking `pa_simple` API woke four (a main loop thread and a reader or
//! writer per stream). Each time a whole fragment (20 ms) has come from the microphone, the
//! thread that opened it (the engine's worker) is woken, so the worker needs no timer of its
//! own. The speakers stop being fed after a second of pure silence ([`OutputLoop`]). The thread
//! exists only while a stream is open.
//!
//! The microphone comes in 20 ms fragments and 60 ms are queued for the speakers (as Mumble's
//! own client queues by default). Each is twice the 10 ms block: the server runs a device at
//! the smallest latency its clients ask for and wakes them as often, so larger sizes halve the
//! wake-ups: a call costs a sixth to a fifth less CPU while someone talks and a third less alone
//! (benches/README.md §7), at the cost of 20 ms more between the far end's voice and the ear. The microphone's larger fragment delays
//! nothing sent: a packet holds 20 ms or more and leaves once its last sample has come.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
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
/// The microphone's fragment, in blocks (20 ms): what the server hands over at once.
const CAPTURE_BLOCKS: u32 = 2;
/// What the server keeps queued for playback, in blocks (60 ms), of which a third (20 ms) is
/// the device's own buffer (the server gives a stream that adjusts its latency
/// `(queue − 2 × request) / 2`, the request being one block). Less makes the server run the
/// sink, and so a monitor source, in smaller pieces: at 20 ms queued a call's two streams cost
/// 7.6–11.6 % of a core on the null sink, 3.0 % at 30 ms, 2.25 % at 40 ms (benches/README.md §7).
const PLAYBACK_BLOCKS: u32 = 6;
/// The longest the thread waits for the server before it looks at new and closed streams.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// The stream format: 48 kHz mono float, whatever the device; the server converts.
const SPEC: Spec = Spec {
    format: Format::F32le,
    rate: SAMPLE_RATE,
    channels: 1,
};

/// An open stream. Dropping it closes it; nothing waits for that (a server that hangs would
/// hang the caller): the thread closes it within [`STOP_CHECK`].
pub struct PulseStream {
    stop: Arc<AtomicBool>,
}

impl Drop for PulseStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What a stream reports: its errors after it opened.
pub type ErrorSink = Box<dyn FnMut(cpal::ErrorKind) + Send + 'static>;

/// Opens the server's default source; mono 48 kHz samples go through `capture`, and `wake` is
/// woken each time another fragment (20 ms) has come (the server may hand it over in pieces).
pub fn open_input(
    capture: Capture,
    wake: std::thread::Thread,
    on_error: ErrorSink,
    timeout: Duration,
) -> Result<PulseStream, String> {
    open(
        Work::Record {
            capture,
            wake,
            unannounced: 0,
        },
        on_error,
        timeout,
    )
}

/// Opens the server's default sink; it plays what `playback` gives, on every channel.
pub fn open_output(
    playback: Playback,
    on_error: ErrorSink,
    timeout: Duration,
) -> Result<PulseStream, String> {
    open(
        Work::Play {
            output: Box::new(OutputLoop::new(playback)),
            next_rest_step: Instant::now(),
        },
        on_error,
        timeout,
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
/// The microphone's fragment's duration.
const FRAGMENT: Duration = Duration::from_millis(10 * CAPTURE_BLOCKS as u64);
/// While resting, how far behind its clock the speakers' side catches up (blocks taken at once).
const REST_CATCH_UP: Duration = Duration::from_millis(50);
/// After this many silent blocks (1 s) the speakers' stream is no longer fed: the server then
/// rests too, as in a quiet channel most of the time.
const REST_AFTER_SILENT_BLOCKS: u32 = 100;
/// While resting, the ring is kept at this many blocks (the silence beyond is dropped), as
/// when the server takes a block every 10 ms, so the delay is the same when sound comes back.
const REST_KEEP_BLOCKS: usize = 3;

/// What one step of [`OutputLoop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A block went to the server.
    Wrote,
    /// Nothing was written: only silence to play.
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

/// What the thread does with one stream.
enum Work {
    /// The microphone: samples to `capture`; `wake` woken for each fragment.
    Record {
        capture: Capture,
        wake: std::thread::Thread,
        /// Frames captured since `wake` was last woken.
        unannounced: usize,
    },
    /// The speakers; while resting, a block is taken every 10 ms on the thread's own clock.
    Play {
        output: Box<OutputLoop>,
        next_rest_step: Instant,
    },
}

impl Work {
    /// The stream's buffer sizes.
    fn attr(&self) -> BufferAttr {
        match self {
            Work::Record { .. } => BufferAttr {
                maxlength: u32::MAX,
                tlength: u32::MAX,
                prebuf: u32::MAX,
                minreq: u32::MAX,
                fragsize: CAPTURE_BLOCKS * BLOCK_BYTES as u32,
            },
            Work::Play { .. } => BufferAttr {
                maxlength: u32::MAX,
                tlength: PLAYBACK_BLOCKS * BLOCK_BYTES as u32,
                prebuf: u32::MAX,
                minreq: BLOCK_BYTES as u32,
                fragsize: u32::MAX,
            },
        }
    }

    /// How long the main loop may wait before this stream needs the thread again.
    fn patience(&self, now: Instant) -> Duration {
        match self {
            Work::Play {
                output,
                next_rest_step,
            } if output.resting => {
                // A fragment late: the microphone's stream, when there is one, wakes the thread
                // for each fragment anyway, and its wake-ups serve the resting speakers too.
                (*next_rest_step + FRAGMENT).saturating_duration_since(now)
            }
            _ => STOP_CHECK,
        }
    }

    /// Moves what the server sent or asked for; `false` if the stream failed.
    fn run(&mut self, stream: &mut Stream, bytes: &mut [u8; BLOCK_BYTES]) -> bool {
        match self {
            Work::Record {
                capture,
                wake,
                unannounced,
            } => {
                let mut samples = [0.0f32; BLOCK_FRAMES];
                while stream.readable_size().is_some_and(|size| size > 0) {
                    match stream.peek() {
                        Ok(PeekResult::Data(data)) => {
                            for chunk in data.chunks(BLOCK_BYTES) {
                                let frames = chunk.len() / 4;
                                for (sample, raw) in samples.iter_mut().zip(chunk.chunks_exact(4)) {
                                    *sample = f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
                                }
                                capture.process(&samples[..frames]);
                                *unannounced += frames;
                            }
                        }
                        // A gap the server reports after an overrun: nothing to read in it.
                        Ok(PeekResult::Hole(_)) => {}
                        Ok(PeekResult::Empty) => break,
                        Err(_) => return false,
                    }
                    if stream.discard().is_err() {
                        return false;
                    }
                }
                if *unannounced >= CAPTURE_BLOCKS as usize * BLOCK_FRAMES {
                    *unannounced = 0;
                    wake.unpark();
                }
                true
            }
            Work::Play {
                output,
                next_rest_step,
            } => {
                if output.resting {
                    let now = Instant::now();
                    // One block per 10 ms gone by, as the server would have taken them; after
                    // a long stall (a suspended machine), count again from now.
                    if now.saturating_duration_since(*next_rest_step) > REST_CATCH_UP {
                        *next_rest_step = now;
                    }
                    while output.resting && now >= *next_rest_step {
                        *next_rest_step += BLOCK;
                        if output.step(|block| write_block(stream, bytes, block)) == Step::Failed {
                            return false;
                        }
                    }
                    if output.resting {
                        return true;
                    }
                }
                // The server asks for what it wants queued: that is what paces the speakers.
                while !output.resting
                    && stream
                        .writable_size()
                        .is_some_and(|room| room >= BLOCK_BYTES)
                {
                    if output.step(|block| write_block(stream, bytes, block)) == Step::Failed {
                        return false;
                    }
                }
                if output.resting {
                    *next_rest_step = Instant::now() + BLOCK;
                }
                true
            }
        }
    }
}

/// A stream the thread was asked to open.
struct Request {
    work: Work,
    on_error: ErrorSink,
    stop: Arc<AtomicBool>,
    /// Told once the stream is ready, or why it could not open.
    reply: SyncSender<Result<(), String>>,
}

/// A stream on the thread.
struct Open {
    stream: Stream,
    request: Request,
    /// Whether the opener has been told it is ready.
    ready: bool,
}

/// How to reach the thread while it runs.
static THREAD: Mutex<Option<Sender<Request>>> = Mutex::new(None);

/// Hands `work` to the thread (starting it if none runs) and waits until its stream is ready.
fn open(work: Work, on_error: ErrorSink, timeout: Duration) -> Result<PulseStream, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let (reply, answer) = mpsc::sync_channel(1);
    let request = Request {
        work,
        on_error,
        stop: stop.clone(),
        reply,
    };
    {
        let mut thread = THREAD.lock().unwrap_or_else(PoisonError::into_inner);
        // A thread that has gone takes no request: the send fails and a new thread starts.
        let request = match thread.as_ref() {
            Some(requests) => requests.send(request).err().map(|e| e.0),
            None => Some(request),
        };
        if let Some(request) = request {
            let (requests, incoming) = mpsc::channel();
            std::thread::Builder::new()
                .name("palabre-pulse".to_owned())
                .spawn(move || serve(request, incoming))
                .map_err(|e| e.to_string())?;
            *thread = Some(requests);
        }
    }
    match answer.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(PulseStream { stop }),
        Ok(Err(reason)) => Err(reason),
        Err(_) => {
            stop.store(true, Ordering::Relaxed);
            Err("the sound server did not answer".to_owned())
        }
    }
}

/// The thread: connects, then serves its streams until none is left or the server goes.
fn serve(first: Request, incoming: Receiver<Request>) {
    let mut pending = vec![first];
    let Some((mut mainloop, mut context)) = connect(&mut pending) else {
        retire(&incoming, "the sound server could not be reached");
        return;
    };
    let mut streams: Vec<Open> = Vec::with_capacity(2);
    let mut bytes = [0u8; BLOCK_BYTES];
    loop {
        for request in pending.drain(..) {
            match new_stream(&mut context, &request.work) {
                Ok(stream) => streams.push(Open {
                    stream,
                    request,
                    ready: false,
                }),
                Err(reason) => {
                    let _ = request.reply.send(Err(reason));
                }
            }
        }
        let now = Instant::now();
        let patience = streams
            .iter()
            .map(|open| open.request.work.patience(now))
            .min()
            .unwrap_or(STOP_CHECK);
        let micros = u64::try_from(patience.as_micros()).unwrap_or(u64::MAX);
        let iterated = mainloop.prepare(Some(MicroSeconds(micros))).is_ok()
            && mainloop.poll().is_ok()
            && mainloop.dispatch().is_ok();
        if !iterated || context.get_state() != ContextState::Ready {
            // The server went: every stream is lost, and the thread ends.
            for mut open in streams.drain(..) {
                report(&mut open, "the sound server went away");
            }
            retire(&incoming, "the sound server went away");
            return;
        }
        streams.retain_mut(|open| {
            if open.request.stop.load(Ordering::Relaxed) {
                let _ = open.stream.disconnect();
                return false;
            }
            match open.stream.get_state() {
                StreamState::Ready => {}
                StreamState::Failed | StreamState::Terminated => {
                    report(open, &text(context.errno()));
                    return false;
                }
                _ => return true,
            }
            if !open.ready {
                open.ready = true;
                let _ = open.request.reply.send(Ok(()));
            }
            if open.request.work.run(&mut open.stream, &mut bytes) {
                true
            } else {
                report(open, "the stream failed");
                let _ = open.stream.disconnect();
                false
            }
        });
        pending.extend(incoming.try_iter());
        if streams.is_empty() && pending.is_empty() {
            // Last look, under the lock openers take: a request sent meanwhile is served.
            let mut thread = THREAD.lock().unwrap_or_else(PoisonError::into_inner);
            match incoming.try_recv() {
                Ok(request) => pending.push(request),
                Err(_) => {
                    *thread = None;
                    context.disconnect();
                    return;
                }
            }
        }
    }
}

/// Connects to the default server (autospawning one as any PulseAudio client may); on failure
/// the requests in `pending` are told why.
fn connect(pending: &mut Vec<Request>) -> Option<(Mainloop, Context)> {
    let fail = |pending: &mut Vec<Request>, reason: String| {
        for request in pending.drain(..) {
            let _ = request.reply.send(Err(reason.clone()));
        }
        None
    };
    let Some(mut mainloop) = Mainloop::new() else {
        return fail(pending, "no PulseAudio main loop".to_owned());
    };
    let Some(mut context) = Context::new(&mainloop, "palabre") else {
        return fail(pending, "no PulseAudio context".to_owned());
    };
    if let Err(e) = context.connect(None, ContextFlags::NOFLAGS, None) {
        return fail(pending, text(e));
    }
    loop {
        match mainloop.iterate(true) {
            IterateResult::Success(_) => {}
            IterateResult::Quit(_) => return fail(pending, "the main loop quit".to_owned()),
            IterateResult::Err(e) => return fail(pending, text(e)),
        }
        match context.get_state() {
            ContextState::Ready => return Some((mainloop, context)),
            ContextState::Failed | ContextState::Terminated => {
                return fail(pending, text(context.errno()));
            }
            _ => {}
        }
    }
}

/// Starts opening a stream for `work` on the server's default device.
fn new_stream(context: &mut Context, work: &Work) -> Result<Stream, String> {
    let mut stream = Stream::new(context, "voice", &SPEC, None).ok_or("no PulseAudio stream")?;
    // The latency asked for is what the server gives the device (no timing updates: palabre
    // does not ask for the stream's latency).
    let flags = StreamFlags::ADJUST_LATENCY;
    let attr = work.attr();
    match work {
        Work::Record { .. } => stream.connect_record(None, Some(&attr), flags),
        Work::Play { .. } => stream.connect_playback(None, Some(&attr), flags, None, None),
    }
    .map_err(text)?;
    Ok(stream)
}

/// Tells whoever waits on `open` that it failed: the opener if it still waits, else the engine.
fn report(open: &mut Open, reason: &str) {
    if open.ready {
        (open.request.on_error)(cpal::ErrorKind::DeviceNotAvailable);
    } else {
        let _ = open.request.reply.send(Err(reason.to_owned()));
    }
}

/// The thread ends: it takes no more requests, and those already sent are told why.
fn retire(incoming: &Receiver<Request>, reason: &str) {
    let mut thread = THREAD.lock().unwrap_or_else(PoisonError::into_inner);
    *thread = None;
    drop(thread);
    for request in incoming.try_iter() {
        let _ = request.reply.send(Err(reason.to_owned()));
    }
}

/// A PulseAudio error in words.
fn text(error: libpulse_binding::error::PAErr) -> String {
    error
        .to_string()
        .unwrap_or_else(|| "PulseAudio error".to_owned())
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

    /// What a waking stream writes: the server's queue of silence but one block, then `sound`.
    fn refill_then(sound: f32) -> Vec<f32> {
        let mut blocks = vec![0.0; PLAYBACK_BLOCKS as usize - 1];
        blocks.push(sound);
        blocks
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
        assert_eq!(written, refill_then(0.5));
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
        assert_eq!(written, refill_then(0.25));
        assert_eq!(output.playback.queued(), 2 * BLOCK_FRAMES);
    }

    #[test]
    fn a_refused_block_is_reported() {
        let (mut output, mut ring, _) = output_loop();
        push(&mut ring, 0.0, 1);
        assert_eq!(output.step(|_| false), Step::Failed);
    }
}
