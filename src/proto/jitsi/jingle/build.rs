//! The Jingle elements palabre sends: session-accept, session-terminate, transport-info,
//! source-add and source-remove.
//!
//! The session-accept follows what lib-jitsi-meet sends to jicofo (brief §4.5): contents created
//! by the `responder` under the offer's names, the offer's BUNDLE group, only the codecs and
//! header extensions palabre handles (with the offer's ids), palabre's own sources with a name and
//! an `msid` parameter, and the same ICE-UDP transport with a DTLS fingerprint (`setup='active'`:
//! palabre is the DTLS client) in every content.

use minidom::rxml::NcName;
use minidom::{Element, ElementBuilder};

use super::{
    Action, Candidate, Fingerprint, Jingle, JingleError, MediaKind, PayloadType, RtcpFb, Transport,
};
use crate::proto::jitsi::ns;
use crate::proto::jitsi::xml::xml_safe;

/// URI of the audio level header extension (RFC 6464).
pub const EXT_AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// URI of the transport-wide congestion control sequence number extension.
pub const EXT_TRANSPORT_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// URI of the absolute send time extension.
pub const EXT_ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/// URI of the media id extension (RFC 8843).
pub const EXT_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// The header extensions palabre's answers keep, when offered.
const SUPPORTED_EXTENSIONS: [&str; 4] = [
    EXT_AUDIO_LEVEL,
    EXT_TRANSPORT_CC,
    EXT_ABS_SEND_TIME,
    EXT_MID,
];

/// What palabre brings to a session: its ICE credentials and candidates, its DTLS fingerprint,
/// its own sources and its choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// The local ICE username fragment.
    pub ice_ufrag: String,
    /// The local ICE password.
    pub ice_pwd: String,
    /// The local DTLS certificate fingerprint (`sha-256`). Its `setup` is sent as given, or
    /// `active` when `None`: palabre is the DTLS client of the bridge.
    pub fingerprint: Fingerprint,
    /// The local ICE candidates known when answering (more can follow in transport-info).
    pub candidates: Vec<Candidate>,
    /// palabre's microphone source, if it sends audio.
    pub audio: Option<LocalSource>,
    /// palabre's camera source, if it sends video.
    pub video: Option<LocalSource>,
    /// Ask the bridge for no video from the start (`<initial-last-n value='0'>`).
    pub audio_only: bool,
    /// The codecs palabre accepts besides Opus.
    pub codecs: AcceptedCodecs,
}

/// One of palabre's own sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSource {
    /// The SSRC.
    pub ssrc: u32,
    /// The RTX SSRC (video only), sent with a FID group.
    pub rtx_ssrc: Option<u32>,
    /// The source name, `<endpoint>-a0` or `<endpoint>-v0`.
    pub name: String,
    /// The `msid` (`<stream> <track>`).
    pub msid: String,
    /// The video type (`camera`, `desktop`) for video sources.
    pub video_type: Option<String>,
}

/// The codecs palabre accepts in addition to Opus, which it always needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedCodecs {
    /// VP8 video (with its RTX payload type when offered).
    pub vp8: bool,
}

impl Default for AcceptedCodecs {
    fn default() -> Self {
        AcceptedCodecs { vp8: true }
    }
}

