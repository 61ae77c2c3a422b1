//! Jingle with jicofo: offers parsed into a media description, and palabre's answers built from one.
//!
//! Sans-IO and pure data: this module turns a `<jingle xmlns='urn:xmpp:jingle:1'>` element (the
//! child of an IQ from the focus) into [`Jingle`], and builds the `<jingle>` elements palabre sends
//! ([`session_accept`], [`session_terminate`], [`transport_info`], [`source_add`],
//! [`source_remove`]). It knows nothing of any WebRTC library: codecs, header extensions and
//! sources are data, so video uses the same types as audio.
//!
//! The specifications behind it:
//! - XEP-0166 (Jingle): actions, contents, `creator`, `senders`, reasons;
//! - XEP-0167 (RTP sessions): `<description>`, payload types and their parameters, `rtcp-mux`;
//! - XEP-0176 (ICE-UDP transport) and XEP-0320 (DTLS-SRTP fingerprints);
//! - XEP-0293 (RTCP feedback), XEP-0294 (header extensions), XEP-0338 (BUNDLE grouping),
//!   XEP-0339 (sources and source groups), XEP-0343 (the SCTP `sctpmap`);
//! - Jitsi's own extensions: `<ssrc-info owner>`, `<bridge-session>`, `<startmuted>`,
//!   `<json-message>` with compact JSON sources, `<web-socket>` and `<initial-last-n>`.
//!
//! Parsing is tolerant where one bad item must not sink a call (an unreadable ICE candidate is
//! skipped and noted in [`Jingle::warnings`]) and strict where the data would be wrong (an SSRC
//! that is not a 32-bit number is an error). Unknown elements are ignored. Counts are bounded
//! ([`MAX_CONTENTS`], [`MAX_SOURCES`], [`MAX_CANDIDATES`], [`MAX_PAYLOAD_TYPES`]): more is an
//! error, never an allocation in proportion to what a server sends.

mod build;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::str::FromStr;

use super::ns;

/// The XML element type this module reads and builds (re-exported for callers without their own
/// `minidom` dependency, such as the fuzz targets).
pub use minidom::Element;

pub use build::{
    AcceptedCodecs, EXT_ABS_SEND_TIME, EXT_AUDIO_LEVEL, EXT_MID, EXT_TRANSPORT_CC, LocalMedia,
    LocalSource, session_accept, session_terminate, session_terminate_restart, source_add,
    source_remove, transport_info,
};

/// At most this many contents in one Jingle message.
pub const MAX_CONTENTS: usize = 64;
/// At most this many sources (and, separately, source groups) in one content.
pub const MAX_SOURCES: usize = 4096;
/// At most this many ICE candidates in one transport.
pub const MAX_CANDIDATES: usize = 256;
/// At most this many payload types in one description.
pub const MAX_PAYLOAD_TYPES: usize = 128;
/// At most this many header extensions in one description (their ids are 1 to 255).
pub const MAX_HEADER_EXTENSIONS: usize = 255;
/// At most this many parameters or RTCP feedback types in one payload type.
pub const MAX_PAYLOAD_ITEMS: usize = 64;
/// At most this many SSRCs in one source group (FID has 2, SIM 3).
pub const MAX_GROUP_SIZE: usize = 16;
/// At most this many web-socket URLs and fingerprints in one transport.
pub const MAX_TRANSPORT_ITEMS: usize = 16;
/// At most this many bytes of compact JSON sources in a `<json-message>`.
pub const MAX_JSON_SOURCES_LEN: usize = 1024 * 1024;
/// At most this many warnings are kept; later ones are counted in the last.
const MAX_WARNINGS: usize = 32;
/// Attribute values quoted in errors and warnings are cut to this many characters.
const QUOTE_LEN: usize = 40;

/// Why a Jingle message could not be read or an answer could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JingleError {
    /// The element is not `<jingle xmlns='urn:xmpp:jingle:1'>`.
    #[error("The conference server sent <{name}> where a Jingle message was expected.")]
    NotJingle {
        /// The element's name.
        name: String,
    },
    /// No `sid` attribute.
    #[error("The conference server sent a Jingle message without a session id.")]
    MissingSid,
    /// No `action` attribute.
    #[error("The conference server sent a Jingle message without an action.")]
    MissingAction,
    /// A required attribute is absent.
    #[error("The conference server sent a Jingle <{element}> without its '{attribute}' attribute.")]
    MissingAttribute {
        /// The element lacking it.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
    /// An attribute that must be a number in a given range is not.
    #[error(
        "The conference server sent a Jingle <{element}> whose '{attribute}' is not a valid \
         number: '{value}'."
    )]
    BadNumber {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
        /// The value received (cut to 40 characters).
        value: String,
    },
    /// More items than the limit.
    #[error("The conference server sent a Jingle message with more than {limit} {what}.")]
    TooMany {
        /// What there were too many of, in plain words ("contents", "ICE candidates", …).
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The `<json-message>` sources are not the expected JSON.
    #[error("The conference server sent a list of sources in JSON that cannot be read: {0}")]
    BadJsonSources(String),
    /// The offer has no audio content with Opus at 48 kHz, stereo.
    #[error(
        "The conference server offered no Opus audio, the only audio codec palabre speaks, so \
         the call cannot start."
    )]
    NoOpus,
    /// The element is a Jingle message, but not the action this function answers.
    #[error("A Jingle {found} message cannot be answered as a {expected} message.")]
    WrongAction {
        /// The action this function handles.
        expected: &'static str,
        /// The action the message has.
        found: String,
    },
}

