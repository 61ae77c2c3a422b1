//! One remote participant's receive chain: jitter buffer → Opus decoder → volume, producing
//! 10 ms frames on demand.
//!
//! Sans-IO like the jitter buffer: `now` is an argument, the clock is never read. Runs on the
//! audio pipeline worker (see style rules B3), so:
//!
//! Invariants:
//! - No allocation in [`ReceiveStream::push_packet`] or [`ReceiveStream::pull_frame`]: the
//!   jitter buffer's slots, the decoded-sample FIFO and the scratch buffer are all sized in
//!   [`ReceiveStream::new`], and codec failures are handled as bare error codes.
//! - [`ReceiveStream::pull_frame`] always fills its whole output: decoded audio, FEC-rebuilt or
//!   concealed audio, then silence when the stream is idle. Nothing from the network makes it
//!   panic.
//! - Packets hold 10–120 ms and the output is 10 ms, so decoded samples wait in a FIFO of at
//!   most one frame plus one maximal packet ([`FIFO_SAMPLES`]).

use std::time::Instant;

use crate::audio::AudioError;
use crate::audio::FRAME_SAMPLES;
use crate::audio::codec::{self, MAX_PACKET_SAMPLES, OPUS_GRANULE_SAMPLES, VoiceDecoder};
use crate::audio::jitter::{JitterBuffer, Playout};

/// Capacity of the decoded-sample FIFO: less than one frame left over plus one maximal packet.
pub const FIFO_SAMPLES: usize = FRAME_SAMPLES + MAX_PACKET_SAMPLES;
/// The highest volume [`ReceiveStream::set_volume`] accepts (+12 dB).
pub const MAX_VOLUME: f32 = 4.0;
/// Length of the cross-fade that hides the seam where a packet was discarded (2.5 ms).
const SPLICE_SAMPLES: usize = OPUS_GRANULE_SAMPLES;

/// Counters and delays of one [`ReceiveStream`], since its creation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReceiveStats {
    /// Packets handed to [`ReceiveStream::push_packet`].
    pub packets_received: u64,
    /// Packets that never arrived (or arrived too late), detected at play-out.
    pub lost: u64,
    /// 10 ms frames produced by packet-loss concealment (losses FEC did not rebuild, waits on
    /// an empty buffer, undecodable packets).
    pub concealed_frames: u64,
    /// Lost packets rebuilt from the in-band FEC of the packet after them (counted only when
    /// that packet carried FEC; otherwise the loss is concealed).
    pub recovered_fec: u64,
    /// Packets that came after their play-out time and were dropped.
    pub late: u64,
    /// Packets received twice.
    pub duplicates: u64,
    /// Packets that could not be parsed or decoded, or did not fit the buffer.
    pub invalid: u64,
    /// Packets skipped to shorten the delay after jitter calmed down.
    pub discarded: u64,
    /// Mean time a played packet spent in the jitter buffer, in ms.
    pub mean_delay_ms: f64,
    /// The jitter buffer's current target delay, in ms.
    pub target_delay_ms: f64,
}

/// The receive chain of one remote participant.
///
/// Usage contract: [`ReceiveStream::push_packet`] for each packet as it arrives;
/// [`ReceiveStream::pull_frame`] every 10 ms with a `FRAME_SAMPLES`-long buffer (other lengths
/// work and are processed in 10 ms pieces); `now` never goes backwards.
#[derive(Debug)]
pub struct ReceiveStream {
    jitter: JitterBuffer,
    decoder: VoiceDecoder,
    volume: f32,
    /// Decoded samples waiting to be played: `fifo[fifo_start..fifo_end]`.
    fifo: Vec<f32>,
    fifo_start: usize,
    fifo_end: usize,
    /// Where discarded packets are decoded.
    scratch: Vec<f32>,
    /// The start of the last discarded packet, faded into whatever is decoded next.
    splice: [f32; SPLICE_SAMPLES],
    splice_pending: bool,
    packets_received: u64,
    invalid: u64,
    concealed_frames: u64,
    recovered_fec: u64,
}

