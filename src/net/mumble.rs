//! The Mumble driver: a thread running a small tokio loop that owns the TLS stream, the UDP
//! socket and the timers of one server connection, and feeds the sans-IO
//! [`Session`](crate::proto::mumble::session::Session).
//!
//! The caller (the headless call, later the window's engine) talks to it through a
//! [`MumbleHandle`]: commands in (voice packets, text, moves, mute), events out on a plain
//! `std::sync::mpsc` channel so the caller needs no async runtime. A `wake` callback is called
//! after events are queued (the window uses it to request a repaint). A caller that plays the
//! other users' voice may give a [`VoiceSink`] instead: the driver then hands each voice packet
//! to it on its own thread, and no event (and no wake-up of the caller's thread) is spent on it.
//!
//! Reconnection: once a connection has reached the server, losing it (server gone, network
//! down, pings unanswered) starts a new attempt after 1, 2, 4, 8, then every 15 s, into the
//! channel the user was in, with the same mute state. A refused login, a kick, a changed
//! certificate or the user leaving end the driver instead. A first connection that fails is
//! reported at once (the user is waiting for an answer).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::i18n::Phrase;
use crate::identity::Identity;
use crate::net::probe::Probe;
use crate::net::trust::{self, KnownServers, Trust};
use crate::proto::mumble::session::{
    Channel, CloseReason, Session, SessionConfig, SessionEvent, TextTarget, TrafficStats, Transmit,
    User,
};

/// How long the TCP connection and the TLS handshake may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Delays before reconnection attempts; the last one repeats.
const BACKOFF: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
];
/// How often traffic counters are reported while connected.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct MumbleOptions {
    /// Server host name or address.
    pub host: String,
    /// Server port (64738 by default).
    pub port: u16,
    /// Login, landing channel, codec choice.
    pub session: SessionConfig,
    /// The client certificate to present (the user's identity), if any.
    pub identity: Option<Identity>,
    /// Where remembered server certificates are kept; `None` remembers nothing.
    pub config_dir: Option<PathBuf>,
    /// Accept a server certificate that differs from the remembered one.
    pub accept_new_certificate: bool,
    /// Reconnect after a lost connection.
    pub reconnect: bool,
}

/// One voice packet from another user, as a [`VoiceSink`] gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedVoice {
    /// Sender session.
    pub session: u32,
    /// Index of the first 10 ms frame.
    pub sequence: u64,
    /// One Opus packet.
    pub opus: Vec<u8>,
}

/// Takes the other users' voice on the driver's thread, in place of
/// [`SessionEvent::Voice`] events; called for each packet, it must not block.
pub type VoiceSink = Box<dyn FnMut(ReceivedVoice) + Send>;

/// What the caller asks of the connection.
#[derive(Debug, Clone)]
pub enum MumbleCommand {
    /// One Opus packet to send; `sequence` is the index of its first 10 ms frame.
    Audio {
        /// Opus bytes.
        opus: Vec<u8>,
        /// First 10 ms frame index.
        sequence: u64,
        /// Last packet of the talk spurt.
        terminator: bool,
    },
    /// A text message.
    Text(TextTarget, String),
    /// Move into a channel.
    JoinChannel(u32),
    /// Self-mute on or off.
    SelfMute(bool),
    /// Self-deafen on or off.
    SelfDeaf(bool),
    /// Register our name with our certificate.
    Register,
    /// Leave the server and stop.
    Leave,
}

/// The channel tree and users, as a copy the caller can keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    /// Channels by id order.
    pub channels: Vec<Channel>,
    /// Users by session order.
    pub users: Vec<User>,
    /// Our session.
    pub own_session: Option<u32>,
}

/// What the driver reports.
#[derive(Debug, Clone)]
pub enum MumbleEvent {
    /// A step of connecting, for the user.
    Stage(Phrase),
    /// How the server's certificate was judged.
    Certificate(Phrase),
    /// Something the session reported.
    Session(SessionEvent),
    /// The tree after a change.
    Tree(Tree),
    /// Traffic so far (all connections of this driver), every second while connected.
    Traffic(TrafficStats),
    /// The connection was lost; a new attempt starts after `delay`.
    Reconnecting {
        /// Attempt number, from 1.
        attempt: u32,
        /// Wait before it.
        delay: Duration,
        /// Why the last connection ended.
        reason: Phrase,
    },
    /// The driver stopped.
    Finished {
        /// Why.
        reason: CloseReason,
        /// Traffic of all connections.
        traffic: TrafficStats,
    },
}