/// Builds palabre's `<jingle action='session-accept'>` answering a session-initiate.
///
/// Contents: every offered audio and video content, and the data content when it offers an SCTP
/// association; contents of other kinds are left out (and out of the BUNDLE group). A video
/// content without VP8 in the offer (or with VP8 not accepted) is answered without payload types
/// and without palabre's video source: jicofo takes sources and the transport from the answer.
///
/// Fails when the element is not a session-initiate or the offer has no Opus audio.
pub fn session_accept(
    offer: &Jingle,
    local: &LocalMedia,
    responder: &str,
) -> Result<Element, JingleError> {
    if offer.action != Action::SessionInitiate {
        return Err(JingleError::WrongAction {
            expected: "session-initiate",
            found: offer.action.as_str().to_owned(),
        });
    }
    let has_opus = offer.contents.iter().any(|content| {
        content.description.as_ref().is_some_and(|description| {
            description.media == MediaKind::Audio && description.payload_types.iter().any(is_opus)
        })
    });
    if !has_opus {
        return Err(JingleError::NoOpus);
    }

    let transport = Transport {
        ufrag: Some(local.ice_ufrag.clone()),
        pwd: Some(local.ice_pwd.clone()),
        fingerprints: vec![Fingerprint {
            setup: Some(
                local
                    .fingerprint
                    .setup
                    .clone()
                    .unwrap_or_else(|| "active".to_owned()),
            ),
            ..local.fingerprint.clone()
        }],
        candidates: local.candidates.clone(),
        ..Transport::default()
    };

    let mut contents = Vec::new();
    for content in &offer.contents {
        let description = content.description.as_ref();
        let media = description.map(|description| &description.media);
        let sctp = content.transport.as_ref().and_then(|t| t.sctp.as_ref());
        let answered = match (media, sctp) {
            (Some(MediaKind::Audio), _) => description.and_then(|description| {
                audio_description(description, local.audio.as_ref())
                    .map(|description| (description, None))
            }),
            (Some(MediaKind::Video), _) => description.map(|description| {
                let initial_last_n = local.audio_only.then(|| {
                    Element::builder("initial-last-n", ns::COLIBRI2)
                        .attr(name("value"), 0)
                        .build()
                });
                (video_description(description, local), initial_last_n)
            }),
            _ => None,
        };
        let mut element = Element::builder("content", ns::JINGLE)
            .attr(name("creator"), "responder")
            .attr(name("name"), safe(content.name.as_str()))
            .attr(name("senders"), "both");
        match answered {
            Some((description, initial_last_n)) => {
                if let Some(initial_last_n) = initial_last_n {
                    element = element.append(initial_last_n);
                }
                element = element
                    .append(description)
                    .append(transport_element(&transport));
            }
            None => match sctp {
                Some(sctp) => {
                    let data_transport = Transport {
                        sctp: Some(super::SctpMap {
                            number: sctp.number,
                            protocol: sctp.protocol.clone(),
                            streams: 0,
                        }),
                        ..transport.clone()
                    };
                    element = element.append(transport_element(&data_transport));
                }
                None => continue,
            },
        }
        contents.push((content.name.as_str(), element.build()));
    }

    let mut jingle = jingle_element(Action::SessionAccept, &offer.sid)
        .attr(name("initiator"), offer.initiator.as_deref().map(safe))
        .attr(name("responder"), safe(responder));
    if !offer.bundle.is_empty() {
        let names = offer
            .bundle
            .iter()
            .filter(|bundled| contents.iter().any(|(answered, _)| answered == bundled));
        jingle = jingle.append(
            Element::builder("group", ns::JINGLE_GROUPING)
                .attr(name("semantics"), "BUNDLE")
                .append_all(names.map(|content_name| {
                    Element::builder("content", ns::JINGLE_GROUPING)
                        .attr(name("name"), safe(content_name.as_str()))
                        .build()
                })),
        );
    }
    Ok(jingle
        .append_all(contents.into_iter().map(|(_, element)| element))
        .build())
}

/// Builds a `<jingle action='session-terminate'>` with a reason (XEP-0166 §7.4): `condition` is
/// the condition element's name (`success`, `decline`, `gone`, …; anything that is not a valid
/// XML name becomes `general-error`), `text` the optional explanation ("P2P disabled").
pub fn session_terminate(sid: &str, condition: &str, text: Option<&str>) -> Element {
    let condition = if NcName::try_from(condition).is_ok() {
        condition
    } else {
        "general-error"
    };
    let condition = Element::builder(condition, ns::JINGLE).build();
    let mut reason = Element::builder("reason", ns::JINGLE).append(condition);
    if let Some(text) = text {
        reason = reason.append(
            Element::builder("text", ns::JINGLE)
                .append(safe(text))
                .build(),
        );
    }
    jingle_element(Action::SessionTerminate, sid)
        .append(reason.build())
        .build()
}

