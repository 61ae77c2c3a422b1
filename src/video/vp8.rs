//! VP8 in RTP (RFC 7741): the payload descriptor, putting frames back together from packets,
//! and cutting frames into packets. No I/O; every input is bounded.

use std::collections::BTreeMap;

/// The largest RTP payload palabre sends (a datagram stays under common path MTUs).
pub const MAX_PAYLOAD: usize = 1100;
/// The largest frame put back together; a stream announcing more is cut off.
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// Frames (RTP timestamps) being put together at once; the oldest incomplete one is dropped.
const MAX_PENDING_FRAMES: usize = 4;
/// Packets waiting in all pending frames at most.
const MAX_PENDING_PACKETS: usize = 1024;

/// The fields of a VP8 payload descriptor palabre needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// The start of a VP8 partition (`S`).
    pub start: bool,
    /// The partition index (`PID`).
    pub partition: u8,
    /// The picture id, when present (7 or 15 bits).
    pub picture_id: Option<u16>,
    /// Bytes of descriptor before the VP8 data.
    pub len: usize,
}

/// Why a payload is not VP8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Shorter than its own descriptor, or no VP8 data after it.
    #[error("a VP8 packet was cut short")]
    Truncated,
}

/// Reads the payload descriptor at the start of an RTP payload.
pub fn parse_descriptor(payload: &[u8]) -> Result<Descriptor, PayloadError> {
    let first = *payload.first().ok_or(PayloadError::Truncated)?;
    let mut len = 1;
    let mut picture_id = None;
    if first & 0x80 != 0 {
        let extension = *payload.get(len).ok_or(PayloadError::Truncated)?;
        len += 1;
        if extension & 0x80 != 0 {
            let id = *payload.get(len).ok_or(PayloadError::Truncated)?;
            len += 1;
            if id & 0x80 != 0 {
                let low = *payload.get(len).ok_or(PayloadError::Truncated)?;
                len += 1;
                picture_id = Some((u16::from(id & 0x7f) << 8) | u16::from(low));
            } else {
                picture_id = Some(u16::from(id));
            }
        }
        if extension & 0x40 != 0 {
            len += 1; // TL0PICIDX
        }
        if extension & 0x30 != 0 {
            len += 1; // TID/Y/KEYIDX
        }
    }
    if payload.len() <= len {
        return Err(PayloadError::Truncated);
    }
    Ok(Descriptor {
        start: first & 0x10 != 0,
        partition: first & 0x07,
        picture_id,
        len,
    })
}

/// Whether a whole VP8 frame is a key frame (its first header bit is 0).
pub fn is_key_frame(frame: &[u8]) -> bool {
    frame.first().is_some_and(|byte| byte & 0x01 == 0)
}

/// The size a key frame announces (its 14-bit width and height), or `None` for a delta frame
/// or bytes too short to say.
pub fn key_frame_size(frame: &[u8]) -> Option<(u32, u32)> {
    if !is_key_frame(frame) || frame.len() < 10 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff);
    let height = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff);
    Some((width, height))
}

/// Cuts one encoded frame into RTP payloads of at most [`MAX_PAYLOAD`] bytes, each with a
/// descriptor carrying the 15-bit `picture_id` (the bridge reads it). The last one gets the RTP
/// marker.
pub fn packetize(frame: &[u8], picture_id: u16) -> Vec<Vec<u8>> {
    const HEADER: usize = 4;
    let id = picture_id & 0x7fff;
    frame
        .chunks(MAX_PAYLOAD - HEADER)
        .enumerate()
        .map(|(index, chunk)| {
            let mut payload = Vec::with_capacity(HEADER + chunk.len());
            // X=1, N=0, S on the first, PID 0; then I=1; then M=1 and 15 bits of picture id.
            payload.push(if index == 0 { 0x90 } else { 0x80 });
            payload.push(0x80);
            payload.push(0x80 | (id >> 8) as u8);
            payload.push((id & 0xff) as u8);
            payload.extend_from_slice(chunk);
            payload
        })
        .collect()
}

/// One RTP packet of a VP8 stream, as far as putting frames together goes.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    /// RTP marker: the last packet of a frame.
    pub marker: bool,
    /// The RTP payload (descriptor and VP8 data).
    pub payload: &'a [u8],
}