/// The caller's end of a running driver.
pub struct MumbleHandle {
    commands: mpsc::UnboundedSender<MumbleCommand>,
    /// Events, in order. Disconnected once the driver has stopped and all were read.
    pub events: std_mpsc::Receiver<MumbleEvent>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MumbleHandle {
    /// Sends a command; ignored once the driver has stopped.
    pub fn send(&self, command: MumbleCommand) {
        self.commands.send(command).ok();
    }

    /// [`Self::send`] for another thread (the audio engine hands its packets this way); never
    /// blocks.
    pub fn sender(&self) -> impl Fn(MumbleCommand) + Send + Sync + 'static {
        let commands = self.commands.clone();
        move |command| {
            commands.send(command).ok();
        }
    }

    /// Asks the driver to leave and waits for its thread.
    pub fn leave(mut self) {
        self.send(MumbleCommand::Leave);
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

impl Drop for MumbleHandle {
    fn drop(&mut self) {
        self.commands.send(MumbleCommand::Leave).ok();
    }
}

/// Starts the driver on its own thread. `wake` is called after events were queued; with a
/// `voice` sink, voice packets go to it rather than out as events.
pub fn spawn(
    options: MumbleOptions,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
    voice: Option<VoiceSink>,
) -> std::io::Result<MumbleHandle> {
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = std_mpsc::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("palabre-mumble".to_owned())
        .spawn(move || {
            let mut driver = Driver {
                options,
                commands: command_rx,
                events: event_tx,
                wake,
                voice,
                traffic_before: TrafficStats::default(),
            };
            runtime.block_on(driver.run());
        })?;
    Ok(MumbleHandle {
        commands: command_tx,
        events: event_rx,
        thread: Some(thread),
    })
}

struct Driver {
    options: MumbleOptions,
    commands: mpsc::UnboundedReceiver<MumbleCommand>,
    events: std_mpsc::Sender<MumbleEvent>,
    wake: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Where voice packets go, if not out as events.
    voice: Option<VoiceSink>,
    /// Traffic of the connections already closed.
    traffic_before: TrafficStats,
}

/// How one connection attempt ended.
struct Ending {
    reason: CloseReason,
    /// It reached the logged-in state.
    was_connected: bool,
}

impl Driver {
    fn emit(&self, event: MumbleEvent) {
        self.events.send(event).ok();
        if let Some(wake) = &self.wake {
            wake();
        }
    }

    async fn run(&mut self) {
        let mut ever_connected = false;
        let mut attempt = 0u32;
        loop {
            let ending = self.connect_once().await;
            ever_connected |= ending.was_connected;
            if ending.was_connected {
                attempt = 0;
            }
            let retry = self.options.reconnect && ever_connected && ending.reason.is_retryable();
            if !retry {
                let traffic = self.traffic_before;
                self.emit(MumbleEvent::Finished {
                    reason: ending.reason,
                    traffic,
                });
                return;
            }
            let delay = BACKOFF[(attempt as usize).min(BACKOFF.len() - 1)];
            attempt += 1;
            self.emit(MumbleEvent::Reconnecting {
                attempt,
                delay,
                reason: ending.reason.phrase(),
            });
            if self.wait_or_leave(delay).await {
                let traffic = self.traffic_before;
                self.emit(MumbleEvent::Finished {
                    reason: CloseReason::Left,
                    traffic,
                });
                return;
            }
        }
    }

    /// Waits `delay`, dropping commands that need a connection; `true` if the user left.
    async fn wait_or_leave(&mut self, delay: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return false,
                command = self.commands.recv() => match command {
                    None | Some(MumbleCommand::Leave) => return true,
                    Some(MumbleCommand::SelfMute(mute)) => {
                        self.options.session.self_mute = mute;
                        if !mute { self.options.session.self_deaf = false; }
                    }
                    Some(MumbleCommand::SelfDeaf(deaf)) => {
                        self.options.session.self_deaf = deaf;
                        if deaf { self.options.session.self_mute = true; }
                    }
                    Some(_) => {}
                },
            }
        }
    }

