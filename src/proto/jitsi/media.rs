//! The media session with the bridge: str0m configured from a Jingle offer, sans-IO.
//!
//! A [`MediaSession`] is made from the focus's `session-initiate` ([`MediaSession::accept`]):
//! str0m's direct API (no SDP) gets the bridge's ICE credentials, candidates and DTLS
//! fingerprint, palabre's role (ICE controlled, DTLS client — the bridge is always the
//! controlling agent and offers `actpass`, brief §0.2), the Opus payload type and the header
//! extensions as offered, one receive stream per remote audio source, one send stream for
//! palabre's microphone, and the SCTP association on which palabre opens the bridge channel
//! (`JVB data channel`, brief §5.1). The description palabre answers with
//! ([`MediaSession::local`]) comes from the same data, so the two never disagree.
//!
//! str0m runs in RTP mode: each Opus packet goes out and comes in as one RTP packet, since
//! several people speak in one Jingle content and palabre's audio engine keeps one jitter
//! buffer per speaker (keyed by SSRC). Video, when the offer has VP8, is declared too: each
//! remote video source gets a receive stream whose RTP packets come out as they are
//! ([`MediaEvent::Video`]; the caller puts frames together), and palabre's camera, when it has
//! one, a send stream ([`MediaSession::send_video`]). Whether the bridge sends any video is
//! for the bridge channel's constraints to say.
//!
//! Like str0m, the session does no I/O and reads no clock: the caller passes datagrams in
//! ([`MediaSession::handle_receive`]), time ([`MediaSession::handle_timeout`]) and polls
//! ([`MediaSession::poll`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::change::DirectApi;
use str0m::channel::{ChannelConfig, ChannelId};
use str0m::config::{DtlsVersion, Fingerprint};
use str0m::format::{Codec, FormatParams};
use str0m::media::{Frequency, KeyframeRequestKind, MediaKind as StrMediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, ExtensionValues, RtpWrite, SeqNo, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc, RtcConfig};

use super::colibri::{self, BridgeMessage};
use super::jingle::{self, Jingle, MediaKind};
use crate::i18n::Phrase;

/// How often str0m reports a stream's RTCP figures (round trip, loss) for the connection line.
pub const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// The label of the bridge channel (brief §5.1).
pub const BRIDGE_CHANNEL_LABEL: &str = "JVB data channel";
/// The protocol of the bridge channel.
pub const BRIDGE_CHANNEL_PROTOCOL: &str = "http://jitsi.org/protocols/colibri";
/// The most remote audio sources followed at once.
pub const MAX_REMOTE_SOURCES: usize = 256;
/// The most remote video sources followed at once.
pub const MAX_REMOTE_VIDEO_SOURCES: usize = 64;

/// Header extensions palabre's media session uses, by URI: the same set the session-accept
/// keeps ([`jingle::build`]), so that the answer tells the truth.
pub const SUPPORTED_EXTENSIONS: [&str; 4] = [
    jingle::EXT_AUDIO_LEVEL,
    jingle::EXT_TRANSPORT_CC,
    jingle::EXT_ABS_SEND_TIME,
    jingle::EXT_MID,
];

/// What the session needs besides the offer.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// palabre's endpoint id (the owner of its sources).
    pub endpoint: String,
    /// The SSRC of palabre's microphone stream.
    pub audio_ssrc: u32,
    /// The SSRC of palabre's camera stream, when it may send video.
    pub video_ssrc: Option<u32>,
    /// The local UDP socket's addresses to offer as host candidates.
    pub local_addresses: Vec<SocketAddr>,
    /// Use loopback addresses (127.0.0.0/8, ::1) for ICE, which is normally skipped: for local
    /// test servers.
    pub allow_loopback: bool,
}

/// palabre's side of the session, for the `session-accept`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDescription {
    /// ICE user fragment.
    pub ufrag: String,
    /// ICE password.
    pub pwd: String,
    /// The DTLS certificate's fingerprint hash function (`sha-256`).
    pub fingerprint_hash: String,
    /// The fingerprint, colon-separated hex.
    pub fingerprint: String,
    /// Host candidates.
    pub candidates: Vec<SocketAddr>,
    /// The Opus payload type answered.
    pub opus_pt: u8,
    /// The header extensions answered (id, URI), a subset of the offered ones.
    pub header_extensions: Vec<(u8, String)>,
    /// palabre's audio SSRC.
    pub audio_ssrc: u32,
    /// palabre's video SSRC, when the offer takes VP8 and palabre may send video.
    pub video_ssrc: Option<u32>,
}

