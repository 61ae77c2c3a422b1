//! Being in a Jitsi Meet conference, sans-IO: the focus, the room, the people in it.
//!
//! [`Conference`] owns the XMPP [`Stream`] and does, once the stream is ready (brief §3, §6,
//! §7):
//!
//! 1. the conference request to the focus (jicofo), retried with growing pauses while the focus
//!    answers "not ready", and every 5 s while a guest waits for the host;
//! 2. the room join (XEP-0045) with Jitsi's presence: display name, caps, `SourceInfo` with the
//!    mute state, raised hand; each refusal becomes a [`ConferenceEnd`] or a wait with a
//!    sentence (password, lobby, display name required, members only, full room, login
//!    needed);
//! 3. the participant table from the others' presences (keyed by endpoint id, the MUC
//!    nickname);
//! 4. the Jingle requests of the focus: acknowledged at once and handed up as
//!    [`ConferenceEvent::Jingle`]; an offer from another participant (peer-to-peer) is declined,
//!    since palabre always goes through the bridge;
//! 5. chat (group and private), mute and raised hand seen by others, a moderator's mute, and a
//!    clean leave (unavailable presence, its echo awaited, then the stream closed).
//!
//! What to do with the media (the Jingle offer, its sources) is the caller's business: it
//! answers with [`Conference::send_jingle`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use minidom::Element;

use super::ns;
use super::xml::{self, ElementExt as _};
use super::xmpp::{
    self, IqFailure, IqType, StanzaError, Stream, StreamConfig, StreamEnd, StreamEvent, jid,
};
use crate::i18n::Phrase;

/// The first pause before asking a focus that is not ready again; it doubles each time.
pub const FOCUS_RETRY_FIRST: Duration = Duration::from_secs(1);
/// The longest pause between two conference requests to a focus that is not ready.
pub const FOCUS_RETRY_MAX: Duration = Duration::from_secs(60);
/// The pause between two conference requests while a guest waits for the host.
pub const HOST_WAIT_RETRY: Duration = Duration::from_secs(5);
/// How long the room may take to let palabre in (or refuse).
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a leave waits for the room to confirm it.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Joins retried after "the room does not exist yet" (joined before the focus created it).
pub const MAX_ROOM_NOT_READY_RETRIES: u32 = 3;
/// The most participants tracked; presences of more are ignored.
pub const MAX_PARTICIPANTS: usize = 1000;
/// The longest text accepted for display names, chat messages and the like, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// The features palabre declares to the focus (brief §3.3). The focus reads them to shape its
/// offer: audio, video (so that turning the camera on later needs no new session), the SCTP
/// data channel for the bridge channel, and the standard Jingle parts. Not declared:
/// `ssrc-rewriting-1` (palabre keeps senders' SSRCs and maps them from Jingle) and
/// `json-encoded-sources` (the XML form is the documented one).
pub fn features() -> Vec<String> {
    [
        ns::DISCO_INFO,
        ns::CAPS,
        ns::JINGLE,
        ns::JINGLE_RTP,
        ns::JINGLE_RTP_AUDIO,
        ns::JINGLE_RTP_VIDEO,
        ns::JINGLE_ICE_UDP,
        ns::JINGLE_DTLS,
        ns::JINGLE_DTLS_SCTP,
        "urn:ietf:rfc:5888",
        "urn:ietf:rfc:5761",
        "urn:ietf:rfc:4588",
        "http://jitsi.org/tcc",
        "http://jitsi.org/source-name",
        "http://jitsi.org/receive-multiple-video-streams",
        ns::PING,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

/// What the conference needs to know.
#[derive(Debug, Clone)]
pub struct ConferenceConfig {
    /// The stream: domain and login.
    pub stream: StreamConfig,
    /// The room's address, `room@conference.domain` (MUC component from the instance's
    /// settings, room from the link).
    pub room: String,
    /// Where the conference request goes: the focus component (`focus.domain`) or a full JID.
    pub focus: String,
    /// The name others see.
    pub display_name: String,
    /// The room password, when the user gave one.
    pub password: Option<String>,
    /// A stable random id of this installation (the focus requires it when it checks logins).
    pub machine_uid: String,
    /// Join with the microphone muted.
    pub audio_muted: bool,
}

/// Someone else in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The endpoint id: the MUC nickname, also the owner of their media sources.
    pub endpoint: String,
    /// The name they chose (empty when none).
    pub display_name: String,
    /// Their microphone is muted (from `SourceInfo`; absent means muted, as jicofo reads it).
    pub audio_muted: bool,
    /// When they raised their hand (milliseconds since the Unix epoch), if they did.
    pub raised_hand: Option<u64>,
    /// `moderator`, `participant` or `visitor`.
    pub role: String,
}

/// Why the user waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// The focus is preparing the conference.
    FocusNotReady,
    /// Guests may not start this meeting: waiting for the host to arrive.
    ForHost,
    /// The meeting has a lobby: waiting for a moderator to let palabre in.
    InLobby,
}

