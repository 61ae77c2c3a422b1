//! The echo test: the microphone goes through exactly what a call does to it (send chain, a
//! simulated network with loss and jitter, jitter buffer, decoder, mixer) and comes back.
//!
//! [`EchoLoop`] is the whole chain for one 10 ms step, driven by the caller with a media clock:
//! [`run_offline`] drives it from a WAV file as fast as the CPU allows, the engine drives it from
//! the devices in real time.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::audio::dsp::mix::{limit, mix_into};
use crate::audio::receive::ReceiveStream;
use crate::audio::send::SendChain;
use crate::audio::{AudioError, EchoSummary, FRAME_SAMPLES, Meters, SAMPLE_RATE};
use crate::config::AudioSettings;

/// Network conditions of the simulated link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConditions {
    /// Fraction of packets dropped at random, 0.0–1.0.
    pub loss: f64,
    /// Each packet is delayed by a uniform random time between 0 and this, so packets also
    /// arrive out of order.
    pub jitter_ms: u32,
    /// Seed of the random choices, so a run can be repeated exactly.
    pub seed: u64,
}

impl Default for LinkConditions {
    fn default() -> Self {
        Self {
            loss: 0.0,
            jitter_ms: 0,
            seed: 1,
        }
    }
}

/// A lossy, jittery link in memory. Sans-IO: time is an argument.
#[derive(Debug)]
pub struct SimulatedLink {
    conditions: LinkConditions,
    rng: StdRng,
    /// Packets in flight: arrival time, media time, payload.
    in_flight: Vec<(Instant, u64, Vec<u8>)>,
    /// Packets dropped so far.
    pub dropped: u64,
}

impl SimulatedLink {
    /// A link with these conditions.
    pub fn new(conditions: LinkConditions) -> Self {
        Self {
            conditions,
            rng: StdRng::seed_from_u64(conditions.seed),
            in_flight: Vec::with_capacity(64),
            dropped: 0,
        }
    }

    /// Sends a packet at `now`.
    pub fn send(&mut self, now: Instant, ts_samples: u64, payload: &[u8]) {
        if self.conditions.loss > 0.0 && self.rng.random_bool(self.conditions.loss.min(1.0)) {
            self.dropped += 1;
            return;
        }
        let delay_us = if self.conditions.jitter_ms == 0 {
            0
        } else {
            self.rng
                .random_range(0..=u64::from(self.conditions.jitter_ms) * 1000)
        };
        let arrival = now + Duration::from_micros(delay_us);
        self.in_flight.push((arrival, ts_samples, payload.to_vec()));
    }

    /// Hands every packet that has arrived by `now` to `deliver`, in arrival order.
    pub fn deliver(&mut self, now: Instant, mut deliver: impl FnMut(Instant, u64, &[u8])) {
        self.in_flight.sort_by_key(|(arrival, _, _)| *arrival);
        let arrived = self
            .in_flight
            .partition_point(|(arrival, _, _)| *arrival <= now);
        for (arrival, ts, payload) in self.in_flight.drain(..arrived) {
            deliver(arrival, ts, &payload);
        }
    }
}

/// The whole call chain for one participant talking to themself.
pub struct EchoLoop {
    send: SendChain,
    link: SimulatedLink,
    receive: ReceiveStream,
    payload: Vec<u8>,
    /// What was sent to the speakers in the previous step: the echo canceller's reference.
    last_played: [f32; FRAME_SAMPLES],
    summary: EchoSummary,
    frames: u64,
    /// Whether what is played reaches the microphone's room (devices), or goes to a file.
    acoustic: bool,
}

const SILENCE: [f32; FRAME_SAMPLES] = [0.0; FRAME_SAMPLES];

impl std::fmt::Debug for EchoLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoLoop")
            .field("send", &self.send)
            .field("frames", &self.frames)
            .finish()
    }
}

impl EchoLoop {
    /// A loop with these settings and link conditions. `acoustic` says whether what is played
    /// goes to real speakers (so it may come back through the microphone, and the echo
    /// canceller must know it) or to a file.
    pub fn new(
        settings: &AudioSettings,
        conditions: LinkConditions,
        acoustic: bool,
    ) -> Result<Self, AudioError> {
        Ok(Self {
            send: SendChain::new(settings)?,
            link: SimulatedLink::new(conditions),
            receive: ReceiveStream::new()?,
            payload: Vec::with_capacity(1500),
            last_played: [0.0; FRAME_SAMPLES],
            summary: EchoSummary::default(),
            frames: 0,
            acoustic,
        })
    }

