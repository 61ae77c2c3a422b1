//! A headless call on a Mumble server: the same send and receive chains as a live call, with a
//! WAV file as the microphone and another as the speakers. For bots, tests, benchmarks and the
//! impatient (`palabre join LINK --headless`).
//!
//! The call runs in real time on the calling thread, in 10 ms steps: one microphone frame goes
//! through the send chain (gate, noise suppression, Opus) to the network driver
//! ([`crate::net::mumble`]), and one frame is pulled from each remote speaker's receive stream
//! (jitter buffer, Opus decoder), mixed and appended to the recording. Lines read from `control`
//! (stdin for the CLI) act like a user: `say TEXT`, `tell NAME TEXT`, `move Channel/Sub`,
//! `mute`, `unmute`, `deaf`, `undeaf`, `register`, `leave`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::audio::call::{CallAudio, CallLink, IncomingPacket, OutgoingPacket};
use crate::audio::codec::encoder_config;
use crate::audio::engine::EngineHandle;
use crate::audio::{AudioError, FRAME_SAMPLES, Meters, SAMPLE_RATE, wav};
use crate::command::{Command, Event};
use crate::config::AudioSettings;
use crate::net::mumble::{self, MumbleCommand, MumbleEvent, MumbleOptions, Tree};
use crate::proto::mumble::session::{
    self, CloseReason, IP_UDP_OVERHEAD, SessionConfig, SessionEvent, TextTarget, TrafficStats,
};

/// Longest recording kept (the rest is dropped, with a warning).
const MAX_RECORD_SECONDS: usize = 30 * 60;
/// How long `--wait-for` waits for the named user.
const WAIT_FOR_LIMIT: Duration = Duration::from_secs(30);

/// What the headless call does.
#[derive(Debug, Clone)]
pub struct HeadlessCall {
    /// Connection (server, login, identity, certificate policy).
    pub mumble: MumbleOptions,
    /// Send chain settings (preset, gate, noise suppression).
    pub audio: AudioSettings,
    /// The microphone: a WAV file (any common format; converted to 48 kHz mono).
    pub input: Option<PathBuf>,
    /// Where to write what was heard (48 kHz mono 16-bit WAV).
    pub record: Option<PathBuf>,
    /// Leave this long after joining; `None` stays until the input has been sent, or until
    /// `leave` on the control channel when there is no input.
    pub seconds: Option<f64>,
    /// Start sending the input only once a user of this name is in the channel.
    pub wait_for: Option<String>,
}

/// Why a call could not run.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The input or recording file, or the encoder settings.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The network thread could not start.
    #[error("the network thread could not start: {0}")]
    Thread(std::io::Error),
}

/// One text message as received.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReceivedText {
    /// Sender's name.
    pub from: String,
    /// Sent to us alone.
    pub private: bool,
    /// Plain text.
    pub message: String,
}

/// Voice traffic on one path, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct PathTraffic {
    /// Packets sent.
    pub packets_sent: u64,
    /// Payload bytes sent (UDP payload, or TCP frames for the tunnel).
    pub bytes_sent: u64,
    /// Bytes on the wire sent: UDP payload plus IPv4 and UDP headers (UDP only).
    pub wire_bytes_sent: u64,
    /// Packets received.
    pub packets_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
}