impl Waiting {
    /// The wait as a sentence.
    pub fn sentence(&self) -> &'static str {
        match self {
            Waiting::FocusNotReady => "The meeting is being prepared…",
            Waiting::ForHost => "Waiting for the host to start the meeting…",
            Waiting::InLobby => "This meeting has a lobby: waiting for a moderator to let you in…",
        }
    }
}

/// Why the conference ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConferenceEnd {
    /// The user left.
    Left,
    /// The meeting needs a password (`wrong` when one was given).
    PasswordRequired {
        /// A password was sent and refused.
        wrong: bool,
    },
    /// The lobby needs a display name.
    DisplayNameRequired,
    /// Only registered members may enter.
    MembersOnly,
    /// The room is full.
    RoomFull,
    /// Guests may not enter: the meeting needs a login.
    AuthenticationRequired,
    /// A moderator refused palabre in the lobby.
    LobbyRefused,
    /// A moderator removed palabre from the meeting.
    Kicked,
    /// The meeting was ended for everyone.
    RoomDestroyed,
    /// The connection ended; the sentence says why.
    Connection(Phrase),
    /// The server refused in a way with no better sentence.
    Refused(Phrase),
}

impl ConferenceEnd {
    /// The end for the user.
    pub fn phrase(&self) -> Phrase {
        Phrase::tr(match self {
            ConferenceEnd::Left => "jitsi-left",
            ConferenceEnd::PasswordRequired { wrong: false } => "jitsi-password-required",
            ConferenceEnd::PasswordRequired { wrong: true } => "jitsi-password-wrong",
            ConferenceEnd::DisplayNameRequired => "jitsi-name-required",
            ConferenceEnd::MembersOnly => "jitsi-members-only",
            ConferenceEnd::RoomFull => "jitsi-room-full",
            ConferenceEnd::AuthenticationRequired => "jitsi-login-required",
            ConferenceEnd::LobbyRefused => "jitsi-lobby-refused",
            ConferenceEnd::Kicked => "jitsi-kicked",
            ConferenceEnd::RoomDestroyed => "jitsi-room-destroyed",
            ConferenceEnd::Connection(why) | ConferenceEnd::Refused(why) => return why.clone(),
        })
    }

    /// The end in English (the command line's words).
    pub fn sentence(&self) -> String {
        self.phrase().to_string()
    }
}

/// A refusal's condition and text, as `condition: text` (or "no reason given").
fn refusal_detail(condition: &str, text: Option<&str>) -> Phrase {
    let condition = if condition.is_empty() {
        Phrase::tr("jitsi-no-reason")
    } else {
        Phrase::Text(condition.to_owned())
    };
    match text.filter(|text| !text.is_empty()) {
        Some(text) => Phrase::tr_args(
            "jitsi-reason-with-text",
            vec![("condition", condition.into()), ("text", text.into())],
        ),
        None => condition,
    }
}

/// What happened in the conference.
#[derive(Debug, Clone, PartialEq)]
pub enum ConferenceEvent {
    /// Logged in to the server (the stream is ready).
    Connected {
        /// palabre's full JID.
        jid: String,
    },
    /// The user has to wait; the conference goes on by itself.
    Waiting(Waiting),
    /// In the room.
    Joined {
        /// palabre's endpoint id (its nickname, and the owner of its sources).
        endpoint: String,
    },
    /// Someone came in.
    ParticipantJoined(Participant),
    /// Someone changed (name, mute, hand).
    ParticipantChanged(Participant),
    /// Someone left.
    ParticipantLeft {
        /// Their endpoint id.
        endpoint: String,
    },
    /// A Jingle request of the focus, already acknowledged: the `<jingle/>` element.
    Jingle(Element),
    /// The answer to a Jingle request sent with [`Conference::send_jingle`].
    JingleAnswered {
        /// The id [`Conference::send_jingle`] returned.
        id: String,
        /// `Err` with a phrase when the focus refused or did not answer.
        result: Result<(), Phrase>,
    },
    /// A chat message.
    Chat {
        /// The sender's endpoint id.
        from: String,
        /// The sender's display name when known.
        name: String,
        /// The text.
        text: String,
        /// Sent to palabre alone.
        private: bool,
        /// Sent before palabre joined (room history).
        history: bool,
    },
    /// A moderator muted palabre's microphone.
    MutedByModerator,
    /// The meeting starts newcomers muted: palabre's microphone was muted on arrival.
    StartedMuted,
    /// The conference ended; nothing more comes.
    Ended(ConferenceEnd),
}

/// What the user is told when the meeting's policy muted the microphone on arrival.
pub const STARTED_MUTED: &str =
    "The meeting starts newcomers muted: your microphone is off until you unmute it.";

