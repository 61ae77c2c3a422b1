//! Fuzzes the receive chain of others' cameras (`palabre::video`): VP8 payload descriptors,
//! frames put back together from RTP packets, and libvpx decoding what comes out.
//!
//! The input is cut into packets: each starts with two bytes of length, a sequence-number
//! step, a timestamp step and a marker byte, then its payload. Checked properties:
//! - nothing panics, whatever the packets, their order and their payloads;
//! - every picture given out is within the largest size palabre shows, with planes of the
//!   size it says;
//! - a whole frame cut by `packetize` comes back as it was.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use palabre::video::pipeline::VideoIn;
use palabre::video::vp8::{self, Depacketizer, Packet};
use palabre::video::{MAX_FRAME_HEIGHT, MAX_FRAME_WIDTH};

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut video = VideoIn::new();
    let mut rest = data;
    let (mut seq, mut timestamp) = (0u16, 0u32);
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])) % 1500;
        seq = seq.wrapping_add(u16::from(rest[2] % 4)).wrapping_sub(1);
        timestamp = timestamp.wrapping_add(u32::from(rest[3]) * 300);
        let marker = rest[4] & 1 == 1;
        rest = &rest[5..];
        let payload = &rest[..len.min(rest.len())];
        rest = &rest[payload.len()..];
        let received = video.receive(1, Packet { seq, timestamp, marker, payload }, now);
        if let Some(picture) = received.picture {
            assert!(picture.width <= MAX_FRAME_WIDTH && picture.height <= MAX_FRAME_HEIGHT);
            assert_eq!(picture.y.len(), (picture.width * picture.height) as usize);
            assert_eq!(picture.u.len(), picture.y.len() / 4);
        }
    }
    // The whole input as one key frame, cut and put back together.
    let mut frame = data.to_vec();
    if let Some(first) = frame.first_mut() {
        *first &= !1;
        let mut depacketizer = Depacketizer::new();
        let payloads = vp8::packetize(&frame, 1);
        let mut out = None;
        for (index, payload) in payloads.iter().enumerate() {
            out = out.or(depacketizer.push(Packet {
                seq: index as u16,
                timestamp: 9,
                marker: index + 1 == payloads.len(),
                payload,
            }));
        }
        assert_eq!(out.map(|f| f.data), Some(frame));
    }
});