/// The action of a Jingle message (XEP-0166 §7.2, plus Jitsi's source actions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `session-initiate`: an offer.
    SessionInitiate,
    /// `session-accept`: an answer.
    SessionAccept,
    /// `session-terminate`: the end of the session.
    SessionTerminate,
    /// `session-info`: ICE state, ICE restart requests, pings.
    SessionInfo,
    /// `source-add` (also the legacy `addsource`): new remote sources.
    SourceAdd,
    /// `source-remove` (also the legacy `removesource`): remote sources gone.
    SourceRemove,
    /// `transport-info`: trickled candidates or a new transport.
    TransportInfo,
    /// `transport-replace`: a new transport (palabre, like lib-jitsi-meet, refuses it).
    TransportReplace,
    /// `content-modify`: only used between two browsers (P2P).
    ContentModify,
    /// Any other action, as received (cut to 40 characters).
    Other(String),
}

impl Action {
    /// Reads an `action` attribute value. Never fails: unknown actions are [`Action::Other`].
    pub fn parse(value: &str) -> Action {
        match value {
            "session-initiate" => Action::SessionInitiate,
            "session-accept" => Action::SessionAccept,
            "session-terminate" => Action::SessionTerminate,
            "session-info" => Action::SessionInfo,
            "source-add" | "addsource" => Action::SourceAdd,
            "source-remove" | "removesource" => Action::SourceRemove,
            "transport-info" => Action::TransportInfo,
            "transport-replace" => Action::TransportReplace,
            "content-modify" => Action::ContentModify,
            other => Action::Other(quote(other)),
        }
    }

    /// The attribute value palabre sends for this action (the current spelling).
    pub fn as_str(&self) -> &str {
        match self {
            Action::SessionInitiate => "session-initiate",
            Action::SessionAccept => "session-accept",
            Action::SessionTerminate => "session-terminate",
            Action::SessionInfo => "session-info",
            Action::SourceAdd => "source-add",
            Action::SourceRemove => "source-remove",
            Action::TransportInfo => "transport-info",
            Action::TransportReplace => "transport-replace",
            Action::ContentModify => "content-modify",
            Action::Other(value) => value,
        }
    }
}

/// A parsed Jingle message.
#[derive(Debug, Clone, PartialEq)]
pub struct Jingle {
    /// What the message does.
    pub action: Action,
    /// The session id; every message of a session carries it.
    pub sid: String,
    /// The `initiator` attribute: for jicofo's offers, the focus's real JID.
    pub initiator: Option<String>,
    /// The `responder` attribute.
    pub responder: Option<String>,
    /// The contents, in document order. Sources sent as compact JSON are merged in here (into
    /// the content of their media, created if the message had none).
    pub contents: Vec<Content>,
    /// The content names of the BUNDLE group (XEP-0338), empty without one.
    pub bundle: Vec<String>,
    /// Jicofo's `<bridge-session>`: which bridge session this is.
    pub bridge_session: Option<BridgeSession>,
    /// Jicofo's `<startmuted>`: whether to join muted.
    pub start_muted: Option<StartMuted>,
    /// The `<reason>` of a session-terminate (or of other actions that carry one).
    pub reason: Option<Reason>,
    /// What was skipped while reading, in plain English (an unreadable candidate, …).
    pub warnings: Vec<String>,
}

/// Jicofo's bridge session (`<bridge-session xmlns='http://jitsi.org/protocol/focus'>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSession {
    /// The session id, echoed when asking for a restart.
    pub id: String,
    /// The bridge's region, if given.
    pub region: Option<String>,
    /// `restart='true'`: a request for a fresh session.
    pub restart: bool,
    /// `ice-restart='true'`: a request for an ICE restart.
    pub ice_restart: bool,
}

/// Jicofo's start-muted policy (`<startmuted xmlns='http://jitsi.org/jitmeet/start-muted'>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartMuted {
    /// Join with the microphone muted.
    pub audio: bool,
    /// Join with the camera off.
    pub video: bool,
}

/// The reason of a session-terminate (XEP-0166 §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The condition element's name: `success`, `decline`, `expired`, `general-error`, ….
    pub condition: String,
    /// The optional human-readable `<text>`.
    pub text: Option<String>,
}

/// Who created a content (XEP-0166 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creator {
    /// The session's initiator (jicofo, in offers).
    Initiator,
    /// The responder (palabre, in its answers, as lib-jitsi-meet writes them).
    Responder,
}

impl Creator {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Creator::Initiator => "initiator",
            Creator::Responder => "responder",
        }
    }
}

/// Which parties send media in a content (XEP-0166 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Senders {
    /// Both (the default).
    Both,
    /// Only the initiator.
    Initiator,
    /// Only the responder.
    Responder,
    /// Neither.
    None,
}

impl Senders {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Senders::Both => "both",
            Senders::Initiator => "initiator",
            Senders::Responder => "responder",
            Senders::None => "none",
        }
    }
}

