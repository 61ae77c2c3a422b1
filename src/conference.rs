//! The backend-neutral model of a conference, as the window sees it: participants (and, on
//! Mumble, the channels they are in), who speaks, who is muted, chat, the connection stage and
//! the traffic. Each back-end has an adapter that runs on its own thread, translates its
//! protocol's events into [`ConferenceEvent`]s and carries out [`ConferenceCommand`]s, and
//! connects the audio engine to the network through a [`CallLink`]. The window only renders
//! these events and sends these commands: it never sees a protocol.
//!
//! Two adapters: Mumble ([`spawn_mumble`]) and Jitsi Meet ([`spawn_jitsi`]).

use std::collections::BTreeSet;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::audio::FRAME_SAMPLES;
use crate::audio::call::{CallLink, IncomingPacket, OutgoingPacket};
use crate::command::Command;
use crate::config::AudioSettings;
use crate::i18n::Phrase;
use crate::net::jitsi::driver::{
    self as jitsi, JitsiCommand, JitsiEvent, JitsiOptions, JitsiTraffic,
};
use crate::net::mumble::{self, MumbleCommand, MumbleEvent, MumbleOptions, Tree};
use crate::proto::jitsi::conference::{
    ConferenceEnd, ConferenceEvent as JitsiConferenceEvent, Participant as JitsiParticipant,
    Waiting,
};
use crate::proto::mumble::session::{
    CloseReason, IP_UDP_OVERHEAD, SessionEvent, TextTarget, TrafficStats,
};

/// Someone in the conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Back-end id (Mumble session); the engine's speaker id for their voice.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// The room (Mumble channel) they are in; `None` on back-ends without rooms.
    pub room: Option<u32>,
    /// This is the user.
    pub you: bool,
    /// Cannot be heard (muted by themselves or a moderator).
    pub muted: bool,
    /// Hears nothing.
    pub deafened: bool,
    /// Raised their hand (Jitsi).
    pub hand_raised: bool,
}

/// A room participants can be in (a Mumble channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// Id.
    pub id: u32,
    /// Parent room; `None` for the root.
    pub parent: Option<u32>,
    /// Name.
    pub name: String,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Sender's name.
    pub from: String,
    /// Sent to the user alone.
    pub private: bool,
    /// Plain text.
    pub text: String,
    /// Sent by the user.
    pub own: bool,
}

/// Where the connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Connecting; the phrase says which step (empty before the first).
    Connecting(Phrase),
    /// In the conference.
    Connected,
    /// The connection was lost; trying again.
    Reconnecting {
        /// Attempt number.
        attempt: u32,
        /// Seconds before it.
        seconds: u64,
        /// Why the connection was lost.
        reason: Phrase,
    },
    /// Over.
    Ended {
        /// Why (empty when nobody said).
        reason: Phrase,
        /// It ended because of a failure (not because the user left).
        failed: bool,
    },
}

/// The longest an adapter's thread sleeps without being woken: only a safety net (a driver
/// thread that died without a word), since the driver and the window wake it ([`Waker`]).
const ADAPTER_NAP: Duration = Duration::from_secs(1);

/// How many of the others' voice packets may wait for the engine: 20 s of one speaker's 20 ms
/// packets. The engine takes them every 20 ms or sooner while its devices run; while it cannot (no
/// microphone, a device being reopened) the newest are dropped rather than piling up.
const INCOMING_QUEUE: usize = 1000;

/// Wakes an adapter's thread: its driver calls it after queuing events, the window's
/// [`ConferenceHandle`] after each command. The thread sleeps in between, with no timer.
#[derive(Clone, Default)]
struct Waker(Arc<OnceLock<std::thread::Thread>>);

impl Waker {
    /// Called by the adapter's thread before it first looks at its queues: a wake-up before
    /// that finds the events in the queues anyway.
    fn register(&self) {
        let _ = self.0.set(std::thread::current());
    }

    fn wake(&self) {
        if let Some(thread) = self.0.get() {
            thread.unpark();
        }
    }

    /// The driver's `wake`.
    fn for_driver(&self) -> Arc<dyn Fn() + Send + Sync> {
        let waker = self.clone();
        Arc::new(move || waker.wake())
    }
}

/// Traffic of the call so far.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Traffic {
    /// Sent over the last two seconds ([`TRAFFIC_SHOWN_EVERY`]), bit/s (headers included).
    pub up_bps: f64,
    /// Received over the last two seconds, bit/s (headers included).
    pub down_bps: f64,
    /// Bytes sent and received since joining (control included).
    pub total_bytes: u64,
    /// How well the connection carries the call.
    pub quality: Quality,
}

/// How well the connection carries the call, as last measured: the round trip to the server
/// and the share of the voice packets from it that never arrived.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quality {
    /// Round trip to the server, ms (Mumble: its pings; Jitsi Meet: the bridge's RTCP reports).
    pub rtt_ms: Option<u32>,
    /// Packets from the server lost on the way over the last seconds, percent (`None` while
    /// too few arrived to tell, or over TCP, which loses none).
    pub loss_percent: Option<f32>,
}

/// What the window says of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QualityLevel {
    /// Nothing measured yet.
    Unknown,
    /// Conversation as in a room.
    Good,
    /// Noticeable: a delay in turn-taking, or clipped sounds.
    Fair,
    /// Hard to talk: long delays or many gaps.
    Poor,
}

/// A round trip from which turn-taking suffers: over 150 ms each way (ITU-T G.114's limit for
/// most conversations).
const FAIR_RTT_MS: u32 = 300;
/// A round trip over 300 ms each way: people talk over each other.
const POOR_RTT_MS: u32 = 600;
/// Losses that Opus's concealment and in-band FEC no longer hide well.
const FAIR_LOSS_PERCENT: f32 = 3.0;
/// Losses that make words drop out.
const POOR_LOSS_PERCENT: f32 = 10.0;

impl Quality {
    /// The level the figures give (the worse of round trip and loss).
    pub fn level(&self) -> QualityLevel {
        if self.rtt_ms.is_none() && self.loss_percent.is_none() {
            return QualityLevel::Unknown;
        }
        let rtt = self.rtt_ms.unwrap_or(0);
        let loss = self.loss_percent.unwrap_or(0.0);
        if rtt >= POOR_RTT_MS || loss >= POOR_LOSS_PERCENT {
            QualityLevel::Poor
        } else if rtt >= FAIR_RTT_MS || loss >= FAIR_LOSS_PERCENT {
            QualityLevel::Fair
        } else {
            QualityLevel::Good
        }
    }

    /// The figures as the window shows them: the level, the round trip to 10 ms and the loss
    /// to the percent.
    pub fn shown(&self) -> (QualityLevel, Option<u32>, Option<u32>) {
        (
            self.level(),
            self.rtt_ms.map(|ms| (ms + 5) / 10 * 10),
            self.loss_percent
                .map(|percent| percent.round().max(0.0) as u32),
        )
    }
}

/// Loss measured over windows of a few seconds, from running counts of packets received and
/// packets known lost.
#[derive(Debug, Default)]
struct LossWindow {
    /// When the window began, and the counts then.
    start: Option<(Instant, u64, u64)>,
    /// The last full window's loss.
    percent: Option<f32>,
}

impl LossWindow {
    /// Length of a window.
    const SPAN: Duration = Duration::from_secs(4);
    /// Packets a window needs before its loss says anything (a second of one speaker).
    const ENOUGH: u64 = 50;

