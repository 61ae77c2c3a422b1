//! The send chain, per 10 ms microphone frame: echo cancellation → noise suppression → noise
//! gate → Opus encoder. Runs on the audio worker thread, never in a device callback.
//!
//! While nothing could be sent (the gate closed and the microphone well under its open
//! threshold once the echo canceller has removed the loudspeakers' echo, or push-to-talk
//! released), the noise suppressor rests: its output would be thrown away. The echo canceller
//! rests too while the raw microphone is that quiet: once nothing has been played for a second,
//! or, once it has heard [`AEC_LEARN_FAR_FRAMES`] of far-end sound, once the microphone has
//! stayed under [`FAINT_ECHO_DBFS`] for a second while the speakers play (a headset: no echo
//! worth learning reaches it); otherwise it keeps learning the room's echo. Render and capture
//! frames are skipped in pairs, so the canceller's delay and filter stay valid for the room it
//! learned. The last few frames are kept, and run through whichever filter rested before the
//! frame that wakes it, so a talk spurt starts on up-to-date filters and never on stale
//! samples.

use crate::audio::codec::{EncoderConfig, VoiceEncoder, encoder_config};
use crate::audio::dsp::aec::EchoCanceller;
use crate::audio::dsp::denoise::Denoiser;
use crate::audio::dsp::gate::{GateDecision, GateMode, NoiseGate};
use crate::audio::meter::rms_dbfs;
use crate::audio::{AudioError, FRAME_SAMPLES, Meters};
use crate::config::{AudioSettings, TransmitMode};

/// The filters rest only while the microphone is this far under the gate's open threshold (raw
/// for the echo canceller, echo-cancelled for the noise suppressor; the filters only lower the
/// level, and the margin covers the rare frame they do not).
const REST_MARGIN_DB: f32 = 6.0;
/// …and only once the speakers have been silent this many frames (1 s: the room's echo has died
/// out, and the canceller has nothing to learn from), or the microphone has stayed under
/// [`FAINT_ECHO_DBFS`] that long.
const REST_AFTER_SILENT_FRAMES: u32 = 100;
/// The noise suppressor rests only once it has heard the room this many frames (1 s) since the
/// chain was made: its recurrent state follows the background noise, and a talk spurt's start
/// depends on it (−14 dB from a chain that never rested without this, −22 dB with it).
const LEARN_FRAMES: u32 = 100;
/// While the speakers play, the echo canceller rests only once the raw microphone has stayed
/// under this level for [`REST_AFTER_SILENT_FRAMES`]: any echo it holds is then some 40 dB under a
/// voice (about −20 dBFS), inaudible even while the user talks over the far end. A headset's
/// microphone in a quiet room sits there; loudspeakers' echo does not.
const FAINT_ECHO_DBFS: f32 = -60.0;
/// …and only once it has processed this many frames of far-end sound (15 s). AEC3 finds that
/// no echo reaches the microphone (its transparent mode, which then leaves the user's voice
/// alone when they talk over the far end) only after 6 to 9 s of far-end speech: with a
/// headset, a user talking over the far end after 3, 6, 9, 12 or 24 s of it kept 2.3, 5.6,
/// 15.2, 15.0 and 14.7 dB of voice to error through the canceller. One resting before that
/// never finds it, and cuts up the user's voice whenever they talk over the far end (after
/// 20 s of far-end speech: 0–5 dB, against 13–17 dB for a canceller that had heard it all).
const AEC_LEARN_FAR_FRAMES: u32 = 1_500;
/// A far-end frame under this level is silence.
const FAR_SILENCE_DBFS: f32 = -80.0;
/// Frames kept while a filter rests and run through it before the frame that wakes it (100 ms:
/// well over both filters' delays together, 19 ms, and enough for the noise suppressor's
/// recurrent state to settle: a talk spurt's first 50 ms then differ from a chain that never
/// rested by −22 dB, against −11 dB without the warm-up).
const WARM_UP_FRAMES: usize = 10;