/// One content of a Jingle message: a media kind with its RTP description and its transport.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// The content name (`audio`, `video`, `data` from jicofo; `0`, `1` in P2P offers).
    pub name: String,
    /// Who created it.
    pub creator: Creator,
    /// Who sends media in it.
    pub senders: Senders,
    /// The RTP description (XEP-0167), if any; the data content of current offers has one with
    /// media `application` and nothing else.
    pub description: Option<Description>,
    /// The ICE-UDP transport (XEP-0176), if any.
    pub transport: Option<Transport>,
    /// `<initial-last-n xmlns='jitsi:colibri2' value='…'/>` (in palabre's answers): how many
    /// video streams the bridge forwards from the start.
    pub initial_last_n: Option<i32>,
}

/// The kind of media of a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application` (the SCTP data channel).
    Application,
    /// Anything else, as received (cut to 40 characters).
    Other(String),
}

impl MediaKind {
    /// Reads a `media` attribute value.
    pub fn parse(value: &str) -> MediaKind {
        match value {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "application" => MediaKind::Application,
            other => MediaKind::Other(quote(other)),
        }
    }

    /// The attribute value.
    pub fn as_str(&self) -> &str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Application => "application",
            MediaKind::Other(value) => value,
        }
    }
}

/// An RTP description (XEP-0167 `<description xmlns='urn:xmpp:jingle:apps:rtp:1'>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The media kind.
    pub media: MediaKind,
    /// The `ssrc` attribute (the sender's main SSRC; palabre's answers carry it).
    pub ssrc: Option<u32>,
    /// The `maxptime` attribute, in milliseconds.
    pub maxptime: Option<u32>,
    /// The payload types, in order of preference.
    pub payload_types: Vec<PayloadType>,
    /// The RTP header extensions (XEP-0294).
    pub header_extensions: Vec<HeaderExtension>,
    /// `<extmap-allow-mixed/>`: one-byte and two-byte header extensions may be mixed.
    pub extmap_allow_mixed: bool,
    /// `<rtcp-mux/>`: RTCP on the RTP port.
    pub rtcp_mux: bool,
    /// The sources (XEP-0339), with their Jitsi owner.
    pub sources: Vec<Source>,
    /// The source groups (XEP-0339): `FID` pairs a source with its RTX, `SIM` lists simulcast
    /// layers.
    pub ssrc_groups: Vec<SsrcGroup>,
}

impl Description {
    /// An empty description of one media kind.
    pub fn new(media: MediaKind) -> Description {
        Description {
            media,
            ssrc: None,
            maxptime: None,
            payload_types: Vec::new(),
            header_extensions: Vec::new(),
            extmap_allow_mixed: false,
            rtcp_mux: false,
            sources: Vec::new(),
            ssrc_groups: Vec::new(),
        }
    }
}

/// A payload type (XEP-0167 `<payload-type>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadType {
    /// The RTP payload type number (0 to 127).
    pub id: u8,
    /// The codec name as sent (`opus`, `VP8`, `rtx`, …); empty if absent.
    pub name: String,
    /// The clock rate in Hz, if given.
    pub clockrate: Option<u32>,
    /// The number of channels (1 when absent).
    pub channels: u8,
    /// The format parameters (`minptime`, `useinbandfec`, `apt`, …), in order. A parameter
    /// without a name (RED's `111/111`) has an empty name.
    pub parameters: Vec<(String, String)>,
    /// The RTCP feedback types for this payload type (XEP-0293).
    pub rtcp_fb: Vec<RtcpFb>,
}

impl PayloadType {
    /// The value of the first parameter with this name.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// An RTCP feedback type (XEP-0293 `<rtcp-fb type subtype>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpFb {
    /// `type`: `nack`, `ccm`, `transport-cc`, `goog-remb`, ….
    pub kind: String,
    /// `subtype`: `pli`, `fir`, ….
    pub subtype: Option<String>,
}

/// An RTP header extension (XEP-0294 `<rtp-hdrext id uri>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderExtension {
    /// The extension id (1 to 255).
    pub id: u8,
    /// The extension URI.
    pub uri: String,
}

/// A media source (XEP-0339 `<source ssrc>`, with Jitsi's `name`, `videoType` and owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The SSRC.
    pub ssrc: u32,
    /// The source name, `<endpoint>-a0`, `<endpoint>-v0` (older servers omit it).
    pub name: Option<String>,
    /// The owner from `<ssrc-info owner>`: `jvb`, an endpoint id, or (older servers) a full
    /// occupant JID `room@conference.domain/abcd1234`.
    pub owner: Option<String>,
    /// The `msid` parameter (`<stream> <track>`).
    pub msid: Option<String>,
    /// The video type (`camera`, `desktop`), if given.
    pub video_type: Option<String>,
}

impl Source {
    /// Whether this is one of the bridge's own sources (owner `jvb`, or, without an owner, the
    /// `mixedmslabel` stream id the bridge uses). They carry RTCP, not a participant's media.
    pub fn is_bridge(&self) -> bool {
        match &self.owner {
            Some(owner) => owner == "jvb",
            None => self
                .msid
                .as_deref()
                .is_some_and(|msid| msid.starts_with("mixedmslabel")),
        }
    }

    /// The endpoint id of the participant who sends this source: the owner if it is an endpoint
    /// id, the part after `/` if it is an occupant JID, or else the prefix of the source name
    /// (brief §4.3). `None` for the bridge's own sources and when nothing tells.
    pub fn endpoint_id(&self) -> Option<&str> {
        if self.is_bridge() {
            return None;
        }
        match self.owner.as_deref() {
            Some(owner) => {
                let id = owner
                    .rsplit_once('/')
                    .map_or(owner, |(_, resource)| resource);
                (!id.is_empty()).then_some(id)
            }
            None => self.name.as_deref().and_then(endpoint_of_source_name),
        }
    }
}

