//! Mumble's TCP control channel: frame decoding and encoding, and the typed messages.
//!
//! Wire format (brief §1.2; Mumble's `src/Connection.cpp`): every frame is a 6-byte header, the
//! message type as a big-endian `u16` then the payload length as a big-endian `u32`, followed by
//! that many bytes. The payload is a `MumbleProto` protobuf message ([`super::messages`]), except
//! for type 1, `UDPTunnel`, whose payload is a raw UDP voice packet (brief §1.10).
//!
//! Size limits, checked on the header before a single payload byte is buffered (the decoder
//! never reserves memory from an announced length; it only stores bytes it was actually given):
//! - `UDPTunnel`: [`MAX_TUNNEL_LEN`] (1024 bytes), Mumble's `MAX_UDP_PACKET_SIZE`: servers drop
//!   bigger tunnelled packets and never send one.
//! - Messages that can carry images or long HTML (`ServerSync` and `ServerConfig` welcome text,
//!   `UserState` comments and avatars, `ChannelState` descriptions, `TextMessage` chat):
//!   [`MAX_LARGE_LEN`], the official limit of `0x7fffff` bytes (8 MiB − 1) that both Mumble sides
//!   enforce.
//! - Every other known type: [`MAX_SMALL_LEN`] (64 KiB), far above anything a real server sends
//!   (names, short reasons, ids, keys), so a hostile server cannot make palabre buffer 8 MiB
//!   with, say, a `Ping`. This includes the lists a server only sends on request, which palabre
//!   does not make yet (`BanList`, `ACL`, `UserList`, `UserStats`): raise theirs with an
//!   administration UI.
//! - Unknown types (for example 26, `PluginDataTransmission`): at most [`MAX_LARGE_LEN`], and
//!   their payload is discarded as it arrives instead of being buffered.
//!
//! Decoded size: protobuf is denser than the Rust values it decodes to. An empty element of a
//! repeated string costs 3 bytes on the wire and 24 in memory, and `Vec` growth can double that,
//! so an 8 MiB `UserState` could briefly take about 128 MiB; a packed `u32` list, about 64 MiB.
//! Lists of nested messages are worse (a 2-byte empty `BanEntry` is ~136 bytes in memory), which
//! is why those types keep the small limit.
//!
//! Error policy (style rule E3): a length over the limit is terminal ([`ControlError::TooLarge`];
//! framing can no longer be trusted, so the connection must close). A payload that is not valid
//! protobuf is reported as [`ControlError::Malformed`] after its frame was consumed: the framing
//! is intact, and the caller decides whether to close.
//!
//! Sans-IO: no sockets, no clock. The driver pushes the bytes it read with
//! [`FrameDecoder::push`], then calls [`FrameDecoder::next_message`] until it returns
//! `Ok(None)`; it sends what [`encode`] writes.

use prost::Message as _;

use super::messages::{self, Reject, reject::RejectType};
use crate::i18n::Phrase;

/// Length of the frame header: `u16` type then `u32` payload length, both big-endian.
pub const HEADER_LEN: usize = 6;

/// Largest `UDPTunnel` payload accepted or sent (Mumble's `MAX_UDP_PACKET_SIZE`).
pub const MAX_TUNNEL_LEN: usize = 1024;

/// Largest payload of a message type that only carries small fields (see the module doc).
pub const MAX_SMALL_LEN: usize = 64 * 1024;

/// Largest payload of any frame: Mumble's own limit (`Connection::socketRead`, `0x7fffff`).
pub const MAX_LARGE_LEN: usize = 0x7f_ffff;