    async fn connect_once(&mut self) -> Ending {
        let host = self.options.host.clone();
        let port = self.options.port;
        let server = trust::server_key(&host, port);
        let lost = |phrase: Phrase| Ending {
            reason: CloseReason::Lost(phrase),
            was_connected: false,
        };
        self.emit(MumbleEvent::Stage(Phrase::tr_args(
            "mumble-connecting",
            vec![("server", server.as_str().into())],
        )));

        // Addresses, then TCP.
        let addresses: Vec<SocketAddr> =
            match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((&*host, port)))
                .await
            {
                Ok(Ok(addresses)) => addresses.collect(),
                Ok(Err(error)) => {
                    return lost(Phrase::tr_args(
                        "mumble-name-not-found",
                        vec![
                            ("host", host.as_str().into()),
                            ("reason", error.to_string().into()),
                        ],
                    ));
                }
                Err(_) => {
                    return lost(Phrase::tr_args(
                        "mumble-name-lookup-timeout",
                        vec![("host", host.as_str().into())],
                    ));
                }
            };
        let mut tcp = None;
        let mut last_error = String::from("no address");
        for address in &addresses {
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    tcp = Some((stream, *address));
                    break;
                }
                Ok(Err(error)) => last_error = error.to_string(),
                Err(_) => last_error = "timed out".to_owned(),
            }
        }
        let Some((tcp, address)) = tcp else {
            return lost(Phrase::tr_args(
                "mumble-unreachable",
                vec![
                    ("server", server.as_str().into()),
                    ("reason", last_error.into()),
                ],
            ));
        };
        tcp.set_nodelay(true).ok();

        // TLS, judging the certificate.
        let (mut known, warning) = match &self.options.config_dir {
            Some(dir) => KnownServers::load(dir),
            None => (KnownServers::new(), None),
        };
        if let Some(warning) = warning {
            tracing::warn!("{warning}");
        }
        let (tls_config, probe) = match trust::mumble_client_config(
            &host,
            port,
            self.options.identity.as_ref(),
            &known,
            self.options.accept_new_certificate,
        ) {
            Ok(setup) => setup,
            Err(error) => {
                return Ending {
                    reason: CloseReason::Untrusted(Phrase::tr_args(
                        "mumble-tls-not-prepared",
                        vec![
                            ("server", server.as_str().into()),
                            ("reason", error.to_string().into()),
                        ],
                    )),
                    was_connected: false,
                };
            }
        };
        let name = match trust::server_name(&host) {
            Ok(name) => name,
            Err(error) => return lost(Phrase::Text(format!("{error}."))),
        };
        let connector = tokio_rustls::TlsConnector::from(tls_config);
        let tls = match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                if let Some(Trust::Changed { .. }) = probe.trust() {
                    return Ending {
                        reason: CloseReason::CertificateChanged(probe.phrase().unwrap_or_default()),
                        was_connected: false,
                    };
                }
                // murmurd drops new connections without a word when it is full: its public
                // server query tells.
                let (query_host, query_port) = (address.ip().to_string(), address.port());
                let probe = tokio::task::spawn_blocking(move || {
                    crate::net::probe::mumble(&query_host, query_port)
                })
                .await;
                if let Ok(Probe::Up {
                    users: Some((users, max_users)),
                    ..
                }) = probe
                    && max_users > 0
                    && users >= max_users
                {
                    return Ending {
                        reason: CloseReason::Rejected(Phrase::tr_args(
                            "mumble-server-full-count",
                            vec![("users", users.into()), ("max", max_users.into())],
                        )),
                        was_connected: false,
                    };
                }
                return lost(Phrase::tr_args(
                    "mumble-tls-failed",
                    vec![
                        ("server", server.as_str().into()),
                        ("reason", error.to_string().into()),
                    ],
                ));
            }
            Err(_) => {
                return lost(Phrase::tr_args(
                    "mumble-tls-timeout",
                    vec![("server", server.as_str().into())],
                ));
            }
        };
        if let Some(trust) = probe.trust() {
            if known.record(&host, port, &trust)
                && let Some(dir) = &self.options.config_dir
                && let Err(error) = known.save(dir)
            {
                tracing::warn!("the server's certificate could not be remembered: {error}");
            }
            self.emit(MumbleEvent::Certificate(trust.phrase(&server)));
        }

        // UDP, connected to the server's address so only its datagrams arrive.
        let udp = if self.options.session.udp {
            let bind: SocketAddr = if address.is_ipv4() {
                (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            match UdpSocket::bind(bind).await {
                Ok(socket) => match socket.connect(address).await {
                    Ok(()) => Some(socket),
                    Err(error) => {
                        tracing::warn!(%error, "no UDP; voice goes through TCP");
                        None
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "no UDP; voice goes through TCP");
                    None
                }
            }
        } else {
            None
        };
        let mut config = self.options.session.clone();
        config.udp = udp.is_some();
        self.emit(MumbleEvent::Stage(Phrase::tr_args(
            "mumble-logging-in",
            vec![
                ("server", server.as_str().into()),
                ("name", config.username.as_str().into()),
            ],
        )));
        self.run_session(Session::new(config), tls, udp).await
    }

    async fn run_session(
        &mut self,
        mut session: Session,
        tls: tokio_rustls::client::TlsStream<TcpStream>,
        udp: Option<UdpSocket>,
    ) -> Ending {
        let (mut reader, mut writer) = tokio::io::split(tls);
        let mut read_buf = vec![0u8; 16 * 1024];
        let mut udp_buf = vec![0u8; 2048];
        let start = Instant::now();
        session.start(start);
        let mut next_stats = tokio::time::Instant::now() + STATS_INTERVAL;
        let mut was_connected = false;
        loop {
            // Write what the session produced, report what happened.
            let mut out = Vec::new();
            while let Some(transmit) = session.poll_transmit() {
                match transmit {
                    Transmit::Tcp(bytes) => out.extend_from_slice(&bytes),
                    Transmit::Udp(datagram) => {
                        if let Some(socket) = &udp {
                            // A datagram that cannot be sent is a lost packet; UDP pings
                            // notice and the session falls back to TCP.
                            if let Err(error) = socket.send(&datagram).await {
                                tracing::trace!(%error, "UDP send failed");
                            }
                        }
                    }
                }
            }
            if !out.is_empty()
                && let Err(error) = writer.write_all(&out).await
            {
                session.handle_tcp_closed(&error.to_string());
            }
            let mut closed = None;
            while let Some(event) = session.poll_event() {
                let event = match (event, self.voice.as_mut()) {
                    (
                        SessionEvent::Voice {
                            session: from,
                            sequence,
                            opus,
                            ..
                        },
                        Some(voice),
                    ) => {
                        voice(ReceivedVoice {
                            session: from,
                            sequence,
                            opus,
                        });
                        continue;
                    }
                    (event, _) => event,
                };
                match &event {
                    SessionEvent::Connected { .. } => {
                        was_connected = true;
                        self.emit(MumbleEvent::Stage(Phrase::tr("mumble-connected")));
                    }
                    SessionEvent::TreeChanged => {
                        self.emit(MumbleEvent::Tree(tree_of(&session)));
                    }
                    SessionEvent::UserMoved { session: who, .. }
                        if Some(*who) == session.own_session() =>
                    {
                        // Come back here after a reconnection.
                        if let Some(channel) = session.own_channel() {
                            self.options.session.channel_path = session.channel_path(channel);
                        }
                    }
                    SessionEvent::SelfStateChanged { mute, deaf } => {
                        self.options.session.self_mute = *mute;
                        self.options.session.self_deaf = *deaf;
                    }
                    SessionEvent::Closed(reason) => closed = Some(reason.clone()),
                    _ => {}
                }
                self.emit(MumbleEvent::Session(event));
            }
            if let Some(reason) = closed {
                // Best effort: a polite TLS close, bounded in time.
                let _ = tokio::time::timeout(Duration::from_millis(500), writer.shutdown()).await;
                self.add_traffic(session.stats());
                return Ending {
                    reason,
                    was_connected,
                };
            }

            let timeout = session
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            let udp_recv = async {
                match &udp {
                    Some(socket) => socket.recv(&mut udp_buf).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = reader.read(&mut read_buf) => match read {
                    Ok(0) => session.handle_tcp_closed("the server closed it"),
                    Ok(n) => session.handle_tcp(&read_buf[..n], Instant::now()),
                    Err(error) => session.handle_tcp_closed(&error.to_string()),
                },
                received = udp_recv => match received {
                    Ok(n) => session.handle_udp(&udp_buf[..n], Instant::now()),
                    // ICMP "port unreachable" and the like: UDP pings will tell.
                    Err(error) => tracing::trace!(%error, "UDP receive failed"),
                },
                () = tokio::time::sleep_until(timeout) => session.handle_timeout(Instant::now()),
                () = tokio::time::sleep_until(next_stats) => {
                    next_stats += STATS_INTERVAL;
                    if session.is_connected() {
                        let traffic = self.traffic_before + session.stats();
                        self.emit(MumbleEvent::Traffic(traffic));
                    }
                }
                command = self.commands.recv() => match command {
                    None | Some(MumbleCommand::Leave) => session.leave(),
                    Some(MumbleCommand::Audio { opus, sequence, terminator }) => {
                        session.send_audio(&opus, sequence, terminator, false);
                    }
                    Some(MumbleCommand::Text(target, text)) => {
                        if let Err(error) = session.send_text(target, &text) {
                            self.emit(MumbleEvent::Session(SessionEvent::Denied(error)));
                        }
                    }
                    Some(MumbleCommand::JoinChannel(id)) => session.join_channel(id),
                    Some(MumbleCommand::SelfMute(mute)) => session.set_self_mute(mute),
                    Some(MumbleCommand::SelfDeaf(deaf)) => session.set_self_deaf(deaf),
                    Some(MumbleCommand::Register) => session.register_self(),
                },
            }
        }
    }

    fn add_traffic(&mut self, stats: TrafficStats) {
        self.traffic_before = self.traffic_before + stats;
    }
}

fn tree_of(session: &Session) -> Tree {
    Tree {
        channels: session.channels().values().cloned().collect(),
        users: session.users().values().cloned().collect(),
        own_session: session.own_session(),
    }
}
