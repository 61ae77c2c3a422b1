//! Mumble's UDP voice packets: the legacy format (before 1.5) and the protobuf format (1.5+),
//! their pings, and the rule choosing between them (brief §1.8–§1.10).
//!
//! What this module owns: the plaintext of a voice datagram, that is what
//! [`CryptState`](super::crypt::CryptState) encrypts, and also the payload of a TCP `UDPTunnel`
//! message (type 1), which carries the same bytes unencrypted (brief §1.10). It does not own
//! the Opus frames inside (opaque bytes) nor the version exchange (the `Version` message of
//! `Mumble.proto`); [`udp_format`] takes the two versions as numbers.
//!
//! Facts come from Mumble's `src/MumbleProtocol.cpp`, `src/MumbleProtocol.h`,
//! `src/PacketDataStream.h`, `src/MumbleUDP.proto` and `src/Version.h`, read at commit
//! `3616998b`; the code is our own.
//!
//! # Legacy format
//! A header byte `type << 5 | target` (type 4 = Opus, 1 = ping), then fields in Mumble's own
//! variable-length integer encoding ([`write_varint`]): for audio, the sender's session (server
//! to client only), the sequence number, the Opus length with the terminator bit `0x2000`, the
//! Opus frame, and optionally 12 bytes of position (3 × `f32`, little-endian). A ping is `0x20`
//! followed by the varint timestamp.
//!
//! The unencrypted *server query* ping of server browsers has its own header-less layout (12
//! bytes to the server, 24 back; brief §1.9). It is decoded here as a [`PingPacket`] with
//! [`PingPacket::request_extended_information`] or [`PingPacket::server_info`], and only when
//! the first byte's type bits are 0 (the long-gone CELT Alpha codec), so that a 24-byte Opus
//! packet is never taken for a query reply, a confusion Mumble's own decoder has.
//!
//! # Protobuf format
//! One type byte (0 = `MumbleUDP.Audio`, 1 = `MumbleUDP.Ping`) followed by that proto3
//! message. The messages are written by hand for `prost` in the private `wire` module, with the
//! field numbers of `MumbleUDP.proto`.
//!
//! # Invariants
//! - Sans-IO: plain functions over bytes.
//! - Decoding never panics, rejects packets over [`MAX_PACKET_LEN`] bytes, and allocates at most
//!   in proportion to the packet (protobuf fields); legacy audio borrows its payload.
//! - Encoding appends to the caller's buffer, never produces more than [`MAX_PACKET_LEN`] bytes,
//!   and on error leaves the buffer as it was.
//! - Every packet that decodes re-encodes (in the same format) to bytes that decode to the same
//!   packet; `fuzz/fuzz_targets/mumble_voice.rs` checks it.

use std::borrow::Cow;

use prost::Message as _;

/// The largest voice packet, in either format and over UDP or the TCP tunnel
/// (`MAX_UDP_PACKET_SIZE` in `MumbleProtocol.h`).
pub const MAX_PACKET_LEN: usize = 1024;
/// The largest Opus frame the legacy length field can describe (13 bits).
pub const MAX_LEGACY_OPUS_LEN: usize = 0x1fff;
/// The target (client to server) asking the server to send the audio back: the echo test.
pub const SERVER_LOOPBACK_TARGET: u32 = 31;
/// The largest target or context the legacy header byte can carry (5 bits).
pub const MAX_LEGACY_TARGET: u32 = 31;

/// Bit 13 of the legacy Opus length field: the last packet of a transmission.
const LEGACY_TERMINATOR_BIT: u64 = 0x2000;
/// Legacy header types (`LegacyUDPMessageType` in `MumbleProtocol.h`).
const LEGACY_CELT_ALPHA: u8 = 0;
const LEGACY_PING: u8 = 1;
const LEGACY_OPUS: u8 = 4;
/// Protobuf type bytes (`UDPMessageType` in `MumbleProtocol.h`).
const PROTOBUF_AUDIO: u8 = 0;
const PROTOBUF_PING: u8 = 1;
/// The unencrypted server query ping: 4 zero bytes and a timestamp, and the 24-byte reply.
const QUERY_REQUEST_LEN: usize = 12;
const QUERY_REPLY_LEN: usize = 24;
/// How many `0xF8` (negation) prefixes Mumble's varint reader follows before giving up.
const MAX_VARINT_NEGATIONS: u32 = 8;

/// A Mumble version in the 1.5 encoding ("v2", `Version.version_v2` of `Mumble.proto`):
/// `major << 48 | minor << 32 | patch << 16`, 16 bits each, the low 16 bits unused.
pub const fn version_v2(major: u16, minor: u16, patch: u16) -> u64 {
    ((major as u64) << 48) | ((minor as u64) << 32) | ((patch as u64) << 16)
}

/// Converts the legacy encoding ("v1", `Version.version` of `Mumble.proto`, a `u32`:
/// `major << 16 | minor << 8 | patch`) to the v2 encoding, as Mumble's `fromLegacyVersion`.
pub const fn version_v1_to_v2(v1: u32) -> u64 {
    version_v2(
        (v1 >> 16) as u16,
        ((v1 >> 8) & 0xff) as u16,
        (v1 & 0xff) as u16,
    )
}

/// Converts a v2 version to the legacy v1 encoding, clamping minor and patch to 255 as
/// Mumble's `toLegacyVersion` does.
pub const fn version_v2_to_v1(v2: u64) -> u32 {
    let major = (v2 >> 48) as u32 & 0xffff;
    let minor = (v2 >> 32) as u32 & 0xffff;
    let patch = (v2 >> 16) as u32 & 0xffff;
    let minor = if minor > 255 { 255 } else { minor };
    let patch = if patch > 255 { 255 } else { patch };
    (major << 16) | (minor << 8) | patch
}

/// The first version speaking the protobuf UDP format, 1.5.0 in the v2 encoding
/// (`PROTOBUF_INTRODUCTION_VERSION` in `MumbleProtocol.h`).
pub const PROTOBUF_INTRODUCTION_VERSION: u64 = version_v2(1, 5, 0);

/// The two encodings of a voice packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UdpFormat {
    /// The format of Mumble before 1.5 (`*_legacy` in `MumbleProtocol.cpp`).
    Legacy,
    /// `MumbleUDP.proto` messages behind a type byte, since 1.5.
    Protobuf,
}

/// The voice format a client must use, in both directions (brief §1.8).
///
/// Both versions are in the v2 encoding (see [`version_v2`]; convert a peer's legacy-only
/// `Version.version` with [`version_v1_to_v2`]); 0 means unknown. The server encodes and
/// decodes per user from the version that user announced, and the official client follows the
/// server's version, so the formats agree only if protobuf is used iff *both* versions are at
/// least 1.5.0. Announcing 1.4 to a 1.5 server and parsing protobuf fails (measured, brief
/// §1.8). A legacy client of a 1.5 server also loses the packets whose nonce byte is `0x01`
/// (a server bug, brief §1.8), so a client should announce 1.5 or later.
pub fn udp_format(client_version: u64, server_version: u64) -> UdpFormat {
    if client_version.min(server_version) >= PROTOBUF_INTRODUCTION_VERSION {
        UdpFormat::Protobuf
    } else {
        UdpFormat::Legacy
    }
}