impl ReceiveStream {
    /// Creates the chain, allocating all its memory (about 540 kB) now.
    pub fn new() -> Result<Self, AudioError> {
        Ok(Self {
            jitter: JitterBuffer::new(),
            decoder: VoiceDecoder::new()?,
            volume: 1.0,
            fifo: vec![0.0; FIFO_SAMPLES],
            fifo_start: 0,
            fifo_end: 0,
            scratch: vec![0.0; MAX_PACKET_SAMPLES],
            splice: [0.0; SPLICE_SAMPLES],
            splice_pending: false,
            packets_received: 0,
            invalid: 0,
            concealed_frames: 0,
            recovered_fec: 0,
        })
    }

    /// Hands over an Opus packet received at `now`, with its media timestamp in samples at
    /// 48 kHz (Mumble: sequence × 480; Jitsi: extended RTP timestamp).
    pub fn push_packet(&mut self, now: Instant, ts_samples: u64, payload: &[u8]) {
        self.packets_received += 1;
        let Some(samples) = codec::packet_samples_quiet(payload)
            .ok()
            .and_then(|samples| u32::try_from(samples).ok())
        else {
            self.invalid += 1;
            return;
        };
        // Rejections are counted by the jitter buffer and reported through `stats`.
        self.jitter.push(now, ts_samples, samples, payload);
    }

    /// Fills `out` with the next audio to play at `now` (`FRAME_SAMPLES` samples expected) and
    /// says whether any of it came from the stream; `false` means `out` is all silence.
    pub fn pull_frame(&mut self, now: Instant, out: &mut [f32]) -> bool {
        let mut played = false;
        for chunk in out.chunks_mut(FRAME_SAMPLES) {
            played |= self.pull_chunk(now, chunk);
        }
        played
    }

    /// Sets the playback gain (linear, 0.0–[`MAX_VOLUME`]; 1.0 is unchanged). Values out of
    /// range are clamped, NaN mutes.
    pub fn set_volume(&mut self, volume: f32) {
        self.volume = if volume.is_nan() {
            0.0
        } else {
            volume.clamp(0.0, MAX_VOLUME)
        };
    }

    /// The playback gain.
    pub fn volume(&self) -> f32 {
        self.volume
    }

    /// Whether the remote participant is in a talk-spurt (buffering or playing).
    pub fn active(&self) -> bool {
        self.jitter.active() || self.fifo_end > self.fifo_start
    }

    /// Counters and delays since creation.
    pub fn stats(&self) -> ReceiveStats {
        let jitter = self.jitter.stats();
        ReceiveStats {
            packets_received: self.packets_received,
            lost: jitter.lost,
            concealed_frames: self.concealed_frames,
            recovered_fec: self.recovered_fec,
            late: jitter.late,
            duplicates: jitter.duplicates,
            invalid: self.invalid + jitter.rejected,
            discarded: jitter.discarded,
            mean_delay_ms: jitter.mean_delay_ms,
            target_delay_ms: jitter.target_delay_ms,
        }
    }

    /// Fills one chunk of at most `FRAME_SAMPLES`.
    fn pull_chunk(&mut self, now: Instant, chunk: &mut [f32]) -> bool {
        while self.fifo_end - self.fifo_start < chunk.len() {
            // Move the leftover (under one frame) to the front so a whole packet fits behind it.
            self.fifo.copy_within(self.fifo_start..self.fifo_end, 0);
            self.fifo_end -= self.fifo_start;
            self.fifo_start = 0;
            if !self.refill(now) {
                break;
            }
        }
        let available = (self.fifo_end - self.fifo_start).min(chunk.len());
        let source = &self.fifo[self.fifo_start..self.fifo_start + available];
        for (sample, &decoded) in chunk.iter_mut().zip(source) {
            *sample = decoded * self.volume;
        }
        chunk[available..].fill(0.0);
        self.fifo_start += available;
        available > 0
    }

