//! The send chain, per 10 ms microphone frame: echo cancellation → noise suppression → noise
//! gate → Opus encoder. Runs on the audio worker thread, never in a device callback.

use crate::audio::codec::{EncoderConfig, VoiceEncoder, encoder_config};
use crate::audio::dsp::aec::EchoCanceller;
use crate::audio::dsp::denoise::Denoiser;
use crate::audio::dsp::gate::{GateDecision, GateMode, NoiseGate};
use crate::audio::{AudioError, FRAME_SAMPLES, Meters};
use crate::config::{AudioSettings, TransmitMode};

/// Echo cancellation → noise suppression → gate → Opus.
pub struct SendChain {
    aec: Option<EchoCanceller>,
    denoise: Option<Denoiser>,
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
        if let Some(aec) = self.aec.as_mut() {
            aec.process_render(far);
            aec.process_capture(mic);
        }
        if let Some(denoise) = self.denoise.as_mut() {
            denoise.process(mic);
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