/// The JSON line printed at the end.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CallSummary {
    /// `host:port`.
    pub server: String,
    /// Whether the login succeeded (at least once).
    pub connected: bool,
    /// How it ended: `left`, `lost`, `rejected`, `kicked`, `protocol`, `untrusted`.
    pub state: String,
    /// The sentence for how it ended.
    pub reason: String,
    /// Our session number (last connection).
    pub session: Option<u32>,
    /// Our account id when registered.
    pub user_id: Option<u32>,
    /// Channel path we were in at the end.
    pub channel: String,
    /// Voice path at the end: `udp` or `tcp`.
    pub transport: String,
    /// Seconds from joining to leaving.
    pub seconds: f64,
    /// UDP datagrams (voice and pings).
    pub udp: PathTraffic,
    /// Voice through the TCP tunnel.
    pub tunnel: PathTraffic,
    /// Voice packets sent, either path.
    pub voice_packets_sent: u64,
    /// Voice packets received, either path.
    pub voice_packets_received: u64,
    /// Datagrams the server sent that never arrived.
    pub udp_lost: u64,
    /// Datagrams that arrived out of order.
    pub udp_late: u64,
    /// Frames the receive chains had to conceal.
    pub frames_concealed: u64,
    /// Reconnections after a lost connection.
    pub reconnections: u32,
    /// Bitrate used at the end, bit/s.
    pub bitrate: u32,
    /// Packet length used at the end, ms.
    pub frame_ms: u32,
    /// Names of the other users seen.
    pub users_seen: Vec<String>,
    /// Text messages received.
    pub texts: Vec<ReceivedText>,
    /// Seconds of audio written to the recording.
    pub recorded_seconds: f64,
}

impl CallSummary {
    /// Whether the process should exit with success.
    pub fn succeeded(&self) -> bool {
        self.connected && self.state == "left"
    }
}