    /// Appends the next packet's audio to the FIFO; `false` when the stream has nothing to
    /// play.
    fn refill(&mut self, now: Instant) -> bool {
        let start = self.fifo_end;
        // The FIFO holds less than one frame here, so at least a maximal packet fits.
        let room = &mut self.fifo[start..];
        let written = match self.jitter.pop(now) {
            Playout::Idle => return false,
            Playout::Packet {
                samples, payload, ..
            } => match self.decoder.decode_quiet(payload, room) {
                Ok(written) => written,
                Err(_) => {
                    self.invalid += 1;
                    conceal(&mut self.decoder, room, samples, &mut self.concealed_frames)
                }
            },
            Playout::Lost {
                samples,
                next: Some(next),
                ..
            } if codec::packet_has_fec(next) => {
                let len = granules(samples);
                match self.decoder.decode_fec_quiet(next, &mut room[..len]) {
                    Ok(written) => {
                        self.recovered_fec += 1;
                        written
                    }
                    Err(_) => conceal(&mut self.decoder, room, samples, &mut self.concealed_frames),
                }
            }
            // No next packet, or one without FEC: libopus could only conceal anyway. A stretch
            // is concealment too, in front of a packet that stays buffered.
            Playout::Lost { samples, .. } | Playout::Stretch { samples } => {
                conceal(&mut self.decoder, room, samples, &mut self.concealed_frames)
            }
            Playout::Discard { payload, .. } => {
                // Decoded so the decoder's history stays continuous, then dropped; its start is
                // kept to cross-fade into what comes next.
                if let Ok(written) = self.decoder.decode_quiet(payload, &mut self.scratch) {
                    let len = written.min(SPLICE_SAMPLES);
                    self.splice[..len].copy_from_slice(&self.scratch[..len]);
                    self.splice[len..].fill(0.0);
                    self.splice_pending = true;
                }
                return true;
            }
        };
        let written = written.min(room.len());
        if self.splice_pending {
            self.splice_pending = false;
            let len = written.min(SPLICE_SAMPLES);
            for (i, sample) in self.fifo[start..start + len].iter_mut().enumerate() {
                let weight = (i + 1) as f32 / (len + 1) as f32;
                *sample = self.splice[i] * (1.0 - weight) + *sample * weight;
            }
        }
        self.fifo_end = start + written;
        true
    }
}

/// Conceals `samples` (rounded up to whole 2.5 ms granules) at the start of `room`, counts the
/// 10 ms frames, and returns the length written.
fn conceal(decoder: &mut VoiceDecoder, room: &mut [f32], samples: u32, frames: &mut u64) -> usize {
    let len = granules(samples).min(room.len());
    decoder.conceal(&mut room[..len]);
    *frames += len.div_ceil(FRAME_SAMPLES) as u64;
    len
}

