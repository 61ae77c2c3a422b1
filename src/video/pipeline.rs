//! The two video chains of a call, without threads or I/O of their own: [`VideoIn`] turns the
//! RTP packets of each remote camera into pictures, [`VideoOut`] turns palabre's pictures into
//! RTP payloads.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::codec::{CodecError, Decoder, Encoder};
use super::vp8::{self, Depacketizer, Packet};
use super::{I420, SEND_BITRATE_KBPS, SEND_FPS, SEND_HEIGHT, SEND_WIDTH};

/// Key frames are asked of one sender at most this often.
pub const KEY_FRAME_REQUEST_EVERY: Duration = Duration::from_secs(1);
/// The most remote cameras decoded at once (more are dropped until one ends).
pub const MAX_STREAMS: usize = 16;

struct Stream {
    depacketizer: Depacketizer,
    decoder: Option<Decoder>,
    last_request: Option<Instant>,
    last_packet: Instant,
}

/// A camera whose packets stopped this long ago is forgotten (its decoder freed).
pub const STREAM_IDLE: Duration = Duration::from_secs(5);

/// What one packet gave.
#[derive(Debug, Default)]
pub struct Received {
    /// A new picture of this stream.
    pub picture: Option<I420>,
    /// Ask this stream's sender for a key frame now.
    pub request_key_frame: bool,
    /// The stream cannot be decoded; the sentence says why (said once per stream).
    pub failure: Option<CodecError>,
}

/// The receive chain of every remote camera, keyed by SSRC.
#[derive(Default)]
pub struct VideoIn {
    streams: HashMap<u32, Stream>,
    /// Pictures decoded so far.
    pub frames_decoded: u64,
}

impl std::fmt::Debug for VideoIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoIn")
            .field("streams", &self.streams.len())
            .field("frames_decoded", &self.frames_decoded)
            .finish()
    }
}

impl VideoIn {
    /// No streams yet.
    pub fn new() -> VideoIn {
        VideoIn::default()
    }

    /// Takes one RTP packet of the camera `ssrc`.
    pub fn receive(&mut self, ssrc: u32, packet: Packet<'_>, now: Instant) -> Received {
        let mut out = Received::default();
        // Cameras gone quiet (turned off, left, dropped by the bridge) make room for others.
        self.streams.retain(|id, stream| {
            *id == ssrc || now.saturating_duration_since(stream.last_packet) < STREAM_IDLE
        });
        if !self.streams.contains_key(&ssrc) {
            if self.streams.len() >= MAX_STREAMS {
                return out;
            }
            let decoder = match Decoder::new() {
                Ok(decoder) => Some(decoder),
                Err(error) => {
                    out.failure = Some(error);
                    None
                }
            };
            self.streams.insert(
                ssrc,
                Stream {
                    depacketizer: Depacketizer::new(),
                    decoder,
                    // A new stream gets a second to bring its own key frame before one is
                    // asked for (the bridge sends one when it starts forwarding).
                    last_request: Some(now),
                    last_packet: now,
                },
            );
        }
        let Some(stream) = self.streams.get_mut(&ssrc) else {
            return out;
        };
        stream.last_packet = now;
        let Some(decoder) = &mut stream.decoder else {
            return out;
        };
        if let Some(frame) = stream.depacketizer.push(packet) {
            match decoder.decode(&frame.data) {
                Ok(Some(picture)) => {
                    self.frames_decoded += 1;
                    out.picture = Some(picture);
                }
                Ok(None) => {}
                Err(CodecError::TooBig(width, height)) => {
                    out.failure = Some(CodecError::TooBig(width, height));
                    stream.decoder = None;
                    return out;
                }
                // A frame the decoder refused: its successors need a fresh key frame.
                Err(_) => stream.depacketizer = Depacketizer::new(),
            }
        }
        if stream.depacketizer.wants_key_frame()
            && stream
                .last_request
                .is_none_or(|at| now.saturating_duration_since(at) >= KEY_FRAME_REQUEST_EVERY)
        {
            stream.last_request = Some(now);
            out.request_key_frame = true;
        }
        out
    }

    /// Forgets every camera (a new media session).
    pub fn clear(&mut self) {
        self.streams.clear();
    }
}

/// The send chain of palabre's camera.
#[derive(Debug)]
pub struct VideoOut {
    encoder: Encoder,
    picture_id: u16,
    start: Option<Instant>,
    /// Frames encoded so far.
    pub frames_sent: u64,
}

/// One encoded frame ready for RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The payloads (the last gets the marker).
    pub payloads: Vec<Vec<u8>>,
    /// The 90 kHz RTP timestamp.
    pub timestamp: u32,
    /// A key frame.
    pub key: bool,
}

impl VideoOut {
    /// An encoder at palabre's sending size and rate.
    pub fn new() -> Result<VideoOut, CodecError> {
        Ok(VideoOut {
            encoder: Encoder::new(SEND_WIDTH, SEND_HEIGHT, SEND_FPS, SEND_BITRATE_KBPS)?,
            picture_id: rand::random::<u16>() & 0x7fff,
            start: None,
            frames_sent: 0,
        })
    }