/// What happened in the media session.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// ICE and DTLS are up: media flows.
    Connected,
    /// ICE lost the bridge (it may come back).
    Disconnected,
    /// ICE found the bridge again after [`MediaEvent::Disconnected`].
    Reconnected,
    /// One Opus packet from a remote source.
    Audio {
        /// The RTP SSRC (one per speaker).
        ssrc: u32,
        /// The RTP timestamp, extended to 64 bits (48 kHz samples).
        ts_samples: u64,
        /// The Opus bytes.
        opus: Vec<u8>,
        /// The sender's audio level in −dBov (0 loudest, 127 silence), when it sent one.
        level: Option<u8>,
    },
    /// One RTP packet of a remote video source (VP8).
    Video {
        /// The RTP SSRC (one per camera).
        ssrc: u32,
        /// The packet.
        packet: crate::video::vp8::RtpVideo,
    },
    /// The bridge asks for a key frame of palabre's video.
    KeyFrameWanted,
    /// The bridge channel opened (palabre has sent its `ClientHello`).
    BridgeOpen,
    /// RTCP's figures for one stream (every [`STATS_INTERVAL`]).
    Quality {
        /// Round trip to the bridge, when a report gave one.
        rtt: Option<Duration>,
        /// Fraction (0–1) of the stream's packets lost, for what palabre receives.
        loss: Option<f32>,
    },
    /// A message from the bridge.
    Bridge(BridgeMessage),
    /// The session cannot go on; the phrase says why.
    Failed(Phrase),
}

/// What the caller must do next.
#[derive(Debug)]
pub enum MediaOutput {
    /// Send `contents` to `destination` from the local address `source`.
    Transmit {
        /// Local address.
        source: SocketAddr,
        /// Remote address.
        destination: SocketAddr,
        /// The datagram.
        contents: Vec<u8>,
    },
    /// Something happened.
    Event(MediaEvent),
    /// Call [`MediaSession::handle_timeout`] at this time, or earlier when a datagram comes.
    Timeout(Instant),
}

struct RemoteSource {
    owner: Option<String>,
    last_ts: Option<u64>,
}

/// One media session with the bridge. See the module documentation.
pub struct MediaSession {
    rtc: Rtc,
    sid: String,
    /// Jicofo's bridge session of the offer, echoed when asking for a fresh session.
    bridge_session: Option<String>,
    /// ICE lost the bridge and has not found it again.
    ice_lost: bool,
    audio_mid: Mid,
    opus_pt: Pt,
    audio_ssrc: Ssrc,
    audio_level_id: Option<u8>,
    next_seq: u64,
    channel: Option<ChannelId>,
    remote: HashMap<u32, RemoteSource>,
    /// The video content's mid and VP8 payload type, when the offer has them.
    video: Option<(Mid, Pt)>,
    next_video_seq: u64,
    /// Remote video sources: their owner's endpoint id.
    remote_video: HashMap<u32, Option<String>>,
    local: LocalDescription,
    allow_loopback: bool,
    failed: bool,
    pending: Vec<MediaEvent>,
    packets_sent: u64,
}

impl std::fmt::Debug for MediaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSession")
            .field("sid", &self.sid)
            .field("remote_sources", &self.remote.len())
            .finish_non_exhaustive()
    }
}

