//! An adaptive jitter buffer for one remote voice stream, decoder- and protocol-agnostic.
//!
//! Sans-IO: time is an argument (`now`); this module never reads the clock, never sleeps and
//! never spawns. Packets are identified by their media timestamp in samples at 48 kHz (Mumble:
//! sequence × 480; Jitsi: the extended RTP timestamp) and carry an opaque payload plus its
//! duration in samples.
//!
//! Invariants:
//! - Memory is fixed at construction: at most [`CAPACITY_PACKETS`] packets of at most
//!   [`MAX_PAYLOAD_BYTES`] each, copied into preallocated slots. [`JitterBuffer::push`] and
//!   [`JitterBuffer::pop`] never allocate, whatever the input.
//! - A media timestamp is played at most once; once the play-out position has passed it, a
//!   packet is late (or a duplicate) and is dropped.
//! - The target delay stays within [`MIN_TARGET_DELAY_MS`]..=[`MAX_TARGET_DELAY_MS`].
//!
//! # Algorithm
//!
//! Every packet's *transit* is its arrival time minus its media time, relative to the first
//! packet of the talk-spurt; its *excess* is the transit minus the smallest transit of the
//! spurt, i.e. how much later than the fastest path it came. The jitter target is the 97th
//! percentile of the excess over the last [`JITTER_WINDOW_PACKETS`] packets (late ones
//! included), clamped to 20–500 ms. A percentile over a window was chosen over RFC 3550's
//! smoothed mean deviation because it reads directly as "a delay that 97 % of packets meet"
//! and forgets a past burst of jitter after a known number of packets. While packets are being
//! lost (a loss among the last [`JITTER_WINDOW_PACKETS`] played), the target gets one packet of
//! headroom, so that the packet after a loss is usually in when the loss is due and its FEC can
//! rebuild it.
//!
//! The *lag* is how far the play-out runs behind the fastest path's arrival of the same media.
//! A talk-spurt starts when its oldest packet's lag reaches the target. Then each
//! [`JitterBuffer::pop`] plays the packet at the play-out position, or reports the gap as
//! [`Playout::Lost`] (with the following packet, for FEC, when it is there). The lag follows
//! the target three ways:
//! - empty buffer: the position *holds* (one 10 ms frame concealed, nothing skipped), so a late
//!   packet is still played and the lag grows by what it needed;
//! - lag a frame under target: one [`Playout::Stretch`] frame is concealed in front of the
//!   packet;
//! - lag a whole packet over target: the packet is [`Playout::Discard`]ed.
//!
//! Stretches and discards need 100 ms of steady play (no discard, stretch, loss or hold) before
//! them. After [`IDLE_AFTER_MS`] of holding (the sender's gate closed: nothing more is sent) the
//! stream goes [`Playout::Idle`] and the next packet starts a new talk-spurt.
//!
//! Known limit: a sender whose clock runs slower than ours drifts the smallest transit up,
//! which this estimator only relearns at the next talk-spurt; the effect is one hold and one
//! discard every few minutes of uninterrupted speech. Discards and stretches are decoder-level
//! splices, not time-stretching: each is a short audible seam, which is why they are rate-limited.

use std::time::{Duration, Instant};

use crate::audio::{FRAME_SAMPLES, SAMPLE_RATE};

/// The smallest target delay, in ms.
pub const MIN_TARGET_DELAY_MS: u32 = 20;
/// The largest target delay, in ms.
pub const MAX_TARGET_DELAY_MS: u32 = 500;
/// Packets the buffer can hold; the oldest is evicted beyond that.
pub const CAPACITY_PACKETS: usize = 64;
/// The largest payload accepted, in bytes (120 ms of Opus at its maximal frame size).
pub const MAX_PAYLOAD_BYTES: usize = 1275 * 6;
/// The longest packet accepted, in samples (120 ms at 48 kHz).
pub const MAX_PACKET_SAMPLES: u32 = 5_760;
/// Packets whose delay the target is computed from.
pub const JITTER_WINDOW_PACKETS: usize = 128;
/// Holding on an empty buffer for this long means the sender stopped: the stream goes idle.
pub const IDLE_AFTER_MS: u32 = 60;
/// A gap in timestamps longer than this is not concealed: play-out restarts at the next
/// packet (a new talk-spurt).
pub const MAX_CONCEALED_GAP_MS: u32 = 120;

/// Percentile of the excess delay used as the target.
const JITTER_PERCENTILE: usize = 97;
/// A timestamp further than this from the play-out position restarts the stream (a sender
/// restart, a timestamp jump, or hostile input): one second of media.
const HORIZON_SAMPLES: u64 = SAMPLE_RATE as u64;
/// Recently played timestamps remembered to tell a duplicate from a late packet.
const PLAYED_HISTORY: usize = 32;
/// A discard or a stretch needs this much steady play before it (no discard, stretch, loss or
/// hold), in samples (100 ms).
const ADAPT_SPACING_SAMPLES: u64 = SAMPLE_RATE as u64 / 10;
// A frame is 10 ms, far below any u32 limit.
const FRAME_SAMPLES_U32: u32 = FRAME_SAMPLES as u32;
const IDLE_AFTER_SAMPLES: u32 = IDLE_AFTER_MS * SAMPLE_RATE / 1000;
const MAX_CONCEALED_GAP_SAMPLES: u64 = MAX_CONCEALED_GAP_MS as u64 * SAMPLE_RATE as u64 / 1000;