/// Above this capacity, an emptied receive buffer is shrunk back to [`MAX_SMALL_LEN`], so one
/// large message does not pin megabytes for the rest of the connection.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// Declares [`MessageType`] and [`ControlMessage`] from one table, so the type numbers, names,
/// limits and payload types cannot drift apart. `UDPTunnel` (raw bytes) and unknown types are
/// written out by hand.
macro_rules! control_messages {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $number:literal, $name:literal, $limit:ident;
    )*) => {
        /// The message type number at the start of every TCP frame (Mumble's
        /// `src/MumbleProtocol.h`; brief §1.3). Numbering is append-only.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum MessageType {
            /// `UDPTunnel` (1): a raw voice packet carried over TCP.
            UdpTunnel = 1,
            $( $(#[$doc])* $variant = $number, )*
        }

        impl MessageType {
            /// The type with this number, if palabre knows it.
            pub fn from_number(number: u16) -> Option<Self> {
                match number {
                    1 => Some(Self::UdpTunnel),
                    $( $number => Some(Self::$variant), )*
                    _ => None,
                }
            }

            /// The number written in the frame header.
            pub fn number(self) -> u16 {
                self as u16
            }

            /// Mumble's name of the message, for logs and error messages.
            pub fn name(self) -> &'static str {
                match self {
                    Self::UdpTunnel => "UDPTunnel",
                    $( Self::$variant => $name, )*
                }
            }

            /// The largest payload accepted for this type (see the module doc).
            pub fn max_payload_len(self) -> usize {
                match self {
                    Self::UdpTunnel => MAX_TUNNEL_LEN,
                    $( Self::$variant => $limit, )*
                }
            }
        }

        /// One decoded control message. Each variant holds the `MumbleProto` message of the same
        /// name, except `UdpTunnel` (raw voice bytes) and `Unknown`.
        #[derive(Clone, Debug, PartialEq)]
        pub enum ControlMessage {
            /// `UDPTunnel` (1): a voice packet in the UDP wire format, unencrypted, carried over
            /// TCP. Decode it with `super::voice`.
            UdpTunnel(Vec<u8>),
            $( $(#[$doc])* $variant(messages::$variant), )*
            /// A type palabre does not know (for example 26, `PluginDataTransmission`). Its
            /// payload was skipped without being buffered; it cannot be encoded.
            Unknown {
                /// The type number from the header.
                kind: u16,
                /// The payload length from the header.
                len: u32,
            },
        }

        impl ControlMessage {
            /// The type number of this message in the frame header.
            pub fn kind(&self) -> u16 {
                match self {
                    Self::UdpTunnel(_) => MessageType::UdpTunnel.number(),
                    $( Self::$variant(_) => MessageType::$variant.number(), )*
                    Self::Unknown { kind, .. } => *kind,
                }
            }

            /// The type of this message, or `None` for [`ControlMessage::Unknown`].
            pub fn message_type(&self) -> Option<MessageType> {
                MessageType::from_number(self.kind())
            }

            /// Decodes the payload of one frame of a known type.
            pub fn decode(kind: MessageType, payload: &[u8]) -> Result<Self, ControlError> {
                let malformed = |detail| ControlError::Malformed { kind, detail };
                Ok(match kind {
                    MessageType::UdpTunnel => Self::UdpTunnel(payload.to_vec()),
                    $( MessageType::$variant => Self::$variant(
                        messages::$variant::decode(payload).map_err(malformed)?,
                    ), )*
                })
            }

            /// Appends the payload (not the header) to `out`.
            fn encode_payload(&self, out: &mut Vec<u8>) -> Result<(), ControlError> {
                match self {
                    Self::UdpTunnel(packet) => out.extend_from_slice(packet),
                    $( Self::$variant(message) => message
                        .encode(out)
                        // A `Vec` grows to fit, so prost's only error (no room left) cannot occur.
                        .expect("encoding into a Vec cannot run out of room"), )*
                    Self::Unknown { kind, .. } => {
                        return Err(ControlError::UnknownNotEncodable { kind: *kind });
                    }
                }
                Ok(())
            }

            /// The length of the payload [`encode`] writes.
            fn payload_len(&self) -> usize {
                match self {
                    Self::UdpTunnel(packet) => packet.len(),
                    $( Self::$variant(message) => message.encoded_len(), )*
                    Self::Unknown { len, .. } => *len as usize,
                }
            }
        }
    };
}

control_messages! {
    /// `Version` (0): each side's version, sent first.
    Version = 0, "Version", MAX_SMALL_LEN;
    /// `Authenticate` (2): the client's login.
    Authenticate = 2, "Authenticate", MAX_SMALL_LEN;
    /// `Ping` (3): the TCP keepalive and statistics.
    Ping = 3, "Ping", MAX_SMALL_LEN;
    /// `Reject` (4): the login was refused.
    Reject = 4, "Reject", MAX_SMALL_LEN;
    /// `ServerSync` (5): the login is complete (carries the welcome text, possibly with images).
    ServerSync = 5, "ServerSync", MAX_LARGE_LEN;
    /// `ChannelRemove` (6): a channel was deleted.
    ChannelRemove = 6, "ChannelRemove", MAX_SMALL_LEN;
    /// `ChannelState` (7): a channel's state or a change to it.
    ChannelState = 7, "ChannelState", MAX_LARGE_LEN;
    /// `UserRemove` (8): a user left, was kicked or banned.
    UserRemove = 8, "UserRemove", MAX_SMALL_LEN;
    /// `UserState` (9): a user's state or a change to it.
    UserState = 9, "UserState", MAX_LARGE_LEN;
    /// `BanList` (10): the ban list.
    BanList = 10, "BanList", MAX_SMALL_LEN;
    /// `TextMessage` (11): a chat message.
    TextMessage = 11, "TextMessage", MAX_LARGE_LEN;
    /// `PermissionDenied` (12): a request was refused.
    PermissionDenied = 12, "PermissionDenied", MAX_SMALL_LEN;
    /// `ACL` (13): a channel's access control list.
    Acl = 13, "ACL", MAX_SMALL_LEN;
    /// `QueryUsers` (14): user ids to names or back.
    QueryUsers = 14, "QueryUsers", MAX_SMALL_LEN;
    /// `CryptSetup` (15): the UDP voice key and nonces.
    CryptSetup = 15, "CryptSetup", MAX_SMALL_LEN;
    /// `ContextActionModify` (16): a context-menu entry added or removed.
    ContextActionModify = 16, "ContextActionModify", MAX_SMALL_LEN;
    /// `ContextAction` (17): a context-menu entry was chosen.
    ContextAction = 17, "ContextAction", MAX_SMALL_LEN;
    /// `UserList` (18): the registered users.
    UserList = 18, "UserList", MAX_SMALL_LEN;
    /// `VoiceTarget` (19): a whisper or shout target.
    VoiceTarget = 19, "VoiceTarget", MAX_SMALL_LEN;
    /// `PermissionQuery` (20): the client's permissions in a channel.
    PermissionQuery = 20, "PermissionQuery", MAX_SMALL_LEN;
    /// `CodecVersion` (21): which codec to use.
    CodecVersion = 21, "CodecVersion", MAX_SMALL_LEN;
    /// `UserStats` (22): statistics about a user (with a certificate chain).
    UserStats = 22, "UserStats", MAX_SMALL_LEN;
    /// `RequestBlob` (23): ask for long comments, avatars and descriptions.
    RequestBlob = 23, "RequestBlob", MAX_SMALL_LEN;
    /// `ServerConfig` (24): server limits (may repeat the welcome text).
    ServerConfig = 24, "ServerConfig", MAX_LARGE_LEN;
    /// `SuggestConfig` (25): settings the server suggests.
    SuggestConfig = 25, "SuggestConfig", MAX_SMALL_LEN;
}

/// What went wrong reading or writing control frames. The `Display` text is a plain-English
/// sentence fragment the UI can show (and translate later).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// A frame header announced more bytes than allowed for its type. Terminal: the decoder
    /// keeps returning this error and ignores further input.
    #[error(
        "received a {} message of {len} bytes, more than the {max} bytes allowed",
        kind_name(*.kind)
    )]
    TooLarge {
        /// The type number from the header.
        kind: u16,
        /// The announced payload length.
        len: u32,
        /// The limit for that type.
        max: usize,
    },
    /// A payload could not be read as the protobuf message its type announces. The frame was
    /// consumed; the next call reads the next frame.
    #[error("received a {} message that could not be read ({detail})", .kind.name())]
    Malformed {
        /// The message type.
        kind: MessageType,
        /// What prost found wrong.
        detail: prost::DecodeError,
    },
    /// A message to send is larger than the server accepts.
    #[error(
        "cannot send a {} message of {len} bytes, more than the {max} bytes allowed",
        .kind.name()
    )]
    TooLargeToSend {
        /// The message type.
        kind: MessageType,
        /// The payload length.
        len: usize,
        /// The limit for that type.
        max: usize,
    },
    /// [`ControlMessage::Unknown`] has no payload to send.
    #[error("cannot send a message of unknown type {kind}")]
    UnknownNotEncodable {
        /// The type number.
        kind: u16,
    },
}