/// Which way a packet travels; it decides the legacy audio layout (the sender's session is only
/// in packets from the server) and which field of the protobuf `Header` oneof is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From a client to the server.
    ToServer,
    /// From the server to a client.
    ToClient,
}

/// One voice datagram's plaintext, or one tunnelled voice packet.
#[derive(Debug, Clone, PartialEq)]
pub enum VoicePacket<'a> {
    /// An Opus frame (legacy type 4, or `MumbleUDP.Audio`).
    Audio(AudioPacket<'a>),
    /// A ping (legacy type 1 or the server query layout, or `MumbleUDP.Ping`).
    Ping(PingPacket),
}

/// An Opus audio packet (`AudioData` in `MumbleProtocol.h`).
#[derive(Debug, Clone, PartialEq)]
pub struct AudioPacket<'a> {
    /// Client to server: the target, 0 for normal talking, 1–30 for a `VoiceTarget` id,
    /// [`SERVER_LOOPBACK_TARGET`] for the echo test. Server to client: the context, 0 normal,
    /// 1 shout, 2 whisper, 3 through a channel listener. At most 31 in the legacy format.
    pub target: u32,
    /// The sender's session; `Some` exactly in packets from the server. The encoders write the
    /// server-to-client layout when it is `Some`.
    pub session: Option<u32>,
    /// The index of the first 10 ms frame in this packet (`frame_number`).
    pub sequence: u64,
    /// One Opus packet (10 to 60 ms). Empty is allowed only in the legacy format.
    pub payload: Cow<'a, [u8]>,
    /// The last packet of a transmission.
    pub terminator: bool,
    /// The speaker's position (x, y, z) in a virtual world, in metres.
    pub positional: Option<[f32; 3]>,
    /// A gain factor the server asks the receiver to apply (protobuf only, from the server);
    /// `Some(0.0)` means the same as `None` on the wire.
    pub volume_adjustment: Option<f32>,
}

/// A ping (`PingData` in `MumbleProtocol.h`, `MumbleUDP.Ping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PingPacket {
    /// Opaque to the server, echoed back; the client measures the round trip with it. In the
    /// legacy server query layout it is 8 raw bytes, read and written big-endian here.
    pub timestamp: u64,
    /// Asks the server to reply with [`ServerInfo`] (the unencrypted server query).
    pub request_extended_information: bool,
    /// The server's answer to a query.
    pub server_info: Option<ServerInfo>,
}

/// What a server tells about itself in reply to a query ping (brief §1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerInfo {
    /// The server's version in the v2 encoding (see [`version_v2`]). It must not be 0 in the
    /// protobuf format, where 0 means "no server information".
    pub version: u64,
    /// Users connected now.
    pub users: u32,
    /// Users allowed.
    pub max_users: u32,
    /// Bandwidth allowed per user for voice, in bit/s.
    pub max_bandwidth: u32,
}

/// Why bytes are not a valid voice packet, or a packet cannot be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VoiceError {
    /// A packet of 0 or 1 byte (Mumble drops those too).
    #[error("a voice packet of {0} bytes is too short")]
    TooShort(usize),
    /// A packet (to decode or as encoded) over 1024 bytes.
    #[error("a voice packet of {0} bytes exceeds the 1024-byte limit")]
    TooLong(usize),
    /// A type byte (protobuf) or legacy header type not defined by Mumble.
    #[error("unknown voice packet type {0:#04x}")]
    UnknownType(u8),
    /// A legacy packet for CELT or Speex, which palabre does not decode.
    #[error("legacy voice packet with the unsupported codec type {0}")]
    UnsupportedCodec(u8),
    /// A field runs past the end of the packet.
    #[error("a voice packet is truncated")]
    Truncated,
    /// More nested negations in a varint than Mumble follows.
    #[error("a varint nests more than 8 negations")]
    VarintTooDeep,
    /// A session number above 32 bits.
    #[error("sender session {0} does not fit 32 bits")]
    SessionOutOfRange(u64),
    /// Bytes left after the last field: anything but 12 bytes of position after legacy audio,
    /// anything after a legacy ping's timestamp.
    #[error("{0} unexpected bytes at the end of a voice packet")]
    TrailingBytes(usize),
    /// The protobuf message does not parse.
    #[error("malformed protobuf voice packet: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// A protobuf audio packet without Opus data (Mumble rejects it).
    #[error("a protobuf audio packet has no Opus data")]
    EmptyPayload,
    /// Protobuf positional data with other than 3 coordinates.
    #[error("positional data has {0} coordinates, not 3")]
    PositionalLength(usize),
    /// A target or context above 31, which the legacy header byte cannot carry.
    #[error("target {0} does not fit the legacy header")]
    TargetOutOfRange(u32),
    /// An Opus frame longer than the legacy length field can describe.
    #[error("an Opus frame of {0} bytes is too long for the legacy format")]
    PayloadTooLong(usize),
}

impl<'a> VoicePacket<'a> {
    /// Decodes a packet in the given format (see [`udp_format`]).
    pub fn decode(
        format: UdpFormat,
        direction: Direction,
        packet: &'a [u8],
    ) -> Result<Self, VoiceError> {
        match format {
            UdpFormat::Legacy => Self::decode_legacy(packet, direction),
            UdpFormat::Protobuf => Self::decode_protobuf(packet, direction),
        }
    }

    /// Appends the packet in the given format (see [`udp_format`]) to `out`.
    pub fn encode(&self, format: UdpFormat, out: &mut Vec<u8>) -> Result<(), VoiceError> {
        match format {
            UdpFormat::Legacy => self.encode_legacy(out),
            UdpFormat::Protobuf => self.encode_protobuf(out),
        }
    }

    /// Decodes a legacy packet (`UDPDecoder::decode` with a version below 1.5); an audio
    /// payload is borrowed from `packet`.
    pub fn decode_legacy(packet: &'a [u8], direction: Direction) -> Result<Self, VoiceError> {
        check_len(packet)?;
        // `check_len` guarantees at least 2 bytes.
        let header = packet[0];
        let kind = header >> 5;
        match kind {
            LEGACY_OPUS => decode_legacy_audio(packet, direction).map(Self::Audio),
            LEGACY_PING => {
                let mut reader = Reader::new(&packet[1..]);
                let timestamp = reader.varint()?;
                reader.finish()?;
                Ok(Self::Ping(PingPacket {
                    timestamp,
                    request_extended_information: false,
                    server_info: None,
                }))
            }
            LEGACY_CELT_ALPHA if is_query(packet, direction) => {
                Ok(Self::Ping(decode_query(packet)))
            }
            0..=3 => Err(VoiceError::UnsupportedCodec(kind)),
            _ => Err(VoiceError::UnknownType(header)),
        }
    }