/// Builds the session-terminate that asks the focus for a fresh session after the media
/// connection failed (brief §4.6): reason `connectivity-error`, and the offer's bridge session
/// echoed with `restart='true'`.
pub fn session_terminate_restart(sid: &str, bridge_session: &str) -> Element {
    let mut terminate = session_terminate(sid, "connectivity-error", Some("ICE FAILED"));
    terminate.append_child(
        Element::builder("bridge-session", ns::FOCUS)
            .attr(name("id"), safe(bridge_session))
            .attr(name("restart"), "true")
            .build(),
    );
    terminate
}

/// Builds a `<jingle action='transport-info'>` carrying a transport for one content: trickled
/// candidates, or a whole new transport (XEP-0176 §5).
pub fn transport_info(sid: &str, content_name: &str, transport: &Transport) -> Element {
    jingle_element(Action::TransportInfo, sid)
        .append(
            Element::builder("content", ns::JINGLE)
                .attr(name("creator"), "responder")
                .attr(name("name"), safe(content_name))
                .append(transport_element(transport))
                .build(),
        )
        .build()
}

/// Builds a `<jingle action='source-add'>` announcing palabre's new sources of one media kind
/// (a camera turned on after the session started).
pub fn source_add(sid: &str, media: &MediaKind, sources: &[LocalSource]) -> Element {
    sources_message(Action::SourceAdd, sid, media, sources)
}

/// Builds a `<jingle action='source-remove'>` withdrawing palabre's sources of one media kind.
pub fn source_remove(sid: &str, media: &MediaKind, sources: &[LocalSource]) -> Element {
    sources_message(Action::SourceRemove, sid, media, sources)
}

fn sources_message(
    action: Action,
    sid: &str,
    media: &MediaKind,
    sources: &[LocalSource],
) -> Element {
    let mut description = Element::builder("description", ns::JINGLE_RTP)
        .attr(name("media"), safe(media.as_str()))
        .build();
    for source in sources {
        append_source(&mut description, source);
    }
    jingle_element(action, sid)
        .append(
            Element::builder("content", ns::JINGLE)
                .attr(name("creator"), "responder")
                .attr(name("name"), safe(media.as_str()))
                .append(description)
                .build(),
        )
        .build()
}

/// `value` without the characters XML cannot hold (see [`xml_safe`]): the caller's strings
/// (names, identifiers, the terminate text) must not make the XML writer fail.
fn safe(value: &str) -> String {
    xml_safe(value.to_owned())
}

/// A static attribute or element name.
fn name(name: &'static str) -> NcName {
    NcName::try_from(name).expect("the names in this file are valid XML names")
}

fn jingle_element(action: Action, sid: &str) -> ElementBuilder {
    Element::builder("jingle", ns::JINGLE)
        .attr(name("action"), safe(action.as_str()))
        .attr(name("sid"), safe(sid))
}

fn is_opus(payload_type: &PayloadType) -> bool {
    payload_type.name.eq_ignore_ascii_case("opus")
        && payload_type.clockrate == Some(48_000)
        && payload_type.channels == 2
}

/// The answer's audio description, or `None` when this content offers no Opus.
fn audio_description(
    offered: &super::Description,
    source: Option<&LocalSource>,
) -> Option<Element> {
    let opus = offered.payload_types.iter().find(|pt| is_opus(pt))?;
    let kept = PayloadType {
        parameters: opus
            .parameters
            .iter()
            .filter(|(key, _)| key == "minptime" || key == "useinbandfec")
            .cloned()
            .collect(),
        rtcp_fb: opus
            .rtcp_fb
            .iter()
            .filter(|fb| fb.kind == "transport-cc")
            .cloned()
            .collect(),
        ..opus.clone()
    };
    Some(rtp_description(offered, &[kept], source))
}