/// Mumble's name for a type number, or "type N" when unknown.
fn kind_name(kind: u16) -> String {
    match MessageType::from_number(kind) {
        Some(message_type) => message_type.name().to_owned(),
        None => format!("type {kind}"),
    }
}

/// The payload limit for a type number from a header (unknown types get the largest).
fn max_payload_len(kind: u16) -> usize {
    MessageType::from_number(kind).map_or(MAX_LARGE_LEN, MessageType::max_payload_len)
}

/// Sans-IO reader of the control stream: push the bytes read from TLS, pull messages.
///
/// Contract: after each [`push`](Self::push), call [`next_message`](Self::next_message) until it
/// returns `Ok(None)` (more bytes needed) or `Err(ControlError::TooLarge)` (close the
/// connection). Memory is bounded by one frame within its type's limit plus the last push.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    /// Received bytes; those before `start` are already consumed.
    buffer: Vec<u8>,
    /// Offset of the first unconsumed byte in `buffer`.
    start: usize,
    /// Payload bytes of an unknown message still to discard as they arrive. When non-zero,
    /// `buffer[start..]` is empty.
    skip: usize,
}

impl FrameDecoder {
    /// An empty decoder, at a frame boundary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes received from the TLS stream.
    pub fn push(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        if self.skip > 0 {
            let skipped = self.skip.min(bytes.len());
            self.skip -= skipped;
            bytes = bytes.get(skipped..).unwrap_or_default();
        }
        if bytes.is_empty() {
            return;
        }
        if self.oversized_header().is_some() {
            // The stream is dead (see `ControlError::TooLarge`); don't buffer what follows.
            return;
        }
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, `Ok(None)` if more bytes are needed, or an error.
    ///
    /// A [`ControlMessage::Unknown`] is returned as soon as its header is read; its payload is
    /// then skipped, including bytes pushed later.
    pub fn next_message(&mut self) -> Result<Option<ControlMessage>, ControlError> {
        if self.skip > 0 {
            return Ok(None);
        }
        let pending = self.buffer.get(self.start..).unwrap_or_default();
        let Some(&header) = pending.first_chunk::<HEADER_LEN>() else {
            self.reclaim();
            return Ok(None);
        };
        let (kind, len) = parse_header(header);
        if let Some(error) = too_large(kind, len) {
            return Err(error);
        }
        // Lossless: `len` is at most `MAX_LARGE_LEN` here.
        let len = len as usize;
        let body_start = self.start + HEADER_LEN;
        let Some(message_type) = MessageType::from_number(kind) else {
            let available = pending.len() - HEADER_LEN;
            let skipped = available.min(len);
            self.start = body_start + skipped;
            self.skip = len - skipped;
            self.reclaim();
            return Ok(Some(ControlMessage::Unknown {
                kind,
                // Lossless: it came from a `u32`.
                len: len as u32,
            }));
        };
        let body_end = body_start + len;
        let Some(payload) = self.buffer.get(body_start..body_end) else {
            return Ok(None);
        };
        let decoded = ControlMessage::decode(message_type, payload);
        self.start = body_end;
        self.reclaim();
        decoded.map(Some)
    }

    /// How many received bytes are buffered and not yet consumed.
    pub fn buffered_len(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// The error for a complete buffered header announcing too many bytes, if any.
    fn oversized_header(&self) -> Option<ControlError> {
        let pending = self.buffer.get(self.start..)?;
        let (kind, len) = parse_header(*pending.first_chunk::<HEADER_LEN>()?);
        too_large(kind, len)
    }

    /// Empties the buffer once everything in it is consumed, shrinking it after a big message.
    fn reclaim(&mut self) {
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
            if self.buffer.capacity() > SHRINK_ABOVE {
                self.buffer.shrink_to(MAX_SMALL_LEN);
            }
        }
    }
}

/// Splits a frame header into type number and payload length.
fn parse_header(header: [u8; HEADER_LEN]) -> (u16, u32) {
    let [k0, k1, l0, l1, l2, l3] = header;
    (
        u16::from_be_bytes([k0, k1]),
        u32::from_be_bytes([l0, l1, l2, l3]),
    )
}

/// The error for a header whose length is over its type's limit.
fn too_large(kind: u16, len: u32) -> Option<ControlError> {
    let max = max_payload_len(kind);
    (len as usize > max).then_some(ControlError::TooLarge { kind, len, max })
}

/// Appends one complete frame (header and payload) for `message` to `out`.
///
/// Fails, leaving `out` unchanged, for [`ControlMessage::Unknown`], for a `UdpTunnel` packet
/// over [`MAX_TUNNEL_LEN`], and for any payload over [`MAX_LARGE_LEN`] (the server would
/// disconnect). The receive limits for small types are not applied here.
pub fn encode(message: &ControlMessage, out: &mut Vec<u8>) -> Result<(), ControlError> {
    let Some(message_type) = message.message_type() else {
        return Err(ControlError::UnknownNotEncodable {
            kind: message.kind(),
        });
    };
    let len = message.payload_len();
    let max = match message_type {
        MessageType::UdpTunnel => MAX_TUNNEL_LEN,
        _ => MAX_LARGE_LEN,
    };
    if len > max {
        return Err(ControlError::TooLargeToSend {
            kind: message_type,
            len,
            max,
        });
    }
    out.reserve(HEADER_LEN + len);
    out.extend_from_slice(&message_type.number().to_be_bytes());
    // Lossless: `len` is at most `MAX_LARGE_LEN`, checked above.
    out.extend_from_slice(&(len as u32).to_be_bytes());
    message.encode_payload(out)
}

/// Why the server refused the login (brief §1.13), for the user, followed by the server's own
/// reason text when it gave one: said in the window's language, printed in English.
pub fn reject_reason(reject: &Reject) -> Phrase {
    let code = reject.r#type.unwrap_or(RejectType::None as i32);
    let why = match RejectType::try_from(code) {
        Ok(RejectType::None) => Phrase::tr("mumble-reject-none"),
        Ok(RejectType::WrongVersion) => Phrase::tr("mumble-reject-wrong-version"),
        Ok(RejectType::InvalidUsername) => Phrase::tr("mumble-reject-invalid-username"),
        Ok(RejectType::WrongUserPw) => Phrase::tr("mumble-reject-wrong-user-password"),
        Ok(RejectType::WrongServerPw) => Phrase::tr("mumble-reject-wrong-server-password"),
        Ok(RejectType::UsernameInUse) => Phrase::tr("mumble-reject-username-in-use"),
        Ok(RejectType::ServerFull) => Phrase::tr("mumble-reject-server-full"),
        Ok(RejectType::NoCertificate) => Phrase::tr("mumble-reject-no-certificate"),
        Ok(RejectType::AuthenticatorFail) => Phrase::tr("mumble-reject-authenticator-failed"),
        Ok(RejectType::NoNewConnections) => Phrase::tr("mumble-reject-no-new-connections"),
        Err(_) => Phrase::tr_args(
            "mumble-reject-unknown",
            vec![("code", i64::from(code).to_string().into())],
        ),
    };
    match reject.reason.as_deref().map(str::trim) {
        Some(reason) if !reason.is_empty() => Phrase::tr_args(
            "mumble-reject-server-said",
            vec![("why", why.into()), ("reason", shorten(reason).into())],
        ),
        _ => why,
    }
}

/// At most this many characters of a server-supplied reason are shown.
const MAX_REASON_CHARS: usize = 300;

/// Cuts a server-supplied text to [`MAX_REASON_CHARS`] characters, on a character boundary.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_REASON_CHARS) {
        // `cut` comes from `char_indices`, so it is a character boundary.
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or(text)),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::mumble::messages::{
        Acl, Authenticate, BanList, ChannelRemove, ChannelState, CodecVersion, ContextAction,
        ContextActionModify, CryptSetup, PermissionDenied, PermissionQuery, Ping, QueryUsers,
        RequestBlob, ServerConfig, ServerSync, SuggestConfig, TextMessage, UserList, UserRemove,
        UserState, UserStats, Version, VersionNumber, VoiceTarget, acl, ban_list,
        context_action_modify, permission_denied, user_list, user_state, user_stats, voice_target,
    };

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("test hex is valid"))
            .collect()
    }

    fn frame(message: &ControlMessage) -> Vec<u8> {
        let mut out = Vec::new();
        encode(message, &mut out).expect("test message encodes");
        out
    }

    fn decode_all(decoder: &mut FrameDecoder) -> Vec<ControlMessage> {
        let mut messages = Vec::new();
        while let Some(message) = decoder.next_message().expect("test stream is valid") {
            messages.push(message);
        }
        messages
    }

    // Expected bytes below were computed independently, with a few lines of Python that write
    // protobuf varints and keys by hand (field number << 3 | wire type).
    const VERSION_FRAME: &str = "0000 00000022 08808a04 120d 70616c6162726520302e312e30 \
                                 1a05 4c696e7578 2880808080d08040";
    const AUTHENTICATE_FRAME: &str = "0002 00000009 0a05 616c696365 2801";
    const PING_FRAME: &str = "0003 00000006 08d285d8cc04";
    const PING_FRAME_LEN: usize = 12;
    const CODEC_VERSION_FRAME: &str = "0015 0000001a 088b808080f8ffffffff01 \
                                       1090808080f8ffffffff01 1801 2001";

    fn palabre_version() -> Version {
        let mut version = Version {
            release: Some("palabre 0.1.0".into()),
            os: Some("Linux".into()),
            ..Default::default()
        };
        version.set_number(VersionNumber {
            major: 1,
            minor: 5,
            patch: 0,
        });
        version
    }

    fn login() -> Vec<ControlMessage> {
        vec![
            ControlMessage::Version(palabre_version()),
            ControlMessage::Authenticate(Authenticate {
                username: Some("alice".into()),
                opus: Some(true),
                ..Default::default()
            }),
            ControlMessage::Ping(Ping {
                timestamp: Some(1_234_567_890),
                ..Default::default()
            }),
        ]
    }

    #[test]
    fn header_is_type_then_length_big_endian() {
        let bytes = frame(&ControlMessage::Ping(Ping {
            timestamp: Some(1),
            ..Default::default()
        }));
        assert_eq!(
            bytes,
            hex("0003 00000002 0801"),
            "u16 type, u32 length, payload"
        );
        let tunnel = frame(&ControlMessage::UdpTunnel(vec![0x80, 0x01, 0xff]));
        assert_eq!(
            tunnel,
            hex("0001 00000003 8001ff"),
            "tunnel payload is raw bytes"
        );
        let empty = frame(&ControlMessage::Ping(Ping::default()));
        assert_eq!(
            empty,
            hex("0003 00000000"),
            "an empty message is a bare header"
        );
    }

    #[test]
    fn login_messages_encode_byte_for_byte() {
        let [version, authenticate, ping] =
            <[ControlMessage; 3]>::try_from(login()).expect("three messages");
        assert_eq!(frame(&version), hex(VERSION_FRAME), "Version, both fields");
        assert_eq!(
            frame(&authenticate),
            hex(AUTHENTICATE_FRAME),
            "Authenticate"
        );
        assert_eq!(frame(&ping), hex(PING_FRAME), "Ping");
    }

    #[test]
    fn hand_built_login_sequence_decodes() {
        let stream = [VERSION_FRAME, AUTHENTICATE_FRAME, PING_FRAME]
            .map(hex)
            .concat();
        let mut decoder = FrameDecoder::new();
        decoder.push(&stream);
        let messages = decode_all(&mut decoder);
        assert_eq!(messages, login(), "Version, Authenticate, Ping in order");
        let ControlMessage::Version(version) = &messages[0] else {
            panic!("first message is the Version");
        };
        assert_eq!(
            version.number(),
            Some(VersionNumber {
                major: 1,
                minor: 5,
                patch: 0
            }),
            "v2 read back"
        );
        assert_eq!(decoder.buffered_len(), 0, "everything consumed");
    }

    #[test]
    fn codec_version_negative_alpha_is_a_ten_byte_varint() {
        // Brief §1.5: servers send alpha 0x8000000b as a negative int32 (beta 0x80000010).
        let mut decoder = FrameDecoder::new();
        decoder.push(&hex(CODEC_VERSION_FRAME));
        let expected = ControlMessage::CodecVersion(CodecVersion {
            alpha: 0x8000_000b_u32 as i32,
            beta: 0x8000_0010_u32 as i32,
            prefer_alpha: true,
            opus: Some(true),
        });
        assert_eq!(decode_all(&mut decoder), vec![expected.clone()], "decoded");
        assert_eq!(
            frame(&expected),
            hex(CODEC_VERSION_FRAME),
            "re-encoded identically"
        );
    }

    #[test]
    fn version_numbers_in_both_encodings() {
        let number = VersionNumber {
            major: 1,
            minor: 5,
            patch: 735,
        };
        assert_eq!(number.to_v2(), 0x0001_0005_02df_0000, "v2 layout");
        assert_eq!(number.to_v1(), 0x0001_05ff, "v1 clamps the patch to 255");
        assert_eq!(
            VersionNumber::from_v2(number.to_v2()),
            number,
            "v2 round trip"
        );
        assert_eq!(
            VersionNumber::from_v1(0x0001_0304),
            VersionNumber {
                major: 1,
                minor: 3,
                patch: 4
            },
            "v1 read"
        );
        let legacy = Version {
            version_v1: Some(0x0001_0304),
            ..Default::default()
        };
        assert_eq!(legacy.number().map(|n| n.minor), Some(3), "v1 alone");
        let both = Version {
            version_v1: Some(0x0001_0304),
            version_v2: Some(number.to_v2()),
            ..Default::default()
        };
        assert_eq!(both.number(), Some(number), "v2 preferred");
    }

    /// One message of every known type, with most fields set.
    fn one_of_each() -> Vec<ControlMessage> {
        vec![
            ControlMessage::Version(palabre_version()),
            ControlMessage::UdpTunnel(vec![0x80, 0x00, 0x2a, 0x05, 1, 2, 3, 4, 5]),
            ControlMessage::Authenticate(Authenticate {
                username: Some("élodie".into()),
                password: Some("sésame".into()),
                tokens: vec!["a".into(), "b".into()],
                celt_versions: vec![-2_147_483_637],
                opus: Some(true),
                client_type: Some(1),
            }),
            ControlMessage::Ping(Ping {
                timestamp: Some(u64::MAX),
                good: Some(1),
                late: Some(2),
                lost: Some(3),
                resync: Some(4),
                udp_packets: Some(5),
                tcp_packets: Some(6),
                udp_ping_avg: Some(1.5),
                udp_ping_var: Some(0.25),
                tcp_ping_avg: Some(20.0),
                tcp_ping_var: Some(3.0),
            }),
            ControlMessage::Reject(Reject {
                r#type: Some(RejectType::ServerFull as i32),
                reason: Some("Server is full".into()),
            }),
            ControlMessage::ServerSync(ServerSync {
                session: Some(7),
                max_bandwidth: Some(558_000),
                welcome_text: Some("<b>Bienvenue</b>".into()),
                permissions: Some(0xf07ff),
            }),
            ControlMessage::ChannelRemove(ChannelRemove { channel_id: 3 }),
            ControlMessage::ChannelState(ChannelState {
                channel_id: Some(3),
                parent: Some(0),
                name: Some("Salon".into()),
                links: vec![1, 2],
                description: Some("desc".into()),
                links_add: vec![4],
                links_remove: vec![5],
                temporary: Some(true),
                position: Some(-2),
                description_hash: Some(vec![0xaa; 20]),
                max_users: Some(10),
                is_enter_restricted: Some(false),
                can_enter: Some(true),
            }),
            ControlMessage::UserRemove(UserRemove {
                session: 9,
                actor: Some(1),
                reason: Some("bye".into()),
                ban: Some(true),
                ban_certificate: Some(false),
                ban_ip: Some(true),
            }),
            ControlMessage::UserState(UserState {
                session: Some(7),
                actor: Some(7),
                name: Some("alice".into()),
                user_id: Some(0),
                channel_id: Some(3),
                mute: Some(false),
                deaf: Some(false),
                suppress: Some(true),
                self_mute: Some(true),
                self_deaf: Some(false),
                texture: Some(vec![1, 2, 3]),
                plugin_context: Some(vec![4]),
                plugin_identity: Some("id".into()),
                comment: Some("hi".into()),
                hash: Some("0123456789abcdef0123456789abcdef01234567".into()),
                comment_hash: Some(vec![0x11; 20]),
                texture_hash: Some(vec![0x22; 20]),
                priority_speaker: Some(false),
                recording: Some(false),
                temporary_access_tokens: vec!["t".into()],
                listening_channel_add: vec![1],
                listening_channel_remove: vec![2],
                listening_volume_adjustment: vec![user_state::VolumeAdjustment {
                    listening_channel: Some(1),
                    volume_adjustment: Some(0.5),
                }],
            }),
            ControlMessage::BanList(BanList {
                bans: vec![ban_list::BanEntry {
                    address: vec![0; 16],
                    mask: 128,
                    name: Some("troll".into()),
                    hash: Some("ff".into()),
                    reason: Some("spam".into()),
                    start: Some("2026-01-01T00:00:00".into()),
                    duration: Some(3600),
                }],
                query: Some(false),
            }),
            ControlMessage::TextMessage(TextMessage {
                actor: Some(7),
                session: vec![8, 9],
                channel_id: vec![3],
                tree_id: vec![0],
                message: "Bonjour à tous".into(),
            }),
            ControlMessage::PermissionDenied(PermissionDenied {
                permission: Some(0x4),
                channel_id: Some(3),
                session: Some(7),
                reason: Some("no".into()),
                r#type: Some(permission_denied::DenyType::ChannelFull as i32),
                name: Some("Salon".into()),
            }),
            ControlMessage::Acl(Acl {
                channel_id: 3,
                inherit_acls: Some(true),
                groups: vec![acl::ChanGroup {
                    name: "admin".into(),
                    inherited: Some(false),
                    inherit: Some(true),
                    inheritable: Some(true),
                    add: vec![1],
                    remove: vec![2],
                    inherited_members: vec![3],
                }],
                acls: vec![acl::ChanAcl {
                    apply_here: Some(true),
                    apply_subs: Some(false),
                    inherited: Some(false),
                    user_id: Some(1),
                    group: Some("admin".into()),
                    grant: Some(0x1),
                    deny: Some(0x2),
                }],
                query: Some(false),
            }),
            ControlMessage::QueryUsers(QueryUsers {
                ids: vec![1, 2],
                names: vec!["a".into(), "b".into()],
            }),
            ControlMessage::CryptSetup(CryptSetup {
                key: Some((0..16).collect()),
                client_nonce: Some((16..32).collect()),
                server_nonce: Some((32..48).collect()),
            }),
            ControlMessage::ContextActionModify(ContextActionModify {
                action: "act".into(),
                text: Some("Do it".into()),
                context: Some(
                    context_action_modify::Context::Channel as u32
                        | context_action_modify::Context::User as u32,
                ),
                operation: Some(context_action_modify::Operation::Remove as i32),
            }),
            ControlMessage::ContextAction(ContextAction {
                session: Some(7),
                channel_id: Some(3),
                action: "act".into(),
            }),
            ControlMessage::UserList(UserList {
                users: vec![user_list::User {
                    user_id: 1,
                    name: Some("bob".into()),
                    last_seen: Some("2026-01-01".into()),
                    last_channel: Some(3),
                }],
            }),
            ControlMessage::VoiceTarget(VoiceTarget {
                id: Some(2),
                targets: vec![
                    voice_target::Target {
                        session: vec![8, 9],
                        ..Default::default()
                    },
                    voice_target::Target {
                        session: vec![],
                        channel_id: Some(3),
                        group: Some("admin".into()),
                        links: Some(true),
                        children: Some(true),
                    },
                ],
            }),
            ControlMessage::PermissionQuery(PermissionQuery {
                channel_id: Some(3),
                permissions: Some(0xf07ff),
                flush: Some(true),
            }),
            ControlMessage::CodecVersion(CodecVersion {
                alpha: -2_147_483_637,
                beta: -2_147_483_632,
                prefer_alpha: true,
                opus: Some(true),
            }),
            ControlMessage::UserStats(UserStats {
                session: Some(8),
                stats_only: Some(false),
                certificates: vec![vec![0x30, 0x82], vec![0x30]],
                from_client: Some(user_stats::Stats {
                    good: Some(1),
                    late: Some(2),
                    lost: Some(3),
                    resync: Some(4),
                }),
                from_server: Some(user_stats::Stats::default()),
                udp_packets: Some(5),
                tcp_packets: Some(6),
                udp_ping_avg: Some(1.0),
                udp_ping_var: Some(2.0),
                tcp_ping_avg: Some(3.0),
                tcp_ping_var: Some(4.0),
                version: Some(palabre_version()),
                celt_versions: vec![1, 2],
                address: Some(vec![0; 16]),
                bandwidth: Some(40_000),
                onlinesecs: Some(60),
                idlesecs: Some(5),
                strong_certificate: Some(false),
                opus: Some(true),
                rolling_stats: Some(user_stats::RollingStats {
                    time_window: Some(300),
                    from_client: Some(user_stats::Stats {
                        good: Some(9),
                        ..Default::default()
                    }),
                    from_server: None,
                }),
            }),
            ControlMessage::RequestBlob(RequestBlob {
                session_texture: vec![1],
                session_comment: vec![2, 3],
                channel_description: vec![4],
            }),
            ControlMessage::ServerConfig(ServerConfig {
                max_bandwidth: Some(72_000),
                welcome_text: Some("hello".into()),
                allow_html: Some(true),
                message_length: Some(5000),
                image_message_length: Some(131_072),
                max_users: Some(100),
                recording_allowed: Some(true),
            }),
            ControlMessage::SuggestConfig(SuggestConfig {
                version_v1: Some(0x0001_0500),
                version_v2: Some(0x0001_0005_0000_0000),
                positional: Some(false),
                push_to_talk: Some(true),
            }),
        ]
    }

    #[test]
    fn every_message_type_round_trips() {
        let messages = one_of_each();
        let numbers: Vec<u16> = messages.iter().map(ControlMessage::kind).collect();
        assert_eq!(
            numbers,
            (0..=25).collect::<Vec<u16>>(),
            "one of each type, 0 to 25"
        );
        for message in &messages {
            let bytes = frame(message);
            assert_eq!(
                bytes[..2],
                message.kind().to_be_bytes(),
                "type number in header"
            );
            let mut decoder = FrameDecoder::new();
            decoder.push(&bytes);
            assert_eq!(
                decode_all(&mut decoder),
                vec![message.clone()],
                "{message:?}"
            );
        }
    }

    #[test]
    fn type_names_and_numbers_agree() {
        for number in 0..=25 {
            let message_type = MessageType::from_number(number).expect("0..=25 are known");
            assert_eq!(message_type.number(), number, "{message_type:?}");
        }
        assert_eq!(
            MessageType::from_number(26),
            None,
            "PluginDataTransmission is unknown"
        );
        assert_eq!(MessageType::Acl.name(), "ACL", "Mumble's spelling");
        assert_eq!(
            MessageType::UdpTunnel.name(),
            "UDPTunnel",
            "Mumble's spelling"
        );
    }

    #[test]
    fn frames_split_across_pushes_decode() {
        let messages = one_of_each();
        let stream: Vec<u8> = messages.iter().flat_map(frame).collect();
        // One byte at a time, then a few awkward chunk sizes.
        for chunk in [1, 2, 5, 6, 7, 13, 64, 1000] {
            let mut decoder = FrameDecoder::new();
            let mut decoded = Vec::new();
            for piece in stream.chunks(chunk) {
                decoder.push(piece);
                decoded.extend(decode_all(&mut decoder));
            }
            assert_eq!(decoded, messages, "chunks of {chunk}");
            assert_eq!(decoder.buffered_len(), 0, "chunks of {chunk}: all consumed");
        }
    }

    #[test]
    fn incomplete_frame_waits_for_more() {
        let bytes = hex(PING_FRAME);
        let mut decoder = FrameDecoder::new();
        decoder.push(&bytes[..5]);
        assert_eq!(decoder.next_message(), Ok(None), "half a header");
        decoder.push(&bytes[5..8]);
        assert_eq!(
            decoder.next_message(),
            Ok(None),
            "header and part of the payload"
        );
        decoder.push(&bytes[8..]);
        assert!(
            matches!(decoder.next_message(), Ok(Some(ControlMessage::Ping(_)))),
            "complete"
        );
        assert_eq!(decoder.next_message(), Ok(None), "nothing more");
    }

    #[test]
    fn oversized_length_is_refused_before_any_allocation() {
        let cases = [
            (9_u16, MAX_LARGE_LEN + 1),
            (9, u32::MAX as usize),
            (3, MAX_SMALL_LEN + 1),
            (1, MAX_TUNNEL_LEN + 1),
            (26, MAX_LARGE_LEN + 1),
        ];
        for (kind, len) in cases {
            let mut header = kind.to_be_bytes().to_vec();
            header.extend_from_slice(&(len as u32).to_be_bytes());
            let mut decoder = FrameDecoder::new();
            decoder.push(&header);
            let error = decoder.next_message().expect_err("too large");
            assert_eq!(
                error,
                ControlError::TooLarge {
                    kind,
                    len: len as u32,
                    max: max_payload_len(kind),
                },
                "type {kind}, {len} bytes"
            );
            assert!(
                decoder.buffer.capacity() < 64,
                "nothing reserved for the payload"
            );
            // Terminal: the error repeats, and further input is not buffered.
            decoder.push(&[0; 4096]);
            assert_eq!(decoder.next_message(), Err(error), "still failed");
            assert_eq!(
                decoder.buffered_len(),
                HEADER_LEN,
                "payload bytes were dropped"
            );
        }
        // Exactly at the limit is fine (it waits for the payload).
        let mut decoder = FrameDecoder::new();
        decoder.push(&hex("0009 007fffff"));
        assert_eq!(
            decoder.next_message(),
            Ok(None),
            "8 MiB - 1 is allowed for UserState"
        );
    }

    #[test]
    fn too_large_error_reads_as_a_sentence() {
        let error = ControlError::TooLarge {
            kind: 3,
            len: 70_000,
            max: MAX_SMALL_LEN,
        };
        assert_eq!(
            error.to_string(),
            "received a Ping message of 70000 bytes, more than the 65536 bytes allowed"
        );
        let unknown = ControlError::TooLarge {
            kind: 99,
            len: u32::MAX,
            max: MAX_LARGE_LEN,
        };
        assert!(unknown.to_string().contains("type 99"), "{unknown}");
    }

    #[test]
    fn garbage_payload_is_an_error_and_the_stream_goes_on() {
        let garbage = [
            // A UserState whose field 3 (name) is not UTF-8.
            hex("0009 00000004 1a02c328"),
            // A Ping whose varint is cut short.
            hex("0003 00000002 08ff"),
            // A TextMessage with a length-delimited field longer than the payload.
            hex("000b 00000003 2a7f41"),
            // Wire type 7 does not exist.
            hex("0000 00000001 0f"),
            // A CryptSetup key declaring ~4 GiB (a huge varint length).
            hex("000f 00000007 0affffffff0f00"),
        ];
        for bytes in garbage {
            let mut decoder = FrameDecoder::new();
            decoder.push(&bytes);
            decoder.push(&hex(PING_FRAME));
            let error = decoder.next_message().expect_err("malformed");
            assert!(matches!(error, ControlError::Malformed { .. }), "{error:?}");
            assert!(error.to_string().starts_with("received a "), "{error}");
            assert!(
                matches!(decoder.next_message(), Ok(Some(ControlMessage::Ping(_)))),
                "the next frame still decodes after {bytes:02x?}"
            );
        }
    }

    #[test]
    fn unknown_type_is_skipped_without_buffering() {
        // PluginDataTransmission (26) with a 5000-byte payload, then a Ping.
        let mut stream = hex("001a 00001388");
        stream.extend(std::iter::repeat_n(0xee, 5000));
        stream.extend(hex(PING_FRAME));
        for chunk in [1, 6, 7, 100, 5006, stream.len()] {
            let mut decoder = FrameDecoder::new();
            let mut decoded = Vec::new();
            let mut most_buffered = 0;
            for piece in stream.chunks(chunk) {
                decoder.push(piece);
                most_buffered = most_buffered.max(decoder.buffered_len());
                decoded.extend(decode_all(&mut decoder));
            }
            assert_eq!(
                decoded,
                vec![
                    ControlMessage::Unknown {
                        kind: 26,
                        len: 5000
                    },
                    ControlMessage::Ping(Ping {
                        timestamp: Some(1_234_567_890),
                        ..Default::default()
                    }),
                ],
                "chunks of {chunk}"
            );
            if chunk < 5000 {
                // One push, or a part of the trailing 12-byte Ping frame; never the 5000 bytes.
                let bound = chunk.max(PING_FRAME_LEN);
                assert!(
                    most_buffered <= bound,
                    "chunks of {chunk}: {most_buffered} buffered"
                );
            }
        }
    }

    #[test]
    fn tunnel_packets_stay_raw_and_within_limits() {
        let packet: Vec<u8> = (0..=255).cycle().take(MAX_TUNNEL_LEN).collect();
        let message = ControlMessage::UdpTunnel(packet.clone());
        let mut decoder = FrameDecoder::new();
        decoder.push(&frame(&message));
        assert_eq!(
            decode_all(&mut decoder),
            vec![message],
            "1024 bytes round-trip verbatim"
        );

        let mut out = vec![0xab];
        let too_big = ControlMessage::UdpTunnel(vec![0; MAX_TUNNEL_LEN + 1]);
        assert_eq!(
            encode(&too_big, &mut out),
            Err(ControlError::TooLargeToSend {
                kind: MessageType::UdpTunnel,
                len: MAX_TUNNEL_LEN + 1,
                max: MAX_TUNNEL_LEN,
            }),
            "a server would drop it"
        );
        assert_eq!(out, vec![0xab], "nothing written on error");
    }

    #[test]
    fn unknown_cannot_be_encoded() {
        let mut out = Vec::new();
        let unknown = ControlMessage::Unknown { kind: 26, len: 3 };
        assert_eq!(
            encode(&unknown, &mut out),
            Err(ControlError::UnknownNotEncodable { kind: 26 }),
            "no payload to send"
        );
        assert!(out.is_empty(), "nothing written");
    }

    #[test]
    fn repeated_numbers_are_sent_unpacked_and_read_either_way() {
        // proto2 default: one key per element (field 2, varint: key 0x10).
        let message = ControlMessage::TextMessage(TextMessage {
            session: vec![1, 2],
            message: "x".into(),
            ..Default::default()
        });
        assert_eq!(
            frame(&message),
            hex("000b 00000007 1001 1002 2a0178"),
            "unpacked"
        );
        // The packed form (key 0x12, length 2) decodes to the same message.
        let mut decoder = FrameDecoder::new();
        decoder.push(&hex("000b 00000007 12020102 2a0178"));
        assert_eq!(decode_all(&mut decoder), vec![message], "packed accepted");
    }

    #[test]
    fn reject_reasons_become_sentences() {
        let sentence = |kind: RejectType| {
            reject_reason(&Reject {
                r#type: Some(kind as i32),
                reason: None,
            })
            .to_string()
        };
        let expected = [
            (RejectType::None, "The server refused the connection."),
            (RejectType::WrongVersion, "does not accept this version"),
            (
                RejectType::InvalidUsername,
                "does not accept this user name",
            ),
            (
                RejectType::WrongUserPw,
                "certificate or password given for it is wrong",
            ),
            (
                RejectType::WrongServerPw,
                "server password is missing or wrong",
            ),
            (RejectType::UsernameInUse, "already uses this user name"),
            (RejectType::ServerFull, "The server is full"),
            (RejectType::NoCertificate, "present a certificate"),
            (
                RejectType::AuthenticatorFail,
                "authentication service failed",
            ),
            (
                RejectType::NoNewConnections,
                "does not accept new connections",
            ),
        ];
        for (kind, words) in expected {
            let text = sentence(kind);
            assert!(text.contains(words), "{kind:?}: {text}");
            assert!(text.ends_with('.'), "{kind:?}: a full sentence");
        }

        let with_reason = reject_reason(&Reject {
            r#type: Some(RejectType::InvalidUsername as i32),
            reason: Some("Invalid username".into()),
        })
        .to_string();
        assert_eq!(
            with_reason,
            "The server does not accept this user name. Choose another one. \
             The server said: Invalid username"
        );
        let unknown_code = reject_reason(&Reject {
            r#type: Some(42),
            reason: Some("  ".into()),
        })
        .to_string();
        assert_eq!(
            unknown_code,
            "The server refused the connection (reason code 42)."
        );
        let absent = reject_reason(&Reject::default()).to_string();
        assert_eq!(
            absent, "The server refused the connection.",
            "no type at all"
        );
        let long = reject_reason(&Reject {
            r#type: None,
            reason: Some("é".repeat(1000)),
        })
        .to_string();
        assert!(long.chars().count() < 400, "a hostile reason is cut short");
    }
}