/// Runs the call until it ends. Stages and events are passed to `say` as sentences; commands
/// are read from `control`. Errors before the call starts (unreadable WAV, encoder settings)
/// are returned; how the call ended is in the summary.
pub fn run(
    call: HeadlessCall,
    control: Option<mpsc::Receiver<String>>,
    mut say: impl FnMut(&str),
) -> Result<CallSummary, CallError> {
    let input = match &call.input {
        Some(path) => wav::read_mono_48k(path)?,
        None => Vec::new(),
    };
    let mut audio = call.audio.clone();
    let mut media = CallAudio::new(&audio, false)?;
    let encoder = encoder_config(&audio)?;
    let mut options = call.mumble.clone();
    options.session.bitrate = encoder.bitrate_bps.max(0) as u32;
    options.session.frame_ms = encoder.frame_ms;
    let server = format!("{}:{}", options.host, options.port);
    let handle = mumble::spawn(options, None, None).map_err(CallError::Thread)?;

    let meters = Meters::default();
    let mut summary = CallSummary {
        server,
        bitrate: encoder.bitrate_bps.max(0) as u32,
        frame_ms: encoder.frame_ms,
        transport: "tcp".to_owned(),
        ..CallSummary::default()
    };
    let mut tree = Tree::default();
    let mut users_seen: BTreeSet<String> = BTreeSet::new();
    let mut recording = Recording::default();
    let mut joined_at: Option<Instant> = None;
    let mut sending_from: Option<usize> = None;
    let mut input_pos = 0usize;
    let mut mic = [0.0f32; FRAME_SAMPLES];
    let mut mixed = [0.0f32; FRAME_SAMPLES];
    let mut leaving = false;
    let mut wait_started: Option<Instant> = None;

    let mut pace = Pace::new(Instant::now());
    let finished = loop {
        let now = Instant::now();
        // Network events.
        let mut finished = None;
        loop {
            match handle.events.try_recv() {
                Ok(event) => {
                    if let Some(end) = on_event(
                        event,
                        &mut summary,
                        &mut tree,
                        &mut media,
                        &mut users_seen,
                        &mut say,
                        now,
                    ) {
                        finished = Some(end);
                        break;
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    finished = Some((
                        CloseReason::Lost("The network thread stopped.".into()),
                        TrafficStats::default(),
                    ));
                    break;
                }
            }
        }
        if let Some(end) = finished {
            break end;
        }
        if summary.connected && joined_at.is_none() {
            joined_at = Some(now);
            wait_started = Some(now);
        }
        // Codec settings after the server's bandwidth cap.
        if summary.connected
            && (audio.bitrate_kbps != Some(summary.bitrate / 1000)
                || audio.frame_ms != Some(summary.frame_ms))
            && (summary.bitrate, summary.frame_ms) != media.codec()
        {
            audio.bitrate_kbps = Some(summary.bitrate / 1000);
            audio.frame_ms = Some(summary.frame_ms);
            media.apply(&audio)?;
        }
        // User commands.
        if let Some(control) = &control {
            while let Ok(line) = control.try_recv() {
                if let Some(command) = parse_control(&line, &tree, &mut say) {
                    if matches!(command, MumbleCommand::Leave) {
                        leaving = true;
                    }
                    handle.send(command);
                }
            }
        }
        if let Some(joined) = joined_at {
            // When to leave.
            let elapsed = now.saturating_duration_since(joined).as_secs_f64();
            let input_done =
                sending_from.is_some() && input_pos >= input.len() + SAMPLE_RATE as usize;
            let done = match call.seconds {
                Some(limit) => elapsed >= limit,
                None => !input.is_empty() && input_done,
            };
            if done && !leaving {
                leaving = true;
                handle.send(MumbleCommand::Leave);
            }
            // Start sending once whoever we wait for is here.
            if sending_from.is_none() && !input.is_empty() {
                let ready = match &call.wait_for {
                    None => true,
                    Some(name) => {
                        tree.users.iter().any(|user| &user.name == name)
                            || wait_started.is_some_and(|at| {
                                now.saturating_duration_since(at) > WAIT_FOR_LIMIT
                            })
                    }
                };
                if ready {
                    sending_from = Some(recording.len());
                    say("Sending the input file as the microphone.");
                }
            }
            // One 10 ms step.
            mic.fill(0.0);
            if sending_from.is_some() && input_pos < input.len() {
                let end = (input_pos + FRAME_SAMPLES).min(input.len());
                mic[..end - input_pos].copy_from_slice(&input[input_pos..end]);
            }
            if sending_from.is_some() {
                input_pos += FRAME_SAMPLES;
            }
            let changes = media.step(now, &mut mic, &mut mixed, &meters, |packet| {
                handle.send(MumbleCommand::Audio {
                    opus: packet.opus,
                    sequence: packet.ts_samples / FRAME_SAMPLES as u64,
                    terminator: packet.terminator,
                });
            })?;
            for (session, on) in changes {
                let name = tree
                    .users
                    .iter()
                    .find(|user| user.session == session)
                    .map_or_else(|| format!("session {session}"), |user| user.name.clone());
                tracing::debug!(
                    "{name} {}",
                    if on {
                        "is speaking"
                    } else {
                        "stopped speaking"
                    }
                );
            }
            if call.record.is_some() {
                recording.push(&mixed, &mut say);
            }
        }
        pace.wait();
    };

    let (reason, traffic) = finished;
    finish_summary(&mut summary, &reason, &traffic, joined_at, users_seen);
    summary.frames_concealed = media.frames_concealed();
    if let Some(path) = &call.record {
        // From the moment we joined.
        summary.recorded_seconds = recording.save(path)?;
    }
    Ok(summary)
}

/// What a headless call heard, kept up to [`MAX_RECORD_SECONDS`] (the user is told once when
/// the rest is dropped).
#[derive(Debug, Default)]
pub(crate) struct Recording {
    samples: Vec<f32>,
    warned: bool,
}

impl Recording {
    /// Appends one mixed frame.
    pub(crate) fn push(&mut self, frame: &[f32], say: &mut impl FnMut(&str)) {
        if self.samples.len() < MAX_RECORD_SECONDS * SAMPLE_RATE as usize {
            self.samples.extend_from_slice(frame);
        } else if !self.warned {
            self.warned = true;
            say("The recording reached 30 minutes; the rest is not recorded.");
        }
    }

    /// Samples so far.
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    /// Writes the WAV file; returns its length in seconds.
    pub(crate) fn save(&self, path: &std::path::Path) -> Result<f64, CallError> {
        wav::write_mono_48k(path, &self.samples)?;
        Ok(self.samples.len() as f64 / SAMPLE_RATE as f64)
    }
}

/// Keeps a loop of 10 ms steps in real time.
#[derive(Debug)]
pub(crate) struct Pace {
    next: Instant,
}

impl Pace {
    /// Steps from `start`.
    pub(crate) fn new(start: Instant) -> Pace {
        Pace { next: start }
    }

    /// Sleeps until the next step is due.
    pub(crate) fn wait(&mut self) {
        self.next += Duration::from_millis(10);
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        } else if now - self.next > Duration::from_millis(200) {
            // Far behind (the machine was suspended or overloaded): do not race to catch up.
            self.next = now;
        }
    }
}

