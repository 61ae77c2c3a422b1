//! The session driven byte for byte: a scripted server writes real control frames and
//! encrypted datagrams; every transmit is decoded and checked.

use super::*;
use crate::proto::mumble::messages::{
    ChannelRemove, CodecVersion, PermissionDenied, Reject, ServerConfig, ServerSync, UserRemove,
    reject::RejectType,
};

const KEY: [u8; 16] = [7; 16];
const CLIENT_NONCE: [u8; 16] = [1; 16];
const SERVER_NONCE: [u8; 16] = [2; 16];
const OWN: u32 = 5;
const OTHER: u32 = 9;

fn config() -> SessionConfig {
    SessionConfig {
        username: "alice".to_owned(),
        password: Some("s3cret".to_owned()),
        tokens: Vec::new(),
        channel_path: vec!["lobby".to_owned(), "Sub".to_owned()],
        self_mute: false,
        self_deaf: false,
        udp: true,
        version: ANNOUNCED_VERSION,
        release: "palabre test".to_owned(),
        os: "Linux".to_owned(),
        bitrate: 40_000,
        frame_ms: 20,
    }
}

/// The server side of the test: encodes frames, decodes what the client wrote, and holds the
/// server's half of the crypt state.
struct Server {
    crypt: CryptState,
    version: VersionNumber,
}

impl Server {
    fn new(version: VersionNumber) -> Self {
        Self {
            crypt: CryptState::new(KEY, SERVER_NONCE, CLIENT_NONCE),
            version,
        }
    }

    fn frame(message: ControlMessage) -> Vec<u8> {
        let mut out = Vec::new();
        control::encode(&message, &mut out).expect("test messages encode");
        out
    }

    fn format(&self) -> UdpFormat {
        udp_format(ANNOUNCED_VERSION.to_v2(), self.version.to_v2())
    }

    fn datagram(&mut self, packet: &VoicePacket<'_>) -> Vec<u8> {
        let mut plain = Vec::new();
        packet.encode(self.format(), &mut plain).expect("encodes");
        let mut out = Vec::new();
        self.crypt.encrypt(&plain, &mut out).expect("encrypts");
        out
    }

    /// The login sequence murmurd sends (brief §1.4, as observed on the wire).
    fn login(&self) -> Vec<u8> {
        let mut version = Version {
            release: Some("1.3.4".to_owned()),
            ..Version::default()
        };
        version.set_number(self.version);
        let channel = |id: u32, parent: Option<u32>, name: &str| {
            ControlMessage::ChannelState(ChannelState {
                channel_id: Some(id),
                parent,
                name: Some(name.to_owned()),
                ..ChannelState::default()
            })
        };
        let user = |session: u32, name: &str| {
            ControlMessage::UserState(UserState {
                session: Some(session),
                name: Some(name.to_owned()),
                channel_id: Some(0),
                ..UserState::default()
            })
        };
        let messages = vec![
            ControlMessage::Version(version),
            ControlMessage::CryptSetup(CryptSetup {
                key: Some(KEY.to_vec()),
                client_nonce: Some(CLIENT_NONCE.to_vec()),
                server_nonce: Some(SERVER_NONCE.to_vec()),
            }),
            ControlMessage::CodecVersion(CodecVersion {
                alpha: -2147483637,
                beta: 0,
                prefer_alpha: true,
                opus: Some(true),
            }),
            channel(0, None, "Root"),
            channel(1, Some(0), "Lobby"),
            channel(2, Some(1), "Sub"),
            user(OWN, "alice"),
            user(OTHER, "bob"),
            ControlMessage::ServerSync(ServerSync {
                session: Some(OWN),
                max_bandwidth: Some(72_000),
                welcome_text: Some("<b>Welcome</b> to &lt;here&gt;".to_owned()),
                permissions: None,
            }),
            ControlMessage::ServerConfig(ServerConfig {
                allow_html: Some(true),
                message_length: Some(5000),
                ..ServerConfig::default()
            }),
        ];
        messages.into_iter().flat_map(Self::frame).collect()
    }
}

fn v134() -> VersionNumber {
    VersionNumber {
        major: 1,
        minor: 3,
        patch: 4,
    }
}