/// What to play next, from [`JitterBuffer::pop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Decode and play this packet.
    Packet {
        /// Media timestamp, in samples.
        ts: u64,
        /// Duration, in samples.
        samples: u32,
        /// The packet as pushed.
        payload: &'a [u8],
    },
    /// Media from `ts` for `samples` is missing: conceal it. When `next` is given, it is the
    /// packet that directly follows the gap, whose in-band FEC may rebuild it; it stays in the
    /// buffer and comes back as a [`Playout::Packet`]. While the buffer is empty the play-out
    /// holds: the same `ts` is reported again, 10 ms at a time, until a packet comes or the
    /// stream goes idle.
    Lost {
        /// Media timestamp of the gap, in samples.
        ts: u64,
        /// Duration of the gap to fill, in samples.
        samples: u32,
        /// The packet right after the gap, if it has arrived.
        next: Option<&'a [u8]>,
    },
    /// Decode this packet to keep the decoder's history, but do not play it: the buffer is
    /// shortening its delay.
    Discard {
        /// Media timestamp, in samples.
        ts: u64,
        /// Duration, in samples.
        samples: u32,
        /// The packet as pushed.
        payload: &'a [u8],
    },
    /// Conceal `samples` without consuming media: the buffer is lengthening its delay (the
    /// target rose while packets kept coming in time).
    Stretch {
        /// Duration to conceal, in samples.
        samples: u32,
    },
    /// Nothing to play (no talk-spurt, or one is still buffering): output silence.
    Idle,
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for play-out.
    Buffered,
    /// Already buffered or played: dropped.
    Duplicate,
    /// Its play-out time has passed: dropped.
    Late,
    /// Empty, too large, of a duration out of 1..=[`MAX_PACKET_SAMPLES`], or older than a full
    /// buffer's contents: dropped.
    Rejected,
}

/// Counters and delays of a [`JitterBuffer`], since its creation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JitterStats {
    /// Packets stored.
    pub buffered: u64,
    /// Packets returned as [`Playout::Packet`].
    pub played: u64,
    /// Packets dropped because they came after their play-out time.
    pub late: u64,
    /// Packets dropped because they were already buffered or played.
    pub duplicates: u64,
    /// Packets dropped as malformed, or because the buffer was full.
    pub rejected: u64,
    /// Gaps reported as [`Playout::Lost`] with the play-out moving past them (packets lost).
    pub lost: u64,
    /// 10 ms frames concealed while holding on an empty buffer (the delay grew).
    pub underruns: u64,
    /// Packets discarded to shrink the delay.
    pub discarded: u64,
    /// 10 ms frames concealed in front of a buffered packet to lengthen the delay.
    pub stretched: u64,
    /// Packets dropped unplayed because the buffer was full, or flushed when the stream
    /// restarted at a far-away timestamp.
    pub overflowed: u64,
    /// Talk-spurts started.
    pub talk_spurts: u64,
    /// Mean time a played packet spent in the buffer, in ms.
    pub mean_delay_ms: f64,
    /// The current target delay, in ms.
    pub target_delay_ms: f64,
}

/// One stored packet; its payload lives at the same index in the payload arena.
#[derive(Debug, Clone, Copy)]
struct Slot {
    ts: u64,
    samples: u32,
    arrival: Instant,
    len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No talk-spurt: the buffer is empty.
    Idle,
    /// A talk-spurt's first packets are in; waiting for the target delay.
    Buffering,
    /// Playing out from `next_ts`.
    Playing,
}

/// The first packet of the current talk-spurt: origin of transit measurements.
#[derive(Debug, Clone, Copy)]
struct SpurtReference {
    ts: u64,
    arrival: Instant,
    /// Smallest transit seen in this spurt, in µs relative to the reference (≤ 0).
    min_transit_us: i64,
}

/// What `pop` decided, before borrowing a payload for the answer.
enum Decision {
    Idle,
    Play(usize),
    Discard(usize),
    Stretch,
    Lost {
        ts: u64,
        samples: u32,
        next: Option<usize>,
    },
}