/// Fills the summary's ending and traffic.
fn finish_summary(
    summary: &mut CallSummary,
    reason: &CloseReason,
    traffic: &TrafficStats,
    joined_at: Option<Instant>,
    users_seen: BTreeSet<String>,
) {
    summary.seconds = joined_at.map_or(0.0, |at| at.elapsed().as_secs_f64());
    summary.state = match reason {
        CloseReason::Left => "left",
        CloseReason::Rejected(_) | CloseReason::ServerPassword(_) => "rejected",
        CloseReason::Kicked(_) => "kicked",
        CloseReason::Lost(_) => "lost",
        CloseReason::Protocol(_) => "protocol",
        CloseReason::Untrusted(_) | CloseReason::CertificateChanged(_) => "untrusted",
    }
    .to_owned();
    summary.reason = reason.sentence();
    summary.udp = PathTraffic {
        packets_sent: traffic.udp_packets_sent,
        bytes_sent: traffic.udp_bytes_sent,
        wire_bytes_sent: traffic.udp_bytes_sent
            + traffic.udp_packets_sent * u64::from(IP_UDP_OVERHEAD),
        packets_received: traffic.udp_packets_received,
        bytes_received: traffic.udp_bytes_received,
    };
    summary.tunnel = PathTraffic {
        packets_sent: traffic.tunnel_packets_sent,
        bytes_sent: traffic.tunnel_bytes_sent,
        wire_bytes_sent: 0,
        packets_received: traffic.tunnel_packets_received,
        bytes_received: traffic.tunnel_bytes_received,
    };
    summary.voice_packets_sent = traffic.voice_packets_sent;
    summary.voice_packets_received = traffic.voice_packets_received;
    summary.udp_lost = traffic.udp_lost;
    summary.udp_late = traffic.udp_late;
    summary.users_seen = users_seen.into_iter().collect();
}

/// Where the audio of remote speakers goes: the headless call's own [`CallAudio`], or the live
/// engine (through the call link).
trait Media {
    fn receive(&mut self, now: Instant, packet: IncomingPacket);
    fn retain_speakers(&mut self, keep: &dyn Fn(u32) -> bool);
    fn forget_all(&mut self);
}

impl Media for CallAudio {
    fn receive(&mut self, now: Instant, packet: IncomingPacket) {
        CallAudio::receive(self, now, &packet);
    }
    fn retain_speakers(&mut self, keep: &dyn Fn(u32) -> bool) {
        CallAudio::retain_speakers(self, keep);
    }
    fn forget_all(&mut self) {
        CallAudio::forget_all(self);
    }
}

/// The engine decodes; its streams of departed speakers go idle by themselves.
struct EngineMedia(mpsc::Sender<IncomingPacket>);

impl Media for EngineMedia {
    fn receive(&mut self, _now: Instant, packet: IncomingPacket) {
        self.0.send(packet).ok();
    }
    fn retain_speakers(&mut self, _keep: &dyn Fn(u32) -> bool) {}
    fn forget_all(&mut self) {}
}