/// One RTP packet of a VP8 stream as it travels from the media session to the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpVideo {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    /// RTP marker: the last packet of a frame.
    pub marker: bool,
    /// The RTP payload (descriptor and VP8 data).
    pub payload: Vec<u8>,
}

impl RtpVideo {
    /// The packet as the [`Depacketizer`] takes it.
    pub fn as_packet(&self) -> Packet<'_> {
        Packet {
            seq: self.seq,
            timestamp: self.timestamp,
            marker: self.marker,
            payload: &self.payload,
        }
    }
}

/// A frame put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// RTP timestamp.
    pub timestamp: u32,
    /// A key frame (decodable on its own).
    pub key: bool,
    /// The VP8 data.
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Pending {
    packets: BTreeMap<u64, Vec<u8>>,
    bytes: usize,
    first: Option<u64>,
    last: Option<u64>,
    /// The frame's picture id and whether it is the 15-bit form.
    picture_id: Option<(u16, bool)>,
}

/// Puts one stream's frames back together, in order, dropping what cannot be completed: after
/// a lost frame only a key frame is given out again ([`Depacketizer::wants_key_frame`] says to
/// ask the sender for one).
#[derive(Default)]
pub struct Depacketizer {
    pending: BTreeMap<u32, Pending>,
    highest_seq: Option<u64>,
    last_frame_end: Option<u64>,
    /// The picture id of the last frame given out.
    last_picture_id: Option<(u16, bool)>,
    need_key: bool,
}

impl std::fmt::Debug for Depacketizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Depacketizer")
            .field("pending", &self.pending.len())
            .field("need_key", &self.need_key)
            .finish()
    }
}

impl Depacketizer {
    /// A new stream: the first frame given out is a key frame.
    pub fn new() -> Depacketizer {
        Depacketizer {
            need_key: true,
            ..Depacketizer::default()
        }
    }

    /// Whether a frame was lost (or none has come yet) and only a key frame can follow.
    pub fn wants_key_frame(&self) -> bool {
        self.need_key
    }

