//! The Mumble connection as a sans-IO state machine: what a client says and does from the end
//! of the TLS handshake until the connection closes (brief §1.4–§1.14).
//!
//! The driver (`crate::net::mumble`) owns the TLS stream, the UDP socket and the clock. It calls
//! [`Session::start`] once TLS is up, feeds every byte read with [`Session::handle_tcp`], every
//! datagram with [`Session::handle_udp`], calls [`Session::handle_timeout`] when
//! [`Session::poll_timeout`] is due, and after each call drains [`Session::poll_transmit`]
//! (bytes to write) and [`Session::poll_event`] (what happened). User actions (talk, text,
//! move, mute) are methods. Nothing here blocks, reads a clock or touches a socket, so tests
//! drive it byte for byte.
//!
//! What it decides on its own:
//! - the login (Version + Authenticate), the landing channel, self-mute/deaf after login;
//! - keepalive: a TCP and a UDP ping every 5 s; 4 TCP pings unanswered close the connection;
//! - the voice path: UDP once a UDP ping came back, the TCP tunnel otherwise and whenever UDP
//!   pongs stop for [`UDP_SILENCE_LIMIT`], back to UDP when they resume;
//! - the voice format from both versions ([`udp_format`]);
//! - crypt resyncs in both directions;
//! - fitting the user's bitrate and packet length under the server's bandwidth cap.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::control::{self, ControlError, ControlMessage, FrameDecoder};
use super::crypt::CryptState;
use super::messages::{
    Authenticate, ChannelState, CryptSetup, Ping, TextMessage, UserState, Version, VersionNumber,
    permission_denied::DenyType, reject::RejectType,
};
use super::voice::{
    AudioPacket, Direction, PingPacket, SERVER_LOOPBACK_TARGET, UdpFormat, VoicePacket, udp_format,
};
use crate::i18n::Phrase;

/// The version palabre announces. 1.5 makes a 1.5 server use the protobuf voice format, which
/// avoids the legacy-format loss bug of 1.5 servers (brief §1.8); older servers get legacy.
pub const ANNOUNCED_VERSION: VersionNumber = VersionNumber {
    major: 1,
    minor: 5,
    patch: 0,
};

/// Interval of TCP and UDP pings once connected (the official client's `iPingIntervalMsec`).
pub const PING_INTERVAL: Duration = Duration::from_secs(5);
/// UDP pings are sent this often until the first one comes back, so voice moves to UDP fast.
const FIRST_UDP_PING_INTERVAL: Duration = Duration::from_secs(1);
/// Unanswered TCP pings after which the connection is considered dead (`iMaxInFlightTCPPings`).
pub const MAX_PINGS_IN_FLIGHT: u32 = 4;
/// Without a UDP pong for this long, voice goes through the TCP tunnel.
pub const UDP_SILENCE_LIMIT: Duration = Duration::from_secs(12);
/// The login must complete within this time (the official client's connect timeout).
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes a server adds to a packet in IPv4 + UDP headers, counted by the bandwidth formula.
pub const IP_UDP_OVERHEAD: u32 = 28;

/// Who logs in and where to go (from the link and the settings).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The user name.
    pub username: String,
    /// The server password (or the account password of a registered name).
    pub password: Option<String>,
    /// Access tokens (`Authenticate.tokens`).
    pub tokens: Vec<String>,
    /// Channel names from the root to the channel to land in; empty stays where the server puts
    /// the user (its default channel, or the last one of a registered user).
    pub channel_path: Vec<String>,
    /// Start self-muted.
    pub self_mute: bool,
    /// Start self-deafened (implies muted).
    pub self_deaf: bool,
    /// Try UDP for voice. `false` keeps voice in the TCP tunnel (networks that block UDP).
    pub udp: bool,
    /// The version announced (normally [`ANNOUNCED_VERSION`]).
    pub version: VersionNumber,
    /// The release string announced, e.g. "palabre 0.1.0".
    pub release: String,
    /// Operating system name announced.
    pub os: String,
    /// The Opus bitrate the user chose, in bit/s.
    pub bitrate: u32,
    /// The packet length the user chose, in ms (10, 20, 40 or 60).
    pub frame_ms: u32,
}

/// Where a text message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTarget {
    /// Everyone in a channel.
    Channel(u32),
    /// A channel and all its sub-channels.
    Tree(u32),
    /// One user (a private message).
    User(u32),
}

/// A channel as the server described it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Channel {
    /// Channel id; the root is 0.
    pub id: u32,
    /// Parent channel; `None` for the root.
    pub parent: Option<u32>,
    /// Name.
    pub name: String,
    /// Short description (long ones arrive as a hash only and are not fetched).
    pub description: String,
    /// Sort weight among siblings.
    pub position: i32,
    /// Deleted when the last user leaves.
    pub temporary: bool,
    /// Maximum users, 0 for no limit.
    pub max_users: u32,
    /// Linked channels (voice crosses links).
    pub links: Vec<u32>,
}

/// A connected user as the server described them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    /// Session number, unique while connected.
    pub session: u32,
    /// Name.
    pub name: String,
    /// The channel the user is in.
    pub channel: u32,
    /// Registered account id, if any.
    pub user_id: Option<u32>,
    /// Muted by an admin.
    pub mute: bool,
    /// Deafened by an admin.
    pub deaf: bool,
    /// Suppressed (cannot speak in this channel).
    pub suppress: bool,
    /// Muted themselves.
    pub self_mute: bool,
    /// Deafened themselves.
    pub self_deaf: bool,
    /// Heard over others.
    pub priority_speaker: bool,
    /// Recording the conversation.
    pub recording: bool,
    /// SHA-1 of the user's certificate (hex), when they presented one.
    pub cert_hash: Option<String>,
}

impl User {
    /// Whether the user cannot currently be heard (muted by themselves or an admin).
    pub fn is_muted(&self) -> bool {
        self.mute || self.self_mute || self.suppress
    }
}

