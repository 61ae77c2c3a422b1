//! The audio of a call, independent of where the samples come from: the send chain for our
//! voice, one receive stream per remote speaker, and the mix. The live engine runs it on the
//! devices; the headless call runs it on WAV files. Packets leave and arrive through a
//! [`CallLink`], so the protocol drivers never touch audio and the audio never touches sockets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::audio::dsp::mix::{limit, mix_into};
use crate::audio::receive::ReceiveStream;
use crate::audio::send::SendChain;
use crate::audio::{AudioError, FRAME_SAMPLES, Meters, meter};
use crate::config::AudioSettings;

/// Most remote speakers decoded at once; packets from more are dropped (a hostile server cannot
/// make palabre allocate a decoder per invented session).
pub const MAX_SPEAKERS: usize = 64;

/// A packet at or above this level (−dBov, so at most this number) is speech, for the speaking
/// indicator: speech sits around −20 to −40 dBov, a quiet room below −60.
const SPEECH_LEVEL: u8 = 50;

/// How long after the last loud packet a speaker still counts as speaking (bridges pauses
/// between words, so the indicator does not flicker).
const SPEECH_HOLD: Duration = Duration::from_millis(400);

/// A speaker silent this long may give their place to a newcomer when all are taken.
const IDLE_SPEAKER: Duration = Duration::from_secs(5);

/// One Opus packet we produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingPacket {
    /// Opus bytes.
    pub opus: Vec<u8>,
    /// Media time of its first sample, at 48 kHz.
    pub ts_samples: u64,
    /// Last packet of a talk spurt.
    pub terminator: bool,
    /// The loudest 10 ms of it, in −dBov (0 loudest, 127 silence; RFC 6464).
    pub level: u8,
}

/// One Opus packet from a remote speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingPacket {
    /// Who spoke (a Mumble session, a Jitsi source).
    pub speaker: u32,
    /// Media time of its first sample, at 48 kHz.
    pub ts_samples: u64,
    /// Opus bytes.
    pub opus: Vec<u8>,
    /// The sender's audio level in −dBov (0 loudest, 127 silence; RFC 6464), when the
    /// protocol carries one (Jitsi's ssrc-audio-level extension; Mumble has none).
    pub level: Option<u8>,
}

/// Where our packets go: straight to the protocol driver's command queue, so that no thread in
/// between has to poll for them.
pub type OutgoingSink = Arc<dyn Fn(OutgoingPacket) + Send + Sync>;

/// The two ends a call's audio is connected to. Cloning shares the same ends; the engine takes
/// the incoming end when the call starts.
#[derive(Clone)]
pub struct CallLink {
    /// Our packets go here (called on the audio thread; must not block).
    pub outgoing: OutgoingSink,
    incoming: Arc<Mutex<Option<Receiver<IncomingPacket>>>>,
}

impl std::fmt::Debug for CallLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLink").finish_non_exhaustive()
    }
}

impl PartialEq for CallLink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.incoming, &other.incoming)
    }
}

impl CallLink {
    /// A link handing our packets to `outgoing` and reading remote ones from `incoming`.
    pub fn new(
        outgoing: impl Fn(OutgoingPacket) + Send + Sync + 'static,
        incoming: Receiver<IncomingPacket>,
    ) -> Self {
        Self {
            outgoing: Arc::new(outgoing),
            incoming: Arc::new(Mutex::new(Some(incoming))),
        }
    }

