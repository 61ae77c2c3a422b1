//! A Jitsi Meet call without a window: `palabre join https://host/Room --headless`.
//!
//! The same shape as the Mumble one ([`crate::call`]): a WAV file is the microphone and goes
//! through the same send chain (gate, noise suppression, Opus), what is heard is decoded with
//! one jitter buffer per speaker, mixed and recorded; stages go to `say` as sentences and one
//! [`JitsiSummary`] comes back at the end. Lines read from `control` act as commands:
//! `say TEXT`, `tell NAME TEXT` (a participant's display name or endpoint id), `mute`,
//! `unmute`, `hand`, `lower`, `leave`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::audio::call::{CallAudio, IncomingPacket};
use crate::audio::codec::encoder_config;
use crate::audio::{FRAME_SAMPLES, Meters, SAMPLE_RATE, wav};
use crate::call::{CallError, Pace, ReceivedText, Recording};
use crate::config::AudioSettings;
use crate::net::jitsi::driver::{
    self, IP_UDP_OVERHEAD, JitsiCommand, JitsiEvent, JitsiOptions, JitsiTraffic,
};
use crate::proto::jitsi::colibri::BridgeMessage;
use crate::proto::jitsi::conference::{self, ConferenceEnd, ConferenceEvent, Participant};

/// How long `--wait-for` waits for the named participant.
const WAIT_FOR_LIMIT: Duration = Duration::from_secs(60);

/// What the headless call does.
#[derive(Debug, Clone)]
pub struct JitsiCall {
    /// The meeting and how to join it.
    pub options: JitsiOptions,
    /// Send chain settings.
    pub audio: AudioSettings,
    /// The microphone: a WAV file.
    pub input: Option<PathBuf>,
    /// Where to write what was heard.
    pub record: Option<PathBuf>,
    /// Leave this long after joining (or after starting, when never let in); `None` stays
    /// until the input was sent (or `leave`).
    pub seconds: Option<f64>,
    /// Start sending the input once a participant of this name (or endpoint id) is there and
    /// audio flows.
    pub wait_for: Option<String>,
    /// Turn this camera on once media flows (needs `options.audio_only` off to be seen).
    pub camera: Option<crate::video::camera::Source>,
}

/// The video one other participant sent, as decoded.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct VideoSeen {
    /// Pictures decoded.
    pub frames: u64,
    /// The last picture's width.
    pub width: u32,
    /// The last picture's height.
    pub height: u32,
}

/// The JSON line printed at the end.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct JitsiSummary {
    /// The meeting link.
    pub meeting: String,
    /// Logged in to the instance's XMPP server.
    pub connected: bool,
    /// Entered the room.
    pub joined: bool,
    /// Media (ICE and DTLS) came up at least once.
    pub media_connected: bool,
    /// How it ended: `left`, `refused`, `lost`, `kicked`, `error`.
    pub state: String,
    /// The sentence for how it ended.
    pub reason: String,
    /// palabre's endpoint id.
    pub endpoint: String,
    /// Seconds from joining to leaving.
    pub seconds: f64,
    /// Media sessions that came up (a lone participant's expires and a new one may follow).
    pub media_sessions: u32,
    /// Rejoins after the connection to the server was lost.
    pub reconnections: u32,
    /// Traffic counters.
    pub traffic: JitsiTraffic,
    /// Bytes on the wire sent over UDP, headers included.
    pub wire_bytes_sent: u64,
    /// Bytes on the wire received over UDP, headers included.
    pub wire_bytes_received: u64,
    /// Frames the receive chains had to conceal.
    pub frames_concealed: u64,
    /// Opus bitrate, bit/s.
    pub bitrate: u32,
    /// Packet length, ms.
    pub frame_ms: u32,
    /// Display names (or endpoint ids) of the others seen.
    pub participants_seen: Vec<String>,
    /// Chat messages received.
    pub texts: Vec<ReceivedText>,
    /// The bridge-channel message classes received, with counts.
    pub bridge_messages: BTreeMap<String, u32>,
    /// Endpoints the bridge named dominant speaker, in order (repeats collapsed).
    pub dominant_speakers: Vec<String>,
    /// Seconds each other participant (display name, else endpoint id) was shown speaking:
    /// while their audio levels said speech, not merely while their packets came.
    pub speaking_seconds: BTreeMap<String, f64>,
    /// Seconds of audio written to the recording.
    pub recorded_seconds: f64,
    /// The last round trip to the bridge from RTCP, ms (what the window's connection line
    /// shows).
    pub rtt_ms: Option<u32>,
    /// The last RTCP loss figure for what palabre received, percent.
    pub loss_percent: Option<f32>,
    /// Others' video decoded, by display name (else endpoint id, else SSRC).
    pub video_received: BTreeMap<String, VideoSeen>,
    /// Key frames asked of others' cameras.
    pub key_frames_requested: u64,
    /// Frames of palabre's camera encoded and sent.
    pub video_frames_sent: u64,
    /// Key frames the bridge asked of palabre's camera.
    pub key_frames_wanted: u64,
    /// Why the video stopped, when it did.
    pub video_error: Option<String>,
}

