//! The bridge channel: the JSON messages exchanged with the videobridge (brief §5.2).
//!
//! Sans-IO: [`decode`] reads one message (a text frame of the colibri WebSocket, or one message
//! of the SCTP data channel `JVB data channel`), [`encode`] writes one. Every message is a JSON
//! object whose `colibriClass` names its type (jitsi-videobridge's `BridgeChannelMessage`).
//!
//! A message of a class this module does not know decodes to [`BridgeMessage::Unknown`] rather
//! than failing: newer bridges add classes, and an unknown message must not end a call. A known
//! class with fields of the wrong type is an error. Messages longer than [`MAX_MESSAGE_LEN`] are
//! refused before parsing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The longest message [`decode`] reads, in bytes.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// Why a bridge-channel message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColibriError {
    /// Longer than [`MAX_MESSAGE_LEN`].
    #[error("The video bridge sent a message of {len} bytes, more than the 64 KiB palabre reads.")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// Not JSON at all.
    #[error("The video bridge sent a message that is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object with a `colibriClass` string.
    #[error("The video bridge sent a message without a \"colibriClass\" saying what it is.")]
    NoClass,
    /// A known class whose fields do not have the expected form.
    #[error("The video bridge sent a {class} message that cannot be read: {detail}")]
    Malformed {
        /// The message class.
        class: String,
        /// What is wrong, from the JSON reader.
        detail: String,
    },
}