/// A source group (XEP-0339 `<ssrc-group semantics>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `FID` (a source and its RTX) or `SIM` (simulcast layers), as sent.
    pub semantics: String,
    /// The SSRCs, in order (for FID: primary, then RTX).
    pub ssrcs: Vec<u32>,
}

/// An ICE-UDP transport (XEP-0176) with its DTLS fingerprints (XEP-0320).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transport {
    /// The ICE username fragment.
    pub ufrag: Option<String>,
    /// The ICE password.
    pub pwd: Option<String>,
    /// The DTLS certificate fingerprints.
    pub fingerprints: Vec<Fingerprint>,
    /// The ICE candidates that could be read (others are in [`Jingle::warnings`]).
    pub candidates: Vec<Candidate>,
    /// The colibri WebSocket URLs (`<web-socket xmlns='http://jitsi.org/protocol/colibri'>`).
    pub web_sockets: Vec<String>,
    /// The SCTP association for the data channel (XEP-0343 `<sctpmap>`).
    pub sctp: Option<SctpMap>,
    /// `<rtcp-mux/>` in the transport.
    pub rtcp_mux: bool,
}

/// A DTLS certificate fingerprint (XEP-0320).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash function (`sha-256`).
    pub hash: String,
    /// The DTLS role: `actpass` in offers, `active` in palabre's answers.
    pub setup: Option<String>,
    /// The fingerprint, colon-separated hex bytes.
    pub value: String,
    /// `cryptex='true'` (RFC 9335 header encryption offered).
    pub cryptex: bool,
}

/// The SCTP association of a data channel (XEP-0343 `<sctpmap>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpMap {
    /// The SCTP port (5000 with Jitsi).
    pub number: u16,
    /// The protocol (`webrtc-datachannel`).
    pub protocol: String,
    /// The number of streams.
    pub streams: u32,
}

/// The type of an ICE candidate (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateType {
    /// A local address.
    Host,
    /// Server reflexive (seen by a STUN server).
    Srflx,
    /// Peer reflexive.
    Prflx,
    /// Relayed by a TURN server.
    Relay,
}

impl CandidateType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::Srflx => "srflx",
            CandidateType::Prflx => "prflx",
            CandidateType::Relay => "relay",
        }
    }
}

/// An ICE candidate (XEP-0176 `<candidate>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The component (1 = RTP; with rtcp-mux, the only one).
    pub component: u8,
    /// The foundation.
    pub foundation: String,
    /// The ICE generation (0 when absent).
    pub generation: u32,
    /// The candidate's id, if given.
    pub id: Option<String>,
    /// The address.
    pub ip: IpAddr,
    /// The port.
    pub port: u16,
    /// The priority.
    pub priority: u32,
    /// The transport protocol, lower case (`udp`, `tcp`).
    pub protocol: String,
    /// The candidate type.
    pub kind: CandidateType,
    /// The related address (for srflx, prflx and relay candidates).
    pub rel_addr: Option<IpAddr>,
    /// The related port.
    pub rel_port: Option<u16>,
    /// The network index.
    pub network: Option<u32>,
    /// The TCP candidate type (`active`, `passive`, `so`) for TCP candidates.
    pub tcp_type: Option<String>,
}

/// The endpoint id in a Jitsi source name: `abcd1234` in `abcd1234-a0`, `abcd1234-v1` or
/// `abcd1234-v0.2` (lib-jitsi-meet's rule `^(.+)-[av]\d+(\.[^.]+)?$`, brief §4.3). `None` when
/// the name does not have that form.
pub fn endpoint_of_source_name(name: &str) -> Option<&str> {
    // The greedy `(.+)` takes the last '-' after which the rest matches.
    for (dash, _) in name.match_indices('-').rev() {
        if dash > 0 && is_source_suffix(&name[dash + 1..]) {
            return Some(&name[..dash]);
        }
    }
    None
}

/// Whether `tail` matches `[av]\d+(\.[^.]+)?` entirely.
fn is_source_suffix(tail: &str) -> bool {
    let Some(rest) = tail.strip_prefix(['a', 'v']) else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = &rest[digits..];
    match rest.strip_prefix('.') {
        None => rest.is_empty(),
        Some(suffix) => !suffix.is_empty() && !suffix.contains('.'),
    }
}