    /// Applies changed settings to the send chain.
    pub fn apply(&mut self, settings: &AudioSettings) -> Result<(), AudioError> {
        self.send.apply(settings)
    }

    /// Push-to-talk key state.
    pub fn set_push_to_talk(&mut self, held: bool) {
        self.send.set_push_to_talk(held);
    }

    /// One 10 ms step at media time `now`: `mic` goes in (processed in place), `speaker` comes
    /// out.
    pub fn step(
        &mut self,
        now: Instant,
        mic: &mut [f32],
        speaker: &mut [f32],
        meters: &Meters,
    ) -> Result<(), AudioError> {
        self.frames += 1;
        // What the speakers played into the room last period is the echo canceller's reference;
        // without speakers (a file) nothing was played into the room.
        let far: &[f32] = if self.acoustic {
            &self.last_played
        } else {
            &SILENCE
        };
        if let Some((ts, _last)) = self.send.process(mic, far, meters)? {
            let bytes = self.send.encode_pending(&mut self.payload)?;
            self.summary.packets_sent += 1;
            self.summary.payload_bytes += bytes as u64;
            self.link.send(now, ts, &self.payload[..bytes]);
        }
        let receive = &mut self.receive;
        self.link.deliver(now, |arrival, ts, payload| {
            receive.push_packet(arrival, ts, payload)
        });
        speaker.fill(0.0);
        let mut decoded = [0.0f32; FRAME_SAMPLES];
        let playing = self.receive.pull_frame(now, &mut decoded);
        mix_into(speaker, &decoded, 1.0);
        limit(speaker);
        meters.set_remote_speaking(playing);
        meters.set_output_dbfs(crate::audio::meter::rms_dbfs(speaker));
        self.last_played.copy_from_slice(speaker);
        Ok(())
    }

    /// What went through the loop so far.
    pub fn summary(&self) -> EchoSummary {
        let stats = self.receive.stats();
        let frame_ms = self.send.encoder_config().frame_ms as f64;
        let processing_ms =
            self.send.processing_delay_samples() as f64 * 1000.0 / SAMPLE_RATE as f64;
        EchoSummary {
            packets_lost: self.link.dropped,
            frames_concealed: stats.concealed_frames,
            packets_recovered_fec: stats.recovered_fec,
            packets_late: stats.late,
            mean_jitter_delay_ms: stats.mean_delay_ms,
            chain_delay_ms: frame_ms + processing_ms + stats.mean_delay_ms,
            seconds: self.frames as f64 * FRAME_SAMPLES as f64 / SAMPLE_RATE as f64,
            ..self.summary.clone()
        }
    }
}

/// Runs the echo test on a clip (48 kHz mono) as fast as possible, in media time. Returns the
/// played signal (as long as the input plus `tail`) and the summary.
pub fn run_offline(
    settings: &AudioSettings,
    conditions: LinkConditions,
    input: &[f32],
    tail: Duration,
) -> Result<(Vec<f32>, EchoSummary), AudioError> {
    let mut echo = EchoLoop::new(settings, conditions, false)?;
    let meters = Meters::default();
    let tail_samples = (tail.as_secs_f64() * SAMPLE_RATE as f64) as usize;
    let total = input.len() + tail_samples;
    let steps = total.div_ceil(FRAME_SAMPLES);
    // What a step computes can only be played once the step's microphone frame has been
    // captured, as with devices: the output starts one frame late.
    let mut output = Vec::with_capacity((steps + 1) * FRAME_SAMPLES);
    output.extend_from_slice(&SILENCE);
    let start = Instant::now();
    let mut mic = [0.0f32; FRAME_SAMPLES];
    let mut speaker = [0.0f32; FRAME_SAMPLES];
    for step in 0..steps {
        let now = start + Duration::from_millis(10 * step as u64);
        mic.fill(0.0);
        let from = step * FRAME_SAMPLES;
        if from < input.len() {
            let to = (from + FRAME_SAMPLES).min(input.len());
            mic[..to - from].copy_from_slice(&input[from..to]);
        }
        echo.step(now, &mut mic, &mut speaker, &meters)?;
        output.extend_from_slice(&speaker);
    }
    output.truncate(total);
    Ok((output, echo.summary()))
}