/// One bridge-channel message. Field names follow the wire (camelCase); absent optional fields
/// are left out when encoding (for [`BridgeMessage::ReceiverVideoConstraints`], an absent field
/// means "unchanged").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "colibriClass")]
pub enum BridgeMessage {
    /// Client → bridge: the first message on the SCTP data channel; the bridge answers with
    /// [`BridgeMessage::ServerHello`].
    ClientHello {},
    /// Bridge → client: the channel is open.
    ServerHello {
        /// The bridge's version, if it tells.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// Client → bridge: which video to forward, at which height (`doc/allocation.md`).
    #[serde(rename_all = "camelCase")]
    ReceiverVideoConstraints {
        /// How many video streams to receive at most (−1: all, 0: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_n: Option<i32>,
        /// Sources the user selected (kept in last-n first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selected_sources: Option<Vec<String>>,
        /// Sources shown large.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_stage_sources: Option<Vec<String>>,
        /// Constraints for every source without its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_constraints: Option<VideoConstraints>,
        /// Constraints per source name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        constraints: Option<BTreeMap<String, VideoConstraints>>,
        /// The bandwidth the bridge may assume for this receiver, in bits per second.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assumed_bandwidth_bps: Option<i64>,
    },
    /// Client → bridge: which audio sources to receive.
    ReceiverAudioSubscription {
        /// Receive every audio source (except `exclude`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        all: Option<bool>,
        /// Source names to receive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        include: Option<Vec<String>>,
        /// Source names not to receive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exclude: Option<Vec<String>>,
    },
    /// Client → bridge: the video type of one of the client's sources.
    #[serde(rename_all = "camelCase")]
    SourceVideoTypeMessage {
        /// The source name (`<endpoint>-v0`).
        source_name: String,
        /// `camera`, `desktop` or `none`.
        video_type: String,
    },
    /// Both ways: a message for other endpoints, relayed by the bridge, which adds `from`.
    #[serde(rename_all = "camelCase")]
    EndpointMessage {
        /// The endpoint id it is for; empty for everyone.
        to: String,
        /// The sender's endpoint id (set by the bridge).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The content, free-form JSON (lib-jitsi-meet puts its messages here).
        #[serde(default)]
        msg_payload: Value,
    },
    /// Both ways: free-form statistics broadcast to the other endpoints.
    EndpointStats(EndpointStats),
    /// Bridge → client: the dominant speaker changed.
    #[serde(rename_all = "camelCase")]
    DominantSpeakerEndpointChangeEvent {
        /// The endpoint id of the dominant speaker.
        dominant_speaker_endpoint: String,
        /// The previous speakers, most recent first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_speakers: Option<Vec<String>>,
        /// Whether the conference is silent (the "speaker" is nobody speaking).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        silence: Option<bool>,
    },
    /// Bridge → client: the bridge's connection to another endpoint came or went.
    EndpointConnectivityStatusChangeEvent {
        /// The endpoint id.
        endpoint: String,
        /// `"true"` or `"false"`: a string on the wire (see [`BridgeMessage::is_active`]).
        active: String,
    },
    /// Bridge → client: the video sources it currently forwards.
    #[serde(rename_all = "camelCase")]
    ForwardedSources {
        /// Their names.
        forwarded_sources: Vec<String>,
    },
    /// Bridge → client: the highest resolution anyone receives of one of the client's sources.
    #[serde(rename_all = "camelCase")]
    SenderSourceConstraints {
        /// The source name.
        source_name: String,
        /// The height in pixels; 0 when nobody watches.
        max_height: i32,
    },
    /// Bridge → client: an estimate of the client's downlink.
    #[serde(rename_all = "camelCase")]
    ConnectionStats {
        /// The estimated downlink bandwidth, in bits per second.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_downlink_bandwidth: Option<f64>,
    },
    /// Bridge → client (with SSRC rewriting): which video source each bridge SSRC carries.
    #[serde(rename_all = "camelCase")]
    VideoSourcesMap {
        /// The mappings.
        mapped_sources: Vec<VideoSourceMapping>,
    },
    /// Bridge → client (with SSRC rewriting): which audio source each bridge SSRC carries.
    #[serde(rename_all = "camelCase")]
    AudioSourcesMap {
        /// The mappings.
        mapped_sources: Vec<AudioSourceMapping>,
    },
    /// A message of a class not listed above, kept whole.
    #[serde(skip)]
    Unknown {
        /// Its `colibriClass`.
        class: String,
        /// Its other fields.
        fields: Map<String, Value>,
    },
}

/// The classes [`BridgeMessage`] reads into a variant of their own.
const KNOWN_CLASSES: [&str; 15] = [
    "ClientHello",
    "ServerHello",
    "ReceiverVideoConstraints",
    "ReceiverAudioSubscription",
    "SourceVideoTypeMessage",
    "EndpointMessage",
    "EndpointStats",
    "DominantSpeakerEndpointChangeEvent",
    "EndpointConnectivityStatusChangeEvent",
    "ForwardedSources",
    "SenderSourceConstraints",
    "ConnectionStats",
    "VideoSourcesMap",
    "AudioSourcesMap",
    // Listed so a class named like the catch-all is not mistaken for it.
    "Unknown",
];

/// Video constraints for one source or as a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoConstraints {
    /// The height in pixels (0: do not forward, −1: no limit).
    pub max_height: i32,
    /// The frame rate limit, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_frame_rate: Option<f64>,
}

/// Statistics an endpoint shares with the others (free-form besides `from`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    /// The sender's endpoint id (set by the bridge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The statistics (`bitrate`, `packetLoss`, `connectionQuality`, `jvbRTT`, …).
    #[serde(flatten)]
    pub stats: Map<String, Value>,
}

/// A bridge SSRC carrying one video source (SSRC rewriting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoSourceMapping {
    /// The source name.
    pub source: String,
    /// The endpoint id of its sender.
    #[serde(default)]
    pub owner: Option<String>,
    /// The primary SSRC.
    pub ssrc: u32,
    /// The RTX SSRC (the bridge sends −1 when there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtx: Option<i64>,
    /// The video type (`CAMERA`, `DESKTOP`, `NONE`; case varies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_type: Option<String>,
    /// The media id, if the bridge stamps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
}

/// A bridge SSRC carrying one audio source (SSRC rewriting).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioSourceMapping {
    /// The source name.
    pub source: String,
    /// The endpoint id of its sender.
    #[serde(default)]
    pub owner: Option<String>,
    /// The SSRC.
    pub ssrc: u32,
    /// The media id, if the bridge stamps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
}