/// Reads a `<jingle xmlns='urn:xmpp:jingle:1'>` element (the child of an IQ).
pub fn parse(jingle: &Element) -> Result<Jingle, JingleError> {
    if !jingle.is("jingle", ns::JINGLE) {
        return Err(JingleError::NotJingle {
            name: quote(jingle.name()),
        });
    }
    let action = Action::parse(jingle.attr("action").ok_or(JingleError::MissingAction)?);
    let sid = match jingle.attr("sid") {
        Some(sid) if !sid.is_empty() => sid.to_owned(),
        _ => return Err(JingleError::MissingSid),
    };
    let mut parsed = Jingle {
        action,
        sid,
        initiator: jingle.attr("initiator").map(str::to_owned),
        responder: jingle.attr("responder").map(str::to_owned),
        contents: Vec::new(),
        bundle: Vec::new(),
        bridge_session: None,
        start_muted: None,
        reason: None,
        warnings: Vec::new(),
    };
    let mut warnings = Warnings::default();
    let mut json_sources = Vec::new();
    for child in jingle.children() {
        match child.name() {
            "content" => {
                if parsed.contents.len() == MAX_CONTENTS {
                    return Err(too_many("contents", MAX_CONTENTS));
                }
                parsed.contents.push(parse_content(child, &mut warnings)?);
            }
            "group" if child.has_ns(ns::JINGLE_GROUPING) => {
                // XEP-0338; older senders wrote `type` instead of `semantics`.
                let semantics = child.attr("semantics").or_else(|| child.attr("type"));
                if semantics == Some("BUNDLE") {
                    for name in child.children().filter(|c| c.name() == "content") {
                        if parsed.bundle.len() == MAX_CONTENTS {
                            return Err(too_many("contents in the BUNDLE group", MAX_CONTENTS));
                        }
                        if let Some(name) = name.attr("name") {
                            parsed.bundle.push(name.to_owned());
                        }
                    }
                }
            }
            "bridge-session" => match child.attr("id") {
                Some(id) => {
                    parsed.bridge_session = Some(BridgeSession {
                        id: id.to_owned(),
                        region: child.attr("region").map(str::to_owned),
                        restart: is_true(child.attr("restart")),
                        ice_restart: is_true(child.attr("ice-restart")),
                    });
                }
                None => warnings.push("a bridge session without an id was ignored".to_owned()),
            },
            "startmuted" => {
                parsed.start_muted = Some(StartMuted {
                    audio: is_true(child.attr("audio")),
                    video: is_true(child.attr("video")),
                });
            }
            "reason" => parsed.reason = Some(parse_reason(child)),
            "json-message" if child.has_ns(ns::JITMEET) => {
                json_sources = parse_json_sources(&child.text())?;
            }
            _ => {}
        }
    }
    merge_json_sources(&mut parsed.contents, json_sources)?;
    parsed.warnings = warnings.finish();
    Ok(parsed)
}

impl Jingle {
    /// The first content with a description of this media kind.
    pub fn content(&self, media: &MediaKind) -> Option<&Content> {
        self.contents.iter().find(|content| {
            content
                .description
                .as_ref()
                .is_some_and(|description| &description.media == media)
        })
    }

    /// Every source of every content, with the media kind of its content.
    pub fn sources(&self) -> impl Iterator<Item = (&MediaKind, &Source)> {
        self.contents
            .iter()
            .filter_map(|content| content.description.as_ref())
            .flat_map(|description| {
                description
                    .sources
                    .iter()
                    .map(move |source| (&description.media, source))
            })
    }

    /// The first transport among the contents (with BUNDLE, all contents share it).
    pub fn transport(&self) -> Option<&Transport> {
        self.contents
            .iter()
            .find_map(|content| content.transport.as_ref())
    }
}

/// Collects warnings, keeping at most [`MAX_WARNINGS`].
#[derive(Default)]
struct Warnings {
    kept: Vec<String>,
    dropped: usize,
}

impl Warnings {
    fn push(&mut self, warning: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(warning);
        } else {
            self.dropped += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.kept
                .push(format!("{} more warnings were not kept", self.dropped));
        }
        self.kept
    }
}

fn parse_content(content: &Element, warnings: &mut Warnings) -> Result<Content, JingleError> {
    let name = content
        .attr("name")
        .ok_or(JingleError::MissingAttribute {
            element: "content",
            attribute: "name",
        })?
        .to_owned();
    let creator = match content.attr("creator") {
        Some("responder") => Creator::Responder,
        _ => Creator::Initiator,
    };
    let senders = match content.attr("senders") {
        Some("initiator") => Senders::Initiator,
        Some("responder") => Senders::Responder,
        Some("none") => Senders::None,
        _ => Senders::Both,
    };
    let mut parsed = Content {
        name,
        creator,
        senders,
        description: None,
        transport: None,
        initial_last_n: None,
    };
    for child in content.children() {
        match child.name() {
            "description" if child.has_ns(ns::JINGLE_RTP) => {
                parsed.description = Some(parse_description(child, warnings)?);
            }
            "transport" if child.has_ns(ns::JINGLE_ICE_UDP) => {
                parsed.transport = Some(parse_transport(child, warnings)?);
            }
            "initial-last-n" if child.has_ns(ns::COLIBRI2) => {
                parsed.initial_last_n = Some(number(child, "initial-last-n", "value")?);
            }
            _ => {}
        }
    }
    Ok(parsed)
}