/// An adaptive jitter buffer: see the module documentation.
///
/// Usage contract: call [`JitterBuffer::push`] for every received packet, with `now` its
/// arrival time; call [`JitterBuffer::pop`] whenever the consumer needs more audio (about every
/// 10 ms, at least once per packet duration), with a `now` that never goes backwards.
#[derive(Debug)]
pub struct JitterBuffer {
    slots: Vec<Slot>,
    payloads: Vec<u8>,
    /// Indices of live slots, sorted by timestamp.
    order: Vec<usize>,
    /// Indices of slots free for reuse.
    free: Vec<usize>,
    state: State,
    spurt: Option<SpurtReference>,
    /// Media timestamp of the next sample to play.
    next_ts: u64,
    /// Duration of the last packet played, the expected duration of a missing one.
    last_samples: u32,
    /// Samples concealed in a row while holding on an empty buffer.
    held_samples: u32,
    /// Samples played since the last discard, loss or hold: discards wait for a steady stream.
    steady_samples: u64,
    /// End of the last played media and when the stream went idle: tells a straggler of the
    /// previous talk-spurt from the start of a new one.
    last_end_ts: Option<u64>,
    idle_since: Option<Instant>,
    excess_us: [i32; JITTER_WINDOW_PACKETS],
    excess_len: usize,
    excess_pos: usize,
    scratch_us: [i32; JITTER_WINDOW_PACKETS],
    /// The delay the measured jitter asks for (percentile, clamped), in µs.
    jitter_target_us: i64,
    /// Packets played since the last loss: while under [`JITTER_WINDOW_PACKETS`], the target
    /// keeps one packet of headroom so the packet after a loss is there in time for its FEC.
    packets_since_loss: usize,
    played_ts: [u64; PLAYED_HISTORY],
    played_len: usize,
    played_pos: usize,
    delay_sum_us: u128,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl JitterBuffer {
    /// Creates an empty buffer, allocating all its memory (about 490 kB) now.
    pub fn new() -> Self {
        Self {
            slots: Vec::with_capacity(CAPACITY_PACKETS),
            payloads: vec![0; CAPACITY_PACKETS * MAX_PAYLOAD_BYTES],
            order: Vec::with_capacity(CAPACITY_PACKETS),
            free: Vec::with_capacity(CAPACITY_PACKETS),
            state: State::Idle,
            spurt: None,
            next_ts: 0,
            last_samples: 0,
            held_samples: 0,
            steady_samples: 0,
            last_end_ts: None,
            idle_since: None,
            excess_us: [0; JITTER_WINDOW_PACKETS],
            excess_len: 0,
            excess_pos: 0,
            scratch_us: [0; JITTER_WINDOW_PACKETS],
            jitter_target_us: i64::from(MIN_TARGET_DELAY_MS) * 1000,
            packets_since_loss: JITTER_WINDOW_PACKETS,
            played_ts: [0; PLAYED_HISTORY],
            played_len: 0,
            played_pos: 0,
            delay_sum_us: 0,
            stats: JitterStats::default(),
        }
    }

    /// Hands a received packet to the buffer: `now` is its arrival time, `ts` its media
    /// timestamp and `samples` its duration, both in samples at 48 kHz.
    pub fn push(&mut self, now: Instant, ts: u64, samples: u32, payload: &[u8]) -> PushOutcome {
        if payload.is_empty()
            || payload.len() > MAX_PAYLOAD_BYTES
            || samples == 0
            || samples > MAX_PACKET_SAMPLES
        {
            self.stats.rejected += 1;
            return PushOutcome::Rejected;
        }
        if self
            .idle_since
            .is_some_and(|since| elapsed_us(now, since) >= max_target_us())
        {
            // Long silence: whatever comes now is a new stream, possibly with reused timestamps.
            self.played_len = 0;
            self.last_end_ts = None;
        }
        if self.position(ts).is_ok() || self.played_ts[..self.played_len].contains(&ts) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        match self.state {
            State::Idle => {
                if self
                    .last_end_ts
                    .is_some_and(|end| ts < end && end - ts <= HORIZON_SAMPLES)
                {
                    self.stats.late += 1;
                    return PushOutcome::Late;
                }
                self.start_spurt(ts, now);
            }
            State::Buffering => {
                let origin = self.spurt.map_or(ts, |spurt| spurt.ts);
                if ts.abs_diff(origin) > HORIZON_SAMPLES {
                    self.flush();
                    self.start_spurt(ts, now);
                }
            }
            State::Playing => {
                if ts.abs_diff(self.next_ts) > HORIZON_SAMPLES {
                    self.flush();
                    self.start_spurt(ts, now);
                } else if ts < self.next_ts {
                    // Late packets still say how late the network can be.
                    self.record_transit(now, ts);
                    self.stats.late += 1;
                    return PushOutcome::Late;
                }
            }
        }
        self.record_transit(now, ts);
        self.insert(now, ts, samples, payload)
    }

    /// Says what to play next; call it whenever the consumer needs audio. See [`Playout`].
    pub fn pop(&mut self, now: Instant) -> Playout<'_> {
        let decision = self.decide(now);
        match decision {
            Decision::Idle => Playout::Idle,
            Decision::Play(index) => {
                let slot = self.slots[index];
                Playout::Packet {
                    ts: slot.ts,
                    samples: slot.samples,
                    payload: self.payload(index),
                }
            }
            Decision::Discard(index) => {
                let slot = self.slots[index];
                Playout::Discard {
                    ts: slot.ts,
                    samples: slot.samples,
                    payload: self.payload(index),
                }
            }
            Decision::Stretch => Playout::Stretch {
                samples: FRAME_SAMPLES_U32,
            },
            Decision::Lost { ts, samples, next } => Playout::Lost {
                ts,
                samples,
                next: next.map(|index| self.payload(index)),
            },
        }
    }

    /// Counters, mean delay and current target.
    pub fn stats(&self) -> JitterStats {
        let mut stats = self.stats;
        stats.mean_delay_ms = if stats.played == 0 {
            0.0
        } else {
            self.delay_sum_us as f64 / stats.played as f64 / 1000.0
        };
        stats.target_delay_ms = self.target_delay_ms();
        stats
    }

    /// The current target delay, in ms.
    pub fn target_delay_ms(&self) -> f64 {
        self.target_us() as f64 / 1000.0
    }

    /// Packets currently stored (at most [`CAPACITY_PACKETS`]).
    pub fn buffered_packets(&self) -> usize {
        self.order.len()
    }

    /// Whether a talk-spurt is being played (or buffered); `false` once idle.
    pub fn active(&self) -> bool {
        self.state != State::Idle
    }

