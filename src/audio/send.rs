//! The send chain, per 10 ms microphone frame: echo cancellation → noise suppression → noise
//! gate → Opus encoder. Runs on the audio worker thread, never in a device callback.
//!
//! While nothing could be sent (the gate closed and the raw microphone well under its open
//! threshold, or push-to-talk released) and nothing has been played for a second, the echo
//! canceller and the noise suppressor rest: their output would be thrown away. They keep the
//! last few raw frames, and run through them before the frame that wakes them, so a talk spurt
//! starts on up-to-date filters and never on stale samples.

use crate::audio::codec::{EncoderConfig, VoiceEncoder, encoder_config};
use crate::audio::dsp::aec::EchoCanceller;
use crate::audio::dsp::denoise::Denoiser;
use crate::audio::dsp::gate::{GateDecision, GateMode, NoiseGate};
use crate::audio::meter::rms_dbfs;
use crate::audio::{AudioError, FRAME_SAMPLES, Meters};
use crate::config::{AudioSettings, TransmitMode};

/// The filters rest only while the raw microphone is this far under the gate's open threshold
/// (echo cancellation and noise suppression only lower the level; the margin covers the rare
/// frame they do not).
const REST_MARGIN_DB: f32 = 6.0;
/// …and only once the speakers have been silent this many frames (1 s: the room's echo has died
/// out, and the canceller has nothing to learn from).
const REST_AFTER_SILENT_FRAMES: u32 = 100;
/// A far-end frame under this level is silence.
const FAR_SILENCE_DBFS: f32 = -80.0;
/// Raw frames kept while resting and run through the filters before the frame that wakes them
/// (100 ms: well over both filters' delays together, 19 ms, and enough for the noise
/// suppressor's recurrent state to settle: a talk spurt's first 50 ms then differ from a chain
/// that never rested by −21 dB, against −11 dB without the warm-up).
const WARM_UP_FRAMES: usize = 10;

/// Echo cancellation → noise suppression → gate → Opus.
pub struct SendChain {
    aec: Option<EchoCanceller>,
    denoise: Option<Denoiser>,
    /// The filters are resting (see the module documentation).
    resting: bool,
    /// Consecutive far-end frames under [`FAR_SILENCE_DBFS`].
    far_silent_frames: u32,
    /// The last raw microphone and far-end frames while resting (a ring; `kept` of them valid,
    /// the oldest at `kept_next` once full).
    kept_mic: Box<[[f32; FRAME_SAMPLES]; WARM_UP_FRAMES]>,
    kept_far: Box<[[f32; FRAME_SAMPLES]; WARM_UP_FRAMES]>,
    kept: usize,
    kept_next: usize,
    /// Frames the filters did not process (they rested), since the start.
    rested_frames: u64,
    #[cfg(test)]
    rest_disabled: bool,
    gate: NoiseGate,
    encoder: VoiceEncoder,
    config: EncoderConfig,
    /// Samples of the Opus frame being filled.
    pending: Vec<f32>,
    /// Media time of `pending[0]`.
    pending_ts: u64,
    /// Media time of the next 10 ms frame.
    next_ts: u64,
}

impl std::fmt::Debug for SendChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendChain")
            .field("aec", &self.aec.is_some())
            .field("denoise", &self.denoise.is_some())
            .field("gate", &self.gate)
            .field("config", &self.config)
            .finish()
    }
}

fn gate_mode(settings: &AudioSettings) -> GateMode {
    match (settings.transmit, settings.gate) {
        (TransmitMode::PushToTalk, _) => GateMode::PushToTalk,
        (TransmitMode::VoiceActivation, true) => GateMode::Voice,
        (TransmitMode::VoiceActivation, false) => GateMode::Off,
    }
}