/// The frames skipped by resting filters, newest last: what each filter needs to catch up.
struct Kept {
    /// Microphone frames: raw where the echo canceller rested, echo-cancelled where it ran.
    mic: Box<[[f32; FRAME_SAMPLES]; WARM_UP_FRAMES]>,
    /// The far-end frames of the same periods.
    far: Box<[[f32; FRAME_SAMPLES]; WARM_UP_FRAMES]>,
    /// Whether the echo canceller ran on each.
    cancelled: [bool; WARM_UP_FRAMES],
    /// Frames held (up to [`WARM_UP_FRAMES`]); the oldest is at `next` once full.
    len: usize,
    next: usize,
}

impl Kept {
    fn new() -> Self {
        Self {
            mic: Box::new([[0.0; FRAME_SAMPLES]; WARM_UP_FRAMES]),
            far: Box::new([[0.0; FRAME_SAMPLES]; WARM_UP_FRAMES]),
            cancelled: [false; WARM_UP_FRAMES],
            len: 0,
            next: 0,
        }
    }

    fn push(&mut self, mic: &[f32], far: &[f32], cancelled: bool) {
        self.mic[self.next].copy_from_slice(mic);
        self.far[self.next].copy_from_slice(far);
        self.cancelled[self.next] = cancelled;
        self.next = (self.next + 1) % WARM_UP_FRAMES;
        self.len = (self.len + 1).min(WARM_UP_FRAMES);
    }

    /// Ring slots, oldest first.
    fn slots(&self) -> impl Iterator<Item = usize> + use<> {
        let oldest = if self.len < WARM_UP_FRAMES {
            0
        } else {
            self.next
        };
        let len = self.len;
        (0..len).map(move |i| (oldest + i) % WARM_UP_FRAMES)
    }

    fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }
}