impl MediaSession {
    /// Sets up a session for the focus's offer. Refused with a sentence when the offer has
    /// no Opus audio or no usable transport.
    pub fn accept(
        offer: &Jingle,
        config: &MediaConfig,
        now: Instant,
    ) -> Result<MediaSession, Phrase> {
        let audio = offer
            .content(&MediaKind::Audio)
            .ok_or(Phrase::tr("media-no-audio"))?;
        let description = audio
            .description
            .as_ref()
            .ok_or(Phrase::tr("media-no-description"))?;
        let opus = description
            .payload_types
            .iter()
            .find(|pt| pt.name.eq_ignore_ascii_case("opus") && pt.clockrate == Some(48_000))
            .ok_or(Phrase::tr("media-no-opus"))?;
        let transport = offer.transport().ok_or(Phrase::tr("media-no-transport"))?;
        let (ufrag, pwd) = match (&transport.ufrag, &transport.pwd) {
            (Some(ufrag), Some(pwd)) => (ufrag.clone(), pwd.clone()),
            _ => return Err(Phrase::tr("media-no-ice-credentials")),
        };
        let fingerprint = transport
            .fingerprints
            .iter()
            .find(|f| f.hash.eq_ignore_ascii_case("sha-256"))
            .or_else(|| transport.fingerprints.first())
            .ok_or(Phrase::tr("media-no-fingerprint"))?;
        let remote_fingerprint: Fingerprint = format!("{} {}", fingerprint.hash, fingerprint.value)
            .parse()
            .map_err(|_| Phrase::tr("media-bad-fingerprint"))?;

        let header_extensions: Vec<(u8, String)> = description
            .header_extensions
            .iter()
            .filter(|ext| SUPPORTED_EXTENSIONS.contains(&ext.uri.as_str()))
            .filter(|ext| (1..=14).contains(&ext.id))
            .map(|ext| (ext.id, ext.uri.clone()))
            .collect();

        let mut rtc_config = RtcConfig::new()
            .set_stats_interval(Some(STATS_INTERVAL))
            .set_rtp_mode(true)
            .set_dtls_version(DtlsVersion::Dtls12)
            .clear_codecs()
            .clear_extension_map();
        let opus_pt = Pt::from(opus.id);
        rtc_config.codec_config().add_config(
            opus_pt,
            None,
            Codec::Opus,
            Frequency::FORTY_EIGHT_KHZ,
            Some(2),
            FormatParams {
                min_p_time: Some(10),
                use_inband_fec: Some(true),
                ..FormatParams::default()
            },
        );
        let video_offer = offer.content(&MediaKind::Video).and_then(|content| {
            let description = content.description.as_ref()?;
            let vp8 = description
                .payload_types
                .iter()
                .find(|pt| pt.name.eq_ignore_ascii_case("vp8") && pt.clockrate == Some(90_000))?;
            Some((Mid::from(content.name.as_str()), Pt::from(vp8.id)))
        });
        if let Some((_, pt)) = video_offer {
            rtc_config.codec_config().add_config(
                pt,
                None,
                Codec::Vp8,
                Frequency::NINETY_KHZ,
                None,
                FormatParams::default(),
            );
        }
        let mut audio_level_id = None;
        let twcc = header_extensions
            .iter()
            .any(|(_, uri)| uri == jingle::EXT_TRANSPORT_CC);
        for (id, uri) in &header_extensions {
            let extension = match uri.as_str() {
                jingle::EXT_AUDIO_LEVEL => {
                    audio_level_id = Some(*id);
                    Extension::AudioLevel
                }
                jingle::EXT_TRANSPORT_CC => Extension::TransportSequenceNumber,
                jingle::EXT_MID => Extension::RtpMid,
                _ => Extension::AbsoluteSendTime,
            };
            rtc_config = rtc_config.set_extension(*id, extension);
        }
        let mut rtc = rtc_config.build(now);

        let local_creds = {
            let api = rtc.direct_api();
            api.local_ice_credentials()
        };
        let local_fingerprint = rtc.direct_api().local_dtls_fingerprint().to_string();
        let (fingerprint_hash, fingerprint_value) = local_fingerprint
            .split_once(' ')
            .map(|(hash, value)| (hash.to_owned(), value.to_owned()))
            .unwrap_or_else(|| ("sha-256".to_owned(), local_fingerprint.clone()));

        let mut candidates = Vec::new();
        for address in &config.local_addresses {
            if !config.allow_loopback && address.ip().is_loopback() {
                continue;
            }
            if let Ok(candidate) = Candidate::host(*address, "udp") {
                rtc.add_local_candidate(candidate);
                candidates.push(*address);
            }
        }
        if candidates.is_empty() {
            return Err(Phrase::tr("media-no-address"));
        }

        let audio_mid = Mid::from(audio.name.as_str());
        let audio_ssrc = Ssrc::from(config.audio_ssrc);
        {
            let mut api: DirectApi = rtc.direct_api();
            api.set_ice_controlling(false);
            api.set_remote_ice_credentials(IceCreds {
                ufrag: ufrag.clone(),
                pass: pwd.clone(),
            });
            api.set_remote_fingerprint(remote_fingerprint);
            api.declare_media(audio_mid, StrMediaKind::Audio);
            if twcc {
                // The answer keeps transport-cc: the bridge gets the feedback it needs.
                api.enable_twcc_feedback();
            }
            api.declare_stream_tx(audio_ssrc, None, audio_mid, None);
            if let Some((mid, _)) = video_offer {
                api.declare_media(mid, StrMediaKind::Video);
                if let Some(ssrc) = config.video_ssrc {
                    api.declare_stream_tx(Ssrc::from(ssrc), None, mid, None);
                }
            }
            api.start_dtls(true)
                .map_err(|error| failed("media-dtls-not-started", &error))?;
            if offer
                .contents
                .iter()
                .any(|c| c.transport.as_ref().is_some_and(|t| t.sctp.is_some()))
            {
                api.start_sctp(true);
            }
        }
        let mut session = MediaSession {
            rtc,
            sid: offer.sid.clone(),
            bridge_session: offer.bridge_session.as_ref().map(|b| b.id.clone()),
            ice_lost: false,
            audio_mid,
            opus_pt,
            audio_ssrc,
            audio_level_id,
            next_seq: u64::from(rand::random::<u16>() & 0x7fff),
            channel: None,
            remote: HashMap::new(),
            video: video_offer,
            next_video_seq: u64::from(rand::random::<u16>() & 0x7fff),
            remote_video: HashMap::new(),
            local: LocalDescription {
                ufrag: local_creds.ufrag,
                pwd: local_creds.pass,
                fingerprint_hash,
                fingerprint: fingerprint_value,
                candidates,
                opus_pt: opus.id,
                header_extensions,
                audio_ssrc: config.audio_ssrc,
                video_ssrc: video_offer.and(config.video_ssrc),
            },
            allow_loopback: config.allow_loopback,
            failed: false,
            pending: Vec::new(),
            packets_sent: 0,
        };
        session.add_candidates(transport.candidates.iter());
        session.apply_sources(offer, true);
        if offer
            .contents
            .iter()
            .any(|c| c.transport.as_ref().is_some_and(|t| t.sctp.is_some()))
        {
            let id = session.rtc.direct_api().create_data_channel(ChannelConfig {
                label: BRIDGE_CHANNEL_LABEL.to_owned(),
                protocol: BRIDGE_CHANNEL_PROTOCOL.to_owned(),
                ordered: true,
                ..ChannelConfig::default()
            });
            session.channel = Some(id);
        }
        Ok(session)
    }