    fn update(&mut self, now: Instant, received: u64, lost: u64) -> Option<f32> {
        match self.start {
            Some((at, received_then, lost_then)) => {
                if now.saturating_duration_since(at) >= Self::SPAN {
                    let got = received.saturating_sub(received_then);
                    let missing = lost.saturating_sub(lost_then);
                    let total = got + missing;
                    self.percent =
                        (total >= Self::ENOUGH).then(|| missing as f32 * 100.0 / total as f32);
                    self.start = Some((now, received, lost));
                }
            }
            None => self.start = Some((now, received, lost)),
        }
        self.percent
    }
}

impl Traffic {
    /// The figures as the window shows them: kbit/s up and down to the unit, and the data used
    /// in tenths of a megabyte. A new report that leaves them equal is not worth a repaint.
    pub fn shown(&self) -> (u64, u64, u64) {
        let kbps = |bps: f64| (bps / 1000.0).round().max(0.0) as u64;
        (
            kbps(self.up_bps),
            kbps(self.down_bps),
            (self.total_bytes + 50_000) / 100_000,
        )
    }
}

/// Whether `traffic` shows differently from what the window shows now (`shown`, updated).
fn shows_new(shown: &mut Option<ShownTraffic>, traffic: &Traffic) -> bool {
    let now = Some((traffic.shown(), traffic.quality.shown()));
    if *shown == now {
        return false;
    }
    *shown = now;
    true
}

/// What a back-end tells the window.
#[derive(Debug, Clone, PartialEq)]
pub enum ConferenceEvent {
    /// The connection stage changed.
    Stage(Stage),
    /// Something to tell the user once (a refusal, the welcome text, the server's bandwidth
    /// cap, a certificate accepted for the first time…).
    Notice(Phrase),
    /// Everyone, and the rooms, after a change.
    Roster {
        /// Participants, the user included.
        participants: Vec<Participant>,
        /// Rooms (empty on back-ends without rooms).
        rooms: Vec<Room>,
    },
    /// A chat message arrived (or ours was sent).
    Chat(ChatMessage),
    /// Traffic, worked out every two seconds while connected ([`TRAFFIC_SHOWN_EVERY`]); sent
    /// when a figure the window shows changed ([`Traffic::shown`]), so a silent call does not
    /// repaint the window for it.
    Traffic(Traffic),
    /// The server's certificate changed since the last connection: the conference ends, and
    /// the user may choose to trust the new certificate and join again. The sentence explains.
    CertificateChanged(Phrase),
    /// The server or meeting asks for a password: the conference ends, and the user may join
    /// again with one. `wrong`: one was given and refused.
    PasswordNeeded {
        /// A password was given and refused.
        wrong: bool,
    },
    /// A new picture of a participant's camera (the user's own too), scaled to a tile; `None`
    /// when their video stopped.
    Video {
        /// The participant.
        participant: u32,
        /// The picture.
        picture: Option<Arc<crate::video::Rgba>>,
    },
    /// The user's camera stopped by itself (no camera, a failure); the phrase says why.
    CameraStopped(Phrase),
}

/// What the window asks of a back-end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConferenceCommand {
    /// Mute or unmute the microphone (for everyone).
    Mute(bool),
    /// Deafen or undeafen (Mumble).
    Deafen(bool),
    /// Raise or lower the hand (Jitsi Meet).
    RaiseHand(bool),
    /// Send a chat message to everyone (`to: None`) or one participant.
    Chat {
        /// Recipient, or everyone.
        to: Option<u32>,
        /// Text.
        text: String,
    },
    /// Move into a room (Mumble channel).
    MoveTo(u32),
    /// Receive no video (`true`) or others' cameras (Jitsi Meet).
    AudioOnly(bool),
    /// Turn the camera on (from this source) or off (Jitsi Meet).
    Camera(Option<crate::video::camera::Source>),
    /// Leave the conference.
    Leave,
}

/// What the two adapters (Mumble, Jitsi Meet) give [`run_adapter`].
trait Adapter {
    /// The driver's events.
    type Event;
    fn driver_events(&self) -> &Receiver<Self::Event>;
    /// Handles one driver event; `true` when the conference is over.
    fn on_event(&mut self, event: Self::Event) -> bool;
    fn on_command(&mut self, command: ConferenceCommand);
    /// Asks the driver to leave (its last event then ends the conference).
    fn leave(&mut self);
    fn engine(&self) -> &Sender<Command>;
}

/// An adapter's thread: the driver's events, then the window's commands, then sleep until the
/// driver or the window wakes it. Voice never passes here on Mumble (it goes between the engine
/// and the driver), so a quiet call does not wake it at all.
fn run_adapter<A: Adapter>(mut adapter: A, commands: Receiver<ConferenceCommand>, waker: Waker) {
    waker.register();
    let mut orphaned = false;
    'serve: loop {
        loop {
            let event = match adapter.driver_events().try_recv() {
                Ok(event) => event,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => break 'serve,
            };
            if adapter.on_event(event) {
                break 'serve;
            }
        }
        loop {
            match commands.try_recv() {
                Ok(command) => adapter.on_command(command),
                Err(TryRecvError::Empty) => break,
                // The window is gone without saying goodbye: leave for it (once), and the
                // driver's last event ends this thread.
                Err(TryRecvError::Disconnected) => {
                    if !orphaned {
                        orphaned = true;
                        adapter.leave();
                    }
                    break;
                }
            }
        }
        std::thread::park_timeout(ADAPTER_NAP);
    }
    adapter.engine().send(Command::StopCall).ok();
}

/// The window's end of a running conference. Dropping it without a [`ConferenceCommand::Leave`]
/// leaves anyway.
pub struct ConferenceHandle {
    /// Commands to the back-end.
    commands: Sender<ConferenceCommand>,
    /// Events from the back-end.
    pub events: Receiver<ConferenceEvent>,
    waker: Waker,
}

impl ConferenceHandle {
    fn new(
        commands: Sender<ConferenceCommand>,
        events: Receiver<ConferenceEvent>,
        waker: Waker,
    ) -> Self {
        Self {
            commands,
            events,
            waker,
        }
    }

    /// Hands a command to the back-end.
    pub fn send(&self, command: ConferenceCommand) {
        self.commands.send(command).ok();
        self.waker.wake();
    }
}

impl Drop for ConferenceHandle {
    fn drop(&mut self) {
        // The adapter must find the queue closed when it wakes: close it first.
        drop(std::mem::replace(&mut self.commands, mpsc::channel().0));
        self.waker.wake();
    }
}

impl std::fmt::Debug for ConferenceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConferenceHandle").finish_non_exhaustive()
    }
}

/// Work to do on the conference's thread before connecting, which the window's thread must not
/// do itself (files, key generation): it completes the driver's options, and returns a notice
/// for the user when something went wrong but the call can go on.
pub type Prepare<O> = Box<dyn FnOnce(&mut O) -> Option<Phrase> + Send>;

/// Nothing to prepare.
pub fn nothing_to_prepare<O>() -> Prepare<O> {
    Box::new(|_| None)
}