/// Updates the call from one driver event; returns how it ended when it did.
fn on_event(
    event: MumbleEvent,
    summary: &mut CallSummary,
    tree: &mut Tree,
    media: &mut dyn Media,
    users_seen: &mut BTreeSet<String>,
    say: &mut impl FnMut(&str),
    now: Instant,
) -> Option<(CloseReason, TrafficStats)> {
    match event {
        MumbleEvent::Stage(stage) => say(&stage.to_string()),
        MumbleEvent::Certificate(phrase) => say(&phrase.to_string()),
        MumbleEvent::Reconnecting {
            attempt,
            delay,
            reason,
        } => {
            summary.reconnections = attempt;
            say(&format!(
                "{reason} Reconnecting in {} s (attempt {attempt}).",
                delay.as_secs()
            ));
            media.forget_all();
        }
        MumbleEvent::Traffic(_) => {}
        MumbleEvent::Tree(new_tree) => {
            *tree = new_tree;
            let own = tree.own_session;
            for user in &tree.users {
                if Some(user.session) != own {
                    users_seen.insert(user.name.clone());
                } else {
                    summary.user_id = user.user_id;
                    summary.channel = channel_path(tree, user.channel).join("/");
                }
            }
            let users = &tree.users;
            media.retain_speakers(&|session| users.iter().any(|u| u.session == session));
        }
        MumbleEvent::Finished { reason, traffic } => return Some((reason, traffic)),
        MumbleEvent::Session(event) => {
            if let Some(notice) = event.notice() {
                say(&notice);
            }
            on_session_event(event, summary, media, say, now);
        }
    }
    None
}

/// The part of [`on_event`] for the session's own events.
fn on_session_event(
    event: SessionEvent,
    summary: &mut CallSummary,
    media: &mut dyn Media,
    say: &mut impl FnMut(&str),
    now: Instant,
) {
    match event {
        SessionEvent::Connected {
            session,
            welcome_text,
            ..
        } => {
            summary.connected = true;
            summary.session = Some(session);
            if !welcome_text.is_empty() {
                say(&format!("Welcome message: {welcome_text}"));
            }
        }
        SessionEvent::ServerVersion { release, .. } => {
            say(&format!("The server runs Mumble {release}."));
        }
        SessionEvent::Voice {
            session,
            sequence,
            opus,
            ..
        } => {
            media.receive(
                now,
                IncomingPacket {
                    speaker: session,
                    ts_samples: sequence * FRAME_SAMPLES as u64,
                    opus,
                    level: None,
                },
            );
        }
        SessionEvent::TransportChanged { udp } => {
            summary.transport = if udp { "udp" } else { "tcp" }.to_owned();
        }
        SessionEvent::BandwidthLimited {
            bitrate, frame_ms, ..
        } => {
            summary.bitrate = bitrate;
            summary.frame_ms = frame_ms;
        }
        SessionEvent::Text {
            from_name,
            private,
            message,
            ..
        } => {
            say(&format!(
                "{}{from_name}: {message}",
                if private { "(private) " } else { "" }
            ));
            summary.texts.push(ReceivedText {
                from: from_name,
                private,
                message,
            });
        }
        SessionEvent::UserJoined { name, .. } => say(&format!("{name} joined.")),
        SessionEvent::UserLeft { name, .. } => say(&format!("{name} left.")),
        SessionEvent::Registered(id) => summary.user_id = Some(id),
        SessionEvent::Denied(_)
        | SessionEvent::ChannelNotFound(_)
        | SessionEvent::CodecWarning
        | SessionEvent::SelfStateChanged { .. }
        | SessionEvent::UserMoved { .. }
        | SessionEvent::TreeChanged
        | SessionEvent::Latency { .. }
        | SessionEvent::Closed(_) => {}
    }
}

fn channel_path(tree: &Tree, channel: u32) -> Vec<String> {
    session::channel_path(channel, tree.channels.len(), |id| {
        tree.channels.iter().find(|c| c.id == id)
    })
}