fn drain_events(session: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

fn drain_tcp(session: &mut Session) -> Vec<ControlMessage> {
    let mut decoder = FrameDecoder::new();
    let mut udp = Vec::new();
    while let Some(transmit) = session.poll_transmit() {
        match transmit {
            Transmit::Tcp(bytes) => decoder.push(&bytes),
            Transmit::Udp(bytes) => udp.push(bytes),
        }
    }
    assert!(udp.is_empty(), "unexpected datagrams: {udp:?}");
    std::iter::from_fn(|| decoder.next_message().expect("client frames decode")).collect()
}

/// Splits transmits into decoded control messages and raw datagrams.
fn drain(session: &mut Session) -> (Vec<ControlMessage>, Vec<Vec<u8>>) {
    let mut decoder = FrameDecoder::new();
    let mut udp = Vec::new();
    while let Some(transmit) = session.poll_transmit() {
        match transmit {
            Transmit::Tcp(bytes) => decoder.push(&bytes),
            Transmit::Udp(bytes) => udp.push(bytes),
        }
    }
    let tcp = std::iter::from_fn(|| decoder.next_message().expect("client frames decode"));
    (tcp.collect(), udp)
}

/// A session logged in to a scripted server, transmits and events drained.
fn connected(version: VersionNumber, config: SessionConfig) -> (Session, Server, Instant) {
    let now = Instant::now();
    let mut session = Session::new(config);
    let server = Server::new(version);
    session.start(now);
    session.handle_tcp(&server.login(), now);
    assert!(session.is_connected());
    drain(&mut session);
    drain_events(&mut session);
    (session, server, now)
}

#[test]
fn start_sends_version_then_authenticate() {
    let mut session = Session::new(config());
    session.start(Instant::now());
    let messages = drain_tcp(&mut session);
    let [
        ControlMessage::Version(version),
        ControlMessage::Authenticate(auth),
    ] = messages.as_slice()
    else {
        panic!("expected Version then Authenticate, got {messages:?}");
    };
    assert_eq!(version.number(), Some(ANNOUNCED_VERSION));
    assert_eq!(version.version_v1, Some(0x0001_0500));
    assert_eq!(version.version_v2, Some(0x0001_0005_0000_0000));
    assert_eq!(auth.username.as_deref(), Some("alice"));
    assert_eq!(auth.password.as_deref(), Some("s3cret"));
    assert_eq!(auth.opus, Some(true));
}

#[test]
fn login_builds_the_tree_lands_in_the_channel_and_starts_pinging() {
    let now = Instant::now();
    let mut session = Session::new(config());
    let mut server = Server::new(v134());
    session.start(now);
    drain(&mut session);
    // Delivered in awkward pieces, as TCP may.
    let login = server.login();
    for chunk in login.chunks(7) {
        session.handle_tcp(chunk, now);
    }
    let events = drain_events(&mut session);
    assert!(events.contains(&SessionEvent::ServerVersion {
        release: "1.3.4".to_owned(),
        version: v134()
    }));
    assert!(events.contains(&SessionEvent::Connected {
        session: OWN,
        welcome_text: "Welcome to <here>".to_owned(),
        max_bandwidth: Some(72_000),
    }));
    assert_eq!(session.channels().len(), 3);
    assert_eq!(session.users()[&OTHER].name, "bob");
    assert_eq!(session.channel_path(2), vec!["Lobby", "Sub"]);
    assert_eq!(session.voice_format(), UdpFormat::Legacy);

    let (tcp, udp) = drain(&mut session);
    // "lobby" matched "Lobby" ignoring case; the move request is the first thing sent.
    assert!(
        matches!(&tcp[0], ControlMessage::UserState(state)
            if state.session == Some(OWN) && state.channel_id == Some(2)),
        "{tcp:?}"
    );
    assert!(matches!(&tcp[1], ControlMessage::Ping(ping) if ping.timestamp == Some(0)));
    // The first UDP ping, which the server can decrypt and parse.
    assert_eq!(udp.len(), 1);
    let mut plain = Vec::new();
    server.crypt.decrypt(&udp[0], &mut plain).expect("decrypts");
    assert!(matches!(
        VoicePacket::decode(UdpFormat::Legacy, Direction::ToServer, &plain),
        Ok(VoicePacket::Ping(PingPacket { timestamp: 0, .. }))
    ));
    // The server confirms the move.
    session.handle_tcp(
        &Server::frame(ControlMessage::UserState(UserState {
            session: Some(OWN),
            channel_id: Some(2),
            ..UserState::default()
        })),
        now,
    );
    assert!(
        drain_events(&mut session).contains(&SessionEvent::UserMoved {
            session: OWN,
            channel: 2
        })
    );
    assert_eq!(session.own_channel(), Some(2));
}

#[test]
fn a_missing_channel_is_reported_and_nothing_is_requested() {
    let now = Instant::now();
    let mut session = Session::new(SessionConfig {
        channel_path: vec!["Nowhere".to_owned()],
        ..config()
    });
    session.start(now);
    drain(&mut session);
    session.handle_tcp(&Server::new(v134()).login(), now);
    assert!(
        drain_events(&mut session).contains(&SessionEvent::ChannelNotFound("Nowhere".to_owned()))
    );
    let (tcp, _) = drain(&mut session);
    assert!(
        !tcp.iter()
            .any(|m| matches!(m, ControlMessage::UserState(_)))
    );
}

#[test]
fn voice_uses_the_tunnel_until_udp_answers_and_goes_back_when_it_stops() {
    let (mut session, mut server, now) = connected(v134(), config());
    session.send_audio(&[0xAB; 40], 0, false, false);
    let (tcp, udp) = drain(&mut session);
    assert!(udp.is_empty());
    let [ControlMessage::UdpTunnel(packet)] = tcp.as_slice() else {
        panic!("expected one tunnelled packet, got {tcp:?}");
    };
    let VoicePacket::Audio(audio) =
        VoicePacket::decode(UdpFormat::Legacy, Direction::ToServer, packet).expect("decodes")
    else {
        panic!("audio expected");
    };
    assert_eq!(
        (audio.target, audio.sequence, audio.payload.len()),
        (0, 0, 40)
    );
    assert_eq!(session.stats().tunnel_packets_sent, 1);

    // The server echoes a UDP ping: voice moves to UDP.
    let pong = server.datagram(&VoicePacket::Ping(PingPacket {
        timestamp: 0,
        request_extended_information: false,
        server_info: None,
    }));
    let later = now + Duration::from_millis(30);
    session.handle_udp(&pong, later);
    assert!(session.udp_active());
    assert!(drain_events(&mut session).contains(&SessionEvent::TransportChanged { udp: true }));
    session.send_audio(&[0xCD; 40], 2, true, false);
    let (tcp, udp) = drain(&mut session);
    assert!(tcp.is_empty(), "{tcp:?}");
    assert_eq!(udp.len(), 1);
    let mut plain = Vec::new();
    server.crypt.decrypt(&udp[0], &mut plain).expect("decrypts");
    let VoicePacket::Audio(audio) =
        VoicePacket::decode(UdpFormat::Legacy, Direction::ToServer, &plain).expect("decodes")
    else {
        panic!("audio expected");
    };
    assert_eq!((audio.sequence, audio.terminator), (2, true));

    // No pong for the limit: back to the tunnel, and the user is told.
    let silent = later + UDP_SILENCE_LIMIT;
    session.handle_timeout(silent);
    assert!(!session.udp_active());
    assert!(drain_events(&mut session).contains(&SessionEvent::TransportChanged { udp: false }));
    drain(&mut session);
    session.send_audio(&[1; 10], 4, false, false);
    let (tcp, _) = drain(&mut session);
    assert!(matches!(tcp.as_slice(), [ControlMessage::UdpTunnel(_)]));
}

#[test]
fn with_udp_off_everything_goes_through_the_tunnel() {
    let (mut session, _server, now) = connected(
        v134(),
        SessionConfig {
            udp: false,
            ..config()
        },
    );
    session.handle_timeout(now + PING_INTERVAL);
    session.send_audio(&[1; 10], 0, false, false);
    let (tcp, udp) = drain(&mut session);
    assert!(udp.is_empty());
    assert!(
        tcp.iter()
            .any(|m| matches!(m, ControlMessage::UdpTunnel(_)))
    );
}

#[test]
fn voice_from_others_arrives_by_udp_and_by_tunnel() {
    let (mut session, mut server, now) = connected(v134(), config());
    let audio = |sequence| {
        VoicePacket::Audio(AudioPacket {
            target: 0,
            session: Some(OTHER),
            sequence,
            payload: vec![9u8; 30].into(),
            terminator: false,
            positional: None,
            volume_adjustment: None,
        })
    };
    let datagram = server.datagram(&audio(10));
    session.handle_udp(&datagram, now);
    let mut tunnelled = Vec::new();
    audio(12)
        .encode(UdpFormat::Legacy, &mut tunnelled)
        .expect("encodes");
    session.handle_tcp(&Server::frame(ControlMessage::UdpTunnel(tunnelled)), now);
    let voice: Vec<_> = drain_events(&mut session)
        .into_iter()
        .filter_map(|event| match event {
            SessionEvent::Voice {
                session,
                sequence,
                opus,
                udp,
                ..
            } => Some((session, sequence, opus.len(), udp)),
            _ => None,
        })
        .collect();
    assert_eq!(voice, vec![(OTHER, 10, 30, true), (OTHER, 12, 30, false)]);
    let stats = session.stats();
    assert_eq!(stats.voice_packets_received, 2);
    assert_eq!(stats.udp_packets_received, 1);
    assert_eq!(stats.tunnel_packets_received, 1);
}

#[test]
fn a_1_5_server_gets_protobuf_voice() {
    let v150 = ANNOUNCED_VERSION;
    let (mut session, mut server, _now) = connected(v150, config());
    assert_eq!(session.voice_format(), UdpFormat::Protobuf);
    session.send_audio(&[5; 20], 6, false, false);
    let (tcp, _) = drain(&mut session);
    let [ControlMessage::UdpTunnel(packet)] = tcp.as_slice() else {
        panic!("{tcp:?}");
    };
    assert_eq!(packet[0], 0, "protobuf audio type byte");
    assert!(matches!(
        VoicePacket::decode(UdpFormat::Protobuf, Direction::ToServer, packet),
        Ok(VoicePacket::Audio(AudioPacket { sequence: 6, .. }))
    ));
    // And protobuf from the server decodes.
    let pong = server.datagram(&VoicePacket::Ping(PingPacket {
        timestamp: 0,
        request_extended_information: false,
        server_info: None,
    }));
    session.handle_udp(&pong, Instant::now());
    assert!(session.udp_active());
}

#[test]
fn self_mute_sends_no_voice_and_tells_the_server() {
    let (mut session, _server, now) = connected(v134(), config());
    session.set_self_mute(true);
    let tcp = drain_tcp(&mut session);
    assert!(matches!(tcp.as_slice(), [ControlMessage::UserState(state)]
        if state.self_mute == Some(true) && state.self_deaf == Some(false)));
    for sequence in 0..10 {
        session.send_audio(&[1; 10], sequence * 2, false, false);
    }
    assert!(session.poll_transmit().is_none());
    assert_eq!(session.stats().voice_packets_sent, 0);
    // The server's confirmation becomes an event.
    session.handle_tcp(
        &Server::frame(ControlMessage::UserState(UserState {
            session: Some(OWN),
            self_mute: Some(true),
            self_deaf: Some(false),
            ..UserState::default()
        })),
        now,
    );
    assert!(
        drain_events(&mut session).contains(&SessionEvent::SelfStateChanged {
            mute: true,
            deaf: false
        })
    );
    // Deafening mutes too; unmuting undeafens.
    session.set_self_deaf(true);
    assert_eq!(session.self_state(), (true, true));
    session.set_self_mute(false);
    assert_eq!(session.self_state(), (false, false));
}

#[test]
fn starting_muted_is_sent_right_after_login() {
    let now = Instant::now();
    let mut session = Session::new(SessionConfig {
        self_deaf: true,
        channel_path: Vec::new(),
        ..config()
    });
    session.start(now);
    drain(&mut session);
    session.handle_tcp(&Server::new(v134()).login(), now);
    let (tcp, _) = drain(&mut session);
    assert!(
        tcp.iter()
            .any(|m| matches!(m, ControlMessage::UserState(state)
        if state.self_mute == Some(true) && state.self_deaf == Some(true)))
    );
}

#[test]
fn every_reject_closes_with_a_sentence_and_no_retry() {
    for (kind, needle) in [
        (RejectType::WrongServerPw, "password"),
        (RejectType::WrongUserPw, "certificate or password"),
        (RejectType::ServerFull, "full"),
        (RejectType::InvalidUsername, "user name"),
    ] {
        let now = Instant::now();
        let mut session = Session::new(config());
        session.start(now);
        let mut bytes = Vec::new();
        control::encode(
            &ControlMessage::Reject(Reject {
                r#type: Some(kind as i32),
                reason: None,
            }),
            &mut bytes,
        )
        .expect("encodes");
        session.handle_tcp(&bytes, now);
        let events = drain_events(&mut session);
        let Some(SessionEvent::Closed(reason)) = events.last() else {
            panic!("{events:?}");
        };
        if matches!(kind, RejectType::WrongServerPw | RejectType::WrongUserPw) {
            // The user may try again with a password (the server's, or the name's).
            assert!(matches!(reason, CloseReason::ServerPassword(_)));
        } else {
            assert!(matches!(reason, CloseReason::Rejected(_)));
        }
        assert!(!reason.is_retryable());
        assert!(reason.sentence().contains(needle), "{}", reason.sentence());
        assert!(session.is_closed());
    }
}

#[test]
fn hostile_bytes_close_the_connection_with_an_explanation() {
    let now = Instant::now();
    let mut session = Session::new(config());
    session.start(now);
    // A ServerSync announcing 2 GB.
    session.handle_tcp(&[0, 5, 0x7f, 0xff, 0xff, 0xff], now);
    let events = drain_events(&mut session);
    assert!(
        matches!(events.last(), Some(SessionEvent::Closed(CloseReason::Protocol(s)))
        if s.to_string().contains("cannot accept"))
    );
    // Nothing more is sent or accepted after that.
    drain(&mut session);
    session.send_audio(&[1; 10], 0, false, false);
    session.handle_timeout(now + Duration::from_secs(60));
    assert!(session.poll_transmit().is_none());
}

#[test]
fn garbage_datagrams_are_dropped_and_counted() {
    let (mut session, _server, now) = connected(v134(), config());
    for len in [0, 1, 4, 5, 100, 2000] {
        session.handle_udp(&vec![0x5A; len], now);
    }
    assert_eq!(session.stats().udp_rejected, 6);
    assert!(
        drain_events(&mut session)
            .iter()
            .all(|e| !matches!(e, SessionEvent::Voice { .. }))
    );
}

#[test]
fn unanswered_pings_end_the_connection_as_lost() {
    let (mut session, _server, now) = connected(v134(), config());
    let mut at = now;
    for _ in 0..5 {
        at += PING_INTERVAL;
        session.handle_timeout(at);
    }
    let events = drain_events(&mut session);
    let Some(SessionEvent::Closed(reason)) = events.last() else {
        panic!("{events:?}");
    };
    assert!(reason.is_retryable());
    // An answered ping resets the count and measures the round trip.
    let (mut session, _server, now) = connected(v134(), config());
    for i in 1..=10u64 {
        let at = now + PING_INTERVAL * i as u32;
        session.handle_timeout(at);
        session.handle_tcp(
            &Server::frame(ControlMessage::Ping(Ping {
                timestamp: Some(i * 5000),
                ..Ping::default()
            })),
            at + Duration::from_millis(12),
        );
    }
    assert!(session.is_connected());
    assert!(
        drain_events(&mut session)
            .iter()
            .any(|e| matches!(e, SessionEvent::Latency { tcp: Some(rtt), .. }
                if *rtt == Duration::from_millis(12)))
    );
}

#[test]
fn login_timeout() {
    let now = Instant::now();
    let mut session = Session::new(config());
    session.start(now);
    assert_eq!(session.poll_timeout(), Some(now + LOGIN_TIMEOUT));
    session.handle_timeout(now + LOGIN_TIMEOUT);
    assert!(session.is_closed());
}

#[test]
fn crypt_resync_both_ways() {
    let (mut session, _server, now) = connected(v134(), config());
    // The server asks for our nonce with an empty CryptSetup.
    session.handle_tcp(
        &Server::frame(ControlMessage::CryptSetup(CryptSetup::default())),
        now,
    );
    let tcp = drain_tcp(&mut session);
    let ours = session.crypt.as_ref().expect("crypt state").encrypt_nonce();
    assert_ne!(ours, CLIENT_NONCE, "the first UDP ping advanced it");
    assert!(matches!(tcp.as_slice(), [ControlMessage::CryptSetup(setup)]
        if setup.client_nonce.as_deref() == Some(&ours[..]) && setup.key.is_none()));
    // We cannot decrypt for more than 5 s: we ask with an empty CryptSetup.
    for second in 0..8 {
        session.handle_udp(&[0x42; 30], now + Duration::from_secs(second));
    }
    let (tcp, _) = drain(&mut session);
    assert!(tcp.iter().any(
        |m| matches!(m, ControlMessage::CryptSetup(setup) if *setup == CryptSetup::default())
    ));
    // The server's answer sets our decrypt nonce and counts a resync.
    session.handle_tcp(
        &Server::frame(ControlMessage::CryptSetup(CryptSetup {
            server_nonce: Some(vec![3; 16]),
            ..CryptSetup::default()
        })),
        now,
    );
    let crypt = session.crypt.as_ref().expect("crypt state");
    assert_eq!(crypt.decrypt_nonce(), [3; 16]);
    assert_eq!(crypt.stats().resync, 1);
}

#[test]
fn bandwidth_cap_adapts_like_the_official_client() {
    assert_eq!(network_bandwidth(40_000, 20), 54_800);
    assert_eq!(fit_bandwidth(40_000, 20, 32_000), (24_000, 40));
    assert_eq!(fit_bandwidth(40_000, 20, 72_000), (40_000, 20));
    assert_eq!(fit_bandwidth(72_000, 10, 64_000), (49_000, 20));
    assert_eq!(fit_bandwidth(14_000, 40, 558_000), (14_000, 40));
    assert_eq!(fit_bandwidth(64_000, 20, 10_000), (8_000, 40));

    let now = Instant::now();
    let mut session = Session::new(config());
    session.start(now);
    let mut login = Server::new(v134()).login();
    login.extend(Server::frame(ControlMessage::ServerConfig(ServerConfig {
        max_bandwidth: Some(32_000),
        ..ServerConfig::default()
    })));
    session.handle_tcp(&login, now);
    assert!(
        drain_events(&mut session).contains(&SessionEvent::BandwidthLimited {
            cap: 32_000,
            bitrate: 24_000,
            frame_ms: 40
        })
    );
    assert_eq!(session.codec_settings(), (24_000, 40));
}

#[test]
fn text_both_ways() {
    let (mut session, _server, now) = connected(v134(), config());
    session
        .send_text(TextTarget::Channel(1), "2 < 3 & done")
        .expect("sent");
    session
        .send_text(TextTarget::User(OTHER), "hi")
        .expect("sent");
    let tcp = drain_tcp(&mut session);
    assert!(matches!(&tcp[0], ControlMessage::TextMessage(t)
        if t.channel_id == [1] && t.message == "2 &lt; 3 &amp; done"));
    assert!(matches!(&tcp[1], ControlMessage::TextMessage(t) if t.session == [OTHER]));
    assert!(
        session
            .send_text(TextTarget::Channel(0), &"x".repeat(5001))
            .is_err()
    );

    session.handle_tcp(
        &Server::frame(ControlMessage::TextMessage(TextMessage {
            actor: Some(OTHER),
            session: vec![OWN],
            message: "<p>Hello <i>there</i></p>".to_owned(),
            ..TextMessage::default()
        })),
        now,
    );
    assert!(drain_events(&mut session).contains(&SessionEvent::Text {
        from: Some(OTHER),
        from_name: "bob".to_owned(),
        private: true,
        message: "Hello there".to_owned(),
    }));
}

#[test]
fn users_join_leave_and_we_can_be_kicked() {
    let (mut session, _server, now) = connected(v134(), config());
    session.handle_tcp(
        &Server::frame(ControlMessage::UserState(UserState {
            session: Some(12),
            name: Some("carol".to_owned()),
            channel_id: Some(1),
            ..UserState::default()
        })),
        now,
    );
    session.handle_tcp(
        &Server::frame(ControlMessage::UserRemove(UserRemove {
            session: OTHER,
            ..UserRemove::default()
        })),
        now,
    );
    session.handle_tcp(
        &Server::frame(ControlMessage::ChannelRemove(ChannelRemove {
            channel_id: 2,
        })),
        now,
    );
    let events = drain_events(&mut session);
    assert!(events.contains(&SessionEvent::UserJoined {
        session: 12,
        name: "carol".to_owned()
    }));
    assert!(events.contains(&SessionEvent::UserLeft {
        session: OTHER,
        name: "bob".to_owned()
    }));
    assert!(!session.channels().contains_key(&2));
    session.handle_tcp(
        &Server::frame(ControlMessage::UserRemove(UserRemove {
            session: OWN,
            actor: Some(12),
            reason: Some("spam".to_owned()),
            ban: Some(true),
            ..UserRemove::default()
        })),
        now,
    );
    let events = drain_events(&mut session);
    assert!(
        matches!(events.last(), Some(SessionEvent::Closed(CloseReason::Kicked(s)))
        if s.to_string() == "You were banned from the server by carol: spam.")
    );
}

#[test]
fn refusals_and_registration() {
    let (mut session, _server, now) = connected(v134(), config());
    session.handle_tcp(
        &Server::frame(ControlMessage::PermissionDenied(PermissionDenied {
            r#type: Some(DenyType::ChannelFull as i32),
            channel_id: Some(1),
            ..PermissionDenied::default()
        })),
        now,
    );
    let denied = drain_events(&mut session)
        .into_iter()
        .find_map(|event| match event {
            SessionEvent::Denied(phrase) => Some(phrase),
            _ => None,
        })
        .expect("a refusal");
    assert_eq!(denied.to_string(), "The channel “Lobby” is full.");
    assert_eq!(
        crate::i18n::I18n::new(crate::config::Language::Fr).say(&denied),
        "Le salon «\u{a0}Lobby\u{a0}» est plein."
    );
    session.register_self();
    let tcp = drain_tcp(&mut session);
    assert!(matches!(tcp.as_slice(), [ControlMessage::UserState(s)]
        if s.session == Some(OWN) && s.user_id == Some(0)));
    session.handle_tcp(
        &Server::frame(ControlMessage::UserState(UserState {
            session: Some(OWN),
            user_id: Some(3),
            ..UserState::default()
        })),
        now,
    );
    assert!(drain_events(&mut session).contains(&SessionEvent::Registered(3)));
}

#[test]
fn a_parent_cycle_from_a_hostile_server_does_not_hang() {
    let (mut session, _server, now) = connected(v134(), config());
    for (id, parent) in [(7, 8), (8, 7)] {
        session.handle_tcp(
            &Server::frame(ControlMessage::ChannelState(ChannelState {
                channel_id: Some(id),
                parent: Some(parent),
                name: Some(format!("c{id}")),
                ..ChannelState::default()
            })),
            now,
        );
    }
    assert!(session.channel_path(7).len() <= session.channels().len() + 1);
}

#[test]
fn plain_text_and_escaping() {
    assert_eq!(plain_text("a<br/>b&amp;c&lt;"), "a\nb&c<");
    assert_eq!(plain_text("unclosed <tag"), "unclosed <tag");
    assert_eq!(plain_text("<a href='x'>link</a>"), "link");
    assert_eq!(escape_html("<b>&\n"), "&lt;b&gt;&amp;<br>");
    assert_eq!(plain_text(&escape_html("1 < 2 & 3 > 2")), "1 < 2 & 3 > 2");
}
