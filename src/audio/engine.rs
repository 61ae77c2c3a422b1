//! The live audio engine: one thread that owns the devices and runs the chains.
//!
//! The window (or the command line) talks to it only through [`Command`]s and [`Event`]s and
//! reads [`Meters`]. The engine thread wakes every few milliseconds, drains the capture ring,
//! converts to 48 kHz, runs the send chain (or the whole echo loop) per 10 ms frame and fills
//! the playback ring. It reopens the default device when a device goes away.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};

use crate::audio::call::{CallAudio, CallLink, IncomingPacket, OutgoingSink};
use crate::audio::device::{self, Direction, OpenStream};
use crate::audio::dsp::resample::StreamResampler;
use crate::audio::echo::{EchoLoop, LinkConditions};
use crate::audio::rt::RtCounters;
use crate::audio::send::SendChain;
use crate::audio::{AudioError, FRAME_SAMPLES, Meters, SAMPLE_RATE};
use crate::command::{Command, Event};
use crate::config::AudioSettings;

/// How often the engine thread wakes up, unless the microphone wakes it.
const TICK: Duration = Duration::from_millis(5);
/// How long the engine thread waits at most when the microphone wakes it for each fragment (20 ms)
/// it captures (through PulseAudio): only a stalled microphone lets it run out.
const WOKEN_TICK: Duration = Duration::from_millis(30);
/// Silence queued in the playback ring when it opens, against early underruns.
const PLAYBACK_PREFILL_MS: u32 = 30;
/// Above this much queued playback, frames are dropped (input and output clocks drift).
const PLAYBACK_MAX_MS: usize = 200;
/// The window is woken for meters at most this often (30 Hz)…
const METER_REFRESH: Duration = Duration::from_millis(33);
/// …and only when the level moved at least this much (or a flag changed).
const METER_STEP_DB: f32 = 1.0;
/// A device whose callbacks stopped for this long is considered gone…
const STALL_AFTER: Duration = Duration::from_millis(1500);
/// …once it has been open this long (PulseAudio through ALSA may start capturing 2 s late).
const STALL_GRACE: Duration = Duration::from_secs(4);
/// A test sound asked for while recording starts after this much has been recorded.
const RECORDING_LEAD_SAMPLES: usize = SAMPLE_RATE as usize / 2;
/// A recording stops growing after ten minutes.
const MAX_RECORDING_SAMPLES: usize = SAMPLE_RATE as usize * 600;
/// How often a missing device is looked for again.
const REOPEN_EVERY: Duration = Duration::from_secs(2);
/// Frequency and length of the test sound.
const TEST_SOUND_HZ: f32 = 440.0;
const TEST_SOUND_MS: usize = 1000;

/// The window's (or command line's) side of a running engine.
#[derive(Debug)]
pub struct EngineHandle {
    /// Commands to the engine.
    pub commands: Sender<Command>,
    /// Events from the engine.
    pub events: Receiver<Event>,
    /// Live levels.
    pub meters: Arc<Meters>,
    /// Real-time counters (underruns…), for diagnostics.
    pub counters: Arc<RtCounters>,
}

/// Starts the engine thread. `repaint` is called after each event is sent.
pub fn spawn(
    settings: AudioSettings,
    input: Option<String>,
    output: Option<String>,
    repaint: Box<dyn Fn() + Send + Sync>,
) -> EngineHandle {
    let (command_tx, command_rx) = channel();
    let (event_tx, event_rx) = channel();
    let meters = Arc::new(Meters::default());
    let counters = Arc::new(RtCounters::default());
    let engine = Engine {
        settings,
        input_choice: input,
        output_choice: output,
        events: event_tx,
        repaint,
        meters: meters.clone(),
        counters: counters.clone(),
        input: None,
        output: None,
        reopen_at: None,
        device_errors_reported: 0,
        meters_shown: MetersShown {
            at: Instant::now(),
            input_dbfs: crate::audio::meter::SILENCE_DBFS,
            gate_open: false,
            remote_speaking: false,
        },
        monitor: None,
        echo: None,
        call: None,
        active: true,
        meters_visible: true,
        push_to_talk_held: false,
        sending: false,
        test_sound_left: 0,
        test_sound_phase: 0.0,
        recording: None,
        test_sound_pending: false,
        tone_at: None,
        media_frames: 0,
        start: Instant::now(),
    };
    let spawned = std::thread::Builder::new()
        .name("palabre-audio".into())
        .spawn(move || engine.run(command_rx));
    if let Err(e) = spawned {
        tracing::error!("cannot start the audio thread: {e}");
    }
    EngineHandle {
        commands: command_tx,
        events: event_rx,
        meters,
        counters,
    }
}

