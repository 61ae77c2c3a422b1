//! The Jitsi Meet driver: a thread with a tokio runtime that owns the WebSocket, the UDP socket
//! and the timers, and feeds the sans-IO cores ([`Conference`], [`MediaSession`]).
//!
//! Steps: discovery (the instance's `config.js`), the XMPP WebSocket (TLS with the WebPKI
//! roots and an optional extra CA), then the conference. Each Jingle `session-initiate` from
//! the focus gets a media session on one UDP socket; `source-add`/`source-remove` and
//! `transport-info` update it; a `session-terminate` drops it and the room is kept, waiting for
//! the next offer (a lone participant's session expires and comes back, brief §0.3). In
//! audio-only mode (the default) the bridge is asked for no video at all: in the
//! session-accept (`initial-last-n` 0) and on the bridge channel (`lastN` 0). Out of it, the
//! bridge is asked for [`VIDEO_LAST_N`] cameras at [`crate::video::MAX_HEIGHT`] at most, and
//! their RTP packets are handed on as they come ([`JitsiEvent::Video`]). palabre's own camera
//! source is declared in every session-accept that offers VP8 (muted, in the presence, until
//! the camera is turned on), so that turning it on needs no new negotiation.
//!
//! The bridge channel is the SCTP data channel when the offer has one; the colibri WebSocket
//! the offer names is the fallback, used at once when there is no SCTP (older deployments) or
//! when the data channel has not opened 10 s after the media connected. It runs in a task of
//! its own that reconnects with growing pauses (1 s to 60 s) while the session lasts.
//!
//! Media lost for 10 s (ICE disconnected) or failed ends the session with a request for a
//! fresh one (`<bridge-session restart='true'>`, at most 5 a minute as jicofo allows); the
//! focus's new session-initiate then starts over.
//!
//! The connection to the server lost after joining (the WebSocket closed, pings unanswered):
//! palabre rejoins as a new participant (there is no stream resumption), after 1 s, 2 s, 4 s…
//! up to 30 s between attempts, ten attempts at most, keeping the microphone's mute.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use url::Url;

use super::discovery::{self, InstanceConfig};
use crate::i18n::Phrase;
use crate::link::JitsiLink;
use crate::proto::jitsi::colibri::{self, BridgeMessage};
use crate::proto::jitsi::conference::{
    self, Conference, ConferenceConfig, ConferenceEnd, ConferenceEvent,
};
use crate::proto::jitsi::jingle::{self, Action, Jingle};
use crate::proto::jitsi::media::{MediaConfig, MediaEvent, MediaOutput, MediaSession};
use crate::proto::jitsi::xml;
use crate::proto::jitsi::xmpp::{Auth, StreamConfig};

/// Bytes of IPv4 and UDP headers per datagram, for the wire figures.
pub const IP_UDP_OVERHEAD: u64 = 28;
/// How often traffic is reported.
const STATS_INTERVAL: Duration = Duration::from_secs(1);
/// The most remote addresses whose local route is remembered.
const MAX_ROUTES: usize = 64;
/// Time to connect the WebSocket.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the SCTP bridge channel may take to open once media flows, before the colibri
/// WebSocket is tried instead.
const BRIDGE_CHANNEL_WAIT: Duration = Duration::from_secs(10);
/// The longest pause between two attempts at the colibri WebSocket.
const BRIDGE_SOCKET_MAX_PAUSE: Duration = Duration::from_secs(60);
/// Rejoins tried after the connection to the server was lost (about four minutes in all).
const MAX_REJOINS: u32 = 10;
/// The pause before the first rejoin; it doubles each time up to [`REJOIN_MAX_PAUSE`].
const REJOIN_FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two rejoins.
const REJOIN_MAX_PAUSE: Duration = Duration::from_secs(30);
/// How long the media may stay lost (ICE disconnected) before palabre asks the focus for a
/// fresh session.
const MEDIA_LOST_AFTER: Duration = Duration::from_secs(10);
/// Jicofo takes at most this many restart requests a minute from one participant.
const MAX_RESTARTS_PER_MINUTE: usize = 5;
/// How many others' cameras the bridge is asked for, out of audio-only mode.
pub const VIDEO_LAST_N: i32 = 4;
/// The largest bridge-channel message taken (source maps of big meetings stay far below).
const MAX_BRIDGE_MESSAGE: usize = 256 * 1024;

/// Where to go and as whom.
#[derive(Debug, Clone)]
pub struct JitsiOptions {
    /// The meeting.
    pub link: JitsiLink,
    /// The name others see.
    pub display_name: String,
    /// The meeting password, when known.
    pub password: Option<String>,
    /// A user name and password on the instance, for meetings that need a login.
    pub login: Option<(String, String)>,
    /// An extra CA certificate (PEM) to trust, for private and test instances.
    pub ca_file: Option<PathBuf>,
    /// Use loopback addresses for ICE (local test instances); always done when the meeting's
    /// host is this machine.
    pub ice_loopback: bool,
    /// Join with the microphone muted.
    pub audio_muted: bool,
    /// Receive no video (the default); [`JitsiCommand::AudioOnly`] changes it during the call.
    pub audio_only: bool,
    /// A stable random id of this installation.
    pub machine_uid: String,
}

/// What the caller asks of the driver.
#[derive(Debug, Clone)]
pub enum JitsiCommand {
    /// One Opus packet of the microphone.
    Audio {
        /// Opus bytes.
        opus: Vec<u8>,
        /// Timestamp in 48 kHz samples.
        ts_samples: u64,
        /// The last packet before a pause.
        terminator: bool,
        /// Loudness in −dBov (0 loudest, 127 silence).
        level: u8,
    },
    /// A chat message to everyone, or to one endpoint.
    Chat {
        /// The text.
        text: String,
        /// The endpoint id of the one recipient.
        to: Option<String>,
    },
    /// Mute or unmute the microphone.
    Mute(bool),
    /// Raise (with the time in ms since the Unix epoch) or lower the hand.
    RaiseHand(Option<u64>),
    /// Receive no video (`true`) or others' cameras.
    AudioOnly(bool),
    /// The camera is on (`true`) or off, as the others are told.
    Camera(bool),
    /// One encoded frame of palabre's camera, cut into RTP payloads
    /// ([`crate::video::vp8::packetize`]), with its 90 kHz timestamp.
    Video {
        /// The payloads, in order (the last gets the marker).
        payloads: Vec<Vec<u8>>,
        /// RTP timestamp.
        timestamp: u32,
    },
    /// Ask the sender of this remote video SSRC for a key frame.
    KeyFrame(u32),
    /// Leave the meeting and stop.
    Leave,
}