/// `samples` rounded up to a whole number of Opus granules, within one maximal packet.
fn granules(samples: u32) -> usize {
    // A u32 sample count always fits usize here (64- and 32-bit targets).
    let samples = (samples as usize).clamp(1, MAX_PACKET_SAMPLES);
    samples.div_ceil(OPUS_GRANULE_SAMPLES) * OPUS_GRANULE_SAMPLES
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rand::rngs::StdRng;
    use rand::{Rng as _, SeedableRng as _};

    use super::*;
    use crate::audio::codec::tests::{correlation, speech_48k, tone};
    use crate::audio::codec::{EncoderConfig, VoiceEncoder};
    use crate::config::Preset;

    /// Encodes `pcm` in 20 ms packets at the standard preset (DTX off, so every frame is sent).
    fn encode(pcm: &[f32], fec: bool) -> Vec<Vec<u8>> {
        let config = EncoderConfig {
            dtx: false,
            fec,
            ..EncoderConfig::for_preset(Preset::Standard)
        };
        let mut encoder = VoiceEncoder::new(&config).expect("encoder");
        let mut packet = Vec::new();
        pcm.chunks_exact(encoder.frame_samples())
            .map(|frame| {
                encoder.encode(frame, &mut packet).expect("encode");
                packet.clone()
            })
            .collect()
    }

    /// Sends `packets` every 20 ms through a network that loses each with `loss` probability
    /// and delays it by `delay_ms(rng)`, pulls 10 ms frames, and returns the output and stats.
    fn run(
        packets: &[Vec<u8>],
        loss: f64,
        seed: u64,
        mut delay_ms: impl FnMut(&mut StdRng) -> u64,
    ) -> (Vec<f32>, ReceiveStats) {
        let t0 = Instant::now();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut arrivals: Vec<(u64, usize)> = Vec::new();
        for seq in 0..packets.len() {
            if !rng.random_bool(loss) {
                arrivals.push((seq as u64 * 20 + delay_ms(&mut rng), seq));
            }
        }
        arrivals.sort_unstable_by(|a, b| b.cmp(a));
        let mut stream = ReceiveStream::new().expect("stream");
        let end_ms = packets.len() as u64 * 20 + 1_000;
        let mut output = Vec::with_capacity(end_ms as usize * 48);
        let mut frame = [0.0; FRAME_SAMPLES];
        for now_ms in (0..end_ms).step_by(10) {
            while let Some(&(at, seq)) = arrivals.last()
                && at <= now_ms
            {
                arrivals.pop();
                let now = t0 + Duration::from_millis(at);
                stream.push_packet(now, seq as u64 * 960, &packets[seq]);
            }
            stream.pull_frame(t0 + Duration::from_millis(now_ms), &mut frame);
            output.extend_from_slice(&frame);
        }
        (output, stream.stats())
    }

    /// The lag (in samples, up to 500 ms) at which `output[start..]` best matches one
    /// `window` of `reference[start..]`.
    fn search_lag(reference: &[f32], output: &[f32], start: usize, window: usize) -> usize {
        let probe = &reference[start..start + window];
        let score = |lag: usize| correlation(probe, &output[start..], lag);
        let coarse = (0..24_000)
            .step_by(4)
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
            .expect("non-empty lag range");
        (coarse.saturating_sub(4)..coarse + 4)
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
            .expect("non-empty lag range")
    }

    /// Correlation of `output` with `reference` over the voiced 100 ms windows of `reference`,
    /// each aligned at the best of whole 10 ms steps (±40 ms) around the previous window's lag
    /// (holds, stretches and discards shift the timeline by whole frames). Windows are summed
    /// before normalising, so this equals the plain correlation when the lag never moves.
    fn tracked_correlation(reference: &[f32], output: &[f32]) -> f64 {
        const WINDOW: usize = 4_800;
        let voiced: Vec<usize> = (0..reference.len() - WINDOW)
            .step_by(WINDOW)
            .filter(|&start| {
                let window = &reference[start..start + WINDOW];
                window.iter().map(|s| s * s).sum::<f32>() / WINDOW as f32 > 0.01 * 0.01
            })
            .collect();
        let mut lag = search_lag(reference, output, voiced[0], WINDOW);
        let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
        for &start in &voiced {
            let probe = &reference[start..start + WINDOW];
            lag = (-4i64..=4)
                .filter_map(|step| usize::try_from(lag as i64 + step * 480).ok())
                .max_by(|&a, &b| {
                    correlation(probe, &output[start..], a).total_cmp(&correlation(
                        probe,
                        &output[start..],
                        b,
                    ))
                })
                .expect("non-empty lag range");
            let Some(aligned) = output.get(start + lag..start + lag + WINDOW) else {
                break;
            };
            for (&x, &y) in probe.iter().zip(aligned) {
                ab += f64::from(x) * f64::from(y);
                aa += f64::from(x) * f64::from(x);
                bb += f64::from(y) * f64::from(y);
            }
        }
        ab / (aa * bb).sqrt()
    }

    #[test]
    fn clean_stream_plays_the_tone_then_goes_silent() {
        let pcm = tone(440.0, 0.5, 48_000);
        let packets = encode(&pcm, true);
        let (output, stats) = run(&packets, 0.0, 1, |_| 30);
        let corr = tracked_correlation(&pcm, &output);
        eprintln!("clean tone: corr {corr:.4}, {stats:?}");
        assert!(corr > 0.99, "correlation {corr}");
        assert_eq!(
            (stats.lost, stats.late, stats.recovered_fec, stats.invalid),
            (0, 0, 0, 0)
        );
        assert_eq!(stats.packets_received, 50);
        // The tail after the stream ended is exact silence.
        assert!(output[output.len() - 48_00..].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn speech_with_random_loss_is_rebuilt_by_fec() {
        let pcm = speech_48k("speech_en.wav");
        let with_fec = encode(&pcm, true);
        let without_fec = encode(&pcm, false);
        let jitter_ms = |rng: &mut StdRng| 30 + rng.random_range(0..=15);
        let (fec_out, fec_stats) = run(&with_fec, 0.10, 42, jitter_ms);
        let (plc_out, plc_stats) = run(&without_fec, 0.10, 42, jitter_ms);
        let (clean_out, _) = run(&with_fec, 0.0, 42, jitter_ms);
        let fec_corr = tracked_correlation(&pcm, &fec_out);
        let plc_corr = tracked_correlation(&pcm, &plc_out);
        let clean_corr = tracked_correlation(&pcm, &clean_out);
        eprintln!("speech, 10 % loss, FEC:    corr {fec_corr:.4}, {fec_stats:?}");
        eprintln!("speech, 10 % loss, no FEC: corr {plc_corr:.4}, {plc_stats:?}");
        eprintln!("speech, no loss:           corr {clean_corr:.4}");
        assert!(
            fec_stats.lost > 30,
            "about 10 % of {} packets lost",
            with_fec.len()
        );
        assert!(
            fec_stats.recovered_fec * 10 >= fec_stats.lost * 6,
            "FEC rebuilds most losses (measured 40 of 53): {fec_stats:?}"
        );
        assert_eq!(
            plc_stats.recovered_fec, 0,
            "no FEC in the stream, none counted"
        );
        // Measured: 0.953 without loss, 0.915 with FEC, 0.865 with concealment only.
        assert!(fec_corr > 0.88, "correlation with FEC {fec_corr}");
        assert!(
            fec_corr > plc_corr + 0.025,
            "FEC {fec_corr} beats plain concealment {plc_corr}"
        );
    }

    #[test]
    fn garbage_and_volume_are_handled() {
        let t0 = Instant::now();
        let mut stream = ReceiveStream::new().expect("stream");
        stream.push_packet(t0, 0, &[]);
        // A code-3 packet claiming 63 frames of 2.5 ms: over the 120 ms limit.
        stream.push_packet(t0, 0, &[0xFF; 3]);
        let mut frame = [1.0; FRAME_SAMPLES];
        assert!(!stream.pull_frame(t0, &mut frame), "nothing to play");
        assert!(frame.iter().all(|&s| s == 0.0));
        assert_eq!(stream.stats().invalid, 2);

        let pcm = tone(440.0, 0.25, 48_000 / 5);
        let packets = encode(&pcm, false);
        let mut full = ReceiveStream::new().expect("stream");
        let mut half = ReceiveStream::new().expect("stream");
        half.set_volume(0.5);
        full.set_volume(f32::INFINITY);
        assert_eq!(full.volume(), MAX_VOLUME);
        full.set_volume(1.0);
        let (mut a, mut b) = ([0.0; FRAME_SAMPLES], [0.0; FRAME_SAMPLES]);
        let mut any = false;
        for (seq, packet) in packets.iter().enumerate() {
            let now = t0 + Duration::from_millis(seq as u64 * 20);
            full.push_packet(now, seq as u64 * 960, packet);
            half.push_packet(now, seq as u64 * 960, packet);
            for step in 0..2 {
                let now = now + Duration::from_millis(step * 10);
                any |= full.pull_frame(now, &mut a);
                half.pull_frame(now, &mut b);
                for (x, y) in a.iter().zip(&b) {
                    assert!((x * 0.5 - y).abs() < 1e-6, "half volume");
                }
            }
        }
        assert!(any, "the tone played");
        half.set_volume(f32::NAN);
        assert_eq!(half.volume(), 0.0);
    }

    #[test]
    fn hostile_packets_never_panic_and_output_is_full() {
        let t0 = Instant::now();
        let mut stream = ReceiveStream::new().expect("stream");
        let mut rng = StdRng::seed_from_u64(5);
        let valid = encode(&tone(300.0, 0.3, 9_600), true);
        let mut frame = [0.0; FRAME_SAMPLES];
        let mut bytes = vec![0u8; 2_000];
        for i in 0..5_000u64 {
            let now = t0 + Duration::from_millis(i * 3);
            let ts = match i % 4 {
                0 => rng.random(),
                1 => i * 480,
                2 => rng.random_range(0..10_000) * 120,
                _ => u64::MAX - rng.random_range(0..1000),
            };
            if i % 2 == 0 {
                let len = rng.random_range(0..bytes.len());
                rng.fill(&mut bytes[..len]);
                stream.push_packet(now, ts, &bytes[..len]);
            } else {
                stream.push_packet(now, ts, &valid[i as usize % valid.len()]);
            }
            if i % 3 == 0 {
                stream.pull_frame(now, &mut frame);
                assert!(frame.iter().all(|s| s.is_finite()));
            }
        }
        let mut odd = [0.0; 1000];
        stream.pull_frame(t0 + Duration::from_secs(60), &mut odd);
        assert!(stream.stats().invalid > 0);
    }
}