/// Watches a device's callback count: a device that stops calling back is gone, even when its
/// host reports nothing better than an unclassified error (ALSA through PulseAudio does).
struct Liveness {
    opened_at: Instant,
    last_count: u64,
    last_moved: Instant,
}

impl Liveness {
    fn new(now: Instant) -> Self {
        Self {
            opened_at: now,
            last_count: 0,
            last_moved: now,
        }
    }

    /// Whether the device stalled: no callback for [`STALL_AFTER`], once past the
    /// [`STALL_GRACE`] some hosts need to start.
    fn stalled(&mut self, now: Instant, count: u64) -> bool {
        if count != self.last_count {
            self.last_count = count;
            self.last_moved = now;
            return false;
        }
        now.duration_since(self.opened_at) > STALL_GRACE
            && now.duration_since(self.last_moved) > STALL_AFTER
    }
}

struct InputSide {
    liveness: Liveness,
    stream: OpenStream,
    ring: rtrb::Consumer<f32>,
    to_48k: StreamResampler,
    scratch: Vec<f32>,
}

struct OutputSide {
    liveness: Liveness,
    stream: OpenStream,
    ring: rtrb::Producer<f32>,
    from_48k: StreamResampler,
    scratch: Vec<f32>,
}

/// The meter values the window was last woken for.
struct MetersShown {
    at: Instant,
    input_dbfs: f32,
    gate_open: bool,
    remote_speaking: bool,
}

/// A call running on the devices.
struct LiveCall {
    audio: CallAudio,
    incoming: Receiver<IncomingPacket>,
    outgoing: OutgoingSink,
}

struct Engine {
    settings: AudioSettings,
    input_choice: Option<String>,
    output_choice: Option<String>,
    events: Sender<Event>,
    repaint: Box<dyn Fn() + Send + Sync>,
    meters: Arc<Meters>,
    counters: Arc<RtCounters>,
    input: Option<InputSide>,
    output: Option<OutputSide>,
    /// When a device is missing, the next attempt to open it (the default one).
    reopen_at: Option<Instant>,
    /// Device errors seen so far (logging is thinned out after the first few).
    device_errors_reported: u64,
    meters_shown: MetersShown,
    /// The send chain run for the meters while no echo test runs (nothing is encoded).
    monitor: Option<SendChain>,
    echo: Option<EchoLoop>,
    /// A call: its audio, where remote packets arrive, where ours go.
    call: Option<LiveCall>,
    /// Devices open (see [`Command::SetActive`]).
    active: bool,
    /// The window shows a meter: wake it when levels change (see [`Command::ShowMeters`]).
    meters_visible: bool,
    /// The push-to-talk key as last reported (a call or echo test started meanwhile gets it).
    push_to_talk_held: bool,
    /// In a call, whether our voice was last reported as going out ([`Event::Sending`]).
    sending: bool,
    test_sound_left: usize,
    test_sound_phase: f32,
    recording: Option<Vec<f32>>,
    /// A test sound waits for the recording to have started.
    test_sound_pending: bool,
    /// Where in the recording the first test sound started.
    tone_at: Option<usize>,
    media_frames: u64,
    start: Instant,
}