/// Traffic so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct JitsiTraffic {
    /// UDP datagrams sent (ICE, DTLS, RTP, RTCP, SCTP).
    pub udp_packets_sent: u64,
    /// UDP payload bytes sent.
    pub udp_bytes_sent: u64,
    /// UDP datagrams received.
    pub udp_packets_received: u64,
    /// UDP payload bytes received.
    pub udp_bytes_received: u64,
    /// Opus packets sent.
    pub audio_packets_sent: u64,
    /// Opus packets received.
    pub audio_packets_received: u64,
    /// VP8 RTP packets sent.
    pub video_packets_sent: u64,
    /// VP8 RTP packets received.
    pub video_packets_received: u64,
    /// WebSocket (signalling) bytes sent, text only.
    pub signalling_bytes_sent: u64,
    /// WebSocket bytes received.
    pub signalling_bytes_received: u64,
}

/// What the driver reports.
#[derive(Debug, Clone)]
pub enum JitsiEvent {
    /// A step, for the user.
    Stage(Phrase),
    /// The media session's figures (every two seconds while media flows).
    Quality {
        /// Round trip to the bridge, from RTCP reports, when one came.
        rtt: Option<Duration>,
        /// Fraction (0–1) of the bridge's packets lost on the way, when known.
        loss: Option<f32>,
    },
    /// Something in the conference.
    Conference(ConferenceEvent),
    /// One Opus packet from a speaker (`speaker` is the source's SSRC).
    Audio {
        /// The speaker's SSRC.
        speaker: u32,
        /// Its endpoint id, when the focus announced it.
        endpoint: Option<String>,
        /// Timestamp in 48 kHz samples.
        ts_samples: u64,
        /// Opus bytes.
        opus: Vec<u8>,
        /// The sender's audio level in −dBov (0 loudest, 127 silence), when it sent one.
        level: Option<u8>,
    },
    /// One RTP packet of another's camera (VP8).
    Video {
        /// The source's SSRC.
        ssrc: u32,
        /// Its endpoint id, when the focus announced it.
        endpoint: Option<String>,
        /// The packet.
        packet: crate::video::vp8::RtpVideo,
    },
    /// The bridge asks for a key frame of palabre's camera.
    KeyFrameWanted,
    /// A message from the bridge.
    Bridge(BridgeMessage),
    /// Media flows (or, `false`, stopped).
    MediaConnected(bool),
    /// The connection to the server was lost after joining; palabre rejoins the meeting
    /// (as a new participant: same name, new endpoint) after a pause.
    Reconnecting {
        /// Attempt number, from 1.
        attempt: u32,
        /// Seconds before it.
        seconds: u64,
        /// Why the connection was lost.
        reason: Phrase,
    },
    /// Traffic so far, every second.
    Traffic(JitsiTraffic),
    /// The driver stopped.
    Finished {
        /// How the conference ended (`None` when it never started: see `reason`).
        end: Option<ConferenceEnd>,
        /// The sentence.
        reason: Phrase,
        /// Traffic of the whole call.
        traffic: JitsiTraffic,
    },
}

/// The caller's end of a running driver.
pub struct JitsiHandle {
    commands: mpsc::UnboundedSender<JitsiCommand>,
    /// Events, in order. Disconnected once the driver has stopped and all were read.
    pub events: std_mpsc::Receiver<JitsiEvent>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl JitsiHandle {
    /// Sends a command; ignored once the driver has stopped.
    pub fn send(&self, command: JitsiCommand) {
        self.commands.send(command).ok();
    }

    /// [`Self::send`] for another thread (the audio engine hands its packets this way); never
    /// blocks.
    pub fn sender(&self) -> impl Fn(JitsiCommand) + Send + Sync + 'static {
        let commands = self.commands.clone();
        move |command| {
            commands.send(command).ok();
        }
    }