impl SendChain {
    /// A chain configured from the user's settings.
    pub fn new(settings: &AudioSettings) -> Result<Self, AudioError> {
        let config = encoder_config(settings)?;
        let encoder = VoiceEncoder::new(&config)?;
        let frame = encoder.frame_samples();
        Ok(Self {
            aec: settings.echo_cancel.then(EchoCanceller::new),
            denoise: settings.denoise.then(Denoiser::new),
            resting: false,
            far_silent_frames: 0,
            kept_mic: Box::new([[0.0; FRAME_SAMPLES]; WARM_UP_FRAMES]),
            kept_far: Box::new([[0.0; FRAME_SAMPLES]; WARM_UP_FRAMES]),
            kept: 0,
            kept_next: 0,
            rested_frames: 0,
            #[cfg(test)]
            rest_disabled: false,
            gate: NoiseGate::new(
                gate_mode(settings),
                settings.gate_open_dbfs,
                settings.gate_close_dbfs,
            ),
            encoder,
            config,
            pending: Vec::with_capacity(frame),
            pending_ts: 0,
            next_ts: 0,
        })
    }

    /// The encoder settings in force.
    pub fn encoder_config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Samples of delay the chain adds before the network: echo canceller, noise suppressor
    /// and the encoder's look-ahead (the frame duration itself not included).
    pub fn processing_delay_samples(&self) -> usize {
        let aec = if self.aec.is_some() {
            EchoCanceller::DELAY_SAMPLES
        } else {
            0
        };
        let denoise = if self.denoise.is_some() {
            Denoiser::DELAY_SAMPLES
        } else {
            0
        };
        aec + denoise + self.encoder.lookahead_samples()
    }

    /// Applies new settings that do not need a new encoder (gate, switches); rebuilds the
    /// encoder when the bitrate or frame size changed.
    pub fn apply(&mut self, settings: &AudioSettings) -> Result<(), AudioError> {
        let config = encoder_config(settings)?;
        if config != self.config {
            *self = Self::new(settings)?;
            return Ok(());
        }
        self.gate.set_mode(gate_mode(settings));
        self.gate
            .set_thresholds(settings.gate_open_dbfs, settings.gate_close_dbfs);
        if settings.echo_cancel != self.aec.is_some() {
            self.aec = settings.echo_cancel.then(EchoCanceller::new);
        }
        if settings.denoise != self.denoise.is_some() {
            self.denoise = settings.denoise.then(Denoiser::new);
        }
        Ok(())
    }

    /// Frames the echo canceller and noise suppressor did not process because nothing could be
    /// sent, since the chain was made.
    pub fn rested_frames(&self) -> u64 {
        self.rested_frames
    }

    /// Tests compare with a chain whose filters never rest.
    #[cfg(test)]
    fn never_rest(mut self) -> Self {
        self.rest_disabled = true;
        self
    }

    /// Whether this frame may skip the filters: there are filters, the gate is closed and would
    /// stay closed, and the speakers have been silent a while.
    fn may_rest(&self, raw_dbfs: f32) -> bool {
        #[cfg(test)]
        if self.rest_disabled {
            return false;
        }
        if self.aec.is_none() && self.denoise.is_none() {
            return false;
        }
        if self.gate.is_open() || self.far_silent_frames < REST_AFTER_SILENT_FRAMES {
            return false;
        }
        match self.gate.mode() {
            GateMode::Off => false,
            GateMode::PushToTalk => !self.gate.push_to_talk_held(),
            GateMode::Voice => raw_dbfs < self.gate.open_dbfs() - REST_MARGIN_DB,
        }
    }

    /// Runs one frame through the echo canceller and the noise suppressor.
    fn filter(&mut self, mic: &mut [f32], far: &[f32]) {
        if let Some(aec) = self.aec.as_mut() {
            aec.process_render(far);
            aec.process_capture(mic);
        }
        if let Some(denoise) = self.denoise.as_mut() {
            denoise.process(mic);
        }
    }

    /// Leaving rest: the kept frames go through the filters first (their output is dropped).
    fn wake(&mut self) {
        self.resting = false;
        let oldest = if self.kept < WARM_UP_FRAMES {
            0
        } else {
            self.kept_next
        };
        let mut mic = [0.0f32; FRAME_SAMPLES];
        for i in 0..self.kept {
            let slot = (oldest + i) % WARM_UP_FRAMES;
            mic.copy_from_slice(&self.kept_mic[slot]);
            let far = self.kept_far[slot];
            self.filter(&mut mic, &far);
        }
        self.kept = 0;
        self.kept_next = 0;
    }