/// The answer's video description: VP8 and its RTX when offered and accepted.
fn video_description(offered: &super::Description, local: &LocalMedia) -> Element {
    let vp8 = offered.payload_types.iter().find(|pt| {
        local.codecs.vp8 && pt.name.eq_ignore_ascii_case("vp8") && pt.clockrate == Some(90_000)
    });
    let mut kept = Vec::new();
    if let Some(vp8) = vp8 {
        kept.push(PayloadType {
            parameters: Vec::new(),
            rtcp_fb: vp8
                .rtcp_fb
                .iter()
                .filter(|fb| is_supported_video_feedback(fb))
                .cloned()
                .collect(),
            ..vp8.clone()
        });
        let apt = vp8.id.to_string();
        if let Some(rtx) = offered.payload_types.iter().find(|pt| {
            pt.name.eq_ignore_ascii_case("rtx") && pt.parameter("apt") == Some(apt.as_str())
        }) {
            kept.push(PayloadType {
                parameters: vec![("apt".to_owned(), apt.clone())],
                rtcp_fb: Vec::new(),
                ..rtx.clone()
            });
        }
    }
    let source = if kept.is_empty() {
        None
    } else {
        local.video.as_ref()
    };
    rtp_description(offered, &kept, source)
}

fn is_supported_video_feedback(feedback: &RtcpFb) -> bool {
    matches!(
        (feedback.kind.as_str(), feedback.subtype.as_deref()),
        ("ccm", Some("fir")) | ("nack", None) | ("nack", Some("pli")) | ("transport-cc", None)
    )
}

/// A `<description>` in lib-jitsi-meet's order: payload types, sources, groups, rtcp-mux, header
/// extensions, extmap-allow-mixed.
fn rtp_description(
    offered: &super::Description,
    payload_types: &[PayloadType],
    source: Option<&LocalSource>,
) -> Element {
    let mut description = Element::builder("description", ns::JINGLE_RTP)
        .attr(name("media"), safe(offered.media.as_str()))
        .attr(name("ssrc"), source.map(|source| source.ssrc))
        .append_all(payload_types.iter().map(payload_type_element))
        .build();
    if let Some(source) = source {
        append_source(&mut description, source);
    }
    description.append_child(Element::builder("rtcp-mux", ns::JINGLE_RTP).build());
    for extension in offered
        .header_extensions
        .iter()
        .filter(|extension| SUPPORTED_EXTENSIONS.contains(&extension.uri.as_str()))
    {
        description.append_child(
            Element::builder("rtp-hdrext", ns::JINGLE_HDREXT)
                .attr(name("id"), extension.id)
                .attr(name("uri"), safe(extension.uri.as_str()))
                .build(),
        );
    }
    if offered.extmap_allow_mixed {
        description.append_child(Element::builder("extmap-allow-mixed", ns::JINGLE_HDREXT).build());
    }
    description
}

fn payload_type_element(payload_type: &PayloadType) -> Element {
    Element::builder("payload-type", ns::JINGLE_RTP)
        .attr(name("id"), payload_type.id)
        .attr(name("name"), safe(payload_type.name.as_str()))
        .attr(name("clockrate"), payload_type.clockrate)
        .attr(
            name("channels"),
            (payload_type.channels != 1).then_some(payload_type.channels),
        )
        .append_all(payload_type.parameters.iter().map(|(key, value)| {
            Element::builder("parameter", ns::JINGLE_RTP)
                .attr(name("name"), safe(key.as_str()))
                .attr(name("value"), safe(value.as_str()))
                .build()
        }))
        .append_all(payload_type.rtcp_fb.iter().map(|feedback| {
            Element::builder("rtcp-fb", ns::JINGLE_RTCP_FB)
                .attr(name("type"), safe(feedback.kind.as_str()))
                .attr(name("subtype"), feedback.subtype.as_deref().map(safe))
                .build()
        }))
        .build()
}