    /// Takes the incoming end (once).
    pub fn take_incoming(&self) -> Option<Receiver<IncomingPacket>> {
        self.incoming
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Send chain, receive streams and mix of one call.
#[derive(Debug)]
pub struct CallAudio {
    send: SendChain,
    streams: BTreeMap<u32, ReceiveStream>,
    /// Speakers whose packets carry audio levels, and until when the last loud one counts.
    voice: BTreeMap<u32, Option<Instant>>,
    /// When each speaker's last packet came.
    last_packet: BTreeMap<u32, Instant>,
    speaking: BTreeSet<u32>,
    payload: Vec<u8>,
    decoded: [f32; FRAME_SAMPLES],
    /// What the speakers played last period: the echo canceller's reference.
    last_played: [f32; FRAME_SAMPLES],
    acoustic: bool,
    concealed_before: u64,
    /// The loudest sent frame since the last packet, −dBov.
    pending_level: u8,
}

impl CallAudio {
    /// A call's audio with these settings. `acoustic`: what is played goes to real speakers
    /// (and may come back through the microphone), so the echo canceller gets it as reference.
    pub fn new(settings: &AudioSettings, acoustic: bool) -> Result<Self, AudioError> {
        Ok(Self {
            send: SendChain::new(settings)?,
            streams: BTreeMap::new(),
            voice: BTreeMap::new(),
            last_packet: BTreeMap::new(),
            speaking: BTreeSet::new(),
            payload: Vec::with_capacity(1500),
            decoded: [0.0; FRAME_SAMPLES],
            last_played: [0.0; FRAME_SAMPLES],
            acoustic,
            concealed_before: 0,
            pending_level: 127,
        })
    }

    /// Applies new settings (a new bitrate or packet length rebuilds the encoder).
    pub fn apply(&mut self, settings: &AudioSettings) -> Result<(), AudioError> {
        self.send.apply(settings)
    }

    /// Push-to-talk key state.
    pub fn set_push_to_talk(&mut self, held: bool) {
        self.send.set_push_to_talk(held);
    }

    /// Bitrate (bit/s) and packet length (ms) in use.
    pub fn codec(&self) -> (u32, u32) {
        let config = self.send.encoder_config();
        (config.bitrate_bps.max(0) as u32, config.frame_ms)
    }

    /// A packet from a remote speaker arrived at `now`.
    pub fn receive(&mut self, now: Instant, packet: &IncomingPacket) {
        if !self.streams.contains_key(&packet.speaker) {
            if self.streams.len() >= MAX_SPEAKERS {
                // Full: the one silent longest (surely gone) makes room, if any has been
                // silent a while; otherwise the newcomer is not heard.
                let idle = self
                    .last_packet
                    .iter()
                    .filter(|(_, at)| now.saturating_duration_since(**at) >= IDLE_SPEAKER)
                    .min_by_key(|(_, at)| **at)
                    .map(|(id, _)| *id);
                match idle {
                    Some(id) => self.forget(id),
                    None => return,
                }
            }
            match ReceiveStream::new() {
                Ok(stream) => {
                    self.streams.insert(packet.speaker, stream);
                }
                Err(error) => {
                    tracing::warn!(%error, "no decoder for a new speaker");
                    return;
                }
            }
        }
        if let Some(stream) = self.streams.get_mut(&packet.speaker) {
            stream.push_packet(now, packet.ts_samples, &packet.opus);
            self.last_packet.insert(packet.speaker, now);
        }
        if let Some(level) = packet.level {
            let loud_until = self.voice.entry(packet.speaker).or_insert(None);
            if level <= SPEECH_LEVEL {
                *loud_until = Some(now + SPEECH_HOLD);
            }
        }
    }

    /// A speaker left: their stream is dropped.
    pub fn forget(&mut self, speaker: u32) {
        if let Some(stream) = self.streams.remove(&speaker) {
            self.concealed_before += stream.stats().concealed_frames;
        }
        self.voice.remove(&speaker);
        self.last_packet.remove(&speaker);
        self.speaking.remove(&speaker);
    }

    /// Drops the streams of the speakers `keep` says no to (they left).
    pub fn retain_speakers(&mut self, keep: impl Fn(u32) -> bool) {
        let gone: Vec<u32> = self
            .streams
            .keys()
            .copied()
            .filter(|id| !keep(*id))
            .collect();
        for speaker in gone {
            self.forget(speaker);
        }
    }

    /// Drops every remote stream (after a reconnection, sessions are new).
    pub fn forget_all(&mut self) {
        let speakers: Vec<u32> = self.streams.keys().copied().collect();
        for speaker in speakers {
            self.forget(speaker);
        }
    }

    /// One 10 ms step at `now`: `mic` goes through the send chain (processed in place; a
    /// completed packet is handed to `send`), and the remote speakers are mixed into `speaker`.
    /// Returns the speakers who started (`true`) or stopped (`false`) being heard.
    pub fn step(
        &mut self,
        now: Instant,
        mic: &mut [f32],
        speaker: &mut [f32],
        meters: &Meters,
        mut send: impl FnMut(OutgoingPacket),
    ) -> Result<Vec<(u32, bool)>, AudioError> {
        const SILENCE: [f32; FRAME_SAMPLES] = [0.0; FRAME_SAMPLES];
        let far: &[f32] = if self.acoustic {
            &self.last_played
        } else {
            &SILENCE
        };
        let packet = self.send.process(mic, far, meters)?;
        self.pending_level = self.pending_level.min(meter::level_dbov(mic));
        if let Some((ts_samples, terminator)) = packet {
            let bytes = self.send.encode_pending(&mut self.payload)?;
            send(OutgoingPacket {
                opus: self.payload[..bytes].to_vec(),
                ts_samples,
                terminator,
                level: self.pending_level,
            });
            self.pending_level = 127;
        }
        speaker.fill(0.0);
        let mut changes = Vec::new();
        for (id, stream) in &mut self.streams {
            let playing = stream.pull_frame(now, &mut self.decoded);
            if playing {
                mix_into(speaker, &self.decoded, 1.0);
            }
            // A sender that tells its levels speaks while they are loud (browsers send
            // silence too); one that does not speaks while it is heard (Mumble's gate).
            let voiced = match self.voice.get(id) {
                Some(loud_until) => loud_until.is_some_and(|until| now < until),
                None => true,
            };
            if playing && voiced {
                if self.speaking.insert(*id) {
                    changes.push((*id, true));
                }
            } else if self.speaking.remove(id) {
                changes.push((*id, false));
            }
        }
        limit(speaker);
        meters.set_remote_speaking(!self.speaking.is_empty());
        meters.set_output_dbfs(meter::rms_dbfs(speaker));
        self.last_played.copy_from_slice(speaker);
        Ok(changes)
    }

    /// Who is being heard now.
    pub fn speaking(&self) -> &BTreeSet<u32> {
        &self.speaking
    }

    /// Frames the receive streams had to conceal, since the start.
    pub fn frames_concealed(&self) -> u64 {
        self.concealed_before
            + self
                .streams
                .values()
                .map(|stream| stream.stats().concealed_frames)
                .sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::SAMPLE_RATE;
    use std::time::Duration;

    #[test]
    fn our_voice_comes_back_mixed_when_looped() {
        let settings = AudioSettings {
            gate: false,
            denoise: false,
            echo_cancel: false,
            ..AudioSettings::default()
        };
        let mut call = CallAudio::new(&settings, false).expect("call audio");
        let meters = Meters::default();
        let start = Instant::now();
        let mut out = [0.0f32; FRAME_SAMPLES];
        let mut heard = Vec::new();
        let mut started = false;
        for step in 0..200u64 {
            let now = start + Duration::from_millis(10 * step);
            let mut mic = [0.0f32; FRAME_SAMPLES];
            for (i, sample) in mic.iter_mut().enumerate() {
                let t = (step as usize * FRAME_SAMPLES + i) as f32 / SAMPLE_RATE as f32;
                *sample = 0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
            }
            let mut sent = Vec::new();
            let changes = call
                .step(now, &mut mic, &mut out, &meters, |packet| sent.push(packet))
                .expect("step");
            started |= changes.contains(&(7, true));
            for packet in sent {
                // Two speakers send the same: both are decoded and mixed.
                for speaker in [7, 8] {
                    call.receive(
                        now,
                        &IncomingPacket {
                            speaker,
                            ts_samples: packet.ts_samples,
                            opus: packet.opus.clone(),
                            level: None,
                        },
                    );
                }
            }
            heard.extend_from_slice(&out);
        }
        assert!(started);
        assert_eq!(call.speaking().len(), 2);
        let tail = &heard[heard.len() - SAMPLE_RATE as usize / 2..];
        let rms = (tail.iter().map(|s| s * s).sum::<f32>() / tail.len() as f32).sqrt();
        // Two copies of a 0.3 sine (rms 0.21 each) add up, under the limiter.
        assert!(rms > 0.3, "rms {rms}");
        call.forget(7);
        assert_eq!(call.speaking().len(), 1);
    }

    #[test]
    fn a_sender_of_levels_speaks_only_while_loud() {
        let settings = AudioSettings {
            gate: false,
            denoise: false,
            echo_cancel: false,
            ..AudioSettings::default()
        };
        let mut call = CallAudio::new(&settings, false).expect("call audio");
        let meters = Meters::default();
        let start = Instant::now();
        let mut out = [0.0f32; FRAME_SAMPLES];
        // Packets flow all along (as from a browser); only steps 100–149 say they are loud.
        let mut changes_at = Vec::new();
        for step in 0..300u64 {
            let now = start + Duration::from_millis(10 * step);
            let mut mic = [0.1f32; FRAME_SAMPLES];
            let mut sent = Vec::new();
            let changes = call
                .step(now, &mut mic, &mut out, &meters, |packet| sent.push(packet))
                .expect("step");
            changes_at.extend(changes.into_iter().map(|change| (step, change)));
            for packet in sent {
                let level = if (100..150).contains(&step) { 20 } else { 127 };
                call.receive(
                    now,
                    &IncomingPacket {
                        speaker: 7,
                        ts_samples: packet.ts_samples,
                        opus: packet.opus,
                        level: Some(level),
                    },
                );
            }
        }
        assert_eq!(changes_at.len(), 2, "{changes_at:?}");
        let (on, off) = (changes_at[0], changes_at[1]);
        assert_eq!(on.1, (7, true));
        assert!((100..120).contains(&on.0), "{changes_at:?}");
        assert_eq!(off.1, (7, false));
        // The hold (400 ms) after the last loud packet, then silence again.
        assert!((185..200).contains(&off.0), "{changes_at:?}");
    }

    #[test]
    fn speakers_are_bounded() {
        let mut call = CallAudio::new(&AudioSettings::default(), false).expect("call audio");
        for speaker in 0..1000 {
            call.receive(
                Instant::now(),
                &IncomingPacket {
                    speaker,
                    ts_samples: 0,
                    opus: vec![0xFC, 0xFF, 0xFE],
                    level: None,
                },
            );
        }
        assert_eq!(call.streams.len(), MAX_SPEAKERS);
        // Later, the one silent longest gives way to a newcomer; nobody else does.
        let later = Instant::now() + IDLE_SPEAKER;
        for speaker in 1..MAX_SPEAKERS as u32 {
            call.receive(
                later,
                &IncomingPacket {
                    speaker,
                    ts_samples: 960,
                    opus: vec![0xFC, 0xFF, 0xFE],
                    level: None,
                },
            );
        }
        call.receive(
            later,
            &IncomingPacket {
                speaker: 5000,
                ts_samples: 0,
                opus: vec![0xFC, 0xFF, 0xFE],
                level: None,
            },
        );
        assert_eq!(call.streams.len(), MAX_SPEAKERS);
        assert!(call.streams.contains_key(&5000));
        assert!(!call.streams.contains_key(&0));
        assert_eq!(call.last_packet.len(), MAX_SPEAKERS);
    }
}