    /// Resting: keeps the raw frame for the warm-up.
    fn keep(&mut self, mic: &[f32], far: &[f32]) {
        self.resting = true;
        self.rested_frames += 1;
        self.kept_mic[self.kept_next].copy_from_slice(mic);
        self.kept_far[self.kept_next].copy_from_slice(far);
        self.kept_next = (self.kept_next + 1) % WARM_UP_FRAMES;
        self.kept = (self.kept + 1).min(WARM_UP_FRAMES);
    }

    /// Push-to-talk key state.
    pub fn set_push_to_talk(&mut self, held: bool) {
        self.gate.set_push_to_talk(held);
    }

    /// Processes one 10 ms microphone frame in place. `far` is the 10 ms frame sent to the
    /// speakers in the same period (the echo canceller's reference). When an Opus frame is
    /// complete, returns its media time and whether it ends the talk spurt; the caller then
    /// encodes it with [`SendChain::encode_pending`] into a buffer it reuses.
    pub fn process(
        &mut self,
        mic: &mut [f32],
        far: &[f32],
        meters: &Meters,
    ) -> Result<Option<(u64, bool)>, AudioError> {
        debug_assert_eq!(mic.len(), FRAME_SAMPLES);
        let frame_ts = self.next_ts;
        self.next_ts += FRAME_SAMPLES as u64;
        if rms_dbfs(far) < FAR_SILENCE_DBFS {
            self.far_silent_frames = self.far_silent_frames.saturating_add(1);
        } else {
            self.far_silent_frames = 0;
        }
        if self.may_rest(rms_dbfs(mic)) {
            self.keep(mic, far);
        } else {
            if self.resting {
                self.wake();
            }
            self.filter(mic, far);
        }
        let decision = self.gate.process(mic);
        meters.set_input_dbfs(self.gate.last_dbfs());
        meters.set_gate_open(decision != GateDecision::Silent);
        if decision == GateDecision::Silent {
            return Ok(None);
        }
        if self.pending.is_empty() {
            self.pending_ts = frame_ts;
        }
        self.pending.extend_from_slice(mic);
        let last = decision == GateDecision::TransmitLast;
        if last {
            // End of the spurt: complete the Opus frame with silence.
            self.pending.resize(self.encoder.frame_samples(), 0.0);
        }
        if self.pending.len() < self.encoder.frame_samples() {
            return Ok(None);
        }
        Ok(Some((self.pending_ts, last)))
    }

    /// Encodes the frame completed by the last [`SendChain::process`] call into `out`.
    pub fn encode_pending(&mut self, out: &mut Vec<u8>) -> Result<usize, AudioError> {
        let written = self.encoder.encode(&self.pending, out);
        self.pending.clear();
        written
    }

    /// Drops the frame completed by the last [`SendChain::process`] call without encoding it
    /// (the engine does so while it only shows the meters).
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AudioSettings;

    const SILENT: [f32; FRAME_SAMPLES] = [0.0; FRAME_SAMPLES];