/// Voice and control traffic counters, for the summary and the bandwidth meter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TrafficStats {
    /// UDP datagrams sent (voice and pings).
    pub udp_packets_sent: u64,
    /// UDP payload bytes sent (add [`IP_UDP_OVERHEAD`] per datagram for the wire).
    pub udp_bytes_sent: u64,
    /// UDP datagrams received and accepted.
    pub udp_packets_received: u64,
    /// UDP payload bytes received.
    pub udp_bytes_received: u64,
    /// Voice packets sent through the TCP tunnel.
    pub tunnel_packets_sent: u64,
    /// Bytes of tunnelled voice sent, frame headers included.
    pub tunnel_bytes_sent: u64,
    /// Voice packets received through the TCP tunnel.
    pub tunnel_packets_received: u64,
    /// Bytes of tunnelled voice received, frame headers included.
    pub tunnel_bytes_received: u64,
    /// Voice packets sent, either way.
    pub voice_packets_sent: u64,
    /// Voice packets received, either way.
    pub voice_packets_received: u64,
    /// All control bytes written to the TLS stream (tunnel included).
    pub tcp_bytes_sent: u64,
    /// All control bytes read from the TLS stream (tunnel included).
    pub tcp_bytes_received: u64,
    /// Datagrams that failed to decrypt or decode.
    pub udp_rejected: u64,
    /// Datagrams the sender sent that never arrived, as the nonces tell.
    pub udp_lost: u64,
    /// Datagrams that arrived out of order.
    pub udp_late: u64,
}

/// Field-by-field sum: the traffic of several connections.
impl std::ops::Add for TrafficStats {
    type Output = Self;

    fn add(self, b: Self) -> Self {
        let a = self;
        TrafficStats {
            udp_packets_sent: a.udp_packets_sent + b.udp_packets_sent,
            udp_bytes_sent: a.udp_bytes_sent + b.udp_bytes_sent,
            udp_packets_received: a.udp_packets_received + b.udp_packets_received,
            udp_bytes_received: a.udp_bytes_received + b.udp_bytes_received,
            tunnel_packets_sent: a.tunnel_packets_sent + b.tunnel_packets_sent,
            tunnel_bytes_sent: a.tunnel_bytes_sent + b.tunnel_bytes_sent,
            tunnel_packets_received: a.tunnel_packets_received + b.tunnel_packets_received,
            tunnel_bytes_received: a.tunnel_bytes_received + b.tunnel_bytes_received,
            voice_packets_sent: a.voice_packets_sent + b.voice_packets_sent,
            voice_packets_received: a.voice_packets_received + b.voice_packets_received,
            tcp_bytes_sent: a.tcp_bytes_sent + b.tcp_bytes_sent,
            tcp_bytes_received: a.tcp_bytes_received + b.tcp_bytes_received,
            udp_rejected: a.udp_rejected + b.udp_rejected,
            udp_lost: a.udp_lost + b.udp_lost,
            udp_late: a.udp_late + b.udp_late,
        }
    }
}

/// Bytes for the driver to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// To the TLS stream.
    Tcp(Vec<u8>),
    /// One datagram to the server's UDP port.
    Udp(Vec<u8>),
}

/// Why the connection ended. The driver reconnects after [`CloseReason::is_retryable`] ones.
/// Each says why for the user ([`CloseReason::phrase`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The user left.
    Left,
    /// The server refused the login.
    Rejected(Phrase),
    /// The server asks for a password (its own, or a registered name's), and none or a wrong
    /// one was given: the user may try again with one.
    ServerPassword(Phrase),
    /// Kicked or banned by someone.
    Kicked(Phrase),
    /// The server closed the connection or stopped answering.
    Lost(Phrase),
    /// The server sent something palabre cannot accept.
    Protocol(Phrase),
    /// The secure connection could not be set up (e.g. the identity's key was refused).
    Untrusted(Phrase),
    /// The server's certificate is not the one remembered: the user must decide whether to
    /// trust the new one.
    CertificateChanged(Phrase),
}

impl CloseReason {
    /// Whether trying again later may succeed without the user changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Lost(_))
    }

    /// Why, for the user.
    pub fn phrase(&self) -> Phrase {
        match self {
            Self::Left => Phrase::tr("mumble-left"),
            Self::Rejected(p)
            | Self::ServerPassword(p)
            | Self::Kicked(p)
            | Self::Lost(p)
            | Self::Protocol(p)
            | Self::Untrusted(p)
            | Self::CertificateChanged(p) => p.clone(),
        }
    }

    /// Why, in English (the command line's words).
    pub fn sentence(&self) -> String {
        self.phrase().to_string()
    }
}

/// What happened, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The server's Version arrived.
    ServerVersion {
        /// e.g. "1.3.4".
        release: String,
        /// Version number.
        version: VersionNumber,
    },
    /// Login complete: the channel tree and users are known.
    Connected {
        /// Our session number.
        session: u32,
        /// The welcome text as plain text.
        welcome_text: String,
        /// Per-user voice bandwidth allowed, bit/s.
        max_bandwidth: Option<u32>,
    },
    /// The requested channel does not exist; the user stays where the server put them.
    ChannelNotFound(String),
    /// The channel tree or the user list changed (re-read [`Session::channels`] / `users`).
    TreeChanged,
    /// A user appeared after login.
    UserJoined {
        /// Session.
        session: u32,
        /// Name.
        name: String,
    },
    /// A user left (or was kicked).
    UserLeft {
        /// Session.
        session: u32,
        /// Name.
        name: String,
    },
    /// A user (possibly us) is now in another channel.
    UserMoved {
        /// Session.
        session: u32,
        /// New channel.
        channel: u32,
    },
    /// A text message arrived.
    Text {
        /// Sender session (`None`: the server itself).
        from: Option<u32>,
        /// Sender name, when known.
        from_name: String,
        /// Sent to us alone.
        private: bool,
        /// The message as plain text (HTML removed).
        message: String,
    },
    /// The server refused a request; the phrase says which and why.
    Denied(Phrase),
    /// One voice packet from another user.
    Voice {
        /// Sender session.
        session: u32,
        /// Index of the first 10 ms frame.
        sequence: u64,
        /// One Opus packet.
        opus: Vec<u8>,
        /// Last packet of a transmission.
        terminator: bool,
        /// Arrived over UDP (else through the TCP tunnel).
        udp: bool,
    },
    /// Voice now goes over UDP (`true`) or through the TCP tunnel (`false`).
    TransportChanged {
        /// UDP in use.
        udp: bool,
    },
    /// The server's bandwidth cap made palabre lower its bitrate or lengthen its packets.
    BandwidthLimited {
        /// The cap, bit/s.
        cap: u32,
        /// Bitrate to use now, bit/s.
        bitrate: u32,
        /// Packet length to use now, ms.
        frame_ms: u32,
    },
    /// The server asks for a codec other than Opus; palabre keeps Opus (older peers may not
    /// hear it).
    CodecWarning,
    /// Our self-mute / self-deaf state as the server confirmed it.
    SelfStateChanged {
        /// Muted.
        mute: bool,
        /// Deafened.
        deaf: bool,
    },
    /// Our account id after a successful self-registration.
    Registered(u32),
    /// Round-trip times measured by the pings.
    Latency {
        /// TCP ping round trip.
        tcp: Option<Duration>,
        /// UDP ping round trip.
        udp: Option<Duration>,
    },
    /// The connection ended; nothing more will be sent.
    Closed(CloseReason),
}