    fn decide(&mut self, now: Instant) -> Decision {
        // Two passes at most: a gap too long to conceal turns into a new spurt, once.
        for _ in 0..2 {
            match self.state {
                State::Idle => return Decision::Idle,
                State::Buffering => {
                    let Some(&head) = self.order.first() else {
                        self.go_idle(now);
                        return Decision::Idle;
                    };
                    if self.lag_us(now, self.slots[head].ts) < self.target_us() {
                        return Decision::Idle;
                    }
                    self.state = State::Playing;
                    self.next_ts = self.slots[head].ts;
                    self.held_samples = 0;
                    self.steady_samples = 0;
                }
                State::Playing => {}
            }
            // Overlapping timestamps (only from a confused or hostile sender) count as late.
            while let Some(&head) = self.order.first()
                && self.slots[head].ts < self.next_ts
            {
                self.remove_head();
                self.stats.late += 1;
            }
            let Some(&head) = self.order.first() else {
                if self.held_samples >= IDLE_AFTER_SAMPLES {
                    self.go_idle(now);
                    return Decision::Idle;
                }
                self.held_samples += FRAME_SAMPLES_U32;
                self.steady_samples = 0;
                self.stats.underruns += 1;
                return Decision::Lost {
                    ts: self.next_ts,
                    samples: FRAME_SAMPLES_U32,
                    next: None,
                };
            };
            self.held_samples = 0;
            let slot = self.slots[head];
            let gap = slot.ts - self.next_ts;
            if gap > MAX_CONCEALED_GAP_SAMPLES {
                // The sender paused (or many packets went missing): start over at this packet.
                self.state = State::Buffering;
                self.spurt = Some(SpurtReference {
                    ts: slot.ts,
                    arrival: slot.arrival,
                    min_transit_us: 0,
                });
                self.stats.talk_spurts += 1;
                continue;
            }
            if gap > 0 {
                let expected = if self.last_samples == 0 {
                    slot.samples
                } else {
                    self.last_samples
                };
                // `gap` ≤ MAX_CONCEALED_GAP_SAMPLES here, which fits a u32.
                let samples = expected.min(gap as u32);
                let ts = self.next_ts;
                self.next_ts += u64::from(samples);
                self.steady_samples = 0;
                self.packets_since_loss = 0;
                self.stats.lost += 1;
                let next = (u64::from(samples) == gap).then_some(head);
                return Decision::Lost { ts, samples, next };
            }
            if self.steady_samples >= ADAPT_SPACING_SAMPLES
                && self.lag_us(now, slot.ts) + samples_to_us(i128::from(FRAME_SAMPLES_U32))
                    <= self.target_us()
            {
                // Under target (it rose, or a discard overshot): conceal one frame in front of
                // the packet, which stays at the play-out position.
                self.steady_samples = 0;
                self.stats.stretched += 1;
                return Decision::Stretch;
            }
            let discard = self.should_discard(now, &slot);
            self.remove_head();
            self.next_ts = slot.ts.saturating_add(u64::from(slot.samples));
            self.last_samples = slot.samples;
            self.last_end_ts = Some(self.next_ts);
            self.played_ts[self.played_pos] = slot.ts;
            self.played_pos = (self.played_pos + 1) % PLAYED_HISTORY;
            self.played_len = (self.played_len + 1).min(PLAYED_HISTORY);
            if discard {
                self.steady_samples = 0;
                self.stats.discarded += 1;
                return Decision::Discard(head);
            }
            self.steady_samples += u64::from(slot.samples);
            self.packets_since_loss = self.packets_since_loss.saturating_add(1);
            self.stats.played += 1;
            self.delay_sum_us += now.saturating_duration_since(slot.arrival).as_micros();
            return Decision::Play(head);
        }
        // The second pass starts in Buffering with the head at the play-out position, so it
        // always returns; this is only the loop's required end.
        Decision::Idle
    }

    /// Whether the head packet (at the play-out position) should be dropped to shrink delay.
    fn should_discard(&self, now: Instant, head: &Slot) -> bool {
        if self.steady_samples < ADAPT_SPACING_SAMPLES {
            return false;
        }
        // Only when the next packet is already here, so the discard cannot cause a gap.
        let follows = self.order.get(1).is_some_and(|&second| {
            self.slots[second].ts == head.ts.saturating_add(u64::from(head.samples))
        });
        if !follows {
            return false;
        }
        let after_us = self.lag_us(now, head.ts) - samples_to_us(i128::from(head.samples));
        // Never below the target; the lag is measured when the consumer asks, which is up to
        // one frame before the packet is heard, so the real lag is a little higher still.
        after_us >= self.target_us()
    }

    /// The target delay in µs: the jitter's, plus one packet of FEC headroom while packets are
    /// being lost.
    fn target_us(&self) -> i64 {
        let headroom_us = if self.packets_since_loss < JITTER_WINDOW_PACKETS {
            let packet = if self.last_samples == 0 {
                FRAME_SAMPLES_U32 * 2
            } else {
                self.last_samples
            };
            samples_to_us(i128::from(packet))
        } else {
            0
        };
        (self.jitter_target_us + headroom_us).min(max_target_us())
    }

    /// How far behind the fastest network path media `ts` is when played at `now`, in µs: the
    /// quantity the target delay is about.
    fn lag_us(&self, now: Instant, ts: u64) -> i64 {
        let Some(spurt) = self.spurt else { return 0 };
        let media_us = samples_to_us(i128::from(ts) - i128::from(spurt.ts));
        signed_us(now, spurt.arrival)
            .saturating_sub(spurt.min_transit_us)
            .saturating_sub(media_us)
    }

    fn start_spurt(&mut self, ts: u64, now: Instant) {
        self.state = State::Buffering;
        self.spurt = Some(SpurtReference {
            ts,
            arrival: now,
            min_transit_us: 0,
        });
        self.idle_since = None;
        self.stats.talk_spurts += 1;
    }

    fn go_idle(&mut self, now: Instant) {
        self.flush();
        self.state = State::Idle;
        self.spurt = None;
        self.held_samples = 0;
        self.idle_since = Some(now);
    }

