//! Fuzzes Mumble's TCP control channel: frame decoding and protobuf message decoding.
//!
//! The first input byte seeds the chunking; the rest is the byte stream, pushed into a
//! `FrameDecoder` in pseudo-random chunk sizes. Checked properties:
//! - nothing panics and nothing allocates beyond the limits (libFuzzer's `-rss_limit_mb`);
//! - the decoded sequence (messages and errors) does not depend on the chunking;
//! - every decoded message re-encodes, and decoding that gives the same message and, encoded
//!   once more, the same bytes (so decode and encode agree field by field).
#![no_main]

use libfuzzer_sys::fuzz_target;
use palabre::proto::mumble::control::{ControlError, ControlMessage, FrameDecoder, encode};

/// Decodes everything available, recording messages and errors (as Debug text, which also
/// compares NaN floats as equal). Returns false once the stream is dead (`TooLarge`).
fn drain(
    decoder: &mut FrameDecoder,
    out: &mut Vec<String>,
    messages: &mut Vec<ControlMessage>,
) -> bool {
    loop {
        match decoder.next_message() {
            Ok(Some(message)) => {
                out.push(format!("{message:?}"));
                messages.push(message);
            }
            Ok(None) => return true,
            Err(error @ ControlError::TooLarge { .. }) => {
                out.push(format!("{error:?}"));
                return false;
            }
            Err(error) => out.push(format!("{error:?}")),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };

    // The whole stream in one push.
    let mut whole = FrameDecoder::new();
    let mut whole_log = Vec::new();
    let mut messages = Vec::new();
    whole.push(stream);
    drain(&mut whole, &mut whole_log, &mut messages);

    // The same stream in chunks of 1..=64 bytes chosen by a small LCG.
    let mut chunked = FrameDecoder::new();
    let mut chunked_log = Vec::new();
    let mut ignored = Vec::new();
    let mut state = u32::from(seed);
    let mut rest = stream;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let size = (1 + (state >> 16) as usize % 64).min(rest.len());
        let (piece, tail) = rest.split_at(size);
        chunked.push(piece);
        if !drain(&mut chunked, &mut chunked_log, &mut ignored) {
            break;
        }
        rest = tail;
    }
    assert_eq!(whole_log, chunked_log, "chunking changed the result");

    for message in messages {
        let mut bytes = Vec::new();
        let Some(message_type) = message.message_type() else {
            assert!(
                encode(&message, &mut bytes).is_err(),
                "Unknown must not encode"
            );
            continue;
        };
        encode(&message, &mut bytes).expect("a decoded message re-encodes");
        // Re-encoding may grow a payload (packed numbers are re-sent unpacked) beyond the
        // receive limit of a small type; such a frame is rightly refused, so skip it.
        if bytes.len() - 6 > message_type.max_payload_len() {
            continue;
        }
        let mut decoder = FrameDecoder::new();
        decoder.push(&bytes);
        let again = decoder
            .next_message()
            .expect("a re-encoded message decodes")
            .expect("a re-encoded frame is complete");
        assert_eq!(decoder.buffered_len(), 0, "one frame, fully consumed");
        assert_eq!(
            format!("{message:?}"),
            format!("{again:?}"),
            "round trip changed it"
        );
        let mut bytes_again = Vec::new();
        encode(&again, &mut bytes_again).expect("re-encodes again");
        assert_eq!(bytes, bytes_again, "encoding is not stable");
    }
});