    /// Appends the packet in the legacy format to `out`.
    ///
    /// Audio: the session is written iff it is `Some`; `volume_adjustment` has no legacy field
    /// and is dropped. Ping: with `server_info` the 24-byte query reply, else with
    /// `request_extended_information` the 12-byte query, else `0x20` and the timestamp.
    pub fn encode_legacy(&self, out: &mut Vec<u8>) -> Result<(), VoiceError> {
        let start = out.len();
        match self {
            Self::Audio(audio) => {
                let target = u8::try_from(audio.target)
                    .ok()
                    .filter(|&t| u32::from(t) <= MAX_LEGACY_TARGET)
                    .ok_or(VoiceError::TargetOutOfRange(audio.target))?;
                if audio.payload.len() > MAX_LEGACY_OPUS_LEN {
                    return Err(VoiceError::PayloadTooLong(audio.payload.len()));
                }
                out.push((LEGACY_OPUS << 5) | target);
                if let Some(session) = audio.session {
                    write_varint(session.into(), out);
                }
                write_varint(audio.sequence, out);
                let terminator = if audio.terminator {
                    LEGACY_TERMINATOR_BIT
                } else {
                    0
                };
                // The length is at most 0x1fff (checked above), so it leaves bit 13 free.
                write_varint(audio.payload.len() as u64 | terminator, out);
                out.extend_from_slice(&audio.payload);
                if let Some(position) = audio.positional {
                    for coordinate in position {
                        out.extend_from_slice(&coordinate.to_le_bytes());
                    }
                }
            }
            Self::Ping(ping) => {
                if let Some(info) = ping.server_info {
                    out.extend_from_slice(&version_v2_to_v1(info.version).to_be_bytes());
                    out.extend_from_slice(&ping.timestamp.to_be_bytes());
                    out.extend_from_slice(&info.users.to_be_bytes());
                    out.extend_from_slice(&info.max_users.to_be_bytes());
                    out.extend_from_slice(&info.max_bandwidth.to_be_bytes());
                } else if ping.request_extended_information {
                    out.extend_from_slice(&[0; 4]);
                    out.extend_from_slice(&ping.timestamp.to_be_bytes());
                } else {
                    out.push(LEGACY_PING << 5);
                    write_varint(ping.timestamp, out);
                }
            }
        }
        check_encoded_len(out, start)
    }

    /// Decodes a protobuf packet (`UDPDecoder::decode` with a version of 1.5 or later).
    ///
    /// From the `Header` oneof, a packet to the server yields `target` and one to a client
    /// yields `context` (0 if the other one is set, as Mumble). The session is `Some` in
    /// packets to a client, where the server always sets it.
    pub fn decode_protobuf(packet: &'a [u8], direction: Direction) -> Result<Self, VoiceError> {
        check_len(packet)?;
        // `check_len` guarantees at least 2 bytes.
        let body = &packet[1..];
        match packet[0] {
            PROTOBUF_AUDIO => {
                let audio = wire::Audio::decode(body)?;
                if audio.opus_data.is_empty() {
                    return Err(VoiceError::EmptyPayload);
                }
                let positional = match audio.positional_data.as_slice() {
                    [] => None,
                    &[x, y, z] => Some([x, y, z]),
                    other => return Err(VoiceError::PositionalLength(other.len())),
                };
                let target = match (direction, audio.header) {
                    (Direction::ToServer, Some(wire::audio::Header::Target(target)))
                    | (Direction::ToClient, Some(wire::audio::Header::Context(target))) => target,
                    _ => 0,
                };
                Ok(Self::Audio(AudioPacket {
                    target,
                    session: (direction == Direction::ToClient).then_some(audio.sender_session),
                    sequence: audio.frame_number,
                    payload: Cow::Owned(audio.opus_data),
                    terminator: audio.is_terminator,
                    positional,
                    volume_adjustment: (audio.volume_adjustment != 0.0)
                        .then_some(audio.volume_adjustment),
                }))
            }
            PROTOBUF_PING => {
                let ping = wire::Ping::decode(body)?;
                // As Mumble: a zero version means the server information is absent.
                let server_info = (ping.server_version_v2 != 0).then_some(ServerInfo {
                    version: ping.server_version_v2,
                    users: ping.user_count,
                    max_users: ping.max_user_count,
                    max_bandwidth: ping.max_bandwidth_per_user,
                });
                Ok(Self::Ping(PingPacket {
                    timestamp: ping.timestamp.unwrap_or(0),
                    request_extended_information: ping.request_extended_information,
                    server_info,
                }))
            }
            other => Err(VoiceError::UnknownType(other)),
        }
    }

    /// Appends the packet in the protobuf format to `out`.
    ///
    /// Audio: with a session, the server-to-client form (`context` and `sender_session`),
    /// else the client-to-server form (`target`); the oneof is always written, as Mumble does.
    /// Ping: the timestamp is always written, so that the packet never shrinks to the bare type
    /// byte, which Mumble drops.
    pub fn encode_protobuf(&self, out: &mut Vec<u8>) -> Result<(), VoiceError> {
        let start = out.len();
        let result = match self {
            Self::Audio(audio) => {
                if audio.payload.is_empty() {
                    return Err(VoiceError::EmptyPayload);
                }
                let header = match audio.session {
                    Some(_) => wire::audio::Header::Context(audio.target),
                    None => wire::audio::Header::Target(audio.target),
                };
                let message = wire::Audio {
                    header: Some(header),
                    sender_session: audio.session.unwrap_or(0),
                    frame_number: audio.sequence,
                    // The payload is checked against the packet limit below; at most one copy.
                    opus_data: audio.payload.to_vec(),
                    positional_data: audio.positional.map(Vec::from).unwrap_or_default(),
                    volume_adjustment: audio.volume_adjustment.unwrap_or(0.0),
                    is_terminator: audio.terminator,
                };
                encode_message(PROTOBUF_AUDIO, &message, out)
            }
            Self::Ping(ping) => {
                let info = ping.server_info;
                let message = wire::Ping {
                    timestamp: Some(ping.timestamp),
                    request_extended_information: ping.request_extended_information,
                    server_version_v2: info.map_or(0, |i| i.version),
                    user_count: info.map_or(0, |i| i.users),
                    max_user_count: info.map_or(0, |i| i.max_users),
                    max_bandwidth_per_user: info.map_or(0, |i| i.max_bandwidth),
                };
                encode_message(PROTOBUF_PING, &message, out)
            }
        };
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The same packet, owning its payload.
    pub fn into_owned(self) -> VoicePacket<'static> {
        match self {
            Self::Audio(audio) => VoicePacket::Audio(AudioPacket {
                payload: Cow::Owned(audio.payload.into_owned()),
                ..audio
            }),
            Self::Ping(ping) => VoicePacket::Ping(ping),
        }
    }
}