    /// Empties the buffer; the dropped packets count as overflowed.
    fn flush(&mut self) {
        self.stats.overflowed += self.order.len() as u64;
        self.free.extend_from_slice(&self.order);
        self.order.clear();
    }

    fn record_transit(&mut self, now: Instant, ts: u64) {
        let Some(spurt) = self.spurt.as_mut() else {
            return;
        };
        let media_us = samples_to_us(i128::from(ts) - i128::from(spurt.ts));
        let transit_us = signed_us(now, spurt.arrival).saturating_sub(media_us);
        spurt.min_transit_us = spurt.min_transit_us.min(transit_us);
        let excess_us = transit_us.saturating_sub(spurt.min_transit_us);
        // Clamped: anything past i32::MAX µs (35 min) is past the maximum target anyway.
        self.excess_us[self.excess_pos] = excess_us.clamp(0, i64::from(i32::MAX)) as i32;
        self.excess_pos = (self.excess_pos + 1) % JITTER_WINDOW_PACKETS;
        self.excess_len = (self.excess_len + 1).min(JITTER_WINDOW_PACKETS);
        let window = &mut self.scratch_us[..self.excess_len];
        window.copy_from_slice(&self.excess_us[..self.excess_len]);
        let rank = (self.excess_len * JITTER_PERCENTILE).div_ceil(100) - 1;
        let (_, &mut percentile, _) = window.select_nth_unstable(rank);
        self.jitter_target_us = i64::from(percentile).clamp(min_target_us(), max_target_us());
    }

    fn insert(&mut self, now: Instant, ts: u64, samples: u32, payload: &[u8]) -> PushOutcome {
        let position = match self.position(ts) {
            Ok(_) => {
                self.stats.duplicates += 1;
                return PushOutcome::Duplicate;
            }
            Err(position) => position,
        };
        let mut position = position;
        if self.order.len() == CAPACITY_PACKETS {
            if position == 0 {
                self.stats.rejected += 1;
                return PushOutcome::Rejected;
            }
            // Evict the oldest: it is the first to be late anyway, and the play-out skips it.
            let evicted = self.slots[self.order[0]];
            self.remove_head();
            self.stats.overflowed += 1;
            if self.state == State::Playing {
                let end = evicted.ts.saturating_add(u64::from(evicted.samples));
                self.next_ts = self.next_ts.max(end);
            }
            position -= 1;
        }
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                // Fewer than CAPACITY_PACKETS slots are live and none is free, so the slot
                // vector is below its reserved capacity: this push does not reallocate.
                self.slots.push(Slot {
                    ts,
                    samples,
                    arrival: now,
                    len: 0,
                });
                self.slots.len() - 1
            }
        };
        self.slots[index] = Slot {
            ts,
            samples,
            arrival: now,
            len: payload.len(),
        };
        let start = index * MAX_PAYLOAD_BYTES;
        self.payloads[start..start + payload.len()].copy_from_slice(payload);
        self.order.insert(position, index);
        self.stats.buffered += 1;
        PushOutcome::Buffered
    }

    /// Where `ts` is (`Ok`) or would go (`Err`) in the sorted order.
    fn position(&self, ts: u64) -> Result<usize, usize> {
        self.order
            .binary_search_by_key(&ts, |&index| self.slots[index].ts)
    }

    fn remove_head(&mut self) {
        if !self.order.is_empty() {
            let index = self.order.remove(0);
            self.free.push(index);
        }
    }

    fn payload(&self, index: usize) -> &[u8] {
        let start = index * MAX_PAYLOAD_BYTES;
        &self.payloads[start..start + self.slots[index].len]
    }
}

fn min_target_us() -> i64 {
    i64::from(MIN_TARGET_DELAY_MS) * 1000
}

fn max_target_us() -> i64 {
    i64::from(MAX_TARGET_DELAY_MS) * 1000
}

/// `later − earlier` in µs, negative when `later` is earlier; saturates.
fn signed_us(later: Instant, earlier: Instant) -> i64 {
    match later.checked_duration_since(earlier) {
        Some(duration) => duration_us(duration),
        None => -duration_us(earlier.duration_since(later)),
    }
}

/// Time from `since` to `now` in µs, 0 if `now` is earlier.
fn elapsed_us(now: Instant, since: Instant) -> i64 {
    duration_us(now.saturating_duration_since(since))
}