impl JitsiSummary {
    /// Whether the process should exit with success.
    pub fn succeeded(&self) -> bool {
        self.joined && self.state == "left"
    }
}

/// Runs the call until it ends.
pub fn run(
    call: JitsiCall,
    control: Option<mpsc::Receiver<String>>,
    mut say: impl FnMut(&str),
) -> Result<JitsiSummary, CallError> {
    let input = match &call.input {
        Some(path) => wav::read_mono_48k(path)?,
        None => Vec::new(),
    };
    let mut media = CallAudio::new(&call.audio, false)?;
    let encoder = encoder_config(&call.audio)?;
    let handle = driver::spawn(call.options.clone(), None).map_err(CallError::Thread)?;
    let meters = Meters::default();
    let mut summary = JitsiSummary {
        meeting: call.options.link.to_string(),
        bitrate: encoder.bitrate_bps.max(0) as u32,
        frame_ms: encoder.frame_ms,
        ..JitsiSummary::default()
    };
    let mut participants: BTreeMap<String, Participant> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // The endpoint of each speaker's SSRC, to forget their streams when they leave.
    let mut speakers: BTreeMap<u32, String> = BTreeMap::new();
    let mut recording = Recording::default();
    let mut joined_at: Option<Instant> = None;
    let mut media_up = false;
    let mut sending = false;
    let mut input_pos = 0usize;
    let mut mic = [0.0f32; FRAME_SAMPLES];
    let mut mixed = [0.0f32; FRAME_SAMPLES];
    let mut leaving = false;
    let started = Instant::now();
    let mut pace = Pace::new(started);
    // When each speaker (SSRC) started being shown speaking, and who they are.
    let mut speaking_since: BTreeMap<u32, (Instant, String)> = BTreeMap::new();
    let mut video_in = crate::video::pipeline::VideoIn::new();
    let key_wanted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (camera_tx, camera_rx) = mpsc::channel::<crate::video::pipeline::CameraOutput>();
    let mut capture: Option<crate::video::camera::Capture> = None;
    let (end, reason, traffic) = loop {
        let now = Instant::now();
        let mut finished = None;
        while let Ok(output) = camera_rx.try_recv() {
            match output {
                crate::video::pipeline::CameraOutput::Frame(frame, _) => {
                    summary.video_frames_sent += 1;
                    handle.send(JitsiCommand::Video {
                        payloads: frame.payloads,
                        timestamp: frame.timestamp,
                    });
                }
                crate::video::pipeline::CameraOutput::Failed(sentence) => {
                    let sentence = sentence.to_string();
                    say(&sentence);
                    summary.video_error = Some(sentence);
                    capture = None;
                }
            }
        }
        if capture.is_none()
            && summary.video_error.is_none()
            && media_up
            && let Some(source) = &call.camera
        {
            let camera_tx = camera_tx.clone();
            match crate::video::pipeline::start_camera(
                source.clone(),
                key_wanted.clone(),
                started,
                move |o| {
                    camera_tx.send(o).ok();
                },
            ) {
                Ok(started) => {
                    say("Camera on.");
                    handle.send(JitsiCommand::Camera(true));
                    capture = Some(started);
                }
                Err(error) => summary.video_error = Some(error.to_string()),
            }
        }
        loop {
            match handle.events.try_recv() {
                Ok(JitsiEvent::Video {
                    ssrc,
                    endpoint,
                    packet,
                }) => {
                    let received = video_in.receive(ssrc, packet.as_packet(), now);
                    if received.request_key_frame {
                        summary.key_frames_requested += 1;
                        handle.send(JitsiCommand::KeyFrame(ssrc));
                    }
                    if let Some(error) = received.failure {
                        say(&error.to_string());
                        summary.video_error = Some(error.to_string());
                    }
                    if let Some(picture) = received.picture {
                        let name = source_name(ssrc, endpoint.as_ref(), &participants);
                        if summary.video_received.len() < 64
                            || summary.video_received.contains_key(&name)
                        {
                            let seen = summary.video_received.entry(name).or_default();
                            seen.frames += 1;
                            seen.width = picture.width;
                            seen.height = picture.height;
                        }
                    }
                }
                Ok(JitsiEvent::KeyFrameWanted) => {
                    summary.key_frames_wanted += 1;
                    key_wanted.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(JitsiEvent::Finished {
                    end,
                    reason,
                    traffic,
                }) => {
                    finished = Some((end, reason, traffic));
                    break;
                }
                Ok(event) => on_event(
                    event,
                    &mut summary,
                    &mut participants,
                    &mut seen,
                    &mut media,
                    &mut speakers,
                    &mut media_up,
                    &mut say,
                    now,
                ),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    finished = Some((
                        None,
                        crate::i18n::Phrase::tr("jitsi-thread-stopped"),
                        summary.traffic,
                    ));
                    break;
                }
            }
        }
        if let Some(finished) = finished {
            break finished;
        }
        if summary.joined && joined_at.is_none() {
            joined_at = Some(now);
        }
        // Never let in (lobby, waiting for the host): leave after `seconds` all the same.
        if joined_at.is_none()
            && !leaving
            && call
                .seconds
                .is_some_and(|limit| now.saturating_duration_since(started).as_secs_f64() >= limit)
        {
            leaving = true;
            handle.send(JitsiCommand::Leave);
        }
        if let Some(control) = &control {
            while let Ok(line) = control.try_recv() {
                if let Some(command) = parse_control(&line, &participants, &mut say) {
                    if matches!(command, JitsiCommand::Leave) {
                        leaving = true;
                    }
                    handle.send(command);
                }
            }
        }
        if let Some(joined) = joined_at {
            let elapsed = now.saturating_duration_since(joined).as_secs_f64();
            let input_done = sending && input_pos >= input.len() + SAMPLE_RATE as usize;
            let done = match call.seconds {
                Some(limit) => elapsed >= limit,
                None => !input.is_empty() && input_done,
            };
            if done && !leaving {
                leaving = true;
                handle.send(JitsiCommand::Leave);
            }
            if !sending && !input.is_empty() && media_up {
                let present = match &call.wait_for {
                    None => true,
                    Some(name) => {
                        participants
                            .values()
                            .any(|p| &p.display_name == name || &p.endpoint == name)
                            || elapsed > WAIT_FOR_LIMIT.as_secs_f64()
                    }
                };
                if present {
                    sending = true;
                    say("Sending the input file as the microphone.");
                }
            }
            mic.fill(0.0);
            if sending && input_pos < input.len() {
                let end = (input_pos + FRAME_SAMPLES).min(input.len());
                mic[..end - input_pos].copy_from_slice(&input[input_pos..end]);
            }
            if sending {
                input_pos += FRAME_SAMPLES;
            }
            let changes = media.step(now, &mut mic, &mut mixed, &meters, |packet| {
                handle.send(JitsiCommand::Audio {
                    opus: packet.opus,
                    ts_samples: packet.ts_samples,
                    terminator: packet.terminator,
                    level: packet.level,
                });
            })?;
            for (speaker, on) in changes {
                if on {
                    let name = speaker_name(speaker, &speakers, &participants);
                    speaking_since.insert(speaker, (now, name));
                }
            }
            // Those who stopped, and those who left while speaking.
            speaking_since.retain(|speaker, (since, name)| {
                let still = media.speaking().contains(speaker);
                if !still {
                    *summary.speaking_seconds.entry(name.clone()).or_default() +=
                        now.saturating_duration_since(*since).as_secs_f64();
                }
                still
            });
            if call.record.is_some() {
                recording.push(&mixed, &mut say);
            }
        }
        pace.wait();
    };
    summary.traffic = traffic;
    summary.wire_bytes_sent = traffic.udp_bytes_sent + traffic.udp_packets_sent * IP_UDP_OVERHEAD;
    summary.wire_bytes_received =
        traffic.udp_bytes_received + traffic.udp_packets_received * IP_UDP_OVERHEAD;
    summary.state = match &end {
        Some(ConferenceEnd::Left) => "left",
        Some(ConferenceEnd::Kicked) | Some(ConferenceEnd::LobbyRefused) => "kicked",
        Some(ConferenceEnd::Connection(_)) => "lost",
        Some(_) => "refused",
        None => "error",
    }
    .to_owned();
    summary.reason = reason.to_string();
    let end_time = Instant::now();
    for (since, name) in speaking_since.into_values() {
        *summary.speaking_seconds.entry(name).or_default() +=
            end_time.saturating_duration_since(since).as_secs_f64();
    }
    summary.seconds = joined_at.map_or(0.0, |at| at.elapsed().as_secs_f64());
    summary.participants_seen = seen.into_iter().collect();
    summary.frames_concealed = media.frames_concealed();
    if let Some(path) = &call.record {
        summary.recorded_seconds = recording.save(path)?;
    }
    Ok(summary)
}