impl SessionEvent {
    /// The sentence to tell the user about this event, for the events that deserve one (the
    /// terminal, the headless call and the window all say the same).
    pub fn notice(&self) -> Option<String> {
        Some(match self {
            Self::TransportChanged { udp: true } => "Voice goes over UDP.".to_owned(),
            Self::TransportChanged { udp: false } => {
                "Voice goes through the TCP connection (UDP does not get through).".to_owned()
            }
            Self::BandwidthLimited {
                cap,
                bitrate,
                frame_ms,
            } => format!(
                "The server allows only {} kbit/s per user: audio adjusted to {} kbit/s in \
                 {frame_ms} ms packets.",
                cap / 1000,
                bitrate / 1000
            ),
            Self::Denied(phrase) => phrase.to_string(),
            Self::ChannelNotFound(path) => {
                format!("There is no channel {path} on this server; you stay where you are.")
            }
            Self::Registered(_) => "Your name is now registered on this server.".to_owned(),
            Self::CodecWarning => "The server asks for an older codec than Opus; palabre keeps \
                                   Opus, so very old clients may not hear you."
                .to_owned(),
            Self::SelfStateChanged { mute, deaf } => match (mute, deaf) {
                (_, true) => "You are deafened and muted.",
                (true, false) => "You are muted.",
                (false, false) => "You can be heard.",
            }
            .to_owned(),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Created; [`Session::start`] not called yet.
    Idle,
    /// Version and Authenticate sent, waiting for ServerSync.
    LoggingIn,
    /// Logged in.
    Connected,
    /// Over.
    Closed,
}

/// One Mumble connection (see the module doc).
pub struct Session {
    config: SessionConfig,
    phase: Phase,
    epoch: Option<Instant>,
    decoder: FrameDecoder,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    crypt: Option<CryptState>,
    server_version: Option<VersionNumber>,
    own_session: Option<u32>,
    channels: BTreeMap<u32, Channel>,
    users: BTreeMap<u32, User>,
    max_bandwidth: Option<u32>,
    message_length: Option<u32>,
    allow_html: bool,
    bitrate: u32,
    frame_ms: u32,
    self_mute: bool,
    self_deaf: bool,
    next_tcp_ping: Option<Instant>,
    next_udp_ping: Option<Instant>,
    tcp_pings_in_flight: u32,
    last_udp_pong: Option<Instant>,
    udp_active: bool,
    tcp_rtt: Option<Duration>,
    udp_rtt: Option<Duration>,
    login_deadline: Option<Instant>,
    stats: TrafficStats,
    scratch: Vec<u8>,
}

impl Session {
    /// A session that will log in with `config` once [`start`](Self::start) is called.
    pub fn new(config: SessionConfig) -> Self {
        let self_deaf = config.self_deaf;
        let self_mute = config.self_mute || self_deaf;
        Self {
            bitrate: config.bitrate,
            frame_ms: config.frame_ms,
            config,
            phase: Phase::Idle,
            epoch: None,
            decoder: FrameDecoder::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            crypt: None,
            server_version: None,
            own_session: None,
            channels: BTreeMap::new(),
            users: BTreeMap::new(),
            max_bandwidth: None,
            message_length: None,
            allow_html: true,
            self_mute,
            self_deaf,
            next_tcp_ping: None,
            next_udp_ping: None,
            tcp_pings_in_flight: 0,
            last_udp_pong: None,
            udp_active: false,
            tcp_rtt: None,
            udp_rtt: None,
            login_deadline: None,
            stats: TrafficStats::default(),
            scratch: Vec::new(),
        }
    }

    /// TLS is up: sends Version and Authenticate (brief §1.4).
    pub fn start(&mut self, now: Instant) {
        if self.phase != Phase::Idle {
            return;
        }
        self.epoch = Some(now);
        self.phase = Phase::LoggingIn;
        self.login_deadline = Some(now + LOGIN_TIMEOUT);
        let mut version = Version {
            release: Some(self.config.release.clone()),
            os: Some(self.config.os.clone()),
            os_version: Some(String::new()),
            ..Version::default()
        };
        version.set_number(self.config.version);
        self.send_control(&ControlMessage::Version(version));
        let authenticate = Authenticate {
            username: Some(self.config.username.clone()),
            password: self.config.password.clone(),
            tokens: self.config.tokens.clone(),
            celt_versions: Vec::new(),
            opus: Some(true),
            client_type: Some(0),
        };
        self.send_control(&ControlMessage::Authenticate(authenticate));
    }

    /// Bytes read from the TLS stream.
    pub fn handle_tcp(&mut self, bytes: &[u8], now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        self.stats.tcp_bytes_received += bytes.len() as u64;
        self.decoder.push(bytes);
        loop {
            match self.decoder.next_message() {
                Ok(Some(message)) => {
                    self.handle_message(message, now);
                    if self.phase == Phase::Closed {
                        return;
                    }
                }
                Ok(None) => return,
                Err(error) => {
                    self.close(CloseReason::Protocol(protocol_phrase(&error)));
                    return;
                }
            }
        }
    }

    /// The TLS stream ended or failed.
    pub fn handle_tcp_closed(&mut self, detail: &str) {
        if self.phase == Phase::Closed {
            return;
        }
        let id = if self.phase == Phase::LoggingIn {
            "mumble-closed-during-login"
        } else {
            "mumble-connection-lost"
        };
        self.close(CloseReason::Lost(Phrase::tr_args(
            id,
            vec![("detail", detail.into())],
        )));
    }

    /// One datagram received from the server's address.
    pub fn handle_udp(&mut self, datagram: &[u8], now: Instant) {
        if self.phase != Phase::Connected || !self.config.udp {
            return;
        }
        let Some(crypt) = self.crypt.as_mut() else {
            return;
        };
        let mut plain = std::mem::take(&mut self.scratch);
        plain.clear();
        let decrypted = crypt.decrypt(datagram, &mut plain);
        let resync = crypt.needs_resync(now);
        let crypt_stats = crypt.stats();
        self.stats.udp_lost = u64::from(crypt_stats.lost);
        self.stats.udp_late = u64::from(crypt_stats.late);
        if resync {
            tracing::debug!("UDP packets fail to decrypt; asking the server for a resync");
            self.send_control(&ControlMessage::CryptSetup(CryptSetup::default()));
        }
        match decrypted {
            Ok(()) => {
                self.stats.udp_packets_received += 1;
                self.stats.udp_bytes_received += datagram.len() as u64;
                self.handle_voice_bytes(&plain, true, now);
            }
            Err(error) => {
                self.stats.udp_rejected += 1;
                tracing::trace!(%error, "dropped a UDP datagram");
            }
        }
        self.scratch = plain;
    }

    /// Runs the timers: pings, UDP health, login timeout. Call when [`poll_timeout`] is due.
    ///
    /// [`poll_timeout`]: Self::poll_timeout
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::LoggingIn => {
                if self.login_deadline.is_some_and(|deadline| now >= deadline) {
                    self.close(CloseReason::Lost(Phrase::tr("mumble-login-timeout")));
                }
            }
            Phase::Connected => {
                if self.next_tcp_ping.is_some_and(|at| now >= at) {
                    if self.tcp_pings_in_flight >= MAX_PINGS_IN_FLIGHT {
                        self.close(CloseReason::Lost(Phrase::tr("mumble-stopped-answering")));
                        return;
                    }
                    self.send_tcp_ping(now);
                    self.next_tcp_ping = Some(now + PING_INTERVAL);
                }
                if self.next_udp_ping.is_some_and(|at| now >= at) {
                    self.send_udp_ping(now);
                    let interval = if self.last_udp_pong.is_some() {
                        PING_INTERVAL
                    } else {
                        FIRST_UDP_PING_INTERVAL
                    };
                    self.next_udp_ping = Some(now + interval);
                }
                self.update_udp_state(now);
            }
            Phase::Idle | Phase::Closed => {}
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::LoggingIn => self.login_deadline,
            Phase::Connected => {
                let udp_expiry = self
                    .last_udp_pong
                    .filter(|_| self.udp_active)
                    .map(|at| at + UDP_SILENCE_LIMIT);
                [self.next_tcp_ping, self.next_udp_ping, udp_expiry]
                    .into_iter()
                    .flatten()
                    .min()
            }
            Phase::Idle | Phase::Closed => None,
        }
    }

    /// The next bytes to write.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Sends one Opus packet (`sequence` = index of its first 10 ms frame). Dropped while
    /// self-muted, before login, or when it does not fit a voice packet.
    pub fn send_audio(&mut self, opus: &[u8], sequence: u64, terminator: bool, loopback: bool) {
        if self.phase != Phase::Connected || self.self_mute {
            return;
        }
        let packet = VoicePacket::Audio(AudioPacket {
            target: if loopback { SERVER_LOOPBACK_TARGET } else { 0 },
            session: None,
            sequence,
            payload: opus.into(),
            terminator,
            positional: None,
            volume_adjustment: None,
        });
        if self.send_voice_packet(&packet) {
            self.stats.voice_packets_sent += 1;
        }
    }

    /// Sends a text message (plain text; it is escaped for servers that allow HTML).
    pub fn send_text(&mut self, target: TextTarget, message: &str) -> Result<(), Phrase> {
        if self.phase != Phase::Connected {
            return Err(Phrase::tr("mumble-text-not-connected"));
        }
        let message = escape_html(message);
        if let Some(limit) = self.message_length.filter(|&limit| limit > 0)
            && message.len() > limit as usize
        {
            return Err(Phrase::tr_args(
                "mumble-text-too-long",
                vec![("limit", limit.to_string().into())],
            ));
        }
        let mut text = TextMessage {
            message,
            ..TextMessage::default()
        };
        match target {
            TextTarget::Channel(id) => text.channel_id.push(id),
            TextTarget::Tree(id) => text.tree_id.push(id),
            TextTarget::User(session) => text.session.push(session),
        }
        self.send_control(&ControlMessage::TextMessage(text));
        Ok(())
    }

    /// Asks to move into a channel. The server answers with our new state or a refusal.
    pub fn join_channel(&mut self, channel: u32) {
        let Some(session) = self.own_session else {
            return;
        };
        self.send_control(&ControlMessage::UserState(UserState {
            session: Some(session),
            channel_id: Some(channel),
            ..UserState::default()
        }));
    }

    /// Mutes or unmutes ourselves (unmuting also undeafens, as Mumble does).
    pub fn set_self_mute(&mut self, mute: bool) {
        self.self_mute = mute;
        if !mute {
            self.self_deaf = false;
        }
        self.send_self_state();
    }

    /// Deafens (and mutes) or undeafens ourselves.
    pub fn set_self_deaf(&mut self, deaf: bool) {
        self.self_deaf = deaf;
        if deaf {
            self.self_mute = true;
        }
        self.send_self_state();
    }

    /// Registers our name with our certificate on the server (needs the SelfRegister
    /// permission and a client certificate).
    pub fn register_self(&mut self) {
        let Some(session) = self.own_session else {
            return;
        };
        self.send_control(&ControlMessage::UserState(UserState {
            session: Some(session),
            user_id: Some(0),
            ..UserState::default()
        }));
    }

    /// Leaves: nothing more is sent after this; the driver closes TLS.
    pub fn leave(&mut self) {
        self.close(CloseReason::Left);
    }

    /// Our session number once logged in.
    pub fn own_session(&self) -> Option<u32> {
        self.own_session
    }

    /// The channel we are in.
    pub fn own_channel(&self) -> Option<u32> {
        self.own_session
            .and_then(|session| self.users.get(&session))
            .map(|user| user.channel)
    }

    /// Channel names from the root's child down to `channel` (what a link names).
    pub fn channel_path(&self, channel: u32) -> Vec<String> {
        channel_path(channel, self.channels.len(), |id| self.channels.get(&id))
    }

    /// The channel tree, by id.
    pub fn channels(&self) -> &BTreeMap<u32, Channel> {
        &self.channels
    }

    /// The connected users, by session.
    pub fn users(&self) -> &BTreeMap<u32, User> {
        &self.users
    }

    /// Whether voice currently goes over UDP.
    pub fn udp_active(&self) -> bool {
        self.udp_active
    }

    /// The voice format in use (from both versions).
    pub fn voice_format(&self) -> UdpFormat {
        udp_format(
            self.config.version.to_v2(),
            self.server_version.map_or(0, VersionNumber::to_v2),
        )
    }

    /// Bitrate (bit/s) and packet length (ms) to encode with, after the server's cap.
    pub fn codec_settings(&self) -> (u32, u32) {
        (self.bitrate, self.frame_ms)
    }

    /// Self-mute and self-deaf as last requested.
    pub fn self_state(&self) -> (bool, bool) {
        (self.self_mute, self.self_deaf)
    }

    /// Whether the session is logged in.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Traffic counters so far.
    pub fn stats(&self) -> TrafficStats {
        self.stats
    }

    fn handle_message(&mut self, message: ControlMessage, now: Instant) {
        match message {
            ControlMessage::Version(version) => {
                let number = version.number().unwrap_or(VersionNumber {
                    major: 1,
                    minor: 2,
                    patch: 0,
                });
                self.server_version = Some(number);
                self.events.push_back(SessionEvent::ServerVersion {
                    release: version.release.unwrap_or_default(),
                    version: number,
                });
            }
            ControlMessage::Reject(reject) => {
                let sentence = control::reject_reason(&reject);
                // The password field fixes both: the server's password, and a registered
                // name's (Mumble sends one password for either).
                let wrong_password = [RejectType::WrongServerPw, RejectType::WrongUserPw]
                    .iter()
                    .any(|kind| reject.r#type == Some(*kind as i32));
                self.close(if wrong_password {
                    CloseReason::ServerPassword(sentence)
                } else {
                    CloseReason::Rejected(sentence)
                });
            }
            ControlMessage::CryptSetup(setup) => self.handle_crypt_setup(setup),
            ControlMessage::CodecVersion(codec) if codec.opus == Some(false) => {
                self.events.push_back(SessionEvent::CodecWarning);
            }
            ControlMessage::ChannelState(state) => self.handle_channel_state(state),
            ControlMessage::ChannelRemove(remove) => {
                self.channels.remove(&remove.channel_id);
                self.tree_changed();
            }
            ControlMessage::UserState(state) => self.handle_user_state(state),
            ControlMessage::UserRemove(remove) => {
                let name = self
                    .users
                    .remove(&remove.session)
                    .map(|user| user.name)
                    .unwrap_or_default();
                if Some(remove.session) == self.own_session {
                    let by = remove
                        .actor
                        .and_then(|actor| self.users.get(&actor))
                        .map(|user| {
                            Phrase::tr_args(
                                "mumble-removed-by",
                                vec![("name", user.name.as_str().into())],
                            )
                        })
                        .unwrap_or_default();
                    let reason = remove
                        .reason
                        .as_deref()
                        .map(str::trim)
                        .filter(|reason| !reason.is_empty())
                        .map(|reason| {
                            Phrase::tr_args(
                                "mumble-removed-reason",
                                vec![("reason", plain_text(reason).into())],
                            )
                        })
                        .unwrap_or_default();
                    let id = if remove.ban == Some(true) {
                        "mumble-banned"
                    } else {
                        "mumble-kicked"
                    };
                    self.close(CloseReason::Kicked(Phrase::tr_args(
                        id,
                        vec![("by", by.into()), ("reason", reason.into())],
                    )));
                    return;
                }
                if self.phase == Phase::Connected {
                    self.events.push_back(SessionEvent::UserLeft {
                        session: remove.session,
                        name,
                    });
                }
                self.tree_changed();
            }
            ControlMessage::ServerSync(sync) => self.handle_server_sync(sync, now),
            ControlMessage::ServerConfig(config) => {
                if let Some(length) = config.message_length {
                    self.message_length = Some(length);
                }
                if let Some(allow) = config.allow_html {
                    self.allow_html = allow;
                }
                if let Some(cap) = config.max_bandwidth {
                    self.apply_bandwidth_cap(cap);
                }
            }
            ControlMessage::Ping(ping) => {
                self.tcp_pings_in_flight = 0;
                if let Some(sent) = ping.timestamp.and_then(|t| self.instant_of(t)) {
                    self.tcp_rtt = Some(now.saturating_duration_since(sent));
                    self.events.push_back(SessionEvent::Latency {
                        tcp: self.tcp_rtt,
                        udp: self.udp_rtt,
                    });
                }
            }
            ControlMessage::TextMessage(text) => {
                let from_name = text
                    .actor
                    .and_then(|actor| self.users.get(&actor))
                    .map(|user| user.name.clone())
                    .unwrap_or_default();
                let private = self
                    .own_session
                    .is_some_and(|own| text.session.contains(&own));
                self.events.push_back(SessionEvent::Text {
                    from: text.actor,
                    from_name,
                    private,
                    message: plain_text(&text.message),
                });
            }
            ControlMessage::PermissionDenied(denied) => {
                self.events
                    .push_back(SessionEvent::Denied(self.denied_sentence(&denied)));
            }
            ControlMessage::UdpTunnel(packet) => {
                self.stats.tunnel_packets_received += 1;
                self.stats.tunnel_bytes_received += (control::HEADER_LEN + packet.len()) as u64;
                self.handle_voice_bytes(&packet, false, now);
            }
            // Not used by a voice client: permissions, ACLs, ban lists, stats, context menus.
            _ => {}
        }
    }

    fn handle_crypt_setup(&mut self, setup: CryptSetup) {
        match (&setup.key, &setup.client_nonce, &setup.server_nonce) {
            (Some(key), Some(client), Some(server)) => {
                match CryptState::from_crypt_setup(key, client, server) {
                    Ok(state) => self.crypt = Some(state),
                    Err(error) => self.close(CloseReason::Protocol(Phrase::tr_args(
                        "mumble-bad-voice-key",
                        vec![("reason", error.to_string().into())],
                    ))),
                }
            }
            (None, None, Some(server)) => {
                if let Some(crypt) = self.crypt.as_mut()
                    && let Err(error) = crypt.set_decrypt_nonce(server)
                {
                    tracing::debug!(%error, "ignored a resync nonce");
                }
            }
            (None, None, None) => {
                // The server cannot decrypt us: it asks for our current encrypt nonce.
                if let Some(crypt) = &self.crypt {
                    let answer = CryptSetup {
                        client_nonce: Some(crypt.encrypt_nonce().to_vec()),
                        ..CryptSetup::default()
                    };
                    self.send_control(&ControlMessage::CryptSetup(answer));
                }
            }
            _ => tracing::debug!("ignored an incomplete CryptSetup"),
        }
    }

    fn handle_channel_state(&mut self, state: ChannelState) {
        let Some(id) = state.channel_id else { return };
        let channel = self.channels.entry(id).or_insert_with(|| Channel {
            id,
            ..Channel::default()
        });
        if let Some(parent) = state.parent
            && parent != id
        {
            channel.parent = Some(parent);
        }
        if let Some(name) = state.name {
            channel.name = name;
        }
        if let Some(description) = state.description {
            channel.description = plain_text(&description);
        }
        if let Some(position) = state.position {
            channel.position = position;
        }
        if let Some(temporary) = state.temporary {
            channel.temporary = temporary;
        }
        if let Some(max_users) = state.max_users {
            channel.max_users = max_users;
        }
        if !state.links.is_empty() {
            channel.links = state.links;
        }
        channel
            .links
            .retain(|link| !state.links_remove.contains(link));
        for link in state.links_add {
            if !channel.links.contains(&link) {
                channel.links.push(link);
            }
        }
        self.tree_changed();
    }

    fn handle_user_state(&mut self, state: UserState) {
        let Some(session) = state.session else { return };
        let is_new = !self.users.contains_key(&session);
        let user = self.users.entry(session).or_insert_with(|| User {
            session,
            ..User::default()
        });
        let old_channel = user.channel;
        if let Some(name) = state.name {
            user.name = name;
        }
        if let Some(id) = state.user_id {
            user.user_id = Some(id);
        }
        if let Some(channel) = state.channel_id {
            user.channel = channel;
        }
        macro_rules! set {
            ($($field:ident <- $source:ident),*) => {
                $( if let Some(value) = state.$source { user.$field = value; } )*
            };
        }
        set!(mute <- mute, deaf <- deaf, suppress <- suppress, self_mute <- self_mute,
            self_deaf <- self_deaf, priority_speaker <- priority_speaker, recording <- recording);
        if let Some(hash) = state.hash {
            user.cert_hash = Some(hash);
        }
        let (name, channel, self_mute, self_deaf) = (
            user.name.clone(),
            user.channel,
            user.self_mute,
            user.self_deaf,
        );
        let own = Some(session) == self.own_session;
        if self.phase == Phase::Connected {
            if is_new {
                self.events
                    .push_back(SessionEvent::UserJoined { session, name });
            } else if state.channel_id.is_some() && channel != old_channel {
                self.events
                    .push_back(SessionEvent::UserMoved { session, channel });
            }
            if own {
                if state.self_mute.is_some() || state.self_deaf.is_some() {
                    self.events.push_back(SessionEvent::SelfStateChanged {
                        mute: self_mute,
                        deaf: self_deaf,
                    });
                }
                if let Some(id) = state.user_id {
                    self.events.push_back(SessionEvent::Registered(id));
                }
            }
        }
        self.tree_changed();
    }

    fn handle_server_sync(&mut self, sync: super::messages::ServerSync, now: Instant) {
        if self.phase != Phase::LoggingIn {
            return;
        }
        let Some(session) = sync.session else {
            self.close(CloseReason::Protocol(Phrase::tr(
                "mumble-no-session-number",
            )));
            return;
        };
        self.phase = Phase::Connected;
        self.own_session = Some(session);
        self.login_deadline = None;
        self.events.push_back(SessionEvent::Connected {
            session,
            welcome_text: plain_text(sync.welcome_text.as_deref().unwrap_or_default()),
            max_bandwidth: sync.max_bandwidth,
        });
        self.tree_changed();
        if let Some(cap) = sync.max_bandwidth {
            self.apply_bandwidth_cap(cap);
        }
        // Land in the requested channel.
        if !self.config.channel_path.is_empty() {
            match self.find_channel(&self.config.channel_path) {
                Some(id) if Some(id) != self.own_channel() => self.join_channel(id),
                Some(_) => {}
                None => self.events.push_back(SessionEvent::ChannelNotFound(
                    self.config.channel_path.join("/"),
                )),
            }
        }
        if self.self_mute || self.self_deaf {
            self.send_self_state();
        }
        // Pings start now: the first UDP ping also tells the server our UDP address.
        self.send_tcp_ping(now);
        self.next_tcp_ping = Some(now + PING_INTERVAL);
        if self.config.udp && self.crypt.is_some() {
            self.send_udp_ping(now);
            self.next_udp_ping = Some(now + FIRST_UDP_PING_INTERVAL);
        }
    }

    /// The channel at `path` (names below the root): exact names first, then ignoring case.
    pub fn find_channel(&self, path: &[String]) -> Option<u32> {
        let mut current = self
            .channels
            .values()
            .find(|channel| channel.parent.is_none())
            .map_or(0, |root| root.id);
        for name in path {
            let children = || {
                self.channels
                    .values()
                    .filter(move |channel| channel.parent == Some(current))
            };
            current = children()
                .find(|channel| channel.name == *name)
                .or_else(|| children().find(|channel| channel.name.eq_ignore_ascii_case(name)))
                .or_else(|| {
                    children().find(|channel| channel.name.to_lowercase() == name.to_lowercase())
                })?
                .id;
        }
        Some(current)
    }

    fn handle_voice_bytes(&mut self, plain: &[u8], udp: bool, now: Instant) {
        let format = self.voice_format();
        let packet = match VoicePacket::decode(format, Direction::ToClient, plain) {
            Ok(packet) => packet,
            Err(error) => {
                tracing::trace!(%error, udp, "dropped a voice packet");
                if udp {
                    self.stats.udp_rejected += 1;
                }
                return;
            }
        };
        match packet {
            VoicePacket::Audio(audio) => {
                self.stats.voice_packets_received += 1;
                if self.self_deaf {
                    return;
                }
                let Some(session) = audio.session else { return };
                self.events.push_back(SessionEvent::Voice {
                    session,
                    sequence: audio.sequence,
                    opus: audio.payload.into_owned(),
                    terminator: audio.terminator,
                    udp,
                });
            }
            VoicePacket::Ping(ping) => {
                if !udp {
                    return;
                }
                self.last_udp_pong = Some(now);
                if let Some(sent) = self.instant_of(ping.timestamp) {
                    self.udp_rtt = Some(now.saturating_duration_since(sent));
                }
                self.update_udp_state(now);
            }
        }
    }

    fn update_udp_state(&mut self, now: Instant) {
        let active = self.config.udp
            && self
                .last_udp_pong
                .is_some_and(|at| now.saturating_duration_since(at) < UDP_SILENCE_LIMIT);
        if active != self.udp_active {
            self.udp_active = active;
            self.events
                .push_back(SessionEvent::TransportChanged { udp: active });
        }
    }

    fn send_voice_packet(&mut self, packet: &VoicePacket<'_>) -> bool {
        let format = self.voice_format();
        let mut plain = std::mem::take(&mut self.scratch);
        plain.clear();
        if let Err(error) = packet.encode(format, &mut plain) {
            tracing::debug!(%error, "voice packet not sent");
            self.scratch = plain;
            return false;
        }
        let is_ping = matches!(packet, VoicePacket::Ping(_));
        let sent = if (self.udp_active || is_ping) && self.config.udp {
            self.send_udp(&plain)
        } else {
            let frame = ControlMessage::UdpTunnel(plain.clone());
            let before = self.stats.tcp_bytes_sent;
            self.send_control(&frame);
            self.stats.tunnel_packets_sent += 1;
            self.stats.tunnel_bytes_sent += self.stats.tcp_bytes_sent - before;
            true
        };
        self.scratch = plain;
        sent
    }

    fn send_udp(&mut self, plain: &[u8]) -> bool {
        let Some(crypt) = self.crypt.as_mut() else {
            return false;
        };
        let mut datagram = Vec::with_capacity(plain.len() + super::crypt::HEADER_LEN);
        if let Err(error) = crypt.encrypt(plain, &mut datagram) {
            tracing::debug!(%error, "datagram not sent");
            return false;
        }
        self.stats.udp_packets_sent += 1;
        self.stats.udp_bytes_sent += datagram.len() as u64;
        self.transmits.push_back(Transmit::Udp(datagram));
        true
    }

    fn send_udp_ping(&mut self, now: Instant) {
        let packet = VoicePacket::Ping(PingPacket {
            timestamp: self.timestamp(now),
            request_extended_information: false,
            server_info: None,
        });
        self.send_voice_packet(&packet);
    }

    fn send_tcp_ping(&mut self, now: Instant) {
        let crypt = self
            .crypt
            .as_ref()
            .map(CryptState::stats)
            .unwrap_or_default();
        let ms = |rtt: Option<Duration>| rtt.map(|rtt| rtt.as_secs_f32() * 1000.0);
        let ping = Ping {
            timestamp: Some(self.timestamp(now)),
            good: Some(crypt.good),
            late: Some(crypt.late),
            lost: Some(crypt.lost),
            resync: Some(crypt.resync),
            udp_packets: Some(self.stats.udp_packets_received as u32),
            tcp_packets: Some(self.stats.tunnel_packets_received as u32),
            udp_ping_avg: ms(self.udp_rtt),
            udp_ping_var: None,
            tcp_ping_avg: ms(self.tcp_rtt),
            tcp_ping_var: None,
        };
        self.tcp_pings_in_flight += 1;
        self.send_control(&ControlMessage::Ping(ping));
    }

    fn send_self_state(&mut self) {
        let Some(session) = self.own_session else {
            return;
        };
        self.send_control(&ControlMessage::UserState(UserState {
            session: Some(session),
            self_mute: Some(self.self_mute),
            self_deaf: Some(self.self_deaf),
            ..UserState::default()
        }));
    }

    /// Fits the user's bitrate and packet length under the server's cap (brief §1.14, the
    /// official client's `AudioInput::setMaxBandwidth`).
    fn apply_bandwidth_cap(&mut self, cap: u32) {
        self.max_bandwidth = Some(cap);
        let (bitrate, frame_ms) = fit_bandwidth(self.config.bitrate, self.config.frame_ms, cap);
        if (bitrate, frame_ms) != (self.bitrate, self.frame_ms) {
            self.bitrate = bitrate;
            self.frame_ms = frame_ms;
            if (bitrate, frame_ms) != (self.config.bitrate, self.config.frame_ms) {
                self.events.push_back(SessionEvent::BandwidthLimited {
                    cap,
                    bitrate,
                    frame_ms,
                });
            }
        }
    }

    fn denied_sentence(&self, denied: &super::messages::PermissionDenied) -> Phrase {
        let channel = denied
            .channel_id
            .and_then(|id| self.channels.get(&id))
            .map(|channel| channel.name.clone());
        let reason = denied
            .reason
            .as_deref()
            .map(plain_text)
            .filter(|reason| !reason.trim().is_empty());
        let in_channel = |plain: &'static str, named: &'static str| match &channel {
            Some(name) => Phrase::tr_args(named, vec![("channel", name.as_str().into())]),
            None => Phrase::tr(plain),
        };
        match denied.r#type.and_then(|t| DenyType::try_from(t).ok()) {
            Some(DenyType::Permission) => {
                in_channel("mumble-denied-permission", "mumble-denied-permission-in")
            }
            Some(DenyType::ChannelFull) => {
                in_channel("mumble-denied-full", "mumble-denied-full-in")
            }
            Some(DenyType::TextTooLong) => Phrase::tr("mumble-denied-too-long"),
            Some(DenyType::MissingCertificate) => Phrase::tr("mumble-denied-no-certificate"),
            Some(DenyType::UserName) => Phrase::tr("mumble-denied-user-name"),
            Some(DenyType::TemporaryChannel) => Phrase::tr("mumble-denied-temporary"),
            Some(DenyType::SuperUser) => Phrase::tr("mumble-denied-superuser"),
            Some(DenyType::H9k) => Phrase::tr("mumble-denied-repeat"),
            _ => match reason {
                Some(reason) => {
                    Phrase::tr_args("mumble-denied-reason", vec![("reason", reason.into())])
                }
                None => Phrase::tr("mumble-denied"),
            },
        }
    }

    fn send_control(&mut self, message: &ControlMessage) {
        if self.phase == Phase::Closed {
            return;
        }
        let mut bytes = Vec::new();
        match control::encode(message, &mut bytes) {
            Ok(()) => {
                self.stats.tcp_bytes_sent += bytes.len() as u64;
                self.transmits.push_back(Transmit::Tcp(bytes));
            }
            Err(error) => tracing::warn!(%error, "a control message was not sent"),
        }
    }

    fn close(&mut self, reason: CloseReason) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.next_tcp_ping = None;
        self.next_udp_ping = None;
        self.events.push_back(SessionEvent::Closed(reason));
    }