fn parse_description(
    description: &Element,
    warnings: &mut Warnings,
) -> Result<Description, JingleError> {
    let media = MediaKind::parse(description.attr("media").unwrap_or_default());
    let mut parsed = Description::new(media);
    parsed.ssrc = optional_number(description, "description", "ssrc")?;
    parsed.maxptime = optional_number(description, "description", "maxptime")?;
    for child in description.children() {
        match child.name() {
            "payload-type" => {
                if parsed.payload_types.len() == MAX_PAYLOAD_TYPES {
                    return Err(too_many("payload types", MAX_PAYLOAD_TYPES));
                }
                parsed
                    .payload_types
                    .push(parse_payload_type(child, warnings)?);
            }
            "rtp-hdrext" => {
                if parsed.header_extensions.len() == MAX_HEADER_EXTENSIONS {
                    return Err(too_many("header extensions", MAX_HEADER_EXTENSIONS));
                }
                let id: u8 = number(child, "rtp-hdrext", "id")?;
                if id == 0 {
                    return Err(bad_number("rtp-hdrext", "id", "0"));
                }
                let uri = required(child, "rtp-hdrext", "uri")?.to_owned();
                parsed.header_extensions.push(HeaderExtension { id, uri });
            }
            "extmap-allow-mixed" => parsed.extmap_allow_mixed = true,
            "rtcp-mux" => parsed.rtcp_mux = true,
            "source" => {
                if parsed.sources.len() == MAX_SOURCES {
                    return Err(too_many("sources in one content", MAX_SOURCES));
                }
                parsed.sources.push(parse_source(child)?);
            }
            "ssrc-group" => {
                if parsed.ssrc_groups.len() == MAX_SOURCES {
                    return Err(too_many("source groups in one content", MAX_SOURCES));
                }
                parsed.ssrc_groups.push(parse_ssrc_group(child)?);
            }
            _ => {}
        }
    }
    Ok(parsed)
}

fn parse_payload_type(
    payload_type: &Element,
    warnings: &mut Warnings,
) -> Result<PayloadType, JingleError> {
    let id: u8 = number(payload_type, "payload-type", "id")?;
    if id > 127 {
        return Err(bad_number("payload-type", "id", &id.to_string()));
    }
    let channels = optional_number(payload_type, "payload-type", "channels")?.unwrap_or(1);
    let mut parsed = PayloadType {
        id,
        name: payload_type.attr("name").unwrap_or_default().to_owned(),
        clockrate: optional_number(payload_type, "payload-type", "clockrate")?,
        channels,
        parameters: Vec::new(),
        rtcp_fb: Vec::new(),
    };
    for child in payload_type.children() {
        match child.name() {
            "parameter" => {
                if parsed.parameters.len() == MAX_PAYLOAD_ITEMS {
                    return Err(too_many(
                        "parameters in one payload type",
                        MAX_PAYLOAD_ITEMS,
                    ));
                }
                parsed.parameters.push((
                    child.attr("name").unwrap_or_default().to_owned(),
                    child.attr("value").unwrap_or_default().to_owned(),
                ));
            }
            "rtcp-fb" => {
                if parsed.rtcp_fb.len() == MAX_PAYLOAD_ITEMS {
                    return Err(too_many(
                        "RTCP feedback types in one payload type",
                        MAX_PAYLOAD_ITEMS,
                    ));
                }
                match child.attr("type") {
                    Some(kind) => parsed.rtcp_fb.push(RtcpFb {
                        kind: kind.to_owned(),
                        subtype: child.attr("subtype").map(str::to_owned),
                    }),
                    None => warnings.push(format!(
                        "an RTCP feedback without a type in payload type {id} was ignored"
                    )),
                }
            }
            _ => {}
        }
    }
    Ok(parsed)
}

fn parse_source(source: &Element) -> Result<Source, JingleError> {
    let ssrc = number(source, "source", "ssrc")?;
    let mut parsed = Source {
        ssrc,
        name: source.attr("name").map(str::to_owned),
        owner: None,
        msid: None,
        video_type: source.attr("videoType").map(str::to_owned),
    };
    for child in source.children() {
        match child.name() {
            "ssrc-info" => parsed.owner = child.attr("owner").map(str::to_owned),
            // Parameters arrive in more than one namespace (brief §4.3), so any is accepted.
            "parameter" if child.attr("name") == Some("msid") => {
                parsed.msid = child.attr("value").map(str::to_owned);
            }
            _ => {}
        }
    }
    Ok(parsed)
}

fn parse_ssrc_group(group: &Element) -> Result<SsrcGroup, JingleError> {
    let semantics = required(group, "ssrc-group", "semantics")?.to_owned();
    let mut ssrcs = Vec::new();
    for source in group.children().filter(|c| c.name() == "source") {
        if ssrcs.len() == MAX_GROUP_SIZE {
            return Err(too_many("sources in one source group", MAX_GROUP_SIZE));
        }
        ssrcs.push(number(source, "source", "ssrc")?);
    }
    Ok(SsrcGroup { semantics, ssrcs })
}

fn parse_transport(transport: &Element, warnings: &mut Warnings) -> Result<Transport, JingleError> {
    let mut parsed = Transport {
        ufrag: transport.attr("ufrag").map(str::to_owned),
        pwd: transport.attr("pwd").map(str::to_owned),
        ..Transport::default()
    };
    let mut candidates = 0;
    for child in transport.children() {
        match child.name() {
            "candidate" => {
                candidates += 1;
                if candidates > MAX_CANDIDATES {
                    return Err(too_many("ICE candidates in one transport", MAX_CANDIDATES));
                }
                match parse_candidate(child) {
                    Ok(candidate) => parsed.candidates.push(candidate),
                    Err(why) => warnings.push(format!("an ICE candidate was skipped: {why}")),
                }
            }
            "fingerprint" => {
                if parsed.fingerprints.len() == MAX_TRANSPORT_ITEMS {
                    return Err(too_many(
                        "fingerprints in one transport",
                        MAX_TRANSPORT_ITEMS,
                    ));
                }
                match child.attr("hash") {
                    Some(hash) => parsed.fingerprints.push(Fingerprint {
                        hash: hash.to_owned(),
                        setup: child.attr("setup").map(str::to_owned),
                        value: child.text().trim().to_owned(),
                        cryptex: is_true(child.attr("cryptex")),
                    }),
                    None => warnings.push("a fingerprint without a hash was ignored".to_owned()),
                }
            }
            "web-socket" => {
                if parsed.web_sockets.len() == MAX_TRANSPORT_ITEMS {
                    return Err(too_many(
                        "web-socket URLs in one transport",
                        MAX_TRANSPORT_ITEMS,
                    ));
                }
                if let Some(url) = child.attr("url") {
                    parsed.web_sockets.push(url.to_owned());
                }
            }
            "sctpmap" => {
                parsed.sctp = Some(SctpMap {
                    number: number(child, "sctpmap", "number")?,
                    protocol: child.attr("protocol").unwrap_or_default().to_owned(),
                    streams: optional_number(child, "sctpmap", "streams")?.unwrap_or(0),
                });
            }
            "rtcp-mux" => parsed.rtcp_mux = true,
            _ => {}
        }
    }
    Ok(parsed)
}