/// Joins a Mumble server. The audio runs in the engine (`engine` receives
/// [`Command::StartCall`] once connected and [`Command::StopCall`] at the end); `wake` is
/// called after each event for the window (never for voice packets). `prepare` runs first, on
/// the conference's thread (the window gets its handle at once).
pub fn spawn_mumble(
    options: MumbleOptions,
    prepare: Prepare<MumbleOptions>,
    audio: AudioSettings,
    engine: Sender<Command>,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<ConferenceHandle> {
    let (command_tx, command_rx) = mpsc::channel();
    let (event_tx, event_rx) = mpsc::channel();
    let waker = Waker::default();
    let adapter_waker = waker.clone();
    std::thread::Builder::new()
        .name("palabre-conference".to_owned())
        .spawn(move || {
            let mut options = options;
            if let Some(notice) = prepare(&mut options) {
                event_tx.send(ConferenceEvent::Notice(notice)).ok();
                wake();
            }
            if let Ok(encoder) = crate::audio::codec::encoder_config(&audio) {
                options.session.bitrate = encoder.bitrate_bps.max(0) as u32;
                options.session.frame_ms = encoder.frame_ms;
            }
            let password_given = options
                .session
                .password
                .as_ref()
                .is_some_and(|password| !password.is_empty());
            let (voice, incoming_rx) = voice_to_engine();
            let handle = match mumble::spawn(options, Some(adapter_waker.for_driver()), Some(voice))
            {
                Ok(handle) => handle,
                Err(error) => return not_started(&event_tx, &*wake, &error),
            };
            let adapter = MumbleAdapter {
                handle,
                audio,
                engine,
                events: event_tx,
                wake,
                tree: Tree::default(),
                incoming: Some(incoming_rx),
                traffic: TrafficLine::default(),
                password_given,
                rtt: (None, None),
                udp_voice: true,
                loss: LossWindow::default(),
            };
            run_adapter(adapter, command_rx, adapter_waker);
        })?;
    Ok(ConferenceHandle::new(command_tx, event_rx, waker))
}

/// Tells the window that the driver could not be started.
fn not_started(events: &Sender<ConferenceEvent>, wake: &dyn Fn(), error: &std::io::Error) {
    let reason = Phrase::tr_args(
        "connection-not-started",
        vec![("reason", error.to_string().into())],
    );
    events
        .send(ConferenceEvent::Stage(Stage::Ended {
            reason,
            failed: true,
        }))
        .ok();
    wake();
}

/// The others' Mumble voice, from the driver's thread straight to the engine's queue (which the
/// engine reads at its own pace): the adapter's thread is not woken for each packet. At most
/// [`INCOMING_QUEUE`] packets wait.
fn voice_to_engine() -> (mumble::VoiceSink, Receiver<IncomingPacket>) {
    let (incoming_tx, incoming_rx) = mpsc::sync_channel(INCOMING_QUEUE);
    let voice: mumble::VoiceSink = Box::new(move |voice: mumble::ReceivedVoice| {
        incoming_tx
            .try_send(IncomingPacket {
                speaker: voice.session,
                ts_samples: voice.sequence * FRAME_SAMPLES as u64,
                opus: voice.opus,
                level: None,
            })
            .ok();
    });
    (voice, incoming_rx)
}

struct MumbleAdapter {
    handle: mumble::MumbleHandle,
    /// A server password was given (so a refusal means it is wrong).
    password_given: bool,
    /// The last round trips measured: (TCP, UDP) pings.
    rtt: (Option<Duration>, Option<Duration>),
    /// Voice goes over UDP (until the session says it fell back to the TCP tunnel).
    udp_voice: bool,
    /// Datagrams from the server lost on the way.
    loss: LossWindow,
    /// The user's send-chain settings (the server's cap may lower the bitrate).
    audio: AudioSettings,
    engine: Sender<Command>,
    events: Sender<ConferenceEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
    tree: Tree,
    /// The others' voice as the driver queues it, handed to the engine when the call starts
    /// (so `None` once it has started).
    incoming: Option<Receiver<IncomingPacket>>,
    /// The traffic line's figures.
    traffic: TrafficLine,
}

impl Adapter for MumbleAdapter {
    type Event = MumbleEvent;

    fn driver_events(&self) -> &Receiver<MumbleEvent> {
        &self.handle.events
    }

    fn on_event(&mut self, event: MumbleEvent) -> bool {
        self.on_driver_event(event)
    }

    fn on_command(&mut self, command: ConferenceCommand) {
        self.on_window_command(command);
    }

    fn leave(&mut self) {
        self.handle.send(MumbleCommand::Leave);
    }

    fn engine(&self) -> &Sender<Command> {
        &self.engine
    }
}

impl MumbleAdapter {
    fn emit(&self, event: ConferenceEvent) {
        self.events.send(event).ok();
        (self.wake)();
    }

    fn on_window_command(&mut self, command: ConferenceCommand) {
        let own_channel = self.own_channel();
        let mumble = match command {
            ConferenceCommand::Mute(mute) => MumbleCommand::SelfMute(mute),
            ConferenceCommand::Deafen(deaf) => MumbleCommand::SelfDeaf(deaf),
            ConferenceCommand::Chat { to, text } => {
                let target = match to {
                    Some(session) => TextTarget::User(session),
                    None => TextTarget::Channel(own_channel.unwrap_or(0)),
                };
                let own_name = self
                    .tree
                    .users
                    .iter()
                    .find(|user| Some(user.session) == self.tree.own_session)
                    .map(|user| user.name.clone())
                    .unwrap_or_default();
                self.emit(ConferenceEvent::Chat(ChatMessage {
                    from: own_name,
                    private: to.is_some(),
                    text: text.clone(),
                    own: true,
                }));
                MumbleCommand::Text(target, text)
            }
            ConferenceCommand::MoveTo(channel) => MumbleCommand::JoinChannel(channel),
            ConferenceCommand::Leave => MumbleCommand::Leave,
            // Mumble has no raised hands.
            // Mumble has no hands and no video.
            ConferenceCommand::RaiseHand(_)
            | ConferenceCommand::AudioOnly(_)
            | ConferenceCommand::Camera(_) => return,
        };
        self.handle.send(mumble);
    }

    fn own_channel(&self) -> Option<u32> {
        self.tree
            .users
            .iter()
            .find(|user| Some(user.session) == self.tree.own_session)
            .map(|user| user.channel)
    }

    /// Handles one driver event; `true` when the conference is over.
    fn on_driver_event(&mut self, event: MumbleEvent) -> bool {
        match event {
            MumbleEvent::Stage(sentence) => {
                // Before the call starts: after that, reconnecting has its own stage.
                if self.incoming.is_some() {
                    self.emit(ConferenceEvent::Stage(Stage::Connecting(sentence)));
                }
            }
            MumbleEvent::Certificate(sentence) => self.emit(ConferenceEvent::Notice(sentence)),
            MumbleEvent::Tree(tree) => {
                self.tree = tree;
                self.emit(roster(&self.tree));
            }
            MumbleEvent::Traffic(stats) => self.on_traffic(stats),
            MumbleEvent::Reconnecting {
                attempt,
                delay,
                reason,
            } => {
                self.emit(ConferenceEvent::Stage(Stage::Reconnecting {
                    attempt,
                    seconds: delay.as_secs(),
                    reason,
                }));
            }
            MumbleEvent::Finished { reason, .. } => {
                if let CloseReason::CertificateChanged(sentence) = &reason {
                    self.emit(ConferenceEvent::CertificateChanged(sentence.clone()));
                }
                let wrong = self.password_given;
                if let CloseReason::ServerPassword(_) = &reason {
                    self.emit(ConferenceEvent::PasswordNeeded { wrong });
                }
                let failed = !matches!(reason, CloseReason::Left);
                // The refusal's own words (with the server's reason when it gave one); the form
                // that reopens says whether a password is missing or was refused.
                let reason = reason.phrase();
                self.emit(ConferenceEvent::Stage(Stage::Ended { reason, failed }));
                return true;
            }
            MumbleEvent::Session(event) => self.on_session(event),
        }
        false
    }

    fn on_session(&mut self, event: SessionEvent) {
        if let SessionEvent::TransportChanged { udp: false } = event {
            self.udp_voice = false;
        }
        match event {
            SessionEvent::Connected { welcome_text, .. } => {
                if let Some(incoming_rx) = self.incoming.take() {
                    let send = self.handle.sender();
                    let outgoing = move |packet: OutgoingPacket| {
                        send(MumbleCommand::Audio {
                            opus: packet.opus,
                            sequence: packet.ts_samples / FRAME_SAMPLES as u64,
                            terminator: packet.terminator,
                        })
                    };
                    self.engine
                        .send(Command::StartCall(CallLink::new(outgoing, incoming_rx)))
                        .ok();
                }
                self.emit(ConferenceEvent::Stage(Stage::Connected));
                if !welcome_text.is_empty() {
                    self.emit(ConferenceEvent::Notice(Phrase::Text(welcome_text)));
                }
            }
            SessionEvent::Text {
                from_name,
                private,
                message,
                ..
            } => self.emit(ConferenceEvent::Chat(ChatMessage {
                from: from_name,
                private,
                text: message,
                own: false,
            })),
            SessionEvent::BandwidthLimited {
                bitrate, frame_ms, ..
            } => {
                self.audio.bitrate_kbps = Some(bitrate / 1000);
                self.audio.frame_ms = Some(frame_ms);
                self.engine
                    .send(Command::SetAudioSettings(self.audio.clone()))
                    .ok();
                if let Some(notice) = session_notice(&event) {
                    self.emit(ConferenceEvent::Notice(notice));
                }
            }
            SessionEvent::Latency { tcp, udp } => self.rtt = (tcp, udp),
            SessionEvent::TransportChanged { udp: true } => self.udp_voice = true,
            // The window shows mute and voice path itself; the rest is worth a notice.
            SessionEvent::Denied(_)
            | SessionEvent::ChannelNotFound(_)
            | SessionEvent::TransportChanged { udp: false }
            | SessionEvent::Registered(_)
            | SessionEvent::CodecWarning => {
                if let Some(notice) = session_notice(&event) {
                    self.emit(ConferenceEvent::Notice(notice));
                }
            }
            _ => {}
        }
    }

    fn on_traffic(&mut self, stats: TrafficStats) {
        let now = Instant::now();
        let quality = Quality {
            // The path the voice takes: UDP's pings while it goes over UDP, else TCP's.
            rtt_ms: match self.rtt {
                (tcp, udp) if self.udp_voice => udp.or(tcp),
                (tcp, _) => tcp,
            }
            .map(|rtt| rtt.as_millis().min(u128::from(u32::MAX)) as u32),
            loss_percent: self
                .loss
                .update(now, stats.udp_packets_received, stats.udp_lost),
        };
        if let Some(traffic) = self.traffic.report(now, wire_bytes(&stats), quality) {
            self.emit(ConferenceEvent::Traffic(traffic));
        }
    }
}

/// What the window says of a Mumble session's event, for those worth a notice (the terminal
/// says the same in English through [`SessionEvent::notice`]).
fn session_notice(event: &SessionEvent) -> Option<Phrase> {
    Some(match event {
        SessionEvent::TransportChanged { udp: true } => Phrase::tr("mumble-voice-udp"),
        SessionEvent::TransportChanged { udp: false } => Phrase::tr("mumble-voice-tcp"),
        SessionEvent::BandwidthLimited {
            cap,
            bitrate,
            frame_ms,
        } => Phrase::tr_args(
            "mumble-bandwidth-limited",
            vec![
                ("cap", (cap / 1000).into()),
                ("bitrate", (bitrate / 1000).into()),
                ("frame", (*frame_ms).into()),
            ],
        ),
        SessionEvent::Denied(phrase) => phrase.clone(),
        SessionEvent::ChannelNotFound(path) => Phrase::tr_args(
            "mumble-channel-not-found",
            vec![("channel", path.as_str().into())],
        ),
        SessionEvent::Registered(_) => Phrase::tr("mumble-registered"),
        SessionEvent::CodecWarning => Phrase::tr("mumble-codec-warning"),
        _ => return None,
    })
}

/// Joins a Jitsi Meet room. As with Mumble, the audio runs in the engine: it gets
/// [`Command::StartCall`] once palabre is in the room. Participants get ids of their own (the
/// window's and the engine's speaker ids), kept for the whole call.
pub fn spawn_jitsi(
    options: JitsiOptions,
    prepare: Prepare<JitsiOptions>,
    engine: Sender<Command>,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<ConferenceHandle> {
    let (command_tx, command_rx) = mpsc::channel();
    let (event_tx, event_rx) = mpsc::channel();
    let waker = Waker::default();
    let adapter_waker = waker.clone();
    std::thread::Builder::new()
        .name("palabre-conference".to_owned())
        .spawn(move || {
            let mut options = options;
            if let Some(notice) = prepare(&mut options) {
                event_tx.send(ConferenceEvent::Notice(notice)).ok();
                wake();
            }
            let own_name = options.display_name.clone();
            let muted = options.audio_muted;
            let handle = match jitsi::spawn(options, Some(adapter_waker.for_driver())) {
                Ok(handle) => handle,
                Err(error) => return not_started(&event_tx, &*wake, &error),
            };
            let video = spawn_video_thread(event_tx.clone(), wake.clone(), handle.sender());
            let adapter = JitsiAdapter {
                video,
                camera: None,
                key_wanted: Arc::default(),
                video_epoch: Instant::now(),
                handle,
                engine,
                events: event_tx,
                wake,
                own_name,
                muted,
                hand_raised: false,
                participants: Vec::new(),
                ids: std::collections::BTreeMap::new(),
                incoming: None,
                traffic: TrafficLine::default(),
                quality: Quality::default(),
                loss_since_report: None,
            };
            run_adapter(adapter, command_rx, adapter_waker);
        })?;
    Ok(ConferenceHandle::new(command_tx, event_rx, waker))
}

/// The id of the user in a Jitsi roster (participants get 1, 2, …).
const JITSI_OWN_ID: u32 = 0;
/// How often the user's own camera tile is refreshed.
const SELF_VIEW_EVERY: Duration = Duration::from_millis(200);
/// Video packets waiting for the video thread at most (about 2 s of four cameras).
const VIDEO_QUEUE: usize = 2000;
/// A tile whose camera sent no picture for this long is taken away (turned off, left, or no
/// longer among the cameras the bridge forwards).
const TILE_STALE: Duration = Duration::from_secs(2);

/// What the video thread of a Jitsi call is given.
enum VideoWork {
    /// One RTP packet of a camera.
    Packet {
        participant: u32,
        ssrc: u32,
        packet: crate::video::vp8::RtpVideo,
    },
    /// Forget every stream (audio-only, or a new media session).
    Clear,
}

/// Decodes others' cameras on a thread of its own (so that voice never waits behind a
/// picture) and hands tile-sized pictures to the window; asks senders for key frames.
fn spawn_video_thread(
    events: Sender<ConferenceEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
    send: impl Fn(JitsiCommand) + Send + 'static,
) -> SyncSender<VideoWork> {
    let (tx, rx) = mpsc::sync_channel::<VideoWork>(VIDEO_QUEUE);
    let spawned = std::thread::Builder::new()
        .name("palabre-video".to_owned())
        .spawn(move || {
            let mut video = crate::video::pipeline::VideoIn::new();
            let mut failed_once = false;
            // When each participant's tile was last refreshed.
            let mut shown: std::collections::HashMap<u32, Instant> =
                std::collections::HashMap::new();
            loop {
                let work = match rx.recv_timeout(TILE_STALE / 4) {
                    Ok(work) => Some(work),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                let now = Instant::now();
                let before = shown.len();
                shown.retain(|participant, at| {
                    let fresh = now.saturating_duration_since(*at) < TILE_STALE;
                    if !fresh {
                        events
                            .send(ConferenceEvent::Video {
                                participant: *participant,
                                picture: None,
                            })
                            .ok();
                    }
                    fresh
                });
                if shown.len() != before {
                    wake();
                }
                let Some(work) = work else {
                    continue;
                };
                let VideoWork::Packet {
                    participant,
                    ssrc,
                    packet,
                } = work
                else {
                    video.clear();
                    continue;
                };
                let received = video.receive(ssrc, packet.as_packet(), now);
                if received.request_key_frame {
                    send(JitsiCommand::KeyFrame(ssrc));
                }
                if let Some(error) = received.failure
                    && !failed_once
                {
                    failed_once = true;
                    events.send(ConferenceEvent::Notice(error.phrase())).ok();
                    wake();
                }
                if let Some(picture) = received.picture {
                    shown.insert(participant, now);
                    let tile = crate::video::Rgba::from_i420(&picture, crate::video::TILE_WIDTH);
                    events
                        .send(ConferenceEvent::Video {
                            participant,
                            picture: Some(Arc::new(tile)),
                        })
                        .ok();
                    wake();
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "the video thread could not start");
    }
    tx
}

struct JitsiAdapter {
    handle: jitsi::JitsiHandle,
    engine: Sender<Command>,
    events: Sender<ConferenceEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
    own_name: String,
    muted: bool,
    hand_raised: bool,
    /// The others, in order of arrival.
    participants: Vec<(u32, JitsiParticipant)>,
    /// Ids given to endpoints (kept after they leave, should they come back).
    ids: std::collections::BTreeMap<String, u32>,
    /// Where the others' voice goes once the call has started (so `None` until then).
    incoming: Option<SyncSender<IncomingPacket>>,
    /// The traffic line's figures.
    traffic: TrafficLine,
    /// The connection's quality, as the media session last measured it.
    quality: Quality,
    /// The worst loss the media session reported since the line was last worked out.
    loss_since_report: Option<f32>,
    /// Others' video packets go to the video thread this way.
    video: SyncSender<VideoWork>,
    /// The camera, while on.
    camera: Option<crate::video::camera::Capture>,
    /// The bridge asked for a key frame of the camera.
    key_wanted: Arc<std::sync::atomic::AtomicBool>,
    /// What the camera's RTP timestamps count from, for the whole call.
    video_epoch: Instant,
}

impl Adapter for JitsiAdapter {
    type Event = JitsiEvent;

    fn driver_events(&self) -> &Receiver<JitsiEvent> {
        &self.handle.events
    }

    fn on_event(&mut self, event: JitsiEvent) -> bool {
        self.on_driver_event(event)
    }

    fn on_command(&mut self, command: ConferenceCommand) {
        self.on_window_command(command);
    }

    fn leave(&mut self) {
        self.handle.send(JitsiCommand::Leave);
    }

    fn engine(&self) -> &Sender<Command> {
        &self.engine
    }
}

impl JitsiAdapter {
    fn emit(&self, event: ConferenceEvent) {
        self.events.send(event).ok();
        (self.wake)();
    }

    fn id_of(&mut self, endpoint: &str) -> u32 {
        let next = self.ids.len() as u32 + 1;
        *self.ids.entry(endpoint.to_owned()).or_insert(next)
    }

    fn on_window_command(&mut self, command: ConferenceCommand) {
        match command {
            ConferenceCommand::Mute(mute) => {
                self.muted = mute;
                self.handle.send(JitsiCommand::Mute(mute));
                self.emit_roster();
            }
            ConferenceCommand::Chat { to, text } => {
                let endpoint = to.and_then(|id| {
                    self.participants
                        .iter()
                        .find(|(pid, _)| *pid == id)
                        .map(|(_, p)| p.endpoint.clone())
                });
                if to.is_some() && endpoint.is_none() {
                    return;
                }
                self.emit(ConferenceEvent::Chat(ChatMessage {
                    from: self.own_name.clone(),
                    private: to.is_some(),
                    text: text.clone(),
                    own: true,
                }));
                self.handle.send(JitsiCommand::Chat { text, to: endpoint });
            }
            ConferenceCommand::RaiseHand(raised) => {
                self.hand_raised = raised;
                let at = raised.then(|| {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(1, |since| since.as_millis() as u64)
                });
                self.handle.send(JitsiCommand::RaiseHand(at));
                self.emit_roster();
            }
            ConferenceCommand::AudioOnly(audio_only) => {
                self.handle.send(JitsiCommand::AudioOnly(audio_only));
                if audio_only {
                    // No video at all: the camera goes off and the decoders go (the window
                    // drops its tiles itself, and no picture is shown in audio-only mode).
                    self.on_window_command(ConferenceCommand::Camera(None));
                    self.video.try_send(VideoWork::Clear).ok();
                }
            }
            ConferenceCommand::Camera(source) => self.set_camera(source),
            // Jitsi Meet has no deafening and no rooms to move between.
            ConferenceCommand::Deafen(_) | ConferenceCommand::MoveTo(_) => {}
            ConferenceCommand::Leave => self.handle.send(JitsiCommand::Leave),
        }
    }

    /// Starts (from `source`) or stops the camera; its frames go straight to the driver, and a
    /// tile-sized copy to the window.
    fn set_camera(&mut self, source: Option<crate::video::camera::Source>) {
        self.camera = None;
        let Some(source) = source else {
            // The window takes the user's tile away itself.
            self.handle.send(JitsiCommand::Camera(false));
            return;
        };
        let send = self.handle.sender();
        let events = self.events.clone();
        let wake = self.wake.clone();
        let mut last_tile: Option<Instant> = None;
        let started = crate::video::pipeline::start_camera(
            source,
            self.key_wanted.clone(),
            self.video_epoch,
            move |output| {
                match output {
                    crate::video::pipeline::CameraOutput::Frame(frame, picture) => {
                        send(JitsiCommand::Video {
                            payloads: frame.payloads,
                            timestamp: frame.timestamp,
                        });
                        // The user's own tile: a few times a second is enough.
                        if last_tile.is_none_or(|at| at.elapsed() >= SELF_VIEW_EVERY) {
                            last_tile = Some(Instant::now());
                            let tile =
                                crate::video::Rgba::from_i420(&picture, crate::video::TILE_WIDTH);
                            events
                                .send(ConferenceEvent::Video {
                                    participant: JITSI_OWN_ID,
                                    picture: Some(Arc::new(tile)),
                                })
                                .ok();
                            wake();
                        }
                    }
                    crate::video::pipeline::CameraOutput::Failed(sentence) => {
                        send(JitsiCommand::Camera(false));
                        events.send(ConferenceEvent::CameraStopped(sentence)).ok();
                        wake();
                    }
                }
            },
        );
        match started {
            Ok(capture) => {
                self.camera = Some(capture);
                self.handle.send(JitsiCommand::Camera(true));
            }
            Err(error) => self.emit(ConferenceEvent::CameraStopped(Phrase::tr_args(
                "camera-start-failed",
                vec![("error", error.to_string().into())],
            ))),
        }
    }

    fn emit_roster(&self) {
        let mut participants = vec![Participant {
            id: JITSI_OWN_ID,
            name: self.own_name.clone(),
            room: None,
            you: true,
            muted: self.muted,
            deafened: false,
            hand_raised: self.hand_raised,
        }];
        participants.extend(self.participants.iter().map(|(id, p)| Participant {
            id: *id,
            name: if p.display_name.is_empty() {
                p.endpoint.clone()
            } else {
                p.display_name.clone()
            },
            room: None,
            you: false,
            muted: p.audio_muted,
            deafened: false,
            hand_raised: p.raised_hand.is_some(),
        }));
        self.emit(ConferenceEvent::Roster {
            participants,
            rooms: Vec::new(),
        });
    }

    /// Handles one driver event; `true` when the conference is over.
    fn on_driver_event(&mut self, event: JitsiEvent) -> bool {
        match event {
            JitsiEvent::Stage(sentence) => {
                if self.incoming.is_some() {
                    self.emit(ConferenceEvent::Notice(sentence));
                } else {
                    self.emit(ConferenceEvent::Stage(Stage::Connecting(sentence)));
                }
            }
            JitsiEvent::Audio {
                speaker,
                endpoint,
                ts_samples,
                opus,
                level,
            } => {
                let speaker = match endpoint {
                    Some(endpoint) => self.id_of(&endpoint),
                    // Not announced (yet): a speaker of its own, out of the participants' range.
                    None => speaker | 0x8000_0000,
                };
                if let Some(incoming) = &self.incoming {
                    incoming
                        .try_send(IncomingPacket {
                            speaker,
                            ts_samples,
                            opus,
                            level,
                        })
                        .ok();
                }
            }
            JitsiEvent::MediaConnected(up) => {
                if !up {
                    // A new session brings new streams.
                    self.video.try_send(VideoWork::Clear).ok();
                    // The old session's figures say nothing of the next one.
                    self.quality = Quality::default();
                    self.loss_since_report = None;
                }
            }
            JitsiEvent::Video {
                ssrc,
                endpoint,
                packet,
            } => {
                // Only the announced: a picture must belong to someone in the list.
                if let Some(endpoint) = endpoint {
                    let participant = self.id_of(&endpoint);
                    self.video
                        .try_send(VideoWork::Packet {
                            participant,
                            ssrc,
                            packet,
                        })
                        .ok();
                }
            }
            JitsiEvent::KeyFrameWanted => {
                self.key_wanted
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            JitsiEvent::Bridge(_) => {}
            JitsiEvent::Reconnecting {
                attempt,
                seconds,
                reason,
            } => {
                // The rejoin is a new visit: everyone is announced again.
                self.participants.clear();
                self.emit(ConferenceEvent::Stage(Stage::Reconnecting {
                    attempt,
                    seconds,
                    reason,
                }));
                self.emit_roster();
            }
            JitsiEvent::Traffic(traffic) => self.on_traffic(traffic),
            JitsiEvent::Quality { rtt, loss } => {
                if rtt.is_some() {
                    self.quality.rtt_ms =
                        rtt.map(|rtt| rtt.as_millis().min(u128::from(u32::MAX)) as u32);
                }
                // One report per stream: the worst since the line was last worked out, so a
                // silent speaker's stream does not hide a lossy one.
                if let Some(percent) = loss.map(|fraction| fraction * 100.0) {
                    self.loss_since_report = Some(
                        self.loss_since_report
                            .map_or(percent, |worst| worst.max(percent)),
                    );
                }
            }
            JitsiEvent::Finished { end, reason, .. } => {
                if let Some(ConferenceEnd::PasswordRequired { wrong }) = &end {
                    self.emit(ConferenceEvent::PasswordNeeded { wrong: *wrong });
                }
                let failed = !matches!(end, Some(ConferenceEnd::Left));
                let reason = end.as_ref().map_or(reason, ConferenceEnd::phrase);
                self.emit(ConferenceEvent::Stage(Stage::Ended { reason, failed }));
                return true;
            }
            JitsiEvent::Conference(event) => self.on_conference(event),
        }
        false
    }

    fn on_conference(&mut self, event: JitsiConferenceEvent) {
        match event {
            JitsiConferenceEvent::Waiting(waiting) => {
                let phrase = Phrase::tr(match waiting {
                    Waiting::FocusNotReady => "jitsi-waiting-focus",
                    Waiting::ForHost => "jitsi-waiting-host",
                    Waiting::InLobby => "jitsi-waiting-lobby",
                });
                self.emit(ConferenceEvent::Stage(Stage::Connecting(phrase)))
            }
            JitsiConferenceEvent::Joined { .. } => {
                if self.incoming.is_none() {
                    let (incoming_tx, incoming_rx) = mpsc::sync_channel(INCOMING_QUEUE);
                    self.incoming = Some(incoming_tx);
                    let send = self.handle.sender();
                    let outgoing = move |packet: OutgoingPacket| {
                        send(JitsiCommand::Audio {
                            opus: packet.opus,
                            ts_samples: packet.ts_samples,
                            terminator: packet.terminator,
                            level: packet.level,
                        })
                    };
                    self.engine
                        .send(Command::StartCall(CallLink::new(outgoing, incoming_rx)))
                        .ok();
                }
                self.emit(ConferenceEvent::Stage(Stage::Connected));
                self.emit_roster();
            }
            JitsiConferenceEvent::ParticipantJoined(p)
            | JitsiConferenceEvent::ParticipantChanged(p) => {
                let id = self.id_of(&p.endpoint);
                match self.participants.iter_mut().find(|(pid, _)| *pid == id) {
                    Some(entry) => entry.1 = p,
                    None => self.participants.push((id, p)),
                }
                self.emit_roster();
            }
            JitsiConferenceEvent::ParticipantLeft { endpoint } => {
                self.participants.retain(|(_, p)| p.endpoint != endpoint);
                self.emit_roster();
            }
            JitsiConferenceEvent::Chat {
                name,
                text,
                private,
                ..
            } => self.emit(ConferenceEvent::Chat(ChatMessage {
                from: name,
                private,
                text,
                own: false,
            })),
            JitsiConferenceEvent::MutedByModerator => {
                self.muted = true;
                self.emit(ConferenceEvent::Notice(Phrase::tr(
                    "jitsi-muted-by-moderator",
                )));
                self.emit_roster();
            }
            JitsiConferenceEvent::StartedMuted => {
                self.muted = true;
                self.emit(ConferenceEvent::Notice(Phrase::tr("jitsi-started-muted")));
                self.emit_roster();
            }
            JitsiConferenceEvent::JingleAnswered {
                result: Err(why), ..
            } => self.emit(ConferenceEvent::Notice(why)),
            _ => {}
        }
    }

    fn on_traffic(&mut self, traffic: JitsiTraffic) {
        let sent = traffic.udp_bytes_sent
            + traffic.udp_packets_sent * jitsi::IP_UDP_OVERHEAD
            + traffic.signalling_bytes_sent;
        let received = traffic.udp_bytes_received
            + traffic.udp_packets_received * jitsi::IP_UDP_OVERHEAD
            + traffic.signalling_bytes_received;
        if let Some(percent) = self.loss_since_report.take() {
            self.quality.loss_percent = Some(percent);
        }
        if let Some(traffic) = self
            .traffic
            .report(Instant::now(), (sent, received), self.quality)
        {
            self.emit(ConferenceEvent::Traffic(traffic));
        }
    }
}

/// How often the traffic line may change. Its rates are averaged over this long, so speech's
/// varying bitrate reads steadily, and while someone talks the line repaints the window every
/// other second rather than every second (the back-ends report about once a second).
const TRAFFIC_SHOWN_EVERY: Duration = Duration::from_secs(2);
/// A report this much early still counts as on time (the back-ends' reports come a second
/// apart, give or take the delivery).
const TRAFFIC_REPORT_SLACK: Duration = Duration::from_millis(500);

/// The traffic line, from the back-end's reports of the wire bytes so far.
#[derive(Debug, Default)]
struct TrafficLine {
    /// When the figures were last worked out, and the wire bytes sent and received then.
    last: Option<(Instant, (u64, u64))>,
    /// The figures the window shows.
    shown: Option<ShownTraffic>,
}

/// The traffic and quality figures as the window shows them.
type ShownTraffic = ((u64, u64, u64), (QualityLevel, Option<u32>, Option<u32>));

impl TrafficLine {
    /// A report of `(sent, received)` wire bytes so far and of the connection's `quality`, at
    /// `now`: the event for the window if it is time to work the figures out again and the
    /// window would show them differently.
    fn report(&mut self, now: Instant, bytes: (u64, u64), quality: Quality) -> Option<Traffic> {
        if let Some((at, _)) = self.last
            && now.saturating_duration_since(at) < TRAFFIC_SHOWN_EVERY - TRAFFIC_REPORT_SLACK
        {
            return None;
        }
        let traffic = Traffic {
            quality,
            ..traffic_since(&mut self.last, now, bytes)
        };
        shows_new(&mut self.shown, &traffic).then_some(traffic)
    }
}

/// The traffic event for `(sent, received)` wire bytes so far at `now`: rates since the
/// previous figures (kept in `last`), and the total.
fn traffic_since(
    last: &mut Option<(Instant, (u64, u64))>,
    now: Instant,
    (sent, received): (u64, u64),
) -> Traffic {
    let (up_bps, down_bps) = match *last {
        Some((at, (before_sent, before_received))) => {
            let seconds = now.saturating_duration_since(at).as_secs_f64().max(0.001);
            (
                sent.saturating_sub(before_sent) as f64 * 8.0 / seconds,
                received.saturating_sub(before_received) as f64 * 8.0 / seconds,
            )
        }
        None => (0.0, 0.0),
    };
    *last = Some((now, (sent, received)));
    Traffic {
        up_bps,
        down_bps,
        total_bytes: sent + received,
        quality: Quality::default(),
    }
}

/// Bytes sent and received on the wire: the TLS stream's bytes, and the UDP datagrams with
/// their IPv4 and UDP headers.
fn wire_bytes(stats: &TrafficStats) -> (u64, u64) {
    let overhead = u64::from(IP_UDP_OVERHEAD);
    (
        stats.tcp_bytes_sent + stats.udp_bytes_sent + stats.udp_packets_sent * overhead,
        stats.tcp_bytes_received + stats.udp_bytes_received + stats.udp_packets_received * overhead,
    )
}

/// The roster event for a Mumble tree.
fn roster(tree: &Tree) -> ConferenceEvent {
    let rooms = tree
        .channels
        .iter()
        .map(|channel| Room {
            id: channel.id,
            parent: channel.parent,
            name: channel.name.clone(),
        })
        .collect();
    let mut seen = BTreeSet::new();
    let participants = tree
        .users
        .iter()
        .filter(|user| seen.insert(user.session))
        .map(|user| Participant {
            id: user.session,
            name: user.name.clone(),
            room: Some(user.channel),
            you: Some(user.session) == tree.own_session,
            muted: user.is_muted() || user.self_deaf || user.deaf,
            deafened: user.self_deaf || user.deaf,
            hand_raised: false,
        })
        .collect();
    ConferenceEvent::Roster {
        participants,
        rooms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Language;
    use crate::i18n::I18n;

    /// The video thread shows a camera's pictures as tiles, asks for no key frame once one came,
    /// and takes the tile away once the camera has been quiet for [`TILE_STALE`].
    #[cfg(feature = "video")]
    #[test]
    fn the_video_thread_shows_a_camera_then_drops_its_tile() {
        let (events_tx, events) = mpsc::channel();
        let (keys_tx, keys) = mpsc::channel();
        let video = spawn_video_thread(events_tx, Arc::new(|| {}), move |command| {
            keys_tx.send(command).ok();
        });
        let mut out = crate::video::pipeline::VideoOut::new().expect("encoder");
        let mut pattern = crate::video::TestPattern::new(320, 180);
        let mut seq = 0u16;
        let start = Instant::now();
        for index in 0..5u64 {
            let at = start + Duration::from_millis(index * 66);
            for frame in out
                .send(&pattern.next_frame(), index == 0, at)
                .expect("encodes")
            {
                let count = frame.payloads.len();
                for (n, payload) in frame.payloads.into_iter().enumerate() {
                    seq = seq.wrapping_add(1);
                    video
                        .try_send(VideoWork::Packet {
                            participant: 7,
                            ssrc: 42,
                            packet: crate::video::vp8::RtpVideo {
                                seq,
                                timestamp: frame.timestamp,
                                marker: n + 1 == count,
                                payload,
                            },
                        })
                        .expect("room in the queue");
                }
            }
        }
        let mut pictures = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        let gone = loop {
            assert!(
                Instant::now() < deadline,
                "the tile never went ({pictures} pictures)"
            );
            match events.recv_timeout(Duration::from_secs(1)) {
                Ok(ConferenceEvent::Video {
                    participant: 7,
                    picture: Some(tile),
                }) => {
                    assert_eq!((tile.width, tile.height), (320, 180));
                    pictures += 1;
                }
                Ok(ConferenceEvent::Video {
                    participant: 7,
                    picture: None,
                }) => break Instant::now(),
                _ => {}
            }
        };
        assert_eq!(pictures, 5);
        assert!(gone.saturating_duration_since(start) >= TILE_STALE);
        // The stream brought its key frame at once: none was asked for.
        assert_eq!(keys.try_iter().count(), 0);
    }

    /// Every phrase the adapters choose by variant exists in both languages, and the English is
    /// the terminal's sentence for the same event.
    #[test]
    fn the_phrases_chosen_by_variant_are_translated() {
        let (en, fr) = (I18n::new(Language::En), I18n::new(Language::Fr));
        let mut phrases: Vec<(Phrase, Option<String>)> = Vec::new();
        let ends = [
            ConferenceEnd::Left,
            ConferenceEnd::PasswordRequired { wrong: false },
            ConferenceEnd::PasswordRequired { wrong: true },
            ConferenceEnd::DisplayNameRequired,
            ConferenceEnd::MembersOnly,
            ConferenceEnd::RoomFull,
            ConferenceEnd::AuthenticationRequired,
            ConferenceEnd::LobbyRefused,
            ConferenceEnd::Kicked,
            ConferenceEnd::RoomDestroyed,
        ];
        for end in ends {
            let phrase = end.phrase();
            phrases.push((phrase, Some(end.sentence())));
        }
        assert_eq!(
            ConferenceEnd::Refused("Their words.".into()).phrase(),
            Phrase::Text("Their words.".into())
        );
        let events = [
            SessionEvent::TransportChanged { udp: true },
            SessionEvent::TransportChanged { udp: false },
            SessionEvent::BandwidthLimited {
                cap: 40_000,
                bitrate: 32_000,
                frame_ms: 40,
            },
            SessionEvent::ChannelNotFound("Root/Nowhere".into()),
            SessionEvent::Registered(7),
            SessionEvent::CodecWarning,
        ];
        for event in events {
            let phrase = session_notice(&event).expect("a notice");
            phrases.push((phrase, event.notice()));
        }
        for waiting in [
            "jitsi-waiting-focus",
            "jitsi-waiting-host",
            "jitsi-waiting-lobby",
        ] {
            phrases.push((Phrase::tr(waiting), None));
        }
        phrases.push((
            Phrase::tr("jitsi-waiting-lobby"),
            Some(Waiting::InLobby.sentence().to_owned()),
        ));
        phrases.push((
            Phrase::tr("jitsi-started-muted"),
            Some(crate::proto::jitsi::conference::STARTED_MUTED.to_owned()),
        ));
        phrases.push((
            Phrase::tr("mumble-left"),
            Some(CloseReason::Left.sentence()),
        ));
        for (phrase, terminal) in phrases {
            let Phrase::Message(id, _) = &phrase else {
                panic!("{phrase:?} is not a message");
            };
            let (english, french) = (en.say(&phrase), fr.say(&phrase));
            assert_ne!(english, *id, "{id} is missing in English");
            assert_ne!(french, *id, "{id} is missing in French");
            assert_ne!(english, french, "{id} is not translated");
            if let Some(terminal) = terminal {
                assert_eq!(english, terminal, "{id}");
            }
        }
    }

    #[test]
    fn voice_waiting_for_a_stalled_engine_is_bounded() {
        let (mut voice, incoming) = voice_to_engine();
        for sequence in 0..(INCOMING_QUEUE as u64 + 500) {
            voice(mumble::ReceivedVoice {
                session: 7,
                sequence,
                opus: vec![0xf8; 60],
            });
        }
        let waiting: Vec<IncomingPacket> = incoming.try_iter().collect();
        assert_eq!(waiting.len(), INCOMING_QUEUE);
        assert_eq!(waiting[0].speaker, 7);
        assert_eq!(waiting[1].ts_samples, FRAME_SAMPLES as u64);
        // Once the engine has taken them, the next packets go through again.
        voice(mumble::ReceivedVoice {
            session: 7,
            sequence: 5000,
            opus: vec![0xf8; 60],
        });
        assert_eq!(
            incoming.try_recv().map(|packet| packet.ts_samples),
            Ok(5000 * FRAME_SAMPLES as u64)
        );
    }

    #[test]
    fn traffic_is_reported_when_what_the_window_shows_changes() {
        let at = |up_bps: f64, down_bps: f64, total_bytes: u64| Traffic {
            up_bps,
            down_bps,
            total_bytes,
            quality: Quality::default(),
        };
        assert_eq!(at(41_400.0, 82_600.0, 2_549_999).shown(), (41, 83, 25));
        assert_eq!(at(0.0, 499.0, 50_000).shown(), (0, 0, 1));
        let mut shown = None;
        assert!(shows_new(&mut shown, &at(300.0, 700.0, 10_000)));
        // A silent call: pings move the figures under what is shown.
        assert!(!shows_new(&mut shown, &at(450.0, 900.0, 12_000)));
        assert!(!shows_new(&mut shown, &at(200.0, 1_200.0, 14_000)));
        // Someone starts talking; the total passes a tenth of a megabyte.
        assert!(shows_new(&mut shown, &at(300.0, 42_000.0, 20_000)));
        assert!(shows_new(&mut shown, &at(300.0, 42_000.0, 160_000)));
        assert_eq!(
            shown,
            Some(((0, 42, 2), (QualityLevel::Unknown, None, None)))
        );
        // The connection's quality is shown too: a new round trip to the 10 ms is news.
        let with = |rtt_ms: u32| Traffic {
            quality: Quality {
                rtt_ms: Some(rtt_ms),
                loss_percent: None,
            },
            ..at(300.0, 42_000.0, 160_000)
        };
        assert!(shows_new(&mut shown, &with(44)));
        assert!(!shows_new(&mut shown, &with(38)));
        assert!(shows_new(&mut shown, &with(61)));
    }

    #[test]
    fn the_connection_quality_is_the_worse_of_round_trip_and_loss() {
        let quality = |rtt_ms: Option<u32>, loss_percent: Option<f32>| Quality {
            rtt_ms,
            loss_percent,
        };
        assert_eq!(quality(None, None).level(), QualityLevel::Unknown);
        assert_eq!(quality(Some(40), None).level(), QualityLevel::Good);
        assert_eq!(quality(Some(40), Some(0.5)).level(), QualityLevel::Good);
        assert_eq!(quality(Some(350), Some(0.0)).level(), QualityLevel::Fair);
        assert_eq!(quality(Some(40), Some(4.0)).level(), QualityLevel::Fair);
        assert_eq!(quality(None, Some(12.0)).level(), QualityLevel::Poor);
        assert_eq!(quality(Some(700), Some(1.0)).level(), QualityLevel::Poor);
        assert_eq!(
            quality(Some(44), Some(2.4)).shown(),
            (QualityLevel::Good, Some(40), Some(2))
        );
    }

    #[test]
    fn loss_is_measured_over_windows_with_enough_packets() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut window = LossWindow::default();
        assert_eq!(window.update(at(0), 1_000, 10), None);
        // Not four seconds yet.
        assert_eq!(window.update(at(2), 1_100, 15), None);
        // 190 arrived and 10 were lost in the window: 5 %.
        assert_eq!(window.update(at(4), 1_190, 20), Some(5.0));
        // The next window's figure stays until it ends.
        assert_eq!(window.update(at(6), 1_290, 20), Some(5.0));
        assert_eq!(window.update(at(8), 1_390, 20), Some(0.0));
        // Silence: too few packets to tell.
        assert_eq!(window.update(at(12), 1_400, 20), None);
    }

    #[test]
    fn the_traffic_line_changes_every_two_seconds_with_the_average_over_them() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut line = TrafficLine::default();
        // Someone talks: 5 kB a second down, reported a second apart, give or take delivery.
        let first = line
            .report(at(0), (0, 0), Quality::default())
            .expect("the first figures show at once");
        assert_eq!(first.shown(), (0, 0, 0));
        assert_eq!(
            line.report(at(1_000), (500, 5_000), Quality::default()),
            None
        );
        let second = line
            .report(at(1_995), (1_000, 10_500), Quality::default())
            .expect("two seconds on");
        assert_eq!(second.shown(), (4, 42, 0));
        assert_eq!(
            line.report(at(3_010), (1_500, 16_000), Quality::default()),
            None
        );
        // A second late: the average is still over what passed since the last figures.
        let third = line
            .report(at(5_995), (3_000, 26_500), Quality::default())
            .expect("four seconds on");
        assert_eq!(third.shown(), (4, 32, 0));
        // Two seconds on, the same figures: nothing to repaint.
        assert_eq!(
            line.report(at(8_000), (4_003, 34_520), Quality::default()),
            None
        );
    }
}