/// One control line → a command (see the module doc).
fn parse_control(line: &str, tree: &Tree, say: &mut impl FnMut(&str)) -> Option<MumbleCommand> {
    let line = line.trim();
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    let own_channel = tree
        .users
        .iter()
        .find(|user| Some(user.session) == tree.own_session)
        .map_or(0, |user| user.channel);
    match verb {
        "" => None,
        "say" => Some(MumbleCommand::Text(
            TextTarget::Channel(own_channel),
            rest.to_owned(),
        )),
        "tell" => {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            match tree.users.iter().find(|user| user.name == name) {
                Some(user) => Some(MumbleCommand::Text(
                    TextTarget::User(user.session),
                    text.to_owned(),
                )),
                None => {
                    say(&format!("No user named {name} is connected."));
                    None
                }
            }
        }
        "move" => {
            let wanted: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            let found = tree.channels.iter().find(|channel| {
                let path = channel_path(tree, channel.id);
                path.len() == wanted.len()
                    && path
                        .iter()
                        .zip(&wanted)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            });
            match found {
                Some(channel) => Some(MumbleCommand::JoinChannel(channel.id)),
                None => {
                    say(&format!("There is no channel {rest}."));
                    None
                }
            }
        }
        "mute" => Some(MumbleCommand::SelfMute(true)),
        "unmute" => Some(MumbleCommand::SelfMute(false)),
        "deaf" => Some(MumbleCommand::SelfDeaf(true)),
        "undeaf" => Some(MumbleCommand::SelfDeaf(false)),
        "register" => Some(MumbleCommand::Register),
        "leave" | "quit" => Some(MumbleCommand::Leave),
        other => {
            say(&format!(
                "Unknown command {other}: use say, tell, move, mute, unmute, deaf, undeaf, \
                 register or leave."
            ));
            None
        }
    }
}

/// A session configuration with palabre's defaults for `username`.
pub fn session_config(username: &str) -> SessionConfig {
    SessionConfig {
        username: username.to_owned(),
        password: None,
        tokens: Vec::new(),
        channel_path: Vec::new(),
        self_mute: false,
        self_deaf: false,
        udp: true,
        version: crate::proto::mumble::session::ANNOUNCED_VERSION,
        release: format!("palabre {}", env!("CARGO_PKG_VERSION")),
        os: std::env::consts::OS.to_owned(),
        bitrate: 32_000,
        frame_ms: 20,
    }
}

/// A call on the devices, from the terminal (`palabre join LINK` without `--headless`).
#[derive(Debug, Clone)]
pub struct LiveCall {
    /// Connection.
    pub mumble: MumbleOptions,
    /// Send chain settings.
    pub audio: AudioSettings,
}