    /// [`VideoOut::new`] whose RTP timestamps count from `epoch`: a camera turned off and on
    /// again in one call keeps its timestamps going forward on the same SSRC.
    pub fn since(epoch: Instant) -> Result<VideoOut, CodecError> {
        let mut out = VideoOut::new()?;
        out.start = Some(epoch);
        Ok(out)
    }

    /// Encodes a picture taken at `now`; `key` forces a key frame.
    pub fn send(
        &mut self,
        picture: &I420,
        key: bool,
        now: Instant,
    ) -> Result<Vec<Outgoing>, CodecError> {
        let start = *self.start.get_or_insert(now);
        let timestamp = (now.saturating_duration_since(start).as_micros() * 90 / 1000) as u32;
        let mut out = Vec::new();
        for encoded in self.encoder.encode(picture, key)? {
            out.push(Outgoing {
                payloads: vp8::packetize(&encoded.data, self.picture_id),
                timestamp,
                key: encoded.key,
            });
            self.picture_id = (self.picture_id + 1) & 0x7fff;
            self.frames_sent += 1;
        }
        Ok(out)
    }
}

/// What the camera's thread gives: each encoded frame with the picture it came from (for the
/// user's own tile), or the sentence that stopped it.
#[derive(Debug)]
pub enum CameraOutput {
    /// A frame to send, and its picture.
    Frame(Outgoing, I420),
    /// The camera or the encoder stopped.
    Failed(crate::i18n::Phrase),
}

/// Starts the camera (or the test pattern) and encodes on its thread; `key_wanted` (set when
/// the bridge asks for a key frame) is read and cleared before each picture; RTP timestamps
/// count from `epoch` (the call's, so that they go on where they were).
pub fn start_camera(
    source: super::camera::Source,
    key_wanted: Arc<AtomicBool>,
    epoch: Instant,
    mut output: impl FnMut(CameraOutput) + Send + 'static,
) -> std::io::Result<super::camera::Capture> {
    let mut encoder: Option<VideoOut> = None;
    let mut failed = false;
    // An encoder that fails stops the capture too (the camera's light goes off).
    let stop = Arc::new(AtomicBool::new(false));
    let give_up = stop.clone();
    super::camera::start_with(source, stop, move |event| match event {
        super::camera::CameraEvent::Frame(picture) => {
            if failed {
                return;
            }
            if encoder.is_none() {
                match VideoOut::since(epoch) {
                    Ok(new) => encoder = Some(new),
                    Err(error) => {
                        failed = true;
                        give_up.store(true, Ordering::Relaxed);
                        output(CameraOutput::Failed(error.phrase()));
                        return;
                    }
                }
            }
            let Some(chain) = &mut encoder else {
                return;
            };
            let key = key_wanted.swap(false, Ordering::Relaxed);
            match chain.send(&picture, key, Instant::now()) {
                Ok(frames) => {
                    for frame in frames {
                        output(CameraOutput::Frame(frame, picture.clone()));
                    }
                }
                Err(error) => {
                    failed = true;
                    give_up.store(true, Ordering::Relaxed);
                    output(CameraOutput::Failed(error.phrase()));
                }
            }
        }
        super::camera::CameraEvent::Failed(sentence) => output(CameraOutput::Failed(sentence)),
    })
}

#[cfg(all(test, feature = "video"))]
mod tests {
    use super::*;
    use crate::video::TestPattern;

    /// The two chains back to back, with a lost packet in the middle.
    #[test]
    fn pictures_cross_the_chains_and_a_loss_asks_for_a_key_frame() {
        let mut out = VideoOut::new().expect("encoder");
        let mut input = VideoIn::new();
        let mut pattern = TestPattern::new(SEND_WIDTH, SEND_HEIGHT);
        let start = Instant::now();
        let mut seq = 100u16;
        let mut pictures = 0;
        let mut requests = 0;
        let mut force_key = false;
        for index in 0..45u32 {
            let now = start + Duration::from_millis(u64::from(index) * 66);
            for frame in out
                .send(&pattern.next_frame(), force_key, now)
                .expect("encodes")
            {
                force_key = false;
                let count = frame.payloads.len();
                for (n, payload) in frame.payloads.iter().enumerate() {
                    seq = seq.wrapping_add(1);
                    // Frame 15 loses its first packet.
                    if index == 15 && n == 0 {
                        continue;
                    }
                    let received = input.receive(
                        7,
                        Packet {
                            seq,
                            timestamp: frame.timestamp,
                            marker: n + 1 == count,
                            payload,
                        },
                        now,
                    );
                    assert!(received.failure.is_none());
                    if received.request_key_frame {
                        requests += 1;
                        force_key = true;
                    }
                    if let Some(picture) = received.picture {
                        assert_eq!((picture.width, picture.height), (SEND_WIDTH, SEND_HEIGHT));
                        pictures += 1;
                    }
                }
            }
        }
        assert!(requests >= 1, "the loss asked for a key frame");
        // Lost: frame 15, and the deltas until the key frame asked for arrived (one frame).
        assert!((42..=44).contains(&pictures), "{pictures} pictures");
        assert_eq!(input.frames_decoded, pictures);
        assert_eq!(out.frames_sent, 45);
    }
}