impl BridgeMessage {
    /// The message's `colibriClass`.
    pub fn class(&self) -> &str {
        match self {
            BridgeMessage::ClientHello {} => "ClientHello",
            BridgeMessage::ServerHello { .. } => "ServerHello",
            BridgeMessage::ReceiverVideoConstraints { .. } => "ReceiverVideoConstraints",
            BridgeMessage::ReceiverAudioSubscription { .. } => "ReceiverAudioSubscription",
            BridgeMessage::SourceVideoTypeMessage { .. } => "SourceVideoTypeMessage",
            BridgeMessage::EndpointMessage { .. } => "EndpointMessage",
            BridgeMessage::EndpointStats(_) => "EndpointStats",
            BridgeMessage::DominantSpeakerEndpointChangeEvent { .. } => {
                "DominantSpeakerEndpointChangeEvent"
            }
            BridgeMessage::EndpointConnectivityStatusChangeEvent { .. } => {
                "EndpointConnectivityStatusChangeEvent"
            }
            BridgeMessage::ForwardedSources { .. } => "ForwardedSources",
            BridgeMessage::SenderSourceConstraints { .. } => "SenderSourceConstraints",
            BridgeMessage::ConnectionStats { .. } => "ConnectionStats",
            BridgeMessage::VideoSourcesMap { .. } => "VideoSourcesMap",
            BridgeMessage::AudioSourcesMap { .. } => "AudioSourcesMap",
            BridgeMessage::Unknown { class, .. } => class,
        }
    }

    /// For [`BridgeMessage::EndpointConnectivityStatusChangeEvent`]: whether the endpoint is
    /// connected (`active` is `"true"`). `None` for other messages.
    pub fn is_active(&self) -> Option<bool> {
        match self {
            BridgeMessage::EndpointConnectivityStatusChangeEvent { active, .. } => {
                Some(active.eq_ignore_ascii_case("true"))
            }
            _ => None,
        }
    }
}

/// Reads one bridge-channel message.
pub fn decode(text: &str) -> Result<BridgeMessage, ColibriError> {
    if text.len() > MAX_MESSAGE_LEN {
        return Err(ColibriError::TooLarge { len: text.len() });
    }
    let value: Value =
        serde_json::from_str(text).map_err(|error| ColibriError::NotJson(error.to_string()))?;
    let Value::Object(mut fields) = value else {
        return Err(ColibriError::NoClass);
    };
    let class = match fields.get("colibriClass") {
        Some(Value::String(class)) => class.clone(),
        _ => return Err(ColibriError::NoClass),
    };
    if class == "Unknown" || !KNOWN_CLASSES.contains(&class.as_str()) {
        fields.remove("colibriClass");
        return Ok(BridgeMessage::Unknown { class, fields });
    }
    serde_json::from_value(Value::Object(fields)).map_err(|error| ColibriError::Malformed {
        class,
        detail: error.to_string(),
    })
}

/// Writes one bridge-channel message as JSON.
pub fn encode(message: &BridgeMessage) -> String {
    let value = match message {
        BridgeMessage::Unknown { class, fields } => {
            let mut object = Map::new();
            object.insert("colibriClass".to_owned(), Value::String(class.clone()));
            object.extend(
                fields
                    .iter()
                    .filter(|(key, _)| *key != "colibriClass")
                    .map(|(key, value)| (key.clone(), value.clone())),
            );
            Value::Object(object)
        }
        // Serialising these types cannot fail: every map has string keys and no field has a
        // fallible Serialize. Should it ever, an empty object is sent, which the bridge ignores.
        known => serde_json::to_value(known).unwrap_or_else(|_| Value::Object(Map::new())),
    };
    value.to_string()
}

/// The constraints palabre sends in audio-only mode: no video at all
/// (`{"colibriClass":"ReceiverVideoConstraints","lastN":0,"defaultConstraints":{"maxHeight":0}}`,
/// brief §5.3).
pub fn audio_only_constraints() -> BridgeMessage {
    BridgeMessage::ReceiverVideoConstraints {
        last_n: Some(0),
        selected_sources: None,
        on_stage_sources: None,
        default_constraints: Some(VideoConstraints {
            max_height: 0,
            max_frame_rate: None,
        }),
        constraints: None,
        assumed_bandwidth_bps: None,
    }
}