/// Appends a local source (and its RTX with a FID group) to a description (XEP-0339).
fn append_source(description: &mut Element, source: &LocalSource) {
    let element = |ssrc: u32| {
        Element::builder("source", ns::JINGLE_SSMA)
            .attr(name("ssrc"), ssrc)
            .attr(name("name"), safe(source.name.as_str()))
            .attr(name("videoType"), source.video_type.as_deref().map(safe))
            .append(
                Element::builder("parameter", ns::JINGLE_SSMA)
                    .attr(name("name"), "msid")
                    .attr(name("value"), safe(source.msid.as_str()))
                    .build(),
            )
            .build()
    };
    description.append_child(element(source.ssrc));
    if let Some(rtx) = source.rtx_ssrc {
        description.append_child(element(rtx));
        description.append_child(
            Element::builder("ssrc-group", ns::JINGLE_SSMA)
                .attr(name("semantics"), "FID")
                .append_all([source.ssrc, rtx].map(|ssrc| {
                    Element::builder("source", ns::JINGLE_SSMA)
                        .attr(name("ssrc"), ssrc)
                        .build()
                }))
                .build(),
        );
    }
}

/// An ICE-UDP `<transport>` (XEP-0176) with its sctpmap (XEP-0343), fingerprints (XEP-0320),
/// web-socket URLs and candidates.
fn transport_element(transport: &Transport) -> Element {
    let mut element = Element::builder("transport", ns::JINGLE_ICE_UDP)
        .attr(name("ufrag"), transport.ufrag.as_deref().map(safe))
        .attr(name("pwd"), transport.pwd.as_deref().map(safe));
    if let Some(sctp) = &transport.sctp {
        element = element.append(
            Element::builder("sctpmap", ns::JINGLE_DTLS_SCTP)
                .attr(name("number"), sctp.number)
                .attr(name("protocol"), safe(sctp.protocol.as_str()))
                .attr(name("streams"), sctp.streams)
                .build(),
        );
    }
    for url in &transport.web_sockets {
        element = element.append(
            Element::builder("web-socket", ns::COLIBRI)
                .attr(name("url"), safe(url.as_str()))
                .build(),
        );
    }
    if transport.rtcp_mux {
        element = element.append(Element::builder("rtcp-mux", ns::JINGLE_ICE_UDP).build());
    }
    for fingerprint in &transport.fingerprints {
        element = element.append(
            Element::builder("fingerprint", ns::JINGLE_DTLS)
                .attr(name("hash"), safe(fingerprint.hash.as_str()))
                .attr(name("setup"), fingerprint.setup.as_deref().map(safe))
                .attr(name("cryptex"), fingerprint.cryptex.then_some("true"))
                .append(safe(&fingerprint.value))
                .build(),
        );
    }
    element
        .append_all(transport.candidates.iter().map(candidate_element))
        .build()
}

fn candidate_element(candidate: &Candidate) -> Element {
    Element::builder("candidate", ns::JINGLE_ICE_UDP)
        .attr(name("component"), candidate.component)
        .attr(name("foundation"), safe(candidate.foundation.as_str()))
        .attr(name("generation"), candidate.generation)
        .attr(name("id"), candidate.id.as_deref().map(safe))
        .attr(name("ip"), candidate.ip.to_string())
        .attr(name("port"), candidate.port)
        .attr(name("priority"), candidate.priority)
        .attr(name("protocol"), safe(candidate.protocol.as_str()))
        .attr(name("type"), safe(candidate.kind.as_str()))
        .attr(
            name("rel-addr"),
            candidate.rel_addr.map(|ip| ip.to_string()),
        )
        .attr(name("rel-port"), candidate.rel_port)
        .attr(name("network"), candidate.network)
        .attr(name("tcptype"), candidate.tcp_type.as_deref().map(safe))
        .build()
}