/// Who a speaker (an SSRC) is, for the summary: their display name, else their endpoint id,
/// else the SSRC.
fn speaker_name(
    speaker: u32,
    speakers: &BTreeMap<u32, String>,
    participants: &BTreeMap<String, Participant>,
) -> String {
    source_name(speaker, speakers.get(&speaker), participants)
}

/// Who sends the source `ssrc` of `endpoint`, for the summary: their display name, else their
/// endpoint id, else the SSRC.
fn source_name(
    ssrc: u32,
    endpoint: Option<&String>,
    participants: &BTreeMap<String, Participant>,
) -> String {
    match endpoint {
        Some(endpoint) => participants
            .get(endpoint)
            .map(|p| p.display_name.clone())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| endpoint.clone()),
        None => format!("ssrc {ssrc}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn on_event(
    event: JitsiEvent,
    summary: &mut JitsiSummary,
    participants: &mut BTreeMap<String, Participant>,
    seen: &mut BTreeSet<String>,
    media: &mut CallAudio,
    speakers: &mut BTreeMap<u32, String>,
    media_up: &mut bool,
    say: &mut impl FnMut(&str),
    now: Instant,
) {
    match event {
        JitsiEvent::Stage(stage) => say(&stage.to_string()),
        JitsiEvent::Traffic(traffic) => summary.traffic = traffic,
        JitsiEvent::Quality { rtt, loss } => {
            if let Some(rtt) = rtt {
                summary.rtt_ms = Some(rtt.as_millis().min(u128::from(u32::MAX)) as u32);
            }
            if let Some(fraction) = loss {
                summary.loss_percent = Some(fraction * 100.0);
            }
        }
        JitsiEvent::MediaConnected(up) => {
            *media_up = up;
            if up {
                summary.media_connected = true;
                summary.media_sessions += 1;
            } else {
                media.forget_all();
            }
        }
        JitsiEvent::Reconnecting {
            attempt,
            seconds,
            reason,
        } => {
            say(&format!(
                "{reason} Rejoining the meeting in {seconds} s (attempt {attempt})…"
            ));
            summary.reconnections += 1;
            // The rejoin is a new visit: everyone is announced again.
            participants.clear();
            speakers.clear();
            media.forget_all();
        }
        JitsiEvent::Audio {
            speaker,
            endpoint,
            ts_samples,
            opus,
            level,
        } => {
            if let Some(endpoint) = endpoint
                && speakers.len() < 1024
            {
                speakers.insert(speaker, endpoint);
            }
            media.receive(
                now,
                &IncomingPacket {
                    speaker,
                    ts_samples,
                    opus,
                    level,
                },
            );
        }
        JitsiEvent::Video { .. } | JitsiEvent::KeyFrameWanted => {}
        JitsiEvent::Bridge(message) => {
            *summary
                .bridge_messages
                .entry(message.class().to_owned())
                .or_default() += 1;
            if let BridgeMessage::DominantSpeakerEndpointChangeEvent {
                dominant_speaker_endpoint,
                ..
            } = &message
                && summary.dominant_speakers.last() != Some(dominant_speaker_endpoint)
                && summary.dominant_speakers.len() < 1000
            {
                summary
                    .dominant_speakers
                    .push(dominant_speaker_endpoint.clone());
            }
        }
        JitsiEvent::Conference(event) => match event {
            ConferenceEvent::Connected { .. } => summary.connected = true,
            ConferenceEvent::Waiting(waiting) => say(waiting.sentence()),
            ConferenceEvent::Joined { endpoint } => {
                summary.joined = true;
                summary.endpoint = endpoint;
            }
            ConferenceEvent::ParticipantJoined(p) | ConferenceEvent::ParticipantChanged(p) => {
                let name = shown_name(&p);
                match participants.insert(p.endpoint.clone(), p.clone()) {
                    None => say(&format!("{name} joined.")),
                    Some(before) => {
                        if before.raised_hand.is_none() && p.raised_hand.is_some() {
                            say(&format!("{name} raised a hand."));
                        } else if before.raised_hand.is_some() && p.raised_hand.is_none() {
                            say(&format!("{name} lowered their hand."));
                        }
                        if before.audio_muted != p.audio_muted {
                            say(&format!(
                                "{name} {} their microphone.",
                                if p.audio_muted { "muted" } else { "unmuted" }
                            ));
                        }
                    }
                }
                seen.insert(name);
            }
            ConferenceEvent::ParticipantLeft { endpoint } => {
                if let Some(p) = participants.remove(&endpoint) {
                    say(&format!("{} left.", shown_name(&p)));
                }
                // Their receive streams go: a long meeting does not run out of them.
                speakers.retain(|ssrc, owner| {
                    let keep = *owner != endpoint;
                    if !keep {
                        media.forget(*ssrc);
                    }
                    keep
                });
            }
            ConferenceEvent::Chat {
                name,
                text,
                private,
                history,
                ..
            } => {
                if !history {
                    say(&format!("{name}: {text}"));
                    summary.texts.push(ReceivedText {
                        from: name,
                        private,
                        message: text,
                    });
                }
            }
            ConferenceEvent::MutedByModerator => say("A moderator muted your microphone."),
            ConferenceEvent::StartedMuted => say(conference::STARTED_MUTED),
            ConferenceEvent::JingleAnswered {
                result: Err(why), ..
            } => say(&why.to_string()),
            ConferenceEvent::JingleAnswered { .. } | ConferenceEvent::Jingle(_) => {}
            // A lost connection is told with the rejoin, or at the end.
            ConferenceEvent::Ended(ConferenceEnd::Connection(_)) => {}
            ConferenceEvent::Ended(end) => say(&end.sentence()),
        },
        JitsiEvent::Finished { .. } => {}
    }
}

/// How a live call ended (`palabre join https://… ` without `--headless`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LiveSummary {
    /// The meeting link.
    pub meeting: String,
    /// Entered the room.
    pub joined: bool,
    /// Ended by leaving (not by a failure).
    pub left: bool,
    /// The sentence for how it ended.
    pub reason: String,
    /// Bytes sent and received on the wire (signalling and media).
    pub total_bytes: u64,
}