    /// Asks the driver to leave and waits for its thread.
    pub fn leave(mut self) {
        self.send(JitsiCommand::Leave);
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

impl Drop for JitsiHandle {
    fn drop(&mut self) {
        self.commands.send(JitsiCommand::Leave).ok();
    }
}

/// Starts the driver on its own thread. `wake` is called after events were queued.
pub fn spawn(
    options: JitsiOptions,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
) -> std::io::Result<JitsiHandle> {
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = std_mpsc::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("palabre-jitsi".to_owned())
        .spawn(move || {
            let mut driver = Driver {
                audio_only: options.audio_only,
                camera_on: false,
                options,
                commands: command_rx,
                events: event_tx,
                wake,
                traffic: JitsiTraffic::default(),
            };
            let (end, reason) = runtime.block_on(driver.run());
            driver.emit(JitsiEvent::Finished {
                end,
                reason,
                traffic: driver.traffic,
            });
        })?;
    Ok(JitsiHandle {
        commands: command_tx,
        events: event_rx,
        thread: Some(thread),
    })
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Socket = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

struct Driver {
    options: JitsiOptions,
    commands: mpsc::UnboundedReceiver<JitsiCommand>,
    events: std_mpsc::Sender<JitsiEvent>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
    traffic: JitsiTraffic,
    /// Receive no video (kept across sessions and rejoins).
    audio_only: bool,
    /// The camera is on (kept across sessions and rejoins).
    camera_on: bool,
}

/// The media side of the call: the socket and the current session.
struct Media {
    socket: UdpSocket,
    port: u16,
    session: Option<MediaSession>,
    /// Local address used to reach each remote address (ICE needs the real one).
    routes: HashMap<IpAddr, IpAddr>,
    audio_ssrc: u32,
    /// palabre's camera SSRC (declared whenever the offer takes VP8 and video is built in).
    video_ssrc: u32,
    next_timeout: Option<Instant>,
    last_terminator: bool,
    /// The IQ id of the current session's session-accept, until the focus answers it.
    accept_id: Option<String>,
    /// The colibri WebSocket the current offer names, when palabre may use it.
    bridge_url: Option<Url>,
    /// When to stop waiting for the SCTP bridge channel and use the WebSocket.
    bridge_fallback_at: Option<Instant>,
    /// The colibri WebSocket, once used.
    bridge_socket: Option<BridgeSocket>,
    /// Since when the current session's media is lost (ICE disconnected, or failed).
    lost_since: Option<Instant>,
    /// When palabre asked for fresh sessions, in the last minute.
    restarts: Vec<Instant>,
}

/// How one connection's conference ended.
struct Outcome {
    end: Option<ConferenceEnd>,
    reason: Phrase,
    /// It got into the room.
    joined: bool,
    /// The microphone's state at the end, kept for a rejoin.
    audio_muted: bool,
}

/// The colibri WebSocket: a task that keeps it connected, and its two ends.
struct BridgeSocket {
    outgoing: mpsc::UnboundedSender<String>,
    events: mpsc::UnboundedReceiver<BridgeSocketEvent>,
    task: tokio::task::JoinHandle<()>,
    open: bool,
}

impl Drop for BridgeSocket {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the colibri WebSocket task reports.
#[derive(Debug)]
enum BridgeSocketEvent {
    /// Connected (again): the bridge says ServerHello by itself.
    Open,
    /// A text message from the bridge.
    Text(String),
    /// Closed or not reachable; the phrase says why. The task tries again.
    Closed(Phrase),
}

impl Driver {
    fn emit(&self, event: JitsiEvent) {
        if self.events.send(event).is_ok()
            && let Some(wake) = &self.wake
        {
            wake();
        }
    }

    fn stage(&self, phrase: impl Into<Phrase>) {
        self.emit(JitsiEvent::Stage(phrase.into()));
    }

    async fn run(&mut self) -> (Option<ConferenceEnd>, Phrase) {
        let link = self.options.link.clone();
        if !link.secure {
            self.stage(Phrase::tr_args(
                "jitsi-not-encrypted",
                vec![("link", link.to_string().into())],
            ));
        }
        self.stage(Phrase::tr_args(
            "jitsi-looking-up",
            vec![("host", link.host.as_str().into())],
        ));
        let extra_ca = self.options.ca_file.clone();
        let lookup = {
            let link = link.clone();
            tokio::task::spawn_blocking(move || discovery::discover(&link, extra_ca.as_deref()))
                .await
        };
        let (instance, websocket) = match lookup {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => return (None, error.phrase()),
            Err(_) => return (None, Phrase::tr("jitsi-lookup-stopped")),
        };
        let mut config = self.conference_config(&instance, &link);
        let udp = match UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await {
            Ok(udp) => udp,
            Err(error) => {
                return (
                    None,
                    Phrase::tr_args("jitsi-no-udp", vec![("error", error.to_string().into())]),
                );
            }
        };
        let port = udp.local_addr().map(|a| a.port()).unwrap_or(0);
        let mut media = Media {
            socket: udp,
            port,
            session: None,
            routes: HashMap::new(),
            audio_ssrc: rand::random::<u32>().max(1),
            video_ssrc: rand::random::<u32>().max(2),
            next_timeout: None,
            last_terminator: true,
            accept_id: None,
            bridge_url: None,
            bridge_fallback_at: None,
            bridge_socket: None,
            lost_since: None,
            restarts: Vec::new(),
        };
        // Rejoins after a lost connection, while the attempts last.
        let mut attempt = 0u32;
        loop {
            self.stage(Phrase::tr_args(
                "jitsi-connecting",
                vec![("host", websocket.host_str().unwrap_or(&link.host).into())],
            ));
            let connected = tokio::time::timeout(
                CONNECT_TIMEOUT,
                connect(&websocket, self.options.ca_file.as_deref(), Handshake::Xmpp),
            )
            .await
            .unwrap_or_else(|_| {
                Err(Phrase::tr_args(
                    "jitsi-no-answer",
                    vec![("host", websocket.host_str().unwrap_or(&link.host).into())],
                ))
            });
            let (end, reason) = match connected {
                Ok(socket) => {
                    let outcome = self.conference(socket, config.clone(), &mut media).await;
                    if outcome.joined {
                        attempt = 0;
                    }
                    // A rejoin keeps the microphone as the user left it.
                    config.audio_muted = outcome.audio_muted;
                    if !outcome.joined && attempt == 0 {
                        // Never got in: nothing to rejoin.
                        return (outcome.end, outcome.reason);
                    }
                    (outcome.end, outcome.reason)
                }
                // The first connection failed: say so and stop.
                Err(sentence) if attempt == 0 => return (None, sentence),
                Err(sentence) => (Some(ConferenceEnd::Connection(sentence.clone())), sentence),
            };
            if !matches!(end, Some(ConferenceEnd::Connection(_))) || attempt >= MAX_REJOINS {
                return (end, reason);
            }
            attempt += 1;
            let pause = REJOIN_FIRST_PAUSE
                .saturating_mul(1 << (attempt - 1).min(5))
                .min(REJOIN_MAX_PAUSE);
            self.emit(JitsiEvent::Reconnecting {
                attempt,
                seconds: pause.as_secs(),
                reason: end
                    .as_ref()
                    .map_or_else(|| reason.clone(), ConferenceEnd::phrase),
            });
            if self.pause_before_rejoin(pause, &mut config).await {
                return (Some(ConferenceEnd::Left), ConferenceEnd::Left.phrase());
            }
        }
    }

    /// Waits `pause` before a rejoin, taking the user's commands meanwhile: `true` when they
    /// asked to leave. A mute asked now holds for the rejoin; audio is dropped.
    async fn pause_before_rejoin(
        &mut self,
        pause: Duration,
        config: &mut ConferenceConfig,
    ) -> bool {
        let until = tokio::time::Instant::now() + pause;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return false,
                command = self.commands.recv() => match command {
                    Some(JitsiCommand::Mute(muted)) => config.audio_muted = muted,
                    Some(JitsiCommand::AudioOnly(audio_only)) => self.audio_only = audio_only,
                    Some(JitsiCommand::Camera(on)) => self.camera_on = on,
                    Some(JitsiCommand::Leave) | None => return true,
                    Some(_) => {}
                },
            }
        }
    }

    fn conference_config(&self, instance: &InstanceConfig, link: &JitsiLink) -> ConferenceConfig {
        let (domain, auth) = match &self.options.login {
            Some((user, password)) => (
                instance.domain.clone(),
                Auth::Plain {
                    user: user.clone(),
                    password: password.clone(),
                },
            ),
            None => (
                instance
                    .anonymous_domain
                    .clone()
                    .unwrap_or_else(|| instance.domain.clone()),
                Auth::Anonymous,
            ),
        };
        ConferenceConfig {
            stream: StreamConfig {
                domain,
                auth,
                features: conference::features(),
                caps_node: "https://codeberg.org/palabre/palabre".to_owned(),
            },
            room: format!("{}@{}", link.muc_room(), instance.muc),
            focus: instance.focus.clone(),
            display_name: self.options.display_name.clone(),
            password: self.options.password.clone(),
            machine_uid: self.options.machine_uid.clone(),
            // The web app's `startWithAudioMuted` is not applied: the user's choice is.
            audio_muted: self.options.audio_muted,
        }
    }

    async fn conference(
        &mut self,
        mut socket: Socket,
        config: ConferenceConfig,
        media: &mut Media,
    ) -> Outcome {
        let now = Instant::now();
        let mut conference = Conference::new(config, now, rand::random());
        conference.set_video_muted(!self.camera_on);
        let mut joined = false;
        let mut buffer = vec![0u8; 2048];
        let mut next_stats = now + STATS_INTERVAL;
        let mut socket_open = true;
        // The caller dropped its handle (after a Leave): stop polling the closed channel.
        let mut commands_open = true;
        loop {
            // Everything the cores want sent.
            while let Some(frame) = conference.poll_transmit() {
                self.traffic.signalling_bytes_sent += frame.len() as u64;
                if socket_open && socket.send(Message::text(frame)).await.is_err() {
                    socket_open = false;
                    conference.handle_disconnect(Instant::now());
                }
            }
            while let Some(event) = conference.poll_event() {
                if let ConferenceEvent::Ended(end) = &event {
                    if media.session.is_some() {
                        self.emit(JitsiEvent::MediaConnected(false));
                    }
                    media.close();
                    let _ = socket.close(None).await;
                    let sentence = end.phrase();
                    self.emit(JitsiEvent::Conference(event.clone()));
                    return Outcome {
                        end: Some(end.clone()),
                        reason: sentence,
                        joined,
                        audio_muted: conference.audio_muted(),
                    };
                }
                joined |= matches!(event, ConferenceEvent::Joined { .. });
                self.on_conference_event(&mut conference, media, event, Instant::now());
            }
            self.drive_media(media).await;
            let now = Instant::now();
            if media
                .lost_since
                .is_some_and(|since| now >= since + MEDIA_LOST_AFTER)
            {
                self.request_restart(&mut conference, media, now);
                // The terminate is sent at the top of the loop.
                continue;
            }

            let deadline = [
                conference.poll_timeout(),
                media.next_timeout,
                media.bridge_fallback_at,
                media.lost_since.map(|since| since + MEDIA_LOST_AFTER),
                Some(next_stats),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_secs(1));
            let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline.max(now)));
            tokio::select! {
                frame = socket.next(), if socket_open => {
                    let now = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            self.traffic.signalling_bytes_received += text.len() as u64;
                            conference.handle_frame(text.as_str(), now);
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            socket_open = false;
                            conference.handle_disconnect(now);
                        }
                        Some(Ok(_)) => {}
                    }
                }
                event = next_bridge_event(&mut media.bridge_socket), if media.bridge_socket.is_some() => {
                    self.on_bridge_socket(media, event);
                }
                received = media.socket.recv_from(&mut buffer) => {
                    if let Ok((length, from)) = received {
                        self.traffic.udp_packets_received += 1;
                        self.traffic.udp_bytes_received += length as u64;
                        let local = media.local_address_for(from.ip());
                        if let Some(session) = &mut media.session {
                            session.handle_receive(Instant::now(), from, local, &buffer[..length]);
                        }
                    }
                }
                command = self.commands.recv(), if commands_open => {
                    let now = Instant::now();
                    commands_open = command.is_some();
                    match command {
                        Some(JitsiCommand::Audio { opus, ts_samples, terminator, level }) => {
                            // Muted (by the user or a moderator): nothing leaves.
                            if conference.audio_muted() {
                                media.last_terminator = true;
                                continue;
                            }
                            if let Some(session) = &mut media.session {
                                session.send_audio(now, &opus, ts_samples, level, media.last_terminator);
                                self.traffic.audio_packets_sent += 1;
                            }
                            media.last_terminator = terminator;
                        }
                        Some(JitsiCommand::Chat { text, to }) => conference.send_chat(&text, to.as_deref()),
                        Some(JitsiCommand::Mute(muted)) => conference.set_audio_muted(muted),
                        Some(JitsiCommand::RaiseHand(at)) => conference.set_raised_hand(at),
                        Some(JitsiCommand::AudioOnly(audio_only)) => {
                            if self.audio_only != audio_only {
                                self.audio_only = audio_only;
                                let constraints = self.video_constraints();
                                self.send_bridge(media, &constraints);
                            }
                        }
                        Some(JitsiCommand::Camera(on)) => {
                            self.camera_on = on;
                            conference.set_video_muted(!on);
                        }
                        Some(JitsiCommand::Video { payloads, timestamp }) => {
                            if let Some(session) = &mut media.session && self.camera_on {
                                let count = payloads.len();
                                for (index, payload) in payloads.into_iter().enumerate() {
                                    session.send_video(now, payload, timestamp, index + 1 == count);
                                    self.traffic.video_packets_sent += 1;
                                }
                            }
                        }
                        Some(JitsiCommand::KeyFrame(ssrc)) => {
                            if let Some(session) = &mut media.session {
                                session.request_key_frame(ssrc);
                            }
                        }
                        Some(JitsiCommand::Leave) | None => {
                            if let Some(session) = &media.session {
                                let terminate = jingle::session_terminate(session.sid(), "success", None);
                                conference.send_jingle(terminate, now);
                            }
                            media.close();
                            conference.leave(now);
                        }
                    }
                }
                () = sleep => {
                    let now = Instant::now();
                    conference.handle_timeout(now);
                    if let Some(session) = &mut media.session
                        && media.next_timeout.is_some_and(|at| at <= now)
                    {
                        session.handle_timeout(now);
                    }
                    if media.bridge_fallback_at.is_some_and(|at| at <= now) {
                        media.bridge_fallback_at = None;
                        self.stage(Phrase::tr("jitsi-bridge-fallback"));
                        self.open_bridge_socket(media);
                    }
                    if now >= next_stats {
                        next_stats = now + STATS_INTERVAL;
                        self.emit(JitsiEvent::Traffic(self.traffic));
                    }
                }
            }
        }
    }

    fn on_conference_event(
        &mut self,
        conference: &mut Conference,
        media: &mut Media,
        event: ConferenceEvent,
        now: Instant,
    ) {
        match &event {
            ConferenceEvent::Connected { .. } => self.stage(Phrase::tr("jitsi-asking-for-meeting")),
            ConferenceEvent::Joined { .. } => self.stage(Phrase::tr("jitsi-waiting-for-offer")),
            ConferenceEvent::Jingle(element) => {
                self.on_jingle(conference, media, element, now);
                return;
            }
            ConferenceEvent::JingleAnswered { id, result }
                if media.accept_id.as_ref() == Some(id) =>
            {
                media.accept_id = None;
                if result.is_err() && media.session.is_some() {
                    // The focus refused palabre's answer: the session is dead; say so to the
                    // focus, which may offer a new one.
                    if let Some(session) = &media.session {
                        let terminate =
                            jingle::session_terminate(session.sid(), "failed-application", None);
                        conference.send_jingle(terminate, now);
                    }
                    media.close();
                    self.emit(JitsiEvent::MediaConnected(false));
                }
            }
            _ => {}
        }
        self.emit(JitsiEvent::Conference(event));
    }

    fn on_jingle(
        &mut self,
        conference: &mut Conference,
        media: &mut Media,
        element: &minidom::Element,
        now: Instant,
    ) {
        let jingle = match jingle::parse(element) {
            Ok(jingle) => jingle,
            Err(error) => {
                self.stage(Phrase::tr_args(
                    "jitsi-unreadable-media-message",
                    vec![("reason", error.to_string().into())],
                ));
                return;
            }
        };
        for warning in &jingle.warnings {
            tracing::debug!(warning, "Jingle");
        }
        let same_session = media
            .session
            .as_ref()
            .is_some_and(|s| s.sid() == jingle.sid);
        match jingle.action {
            Action::SessionInitiate => {
                if media.session.is_some() {
                    self.emit(JitsiEvent::MediaConnected(false));
                }
                media.close();
                if let Some(policy) = jingle.start_muted {
                    conference.apply_start_muted(policy.audio);
                }
                match self.accept(conference, media, &jingle, now) {
                    Ok(()) => self.stage(Phrase::tr("jitsi-connecting-audio")),
                    Err(sentence) => {
                        // The focus gets the English sentence; the user their own words.
                        let text = sentence.to_string();
                        self.stage(Phrase::tr_args(
                            "jitsi-offer-refused",
                            vec![("reason", sentence.into())],
                        ));
                        let terminate = jingle::session_terminate(
                            &jingle.sid,
                            "failed-application",
                            Some(&text),
                        );
                        conference.send_jingle(terminate, now);
                    }
                }
            }
            Action::SourceAdd | Action::SourceRemove if same_session => {
                if let Some(session) = &mut media.session {
                    session.apply_sources(&jingle, jingle.action == Action::SourceAdd);
                }
            }
            Action::TransportInfo if same_session => {
                if let Some(transport) = jingle.transport() {
                    let candidates = transport.candidates.clone();
                    media.learn_routes(candidates.iter().map(|c| c.ip));
                    if let Some(session) = &mut media.session {
                        session.add_candidates(candidates.iter());
                    }
                }
            }
            Action::SessionTerminate if same_session => {
                media.close();
                let why = jingle
                    .reason
                    .as_ref()
                    .map(|r| r.text.clone().unwrap_or_else(|| r.condition.clone()))
                    .unwrap_or_default();
                self.stage(Phrase::tr_args(
                    "jitsi-media-session-ended",
                    vec![("reason", why.into())],
                ));
                self.emit(JitsiEvent::MediaConnected(false));
            }
            _ => {}
        }
    }

    fn accept(
        &mut self,
        conference: &mut Conference,
        media: &mut Media,
        offer: &Jingle,
        now: Instant,
    ) -> Result<(), Phrase> {
        let remote: Vec<IpAddr> = MediaSession::remote_addresses(offer);
        media.learn_routes(remote.iter().copied());
        let mut local_addresses: Vec<SocketAddr> = media
            .routes
            .values()
            .map(|ip| SocketAddr::new(*ip, media.port))
            .collect();
        local_addresses.sort();
        local_addresses.dedup();
        let endpoint = conference.endpoint().to_owned();
        let config = MediaConfig {
            endpoint: endpoint.clone(),
            audio_ssrc: media.audio_ssrc,
            video_ssrc: cfg!(feature = "video").then_some(media.video_ssrc),
            local_addresses,
            // A meeting on this very machine (a test instance) is reached over loopback.
            allow_loopback: self.options.ice_loopback || is_loopback_host(&self.options.link.host),
        };
        let session = MediaSession::accept(offer, &config, now)?;
        let local = session.local();
        let candidates: Vec<jingle::Candidate> = local
            .candidates
            .iter()
            .enumerate()
            .map(|(index, address)| jingle::Candidate {
                component: 1,
                foundation: format!("{}", index + 1),
                generation: 0,
                id: Some(format!("palabre{index}")),
                ip: address.ip(),
                port: address.port(),
                priority: 2_130_706_431 - index as u32,
                protocol: "udp".to_owned(),
                kind: jingle::CandidateType::Host,
                rel_addr: None,
                rel_port: None,
                network: Some(0),
                tcp_type: None,
            })
            .collect();
        let stream_id = format!("{endpoint}-audio-1");
        let local_media = jingle::LocalMedia {
            ice_ufrag: local.ufrag.clone(),
            ice_pwd: local.pwd.clone(),
            fingerprint: jingle::Fingerprint {
                hash: local.fingerprint_hash.clone(),
                setup: Some("active".to_owned()),
                value: local.fingerprint.clone(),
                cryptex: false,
            },
            candidates,
            audio: Some(jingle::LocalSource {
                ssrc: local.audio_ssrc,
                rtx_ssrc: None,
                name: format!("{endpoint}-a0"),
                msid: format!("{stream_id} {stream_id}-track"),
                video_type: None,
            }),
            video: local.video_ssrc.map(|ssrc| {
                let stream_id = format!("{endpoint}-video-1");
                jingle::LocalSource {
                    ssrc,
                    rtx_ssrc: None,
                    name: format!("{endpoint}-v0"),
                    msid: format!("{stream_id} {stream_id}-track"),
                    video_type: Some("camera".to_owned()),
                }
            }),
            audio_only: self.audio_only,
            // VP8 is answered as browsers do, so that the video content is a valid answer
            // even in audio-only mode (then `initial-last-n` 0 and `lastN` 0: the bridge
            // sends none).
            codecs: jingle::AcceptedCodecs { vp8: true },
        };
        let responder = conference.jid().unwrap_or_default().to_owned();
        // The builder's own words (it refuses offers it cannot answer, in English).
        let accept = jingle::session_accept(offer, &local_media, &responder)
            .map_err(|error| Phrase::Text(error.to_string()))?;
        media.accept_id = conference.send_jingle(accept, now);
        media.session = Some(session);
        media.next_timeout = Some(now);
        media.bridge_url = self.bridge_socket_url(offer);
        let sctp = offer
            .contents
            .iter()
            .any(|content| content.transport.as_ref().is_some_and(|t| t.sctp.is_some()));
        if !sctp {
            self.open_bridge_socket(media);
        }
        Ok(())
    }

    /// The media is lost for good: ends the session and asks the focus for a fresh one
    /// (brief §4.6), at most [`MAX_RESTARTS_PER_MINUTE`] times a minute.
    fn request_restart(&mut self, conference: &mut Conference, media: &mut Media, now: Instant) {
        media
            .restarts
            .retain(|at| now.saturating_duration_since(*at) < Duration::from_secs(60));
        if media.restarts.len() >= MAX_RESTARTS_PER_MINUTE {
            // Asked again later, when the minute allows.
            media.lost_since = Some(now);
            return;
        }
        let Some(session) = &media.session else {
            media.lost_since = None;
            return;
        };
        let terminate = match session.bridge_session() {
            Some(bridge_session) => {
                self.stage(Phrase::tr("jitsi-audio-lost-restart"));
                jingle::session_terminate_restart(session.sid(), bridge_session)
            }
            None => {
                self.stage(Phrase::tr("jitsi-audio-lost-no-restart"));
                jingle::session_terminate(session.sid(), "connectivity-error", Some("ICE FAILED"))
            }
        };
        conference.send_jingle(terminate, now);
        media.restarts.push(now);
        media.close();
        self.emit(JitsiEvent::MediaConnected(false));
    }

    /// The first colibri WebSocket of the offer palabre may use: on the meeting's own host
    /// (palabre talks to no one else), and encrypted unless the meeting link itself is not.
    fn bridge_socket_url(&self, offer: &Jingle) -> Option<Url> {
        let link = &self.options.link;
        offer
            .contents
            .iter()
            .filter_map(|content| content.transport.as_ref())
            .flat_map(|transport| transport.web_sockets.iter())
            .filter_map(|url| Url::parse(url).ok())
            .find(|url| {
                let scheme_ok = url.scheme() == "wss" || (!link.secure && url.scheme() == "ws");
                scheme_ok
                    && url
                        .host_str()
                        .is_some_and(|host| host.eq_ignore_ascii_case(&link.host))
            })
    }

    /// Starts the colibri WebSocket task, when the offer named a usable one.
    fn open_bridge_socket(&self, media: &mut Media) {
        if media.bridge_socket.is_some() {
            return;
        }
        let Some(url) = media.bridge_url.clone() else {
            if media.session.is_some() {
                self.stage(Phrase::tr("jitsi-no-bridge-channel"));
            }
            return;
        };
        let (outgoing_tx, outgoing_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let origin = format!(
            "{}://{}",
            if self.options.link.secure {
                "https"
            } else {
                "http"
            },
            self.options.link.host
        );
        let task = tokio::spawn(bridge_socket_task(
            url,
            self.options.ca_file.clone(),
            origin,
            outgoing_rx,
            events_tx,
        ));
        media.bridge_socket = Some(BridgeSocket {
            outgoing: outgoing_tx,
            events: events_rx,
            task,
            open: false,
        });
    }

    fn on_bridge_socket(&mut self, media: &mut Media, event: Option<BridgeSocketEvent>) {
        match event {
            Some(BridgeSocketEvent::Open) => {
                if let Some(socket) = &mut media.bridge_socket {
                    socket.open = true;
                }
                self.stage(Phrase::tr("jitsi-bridge-socket-open"));
                self.send_bridge(media, &self.video_constraints());
            }
            Some(BridgeSocketEvent::Text(text)) => {
                self.traffic.signalling_bytes_received += text.len() as u64;
                match colibri::decode(&text) {
                    Ok(message) => self.on_bridge_message(media, message),
                    Err(error) => {
                        tracing::debug!(%error, "a bridge message was not understood");
                    }
                }
            }
            Some(BridgeSocketEvent::Closed(sentence)) => {
                if let Some(socket) = &mut media.bridge_socket {
                    socket.open = false;
                }
                self.stage(sentence);
            }
            // The task ended (it never does by itself): forget it.
            None => media.bridge_socket = None,
        }
    }

    /// The video palabre asks the bridge for: none in audio-only mode, else up to
    /// [`VIDEO_LAST_N`] cameras at [`crate::video::MAX_HEIGHT`] at most.
    fn video_constraints(&self) -> BridgeMessage {
        if self.audio_only {
            colibri::audio_only_constraints()
        } else {
            colibri::video_constraints(VIDEO_LAST_N, crate::video::MAX_HEIGHT as i32)
        }
    }

    /// A message from the bridge, on either channel.
    fn on_bridge_message(&mut self, media: &mut Media, message: BridgeMessage) {
        if let Some(reply) = colibri::e2e_ping_reply(&message) {
            self.send_bridge(media, &reply);
        }
        self.emit(JitsiEvent::Bridge(message));
    }

    /// Sends on the bridge channel: the WebSocket when it is open, else the data channel.
    fn send_bridge(&mut self, media: &mut Media, message: &BridgeMessage) {
        if let Some(socket) = &media.bridge_socket
            && socket.open
        {
            let text = colibri::encode(message);
            self.traffic.signalling_bytes_sent += text.len() as u64;
            socket.outgoing.send(text).ok();
        } else if let Some(session) = &mut media.session {
            session.send_bridge(message);
        }
    }

    async fn drive_media(&mut self, media: &mut Media) {
        loop {
            let Some(session) = &mut media.session else {
                media.next_timeout = None;
                return;
            };
            match session.poll() {
                MediaOutput::Timeout(at) => {
                    media.next_timeout = Some(at);
                    return;
                }
                MediaOutput::Transmit {
                    destination,
                    contents,
                    ..
                } => {
                    if media.socket.send_to(&contents, destination).await.is_ok() {
                        self.traffic.udp_packets_sent += 1;
                        self.traffic.udp_bytes_sent += contents.len() as u64;
                    }
                }
                MediaOutput::Event(event) => match event {
                    MediaEvent::Connected => {
                        self.stage(Phrase::tr("jitsi-audio-connected"));
                        media.lost_since = None;
                        self.emit(JitsiEvent::MediaConnected(true));
                        if media.bridge_socket.is_none() && media.bridge_url.is_some() {
                            media.bridge_fallback_at = Some(Instant::now() + BRIDGE_CHANNEL_WAIT);
                        }
                    }
                    MediaEvent::Disconnected => {
                        self.stage(Phrase::tr("jitsi-audio-interrupted"));
                        media.lost_since.get_or_insert(Instant::now());
                    }
                    MediaEvent::Reconnected => {
                        self.stage(Phrase::tr("jitsi-audio-back"));
                        media.lost_since = None;
                    }
                    MediaEvent::Audio {
                        ssrc,
                        ts_samples,
                        opus,
                        level,
                    } => {
                        self.traffic.audio_packets_received += 1;
                        let endpoint = session.owner_of(ssrc).map(str::to_owned);
                        self.emit(JitsiEvent::Audio {
                            speaker: ssrc,
                            endpoint,
                            ts_samples,
                            opus,
                            level,
                        });
                    }
                    MediaEvent::Video { ssrc, packet } => {
                        self.traffic.video_packets_received += 1;
                        let endpoint = session.video_owner_of(ssrc).map(str::to_owned);
                        self.emit(JitsiEvent::Video {
                            ssrc,
                            endpoint,
                            packet,
                        });
                    }
                    MediaEvent::KeyFrameWanted => self.emit(JitsiEvent::KeyFrameWanted),
                    MediaEvent::BridgeOpen => {
                        media.bridge_fallback_at = None;
                        if media.bridge_socket.is_none() {
                            session.send_bridge(&self.video_constraints());
                        }
                    }
                    MediaEvent::Bridge(message) => self.on_bridge_message(media, message),
                    MediaEvent::Quality { rtt, loss } => {
                        self.emit(JitsiEvent::Quality { rtt, loss });
                    }
                    MediaEvent::Failed(sentence) => {
                        // Asked for a fresh session at once (the session is kept until then,
                        // for its ids).
                        self.stage(sentence);
                        let now = Instant::now();
                        media.lost_since = Some(now.checked_sub(MEDIA_LOST_AFTER).unwrap_or(now));
                        return;
                    }
                },
            }
        }
    }
}