/// Runs a call on the running audio `engine` until it ends: the microphone is sent, the
/// speakers play the others, the channel tree and who speaks are told through `say`, and lines
/// from `control` act as commands (see the module doc; `tree` shows the tree again).
pub fn run_live(
    call: LiveCall,
    engine: &EngineHandle,
    control: Option<mpsc::Receiver<String>>,
    mut say: impl FnMut(&str),
) -> Result<CallSummary, CallError> {
    let mut audio = call.audio.clone();
    let encoder = encoder_config(&audio)?;
    let mut options = call.mumble.clone();
    options.session.bitrate = encoder.bitrate_bps.max(0) as u32;
    options.session.frame_ms = encoder.frame_ms;
    let mut summary = CallSummary {
        server: format!("{}:{}", options.host, options.port),
        bitrate: encoder.bitrate_bps.max(0) as u32,
        frame_ms: encoder.frame_ms,
        transport: "tcp".to_owned(),
        ..CallSummary::default()
    };
    let handle = mumble::spawn(options, None, None).map_err(CallError::Thread)?;
    let (outgoing_tx, outgoing_rx) = mpsc::channel::<OutgoingPacket>();
    let (incoming_tx, incoming_rx) = mpsc::channel::<IncomingPacket>();
    let mut link = Some(CallLink::new(
        move |packet| {
            outgoing_tx.send(packet).ok();
        },
        incoming_rx,
    ));
    let mut media = EngineMedia(incoming_tx);
    let mut tree = Tree::default();
    let mut users_seen = BTreeSet::new();
    let mut joined_at = None;
    let mut tree_shown_at: Option<Instant> = None;
    let mut tree_dirty = false;
    let mut leaving = false;
    let finished = loop {
        let now = Instant::now();
        let mut finished = None;
        while let Ok(event) = handle.events.try_recv() {
            if matches!(event, MumbleEvent::Tree(_)) {
                tree_dirty = true;
            }
            if let Some(end) = on_event(
                event,
                &mut summary,
                &mut tree,
                &mut media,
                &mut users_seen,
                &mut say,
                now,
            ) {
                finished = Some(end);
                break;
            }
        }
        if let Some(end) = finished {
            break end;
        }
        if summary.connected && joined_at.is_none() {
            joined_at = Some(now);
            if let Some(link) = link.take() {
                engine.commands.send(Command::StartCall(link)).ok();
            }
        }
        if summary.connected
            && (audio.bitrate_kbps, audio.frame_ms)
                != (Some(summary.bitrate / 1000), Some(summary.frame_ms))
            && (summary.bitrate, summary.frame_ms)
                != (encoder.bitrate_bps.max(0) as u32, encoder.frame_ms)
        {
            audio.bitrate_kbps = Some(summary.bitrate / 1000);
            audio.frame_ms = Some(summary.frame_ms);
            engine
                .commands
                .send(Command::SetAudioSettings(audio.clone()))
                .ok();
        }
        while let Ok(packet) = outgoing_rx.try_recv() {
            handle.send(MumbleCommand::Audio {
                opus: packet.opus,
                sequence: packet.ts_samples / FRAME_SAMPLES as u64,
                terminator: packet.terminator,
            });
        }
        while let Ok(event) = engine.events.try_recv() {
            match event {
                Event::Speaking { speaker, on: true } => {
                    let name = tree
                        .users
                        .iter()
                        .find(|user| user.session == speaker)
                        .map_or_else(|| format!("session {speaker}"), |user| user.name.clone());
                    say(&format!("{name} is speaking."));
                }
                Event::Error(error) => say(&format!("Audio: {error}.")),
                Event::DeviceLost { name, fallback } => say(&match fallback {
                    Some(fallback) => format!("{name} went away; now using {fallback}."),
                    None => format!("{name} went away."),
                }),
                _ => {}
            }
        }
        if let Some(control) = &control {
            while let Ok(line) = control.try_recv() {
                if line.trim() == "tree" {
                    tree_dirty = true;
                    tree_shown_at = None;
                    continue;
                }
                if let Some(command) = parse_control(&line, &tree, &mut say) {
                    if matches!(command, MumbleCommand::Leave) && !leaving {
                        leaving = true;
                    }
                    handle.send(command);
                }
            }
        }
        if tree_dirty
            && summary.connected
            && tree_shown_at
                .is_none_or(|at| now.saturating_duration_since(at) > Duration::from_secs(1))
        {
            tree_dirty = false;
            tree_shown_at = Some(now);
            for line in render_tree(&tree) {
                say(&line);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    engine.commands.send(Command::StopCall).ok();
    let (reason, traffic) = finished;
    finish_summary(&mut summary, &reason, &traffic, joined_at, users_seen);
    Ok(summary)
}

/// The channel tree as indented lines: channels, then their users with their state.
pub fn render_tree(tree: &Tree) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(root) = tree
        .channels
        .iter()
        .find(|channel| channel.parent.is_none())
    else {
        return lines;
    };
    let mut stack = vec![(root.id, 0usize)];
    let mut visited = BTreeSet::new();
    while let Some((id, depth)) = stack.pop() {
        if !visited.insert(id) {
            continue;
        }
        let Some(channel) = tree.channels.iter().find(|c| c.id == id) else {
            continue;
        };
        let indent = "  ".repeat(depth);
        lines.push(format!("{indent}{}", channel.name));
        for user in tree.users.iter().filter(|user| user.channel == id) {
            let mut marks = Vec::new();
            if Some(user.session) == tree.own_session {
                marks.push("you");
            }
            if user.self_deaf || user.deaf {
                marks.push("deafened");
            } else if user.is_muted() {
                marks.push("muted");
            }
            let marks = if marks.is_empty() {
                String::new()
            } else {
                format!(" ({})", marks.join(", "))
            };
            lines.push(format!("{indent}  - {}{marks}", user.name));
        }
        let mut children: Vec<_> = tree
            .channels
            .iter()
            .filter(|c| c.parent == Some(id))
            .collect();
        children.sort_by(|a, b| (b.position, &b.name).cmp(&(a.position, &a.name)));
        stack.extend(children.into_iter().map(|c| (c.id, depth + 1)));
    }
    lines
}