/// A call on the devices, from the terminal: the conference adapter the window uses
/// ([`crate::conference::spawn_jitsi`]) with the running audio engine (`engine`: its command
/// channel). Stages, arrivals, departures and chat go to `say`; lines from `control` act as
/// commands (`say`, `tell NAME TEXT`, `mute`, `unmute`, `hand`, `lower`, `leave`).
pub fn run_live(
    options: JitsiOptions,
    engine: mpsc::Sender<crate::command::Command>,
    control: Option<mpsc::Receiver<String>>,
    mut say: impl FnMut(&str),
) -> Result<LiveSummary, CallError> {
    use crate::conference::{ConferenceCommand, ConferenceEvent as Event, Stage};
    let mut summary = LiveSummary {
        meeting: options.link.to_string(),
        ..LiveSummary::default()
    };
    let handle = crate::conference::spawn_jitsi(
        options,
        crate::conference::nothing_to_prepare(),
        engine,
        std::sync::Arc::new(|| {}),
    )
    .map_err(CallError::Thread)?;
    let mut roster: Vec<crate::conference::Participant> = Vec::new();
    loop {
        if let Some(control) = &control {
            while let Ok(line) = control.try_recv() {
                let line = line.trim().to_owned();
                let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                let command = match word {
                    "say" => Some(ConferenceCommand::Chat {
                        to: None,
                        text: rest.to_owned(),
                    }),
                    "tell" => {
                        let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
                        match roster.iter().find(|p| !p.you && p.name == name) {
                            Some(p) => Some(ConferenceCommand::Chat {
                                to: Some(p.id),
                                text: text.to_owned(),
                            }),
                            None => {
                                say(&format!("Nobody called {name} is in the meeting."));
                                None
                            }
                        }
                    }
                    "mute" => Some(ConferenceCommand::Mute(true)),
                    "unmute" => Some(ConferenceCommand::Mute(false)),
                    "hand" => Some(ConferenceCommand::RaiseHand(true)),
                    "lower" => Some(ConferenceCommand::RaiseHand(false)),
                    "leave" => Some(ConferenceCommand::Leave),
                    "" => None,
                    other => {
                        say(&format!(
                            "Unknown command {other:?}: say TEXT, tell NAME TEXT, mute, unmute, hand, lower, leave."
                        ));
                        None
                    }
                };
                if let Some(command) = command {
                    handle.send(command);
                }
            }
        }
        match handle.events.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Stage(Stage::Connecting(step))) => say(&step.to_string()),
            Ok(Event::Stage(Stage::Connected)) => {
                summary.joined = true;
                say(
                    "In the meeting: type say TEXT, tell NAME TEXT, mute, unmute, hand, lower or leave, then Enter.",
                );
            }
            Ok(Event::Stage(Stage::Ended { reason, failed })) => {
                let reason = reason.to_string();
                say(&reason);
                summary.left = !failed;
                summary.reason = reason;
                break;
            }
            Ok(Event::Stage(Stage::Reconnecting { reason, .. })) => say(&reason.to_string()),
            Ok(Event::Notice(notice)) => say(&notice.to_string()),
            Ok(Event::CertificateChanged(sentence)) => say(&sentence.to_string()),
            // The ending that follows says why.
            Ok(Event::PasswordNeeded { .. } | Event::Video { .. }) => {}
            Ok(Event::CameraStopped(why)) => say(&why.to_string()),
            Ok(Event::Chat(message)) if !message.own => {
                say(&format!("{}: {}", message.from, message.text));
            }
            Ok(Event::Chat(_)) => {}
            Ok(Event::Roster { participants, .. }) => {
                for p in participants.iter().filter(|p| !p.you) {
                    if !roster.iter().any(|q| q.id == p.id) {
                        say(&format!("{} joined.", p.name));
                    }
                }
                for p in roster.iter().filter(|p| !p.you) {
                    if !participants.iter().any(|q| q.id == p.id) {
                        say(&format!("{} left.", p.name));
                    }
                }
                roster = participants;
            }
            Ok(Event::Traffic(traffic)) => summary.total_bytes = traffic.total_bytes,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                summary.reason = "The connection thread stopped.".to_owned();
                break;
            }
        }
    }
    Ok(summary)
}