    /// Quiet room noise (about −70 dBFS), deterministic.
    fn room_noise(frames: usize) -> Vec<f32> {
        let mut state = 0x2545_f491_u32;
        (0..frames * FRAME_SAMPLES)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 - 0.5) * 0.001
            })
            .collect()
    }

    fn speech() -> Vec<f32> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/speech_en.wav");
        crate::audio::wav::read_mono_48k(std::path::Path::new(path)).expect("speech")
    }

    /// Runs `mic` (with `far` as the speakers, or silence) through `chain`; returns what the
    /// chain let through, frame by frame (`None` where the gate sent nothing).
    fn run(chain: &mut SendChain, mic: &[f32], far: Option<&[f32]>) -> Vec<Option<Vec<f32>>> {
        let meters = Meters::default();
        let mut out = Vec::new();
        for (i, frame) in mic.chunks_exact(FRAME_SAMPLES).enumerate() {
            let mut frame: [f32; FRAME_SAMPLES] = frame.try_into().expect("frame");
            let far = far
                .and_then(|far| far.get(i * FRAME_SAMPLES..(i + 1) * FRAME_SAMPLES))
                .unwrap_or(&SILENT);
            let before = chain.pending.len();
            let packet = chain.process(&mut frame, far, &meters).expect("process");
            let sent = chain.pending.len() > before || packet.is_some();
            out.push(sent.then(|| frame.to_vec()));
            if packet.is_some() {
                chain.discard_pending();
            }
        }
        out
    }

    #[test]
    fn the_filters_rest_in_a_quiet_room_and_wake_up_to_date_for_speech() {
        let settings = AudioSettings::default();
        let mut input = room_noise(300);
        input.extend(speech().iter().take(48_000 * 3));
        let mut resting = SendChain::new(&settings).expect("chain");
        let mut busy = SendChain::new(&settings).expect("chain").never_rest();
        let rested = run(&mut resting, &input, None);
        let reference = run(&mut busy, &input, None);
        // Rest starts once the speakers have been silent a second, and lasts until speech.
        assert!(
            resting.rested_frames() >= 190,
            "{}",
            resting.rested_frames()
        );
        assert_eq!(busy.rested_frames(), 0);
        let first_sent = |frames: &[Option<Vec<f32>>]| frames.iter().position(Option::is_some);
        assert_eq!(first_sent(&rested), first_sent(&reference));
        assert!(first_sent(&rested).is_some_and(|i| i >= 300));
        // Both send the same frames, and what they send is nearly the same sound: the warm-up
        // brought the filters up to date.
        let sent = |frames: &[Option<Vec<f32>>]| frames.iter().filter(|f| f.is_some()).count();
        let (a, b) = (sent(&rested), sent(&reference));
        assert!(a.abs_diff(b) <= 3, "{a} vs {b} frames sent");
        let pairs: Vec<(&Vec<f32>, &Vec<f32>)> = rested
            .iter()
            .zip(&reference)
            .filter_map(|(x, y)| Some((x.as_ref()?, y.as_ref()?)))
            .collect();
        let snr_db = |pairs: &[(&Vec<f32>, &Vec<f32>)]| {
            let (mut signal, mut difference) = (0.0f64, 0.0f64);
            for (x, y) in pairs {
                for (x, y) in x.iter().zip(y.iter()) {
                    signal += f64::from(*y) * f64::from(*y);
                    difference += f64::from(x - y) * f64::from(x - y);
                }
            }
            10.0 * (signal / difference.max(1e-20)).log10()
        };
        // The onset (first 50 ms sent) is where stale samples would show.
        let (onset, all) = (snr_db(&pairs[..5]), snr_db(&pairs));
        assert!(
            onset > 17.0,
            "the talk spurt starts differently: {onset:.1} dB"
        );
        assert!(all > 35.0, "resting changed the speech sent: {all:.1} dB");
    }

    #[test]
    fn the_filters_never_rest_while_the_speakers_play_or_the_gate_is_off() {
        let settings = AudioSettings::default();
        let quiet = room_noise(300);
        let played: Vec<f32> = speech().iter().take(quiet.len()).map(|s| s * 0.5).collect();
        let mut chain = SendChain::new(&settings).expect("chain");
        run(&mut chain, &quiet, Some(&played));
        assert_eq!(
            chain.rested_frames(),
            0,
            "the echo canceller must keep learning"
        );

        let always = AudioSettings {
            gate: false,
            ..AudioSettings::default()
        };
        let mut chain = SendChain::new(&always).expect("chain");
        let sent = run(&mut chain, &quiet, None);
        assert_eq!(chain.rested_frames(), 0);
        assert!(sent.iter().all(Option::is_some));
    }

    #[test]
    fn push_to_talk_rests_until_the_key_is_held() {
        let settings = AudioSettings {
            transmit: TransmitMode::PushToTalk,
            ..AudioSettings::default()
        };
        let talk = speech();
        let second = 48_000;
        let mut chain = SendChain::new(&settings).expect("chain");
        let released = run(&mut chain, &talk[..2 * second], None);
        assert!(released.iter().all(Option::is_none));
        assert!(chain.rested_frames() >= 90, "{}", chain.rested_frames());
        let rested = chain.rested_frames();
        chain.set_push_to_talk(true);
        let held = run(&mut chain, &talk[2 * second..3 * second], None);
        assert!(held.iter().all(Option::is_some));
        assert_eq!(chain.rested_frames(), rested);
    }
}