    /// The Jingle session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Jicofo's bridge session id, when the offer had one.
    pub fn bridge_session(&self) -> Option<&str> {
        self.bridge_session.as_deref()
    }

    /// palabre's side, for the `session-accept`.
    pub fn local(&self) -> &LocalDescription {
        &self.local
    }

    /// The remote audio source with this SSRC: its owner's endpoint id.
    pub fn owner_of(&self, ssrc: u32) -> Option<&str> {
        self.remote
            .get(&ssrc)
            .and_then(|source| source.owner.as_deref())
    }

    /// The remote video source with this SSRC: its owner's endpoint id.
    pub fn video_owner_of(&self, ssrc: u32) -> Option<&str> {
        self.remote_video.get(&ssrc).and_then(Option::as_deref)
    }

    /// Asks the sender of a remote video source for a key frame (RTCP PLI).
    pub fn request_key_frame(&mut self, ssrc: u32) {
        if let Some(stream) = self.rtc.direct_api().stream_rx(&Ssrc::from(ssrc)) {
            stream.request_keyframe(KeyframeRequestKind::Pli);
        }
    }

    /// Adds (`add`) or removes the sources of a `session-initiate`, `source-add` or
    /// `source-remove`. The bridge's own sources (`jvb-a0`, `jvb-v0`) only carry RTCP and are
    /// skipped.
    pub fn apply_sources(&mut self, jingle: &Jingle, add: bool) {
        for content in &jingle.contents {
            let Some(description) = &content.description else {
                continue;
            };
            if description.media == MediaKind::Video {
                self.apply_video_sources(description, add);
                continue;
            }
            if description.media != MediaKind::Audio {
                continue;
            }
            for source in &description.sources {
                if source.is_bridge() || source.ssrc == self.local.audio_ssrc {
                    continue;
                }
                let ssrc = Ssrc::from(source.ssrc);
                if add {
                    if self.remote.len() >= MAX_REMOTE_SOURCES
                        || self.remote.contains_key(&source.ssrc)
                    {
                        continue;
                    }
                    self.rtc
                        .direct_api()
                        .expect_stream_rx(ssrc, None, self.audio_mid, None);
                    self.remote.insert(
                        source.ssrc,
                        RemoteSource {
                            owner: source.endpoint_id().map(str::to_owned),
                            last_ts: None,
                        },
                    );
                } else if self.remote.remove(&source.ssrc).is_some() {
                    self.rtc.direct_api().remove_stream_rx(ssrc);
                }
            }
        }
    }