    fn tree_changed(&mut self) {
        if self.phase == Phase::Connected && self.events.back() != Some(&SessionEvent::TreeChanged)
        {
            self.events.push_back(SessionEvent::TreeChanged);
        }
    }

    /// Milliseconds since `start`, the opaque ping timestamp.
    fn timestamp(&self, now: Instant) -> u64 {
        self.epoch.map_or(0, |epoch| {
            now.saturating_duration_since(epoch).as_millis() as u64
        })
    }

    fn instant_of(&self, timestamp: u64) -> Option<Instant> {
        self.epoch?.checked_add(Duration::from_millis(timestamp))
    }
}

/// Channel names from the root's child down to `channel`, with `lookup` finding a channel by id
/// among `count` channels. Bounded by `count`, so a parent cycle sent by a hostile server ends.
pub fn channel_path<'a>(
    channel: u32,
    count: usize,
    lookup: impl Fn(u32) -> Option<&'a Channel>,
) -> Vec<String> {
    let mut path = Vec::new();
    let mut current = lookup(channel);
    for _ in 0..=count {
        let Some(node) = current else { break };
        let Some(parent) = node.parent else { break };
        path.push(node.name.clone());
        current = lookup(parent);
    }
    path.reverse();
    path
}

/// The bandwidth a voice stream takes on the wire by the official client's formula (brief §2):
/// bitrate plus, per packet, IPv4 + UDP + crypt header + type byte + sequence + one byte per
/// 10 ms frame.
pub fn network_bandwidth(bitrate: u32, frame_ms: u32) -> u32 {
    let frames = (frame_ms / 10).max(1);
    let overhead = 20 + 8 + 4 + 1 + 2 + frames;
    bitrate + overhead * (800 / frames)
}