impl Engine {
    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
        (self.repaint)();
    }

    fn run(mut self, commands: Receiver<Command>) {
        self.emit_devices();
        self.open_input(false);
        self.open_output(false);
        self.monitor = match SendChain::new(&monitor_settings(&self.settings)) {
            Ok(chain) => Some(chain),
            Err(e) => {
                self.emit(Event::Error(e));
                None
            }
        };
        loop {
            if !self.active {
                // Devices closed: nothing to do until told otherwise; no timer, no CPU.
                match commands.recv() {
                    Ok(Command::Shutdown) | Err(_) => return,
                    Ok(command) => self.handle(command),
                }
                continue;
            }
            loop {
                match commands.try_recv() {
                    Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => {
                        self.stop_echo();
                        self.stop_call();
                        return;
                    }
                    Ok(command) => self.handle(command),
                    Err(TryRecvError::Empty) => break,
                }
            }
            self.check_devices();
            self.process_capture();
            self.pump_output();
            self.wake_window_for_meters();
            let woken = self
                .input
                .as_ref()
                .is_some_and(|input| input.stream.wakes_opener);
            std::thread::park_timeout(if woken { WOKEN_TICK } else { TICK });
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::SetActive(active) => self.set_active(active),
            Command::ShowMeters(visible) => self.meters_visible = visible,
            Command::SelectInput(choice) => {
                self.input_choice = choice;
                self.input = None;
                if self.active {
                    self.open_input(false);
                }
            }
            Command::SelectOutput(choice) => {
                self.output_choice = choice;
                self.output = None;
                if self.active {
                    self.open_output(false);
                }
            }
            Command::RefreshDevices => self.emit_devices(),
            Command::SetAudioSettings(settings) => {
                self.settings = settings;
                let mut failure = None;
                if let Some(monitor) = self.monitor.as_mut() {
                    failure = monitor.apply(&monitor_settings(&self.settings)).err();
                }
                if let Some(echo) = self.echo.as_mut() {
                    failure = failure.or(echo.apply(&self.settings).err());
                }
                if let Some(call) = self.call.as_mut() {
                    failure = failure.or(call.audio.apply(&self.settings).err());
                }
                if let Some(e) = failure {
                    self.emit(Event::Error(e));
                }
            }
            Command::PushToTalk(held) => {
                self.push_to_talk_held = held;
                if let Some(monitor) = self.monitor.as_mut() {
                    monitor.set_push_to_talk(held);
                }
                if let Some(echo) = self.echo.as_mut() {
                    echo.set_push_to_talk(held);
                }
                if let Some(call) = self.call.as_mut() {
                    call.audio.set_push_to_talk(held);
                }
            }
            Command::StartEchoTest => self.start_echo(),
            Command::StartCall(link) => self.start_call(link),
            Command::StopCall => self.stop_call(),
            Command::StopEchoTest => self.stop_echo(),
            Command::PlayTestSound => match self.recording.as_ref() {
                // While recording, the tone waits until the microphone delivers, so its start
                // can be placed in the recording (the device round trip is measured so).
                Some(recording) if recording.len() < RECORDING_LEAD_SAMPLES => {
                    self.test_sound_pending = true;
                }
                _ => self.start_test_sound(),
            },
            Command::StartRecording => {
                self.recording = Some(Vec::with_capacity(SAMPLE_RATE as usize * 10))
            }
            Command::StopRecording => {
                let samples = self.recording.take().unwrap_or_default();
                let tone_at = self.tone_at.take();
                self.emit(Event::Recorded { samples, tone_at });
            }
            Command::Shutdown => {}
        }
    }

    /// Wakes the window when a meter changed enough to be seen, at most [`METER_REFRESH`]
    /// apart: a quiet room costs no repaint.
    fn wake_window_for_meters(&mut self) {
        if !self.meters_visible {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.meters_shown.at) < METER_REFRESH {
            return;
        }
        let shown = MetersShown {
            at: now,
            input_dbfs: self.meters.input_dbfs(),
            gate_open: self.meters.gate_open(),
            remote_speaking: self.meters.remote_speaking(),
        };
        if (shown.input_dbfs - self.meters_shown.input_dbfs).abs() >= METER_STEP_DB
            || shown.gate_open != self.meters_shown.gate_open
            || shown.remote_speaking != self.meters_shown.remote_speaking
        {
            self.meters_shown = shown;
            (self.repaint)();
        }
    }

    fn emit_devices(&self) {
        let inputs = device::list(Direction::Input);
        let outputs = device::list(Direction::Output);
        self.emit(Event::Devices { inputs, outputs });
    }

    fn try_open_input(&self, choice: Option<String>) -> Result<InputSide, AudioError> {
        let (stream, ring) = device::open_input_choice(choice.as_deref(), self.counters.clone())?;
        let to_48k = StreamResampler::new(stream.rate_hz, SAMPLE_RATE)?;
        Ok(InputSide {
            liveness: Liveness::new(Instant::now()),
            scratch: vec![0.0; stream.rate_hz as usize],
            stream,
            ring,
            to_48k,
        })
    }

    fn try_open_output(&self, choice: Option<String>) -> Result<OutputSide, AudioError> {
        let (stream, ring) = device::open_output_choice(
            choice.as_deref(),
            self.counters.clone(),
            PLAYBACK_PREFILL_MS,
        )?;
        let from_48k = StreamResampler::new(SAMPLE_RATE, stream.rate_hz)?;
        Ok(OutputSide {
            liveness: Liveness::new(Instant::now()),
            scratch: vec![0.0; stream.rate_hz as usize],
            stream,
            ring,
            from_48k,
        })
    }

    /// Opens the chosen input (or the default one when `fallback`).
    fn open_input(&mut self, fallback: bool) {
        let choice = if fallback {
            None
        } else {
            self.input_choice.clone()
        };
        match self.try_open_input(choice) {
            Ok(side) => {
                tracing::info!(device = %side.stream.name, rate = side.stream.rate_hz, "microphone open");
                let name = side.stream.name.clone();
                self.input = Some(side);
                self.emit(Event::InputOpened(name));
            }
            Err(e) => self.emit(Event::Error(e)),
        }
    }

    /// Opens the chosen output (or the default one when `fallback`).
    fn open_output(&mut self, fallback: bool) {
        let choice = if fallback {
            None
        } else {
            self.output_choice.clone()
        };
        match self.try_open_output(choice) {
            Ok(side) => {
                tracing::info!(device = %side.stream.name, rate = side.stream.rate_hz, "speakers open");
                let name = side.stream.name.clone();
                self.output = Some(side);
                self.emit(Event::OutputOpened(name));
            }
            Err(e) => self.emit(Event::Error(e)),
        }
    }

    /// Reacts to devices that reported an error: a lost device is replaced by the default one.
    fn check_devices(&mut self) {
        if self.input.is_none() || self.output.is_none() {
            let now = Instant::now();
            match self.reopen_at {
                None => self.reopen_at = Some(now + REOPEN_EVERY),
                Some(at) if now >= at => {
                    self.reopen_at = None;
                    self.reopen_missing();
                }
                Some(_) => {}
            }
        }
        let reported = &mut self.device_errors_reported;
        let now = Instant::now();
        let captured = self.counters.capture_callbacks.load(Ordering::Relaxed);
        let input_lost = self.input.as_mut().is_some_and(|i| {
            drain_errors(&mut i.stream, reported) | i.liveness.stalled(now, captured)
        });
        if let Some(name) = self
            .input
            .as_ref()
            .filter(|_| input_lost)
            .map(|i| i.stream.name.clone())
        {
            self.input = None;
            self.open_input(true);
            let fallback = self.input.as_ref().map(|i| i.stream.name.clone());
            self.emit(Event::DeviceLost { name, fallback });
        }
        let reported = &mut self.device_errors_reported;
        let played = self.counters.playback_callbacks.load(Ordering::Relaxed);
        let output_lost = self.output.as_mut().is_some_and(|o| {
            drain_errors(&mut o.stream, reported) | o.liveness.stalled(now, played)
        });
        if let Some(name) = self
            .output
            .as_ref()
            .filter(|_| output_lost)
            .map(|o| o.stream.name.clone())
        {
            self.output = None;
            self.open_output(true);
            let fallback = self.output.as_ref().map(|o| o.stream.name.clone());
            self.emit(Event::DeviceLost { name, fallback });
        }
    }

    /// Tries again to open a device that is missing (lost, or absent at start), quietly: the
    /// user was already told it is missing.
    fn reopen_missing(&mut self) {
        if self.input.is_none()
            && let Ok(side) = self
                .try_open_input(self.input_choice.clone())
                .or_else(|_| self.try_open_input(None))
        {
            let name = side.stream.name.clone();
            self.input = Some(side);
            self.emit(Event::InputOpened(name));
        }
        if self.output.is_none()
            && let Ok(side) = self
                .try_open_output(self.output_choice.clone())
                .or_else(|_| self.try_open_output(None))
        {
            let name = side.stream.name.clone();
            self.output = Some(side);
            self.emit(Event::OutputOpened(name));
        }
    }

    fn start_echo(&mut self) {
        self.set_active(true);
        if self.input.is_none() {
            self.emit(Event::Error(AudioError::NoDevice { direction: "input" }));
            return;
        }
        match EchoLoop::new(&self.settings, LinkConditions::default(), true) {
            Ok(mut echo) => {
                echo.set_push_to_talk(self.push_to_talk_held);
                self.echo = Some(echo);
                self.emit(Event::EchoTestStarted);
            }
            Err(e) => self.emit(Event::Error(e)),
        }
    }

    /// Opens the devices (`true`) or closes them and goes quiet (`false`). A running echo test
    /// or call keeps them open.
    fn set_active(&mut self, active: bool) {
        if active == self.active {
            return;
        }
        if active {
            self.active = true;
            self.reopen_at = None;
            self.open_input(false);
            self.open_output(false);
        } else if self.echo.is_none() && self.call.is_none() {
            self.active = false;
            self.input = None;
            self.output = None;
            self.reopen_at = None;
            self.recording = None;
            self.test_sound_left = 0;
            self.meters
                .set_input_dbfs(crate::audio::meter::SILENCE_DBFS);
            self.meters.set_gate_open(false);
            self.meters.set_remote_speaking(false);
        }
    }

    fn start_call(&mut self, link: CallLink) {
        self.stop_echo();
        self.set_active(true);
        let Some(incoming) = link.take_incoming() else {
            return;
        };
        match CallAudio::new(&self.settings, true) {
            Ok(mut audio) => {
                audio.set_push_to_talk(self.push_to_talk_held);
                self.call = Some(LiveCall {
                    audio,
                    incoming,
                    outgoing: link.outgoing,
                });
                self.emit(Event::CallStarted);
            }
            Err(e) => self.emit(Event::Error(e)),
        }
    }

    fn stop_call(&mut self) {
        if self.sending {
            self.sending = false;
            self.emit(Event::Sending(false));
        }
        if let Some(call) = self.call.take() {
            self.meters.set_remote_speaking(false);
            self.emit(Event::CallStopped {
                frames_concealed: call.audio.frames_concealed(),
            });
        }
    }

    fn stop_echo(&mut self) {
        if let Some(echo) = self.echo.take() {
            self.meters.set_remote_speaking(false);
            self.emit(Event::EchoTestStopped(echo.summary()));
        }
    }

    /// Drains the capture ring and runs every complete 10 ms frame through the chain.
    fn process_capture(&mut self) {
        let Some(input) = self.input.as_mut() else {
            return;
        };
        let available = input.ring.slots().min(input.scratch.len());
        if let Ok(chunk) = input.ring.read_chunk(available) {
            let (first, second) = chunk.as_slices();
            input.to_48k.push(first);
            input.to_48k.push(second);
            chunk.commit_all();
        }
        let mut mic = [0.0f32; FRAME_SAMPLES];
        let mut speaker = [0.0f32; FRAME_SAMPLES];
        while self
            .input
            .as_mut()
            .is_some_and(|input| input.to_48k.pop_exact(&mut mic))
        {
            if let Some(recording) = self.recording.as_mut()
                && recording.len() < MAX_RECORDING_SAMPLES
            {
                recording.extend_from_slice(&mic);
                if self.test_sound_pending && recording.len() >= RECORDING_LEAD_SAMPLES {
                    self.test_sound_pending = false;
                    self.start_test_sound();
                }
            }
            let now = self.start + Duration::from_millis(10 * self.media_frames);
            self.media_frames += 1;
            speaker.fill(0.0);
            let mut changes = Vec::new();
            let result = if let Some(call) = self.call.as_mut() {
                while let Ok(packet) = call.incoming.try_recv() {
                    call.audio.receive(now, &packet);
                }
                let outgoing = &call.outgoing;
                call.audio
                    .step(now, &mut mic, &mut speaker, &self.meters, |packet| {
                        outgoing(packet)
                    })
                    .map(|c| changes = c)
            } else if let Some(echo) = self.echo.as_mut() {
                echo.step(now, &mut mic, &mut speaker, &self.meters)
            } else if let Some(monitor) = self.monitor.as_mut() {
                // Meters only: the frame is processed but never encoded.
                monitor
                    .process(&mut mic, &speaker, &self.meters)
                    .map(|_| monitor.discard_pending())
            } else {
                Ok(())
            };
            if let Err(e) = result {
                self.echo = None;
                self.call = None;
                self.emit(Event::Error(e));
            }
            for (speaker, on) in changes {
                self.emit(Event::Speaking { speaker, on });
            }
            // Our own voice going out, once per talk spurt (the call screen shows it).
            if self.call.is_some() {
                let sending = self.meters.gate_open();
                if sending != self.sending {
                    self.sending = sending;
                    self.emit(Event::Sending(sending));
                }
            }
            if self.echo.is_some() || self.call.is_some() {
                self.add_test_sound(&mut speaker);
                self.play(&speaker);
            }
        }
    }

    /// Outside the echo test, the speakers are fed on their own clock while a test sound plays
    /// or a recording runs: the tone, then silence. (Some hosts, such as a PulseAudio null
    /// sink, also stop the monitor of an idle sink, so recording needs something playing.)
    fn pump_output(&mut self) {
        if self.echo.is_some()
            || self.call.is_some()
            || (self.test_sound_left == 0 && self.recording.is_none())
        {
            return;
        }
        let Some(output) = self.output.as_ref() else {
            return;
        };
        let queued =
            output.ring.buffer().capacity() - output.ring.slots() + output.from_48k.available();
        let target = output.stream.rate_hz as usize * PLAYBACK_PREFILL_MS as usize / 1000;
        let frames = target
            .saturating_sub(queued)
            .div_ceil(FRAME_SAMPLES * output.stream.rate_hz as usize / SAMPLE_RATE as usize);
        let mut speaker = [0.0f32; FRAME_SAMPLES];
        for _ in 0..frames {
            speaker.fill(0.0);
            self.add_test_sound(&mut speaker);
            self.play(&speaker);
        }
    }

    fn start_test_sound(&mut self) {
        self.test_sound_left = SAMPLE_RATE as usize * TEST_SOUND_MS / 1000;
        if let Some(recording) = self.recording.as_ref() {
            self.tone_at.get_or_insert(recording.len());
        }
    }

    fn add_test_sound(&mut self, speaker: &mut [f32]) {
        if self.test_sound_left == 0 {
            return;
        }
        let step = TEST_SOUND_HZ * 2.0 * std::f32::consts::PI / SAMPLE_RATE as f32;
        for sample in speaker.iter_mut() {
            if self.test_sound_left == 0 {
                break;
            }
            *sample += 0.25 * self.test_sound_phase.sin();
            self.test_sound_phase = (self.test_sound_phase + step) % (2.0 * std::f32::consts::PI);
            self.test_sound_left -= 1;
        }
    }

    /// Sends a 48 kHz frame to the speakers.
    fn play(&mut self, frame: &[f32]) {
        let Some(output) = self.output.as_mut() else {
            return;
        };
        output.from_48k.push(frame);
        let ready = output.from_48k.available().min(output.scratch.len());
        let scratch = &mut output.scratch[..ready];
        if !output.from_48k.pop_exact(scratch) {
            return;
        }
        let max_queued = output.stream.rate_hz as usize * PLAYBACK_MAX_MS / 1000;
        let queued = output.ring.buffer().capacity() - output.ring.slots();
        if queued > max_queued {
            // The speakers run slower than the microphone: drop this frame rather than lag.
            return;
        }
        let writable = output.ring.slots().min(scratch.len());
        if let Ok(chunk) = output.ring.write_chunk_uninit(writable) {
            chunk.fill_from_iter(scratch[..writable].iter().copied());
        }
    }
}

/// Takes the errors a device reported; returns whether the device is gone. Hosts may report the
/// same transient error (an xrun) many times a second: it is logged a few times, then only
/// counted in `reported`.
fn drain_errors(stream: &mut OpenStream, reported: &mut u64) -> bool {
    let mut lost = false;
    while let Ok(kind) = stream.errors.pop() {
        *reported += 1;
        if *reported <= 3 {
            tracing::warn!(device = %stream.name, "device error: {kind}");
        } else if reported.is_power_of_two() {
            tracing::warn!(device = %stream.name, "{reported} device errors so far, last: {kind}");
        }
        lost |= matches!(
            kind,
            cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::HostUnavailable
        );
    }
    lost
}

/// The send chain that only feeds the meters: nothing is played while it runs, so there is no
/// echo to cancel, and the canceller's CPU is saved.
fn monitor_settings(settings: &AudioSettings) -> AudioSettings {
    AudioSettings {
        echo_cancel: false,
        ..settings.clone()
    }
}