/// The video codecs palabre can receive, as Jitsi's presence lists them.
const VIDEO_CODECS: &str = "vp8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The stream is opening.
    Connecting,
    /// The conference request is out (or waits to be sent again at `retry_at`).
    Requesting,
    /// The join presence is out.
    Joining,
    /// In the lobby room, waiting.
    InLobby,
    /// In the room.
    Joined,
    /// Unavailable presence sent, waiting for its echo.
    Leaving,
    /// Over.
    Ended,
}

/// The conference state machine. See the module documentation.
#[derive(Debug)]
pub struct Conference {
    config: ConferenceConfig,
    stream: Stream,
    phase: Phase,
    events: Vec<ConferenceEvent>,
    endpoint: String,
    focus_request: Option<String>,
    retry_at: Option<Instant>,
    focus_retry: Duration,
    room_not_ready_retries: u32,
    leave_deadline: Option<Instant>,
    join_deadline: Option<Instant>,
    lobby_room: Option<String>,
    participants: BTreeMap<String, Participant>,
    sent_muc_join: bool,
    audio_muted: bool,
    /// The camera is off (as `SourceInfo` and `<videomuted>` say).
    video_muted: bool,
    raised_hand: Option<u64>,
    /// The focus occupant's full JID, `room@conference.domain/focus`.
    focus_occupant: String,
    jingle_requests: Vec<String>,
    /// The id of the focus's current Jingle session.
    jingle_sid: Option<String>,
    /// The `<stats-id>` of palabre's presence: a random name for this visit, under which
    /// jicofo and the bridge file their statistics (never the display name).
    stats_id: String,
    start_muted_applied: bool,
    end: Option<ConferenceEnd>,
}

impl Conference {
    /// A conference that starts connecting at once.
    pub fn new(config: ConferenceConfig, now: Instant, random: u64) -> Conference {
        let stream = Stream::new(config.stream.clone(), now, random);
        let focus_occupant = format!("{}/focus", config.room);
        Conference {
            audio_muted: config.audio_muted,
            video_muted: true,
            config,
            stream,
            phase: Phase::Connecting,
            events: Vec::new(),
            endpoint: String::new(),
            focus_request: None,
            retry_at: None,
            focus_retry: FOCUS_RETRY_FIRST,
            room_not_ready_retries: 0,
            leave_deadline: None,
            join_deadline: None,
            lobby_room: None,
            participants: BTreeMap::new(),
            sent_muc_join: false,
            raised_hand: None,
            focus_occupant,
            jingle_requests: Vec::new(),
            jingle_sid: None,
            stats_id: format!("palabre-{:06x}", random >> 40),
            start_muted_applied: false,
            end: None,
        }
    }

    /// palabre's endpoint id, once joined (empty before).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// palabre's full JID, once connected.
    pub fn jid(&self) -> Option<&str> {
        self.stream.jid()
    }

    /// The focus occupant's JID (`room@conference.domain/focus`): where Jingle goes.
    pub fn focus_occupant(&self) -> &str {
        &self.focus_occupant
    }

    /// The others in the room, by endpoint id.
    pub fn participants(&self) -> &BTreeMap<String, Participant> {
        &self.participants
    }

    /// Whether palabre is in the room.
    pub fn is_joined(&self) -> bool {
        self.phase == Phase::Joined
    }

    /// Whether the conference is over.
    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// The next frame to send to the server.
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.stream.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ConferenceEvent> {
        if self.events.is_empty() {
            None
        } else {
            Some(self.events.remove(0))
        }
    }

    /// When [`Conference::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.stream.poll_timeout(),
            self.retry_at,
            self.leave_deadline,
            self.join_deadline.filter(|_| self.phase == Phase::Joining),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// One text frame from the server.
    pub fn handle_frame(&mut self, text: &str, now: Instant) {
        self.stream.handle_frame(text, now);
        self.drain_stream(now);
    }

    /// The connection closed under the conference.
    pub fn handle_disconnect(&mut self, now: Instant) {
        self.stream.handle_disconnect();
        self.drain_stream(now);
    }