    fn extend(&mut self, seq: u16) -> u64 {
        let extended = match self.highest_seq {
            None => u64::from(seq) + (1 << 16),
            Some(highest) => {
                let base = highest & !0xffff;
                let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)];
                candidates
                    .into_iter()
                    .map(|b| b + u64::from(seq))
                    .min_by_key(|c| c.abs_diff(highest))
                    .unwrap_or(base + u64::from(seq))
            }
        };
        if self.highest_seq.is_none_or(|h| extended > h) {
            self.highest_seq = Some(extended);
        }
        extended
    }

    /// Takes one packet; returns the frame it completes, if any.
    pub fn push(&mut self, packet: Packet<'_>) -> Option<Frame> {
        let descriptor = parse_descriptor(packet.payload).ok()?;
        let seq = self.extend(packet.seq);
        if self.last_frame_end.is_some_and(|end| seq <= end) {
            return None; // late or repeated
        }
        let total: usize = self.pending.values().map(|p| p.packets.len()).sum();
        if total >= MAX_PENDING_PACKETS {
            self.drop_oldest();
        }
        let pending = self.pending.entry(packet.timestamp).or_default();
        if pending.packets.contains_key(&seq) {
            return None;
        }
        let data = packet.payload[descriptor.len..].to_vec();
        pending.bytes += data.len();
        if pending.bytes > MAX_FRAME_BYTES {
            self.pending.remove(&packet.timestamp);
            self.need_key = true;
            return None;
        }
        if descriptor.start && descriptor.partition == 0 {
            pending.first = Some(seq);
            pending.picture_id = descriptor
                .picture_id
                .map(|id| (id, packet.payload.get(2).is_some_and(|b| b & 0x80 != 0)));
        }
        if packet.marker {
            pending.last = Some(seq);
        }
        pending.packets.insert(seq, data);
        while self.pending.len() > MAX_PENDING_FRAMES {
            self.drop_oldest();
        }
        self.complete(packet.timestamp)
    }

    fn drop_oldest(&mut self) {
        let oldest = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.packets.keys().next().copied().unwrap_or(u64::MAX))
            .map(|(ts, _)| *ts);
        if let Some(ts) = oldest {
            self.pending.remove(&ts);
            self.need_key = true;
        }
    }

    fn complete(&mut self, timestamp: u32) -> Option<Frame> {
        let pending = self.pending.get(&timestamp)?;
        let (first, last) = (pending.first?, pending.last?);
        if last < first || (last - first + 1) as usize != pending.packets.len() {
            return None;
        }
        let pending = self.pending.remove(&timestamp)?;
        // Anything older than this frame can no longer be completed in order.
        let before = self.pending.len();
        self.pending
            .retain(|_, p| p.packets.keys().next().is_some_and(|s| *s > last));
        if self.pending.len() != before {
            self.need_key = true;
        }
        // A frame follows the last one when the picture ids say so (a bridge may leave gaps in
        // the sequence numbers when it drops packets without pictures), else when the
        // sequence numbers do.
        let follows_by_id = match (self.last_picture_id, pending.picture_id) {
            (Some((previous, wide)), Some((id, same_width))) if wide == same_width => {
                let mask = if wide { 0x7fff } else { 0x7f };
                id == (previous + 1) & mask
            }
            _ => false,
        };
        let gap = !follows_by_id && self.last_frame_end.is_some_and(|end| first != end + 1);
        self.last_frame_end = Some(last);
        self.last_picture_id = pending.picture_id;
        let mut data = Vec::with_capacity(pending.bytes);
        for bytes in pending.packets.into_values() {
            data.extend_from_slice(&bytes);
        }
        let key = is_key_frame(&data);
        if gap {
            self.need_key = true;
        }
        if key {
            self.need_key = false;
        } else if self.need_key {
            return None;
        }
        Some(Frame {
            timestamp,
            key,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(frame: &[u8], picture: u16) -> Vec<Vec<u8>> {
        packetize(frame, picture)
    }

    fn feed(d: &mut Depacketizer, seq: u16, ts: u32, payloads: &[Vec<u8>]) -> Vec<Frame> {
        let mut out = Vec::new();
        for (index, payload) in payloads.iter().enumerate() {
            if let Some(frame) = d.push(Packet {
                seq: seq.wrapping_add(index as u16),
                timestamp: ts,
                marker: index + 1 == payloads.len(),
                payload,
            }) {
                out.push(frame);
            }
        }
        out
    }

    fn key_frame(len: usize) -> Vec<u8> {
        let mut data: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
        data[0] = 0x10; // bit 0 clear: key frame
        data
    }

    fn delta_frame(len: usize) -> Vec<u8> {
        let mut data = key_frame(len);
        data[0] = 0x11;
        data
    }

    #[test]
    fn descriptors_of_every_shape_are_read() {
        assert_eq!(
            parse_descriptor(&[0x10, 0xaa]),
            Ok(Descriptor {
                start: true,
                partition: 0,
                picture_id: None,
                len: 1
            })
        );
        // X, I with a 7-bit id, L and T/K.
        let d = parse_descriptor(&[0x90, 0xf0, 0x05, 0x01, 0x02, 0xaa]).expect("valid");
        assert_eq!((d.picture_id, d.len), (Some(5), 5));
        // X, I with a 15-bit id.
        let d = parse_descriptor(&[0x80, 0x80, 0x81, 0x02, 0xaa]).expect("valid");
        assert_eq!((d.start, d.picture_id, d.len), (false, Some(0x102), 4));
        for short in [
            &[][..],
            &[0x90],
            &[0x90, 0x80],
            &[0x90, 0x80, 0x81, 0x02],
            &[0x10],
        ] {
            assert_eq!(parse_descriptor(short), Err(PayloadError::Truncated));
        }
    }

    #[test]
    fn frames_come_back_whole_across_packets_and_wraps() {
        let key = key_frame(5000);
        let payloads = packets(&key, 0x7fff);
        assert_eq!(payloads.len(), 5);
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let mut d = Depacketizer::new();
        assert!(d.wants_key_frame());
        let frames = feed(&mut d, 65533, 1000, &payloads);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data, key);
        assert!(frames[0].key && !d.wants_key_frame());
        let delta = delta_frame(300);
        let frames = feed(&mut d, 2, 4000, &packets(&delta, 0));
        assert_eq!(
            frames,
            vec![Frame {
                timestamp: 4000,
                key: false,
                data: delta
            }]
        );
    }

    #[test]
    fn reordered_packets_still_make_the_frame() {
        let key = key_frame(3000);
        let payloads = packets(&key, 1);
        let mut d = Depacketizer::new();
        let order = [2usize, 0, 1];
        let mut out = None;
        for index in order {
            out = out.or(d.push(Packet {
                seq: 10 + index as u16,
                timestamp: 90,
                marker: index == 2,
                payload: &payloads[index],
            }));
        }
        assert_eq!(out.map(|f| f.data), Some(key));
    }

    #[test]
    fn a_lost_packet_holds_deltas_until_a_key_frame() {
        let mut d = Depacketizer::new();
        assert_eq!(feed(&mut d, 0, 0, &packets(&key_frame(100), 0)).len(), 1);
        // Frame at 3000 loses its middle packet: never given; the next delta is held back.
        let lossy = packets(&delta_frame(3000), 1);
        for (index, payload) in lossy.iter().enumerate() {
            if index != 1 {
                assert!(
                    d.push(Packet {
                        seq: 1 + index as u16,
                        timestamp: 3000,
                        marker: index == 2,
                        payload
                    })
                    .is_none()
                );
            }
        }
        assert!(feed(&mut d, 4, 6000, &packets(&delta_frame(100), 2)).is_empty());
        assert!(d.wants_key_frame());
        assert_eq!(feed(&mut d, 5, 9000, &packets(&key_frame(100), 3)).len(), 1);
        assert!(!d.wants_key_frame());
    }

    #[test]
    fn picture_ids_bridge_gaps_in_sequence_numbers_but_not_lost_pictures() {
        let mut d = Depacketizer::new();
        assert_eq!(feed(&mut d, 0, 0, &packets(&key_frame(100), 7)).len(), 1);
        // Picture 8 comes ten sequence numbers later (packets without pictures dropped on the
        // way): it follows picture 7, so it is given out.
        assert_eq!(
            feed(&mut d, 11, 3000, &packets(&delta_frame(100), 8)).len(),
            1
        );
        assert!(!d.wants_key_frame());
        // Picture 10 after 8, with a gap: picture 9 was lost.
        assert!(feed(&mut d, 20, 9000, &packets(&delta_frame(100), 10)).is_empty());
        assert!(d.wants_key_frame());
        // Across the 15-bit wrap.
        let mut d = Depacketizer::new();
        assert_eq!(
            feed(&mut d, 0, 0, &packets(&key_frame(100), 0x7fff)).len(),
            1
        );
        assert_eq!(
            feed(&mut d, 5, 3000, &packets(&delta_frame(100), 0)).len(),
            1
        );
    }

    #[test]
    fn deltas_before_the_first_key_frame_are_held_back() {
        let mut d = Depacketizer::new();
        assert!(feed(&mut d, 0, 0, &packets(&delta_frame(100), 0)).is_empty());
        assert!(d.wants_key_frame());
    }

    #[test]
    fn hostile_streams_stay_bounded() {
        let mut d = Depacketizer::new();
        // Never a marker: pending frames are capped, in packets and in frames.
        let payload = [0x10u8; 1200];
        for seq in 0..5000u32 {
            d.push(Packet {
                seq: seq as u16,
                timestamp: seq / 3,
                marker: false,
                payload: &payload,
            });
        }
        assert!(d.pending.len() <= MAX_PENDING_FRAMES);
        assert!(d.pending.values().map(|p| p.packets.len()).sum::<usize>() <= MAX_PENDING_PACKETS);
        // One timestamp forever: the frame is cut off at MAX_FRAME_BYTES.
        let mut d = Depacketizer::new();
        for seq in 0..2000u16 {
            d.push(Packet {
                seq,
                timestamp: 7,
                marker: false,
                payload: &payload,
            });
        }
        assert!(d.pending.values().all(|p| p.bytes <= MAX_FRAME_BYTES));
    }
}