/// The stable random id of this installation that Jitsi's focus asks for (`machine-uid`),
/// kept in `machine-uid` in the configuration folder (made on first use, written atomically);
/// a fresh one each time when there is no such folder or it cannot be written.
pub fn machine_uid(dir: Option<&std::path::Path>) -> String {
    let fresh = || format!("{:032x}", rand::random::<u128>());
    let Some(dir) = dir else {
        return fresh();
    };
    let path = dir.join("machine-uid");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let text = text.trim();
        if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return text.to_owned();
        }
    }
    let uid = fresh();
    let temporary = dir.join("machine-uid.tmp");
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&temporary, format!("{uid}\n")))
        .and_then(|()| std::fs::rename(&temporary, &path));
    if let Err(error) = written {
        tracing::debug!(%error, "the machine id could not be saved");
    }
    uid
}

fn shown_name(participant: &Participant) -> String {
    if participant.display_name.is_empty() {
        participant.endpoint.clone()
    } else {
        participant.display_name.clone()
    }
}

fn parse_control(
    line: &str,
    participants: &BTreeMap<String, Participant>,
    say: &mut impl FnMut(&str),
) -> Option<JitsiCommand> {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word {
        "" => None,
        "say" => Some(JitsiCommand::Chat {
            text: rest.to_owned(),
            to: None,
        }),
        "tell" => {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            let endpoint = participants
                .values()
                .find(|p| p.display_name == name || p.endpoint == name)
                .map(|p| p.endpoint.clone());
            match endpoint {
                Some(endpoint) => Some(JitsiCommand::Chat {
                    text: text.to_owned(),
                    to: Some(endpoint),
                }),
                None => {
                    say(&format!("Nobody called {name} is in the meeting."));
                    None
                }
            }
        }
        "mute" => Some(JitsiCommand::Mute(true)),
        "unmute" => Some(JitsiCommand::Mute(false)),
        "hand" => {
            let at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_millis() as u64);
            Some(JitsiCommand::RaiseHand(Some(at)))
        }
        "lower" => Some(JitsiCommand::RaiseHand(None)),
        "leave" => Some(JitsiCommand::Leave),
        other => {
            say(&format!(
                "Unknown command {other:?}: say TEXT, tell NAME TEXT, mute, unmute, hand, lower, leave."
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_id_is_kept_and_a_damaged_one_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = machine_uid(Some(dir.path()));
        assert_eq!(first.len(), 32);
        assert_eq!(machine_uid(Some(dir.path())), first);
        std::fs::write(dir.path().join("machine-uid"), "garbage").expect("write");
        let second = machine_uid(Some(dir.path()));
        assert_ne!(second, first);
        assert_eq!(machine_uid(Some(dir.path())), second);
        assert_ne!(machine_uid(None), machine_uid(None));
    }
}