/// Legacy Opus audio (`decodeAudio_legacy`); `packet[0]` is the header byte.
fn decode_legacy_audio(packet: &[u8], direction: Direction) -> Result<AudioPacket<'_>, VoiceError> {
    // Header, at least one byte of sequence, at least one of length (Mumble's minimum).
    if packet.len() < 3 {
        return Err(VoiceError::TooShort(packet.len()));
    }
    let mut reader = Reader::new(&packet[1..]);
    let session = match direction {
        Direction::ToClient => {
            let session = reader.varint()?;
            Some(u32::try_from(session).map_err(|_| VoiceError::SessionOutOfRange(session))?)
        }
        Direction::ToServer => None,
    };
    let sequence = reader.varint()?;
    // Bits above 13 of the length field are ignored, as by Mumble.
    let length = reader.varint()?;
    let terminator = length & LEGACY_TERMINATOR_BIT != 0;
    // Masked to 13 bits, so the cast is lossless.
    let payload = reader.take((length & MAX_LEGACY_OPUS_LEN as u64) as usize)?;
    let positional = match reader.rest() {
        [] => None,
        rest => {
            let floats: &[u8; 12] = rest
                .try_into()
                .map_err(|_| VoiceError::TrailingBytes(rest.len()))?;
            let float = |i: usize| {
                f32::from_le_bytes([floats[i], floats[i + 1], floats[i + 2], floats[i + 3]])
            };
            Some([float(0), float(4), float(8)])
        }
    };
    Ok(AudioPacket {
        target: u32::from(packet[0] & 0x1f),
        session,
        sequence,
        payload: Cow::Borrowed(payload),
        terminator,
        positional,
        volume_adjustment: None,
    })
}

/// Whether a legacy packet whose header type is 0 is the header-less server query: 12 bytes
/// starting with 4 zero bytes to the server, 24 bytes to a client (`decodePing_legacy`).
fn is_query(packet: &[u8], direction: Direction) -> bool {
    match direction {
        Direction::ToServer => packet.len() == QUERY_REQUEST_LEN && packet[..4] == [0; 4],
        Direction::ToClient => packet.len() == QUERY_REPLY_LEN,
    }
}

/// Reads a server query (request or reply) whose length [`is_query`] checked.
fn decode_query(packet: &[u8]) -> PingPacket {
    // `is_query` checked the length: 12 or 24 bytes, so every index below is in bounds.
    let u32_at =
        |i: usize| u32::from_be_bytes([packet[i], packet[i + 1], packet[i + 2], packet[i + 3]]);
    let timestamp = (u64::from(u32_at(4)) << 32) | u64::from(u32_at(8));
    if packet.len() == QUERY_REPLY_LEN {
        PingPacket {
            timestamp,
            request_extended_information: false,
            server_info: Some(ServerInfo {
                version: version_v1_to_v2(u32_at(0)),
                users: u32_at(12),
                max_users: u32_at(16),
                max_bandwidth: u32_at(20),
            }),
        }
    } else {
        PingPacket {
            timestamp,
            request_extended_information: true,
            server_info: None,
        }
    }
}

/// Mumble drops packets of 0 or 1 byte, and none may exceed 1024.
fn check_len(packet: &[u8]) -> Result<(), VoiceError> {
    match packet.len() {
        0 | 1 => Err(VoiceError::TooShort(packet.len())),
        len if len > MAX_PACKET_LEN => Err(VoiceError::TooLong(len)),
        _ => Ok(()),
    }
}

/// Undoes an encoding that went over the limit.
fn check_encoded_len(out: &mut Vec<u8>, start: usize) -> Result<(), VoiceError> {
    let len = out.len() - start;
    if len > MAX_PACKET_LEN {
        out.truncate(start);
        return Err(VoiceError::TooLong(len));
    }
    Ok(())
}

/// Appends the type byte and the message, if they fit in a packet.
fn encode_message(
    kind: u8,
    message: &impl prost::Message,
    out: &mut Vec<u8>,
) -> Result<(), VoiceError> {
    let len = 1 + message.encoded_len();
    if len > MAX_PACKET_LEN {
        return Err(VoiceError::TooLong(len));
    }
    out.reserve(len);
    out.push(kind);
    // A `Vec` grows as needed, so prost's "not enough capacity" cannot happen; map it anyway.
    message.encode(out).map_err(|_| VoiceError::TooLong(len))
}

/// Appends `value` in Mumble's variable-length integer encoding (`PacketDataStream`), which is
/// big-endian and prefix-coded, not protobuf's LEB128 (brief §1.8):
///
/// | value | bytes |
/// |---|---|
/// | `< 0x80` | `0xxxxxxx` |
/// | `< 0x4000` | `10xxxxxx` + 1 byte |
/// | `< 0x20_0000` | `110xxxxx` + 2 bytes |
/// | `< 0x1000_0000` | `1110xxxx` + 3 bytes |
/// | `< 2^32` | `0xF0` + 4 bytes |
/// | otherwise | `0xF4` + 8 bytes |
/// | −1 to −4 | `0xFC \| !v` |
/// | −5 to −2^32 | `0xF8` + varint(`!v`) |
///
/// A negative number is a `u64` in two's complement (`i64 as u64`); negatives below −2^32
/// take the 9-byte form, as in Mumble.
pub fn write_varint(value: u64, out: &mut Vec<u8>) {
    let mut value = value;
    if value >> 63 == 1 && !value < 1 << 32 {
        value = !value;
        if value <= 3 {
            out.push(0xfc | value as u8);
            return;
        }
        out.push(0xf8);
    }
    let be = value.to_be_bytes();
    match value {
        0..0x80 => out.push(be[7]),
        0x80..0x4000 => out.extend_from_slice(&[0x80 | be[6], be[7]]),
        0x4000..0x20_0000 => out.extend_from_slice(&[0xc0 | be[5], be[6], be[7]]),
        0x20_0000..0x1000_0000 => out.extend_from_slice(&[0xe0 | be[4], be[5], be[6], be[7]]),
        0x1000_0000..0x1_0000_0000 => {
            out.push(0xf0);
            out.extend_from_slice(&be[4..]);
        }
        _ => {
            out.push(0xf4);
            out.extend_from_slice(&be);
        }
    }
}

/// Reads one Mumble varint (see [`write_varint`]) from the start of `input`; returns the
/// value and the number of bytes read. Accepts every form Mumble's reader does, including
/// non-minimal ones and up to 8 nested `0xF8` negations; the two unused low bits of the
/// `0xF0`/`0xF4` prefixes are ignored, as by Mumble.
pub fn read_varint(input: &[u8]) -> Result<(u64, usize), VoiceError> {
    let mut pos = 0;
    let mut negations = 0;
    let next = |pos: &mut usize| {
        let byte = input.get(*pos).copied().ok_or(VoiceError::Truncated);
        *pos += 1;
        byte
    };
    loop {
        let first = next(&mut pos)?;
        let (mut value, extra) = match first {
            0x00..=0x7f => (u64::from(first), 0),
            0x80..=0xbf => (u64::from(first & 0x3f), 1),
            0xc0..=0xdf => (u64::from(first & 0x1f), 2),
            0xe0..=0xef => (u64::from(first & 0x0f), 3),
            _ => match first & 0xfc {
                0xf0 => (0, 4),
                0xf4 => (0, 8),
                0xf8 => {
                    if negations >= MAX_VARINT_NEGATIONS {
                        return Err(VoiceError::VarintTooDeep);
                    }
                    negations += 1;
                    continue;
                }
                _ => (!u64::from(first & 0x03), 0),
            },
        };
        for _ in 0..extra {
            value = (value << 8) | u64::from(next(&mut pos)?);
        }
        if negations % 2 == 1 {
            value = !value;
        }
        return Ok((value, pos));
    }
}