/// Echo cancellation → noise suppression → gate → Opus.
pub struct SendChain {
    aec: Option<EchoCanceller>,
    denoise: Option<Denoiser>,
    /// Consecutive far-end frames under [`FAR_SILENCE_DBFS`].
    far_silent_frames: u32,
    /// Consecutive raw microphone frames under [`FAINT_ECHO_DBFS`] and the gate's rest level.
    mic_faint_frames: u32,
    /// Frames of far-end sound the echo canceller has processed (up to
    /// [`AEC_LEARN_FAR_FRAMES`]).
    aec_far_learned: u32,
    /// Which filters rest (see the module documentation).
    aec_resting: bool,
    denoise_resting: bool,
    /// Frames the noise suppressor has processed (up to [`LEARN_FRAMES`]).
    denoise_learned: u32,
    /// The frames they skipped, for the warm-up.
    kept: Kept,
    /// Frames the echo canceller and the noise suppressor did not process, since the start.
    aec_rested_frames: u64,
    denoise_rested_frames: u64,
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
            far_silent_frames: 0,
            mic_faint_frames: 0,
            aec_far_learned: 0,
            aec_resting: false,
            denoise_resting: false,
            denoise_learned: 0,
            kept: Kept::new(),
            aec_rested_frames: 0,
            denoise_rested_frames: 0,
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
            // A new echo canceller learns the far end before it may rest on a faint microphone.
            self.aec_far_learned = 0;
        }
        if settings.denoise != self.denoise.is_some() {
            self.denoise = settings.denoise.then(Denoiser::new);
            // A new noise suppressor learns the room before it may rest.
            self.denoise_learned = 0;
        }
        Ok(())
    }

    /// Frames the echo canceller and the noise suppressor did not process because nothing could
    /// be sent, since the chain was made.
    pub fn rested_frames(&self) -> (u64, u64) {
        (self.aec_rested_frames, self.denoise_rested_frames)
    }

    /// Tests compare with a chain whose filters never rest.
    #[cfg(test)]
    fn never_rest(mut self) -> Self {
        self.rest_disabled = true;
        self
    }

    /// Whether nothing from this frame could be sent: the gate is closed and would stay closed.
    fn nothing_to_send(&self, raw_dbfs: f32) -> bool {
        #[cfg(test)]
        if self.rest_disabled {
            return false;
        }
        if self.gate.is_open() {
            return false;
        }
        match self.gate.mode() {
            GateMode::Off => false,
            GateMode::PushToTalk => !self.gate.push_to_talk_held(),
            GateMode::Voice => raw_dbfs < self.gate.open_dbfs() - REST_MARGIN_DB,
        }
    }

    /// Runs the frames the echo canceller skipped through it; they stay kept, cancelled, for the
    /// noise suppressor.
    fn catch_up_aec(&mut self) {
        let Some(aec) = self.aec.as_mut() else {
            return;
        };
        for slot in self.kept.slots() {
            if !self.kept.cancelled[slot] {
                aec.process_render(&self.kept.far[slot]);
                aec.process_capture(&mut self.kept.mic[slot]);
                self.kept.cancelled[slot] = true;
            }
        }
    }

    /// Runs the frames the noise suppressor skipped through it (its output is dropped).
    fn catch_up_denoise(&mut self) {
        let Some(denoise) = self.denoise.as_mut() else {
            return;
        };
        let mut frame = [0.0f32; FRAME_SAMPLES];
        for slot in self.kept.slots() {
            frame.copy_from_slice(&self.kept.mic[slot]);
            denoise.process(&mut frame);
        }
    }

    /// Echo cancellation and noise suppression of one frame, each skipped while it may rest.
    fn filter(&mut self, mic: &mut [f32], far: &[f32]) {
        if rms_dbfs(far) < FAR_SILENCE_DBFS {
            self.far_silent_frames = self.far_silent_frames.saturating_add(1);
        } else {
            self.far_silent_frames = 0;
        }
        let far_sounds = self.far_silent_frames == 0;
        let raw_dbfs = rms_dbfs(mic);
        if raw_dbfs < FAINT_ECHO_DBFS.min(self.gate.open_dbfs() - REST_MARGIN_DB) {
            self.mic_faint_frames = self.mic_faint_frames.saturating_add(1);
        } else {
            self.mic_faint_frames = 0;
        }
        let quiet = self.nothing_to_send(raw_dbfs);
        let aec_rests = self.aec.is_some()
            && quiet
            && (self.far_silent_frames >= REST_AFTER_SILENT_FRAMES
                || (self.mic_faint_frames >= REST_AFTER_SILENT_FRAMES
                    && self.aec_far_learned >= AEC_LEARN_FAR_FRAMES));
        // Waking: the filter first goes through what it skipped.
        if self.aec_resting && !aec_rests {
            self.catch_up_aec();
        }
        self.aec_resting = aec_rests;
        let mut cancelled = false;
        if let Some(aec) = self.aec.as_mut() {
            if aec_rests {
                self.aec_rested_frames += 1;
            } else {
                aec.process_render(far);
                aec.process_capture(mic);
                cancelled = true;
                if far_sounds {
                    self.aec_far_learned = (self.aec_far_learned + 1).min(AEC_LEARN_FAR_FRAMES);
                }
            }
        }
        // What the noise suppressor would get is the echo-cancelled frame: the loudspeakers'
        // echo alone, once removed, leaves nothing to send.
        let quiet = if cancelled {
            self.nothing_to_send(rms_dbfs(mic))
        } else {
            quiet
        };
        let denoise_rests = self.denoise.is_some() && quiet && self.denoise_learned >= LEARN_FRAMES;
        if self.denoise_resting && !denoise_rests {
            self.catch_up_denoise();
        }
        self.denoise_resting = denoise_rests;
        if aec_rests || denoise_rests {
            self.kept.push(mic, far, cancelled);
        } else {
            self.kept.clear();
        }
        if let Some(denoise) = self.denoise.as_mut() {
            if denoise_rests {
                self.denoise_rested_frames += 1;
            } else {
                denoise.process(mic);
                self.denoise_learned = (self.denoise_learned + 1).min(LEARN_FRAMES);
            }
        }
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
        self.filter(mic, far);
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
    const SECOND: usize = 48_000;

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

    fn speech(language: &str) -> Vec<f32> {
        let path = format!(
            "{}/tests/data/speech_{language}.wav",
            env!("CARGO_MANIFEST_DIR")
        );
        crate::audio::wav::read_mono_48k(std::path::Path::new(&path)).expect("speech")
    }

    /// What a chain let through, frame by frame (`None` where the gate sent nothing).
    type Sent = Vec<Option<Vec<f32>>>;

    /// Runs `mic` (with `far` as the speakers, or silence) through `chain`.
    fn run(chain: &mut SendChain, mic: &[f32], far: Option<&[f32]>) -> Sent {
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

    /// Runs `mic` and `far` through a chain that rests and one that never does; checks both send
    /// the same frames, nearly the same sound, from the same first frame (at `onset` or later),
    /// and returns how many frames each filter of the resting one skipped.
    fn rest_changes_nothing_sent(mic: &[f32], far: Option<&[f32]>, onset: usize) -> (u64, u64) {
        let settings = AudioSettings::default();
        let mut resting = SendChain::new(&settings).expect("chain");
        let mut busy = SendChain::new(&settings).expect("chain").never_rest();
        let rested = run(&mut resting, mic, far);
        let reference = run(&mut busy, mic, far);
        assert_eq!(busy.rested_frames(), (0, 0));
        let first_sent = |frames: &Sent| frames.iter().position(Option::is_some);
        assert_eq!(first_sent(&rested), first_sent(&reference));
        assert!(first_sent(&rested).is_some_and(|i| i >= onset));
        let sent = |frames: &Sent| frames.iter().filter(|f| f.is_some()).count();
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
        // The onset (first 50 ms sent) is where stale samples or filters would show.
        let (start, all) = (snr_db(&pairs[..5]), snr_db(&pairs));
        assert!(
            start > 17.0,
            "the talk spurt starts differently: {start:.1} dB"
        );
        assert!(all > 35.0, "resting changed the speech sent: {all:.1} dB");
        resting.rested_frames()
    }

    #[test]
    fn in_a_quiet_room_both_filters_rest_and_wake_up_to_date_for_speech() {
        let mut mic = room_noise(300);
        mic.extend(speech("en").iter().take(3 * SECOND));
        let (aec, denoise) = rest_changes_nothing_sent(&mic, None, 300);
        // Each once it has run a second (the noise suppressor to learn the room, the echo
        // canceller until the speakers have been silent that long), until speech, and again in
        // its pauses.
        assert!(aec >= 190, "{aec}");
        assert!(denoise >= 190, "{denoise}");
    }

    /// Someone talks through the speakers for `far_seconds` (French speech, looped); their echo
    /// comes back at `echo_gain`, 20 ms late, over the room noise; from `talk_at` seconds the
    /// user talks over them (English speech). Returns the microphone, the speakers and the
    /// user's voice alone.
    fn echo_then_talk_signals(
        echo_gain: f32,
        far_seconds: usize,
        talk_at: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let french = speech("fr");
        let far: Vec<f32> = (0..far_seconds * SECOND)
            .map(|i| french[i % french.len()] * 0.5)
            .collect();
        let mut mic = room_noise(far_seconds * 100);
        for (i, sample) in mic.iter_mut().enumerate().skip(960) {
            *sample += far[i - 960] * echo_gain;
        }
        let mut near = vec![0.0; mic.len()];
        for (sample, voice) in near[talk_at * SECOND..].iter_mut().zip(speech("en")) {
            *sample = voice;
        }
        for (sample, voice) in mic.iter_mut().zip(&near) {
            *sample += voice;
        }
        (mic, far, near)
    }

    /// 6 s of the far end, the user from 3 s ([`echo_then_talk_signals`]), through
    /// [`rest_changes_nothing_sent`]: the frames each filter rested.
    fn echo_then_talk(echo_gain: f32) -> (u64, u64) {
        let (mic, far, _) = echo_then_talk_signals(echo_gain, 6, 3);
        rest_changes_nothing_sent(&mic, Some(&far), 300)
    }

    #[test]
    fn with_a_headset_both_filters_rest_while_the_speakers_play() {
        // A headset: the echo 45 dB down, under the room noise (about −68 dBFS in all). The
        // canceller learns 15 s of the far end's sound (some 18 s of speech with its pauses),
        // rests, and wakes for the user's voice at 24 s.
        let (mic, far, _) = echo_then_talk_signals(0.0056, 30, 24);
        let (aec, denoise) = rest_changes_nothing_sent(&mic, Some(&far), 2_400);
        assert!(aec >= 450, "{aec}");
        assert!(denoise >= 2_000, "{denoise}");
    }

    #[test]
    fn a_headset_canceller_rests_only_once_it_has_learned_the_far_end() {
        // The same, the user talking at 3 s: the canceller has not heard enough of the far end
        // to rest, the noise suppressor has.
        let (aec, denoise) = echo_then_talk(0.0056);
        assert_eq!(aec, 0);
        assert!(denoise >= 190, "{denoise}");
    }

    #[test]
    fn with_a_headset_the_rested_canceller_keeps_the_voice_as_well() {
        // Without noise suppression, so what is compared is the canceller's work: the user's
        // voice after it, against the voice alone, second by second of the double talk.
        let settings = AudioSettings {
            denoise: false,
            ..AudioSettings::default()
        };
        let (mic, far, near) = echo_then_talk_signals(0.0, 30, 24);
        let fidelity = |chain: &mut SendChain| -> Vec<f64> {
            let meters = Meters::default();
            let mut out = Vec::with_capacity(mic.len());
            for (mic, far) in mic
                .chunks_exact(FRAME_SAMPLES)
                .zip(far.chunks_exact(FRAME_SAMPLES))
            {
                let mut frame: [f32; FRAME_SAMPLES] = mic.try_into().expect("frame");
                chain.process(&mut frame, far, &meters).expect("process");
                chain.discard_pending();
                out.extend_from_slice(&frame);
            }
            let delay = EchoCanceller::DELAY_SAMPLES;
            (24..30)
                .map(|second| {
                    let (mut voice, mut error) = (0.0f64, 0.0f64);
                    for i in second * SECOND..(second + 1) * SECOND - delay {
                        let (want, got) = (f64::from(near[i]), f64::from(out[i + delay]));
                        voice += want * want;
                        error += (got - want) * (got - want);
                    }
                    10.0 * (voice / error).log10()
                })
                .collect()
        };
        let mut resting = SendChain::new(&settings).expect("chain");
        let rested = fidelity(&mut resting);
        assert!(
            resting.rested_frames().0 >= 450,
            "{:?}",
            resting.rested_frames()
        );
        let busy = fidelity(&mut SendChain::new(&settings).expect("chain").never_rest());
        for (second, (r, b)) in rested.iter().zip(&busy).enumerate() {
            assert!(
                *r > b - 0.5,
                "second {}: {r:.1} dB of voice to error after resting, {b:.1} without",
                second + 24
            );
        }
    }

    #[test]
    fn while_a_faint_echo_plays_only_the_noise_suppressor_rests() {
        // Speakers far away: the echo 26 dB down (about −55 dBFS), under the gate's threshold
        // but loud enough to learn.
        let (aec, denoise) = echo_then_talk(0.05);
        assert_eq!(aec, 0, "the echo canceller must keep learning the echo");
        assert!(denoise >= 190, "{denoise}");
    }

    #[test]
    fn a_loud_echo_once_cancelled_lets_the_noise_suppressor_rest() {
        // Loudspeakers, no headset: the echo at −6 dB, far over the gate's threshold; the echo
        // canceller removes it, so nothing is left to denoise until the user talks.
        let (aec, denoise) = echo_then_talk(0.5);
        assert_eq!(aec, 0, "the echo canceller must keep learning the echo");
        assert!(denoise >= 100, "{denoise}");
    }

    #[test]
    fn nothing_rests_when_the_gate_is_off() {
        let always = AudioSettings {
            gate: false,
            ..AudioSettings::default()
        };
        let mut chain = SendChain::new(&always).expect("chain");
        let sent = run(&mut chain, &room_noise(300), None);
        assert_eq!(chain.rested_frames(), (0, 0));
        assert!(sent.iter().all(Option::is_some));
    }

    #[test]
    fn push_to_talk_rests_until_the_key_is_held() {
        let settings = AudioSettings {
            transmit: TransmitMode::PushToTalk,
            ..AudioSettings::default()
        };
        let talk = speech("en");
        let mut chain = SendChain::new(&settings).expect("chain");
        let released = run(&mut chain, &talk[..2 * SECOND], None);
        assert!(released.iter().all(Option::is_none));
        let (aec, denoise) = chain.rested_frames();
        assert!(aec >= 90 && denoise >= 90, "{aec} {denoise}");
        chain.set_push_to_talk(true);
        let held = run(&mut chain, &talk[2 * SECOND..3 * SECOND], None);
        assert!(held.iter().all(Option::is_some));
        assert_eq!(chain.rested_frames(), (aec, denoise));
    }
}