    fn apply_video_sources(&mut self, description: &jingle::Description, add: bool) {
        let Some((mid, _)) = self.video else {
            return;
        };
        // The retransmission SSRCs of FID groups are not streams of their own here.
        let rtx: Vec<u32> = description
            .ssrc_groups
            .iter()
            .filter(|group| group.semantics == "FID")
            .filter_map(|group| group.ssrcs.get(1).copied())
            .collect();
        for source in &description.sources {
            if source.is_bridge()
                || Some(source.ssrc) == self.local.video_ssrc
                || rtx.contains(&source.ssrc)
            {
                continue;
            }
            let ssrc = Ssrc::from(source.ssrc);
            if add {
                if self.remote_video.len() >= MAX_REMOTE_VIDEO_SOURCES
                    || self.remote_video.contains_key(&source.ssrc)
                {
                    continue;
                }
                self.rtc
                    .direct_api()
                    .expect_stream_rx(ssrc, None, mid, None);
                self.remote_video
                    .insert(source.ssrc, source.endpoint_id().map(str::to_owned));
            } else if self.remote_video.remove(&source.ssrc).is_some() {
                self.rtc.direct_api().remove_stream_rx(ssrc);
            }
        }
    }

    /// Adds the bridge's candidates from a `transport-info` (or the offer).
    pub fn add_candidates<'a>(&mut self, candidates: impl Iterator<Item = &'a jingle::Candidate>) {
        for candidate in candidates {
            if candidate.component != 1 || !candidate.protocol.eq_ignore_ascii_case("udp") {
                continue;
            }
            if !self.allow_loopback && candidate.ip.is_loopback() {
                continue;
            }
            let line = format!(
                "candidate:{} 1 udp {} {} {} typ {}",
                sanitise_foundation(&candidate.foundation),
                candidate.priority,
                candidate.ip,
                candidate.port,
                candidate.kind.as_str()
            );
            match Candidate::from_sdp_string(&line) {
                Ok(remote) => self.rtc.add_remote_candidate(remote),
                Err(error) => tracing::debug!(%error, line, "a bridge candidate was not usable"),
            }
        }
    }

    /// The addresses of the bridge's candidates, for choosing local addresses.
    pub fn remote_addresses(offer: &Jingle) -> Vec<IpAddr> {
        offer
            .transport()
            .map(|t| t.candidates.iter().map(|c| c.ip).collect())
            .unwrap_or_default()
    }

    /// One datagram from the network.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        let Ok(receive) = Receive::new(Protocol::Udp, source, destination, data) else {
            return;
        };
        let input = Input::Receive(now, receive);
        if !self.rtc.accepts(&input) {
            return;
        }
        if let Err(error) = self.rtc.handle_input(input) {
            tracing::debug!(%error, "a datagram from the bridge was refused");
        }
    }

    /// Lets time pass.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Err(error) = self.rtc.handle_input(Input::Timeout(now)) {
            self.fail(failed("media-failed", &error));
        }
    }

    /// Sends one Opus packet of palabre's microphone. `ts_samples` counts 48 kHz samples;
    /// `level` is its loudness in −dBov (0 loudest, 127 silence); `first` marks the first
    /// packet of a talk spurt.
    pub fn send_audio(
        &mut self,
        now: Instant,
        opus: &[u8],
        ts_samples: u64,
        level: u8,
        first: bool,
    ) {
        if self.failed {
            return;
        }
        let seq = SeqNo::from(self.next_seq);
        self.next_seq += 1;
        let mut ext = ExtensionValues::default();
        if self.audio_level_id.is_some() {
            ext.audio_level = Some(-(i8::try_from(level.min(127)).unwrap_or(127)));
            ext.voice_activity = Some(level < 127);
        }
        let write = RtpWrite::new(self.opus_pt, seq, ts_samples as u32, now, opus.to_vec())
            .marker(first)
            .ext_vals(ext);
        if let Some(stream) = self.rtc.direct_api().stream_tx(&self.audio_ssrc) {
            stream.write_rtp(write);
            self.packets_sent += 1;
        }
    }

    /// Sends one RTP payload of palabre's video (VP8, 90 kHz `timestamp`); `marker` on the
    /// last packet of a frame. Nothing when the session takes no video from palabre.
    pub fn send_video(&mut self, now: Instant, payload: Vec<u8>, timestamp: u32, marker: bool) {
        let (Some((_, pt)), Some(ssrc)) = (self.video, self.local.video_ssrc.map(Ssrc::from))
        else {
            return;
        };
        if self.failed {
            return;
        }
        let seq = SeqNo::from(self.next_video_seq);
        self.next_video_seq += 1;
        let write = RtpWrite::new(pt, seq, timestamp, now, payload).marker(marker);
        if let Some(stream) = self.rtc.direct_api().stream_tx(&ssrc) {
            stream.write_rtp(write);
        }
    }

    /// Sends a message on the bridge channel; `false` when it is not open.
    pub fn send_bridge(&mut self, message: &BridgeMessage) -> bool {
        let Some(id) = self.channel else {
            return false;
        };
        let text = colibri::encode(message);
        match self.rtc.channel(id) {
            Some(mut channel) => channel.write(false, text.as_bytes()).unwrap_or(false),
            None => false,
        }
    }

    /// Ends the session (DTLS close).
    pub fn close(&mut self) {
        self.rtc.disconnect();
    }

    /// The next thing to do. Call until it returns [`MediaOutput::Timeout`].
    pub fn poll(&mut self) -> MediaOutput {
        if !self.pending.is_empty() {
            return MediaOutput::Event(self.pending.remove(0));
        }
        loop {
            let output = match self.rtc.poll_output() {
                Ok(output) => output,
                Err(error) => {
                    self.failed = true;
                    return MediaOutput::Event(MediaEvent::Failed(failed("media-failed", &error)));
                }
            };
            match output {
                Output::Timeout(at) => return MediaOutput::Timeout(at),
                Output::Transmit(transmit) => {
                    return MediaOutput::Transmit {
                        source: transmit.source,
                        destination: transmit.destination,
                        contents: transmit.contents.to_vec(),
                    };
                }
                Output::Event(event) => {
                    if let Some(event) = self.on_event(event) {
                        return MediaOutput::Event(event);
                    }
                }
            }
        }
    }

    fn on_event(&mut self, event: Event) -> Option<MediaEvent> {
        match event {
            Event::Connected => Some(MediaEvent::Connected),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.ice_lost = true;
                Some(MediaEvent::Disconnected)
            }
            Event::IceConnectionStateChange(
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) if self.ice_lost => {
                self.ice_lost = false;
                Some(MediaEvent::Reconnected)
            }
            Event::RtpPacket(packet) => {
                if let Some((_, vp8)) = self.video
                    && packet.header.payload_type == vp8
                {
                    let ssrc: u32 = *packet.header.ssrc;
                    if !self.remote_video.contains_key(&ssrc) {
                        return None;
                    }
                    return Some(MediaEvent::Video {
                        ssrc,
                        packet: crate::video::vp8::RtpVideo {
                            seq: (*packet.seq_no & 0xffff) as u16,
                            timestamp: packet.header.timestamp,
                            marker: packet.header.marker,
                            payload: packet.payload.to_vec(),
                        },
                    });
                }
                if packet.header.payload_type != self.opus_pt {
                    return None;
                }
                let ssrc: u32 = *packet.header.ssrc;
                let source = self.remote.get_mut(&ssrc)?;
                let ts = extend_timestamp(source.last_ts, packet.header.timestamp);
                source.last_ts = Some(ts);
                let level = packet
                    .header
                    .ext_vals
                    .audio_level
                    .map(|level| level.unsigned_abs().min(127));
                Some(MediaEvent::Audio {
                    ssrc,
                    ts_samples: ts,
                    opus: packet.payload.to_vec(),
                    level,
                })
            }
            Event::KeyframeRequest(_) if self.local.video_ssrc.is_some() => {
                Some(MediaEvent::KeyFrameWanted)
            }
            Event::ChannelOpen(id, _) if Some(id) == self.channel => {
                let hello = BridgeMessage::ClientHello {};
                self.send_bridge(&hello);
                Some(MediaEvent::BridgeOpen)
            }
            Event::ChannelData(data) if Some(data.id) == self.channel => {
                let text = String::from_utf8(data.data).ok()?;
                match colibri::decode(&text) {
                    Ok(message) => Some(MediaEvent::Bridge(message)),
                    Err(error) => {
                        tracing::debug!(%error, "a bridge channel message was not understood");
                        None
                    }
                }
            }
            Event::MediaIngressStats(stats) => Some(MediaEvent::Quality {
                rtt: stats.rtt,
                loss: stats.loss,
            }),
            Event::MediaEgressStats(stats) => Some(MediaEvent::Quality {
                rtt: stats.rtt,
                loss: None,
            }),
            Event::Closed => Some(MediaEvent::Failed(Phrase::tr("media-closed"))),
            _ => None,
        }
    }

    fn fail(&mut self, sentence: Phrase) {
        if !self.failed {
            self.failed = true;
            self.pending.push(MediaEvent::Failed(sentence));
        }
    }
}