/// The constraints palabre sends out of audio-only mode: at most `last_n` cameras, none taller
/// than `max_height`
/// (`{"colibriClass":"ReceiverVideoConstraints","lastN":4,"defaultConstraints":{"maxHeight":360}}`).
pub fn video_constraints(last_n: i32, max_height: i32) -> BridgeMessage {
    BridgeMessage::ReceiverVideoConstraints {
        last_n: Some(last_n),
        selected_sources: None,
        on_stage_sources: None,
        default_constraints: Some(VideoConstraints {
            max_height,
            max_frame_rate: None,
        }),
        constraints: None,
        assumed_bandwidth_bps: None,
    }
}

/// The answer to an end-to-end ping: for an [`BridgeMessage::EndpointMessage`] from another
/// endpoint whose payload is `{"type":"e2e-ping-request","id":…}`, the message
/// `{"type":"e2e-ping-response","id":…}` back to its sender. `None` for anything else.
pub fn e2e_ping_reply(message: &BridgeMessage) -> Option<BridgeMessage> {
    let BridgeMessage::EndpointMessage {
        from: Some(from),
        msg_payload,
        ..
    } = message
    else {
        return None;
    };
    if from.is_empty() || msg_payload.get("type")?.as_str()? != "e2e-ping-request" {
        return None;
    }
    let id = msg_payload.get("id")?.clone();
    Some(BridgeMessage::EndpointMessage {
        to: from.clone(),
        from: None,
        msg_payload: serde_json::json!({ "type": "e2e-ping-response", "id": id }),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(message: BridgeMessage) {
        let text = encode(&message);
        assert_eq!(decode(&text).as_ref(), Ok(&message), "round trip of {text}");
        assert_eq!(
            serde_json::from_str::<Value>(&text).expect("encode writes JSON")["colibriClass"],
            json!(message.class()),
        );
    }

    #[test]
    fn every_message_type_round_trips() {
        let object = |value: Value| match value {
            Value::Object(map) => map,
            _ => unreachable!("the test passes objects"),
        };
        let messages = vec![
            BridgeMessage::ClientHello {},
            BridgeMessage::ServerHello { version: None },
            BridgeMessage::ServerHello {
                version: Some("2.3.170".to_owned()),
            },
            audio_only_constraints(),
            BridgeMessage::ReceiverVideoConstraints {
                last_n: Some(3),
                selected_sources: Some(vec!["7f3a9c21-v0".to_owned()]),
                on_stage_sources: Some(vec![]),
                default_constraints: Some(VideoConstraints {
                    max_height: 180,
                    max_frame_rate: Some(15.0),
                }),
                constraints: Some(BTreeMap::from([(
                    "7f3a9c21-v0".to_owned(),
                    VideoConstraints {
                        max_height: 720,
                        max_frame_rate: None,
                    },
                )])),
                assumed_bandwidth_bps: Some(2_000_000),
            },
            BridgeMessage::ReceiverAudioSubscription {
                all: Some(true),
                include: None,
                exclude: Some(vec!["e4a15029-a0".to_owned()]),
            },
            BridgeMessage::SourceVideoTypeMessage {
                source_name: "abcd1234-v0".to_owned(),
                video_type: "camera".to_owned(),
            },
            BridgeMessage::EndpointMessage {
                to: String::new(),
                from: Some("e4a15029".to_owned()),
                msg_payload: json!({"type": "e2e-ping-request", "id": 7}),
            },
            BridgeMessage::EndpointStats(EndpointStats {
                from: Some("e4a15029".to_owned()),
                stats: object(json!({"bitrate": {"upload": 40}, "jvbRTT": 31})),
            }),
            BridgeMessage::DominantSpeakerEndpointChangeEvent {
                dominant_speaker_endpoint: "a31b53fe".to_owned(),
                previous_speakers: Some(vec!["e4a15029".to_owned()]),
                silence: Some(false),
            },
            BridgeMessage::EndpointConnectivityStatusChangeEvent {
                endpoint: "a31b53fe".to_owned(),
                active: "false".to_owned(),
            },
            BridgeMessage::ForwardedSources {
                forwarded_sources: vec!["a31b53fe-v0".to_owned()],
            },
            BridgeMessage::SenderSourceConstraints {
                source_name: "abcd1234-v0".to_owned(),
                max_height: 0,
            },
            BridgeMessage::ConnectionStats {
                estimated_downlink_bandwidth: Some(1_234_567.5),
            },
            BridgeMessage::VideoSourcesMap {
                mapped_sources: vec![VideoSourceMapping {
                    source: "a31b53fe-v0".to_owned(),
                    owner: Some("a31b53fe".to_owned()),
                    ssrc: 4_000_000_001,
                    rtx: Some(-1),
                    video_type: Some("CAMERA".to_owned()),
                    mid: None,
                }],
            },
            BridgeMessage::AudioSourcesMap {
                mapped_sources: vec![AudioSourceMapping {
                    source: "a31b53fe-a0".to_owned(),
                    owner: None,
                    ssrc: 12,
                    mid: Some("0".to_owned()),
                }],
            },
            BridgeMessage::Unknown {
                class: "SyntheticSourceSendingChangeEvent".to_owned(),
                fields: object(json!({"sending": true, "source": "x-v0"})),
            },
        ];
        let classes: Vec<&str> = messages.iter().map(BridgeMessage::class).collect();
        for class in KNOWN_CLASSES.iter().filter(|class| **class != "Unknown") {
            assert!(classes.contains(class), "{class} is not covered");
        }
        for message in messages {
            round_trip(message);
        }
    }

    #[test]
    fn video_constraints_ask_for_low_resolution() {
        let json: serde_json::Value =
            serde_json::from_str(&encode(&video_constraints(4, 360))).expect("JSON");
        assert_eq!(
            json,
            json!({"colibriClass": "ReceiverVideoConstraints", "lastN": 4,
                   "defaultConstraints": {"maxHeight": 360}})
        );
    }

    #[test]
    fn audio_only_constraints_are_exactly_the_brief_s() {
        let encoded: Value =
            serde_json::from_str(&encode(&audio_only_constraints())).expect("JSON");
        assert_eq!(
            encoded,
            json!({"colibriClass": "ReceiverVideoConstraints", "lastN": 0,
                   "defaultConstraints": {"maxHeight": 0}})
        );
    }

    #[test]
    fn reads_what_the_bridge_sends() {
        assert_eq!(
            decode(r#"{"colibriClass":"ServerHello"}"#),
            Ok(BridgeMessage::ServerHello { version: None })
        );
        let speaker = decode(
            r#"{"colibriClass":"DominantSpeakerEndpointChangeEvent","dominantSpeakerEndpoint":"a31b53fe","previousSpeakers":["e4a15029","07af8d49"],"silence":false}"#,
        )
        .expect("decodes");
        let BridgeMessage::DominantSpeakerEndpointChangeEvent {
            dominant_speaker_endpoint,
            previous_speakers,
            silence,
        } = speaker
        else {
            panic!("wrong variant: {speaker:?}");
        };
        assert_eq!(dominant_speaker_endpoint, "a31b53fe");
        assert_eq!(previous_speakers.expect("listed"), ["e4a15029", "07af8d49"]);
        assert_eq!(silence, Some(false));

        let status = decode(
            r#"{"colibriClass":"EndpointConnectivityStatusChangeEvent","endpoint":"a31b53fe","active":"true"}"#,
        )
        .expect("decodes");
        assert_eq!(status.is_active(), Some(true));
        // JVB writes this one by hand with spaces after the commas.
        assert_eq!(
            decode(
                r#"{"colibriClass":"SenderSourceConstraints", "sourceName":"abcd1234-v0", "maxHeight":180}"#
            ),
            Ok(BridgeMessage::SenderSourceConstraints {
                source_name: "abcd1234-v0".to_owned(),
                max_height: 180
            })
        );
        let map = decode(
            r#"{"colibriClass":"VideoSourcesMap","mappedSources":[{"source":"a31b53fe-v0","owner":"a31b53fe","ssrc":2339496998,"rtx":1726149289,"videoType":"CAMERA"}]}"#,
        )
        .expect("decodes");
        let BridgeMessage::VideoSourcesMap { mapped_sources } = map else {
            panic!("wrong variant: {map:?}");
        };
        assert_eq!(mapped_sources[0].ssrc, 2_339_496_998);
        assert_eq!(mapped_sources[0].rtx, Some(1_726_149_289));
        // Unknown fields of a known class are ignored.
        assert_eq!(
            decode(r#"{"colibriClass":"ForwardedSources","forwardedSources":[],"future":1}"#),
            Ok(BridgeMessage::ForwardedSources {
                forwarded_sources: vec![]
            })
        );
    }

    #[test]
    fn an_unknown_class_decodes_and_re_encodes_whole() {
        let text = r#"{"colibriClass":"SomethingNew2030","a":[1,2],"b":{"c":null}}"#;
        let message = decode(text).expect("decodes");
        assert_eq!(message.class(), "SomethingNew2030");
        let again: Value = serde_json::from_str(&encode(&message)).expect("JSON");
        assert_eq!(again, serde_json::from_str::<Value>(text).expect("JSON"));
        // A class literally named like the catch-all variant is still just unknown.
        assert!(matches!(
            decode(r#"{"colibriClass":"Unknown"}"#),
            Ok(BridgeMessage::Unknown { .. })
        ));
    }

    #[test]
    fn bad_messages_are_errors() {
        let huge = format!(
            r#"{{"colibriClass":"EndpointStats","x":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_LEN)
        );
        assert!(matches!(decode(&huge), Err(ColibriError::TooLarge { .. })));
        assert!(matches!(decode("not json"), Err(ColibriError::NotJson(_))));
        assert!(matches!(decode(""), Err(ColibriError::NotJson(_))));
        assert_eq!(decode("[1,2]"), Err(ColibriError::NoClass));
        assert_eq!(decode(r#"{"a":1}"#), Err(ColibriError::NoClass));
        assert_eq!(decode(r#"{"colibriClass":5}"#), Err(ColibriError::NoClass));
        let malformed = decode(r#"{"colibriClass":"SenderSourceConstraints","maxHeight":"big"}"#);
        let Err(ColibriError::Malformed { class, .. }) = &malformed else {
            panic!("expected Malformed, got {malformed:?}");
        };
        assert_eq!(class, "SenderSourceConstraints");
        assert!(
            malformed
                .expect_err("checked above")
                .to_string()
                .starts_with("The video bridge sent a SenderSourceConstraints message")
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(decode(&deep), Err(ColibriError::NotJson(_))));
        let ssrc_too_big = r#"{"colibriClass":"AudioSourcesMap","mappedSources":[{"source":"a","ssrc":4294967296}]}"#;
        assert!(matches!(
            decode(ssrc_too_big),
            Err(ColibriError::Malformed { .. })
        ));
    }

    #[test]
    fn answers_e2e_pings_only() {
        let ping = decode(
            r#"{"colibriClass":"EndpointMessage","to":"abcd1234","from":"e4a15029","msgPayload":{"type":"e2e-ping-request","id":42}}"#,
        )
        .expect("decodes");
        let reply = e2e_ping_reply(&ping).expect("a ping gets a reply");
        let encoded: Value = serde_json::from_str(&encode(&reply)).expect("JSON");
        assert_eq!(
            encoded,
            json!({"colibriClass": "EndpointMessage", "to": "e4a15029",
                   "msgPayload": {"type": "e2e-ping-response", "id": 42}})
        );
        assert_eq!(e2e_ping_reply(&reply), None, "a response is not answered");
        let chat = BridgeMessage::EndpointMessage {
            to: String::new(),
            from: Some("e4a15029".to_owned()),
            msg_payload: json!({"type": "hello"}),
        };
        assert_eq!(e2e_ping_reply(&chat), None);
        assert_eq!(e2e_ping_reply(&BridgeMessage::ClientHello {}), None);
    }
}
