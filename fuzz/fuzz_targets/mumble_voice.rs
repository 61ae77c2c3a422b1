//! Fuzzes Mumble's UDP voice packet decoders, both formats, both directions
//! (`palabre::proto::mumble::voice`).
//!
//! Checked properties, for each format and direction in which the input decodes:
//! - nothing panics, and nothing allocates beyond the packet limit;
//! - the packet re-encodes in the same format, to at most 1024 bytes (a protobuf packet may
//!   grow past the limit only because the encoder writes fields explicitly, as Mumble does);
//! - the re-encoded bytes decode to the same packet (floats compared bit for bit), and encode
//!   once more to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palabre::proto::mumble::voice::{
    Direction, MAX_PACKET_LEN, UdpFormat, VoiceError, VoicePacket,
};

/// Equality with floats compared by their bits (NaN payloads and -0.0 included).
fn same(a: &VoicePacket<'_>, b: &VoicePacket<'_>) -> bool {
    match (a, b) {
        (VoicePacket::Audio(a), VoicePacket::Audio(b)) => {
            let position = |p: Option<[f32; 3]>| p.map(|p| p.map(f32::to_bits));
            a.target == b.target
                && a.session == b.session
                && a.sequence == b.sequence
                && a.payload == b.payload
                && a.terminator == b.terminator
                && position(a.positional) == position(b.positional)
                && a.volume_adjustment.map(f32::to_bits) == b.volume_adjustment.map(f32::to_bits)
        }
        (VoicePacket::Ping(a), VoicePacket::Ping(b)) => a == b,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    for format in [UdpFormat::Legacy, UdpFormat::Protobuf] {
        for direction in [Direction::ToServer, Direction::ToClient] {
            let Ok(packet) = VoicePacket::decode(format, direction, data) else {
                continue;
            };
            let mut bytes = Vec::new();
            match packet.encode(format, &mut bytes) {
                Ok(()) => {}
                Err(VoiceError::TooLong(_)) if format == UdpFormat::Protobuf => {
                    assert!(bytes.is_empty(), "buffer restored after an error");
                    continue;
                }
                Err(error) => panic!("{packet:?} decoded but does not encode: {error}"),
            }
            assert!(bytes.len() <= MAX_PACKET_LEN);
            let again = VoicePacket::decode(format, direction, &bytes)
                .unwrap_or_else(|error| panic!("{packet:?} encoded as {bytes:02x?}: {error}"));
            assert!(same(&packet, &again), "{packet:?} became {again:?}");
            let mut bytes_again = Vec::new();
            again
                .encode(format, &mut bytes_again)
                .expect("encoded once already");
            assert_eq!(bytes, bytes_again, "encoding is not a fixed point");
        }
    }
});