    /// Lets time pass.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.stream.handle_timeout(now);
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
            if self.phase == Phase::Requesting {
                self.request_conference(now);
            }
        }
        if self.phase == Phase::Joining && self.join_deadline.is_some_and(|at| at <= now) {
            self.join_deadline = None;
            self.finish(
                ConferenceEnd::Refused(Phrase::tr("jitsi-room-no-answer")),
                now,
            );
        }
        if self.leave_deadline.is_some_and(|at| at <= now) {
            self.leave_deadline = None;
            self.stream.close(now);
        }
        self.drain_stream(now);
    }

    /// Sends a Jingle element (`<jingle/>`) to the focus; the answer comes as
    /// [`ConferenceEvent::JingleAnswered`] with the returned id.
    pub fn send_jingle(&mut self, jingle: Element, now: Instant) -> Option<String> {
        let to = self.focus_occupant.clone();
        let id = self.stream.send_iq(IqType::Set, Some(&to), jingle, now)?;
        self.jingle_requests.push(id.clone());
        Some(id)
    }

    /// Sends a chat message to everyone, or to one participant (`to`: their endpoint id).
    pub fn send_chat(&mut self, text: &str, to: Option<&str>) {
        if self.phase != Phase::Joined {
            return;
        }
        let (address, kind) = match to {
            Some(endpoint) => (format!("{}/{endpoint}", self.config.room), "chat"),
            None => (self.config.room.clone(), "groupchat"),
        };
        let message = xml::element("message", ns::CLIENT)
            .with("to", address)
            .with("type", kind)
            .child(xml::element("body", ns::CLIENT).text_node(text));
        self.stream.send(&message);
    }

    /// Mutes or unmutes the microphone as others see it.
    pub fn set_audio_muted(&mut self, muted: bool) {
        if self.audio_muted != muted {
            self.audio_muted = muted;
            self.send_presence();
        }
    }

    /// Turns the camera on (`false`) or off as others see it.
    pub fn set_video_muted(&mut self, muted: bool) {
        if self.video_muted != muted {
            self.video_muted = muted;
            self.send_presence();
        }
    }

    /// The focus's start-muted policy (`<startmuted audio='true'>` in a session-initiate):
    /// the microphone starts muted. Applied once per visit, so an unmute afterwards stands
    /// when a new session comes; [`ConferenceEvent::StartedMuted`] tells the user.
    pub fn apply_start_muted(&mut self, audio: bool) {
        if !audio || self.start_muted_applied {
            return;
        }
        self.start_muted_applied = true;
        if !self.audio_muted {
            self.set_audio_muted(true);
            self.events.push(ConferenceEvent::StartedMuted);
        }
    }

    /// Whether the microphone is muted (by the user or a moderator).
    pub fn audio_muted(&self) -> bool {
        self.audio_muted
    }

    /// Raises the hand (`Some(milliseconds since the Unix epoch)`) or lowers it.
    pub fn set_raised_hand(&mut self, at: Option<u64>) {
        if self.raised_hand != at {
            self.raised_hand = at;
            self.send_presence();
        }
    }

    /// Changes the display name others see.
    pub fn set_display_name(&mut self, name: &str) {
        if self.config.display_name != name {
            self.config.display_name = name.to_owned();
            self.send_presence();
        }
    }

    /// Leaves: the unavailable presence, then the stream is closed when the room confirms (or
    /// after [`LEAVE_TIMEOUT`]). [`ConferenceEvent::Ended`] with [`ConferenceEnd::Left`]
    /// follows.
    pub fn leave(&mut self, now: Instant) {
        self.end.get_or_insert(ConferenceEnd::Left);
        match self.phase {
            Phase::Ended | Phase::Leaving => {}
            Phase::Joined | Phase::Joining | Phase::InLobby => {
                let room = match (self.phase, &self.lobby_room) {
                    (Phase::InLobby, Some(lobby)) => lobby.clone(),
                    _ => self.config.room.clone(),
                };
                let presence = xml::element("presence", ns::CLIENT)
                    .with("to", format!("{room}/{}", self.endpoint))
                    .with("type", "unavailable");
                self.stream.send(&presence);
                self.phase = Phase::Leaving;
                self.leave_deadline = Some(now + LEAVE_TIMEOUT);
            }
            Phase::Connecting | Phase::Requesting => {
                self.phase = Phase::Leaving;
                self.stream.close(now);
                self.drain_stream(now);
            }
        }
    }

    fn drain_stream(&mut self, now: Instant) {
        while let Some(event) = self.stream.poll_event() {
            match event {
                StreamEvent::Ready { jid } => self.on_ready(jid, now),
                StreamEvent::Response { id, result } => self.on_response(id, result, now),
                StreamEvent::Request(iq) => self.on_request(iq, now),
                StreamEvent::Presence(presence) => self.on_presence(&presence, now),
                StreamEvent::Message(message) => self.on_message(&message),
                StreamEvent::Closed(end) => {
                    let end = self.end.take().unwrap_or_else(|| match end {
                        StreamEnd::Closed => ConferenceEnd::Left,
                        StreamEnd::LoginRefused(sentence) => ConferenceEnd::Refused(sentence),
                        other => ConferenceEnd::Connection(other.phrase()),
                    });
                    self.phase = Phase::Ended;
                    self.retry_at = None;
                    self.leave_deadline = None;
                    self.events.push(ConferenceEvent::Ended(end));
                }
            }
        }
    }

    fn on_ready(&mut self, full_jid: String, now: Instant) {
        // The nickname rule of Jitsi deployments (brief §2.3): the first 8 characters of the
        // JID's local part, lowercased; Prosody's anonymous users get a UUID there. Logged-in
        // users get 8 random hex digits.
        let node = jid::node(&full_jid).unwrap_or_default();
        self.endpoint = match self.config.stream.auth {
            xmpp::Auth::Anonymous => node
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect::<String>()
                .to_ascii_lowercase(),
            xmpp::Auth::Plain { .. } => String::new(),
        };
        if self.endpoint.len() < 8 {
            let random: u32 = self
                .config
                .machine_uid
                .bytes()
                .chain(full_jid.bytes())
                .fold(0x811c_9dc5_u32, |hash, byte| {
                    (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
                });
            self.endpoint = format!("{random:08x}");
        }
        self.events
            .push(ConferenceEvent::Connected { jid: full_jid });
        self.phase = Phase::Requesting;
        self.request_conference(now);
    }

    fn request_conference(&mut self, now: Instant) {
        let request = xml::element("conference", ns::FOCUS)
            .with("room", self.config.room.clone())
            .with("machine-uid", self.config.machine_uid.clone())
            .child(
                xml::element("property", ns::FOCUS)
                    .with("name", "rtcstatsEnabled")
                    .with("value", "false"),
            );
        let focus = self.config.focus.clone();
        self.focus_request = self.stream.send_iq(IqType::Set, Some(&focus), request, now);
    }

    fn on_response(&mut self, id: String, result: Result<Element, IqFailure>, now: Instant) {
        if self.focus_request.as_deref() == Some(id.as_str()) {
            self.focus_request = None;
            self.on_focus_answer(result, now);
            return;
        }
        if let Some(index) = self
            .jingle_requests
            .iter()
            .position(|request| *request == id)
        {
            self.jingle_requests.swap_remove(index);
            if result == Err(IqFailure::Closed) {
                // The stream ended (palabre left): nothing to tell.
                return;
            }
            let result = match result {
                Ok(_) => Ok(()),
                Err(IqFailure::Error(error)) => Err(Phrase::tr_args(
                    "jitsi-answer-refused",
                    vec![(
                        "detail",
                        match error.text {
                            Some(text) => format!("{}: {text}", error.condition),
                            None => error.condition,
                        }
                        .into(),
                    )],
                )),
                Err(IqFailure::Timeout) => Err(Phrase::tr("jitsi-answer-unanswered")),
                Err(IqFailure::Closed) => Err(Phrase::tr("jitsi-answer-connection-ended")),
            };
            self.events
                .push(ConferenceEvent::JingleAnswered { id, result });
        }
    }

    fn on_focus_answer(&mut self, result: Result<Element, IqFailure>, now: Instant) {
        if self.phase != Phase::Requesting {
            return;
        }
        match result {
            Ok(iq) => {
                let conference = iq.get_child("conference", ns::FOCUS);
                let ready = conference.and_then(|c| c.attr("ready")) == Some("true");
                if let Some(focus_jid) = conference.and_then(|c| c.attr("focusjid")) {
                    tracing::debug!(focus_jid, "the focus answered");
                }
                if ready {
                    self.focus_retry = FOCUS_RETRY_FIRST;
                    self.join(now);
                } else {
                    self.events
                        .push(ConferenceEvent::Waiting(Waiting::FocusNotReady));
                    self.retry_at = Some(now + self.focus_retry);
                    self.focus_retry = (self.focus_retry * 2).min(FOCUS_RETRY_MAX);
                }
            }
            Err(IqFailure::Error(error)) if error.condition == "not-authorized" => {
                if matches!(self.config.stream.auth, xmpp::Auth::Anonymous) {
                    // jicofo with authentication on: a guest may not start the meeting; the
                    // web app waits for the host and asks again every 5 s.
                    self.events.push(ConferenceEvent::Waiting(Waiting::ForHost));
                    self.retry_at = Some(now + HOST_WAIT_RETRY);
                } else {
                    self.finish(ConferenceEnd::AuthenticationRequired, now);
                }
            }
            Err(IqFailure::Error(error)) => {
                let detail = refusal_detail(&error.condition, error.text.as_deref());
                let refusal =
                    Phrase::tr_args("jitsi-focus-refused", vec![("detail", detail.into())]);
                self.finish(ConferenceEnd::Refused(refusal), now);
            }
            Err(IqFailure::Timeout) => {
                let silent = Phrase::tr_args(
                    "jitsi-focus-no-answer",
                    vec![("focus", self.config.focus.as_str().into())],
                );
                self.finish(ConferenceEnd::Refused(silent), now);
            }
            Err(IqFailure::Closed) => {}
        }
    }

    fn join(&mut self, now: Instant) {
        self.phase = Phase::Joining;
        self.join_deadline = Some(now + JOIN_TIMEOUT);
        self.sent_muc_join = false;
        self.send_presence();
    }

    fn presence(&self, to_room: &str, first: bool) -> Element {
        let mut presence =
            xml::element("presence", ns::CLIENT).with("to", format!("{to_room}/{}", self.endpoint));
        if first {
            let mut muc = xml::element("x", ns::MUC);
            if let Some(password) = &self.config.password {
                muc.append_child(xml::element("password", ns::MUC).text_node(password.clone()));
            }
            presence.append_child(muc);
        }
        if !self.config.display_name.is_empty() {
            presence.append_child(
                xml::element("nick", ns::NICK).text_node(self.config.display_name.clone()),
            );
        }
        presence.append_child(self.stream.caps());
        presence
            .append_child(xml::element("stats-id", ns::CLIENT).text_node(self.stats_id.clone()));
        // The video codecs palabre takes, for jicofo and the browsers' codec choice (a
        // participant without a list is left out of it).
        presence.append_child(
            xml::element("jitsi_participant_codecList", ns::CLIENT).text_node(VIDEO_CODECS),
        );
        let source_info = serde_json::json!({
            format!("{}-a0", self.endpoint): { "muted": self.audio_muted },
            format!("{}-v0", self.endpoint): { "muted": self.video_muted, "videoType": "camera" },
        });
        presence.append_child(
            xml::element("SourceInfo", ns::CLIENT).text_node(source_info.to_string()),
        );
        presence.append_child(
            xml::element("audiomuted", ns::JITMEET_AUDIO).text_node(self.audio_muted.to_string()),
        );
        presence.append_child(
            xml::element("videomuted", ns::JITMEET_VIDEO).text_node(self.video_muted.to_string()),
        );
        presence.append_child(
            xml::element("jitsi_participant_raisedHand", ns::CLIENT).text_node(
                self.raised_hand
                    .map(|at| at.to_string())
                    .unwrap_or_default(),
            ),
        );
        presence
    }

    fn send_presence(&mut self) {
        let (room, first) = match self.phase {
            Phase::Joining => (self.config.room.clone(), !self.sent_muc_join),
            Phase::Joined => (self.config.room.clone(), false),
            Phase::InLobby => match &self.lobby_room {
                Some(lobby) => (lobby.clone(), false),
                None => return,
            },
            _ => return,
        };
        let presence = self.presence(&room, first);
        self.stream.send(&presence);
        if self.phase == Phase::Joining {
            self.sent_muc_join = true;
        }
    }

    fn on_presence(&mut self, presence: &Element, now: Instant) {
        let Some(from) = presence.attr("from") else {
            return;
        };
        let bare = jid::bare(from);
        let nick = jid::resource(from).unwrap_or_default();
        if self.lobby_room.as_deref() == Some(bare) {
            self.on_lobby_presence(presence, nick, now);
            return;
        }
        if bare != self.config.room {
            return;
        }
        let kind = presence.attr("type");
        let muc_user = presence.get_child("x", ns::MUC_USER);
        let statuses: Vec<&str> = muc_user
            .map(|x| {
                x.children()
                    .filter(|c| c.name() == "status")
                    .filter_map(|c| c.attr("code"))
                    .collect()
            })
            .unwrap_or_default();
        let own = nick == self.endpoint || statuses.contains(&"110");
        if kind == Some("error") {
            // Only a refusal of the join ends the conference; an error on a later presence
            // (a name change refused, a rate limit) does not.
            if self.phase == Phase::Joining {
                self.on_join_error(presence, now);
            }
            return;
        }
        if own {
            match kind {
                Some("unavailable") => {
                    let end = if statuses.contains(&"307") {
                        ConferenceEnd::Kicked
                    } else if muc_user.is_some_and(|x| x.has_child("destroy", ns::MUC_USER)) {
                        ConferenceEnd::RoomDestroyed
                    } else {
                        ConferenceEnd::Left
                    };
                    self.finish(end, now);
                }
                _ if self.phase == Phase::Joining => {
                    self.phase = Phase::Joined;
                    self.join_deadline = None;
                    self.events.push(ConferenceEvent::Joined {
                        endpoint: self.endpoint.clone(),
                    });
                }
                _ => {}
            }
            return;
        }
        if nick == "focus" || nick.is_empty() {
            return;
        }
        if kind == Some("unavailable") {
            if self.participants.remove(nick).is_some() {
                self.events.push(ConferenceEvent::ParticipantLeft {
                    endpoint: nick.to_owned(),
                });
            }
            return;
        }
        if kind.is_some() {
            return;
        }
        let participant = read_participant(nick, presence);
        match self.participants.get(nick) {
            Some(known) if *known == participant => {}
            Some(_) => {
                self.participants
                    .insert(nick.to_owned(), participant.clone());
                self.events
                    .push(ConferenceEvent::ParticipantChanged(participant));
            }
            None if self.participants.len() < MAX_PARTICIPANTS => {
                self.participants
                    .insert(nick.to_owned(), participant.clone());
                self.events
                    .push(ConferenceEvent::ParticipantJoined(participant));
            }
            None => {}
        }
    }

    fn on_join_error(&mut self, presence: &Element, now: Instant) {
        let Some(error) = StanzaError::of(presence) else {
            return;
        };
        let text = error.text.clone().unwrap_or_default();
        match (error.condition.as_str(), error.error_type.as_str()) {
            ("not-authorized", _) => self.finish(
                ConferenceEnd::PasswordRequired {
                    wrong: self.config.password.is_some(),
                },
                now,
            ),
            ("registration-required", _) => {
                let lobby = error
                    .element
                    .get_child("lobbyroom", ns::JITMEET)
                    .map(|lobby| lobby.text().trim().to_owned())
                    .filter(|lobby| !lobby.is_empty() && lobby.len() < 3072);
                match lobby {
                    Some(lobby) => self.enter_lobby(lobby),
                    None => self.finish(ConferenceEnd::MembersOnly, now),
                }
            }
            ("not-acceptable", _) if error.has("displayname-required", ns::JITMEET) => {
                self.finish(ConferenceEnd::DisplayNameRequired, now)
            }
            ("not-allowed", _) if error.has("authentication-required", ns::JITMEET) => {
                self.finish(ConferenceEnd::AuthenticationRequired, now)
            }
            ("not-allowed", _)
                if error.has("room-does-not-exist", ns::JITMEET)
                    || text.contains("Room creation is restricted") =>
            {
                if self.room_not_ready_retries < MAX_ROOM_NOT_READY_RETRIES {
                    // Joined before the focus created the room: ask the focus again.
                    self.room_not_ready_retries += 1;
                    self.phase = Phase::Requesting;
                    self.retry_at = Some(now + Duration::from_secs(1));
                } else {
                    self.finish(
                        ConferenceEnd::Refused(Phrase::tr("jitsi-room-never-created")),
                        now,
                    );
                }
            }
            ("service-unavailable", _) => self.finish(ConferenceEnd::RoomFull, now),
            ("conflict", _) => self.finish(
                ConferenceEnd::Refused(Phrase::tr("jitsi-name-conflict")),
                now,
            ),
            (condition, _) => {
                let detail = refusal_detail(condition, Some(text.as_ref()));
                let refusal =
                    Phrase::tr_args("jitsi-meeting-refused", vec![("detail", detail.into())]);
                self.finish(ConferenceEnd::Refused(refusal), now);
            }
        }
    }

    fn enter_lobby(&mut self, lobby: String) {
        self.lobby_room = Some(lobby.clone());
        self.phase = Phase::InLobby;
        let mut presence = self.presence(&lobby, true);
        // The lobby is an ordinary room: no password there.
        if let Some(x) = presence.get_child_mut("x", ns::MUC) {
            x.remove_child("password", ns::MUC);
        }
        self.stream.send(&presence);
        self.events.push(ConferenceEvent::Waiting(Waiting::InLobby));
    }

    fn on_lobby_presence(&mut self, presence: &Element, nick: &str, now: Instant) {
        if nick != self.endpoint || presence.attr("type") != Some("unavailable") {
            if presence.attr("type") == Some("error") {
                self.finish(
                    ConferenceEnd::Refused(Phrase::tr("jitsi-lobby-not-entered")),
                    now,
                );
            }
            return;
        }
        let muc_user = presence.get_child("x", ns::MUC_USER);
        let kicked = muc_user.is_some_and(|x| {
            x.children()
                .any(|c| c.name() == "status" && c.attr("code") == Some("307"))
        });
        let destroyed = muc_user.and_then(|x| x.get_child("destroy", ns::MUC_USER));
        if kicked {
            self.finish(ConferenceEnd::LobbyRefused, now);
        } else if destroyed.is_some() {
            // The lobby closes when the host arrives or lobby is turned off: go to the room.
            self.lobby_room = None;
            self.join(now);
        } else if self.phase == Phase::InLobby {
            self.finish(ConferenceEnd::LobbyRefused, now);
        }
    }

    fn on_message(&mut self, message: &Element) {
        let Some(from) = message.attr("from") else {
            return;
        };
        // A lobby approval: an invitation to the room, perhaps with its password.
        if let Some(invite) = message.get_child("x", ns::MUC_USER).and_then(|x| {
            x.get_child("invite", ns::MUC_USER)
                .map(|invite| (x, invite))
        }) && self.phase == Phase::InLobby
            && jid::bare(from) == self.config.room
        {
            let (x, _) = invite;
            if let Some(password) = x.get_child("password", ns::MUC_USER) {
                self.config.password = Some(password.text());
            }
            if let Some(lobby) = self.lobby_room.take() {
                let leave = xml::element("presence", ns::CLIENT)
                    .with("to", format!("{lobby}/{}", self.endpoint))
                    .with("type", "unavailable");
                self.stream.send(&leave);
            }
            self.phase = Phase::Joining;
            self.sent_muc_join = false;
            self.send_presence();
            return;
        }
        if jid::bare(from) != self.config.room || message.attr("type") == Some("error") {
            return;
        }
        let Some(body) = message.get_child("body", ns::CLIENT).map(Element::text) else {
            return;
        };
        let nick = jid::resource(from).unwrap_or_default();
        if nick.is_empty() || nick == self.endpoint || body.len() > MAX_TEXT_BYTES {
            return;
        }
        let private = message.attr("type") == Some("chat");
        let history = message.has_child("delay", "urn:xmpp:delay");
        let name = self
            .participants
            .get(nick)
            .map(|p| p.display_name.clone())
            .filter(|name| !name.is_empty())
            .or_else(|| {
                message
                    .get_child("display-name", "http://jitsi.org/protocol/display-name")
                    .map(Element::text)
            })
            .unwrap_or_else(|| nick.to_owned());
        self.events.push(ConferenceEvent::Chat {
            from: nick.to_owned(),
            name,
            text: body,
            private,
            history,
        });
    }

    fn on_request(&mut self, iq: Element, now: Instant) {
        let from = iq.attr("from").unwrap_or_default().to_owned();
        let Some(payload) = iq.children().next().cloned() else {
            self.stream
                .respond_error(&iq, "modify", "bad-request", None);
            return;
        };
        if payload.is("jingle", ns::JINGLE) {
            if from != self.focus_occupant {
                // Peer-to-peer offers from another participant: palabre always uses the
                // bridge. Acknowledge, then decline as lib-jitsi-meet does.
                self.stream.respond(&iq, None);
                if payload.attr("action") == Some("session-initiate") {
                    let decline = xml::element("jingle", ns::JINGLE)
                        .with("action", "session-terminate")
                        .with_opt("sid", payload.attr("sid"))
                        .child(
                            xml::element("reason", ns::JINGLE)
                                .child(xml::element("decline", ns::JINGLE))
                                .child(xml::element("text", ns::JINGLE).text_node("P2P disabled")),
                        );
                    // Its answer is of no interest: the id is not kept.
                    let _ = self.stream.send_iq(IqType::Set, Some(&from), decline, now);
                }
                return;
            }
            // The focus's session: a session-initiate starts one (replacing any other); any
            // other action must name it, or is refused as the Jingle spec says.
            let sid = payload.attr("sid").map(str::to_owned);
            let action = payload.attr("action").unwrap_or_default();
            if action == "session-initiate" {
                self.jingle_sid = sid;
            } else if sid.is_none() || sid != self.jingle_sid {
                self.stream.respond_error(
                    &iq,
                    "cancel",
                    "item-not-found",
                    Some(xml::element("unknown-session", ns::JINGLE_ERRORS)),
                );
                return;
            } else if action == "session-terminate" {
                self.jingle_sid = None;
            }
            self.stream.respond(&iq, None);
            self.events.push(ConferenceEvent::Jingle(payload));
            return;
        }
        if payload.is("mute", ns::JITMEET_AUDIO) && from == self.focus_occupant {
            self.stream.respond(&iq, None);
            if payload.text().trim() == "true" && !self.audio_muted {
                self.audio_muted = true;
                self.send_presence();
                self.events.push(ConferenceEvent::MutedByModerator);
            }
            return;
        }
        if payload.is("mute", ns::JITMEET_VIDEO) && from == self.focus_occupant {
            // No camera is sent: nothing to stop.
            self.stream.respond(&iq, None);
            return;
        }
        self.stream
            .respond_error(&iq, "cancel", "service-unavailable", None);
    }

    fn finish(&mut self, end: ConferenceEnd, now: Instant) {
        if self.phase == Phase::Ended {
            return;
        }
        self.end = Some(end);
        self.phase = Phase::Leaving;
        self.retry_at = None;
        self.stream.close(now);
        self.drain_stream(now);
    }
}