impl Media {
    fn close(&mut self) {
        if let Some(mut session) = self.session.take() {
            session.close();
        }
        self.next_timeout = None;
        self.bridge_url = None;
        self.bridge_fallback_at = None;
        self.bridge_socket = None;
        self.lost_since = None;
    }

    /// Finds, for each remote address, the local address the system uses to reach it (by
    /// "connecting" a UDP socket, which sends nothing).
    fn learn_routes(&mut self, remote: impl Iterator<Item = IpAddr>) {
        for address in remote {
            if !address.is_ipv4() || self.routes.contains_key(&address) {
                continue;
            }
            // Bounded: datagrams from anywhere may ask for a route.
            if self.routes.len() >= MAX_ROUTES {
                return;
            }
            let route = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
                .and_then(|probe| {
                    probe.connect(SocketAddr::new(address, 9))?;
                    probe.local_addr()
                })
                .map(|local| local.ip());
            if let Ok(local) = route
                && !local.is_unspecified()
            {
                self.routes.insert(address, local);
            }
        }
    }

    fn local_address_for(&mut self, remote: IpAddr) -> SocketAddr {
        if !self.routes.contains_key(&remote) {
            self.learn_routes(std::iter::once(remote));
        }
        let ip = self
            .routes
            .get(&remote)
            .copied()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        SocketAddr::new(ip, self.port)
    }
}