/// Reads one candidate; the error is a short phrase for the warning.
fn parse_candidate(candidate: &Element) -> Result<Candidate, String> {
    fn field<T: FromStr>(candidate: &Element, attribute: &str) -> Result<T, String> {
        let value = candidate
            .attr(attribute)
            .ok_or_else(|| format!("it has no '{attribute}'"))?;
        value
            .parse()
            .map_err(|_| format!("its '{attribute}' is '{}'", quote(value)))
    }
    fn optional<T: FromStr>(candidate: &Element, attribute: &str) -> Result<Option<T>, String> {
        match candidate.attr(attribute) {
            None => Ok(None),
            Some(_) => field(candidate, attribute).map(Some),
        }
    }
    let kind = match candidate.attr("type") {
        Some("host") => CandidateType::Host,
        Some("srflx") => CandidateType::Srflx,
        Some("prflx") => CandidateType::Prflx,
        Some("relay") => CandidateType::Relay,
        Some(other) => return Err(format!("its type is '{}'", quote(other))),
        None => return Err("it has no 'type'".to_owned()),
    };
    Ok(Candidate {
        component: field(candidate, "component")?,
        foundation: field(candidate, "foundation")?,
        generation: optional(candidate, "generation")?.unwrap_or(0),
        id: candidate.attr("id").map(str::to_owned),
        ip: field(candidate, "ip")?,
        port: field(candidate, "port")?,
        priority: field(candidate, "priority")?,
        protocol: field::<String>(candidate, "protocol")?.to_ascii_lowercase(),
        kind,
        rel_addr: optional(candidate, "rel-addr")?,
        rel_port: optional(candidate, "rel-port")?,
        network: optional(candidate, "network")?,
        tcp_type: candidate.attr("tcptype").map(str::to_owned),
    })
}

fn parse_reason(reason: &Element) -> Reason {
    let mut parsed = Reason {
        condition: String::new(),
        text: None,
    };
    for child in reason.children() {
        if child.name() == "text" {
            parsed.text = Some(child.text());
        } else if parsed.condition.is_empty() {
            parsed.condition = child.name().to_owned();
        }
    }
    parsed
}

/// Sources of one media kind read from compact JSON.
struct JsonSources {
    media: MediaKind,
    sources: Vec<Source>,
    groups: Vec<SsrcGroup>,
}