/// A failure with what the library said.
fn failed(id: &'static str, error: &dyn std::fmt::Display) -> Phrase {
    Phrase::tr_args(id, vec![("error", error.to_string().into())])
}

/// A 32-bit RTP timestamp extended to 64 bits next to the previous extended one.
fn extend_timestamp(previous: Option<u64>, timestamp: u32) -> u64 {
    match previous {
        None => u64::from(timestamp) + (1 << 32),
        Some(previous) => {
            let delta = timestamp.wrapping_sub(previous as u32) as i32;
            previous.wrapping_add_signed(i64::from(delta))
        }
    }
}

/// ICE foundations are 1 to 32 characters of `[A-Za-z0-9+/]`; anything else becomes a digit
/// string so that str0m's SDP candidate parser accepts it.
fn sanitise_foundation(foundation: &str) -> String {
    let clean: String = foundation
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
        .take(32)
        .collect();
    if clean.is_empty() {
        "1".to_owned()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_extend_across_wraps() {
        let t0 = u32::MAX - 959;
        let e0 = extend_timestamp(None, t0);
        let t1 = t0.wrapping_add(960);
        let e1 = extend_timestamp(Some(e0), t1);
        assert_eq!(e1, e0 + 960, "across the wrap");
        let t2 = t1.wrapping_add(960);
        let e2 = extend_timestamp(Some(e1), t2);
        assert_eq!(e2, e1 + 960);
        // Reordering: an older packet goes back in time.
        assert_eq!(extend_timestamp(Some(e2), t1), e1);
    }

    #[test]
    fn foundations_are_cleaned() {
        assert_eq!(sanitise_foundation("1"), "1");
        assert_eq!(sanitise_foundation("a b-c"), "abc");
        assert_eq!(sanitise_foundation("!!"), "1");
    }
}