/// Whether `host` names this machine (`localhost`, 127.0.0.0/8, ::1).
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// The next event of the colibri WebSocket task (`None` once it has ended).
async fn next_bridge_event(socket: &mut Option<BridgeSocket>) -> Option<BridgeSocketEvent> {
    match socket {
        Some(socket) => socket.events.recv().await,
        None => None,
    }
}

/// Keeps the colibri WebSocket connected while the session lasts (the driver aborts the task
/// when the session ends): messages from `outgoing` go to the bridge, the bridge's come back
/// as events. After a failure or a close it tries again after 1 s, 2 s, 4 s… up to a minute.
async fn bridge_socket_task(
    url: Url,
    ca_file: Option<PathBuf>,
    origin: String,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    events: mpsc::UnboundedSender<BridgeSocketEvent>,
) {
    let mut pause = Duration::from_secs(1);
    loop {
        let attempt = tokio::time::timeout(
            CONNECT_TIMEOUT,
            connect(
                &url,
                ca_file.as_deref(),
                Handshake::Colibri {
                    origin: origin.clone(),
                },
            ),
        )
        .await;
        let why = match attempt {
            Ok(Ok(mut socket)) => {
                pause = Duration::from_secs(1);
                if events.send(BridgeSocketEvent::Open).is_err() {
                    return;
                }
                loop {
                    tokio::select! {
                        frame = socket.next() => match frame {
                            Some(Ok(Message::Text(text))) => {
                                if events.send(BridgeSocketEvent::Text(text.as_str().to_owned())).is_err() {
                                    return;
                                }
                            }
                            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                            Some(Ok(_)) => {}
                        },
                        text = outgoing.recv() => match text {
                            Some(text) => {
                                if socket.send(Message::text(text)).await.is_err() {
                                    break;
                                }
                            }
                            None => {
                                socket.close(None).await.ok();
                                return;
                            }
                        },
                    }
                }
                Phrase::tr("jitsi-bridge-socket-closed")
            }
            Ok(Err(sentence)) => sentence,
            Err(_) => Phrase::tr("jitsi-bridge-socket-no-answer"),
        };
        if events.send(BridgeSocketEvent::Closed(why)).is_err() {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(BRIDGE_SOCKET_MAX_PAUSE);
    }
}

/// Which WebSocket is opened.
enum Handshake {
    /// XMPP (RFC 7395): `Sec-WebSocket-Protocol: xmpp`.
    Xmpp,
    /// The bridge's colibri WebSocket, with the meeting's origin as a browser would send it.
    Colibri { origin: String },
}

/// Connects a WebSocket, over TLS for `wss://` (WebPKI roots and the optional extra CA).
async fn connect(
    url: &Url,
    ca_file: Option<&std::path::Path>,
    handshake: Handshake,
) -> Result<Socket, Phrase> {
    let host = url
        .host_str()
        .ok_or(Phrase::tr("jitsi-socket-no-host"))?
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
        .await
        .map_err(|error| with_host("jitsi-socket-unreachable", &host, &error))?;
    tcp.set_nodelay(true).ok();
    let stream: Box<dyn Io> = match url.scheme() {
        "wss" => {
            let config = discovery::tls_config(ca_file).map_err(|error| error.phrase())?;
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let name = rustls_pki_types::ServerName::try_from(host.clone()).map_err(|_| {
                Phrase::tr_args(
                    "jitsi-socket-bad-name",
                    vec![("host", host.as_str().into())],
                )
            })?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|error| with_host("jitsi-socket-tls-failed", &host, &error))?;
            Box::new(tls)
        }
        _ => Box::new(tcp),
    };
    let mut request = url.as_str().into_client_request().map_err(|error| {
        Phrase::tr_args(
            "jitsi-socket-bad-address",
            vec![("error", error.to_string().into())],
        )
    })?;
    let (limit, what) = match handshake {
        Handshake::Xmpp => {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                tokio_tungstenite::tungstenite::http::HeaderValue::from_static("xmpp"),
            );
            (xml::MAX_ELEMENT_BYTES, "jitsi-socket-refused-xmpp")
        }
        Handshake::Colibri { origin } => {
            let origin = tokio_tungstenite::tungstenite::http::HeaderValue::from_str(&origin)
                .map_err(|_| {
                    Phrase::tr_args(
                        "jitsi-socket-bad-origin",
                        vec![("host", host.as_str().into())],
                    )
                })?;
            request.headers_mut().insert("Origin", origin);
            (MAX_BRIDGE_MESSAGE, "jitsi-socket-refused-bridge")
        }
    };
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(limit);
    config.max_frame_size = Some(limit);
    let (socket, _response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|error| with_host(what, &host, &error))?;
    Ok(socket)
}

/// A connection failure about `host`, with what the system or the library said.
fn with_host(id: &'static str, host: &str, error: &dyn std::fmt::Display) -> Phrase {
    Phrase::tr_args(
        id,
        vec![("host", host.into()), ("error", error.to_string().into())],
    )
}