/// Reads `{"sources":{"<owner>":[[videoSources],[videoGroups],[audioSources],[audioGroups]]}}`
/// (jicofo's compact form, brief §4.3). A source is `{"s":ssrc,"n":name,"m":msid,"v":"d"}`, a
/// group `["f"|"s", ssrc, …]`.
fn parse_json_sources(text: &str) -> Result<Vec<JsonSources>, JingleError> {
    use serde_json::Value;

    fn bad(why: &str) -> JingleError {
        JingleError::BadJsonSources(why.to_owned())
    }
    fn ssrc_of(value: &Value) -> Result<u32, JingleError> {
        value
            .as_u64()
            .and_then(|ssrc| u32::try_from(ssrc).ok())
            .ok_or_else(|| bad("an SSRC is not a 32-bit number."))
    }
    fn sources(owner: &str, list: Option<&Value>) -> Result<Vec<Source>, JingleError> {
        let Some(list) = list else {
            return Ok(Vec::new());
        };
        let list = list
            .as_array()
            .ok_or_else(|| bad("a list of sources is not a list."))?;
        if list.len() > MAX_SOURCES {
            return Err(too_many("sources in one content", MAX_SOURCES));
        }
        list.iter()
            .map(|source| {
                let source = source
                    .as_object()
                    .ok_or_else(|| bad("a source is not an object."))?;
                let text = |key: &str| source.get(key).and_then(Value::as_str).map(str::to_owned);
                Ok(Source {
                    ssrc: ssrc_of(
                        source
                            .get("s")
                            .ok_or_else(|| bad("a source has no SSRC."))?,
                    )?,
                    name: text("n"),
                    owner: Some(owner.to_owned()),
                    msid: text("m"),
                    video_type: match source.get("v").and_then(Value::as_str) {
                        Some("d") => Some("desktop".to_owned()),
                        Some("c") => Some("camera".to_owned()),
                        _ => None,
                    },
                })
            })
            .collect()
    }
    fn groups(list: Option<&Value>) -> Result<Vec<SsrcGroup>, JingleError> {
        let Some(list) = list else {
            return Ok(Vec::new());
        };
        let list = list
            .as_array()
            .ok_or_else(|| bad("a list of source groups is not a list."))?;
        if list.len() > MAX_SOURCES {
            return Err(too_many("source groups in one content", MAX_SOURCES));
        }
        list.iter()
            .map(|group| {
                let group = group
                    .as_array()
                    .ok_or_else(|| bad("a source group is not a list."))?;
                let (semantics, ssrcs) = group
                    .split_first()
                    .ok_or_else(|| bad("a source group is empty."))?;
                let semantics = match semantics.as_str() {
                    Some("f") => "FID".to_owned(),
                    Some("s") => "SIM".to_owned(),
                    Some(other) => quote(other),
                    None => return Err(bad("a source group has no semantics.")),
                };
                if ssrcs.len() > MAX_GROUP_SIZE {
                    return Err(too_many("sources in one source group", MAX_GROUP_SIZE));
                }
                Ok(SsrcGroup {
                    semantics,
                    ssrcs: ssrcs.iter().map(ssrc_of).collect::<Result<_, _>>()?,
                })
            })
            .collect()
    }

    if text.len() > MAX_JSON_SOURCES_LEN {
        return Err(bad("it is larger than 1 MiB."));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|error| JingleError::BadJsonSources(error.to_string()))?;
    let owners = value
        .get("sources")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("there is no \"sources\" object."))?;
    let mut video = JsonSources {
        media: MediaKind::Video,
        sources: Vec::new(),
        groups: Vec::new(),
    };
    let mut audio = JsonSources {
        media: MediaKind::Audio,
        sources: Vec::new(),
        groups: Vec::new(),
    };
    for (owner, lists) in owners {
        let lists = lists
            .as_array()
            .ok_or_else(|| bad("the sources of one owner are not a list."))?;
        video.sources.extend(sources(owner, lists.first())?);
        video.groups.extend(groups(lists.get(1))?);
        audio.sources.extend(sources(owner, lists.get(2))?);
        audio.groups.extend(groups(lists.get(3))?);
        if video.sources.len().max(audio.sources.len()) > MAX_SOURCES {
            return Err(too_many("sources in one content", MAX_SOURCES));
        }
        if video.groups.len().max(audio.groups.len()) > MAX_SOURCES {
            return Err(too_many("source groups in one content", MAX_SOURCES));
        }
    }
    Ok(vec![audio, video])
}

/// Adds JSON sources to the content of their media, creating it if the message has none.
fn merge_json_sources(
    contents: &mut Vec<Content>,
    all: Vec<JsonSources>,
) -> Result<(), JingleError> {
    for JsonSources {
        media,
        sources,
        groups,
    } in all
    {
        if sources.is_empty() && groups.is_empty() {
            continue;
        }
        let index = contents.iter().position(|content| {
            content
                .description
                .as_ref()
                .is_some_and(|description| description.media == media)
        });
        let index = match index {
            Some(index) => index,
            None => {
                if contents.len() == MAX_CONTENTS {
                    return Err(too_many("contents", MAX_CONTENTS));
                }
                contents.push(Content {
                    name: media.as_str().to_owned(),
                    creator: Creator::Initiator,
                    senders: Senders::Both,
                    description: Some(Description::new(media.clone())),
                    transport: None,
                    initial_last_n: None,
                });
                contents.len() - 1
            }
        };
        // The position search above found (or created) a content with a description.
        let Some(description) = contents[index].description.as_mut() else {
            continue;
        };
        if description.sources.len() + sources.len() > MAX_SOURCES {
            return Err(too_many("sources in one content", MAX_SOURCES));
        }
        if description.ssrc_groups.len() + groups.len() > MAX_SOURCES {
            return Err(too_many("source groups in one content", MAX_SOURCES));
        }
        description.sources.extend(sources);
        description.ssrc_groups.extend(groups);
    }
    Ok(())
}

fn required<'a>(
    element: &'a Element,
    name: &'static str,
    attribute: &'static str,
) -> Result<&'a str, JingleError> {
    element
        .attr(attribute)
        .ok_or(JingleError::MissingAttribute {
            element: name,
            attribute,
        })
}

fn number<T: FromStr>(
    element: &Element,
    name: &'static str,
    attribute: &'static str,
) -> Result<T, JingleError> {
    let value = required(element, name, attribute)?;
    value
        .parse()
        .map_err(|_| bad_number(name, attribute, value))
}

fn optional_number<T: FromStr>(
    element: &Element,
    name: &'static str,
    attribute: &'static str,
) -> Result<Option<T>, JingleError> {
    match element.attr(attribute) {
        None => Ok(None),
        Some(_) => number(element, name, attribute).map(Some),
    }
}

fn bad_number(element: &'static str, attribute: &'static str, value: &str) -> JingleError {
    JingleError::BadNumber {
        element,
        attribute,
        value: quote(value),
    }
}

fn too_many(what: &'static str, limit: usize) -> JingleError {
    JingleError::TooMany { what, limit }
}

fn is_true(value: Option<&str>) -> bool {
    matches!(value, Some("true") | Some("1"))
}

/// A received value cut to [`QUOTE_LEN`] characters, for errors and warnings.
fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTE_LEN) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}