fn read_participant(nick: &str, presence: &Element) -> Participant {
    let text = |name: &str, namespace: &str| {
        presence
            .get_child(name, namespace)
            .map(Element::text)
            .map(|text| truncate(text.trim(), 256))
    };
    let display_name = text("nick", ns::NICK).unwrap_or_default();
    let audio_muted = match text("SourceInfo", ns::CLIENT) {
        Some(info) => source_info_audio_muted(&info, nick),
        None => text("audiomuted", ns::JITMEET_AUDIO).is_none_or(|muted| muted != "false"),
    };
    let raised_hand = text("jitsi_participant_raisedHand", ns::CLIENT)
        .and_then(|at| at.parse::<u64>().ok())
        .filter(|at| *at > 0);
    let role = presence
        .get_child("x", ns::MUC_USER)
        .and_then(|x| x.get_child("item", ns::MUC_USER))
        .and_then(|item| item.attr("role"))
        .map(|role| truncate(role, 32))
        .unwrap_or_default();
    Participant {
        endpoint: nick.to_owned(),
        display_name,
        audio_muted,
        raised_hand,
        role,
    }
}

/// Whether `SourceInfo` says the participant's audio is muted: true unless one of their audio
/// sources (`<endpoint>-a<n>`) says `"muted": false`, as jicofo reads it.
fn source_info_audio_muted(info: &str, endpoint: &str) -> bool {
    let Ok(serde_json::Value::Object(sources)) = serde_json::from_str::<serde_json::Value>(info)
    else {
        return true;
    };
    let prefix = format!("{endpoint}-a");
    !sources.iter().any(|(name, source)| {
        name.starts_with(&prefix) && source.get("muted") == Some(&serde_json::Value::Bool(false))
    })
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests;