fn duration_us(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// A signed count of 48 kHz samples in µs; saturates.
fn samples_to_us(samples: i128) -> i64 {
    let us = samples.saturating_mul(1_000_000) / i128::from(SAMPLE_RATE);
    i64::try_from(us).unwrap_or(if us < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::rngs::StdRng;
    use rand::{Rng as _, SeedableRng as _};

    const PACKET: u32 = 960;

    /// A payload that names its packet, so tests can check what comes out.
    fn payload(seq: u64) -> [u8; 8] {
        seq.to_le_bytes()
    }

    fn seq_of(payload: &[u8]) -> u64 {
        u64::from_le_bytes(payload.try_into().expect("8-byte test payload"))
    }

    /// What one pop produced, owned, for assertions.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Out {
        Packet(u64),
        Lost {
            ts: u64,
            samples: u32,
            next: Option<u64>,
        },
        Discard(u64),
        Stretch,
        Idle,
    }

    fn pop(jitter: &mut JitterBuffer, now: Instant) -> Out {
        match jitter.pop(now) {
            Playout::Packet {
                payload,
                ts,
                samples,
            } => {
                assert_eq!(
                    ts,
                    seq_of(payload) * u64::from(PACKET),
                    "ts matches payload"
                );
                assert_eq!(samples, PACKET);
                Out::Packet(seq_of(payload))
            }
            Playout::Lost { ts, samples, next } => Out::Lost {
                ts,
                samples,
                next: next.map(seq_of),
            },
            Playout::Discard { payload, .. } => Out::Discard(seq_of(payload)),
            Playout::Stretch { samples } => {
                assert_eq!(samples, FRAME_SAMPLES_U32);
                Out::Stretch
            }
            Playout::Idle => Out::Idle,
        }
    }

    /// Virtual network plus a consumer that pulls like `ReceiveStream`: every 10 ms it needs
    /// 480 samples and pops until its FIFO holds them.
    struct Sim {
        t0: Instant,
        now_ms: u64,
        jitter: JitterBuffer,
        /// (arrival ms, sequence number), sorted by arrival when run.
        arrivals: Vec<(u64, u64)>,
        fifo: u32,
        log: Vec<Out>,
    }

    impl Sim {
        fn new() -> Self {
            Self {
                t0: Instant::now(),
                now_ms: 0,
                jitter: JitterBuffer::new(),
                arrivals: Vec::new(),
                fifo: 0,
                log: Vec::new(),
            }
        }

        fn at(&self, ms: u64) -> Instant {
            self.t0 + Duration::from_millis(ms)
        }

        /// Sends packets `seqs` of 20 ms, the first at `start_ms`, each arriving `delay_ms(seq)`
        /// after it was sent (`None`: lost).
        fn send(
            &mut self,
            seqs: std::ops::Range<u64>,
            start_ms: u64,
            mut delay_ms: impl FnMut(u64) -> Option<u64>,
        ) {
            let first = seqs.start;
            for seq in seqs {
                if let Some(delay) = delay_ms(seq) {
                    self.arrivals
                        .push((start_ms + (seq - first) * 20 + delay, seq));
                }
            }
            self.arrivals.sort_unstable_by(|a, b| b.cmp(a));
        }

        /// Delivers arrivals and ticks the consumer every 10 ms until `end_ms` (excluded).
        fn run_until(&mut self, end_ms: u64) {
            while self.now_ms < end_ms {
                while let Some(&(at, seq)) = self.arrivals.last()
                    && at <= self.now_ms
                {
                    self.arrivals.pop();
                    let now = self.at(at);
                    self.jitter
                        .push(now, seq * u64::from(PACKET), PACKET, &payload(seq));
                }
                self.tick();
                self.now_ms += 10;
            }
        }

        fn tick(&mut self) {
            let now = self.at(self.now_ms);
            while self.fifo < FRAME_SAMPLES_U32 {
                let out = pop(&mut self.jitter, now);
                match out {
                    Out::Packet(_) => self.fifo += PACKET,
                    Out::Lost { samples, .. } => self.fifo += samples,
                    Out::Stretch => self.fifo += FRAME_SAMPLES_U32,
                    Out::Discard(_) => {}
                    Out::Idle => self.fifo = FRAME_SAMPLES_U32,
                }
                self.log.push(out);
            }
            self.fifo -= FRAME_SAMPLES_U32;
        }

        fn played(&self) -> Vec<u64> {
            self.log
                .iter()
                .filter_map(|out| {
                    if let Out::Packet(seq) = out {
                        Some(*seq)
                    } else {
                        None
                    }
                })
                .collect()
        }

        fn lost(&self) -> Vec<Out> {
            self.log
                .iter()
                .filter(|out| matches!(out, Out::Lost { .. }))
                .cloned()
                .collect()
        }
    }

    #[test]
    fn in_order_stream_plays_everything_after_the_minimum_delay() {
        let mut sim = Sim::new();
        sim.send(0..100, 0, |_| Some(30));
        sim.run_until(2_200);
        assert_eq!(sim.played(), (0..100).collect::<Vec<_>>());
        // The first packet arrives at 30 ms and waits the 20 ms minimum: idle on the ticks at
        // 0–40 ms, played at 50 ms.
        assert_eq!(
            sim.log[..5],
            [Out::Idle, Out::Idle, Out::Idle, Out::Idle, Out::Idle]
        );
        assert_eq!(sim.log[5], Out::Packet(0));
        let stats = sim.jitter.stats();
        assert_eq!(
            (stats.lost, stats.late, stats.duplicates, stats.discarded),
            (0, 0, 0, 0)
        );
        assert_eq!(stats.target_delay_ms, f64::from(MIN_TARGET_DELAY_MS));
        assert!(
            (stats.mean_delay_ms - 20.0).abs() < 0.01,
            "mean delay {}",
            stats.mean_delay_ms
        );
        // After the last packet: a few frames of holding, then idle, never endless concealment.
        assert_eq!(sim.log.last(), Some(&Out::Idle));
        assert_eq!(
            sim.lost().len(),
            (IDLE_AFTER_MS / 10) as usize,
            "held frames before idle"
        );
        assert_eq!(stats.underruns, u64::from(IDLE_AFTER_MS / 10));
        assert!(!sim.jitter.active());
    }

    #[test]
    fn reordered_packets_are_played_in_order() {
        let mut sim = Sim::new();
        // Each odd packet overtakes the even one sent 20 ms before it.
        sim.send(0..50, 0, |seq| Some(if seq % 2 == 0 { 45 } else { 20 }));
        sim.run_until(1_300);
        assert_eq!(sim.played(), (0..50).collect::<Vec<_>>());
        let stats = sim.jitter.stats();
        assert_eq!(
            (stats.lost, stats.late, stats.underruns),
            (0, 0, 6),
            "{stats:?}"
        );
    }

    #[test]
    fn duplicates_are_dropped_whether_buffered_or_played() {
        let mut sim = Sim::new();
        let (t0, t20, t21, t40) = (sim.at(0), sim.at(20), sim.at(21), sim.at(40));
        let jitter = &mut sim.jitter;
        assert_eq!(
            jitter.push(t0, 0, PACKET, &payload(0)),
            PushOutcome::Buffered
        );
        assert_eq!(
            jitter.push(t0, 0, PACKET, &payload(0)),
            PushOutcome::Duplicate
        );
        assert_eq!(
            jitter.push(t20, 960, PACKET, &payload(1)),
            PushOutcome::Buffered
        );
        assert_eq!(pop(jitter, t20), Out::Packet(0));
        assert_eq!(
            jitter.push(t21, 0, PACKET, &payload(0)),
            PushOutcome::Duplicate
        );
        assert_eq!(
            jitter.push(t21, 960, PACKET, &payload(1)),
            PushOutcome::Duplicate
        );
        assert_eq!(pop(jitter, t40), Out::Packet(1));
        let stats = jitter.stats();
        assert_eq!((stats.duplicates, stats.late, stats.played), (3, 0, 2));
    }

    #[test]
    fn a_lost_packet_is_reported_with_the_next_one_for_fec() {
        let mut sim = Sim::new();
        sim.send(0..20, 0, |seq| (![5, 9, 10].contains(&seq)).then_some(30));
        sim.run_until(600);
        let hold = Out::Lost {
            ts: 9 * 960,
            samples: 480,
            next: None,
        };
        assert_eq!(
            sim.lost()[..5],
            [
                // Packet 6 is in when 5 is due: its FEC can rebuild 5.
                Out::Lost {
                    ts: 5 * 960,
                    samples: 960,
                    next: Some(6)
                },
                // When 9 is due nothing is buffered: hold (the delay grows by 20 ms)...
                hold.clone(),
                hold,
                // ...until 11 arrives: 9 is lost without FEC, 10 with 11's.
                Out::Lost {
                    ts: 9 * 960,
                    samples: 960,
                    next: None
                },
                Out::Lost {
                    ts: 10 * 960,
                    samples: 960,
                    next: Some(11)
                },
            ]
        );
        let expected: Vec<u64> = (0..20).filter(|seq| ![5, 9, 10].contains(seq)).collect();
        assert_eq!(sim.played(), expected);
        // Losses give the target one packet of FEC headroom, which the hold filled: the 20 ms it
        // added are kept, not discarded.
        let stats = sim.jitter.stats();
        assert_eq!(stats.target_delay_ms, 40.0);
        assert_eq!((stats.lost, stats.discarded, stats.late), (3, 0, 0));
    }

    #[test]
    fn a_packet_after_its_playout_time_is_late() {
        let mut sim = Sim::new();
        // Packet 5 comes 270 ms late: by then it was declared lost and 6.. were played.
        sim.send(0..20, 0, |seq| Some(if seq == 5 { 300 } else { 30 }));
        sim.run_until(600);
        let stats = sim.jitter.stats();
        assert_eq!((stats.late, stats.lost), (1, 1));
        assert!(!sim.played().contains(&5));
        let now = sim.at(600);
        assert_eq!(
            sim.jitter.push(now, 960, PACKET, &payload(1)),
            PushOutcome::Duplicate
        );
    }

    #[test]
    fn target_follows_jitter_up_and_back_down() {
        let mut sim = Sim::new();
        let mut rng = StdRng::seed_from_u64(7);
        // 10 s of speech with 0–80 ms of uniform jitter...
        sim.send(0..500, 0, |_| Some(20 + rng.random_range(0..=80)));
        sim.run_until(10_500);
        let jittery = sim.jitter.stats();
        let late_pct = 100.0 * jittery.late as f64 / 500.0;
        eprintln!(
            "jitter 0–80 ms: target {:.1} ms, mean delay {:.1} ms, late {late_pct:.1} %, \
             lost {}, underruns {}, stretched {}, discarded {}",
            jittery.target_delay_ms,
            jittery.mean_delay_ms,
            jittery.lost,
            jittery.underruns,
            jittery.stretched,
            jittery.discarded
        );
        assert!(
            (60.0..=100.0).contains(&jittery.target_delay_ms),
            "target {} ms under 0–80 ms jitter",
            jittery.target_delay_ms
        );
        assert!(late_pct < 5.0, "late {late_pct} %");

        // ...then, after a pause, 10 s without jitter.
        sim.send(500..1000, 10_500, |_| Some(20));
        sim.run_until(16_000);
        let calm = sim.jitter.stats();
        sim.run_until(21_000);
        let end = sim.jitter.stats();
        let recent_delay_ms = (end.mean_delay_ms * end.played as f64
            - calm.mean_delay_ms * calm.played as f64)
            / (end.played - calm.played) as f64;
        eprintln!(
            "then no jitter: target {:.1} ms after 5.5 s, delay over the last 5 s {:.1} ms, \
             discarded {}",
            calm.target_delay_ms,
            recent_delay_ms,
            end.discarded - jittery.discarded
        );
        assert_eq!(
            calm.target_delay_ms,
            f64::from(MIN_TARGET_DELAY_MS),
            "back to the minimum"
        );
        assert!(
            end.discarded > jittery.discarded,
            "the delay was shrunk by discarding"
        );
        assert!(
            recent_delay_ms < 30.0,
            "delay once calm: {recent_delay_ms} ms"
        );
        // Every packet of the calm part was played or discarded, none lost.
        let played_calm = sim.played().iter().filter(|&&seq| seq >= 500).count() as u64;
        assert_eq!(played_calm + end.discarded - jittery.discarded, 500);
        assert_eq!((end.lost, end.late), (jittery.lost, jittery.late));
    }

    #[test]
    fn goes_idle_when_the_gate_closes_and_restarts_cleanly() {
        let mut sim = Sim::new();
        sim.send(0..20, 0, |_| Some(30));
        sim.run_until(1_000);
        assert!(!sim.jitter.active(), "idle during the pause");
        let after_first = sim.log.len();
        // Mumble-like: after 600 ms of silence the sequence simply goes on.
        sim.send(20..40, 1_000, |_| Some(30));
        sim.run_until(2_400);
        let concealed = sim.log[after_first..]
            .iter()
            .filter(|out| matches!(out, Out::Lost { .. }))
            .count();
        assert_eq!(
            concealed,
            (IDLE_AFTER_MS / 10) as usize,
            "nothing concealed across the pause"
        );
        // Jitsi-like: the RTP time kept running through the silence, timestamps jump.
        sim.send(200..220, 2_400, |_| Some(30));
        sim.run_until(3_500);
        let mut expected: Vec<u64> = (0..40).collect();
        expected.extend(200..220);
        assert_eq!(sim.played(), expected);
        let stats = sim.jitter.stats();
        assert_eq!((stats.lost, stats.late, stats.talk_spurts), (0, 0, 3));
        assert!(!sim.jitter.active());
    }

    #[test]
    fn a_straggler_after_idle_is_late_not_a_new_spurt() {
        let mut sim = Sim::new();
        sim.send(0..20, 0, |seq| (seq != 10).then_some(30));
        sim.run_until(700);
        assert!(!sim.jitter.active());
        let (t700, t5000) = (sim.at(700), sim.at(5_000));
        assert_eq!(
            sim.jitter.push(t700, 10 * 960, PACKET, &payload(10)),
            PushOutcome::Late
        );
        assert!(!sim.jitter.active(), "a straggler does not start a spurt");
        // Long after, the same timestamps may be reused by a restarted sender.
        assert_eq!(
            sim.jitter.push(t5000, 0, PACKET, &payload(0)),
            PushOutcome::Buffered
        );
        assert!(sim.jitter.active());
    }

    #[test]
    fn hostile_input_stays_bounded() {
        let t0 = Instant::now();
        let mut jitter = JitterBuffer::new();
        let mut rng = StdRng::seed_from_u64(99);
        let big = [0xAB; MAX_PAYLOAD_BYTES + 10];
        for i in 0..20_000u64 {
            let now = t0 + Duration::from_millis(i / 10);
            let ts = match i % 5 {
                0 => rng.random::<u64>(),
                1 => u64::MAX - rng.random_range(0..10_000),
                2 => i * 120,
                3 => rng.random_range(0..100_000),
                _ => i * 960 + rng.random_range(0..48_000),
            };
            let samples = rng.random_range(0..=MAX_PACKET_SAMPLES + 10);
            let len = rng.random_range(0..=MAX_PAYLOAD_BYTES + 10);
            jitter.push(now, ts, samples, &big[..len]);
            assert!(jitter.buffered_packets() <= CAPACITY_PACKETS);
            if i % 3 == 0
                && let Playout::Lost { samples, .. } | Playout::Stretch { samples } =
                    jitter.pop(now)
            {
                assert!(samples > 0 && samples <= MAX_PACKET_SAMPLES, "{samples}");
            }
            let target_ms = jitter.stats().target_delay_ms;
            let limits = f64::from(MIN_TARGET_DELAY_MS)..=f64::from(MAX_TARGET_DELAY_MS);
            assert!(limits.contains(&target_ms), "target {target_ms} ms");
        }
        // Thousands of in-horizon packets with nobody pulling: still capped.
        let mut flood = JitterBuffer::new();
        for seq in 0..5_000u64 {
            flood.push(t0, (seq % 400) * 120, 120, &payload(seq));
            assert!(flood.buffered_packets() <= CAPACITY_PACKETS);
        }
        assert_eq!(flood.buffered_packets(), CAPACITY_PACKETS);
        assert!(flood.stats().overflowed > 0 && flood.stats().rejected > 0);
        // No container grew past its reservation.
        for buffer in [&jitter, &flood] {
            assert_eq!(
                buffer.payloads.capacity(),
                CAPACITY_PACKETS * MAX_PAYLOAD_BYTES
            );
            assert_eq!(buffer.slots.capacity(), CAPACITY_PACKETS);
            assert_eq!(buffer.order.capacity(), CAPACITY_PACKETS);
            assert_eq!(buffer.free.capacity(), CAPACITY_PACKETS);
        }
    }

    #[test]
    fn malformed_packets_are_rejected() {
        let t0 = Instant::now();
        let mut jitter = JitterBuffer::new();
        assert_eq!(jitter.push(t0, 0, PACKET, &[]), PushOutcome::Rejected);
        assert_eq!(jitter.push(t0, 0, 0, &[1]), PushOutcome::Rejected);
        assert_eq!(
            jitter.push(t0, 0, MAX_PACKET_SAMPLES + 1, &[1]),
            PushOutcome::Rejected
        );
        let big = vec![0; MAX_PAYLOAD_BYTES + 1];
        assert_eq!(jitter.push(t0, 0, PACKET, &big), PushOutcome::Rejected);
        assert_eq!(jitter.stats().rejected, 4);
        assert!(!jitter.active());
    }
}