/// A cursor over a legacy packet's fields.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn varint(&mut self) -> Result<u64, VoiceError> {
        let (value, used) = read_varint(self.rest)?;
        // `read_varint` only counts bytes it read from `rest`.
        self.rest = &self.rest[used..];
        Ok(value)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], VoiceError> {
        if len > self.rest.len() {
            return Err(VoiceError::Truncated);
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn rest(&self) -> &'a [u8] {
        self.rest
    }

    fn finish(&self) -> Result<(), VoiceError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(VoiceError::TrailingBytes(n)),
        }
    }
}

/// The messages of `MumbleUDP.proto` (package `MumbleUDP`, proto3), written by hand for prost
/// with the same field numbers; the Rust names are prost-build's.
mod wire {
    /// `MumbleUDP.Audio`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Audio {
        /// `oneof Header { uint32 target = 1; uint32 context = 2; }`.
        #[prost(oneof = "audio::Header", tags = "1, 2")]
        pub header: Option<audio::Header>,
        /// `uint32 sender_session = 3`.
        #[prost(uint32, tag = "3")]
        pub sender_session: u32,
        /// `uint64 frame_number = 4`.
        #[prost(uint64, tag = "4")]
        pub frame_number: u64,
        /// `bytes opus_data = 5`.
        #[prost(bytes = "vec", tag = "5")]
        pub opus_data: Vec<u8>,
        /// `repeated float positional_data = 6` (packed, proto3's default).
        #[prost(float, repeated, tag = "6")]
        pub positional_data: Vec<f32>,
        /// `float volume_adjustment = 7`; 0 means unset.
        #[prost(float, tag = "7")]
        pub volume_adjustment: f32,
        /// `bool is_terminator = 16`.
        #[prost(bool, tag = "16")]
        pub is_terminator: bool,
    }

    /// Nested types of `MumbleUDP.Audio`.
    pub mod audio {
        /// The `Header` oneof: who the audio is for (client to server) or how it was sent
        /// (server to client).
        #[derive(Clone, Copy, PartialEq, prost::Oneof)]
        pub enum Header {
            /// `uint32 target = 1`.
            #[prost(uint32, tag = "1")]
            Target(u32),
            /// `uint32 context = 2`.
            #[prost(uint32, tag = "2")]
            Context(u32),
        }
    }

    /// `MumbleUDP.Ping`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Ping {
        /// `uint64 timestamp = 1`. Declared with explicit presence (wire-compatible) so that a
        /// zero timestamp is still written and the packet is never the bare type byte.
        #[prost(uint64, optional, tag = "1")]
        pub timestamp: Option<u64>,
        /// `bool request_extended_information = 2`.
        #[prost(bool, tag = "2")]
        pub request_extended_information: bool,
        /// `uint64 server_version_v2 = 3`.
        #[prost(uint64, tag = "3")]
        pub server_version_v2: u64,
        /// `uint32 user_count = 4`.
        #[prost(uint32, tag = "4")]
        pub user_count: u32,
        /// `uint32 max_user_count = 5`.
        #[prost(uint32, tag = "5")]
        pub max_user_count: u32,
        /// `uint32 max_bandwidth_per_user = 6`.
        #[prost(uint32, tag = "6")]
        pub max_bandwidth_per_user: u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect()
    }

    fn varint(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_varint(value, &mut out);
        out
    }

    fn audio(payload: &[u8]) -> AudioPacket<'_> {
        AudioPacket {
            target: 0,
            session: None,
            sequence: 0,
            payload: Cow::Borrowed(payload),
            terminator: false,
            positional: None,
            volume_adjustment: None,
        }
    }

    fn ping(timestamp: u64) -> PingPacket {
        PingPacket {
            timestamp,
            request_extended_information: false,
            server_info: None,
        }
    }

    fn encoded(packet: &VoicePacket<'_>, format: UdpFormat) -> Vec<u8> {
        let mut out = Vec::new();
        packet.encode(format, &mut out).expect("encodable");
        out
    }

    /// Encodes, compares with the expected bytes, decodes back and compares with the packet.
    fn check(packet: VoicePacket<'_>, format: UdpFormat, direction: Direction, expected: &str) {
        let bytes = encoded(&packet, format);
        assert_eq!(bytes, hex(expected), "{packet:?}");
        assert_eq!(VoicePacket::decode(format, direction, &bytes), Ok(packet));
    }

    #[test]
    fn varint_forms_byte_for_byte() {
        let cases: &[(u64, &str)] = &[
            (0, "00"),
            (0x7f, "7f"),
            (0x80, "80 80"),
            (300, "81 2c"), // The brief's example.
            (0x3fff, "bf ff"),
            (0x4000, "c0 40 00"),
            (0x1f_ffff, "df ff ff"),
            (0x20_0000, "e0 20 00 00"),
            (0x0fff_ffff, "ef ff ff ff"),
            (0x1000_0000, "f0 10 00 00 00"),
            (0xffff_ffff, "f0 ff ff ff ff"),
            (0x1_0000_0000, "f4 00 00 00 01 00 00 00 00"),
            (0x7fff_ffff_ffff_ffff, "f4 7f ff ff ff ff ff ff ff"),
            (-1i64 as u64, "fc"),
            (-4i64 as u64, "ff"),
            (-5i64 as u64, "f8 04"),
            (-300i64 as u64, "f8 81 2b"),
            (-(1i64 << 32) as u64, "f8 f0 ff ff ff ff"),
            // Below -2^32 Mumble writes the raw 64 bits.
            (-(1i64 << 32) as u64 - 1, "f4 ff ff ff fe ff ff ff ff"),
            (i64::MIN as u64, "f4 80 00 00 00 00 00 00 00"),
        ];
        for &(value, bytes) in cases {
            let bytes = hex(bytes);
            assert_eq!(varint(value), bytes, "{value:#x}");
            assert_eq!(read_varint(&bytes), Ok((value, bytes.len())), "{value:#x}");
        }
    }

    #[test]
    fn varint_reads_what_mumble_reads() {
        // Non-minimal forms.
        assert_eq!(read_varint(&hex("80 05")), Ok((5, 2)));
        assert_eq!(read_varint(&hex("f0 00 00 00 05")), Ok((5, 5)));
        // The unused low bits of 0xF0/0xF4 are ignored.
        assert_eq!(read_varint(&hex("f3 00 00 00 05")), Ok((5, 5)));
        assert_eq!(read_varint(&hex("f7 00 00 00 00 00 00 00 05")), Ok((5, 9)));
        // Nested negations: up to 8, then refused.
        assert_eq!(read_varint(&hex("f8 f8 05")), Ok((5, 3)));
        assert_eq!(read_varint(&hex("f8 fc")), Ok((0, 2)));
        let mut deep = vec![0xf8; 8];
        deep.push(0x05);
        assert_eq!(read_varint(&deep), Ok((5, 9)));
        deep.insert(0, 0xf8);
        assert_eq!(read_varint(&deep), Err(VoiceError::VarintTooDeep));
        // Stops at its end.
        assert_eq!(read_varint(&hex("05 ff")), Ok((5, 1)));
        // Truncations.
        for bytes in ["", "80", "c0 00", "e0 00 00", "f0 00 00 00", "f4 00", "f8"] {
            assert_eq!(
                read_varint(&hex(bytes)),
                Err(VoiceError::Truncated),
                "{bytes}"
            );
        }
    }

    #[test]
    fn varint_round_trips() {
        let mut values = vec![0, 1, u64::MAX, u64::MAX - 3, u64::MAX - 4, 1 << 63];
        for shift in 0..64 {
            let v = 1u64 << shift;
            values.extend([v - 1, v, v + 1, !v, !(v - 1), (!v).wrapping_add(1)]);
        }
        for value in values {
            let bytes = varint(value);
            assert_eq!(read_varint(&bytes), Ok((value, bytes.len())), "{value:#x}");
        }
    }

    #[test]
    fn legacy_audio_client_to_server() {
        let mut packet = audio(&[0xaa, 0xbb]);
        packet.sequence = 2;
        check(
            VoicePacket::Audio(packet.clone()),
            UdpFormat::Legacy,
            Direction::ToServer,
            "80 02 02 aa bb",
        );
        // Terminator: length 2 | 0x2000 = 0x2002, a two-byte varint.
        packet.terminator = true;
        check(
            VoicePacket::Audio(packet.clone()),
            UdpFormat::Legacy,
            Direction::ToServer,
            "80 02 a0 02 aa bb",
        );
        // Whisper to VoiceTarget 5, and the echo test target.
        packet.terminator = false;
        packet.target = 5;
        check(
            VoicePacket::Audio(packet.clone()),
            UdpFormat::Legacy,
            Direction::ToServer,
            "85 02 02 aa bb",
        );
        packet.target = SERVER_LOOPBACK_TARGET;
        check(
            VoicePacket::Audio(packet.clone()),
            UdpFormat::Legacy,
            Direction::ToServer,
            "9f 02 02 aa bb",
        );
        // Position: 3 little-endian f32 after the payload.
        packet.target = 0;
        packet.positional = Some([1.0, -2.0, 0.5]);
        check(
            VoicePacket::Audio(packet),
            UdpFormat::Legacy,
            Direction::ToServer,
            "80 02 02 aa bb 0000803f 000000c0 0000003f",
        );
    }

    #[test]
    fn legacy_audio_server_to_client() {
        let mut packet = audio(&[0x01, 0x02, 0x03]);
        packet.session = Some(5);
        packet.sequence = 300;
        packet.target = 2; // Whisper context.
        check(
            VoicePacket::Audio(packet.clone()),
            UdpFormat::Legacy,
            Direction::ToClient,
            "82 05 81 2c 03 010203",
        );
        // A big session and a 130-byte frame with the terminator.
        let frame = [0x5a; 130];
        packet.session = Some(70_000);
        packet.payload = Cow::Borrowed(&frame);
        packet.terminator = true;
        let expected = format!("82 c1 11 70 81 2c a0 82 {}", "5a".repeat(130));
        check(
            VoicePacket::Audio(packet),
            UdpFormat::Legacy,
            Direction::ToClient,
            &expected,
        );
    }

    #[test]
    fn legacy_decoding_borrows_the_payload() {
        let bytes = hex("80 02 02 aa bb");
        let Ok(VoicePacket::Audio(audio)) = VoicePacket::decode_legacy(&bytes, Direction::ToServer)
        else {
            panic!("audio expected");
        };
        assert!(matches!(audio.payload, Cow::Borrowed(_)));
        let owned = VoicePacket::Audio(audio).into_owned();
        assert!(matches!(&owned, VoicePacket::Audio(a) if matches!(a.payload, Cow::Owned(_))));
    }

    #[test]
    fn legacy_pings() {
        // Connectivity ping: 0x20 and the varint timestamp, both ways.
        check(
            VoicePacket::Ping(ping(300)),
            UdpFormat::Legacy,
            Direction::ToServer,
            "20 81 2c",
        );
        check(
            VoicePacket::Ping(ping(300)),
            UdpFormat::Legacy,
            Direction::ToClient,
            "20 81 2c",
        );
        check(
            VoicePacket::Ping(ping(u64::MAX - 1)),
            UdpFormat::Legacy,
            Direction::ToClient,
            "20 fd",
        );
        // The target bits of a ping are ignored.
        assert_eq!(
            VoicePacket::decode_legacy(&hex("3f 05"), Direction::ToClient),
            Ok(VoicePacket::Ping(ping(5)))
        );
        // Server query: 4 zero bytes and 8 opaque timestamp bytes...
        let query = PingPacket {
            request_extended_information: true,
            ..ping(0x0102_0304_0506_0708)
        };
        check(
            VoicePacket::Ping(query),
            UdpFormat::Legacy,
            Direction::ToServer,
            "00000000 0102030405060708",
        );
        // ...answered by version (1.3.4), timestamp, users, max users, bandwidth.
        let reply = PingPacket {
            server_info: Some(ServerInfo {
                version: version_v2(1, 3, 4),
                users: 3,
                max_users: 100,
                max_bandwidth: 72_000,
            }),
            ..ping(0x0102_0304_0506_0708)
        };
        check(
            VoicePacket::Ping(reply),
            UdpFormat::Legacy,
            Direction::ToClient,
            "00010304 0102030405060708 00000003 00000064 00011940",
        );
    }

    #[test]
    fn legacy_query_is_not_confused_with_audio() {
        // A 24-byte Opus packet to a client is audio, not a query reply (Mumble's decoder
        // tries the reply layout first on any 24-byte packet).
        let frame = [0x11; 20];
        let mut packet = audio(&frame);
        packet.session = Some(1);
        let bytes = encoded(&VoicePacket::Audio(packet), UdpFormat::Legacy);
        assert_eq!(bytes.len(), 24);
        assert!(matches!(
            VoicePacket::decode_legacy(&bytes, Direction::ToClient),
            Ok(VoicePacket::Audio(_))
        ));
        // A 12-byte CELT-type packet to the server without the zero prefix is refused.
        let bytes = hex("00000001 0102030405060708");
        assert_eq!(
            VoicePacket::decode_legacy(&bytes, Direction::ToServer),
            Err(VoiceError::UnsupportedCodec(0))
        );
    }

    #[test]
    fn legacy_malformed_inputs() {
        let cases: &[(&str, Direction, VoiceError)] = &[
            ("", Direction::ToServer, VoiceError::TooShort(0)),
            ("80", Direction::ToServer, VoiceError::TooShort(1)),
            ("80 02", Direction::ToServer, VoiceError::TooShort(2)),
            // Header types 0, 2, 3 (CELT, Speex) and 5–7.
            (
                "00 00 00",
                Direction::ToServer,
                VoiceError::UnsupportedCodec(0),
            ),
            (
                "40 00 00",
                Direction::ToServer,
                VoiceError::UnsupportedCodec(2),
            ),
            (
                "60 00 00",
                Direction::ToServer,
                VoiceError::UnsupportedCodec(3),
            ),
            (
                "a0 00 00",
                Direction::ToServer,
                VoiceError::UnknownType(0xa0),
            ),
            (
                "e5 00 00",
                Direction::ToServer,
                VoiceError::UnknownType(0xe5),
            ),
            // Payload longer than the packet.
            ("80 02 05 aa bb", Direction::ToServer, VoiceError::Truncated),
            // Varint cut short.
            ("80 02 c0 00", Direction::ToServer, VoiceError::Truncated),
            ("80 05 02", Direction::ToClient, VoiceError::Truncated),
            // Trailing bytes that are not a position.
            (
                "80 02 01 aa bb",
                Direction::ToServer,
                VoiceError::TrailingBytes(1),
            ),
            (
                "80 02 00 00000000 00000000 000000",
                Direction::ToServer,
                VoiceError::TrailingBytes(11),
            ),
            // A session over 32 bits.
            (
                "80 f4 0000000100000000 00 00",
                Direction::ToClient,
                VoiceError::SessionOutOfRange(1 << 32),
            ),
            // Ping with garbage after the timestamp, or cut short.
            (
                "20 05 00",
                Direction::ToClient,
                VoiceError::TrailingBytes(1),
            ),
            ("20 c0", Direction::ToClient, VoiceError::Truncated),
        ];
        for (bytes, direction, error) in cases {
            assert_eq!(
                VoicePacket::decode_legacy(&hex(bytes), *direction).as_ref(),
                Err(error),
                "{bytes}"
            );
        }
        assert_eq!(
            VoicePacket::decode_legacy(&[0x80; 1025], Direction::ToServer),
            Err(VoiceError::TooLong(1025))
        );
    }

    #[test]
    fn legacy_audio_edge_cases() {
        // An empty frame is valid in the legacy format (Mumble's decoder accepts it).
        let empty = audio(&[]);
        check(
            VoicePacket::Audio(empty),
            UdpFormat::Legacy,
            Direction::ToServer,
            "80 00 00",
        );
        // Bits above the terminator in the length field are ignored.
        let bytes = hex("80 00 c0 60 01 aa");
        let decoded = VoicePacket::decode_legacy(&bytes, Direction::ToServer);
        let mut expected = audio(&[0xaa]);
        expected.terminator = true;
        assert_eq!(decoded, Ok(VoicePacket::Audio(expected)));
    }

    #[test]
    fn legacy_encoding_limits() {
        let mut out = vec![9];
        let mut packet = audio(&[1]);
        packet.target = 32;
        assert_eq!(
            VoicePacket::Audio(packet).encode_legacy(&mut out),
            Err(VoiceError::TargetOutOfRange(32))
        );
        // Header 1 + sequence 1 + length 2 + 1021 bytes = 1025: too long.
        let big = vec![0; 8192];
        assert_eq!(
            VoicePacket::Audio(audio(&big[..1021])).encode_legacy(&mut out),
            Err(VoiceError::TooLong(1025))
        );
        assert_eq!(out, [9], "buffer restored");
        assert_eq!(
            VoicePacket::Audio(audio(&big)).encode_legacy(&mut out),
            Err(VoiceError::PayloadTooLong(8192))
        );
        // 1020 bytes of Opus make exactly 1024.
        assert!(
            VoicePacket::Audio(audio(&big[..1020]))
                .encode_legacy(&mut out)
                .is_ok()
        );
        assert_eq!(out.len(), 1 + MAX_PACKET_LEN);
    }

    #[test]
    fn protobuf_audio_client_to_server() {
        let mut packet = audio(&[0xaa, 0xbb]);
        packet.sequence = 2;
        // 00 type; 08 00 target 0 (the oneof is written even when 0); 20 02 frame 2;
        // 2a 02 aa bb opus data.
        check(
            VoicePacket::Audio(packet.clone()),
            UdpFormat::Protobuf,
            Direction::ToServer,
            "00 0800 2002 2a02aabb",
        );
        // Terminator (field 16, key 80 01), position (field 6, packed), volume (field 7).
        packet.terminator = true;
        packet.target = 3;
        packet.positional = Some([1.0, -2.0, 0.5]);
        check(
            VoicePacket::Audio(packet),
            UdpFormat::Protobuf,
            Direction::ToServer,
            "00 0803 2002 2a02aabb 320c 0000803f000000c00000003f 800101",
        );
    }

    #[test]
    fn protobuf_audio_server_to_client() {
        let mut packet = audio(&[0xaa]);
        packet.session = Some(5);
        packet.sequence = 300;
        packet.target = 1; // Shout context.
        packet.volume_adjustment = Some(0.5);
        // 10 01 context 1; 18 05 session 5; 20 ac02 frame 300; 2a 01 aa; 3d volume 0.5.
        check(
            VoicePacket::Audio(packet.clone()),
            UdpFormat::Protobuf,
            Direction::ToClient,
            "00 1001 1805 20ac02 2a01aa 3d0000003f",
        );
        // The sender session of a packet to the server is ignored, as by the server.
        let bytes = encoded(&VoicePacket::Audio(packet), UdpFormat::Protobuf);
        let Ok(VoicePacket::Audio(decoded)) =
            VoicePacket::decode_protobuf(&bytes, Direction::ToServer)
        else {
            panic!("audio expected");
        };
        assert_eq!((decoded.session, decoded.target), (None, 0));
    }

    #[test]
    fn protobuf_pings() {
        check(
            VoicePacket::Ping(ping(300)),
            UdpFormat::Protobuf,
            Direction::ToServer,
            "01 08ac02",
        );
        // A zero timestamp is still written.
        check(
            VoicePacket::Ping(ping(0)),
            UdpFormat::Protobuf,
            Direction::ToClient,
            "01 0800",
        );
        let query = PingPacket {
            request_extended_information: true,
            ..ping(7)
        };
        check(
            VoicePacket::Ping(query),
            UdpFormat::Protobuf,
            Direction::ToServer,
            "01 0807 1001",
        );
        let reply = PingPacket {
            server_info: Some(ServerInfo {
                version: version_v2(1, 5, 735),
                users: 3,
                max_users: 100,
                max_bandwidth: 72_000,
            }),
            ..ping(7)
        };
        // 18: version 0x0001_0005_02df_0000 as LEB128.
        check(
            VoicePacket::Ping(reply),
            UdpFormat::Protobuf,
            Direction::ToClient,
            "01 0807 1880 80fc 96d0 8040 2003 2864 30c0 b204",
        );
    }

    #[test]
    fn protobuf_decoding_follows_mumble() {
        // Fields in another order, and unknown fields, are fine.
        let bytes = hex("00 2a01aa 2007 1003 f80100");
        let mut expected = audio(&[0xaa]);
        expected.sequence = 7;
        expected.target = 3;
        expected.session = Some(0);
        assert_eq!(
            VoicePacket::decode_protobuf(&bytes, Direction::ToClient),
            Ok(VoicePacket::Audio(expected.clone()))
        );
        // Unpacked positional data is accepted too.
        let bytes = hex("00 2a01aa 350000803f 350000803f 350000803f");
        let Ok(VoicePacket::Audio(decoded)) =
            VoicePacket::decode_protobuf(&bytes, Direction::ToServer)
        else {
            panic!("audio expected");
        };
        assert_eq!(decoded.positional, Some([1.0; 3]));
        // A zero volume adjustment is "unset"; a ping without a version has no server info.
        let bytes = hex("00 2a01aa 3d00000000");
        assert!(matches!(
            VoicePacket::decode_protobuf(&bytes, Direction::ToClient),
            Ok(VoicePacket::Audio(AudioPacket {
                volume_adjustment: None,
                ..
            }))
        ));
        let bytes = hex("01 0807 2003");
        assert_eq!(
            VoicePacket::decode_protobuf(&bytes, Direction::ToClient),
            Ok(VoicePacket::Ping(ping(7)))
        );
    }

    #[test]
    fn protobuf_malformed_inputs() {
        let cases: &[(&str, VoiceError)] = &[
            ("", VoiceError::TooShort(0)),
            ("01", VoiceError::TooShort(1)),
            ("02 0800", VoiceError::UnknownType(2)),
            ("ff 0800", VoiceError::UnknownType(0xff)),
            ("00 0800", VoiceError::EmptyPayload),
            ("00 2a00", VoiceError::EmptyPayload),
            (
                "00 2a01aa 3208 0000803f0000803f",
                VoiceError::PositionalLength(2),
            ),
        ];
        for (bytes, error) in cases {
            assert_eq!(
                VoicePacket::decode_protobuf(&hex(bytes), Direction::ToServer).as_ref(),
                Err(error),
                "{bytes}"
            );
        }
        for bytes in [
            "00 2a05aa",                   // Length past the end.
            "00 2a",                       // Key without a value.
            "00 20ffffffffffffffffffff01", // Varint too long.
            "00 07",                       // Field number 0.
            "01 0c",                       // An end-group without a start.
            "00 2a01aa 3203000000",        // Packed floats not a multiple of 4.
        ] {
            assert!(
                matches!(
                    VoicePacket::decode_protobuf(&hex(bytes), Direction::ToServer),
                    Err(VoiceError::Protobuf(_))
                ),
                "{bytes}"
            );
        }
        assert_eq!(
            VoicePacket::decode_protobuf(&[0; 1025], Direction::ToServer),
            Err(VoiceError::TooLong(1025))
        );
    }

    #[test]
    fn protobuf_encoding_limits() {
        let mut out = vec![9];
        assert_eq!(
            VoicePacket::Audio(audio(&[])).encode_protobuf(&mut out),
            Err(VoiceError::EmptyPayload)
        );
        // 1 type + 2 target + 3 key and length + 1019 = 1025.
        let big = vec![0; 1019];
        assert_eq!(
            VoicePacket::Audio(audio(&big)).encode_protobuf(&mut out),
            Err(VoiceError::TooLong(1025))
        );
        assert_eq!(out, [9], "buffer restored");
        assert!(
            VoicePacket::Audio(audio(&big[..1018]))
                .encode_protobuf(&mut out)
                .is_ok()
        );
        assert_eq!(out.len(), 1 + MAX_PACKET_LEN);
    }

    #[test]
    fn version_encodings_and_format_rule() {
        assert_eq!(version_v2(1, 5, 0), 0x0001_0005_0000_0000);
        assert_eq!(version_v1_to_v2(0x0001_0304), version_v2(1, 3, 4));
        assert_eq!(version_v2_to_v1(version_v2(1, 3, 4)), 0x0001_0304);
        assert_eq!(
            version_v2_to_v1(version_v2(1, 5, 735)),
            0x0001_05ff,
            "patch clamped"
        );
        assert_eq!(
            version_v2_to_v1(version_v2(1, 300, 0)),
            0x0001_ff00,
            "minor clamped"
        );

        let (v13, v14, v15, v16) = (
            version_v2(1, 3, 4),
            version_v2(1, 4, 0),
            version_v2(1, 5, 735),
            version_v2(1, 6, 0),
        );
        // Protobuf iff both are at least 1.5.0 (brief §1.8: all four combinations measured).
        assert_eq!(udp_format(v15, v15), UdpFormat::Protobuf);
        assert_eq!(udp_format(v16, v15), UdpFormat::Protobuf);
        assert_eq!(
            udp_format(PROTOBUF_INTRODUCTION_VERSION, v16),
            UdpFormat::Protobuf
        );
        assert_eq!(udp_format(v14, v15), UdpFormat::Legacy);
        assert_eq!(udp_format(v15, v14), UdpFormat::Legacy);
        assert_eq!(udp_format(v14, v14), UdpFormat::Legacy);
        assert_eq!(udp_format(v15, v13), UdpFormat::Legacy);
        // A legacy-only Version message from a 1.5 server still means 1.5.
        assert_eq!(
            udp_format(v15, version_v1_to_v2(0x0001_0500)),
            UdpFormat::Protobuf
        );
        // Unknown versions (0) mean legacy.
        assert_eq!(udp_format(v15, 0), UdpFormat::Legacy);
    }

    #[test]
    fn both_formats_round_trip_a_rich_packet() {
        let frame: Vec<u8> = (0..=255).collect();
        for session in [None, Some(0), Some(u32::MAX)] {
            for format in [UdpFormat::Legacy, UdpFormat::Protobuf] {
                let packet = VoicePacket::Audio(AudioPacket {
                    target: 31,
                    session,
                    sequence: u64::from(u32::MAX) + 7,
                    payload: Cow::Borrowed(&frame),
                    terminator: true,
                    positional: Some([f32::MAX, f32::MIN_POSITIVE, -0.0]),
                    volume_adjustment: (format == UdpFormat::Protobuf).then_some(2.0),
                });
                let direction = if session.is_some() {
                    Direction::ToClient
                } else {
                    Direction::ToServer
                };
                let bytes = encoded(&packet, format);
                assert_eq!(VoicePacket::decode(format, direction, &bytes), Ok(packet));
            }
        }
    }
}