/// Bitrate and packet length that fit `cap` (bit/s), starting from the user's choice (brief
/// §1.14): longer packets first, then lower bitrates by 1000 bit/s down to 8000.
pub fn fit_bandwidth(bitrate: u32, frame_ms: u32, cap: u32) -> (u32, u32) {
    let mut frames = (frame_ms / 10).max(1);
    let mut bitrate = bitrate;
    if network_bandwidth(bitrate, frames * 10) > cap {
        if frames <= 4 && cap <= 32_000 {
            frames = 4;
        } else if frames == 1 && cap <= 64_000 {
            frames = 2;
        } else if frames == 2 && cap <= 48_000 {
            frames = 4;
        }
        while bitrate > 8_000 && network_bandwidth(bitrate, frames * 10) > cap {
            bitrate -= 1_000;
        }
    }
    (bitrate, frames * 10)
}

/// Mumble text is HTML; this keeps the words: tags dropped (`<br>` and `</p>` become line
/// breaks), the common entities decoded, surrounding space trimmed.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find('>') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let tag = after[1..end].trim().to_ascii_lowercase();
        if tag.starts_with("br") || tag == "/p" || tag == "/div" {
            out.push('\n');
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded.trim().to_owned()
}

/// Escapes the characters HTML gives meaning to, so a message is shown as typed.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

fn protocol_phrase(error: &ControlError) -> Phrase {
    Phrase::tr_args(
        "mumble-protocol-error",
        vec![("reason", error.to_string().into())],
    )
}

#[cfg(test)]
mod tests;
