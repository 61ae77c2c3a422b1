//! Tests of the Jingle model: golden fixtures (tests/data/jitsi), palabre's answers built from
//! them and read back, the other actions, and hostile input.

use std::net::IpAddr;

use minidom::Element;

use super::*;

const FIXTURE_2022: &str = include_str!("../../../../tests/data/jitsi/session-initiate-2022.xml");
const FIXTURE_JSON: &str =
    include_str!("../../../../tests/data/jitsi/session-initiate-json-sources.xml");
const FIXTURE_2026: &str = include_str!("../../../../tests/data/jitsi/session-initiate-2026.xml");

const RESPONDER: &str = "myroom@conference.meet.example.org/abcd1234";
const LOCAL_FINGERPRINT: &str = "27:23:5B:08:5C:3E:A1:0C:F6:8D:90:42:17:3B:4E:AA:\
                                 61:02:C9:7D:58:E1:33:B4:0A:9F:26:DD:71:84:C5:E0";

/// Parses XML text and returns its `<jingle>` element (the root, or the root's child).
fn jingle_element(xml: &str) -> Element {
    let root: Element = xml.parse().expect("fixture is well-formed XML");
    if root.name() == "jingle" {
        return root;
    }
    root.get_child("jingle", ns::JINGLE)
        .expect("the IQ has a <jingle> child")
        .clone()
}

fn parse_xml(xml: &str) -> Result<Jingle, JingleError> {
    parse(&jingle_element(xml))
}

fn local_media(audio_only: bool, with_video: bool) -> LocalMedia {
    LocalMedia {
        ice_ufrag: "pn49".to_owned(),
        ice_pwd: "q8h5ojg5c7u8vu2k3f09idpd4a".to_owned(),
        fingerprint: Fingerprint {
            hash: "sha-256".to_owned(),
            setup: None,
            value: LOCAL_FINGERPRINT.to_owned(),
            cryptex: false,
        },
        candidates: vec![Candidate {
            component: 1,
            foundation: "1".to_owned(),
            generation: 0,
            id: Some("c1".to_owned()),
            ip: "192.0.2.55".parse().expect("address"),
            port: 50_000,
            priority: 2_130_706_431,
            protocol: "udp".to_owned(),
            kind: CandidateType::Host,
            rel_addr: None,
            rel_port: None,
            network: Some(0),
            tcp_type: None,
        }],
        audio: Some(LocalSource {
            ssrc: 721_497_566,
            rtx_ssrc: None,
            name: "abcd1234-a0".to_owned(),
            msid: "abcd1234-audio-1 9f1e0c6a-2b55-4d8e-a1c3-55e0d2b7f014-1".to_owned(),
            video_type: None,
        }),
        video: with_video.then(|| LocalSource {
            ssrc: 1_111_111_111,
            rtx_ssrc: Some(2_222_222_222),
            name: "abcd1234-v0".to_owned(),
            msid: "abcd1234-video-1 3c4d5e6f-1a2b-4c3d-9e8f-0a1b2c3d4e5f-1".to_owned(),
            video_type: Some("camera".to_owned()),
        }),
        audio_only,
        codecs: AcceptedCodecs::default(),
    }
}

fn children<'a>(element: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> {
    element.children().filter(move |child| child.name() == name)
}

fn child<'a>(element: &'a Element, name: &str) -> &'a Element {
    element
        .children()
        .find(|child| child.name() == name)
        .unwrap_or_else(|| panic!("<{}> has no <{name}>", element.name()))
}

fn content<'a>(jingle: &'a Element, name: &str) -> &'a Element {
    children(jingle, "content")
        .find(|content| content.attr("name") == Some(name))
        .unwrap_or_else(|| panic!("no content named {name}"))
}

fn ids(description: &Element, element: &str) -> Vec<u16> {
    children(description, element)
        .map(|child| child.attr("id").expect("id").parse().expect("number"))
        .collect()
}

fn payload_ids(description: &Description) -> Vec<u8> {
    description.payload_types.iter().map(|pt| pt.id).collect()
}

fn extension_ids(description: &Description) -> Vec<u8> {
    description
        .header_extensions
        .iter()
        .map(|ext| ext.id)
        .collect()
}

fn description<'a>(jingle: &'a Jingle, media: &MediaKind) -> &'a Description {
    jingle
        .content(media)
        .and_then(|content| content.description.as_ref())
        .unwrap_or_else(|| panic!("no {media:?} description"))
}

fn source(description: &Description, ssrc: u32) -> &Source {
    description
        .sources
        .iter()
        .find(|source| source.ssrc == ssrc)
        .unwrap_or_else(|| panic!("no source {ssrc}"))
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address")
}

#[test]
fn reads_the_2022_production_offer() {
    let offer = parse_xml(FIXTURE_2022).expect("parses");
    assert_eq!(offer.action, Action::SessionInitiate);
    assert_eq!(offer.sid, "5rpgqh5rbclco");
    assert_eq!(
        offer.initiator.as_deref(),
        Some("focus@auth.avstack.onavstack.net/focus")
    );
    assert_eq!(offer.bundle, ["audio", "video"]);
    assert_eq!(
        offer.bridge_session,
        Some(BridgeSession {
            id: "0a4d44cc-3c29-4290-889f-b14b7a191464".to_owned(),
            region: Some("sin".to_owned()),
            restart: false,
            ice_restart: false,
        })
    );
    assert_eq!(offer.start_muted, None);
    assert!(offer.warnings.is_empty(), "{:?}", offer.warnings);
    let names: Vec<&str> = offer.contents.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["audio", "video"]);
    assert!(
        offer
            .contents
            .iter()
            .all(|c| c.creator == Creator::Initiator)
    );
    assert!(offer.contents.iter().all(|c| c.senders == Senders::Both));

    let audio = description(&offer, &MediaKind::Audio);
    assert_eq!(audio.maxptime, Some(60));
    assert_eq!(payload_ids(audio), [111, 103, 104, 126]);
    let opus = &audio.payload_types[0];
    assert_eq!(
        (opus.name.as_str(), opus.clockrate, opus.channels),
        ("opus", Some(48_000), 2)
    );
    assert_eq!(opus.parameter("minptime"), Some("10"));
    assert_eq!(opus.parameter("useinbandfec"), Some("1"));
    assert_eq!(
        opus.rtcp_fb,
        [RtcpFb {
            kind: "transport-cc".to_owned(),
            subtype: None
        }]
    );
    assert_eq!(audio.payload_types[1].channels, 1, "channels default to 1");
    assert_eq!(audio.payload_types[3].clockrate, Some(8000));
    assert_eq!(extension_ids(audio), [1, 5]);
    assert_eq!(audio.header_extensions[0].uri, EXT_AUDIO_LEVEL);
    assert_eq!(audio.header_extensions[1].uri, EXT_TRANSPORT_CC);
    assert!(audio.rtcp_mux);
    assert!(!audio.extmap_allow_mixed);
    assert_eq!(audio.sources.len(), 3);
    let jvb = source(audio, 959_822_806);
    assert!(jvb.is_bridge());
    assert_eq!(jvb.endpoint_id(), None);
    assert_eq!(jvb.name.as_deref(), Some("jvb-a0"));
    assert_eq!(jvb.msid.as_deref(), Some("mixedmslabel mixedlabelaudio0"));
    let a31 = source(audio, 4_173_594_801);
    assert!(!a31.is_bridge());
    assert_eq!(
        a31.owner.as_deref(),
        Some("respectivearticlesholdoverly@conference.avstack.onavstack.net/a31b53fe")
    );
    assert_eq!(a31.endpoint_id(), Some("a31b53fe"));
    assert_eq!(a31.name, None, "2022 servers did not name sources");
    assert_eq!(source(audio, 2_769_410_349).endpoint_id(), Some("e4a15029"));

    let video = description(&offer, &MediaKind::Video);
    assert_eq!(payload_ids(video), [100, 107, 101, 96, 97, 99]);
    let h264 = &video.payload_types[1];
    assert_eq!(h264.name, "H264");
    assert_eq!(
        h264.parameter("profile-level-id"),
        Some("42e01f;level-asymmetry-allowed=1;packetization-mode=1;")
    );
    assert_eq!(
        video.payload_types[0].parameter("x-google-start-bitrate"),
        Some("800")
    );
    assert_eq!(video.payload_types[0].rtcp_fb.len(), 4);
    assert_eq!(
        video.payload_types[0].rtcp_fb[0],
        RtcpFb {
            kind: "ccm".to_owned(),
            subtype: Some("fir".to_owned())
        }
    );
    assert_eq!(video.payload_types[3].parameter("apt"), Some("100"));
    assert_eq!(video.payload_types[5].parameter("apt"), Some("107"));
    assert_eq!(extension_ids(video), [3, 5]);
    assert_eq!(video.header_extensions[0].uri, EXT_ABS_SEND_TIME);
    assert_eq!(video.sources.len(), 5);
    assert!(source(video, 1_351_679_567).is_bridge());
    assert_eq!(source(video, 1_726_149_289).endpoint_id(), Some("a31b53fe"));
    assert_eq!(source(video, 2_639_030_607).endpoint_id(), Some("e4a15029"));
    assert_eq!(
        video.ssrc_groups,
        [
            SsrcGroup {
                semantics: "FID".to_owned(),
                ssrcs: vec![2_339_496_998, 1_726_149_289]
            },
            SsrcGroup {
                semantics: "FID".to_owned(),
                ssrcs: vec![2_735_266_332, 2_639_030_607]
            },
        ]
    );

    let transport = offer.transport().expect("a transport");
    assert_eq!(transport.ufrag.as_deref(), Some("8un1l1gc8oissf"));
    assert_eq!(transport.pwd.as_deref(), Some("2skqeu0fthmib2q5kc7ml66phk"));
    assert_eq!(
        transport.web_sockets,
        [
            "wss://meet.avstack.io/colibri-ws/sin-2482603c.media.avstack.net/4079b55e1160f1d4/\
          f7e91a40?pwd=2skqeu0fthmib2q5kc7ml66phk"
        ]
    );
    assert!(transport.rtcp_mux);
    assert_eq!(transport.sctp, None);
    assert_eq!(
        transport.fingerprints,
        [Fingerprint {
            hash: "sha-256".to_owned(),
            setup: Some("actpass".to_owned()),
            value: "9F:21:D6:E6:40:52:7E:10:25:24:B9:A1:E4:AD:E0:03:B4:9A:1A:91:5F:D0:EA:89:D7:\
                    7B:E3:8B:92:16:3D:20"
                .to_owned(),
            cryptex: false,
        }]
    );
    assert_eq!(transport.candidates.len(), 3);
    let host6 = &transport.candidates[0];
    assert_eq!(host6.ip, ip("2406:da18:f72:6d01:703c:126:854c:2111"));
    assert_eq!(
        (host6.kind, host6.port, host6.priority, host6.component),
        (CandidateType::Host, 10_000, 2_130_706_431, 1)
    );
    assert_eq!(host6.id.as_deref(), Some("61e9feff7f7228a004fb9dbba"));
    assert_eq!(host6.network, Some(0));
    let srflx = &transport.candidates[2];
    assert_eq!(srflx.kind, CandidateType::Srflx);
    assert_eq!(srflx.ip, ip("13.229.216.23"));
    assert_eq!(srflx.rel_addr, Some(ip("10.228.1.45")));
    assert_eq!(srflx.rel_port, Some(10_000));
    assert_eq!(srflx.priority, 1_677_724_415);
    assert_eq!(srflx.foundation, "3");
    assert_eq!(srflx.protocol, "udp");
    // BUNDLE: the video content carries the same transport.
    let video_transport = offer.contents[1].transport.as_ref().expect("transport");
    assert_eq!(video_transport, transport);
}

#[test]
fn reads_sources_sent_as_json() {
    let offer = parse_xml(FIXTURE_JSON).expect("parses");
    assert_eq!(offer.sid, "123");
    assert_eq!(offer.initiator.as_deref(), Some("focus"));
    assert_eq!(offer.bundle, ["audio", "video"]);
    assert_eq!(
        offer.contents.len(),
        2,
        "JSON sources go into the existing contents"
    );
    assert!(offer.warnings.is_empty(), "{:?}", offer.warnings);

    let audio = description(&offer, &MediaKind::Audio);
    assert_eq!(audio.sources.len(), 1);
    let jvb_audio = source(audio, 3_659_539_811);
    assert!(jvb_audio.is_bridge());
    assert_eq!(
        jvb_audio.msid.as_deref(),
        Some("mixedmslabel mixedlabelaudio0")
    );

    let video = description(&offer, &MediaKind::Video);
    assert_eq!(video.sources.len(), 7);
    assert!(source(video, 1_427_774_514).is_bridge());
    for (ssrc, endpoint) in [
        (257_838_819, "831de82b"),
        (865_670_341, "831de82b"),
        (110_279_275, "07af8d49"),
        (3_873_826_414, "07af8d49"),
        (620_660_772, "95edea8d"),
        (2_306_112_481, "95edea8d"),
    ] {
        let source = source(video, ssrc);
        assert_eq!(source.endpoint_id(), Some(endpoint), "owner of {ssrc}");
        assert_eq!(source.owner.as_deref(), Some(endpoint));
        assert!(
            source
                .msid
                .as_deref()
                .is_some_and(|m| m.starts_with(endpoint))
        );
        assert_eq!(source.video_type, None);
    }
    assert_eq!(
        source(video, 110_279_275).msid.as_deref(),
        Some("07af8d49-video-2 f685aa25-0318-442e-bd00-cd2a911236da-2")
    );
    let mut groups = video.ssrc_groups.clone();
    groups.sort_by_key(|group| group.ssrcs[0]);
    let fid = |ssrcs: [u32; 2]| SsrcGroup {
        semantics: "FID".to_owned(),
        ssrcs: ssrcs.to_vec(),
    };
    assert_eq!(
        groups,
        [
            fid([257_838_819, 865_670_341]),
            fid([2_306_112_481, 620_660_772]),
            fid([3_873_826_414, 110_279_275]),
        ]
    );
    let transport = offer.transport().expect("transport");
    assert_eq!(transport.ufrag.as_deref(), Some("someufrag"));
    assert_eq!(transport.candidates.len(), 2);
    assert_eq!(
        transport.candidates[1].id.as_deref(),
        Some("dfcfd075bde0c140ffffffff927646ba")
    );
    assert_eq!(transport.candidates[1].rel_addr, Some(ip("10.0.0.1")));
    assert_eq!(transport.candidates[1].priority, 1_694_498_815);
}

#[test]
fn reads_the_2026_offer() {
    let offer = parse_xml(FIXTURE_2026).expect("parses");
    assert_eq!(offer.bundle, ["audio", "video", "data"]);
    assert_eq!(
        offer.start_muted,
        Some(StartMuted {
            audio: true,
            video: true
        })
    );
    assert_eq!(
        offer.bridge_session.as_ref().map(|b| b.id.as_str()),
        Some("c4e1a7d2-6b3f-4e85-9a0c-1d2f3b4a5e6f")
    );
    let audio = description(&offer, &MediaKind::Audio);
    assert_eq!(payload_ids(audio), [111, 126]);
    assert_eq!(extension_ids(audio), [1, 10, 5]);
    assert_eq!(audio.header_extensions[1].uri, EXT_MID);
    assert!(audio.extmap_allow_mixed);
    let remote = source(audio, 1_146_870_217);
    assert_eq!(remote.name.as_deref(), Some("7f3a9c21-a0"));
    assert_eq!(remote.owner.as_deref(), Some("7f3a9c21"));
    assert_eq!(remote.endpoint_id(), Some("7f3a9c21"));

    let video = description(&offer, &MediaKind::Video);
    assert_eq!(payload_ids(video), [41, 42, 100, 96, 107, 99, 101, 97]);
    assert_eq!(video.payload_types[0].name, "AV1");
    assert_eq!(video.payload_types[1].parameter("apt"), Some("41"));
    assert_eq!(extension_ids(video), [11, 10, 3, 5]);
    assert!(video.extmap_allow_mixed);
    let camera = source(video, 842_117_353);
    assert_eq!(camera.video_type.as_deref(), Some("camera"));
    assert_eq!(camera.endpoint_id(), Some("7f3a9c21"));
    assert_eq!(video.ssrc_groups[0].ssrcs, [3_919_526_010, 842_117_353]);

    let data = &offer.contents[2];
    assert_eq!(data.name, "data");
    assert_eq!(
        data.description.as_ref().map(|d| &d.media),
        Some(&MediaKind::Application)
    );
    let sctp = data.transport.as_ref().and_then(|t| t.sctp.as_ref());
    assert_eq!(
        sctp,
        Some(&SctpMap {
            number: 5000,
            protocol: "webrtc-datachannel".to_owned(),
            streams: 1024
        })
    );
    assert_eq!(offer.transport().map(|t| t.candidates.len()), Some(3));
    assert_eq!(
        offer.transport().map(|t| t.candidates[0].ip),
        Some(ip("2001:db8::10"))
    );
}

/// Checks the parts of palabre's answer common to every fixture, then reads it back.
fn check_accept(offer_xml: &str, local: &LocalMedia) -> (Element, Jingle) {
    let offer = parse_xml(offer_xml).expect("offer parses");
    let accept = session_accept(&offer, local, RESPONDER).expect("answer builds");
    assert!(accept.is("jingle", ns::JINGLE));
    assert_eq!(accept.attr("action"), Some("session-accept"));
    assert_eq!(accept.attr("sid"), Some(offer.sid.as_str()));
    assert_eq!(accept.attr("initiator"), offer.initiator.as_deref());
    assert_eq!(accept.attr("responder"), Some(RESPONDER));

    // The BUNDLE group lists the answered contents under the offer's names.
    let group = child(&accept, "group");
    assert!(group.has_ns(ns::JINGLE_GROUPING));
    assert_eq!(group.attr("semantics"), Some("BUNDLE"));
    let grouped: Vec<&str> = children(group, "content")
        .map(|c| c.attr("name").expect("name"))
        .collect();
    let answered: Vec<&str> = children(&accept, "content")
        .map(|c| c.attr("name").expect("name"))
        .collect();
    assert_eq!(grouped, answered);
    assert_eq!(answered, offer.bundle);

    for content in children(&accept, "content") {
        assert_eq!(content.attr("creator"), Some("responder"));
        assert_eq!(content.attr("senders"), Some("both"));
        let transport = child(content, "transport");
        assert!(transport.has_ns(ns::JINGLE_ICE_UDP));
        assert_eq!(transport.attr("ufrag"), Some("pn49"));
        assert_eq!(transport.attr("pwd"), Some("q8h5ojg5c7u8vu2k3f09idpd4a"));
        let fingerprint = child(transport, "fingerprint");
        assert!(fingerprint.has_ns(ns::JINGLE_DTLS));
        assert_eq!(fingerprint.attr("hash"), Some("sha-256"));
        assert_eq!(fingerprint.attr("setup"), Some("active"));
        assert_eq!(fingerprint.text(), LOCAL_FINGERPRINT);
        let candidate = child(transport, "candidate");
        assert_eq!(candidate.attr("ip"), Some("192.0.2.55"));
        assert_eq!(candidate.attr("port"), Some("50000"));
        assert_eq!(candidate.attr("type"), Some("host"));
        assert_eq!(candidate.attr("rel-addr"), None);
    }

    let audio = child(content(&accept, "audio"), "description");
    assert!(audio.has_ns(ns::JINGLE_RTP));
    assert_eq!(audio.attr("media"), Some("audio"));
    assert_eq!(audio.attr("ssrc"), Some("721497566"));
    assert_eq!(ids(audio, "payload-type"), [111], "only Opus is kept");
    let opus = child(audio, "payload-type");
    assert_eq!(opus.attr("name"), Some("opus"));
    assert_eq!(opus.attr("clockrate"), Some("48000"));
    assert_eq!(opus.attr("channels"), Some("2"));
    let parameters: Vec<(&str, &str)> = children(opus, "parameter")
        .map(|p| {
            (
                p.attr("name").expect("name"),
                p.attr("value").expect("value"),
            )
        })
        .collect();
    assert_eq!(parameters, [("minptime", "10"), ("useinbandfec", "1")]);
    let feedback: Vec<&str> = children(opus, "rtcp-fb")
        .map(|fb| fb.attr("type").expect("type"))
        .collect();
    assert_eq!(feedback, ["transport-cc"]);
    let source = child(audio, "source");
    assert!(source.has_ns(ns::JINGLE_SSMA));
    assert_eq!(source.attr("ssrc"), Some("721497566"));
    assert_eq!(source.attr("name"), Some("abcd1234-a0"));
    let msid = child(source, "parameter");
    assert_eq!(msid.attr("name"), Some("msid"));
    assert_eq!(
        msid.attr("value"),
        local.audio.as_ref().map(|a| a.msid.as_str())
    );
    assert!(audio.children().any(|c| c.name() == "rtcp-mux"));

    // Read it back with the same parser.
    let text = String::from(&accept);
    let again = parse(&text.parse().expect("the answer is well-formed XML")).expect("re-parses");
    assert_eq!(again.action, Action::SessionAccept);
    assert_eq!(again.sid, offer.sid);
    assert_eq!(again.responder.as_deref(), Some(RESPONDER));
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert!(
        again
            .contents
            .iter()
            .all(|c| c.creator == Creator::Responder)
    );
    let audio = description(&again, &MediaKind::Audio);
    assert_eq!(audio.ssrc, Some(721_497_566));
    assert_eq!(payload_ids(audio), [111]);
    assert_eq!(audio.sources.len(), 1);
    assert_eq!(audio.sources[0].endpoint_id(), Some("abcd1234"));
    assert_eq!(
        audio.sources[0].msid.as_deref(),
        local.audio.as_ref().map(|a| a.msid.as_str())
    );
    let transport = again.transport().expect("transport");
    assert_eq!(transport.fingerprints[0].setup.as_deref(), Some("active"));
    assert_eq!(transport.candidates, local.candidates);
    (accept, again)
}

#[test]
fn answers_the_2022_offer() {
    let local = local_media(true, false);
    let (accept, again) = check_accept(FIXTURE_2022, &local);
    let audio = child(content(&accept, "audio"), "description");
    assert_eq!(ids(audio, "rtp-hdrext"), [1, 5]);
    assert!(!audio.children().any(|c| c.name() == "extmap-allow-mixed"));

    let video_content = content(&accept, "video");
    let first = video_content.children().next().expect("children");
    assert!(
        first.is("initial-last-n", ns::COLIBRI2),
        "initial-last-n comes first"
    );
    assert_eq!(first.attr("value"), Some("0"));
    let video = child(video_content, "description");
    assert_eq!(
        ids(video, "payload-type"),
        [100, 96],
        "VP8 and its RTX only"
    );
    let vp8 = child(video, "payload-type");
    assert_eq!(vp8.attr("name"), Some("VP8"));
    assert_eq!(vp8.attr("channels"), None);
    assert_eq!(
        children(vp8, "parameter").count(),
        0,
        "start bitrate dropped"
    );
    assert_eq!(children(vp8, "rtcp-fb").count(), 4);
    let rtx = children(video, "payload-type").nth(1).expect("rtx");
    let apt = child(rtx, "parameter");
    assert_eq!(
        (apt.attr("name"), apt.attr("value")),
        (Some("apt"), Some("100"))
    );
    assert_eq!(ids(video, "rtp-hdrext"), [3, 5]);
    assert_eq!(
        children(video, "source").count(),
        0,
        "no camera, no video source"
    );
    assert_eq!(video.attr("ssrc"), None);

    let video = description(&again, &MediaKind::Video);
    assert_eq!(payload_ids(video), [100, 96]);
    assert_eq!(
        again
            .contents
            .iter()
            .find(|c| c.name == "video")
            .and_then(|c| c.initial_last_n),
        Some(0)
    );
    assert!(again.contents.iter().all(|c| c.name != "data"));
}

#[test]
fn answers_the_2026_offer_with_a_camera() {
    let local = local_media(false, true);
    let (accept, again) = check_accept(FIXTURE_2026, &local);
    let audio = child(content(&accept, "audio"), "description");
    assert_eq!(
        ids(audio, "rtp-hdrext"),
        [1, 10, 5],
        "the offer's ids are kept"
    );
    assert!(audio.children().any(|c| c.name() == "extmap-allow-mixed"));

    let video_content = content(&accept, "video");
    assert!(
        !video_content
            .children()
            .any(|c| c.name() == "initial-last-n"),
        "video wanted: no initial-last-n"
    );
    let video = child(video_content, "description");
    assert_eq!(
        ids(video, "payload-type"),
        [100, 96],
        "AV1, H264, VP9 dropped"
    );
    assert_eq!(
        ids(video, "rtp-hdrext"),
        [10, 3, 5],
        "the AV1 descriptor is dropped"
    );
    assert_eq!(video.attr("ssrc"), Some("1111111111"));
    let sources: Vec<&Element> = children(video, "source").collect();
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[1].attr("ssrc"), Some("2222222222"));
    assert!(
        sources
            .iter()
            .all(|s| s.attr("name") == Some("abcd1234-v0"))
    );
    assert!(
        sources
            .iter()
            .all(|s| s.attr("videoType") == Some("camera"))
    );
    let group = child(video, "ssrc-group");
    assert_eq!(group.attr("semantics"), Some("FID"));
    assert_eq!(
        children(group, "source")
            .map(|s| s.attr("ssrc").expect("ssrc"))
            .collect::<Vec<_>>(),
        ["1111111111", "2222222222"]
    );

    let data = content(&accept, "data");
    assert!(!data.children().any(|c| c.name() == "description"));
    let sctpmap = child(child(data, "transport"), "sctpmap");
    assert!(sctpmap.has_ns(ns::JINGLE_DTLS_SCTP));
    assert_eq!(sctpmap.attr("number"), Some("5000"));
    assert_eq!(sctpmap.attr("protocol"), Some("webrtc-datachannel"));
    assert_eq!(sctpmap.attr("streams"), Some("0"));

    let video = description(&again, &MediaKind::Video);
    assert_eq!(video.sources.len(), 2);
    assert_eq!(video.ssrc_groups[0].ssrcs, [1_111_111_111, 2_222_222_222]);
    assert_eq!(video.sources[0].video_type.as_deref(), Some("camera"));
    let data = again
        .contents
        .iter()
        .find(|c| c.name == "data")
        .expect("data");
    assert_eq!(
        data.transport
            .as_ref()
            .and_then(|t| t.sctp.as_ref())
            .map(|s| s.streams),
        Some(0)
    );
}

#[test]
fn answers_the_json_offer_without_vp8_when_refused() {
    let mut local = local_media(true, true);
    local.codecs.vp8 = false;
    let (accept, _) = check_accept(FIXTURE_JSON, &local);
    let video = child(content(&accept, "video"), "description");
    assert_eq!(ids(video, "payload-type"), Vec::<u16>::new());
    assert_eq!(children(video, "source").count(), 0);
    assert_eq!(ids(video, "rtp-hdrext"), [3, 5]);
}

#[test]
fn an_offer_without_opus_is_refused_in_plain_words() {
    let offer = parse_xml(&FIXTURE_2026.replace("name='opus'", "name='speex'")).expect("parses");
    let error =
        session_accept(&offer, &local_media(true, false), RESPONDER).expect_err("no Opus, no call");
    assert_eq!(error, JingleError::NoOpus);
    assert!(error.to_string().contains("no Opus audio"));
    // Opus at another rate is not the Opus palabre speaks either.
    let offer = parse_xml(&FIXTURE_2022.replace(
        "name='opus' channels='2' clockrate='48000'",
        "name='opus' channels='1' clockrate='48000'",
    ))
    .expect("parses");
    assert_eq!(
        session_accept(&offer, &local_media(true, false), RESPONDER),
        Err(JingleError::NoOpus)
    );
    let add = parse_xml(SOURCE_ADD_XML).expect("parses");
    assert!(matches!(
        session_accept(&add, &local_media(true, false), RESPONDER),
        Err(JingleError::WrongAction { .. })
    ));
}

const SOURCE_ADD_XML: &str = "<jingle xmlns='urn:xmpp:jingle:1' action='source-add' \
    sid='9ht2dd5b7kg1b'>\
    <content name='video' creator='initiator'>\
    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>\
    <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1757014965' name='b8a2f6c9-v0' \
    videoType='desktop'><ssrc-info xmlns='http://jitsi.org/jitmeet' owner='b8a2f6c9'/>\
    <parameter name='msid' value='b8a2f6c9-video-1 77aa-1'/></source>\
    <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='984899560' name='b8a2f6c9-v0' \
    videoType='desktop'><ssrc-info xmlns='http://jitsi.org/jitmeet' owner='b8a2f6c9'/>\
    <parameter name='msid' value='b8a2f6c9-video-1 77aa-1'/></source>\
    <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'>\
    <source ssrc='1757014965'/><source ssrc='984899560'/></ssrc-group>\
    </description></content>\
    <content name='audio' creator='initiator'>\
    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
    <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='3158000000' name='b8a2f6c9-a0'>\
    <ssrc-info xmlns='http://jitsi.org/jitmeet' owner='b8a2f6c9'/></source>\
    </description></content></jingle>";

#[test]
fn reads_source_add_and_source_remove_as_xml() {
    let add = parse_xml(SOURCE_ADD_XML).expect("parses");
    assert_eq!(add.action, Action::SourceAdd);
    assert_eq!(add.contents.len(), 2);
    assert!(add.contents.iter().all(|c| c.transport.is_none()));
    let video = description(&add, &MediaKind::Video);
    assert_eq!(video.sources.len(), 2);
    assert!(
        video
            .sources
            .iter()
            .all(|s| s.endpoint_id() == Some("b8a2f6c9"))
    );
    assert!(
        video
            .sources
            .iter()
            .all(|s| s.video_type.as_deref() == Some("desktop"))
    );
    assert_eq!(video.ssrc_groups[0].ssrcs, [1_757_014_965, 984_899_560]);
    let audio = description(&add, &MediaKind::Audio);
    assert_eq!(audio.sources[0].ssrc, 3_158_000_000);
    assert_eq!(audio.sources[0].msid, None);

    for (legacy, action) in [
        ("addsource", Action::SourceAdd),
        ("removesource", Action::SourceRemove),
        ("source-remove", Action::SourceRemove),
    ] {
        let xml = SOURCE_ADD_XML.replace("action='source-add'", &format!("action='{legacy}'"));
        let parsed = parse_xml(&xml).expect("parses");
        assert_eq!(parsed.action, action);
        assert_eq!(parsed.sources().count(), 3);
    }
}

#[test]
fn reads_source_add_and_source_remove_as_json() {
    let xml = r#"<jingle xmlns='urn:xmpp:jingle:1' action='source-remove' sid='s1'><json-message xmlns='http://jitsi.org/jitmeet'>{"sources":{"b8a2f6c9":[[{"s":1757014965,"n":"b8a2f6c9-v0","m":"b8a2f6c9-video-1 77aa-1","v":"d"},{"s":984899560,"n":"b8a2f6c9-v0","m":"b8a2f6c9-video-1 77aa-1","v":"d"}],[["f",1757014965,984899560]],[{"s":3158000000,"n":"b8a2f6c9-a0"}],[]]}}</json-message></jingle>"#;
    let remove = parse_xml(xml).expect("parses");
    assert_eq!(remove.action, Action::SourceRemove);
    let names: Vec<&str> = remove.contents.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["audio", "video"],
        "contents are created for JSON sources"
    );
    let video = description(&remove, &MediaKind::Video);
    assert_eq!(video.sources.len(), 2);
    assert_eq!(video.sources[0].video_type.as_deref(), Some("desktop"));
    assert_eq!(video.sources[0].name.as_deref(), Some("b8a2f6c9-v0"));
    assert_eq!(video.sources[0].endpoint_id(), Some("b8a2f6c9"));
    assert_eq!(video.ssrc_groups[0].semantics, "FID");
    assert_eq!(video.ssrc_groups[0].ssrcs, [1_757_014_965, 984_899_560]);
    let audio = description(&remove, &MediaKind::Audio);
    assert_eq!(audio.sources[0].ssrc, 3_158_000_000);
    assert_eq!(audio.ssrc_groups, []);

    // The same message with XML contents too: JSON sources join them.
    let both = xml.replace(
        "<json-message",
        "<content name='audio'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
         <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='5'/></description></content>\
         <json-message",
    );
    let both = parse_xml(&both).expect("parses");
    assert_eq!(both.contents.len(), 2);
    let audio = description(&both, &MediaKind::Audio);
    assert_eq!(
        audio.sources.iter().map(|s| s.ssrc).collect::<Vec<_>>(),
        [5, 3_158_000_000]
    );
}

#[test]
fn builds_source_add_and_source_remove() {
    let local = local_media(false, true);
    let camera = local.video.clone().expect("camera");
    let add = source_add("sid-7", &MediaKind::Video, std::slice::from_ref(&camera));
    assert_eq!(add.attr("action"), Some("source-add"));
    let parsed = parse(&add).expect("parses");
    assert_eq!(parsed.action, Action::SourceAdd);
    assert_eq!(parsed.sid, "sid-7");
    let video = description(&parsed, &MediaKind::Video);
    assert_eq!(
        video.sources.iter().map(|s| s.ssrc).collect::<Vec<_>>(),
        [1_111_111_111, 2_222_222_222]
    );
    assert!(
        video
            .sources
            .iter()
            .all(|s| s.name.as_deref() == Some("abcd1234-v0"))
    );
    assert!(
        video
            .sources
            .iter()
            .all(|s| s.msid.as_deref() == Some(camera.msid.as_str()))
    );
    assert_eq!(video.ssrc_groups[0].ssrcs, [1_111_111_111, 2_222_222_222]);

    let remove = source_remove("sid-7", &MediaKind::Video, &[camera]);
    let parsed = parse(&remove).expect("parses");
    assert_eq!(parsed.action, Action::SourceRemove);
    assert_eq!(parsed.sources().count(), 2);
    assert_eq!(parsed.contents[0].name, "video");
}

#[test]
fn a_restart_request_echoes_the_bridge_session() {
    let terminate = session_terminate_restart("5rpgqh5rbclco", "b1c2d3");
    let parsed = parse(&terminate).expect("parses");
    assert_eq!(parsed.action, Action::SessionTerminate);
    assert_eq!(
        parsed.reason,
        Some(Reason {
            condition: "connectivity-error".to_owned(),
            text: Some("ICE FAILED".to_owned())
        })
    );
    let session = parsed.bridge_session.expect("bridge-session");
    assert_eq!(session.id, "b1c2d3");
    assert!(session.restart);
    assert!(
        terminate
            .get_child("bridge-session", ns::FOCUS)
            .is_some_and(|b| b.attr("restart") == Some("true"))
    );
}

#[test]
fn session_terminate_with_a_reason() {
    let terminate = session_terminate("5rpgqh5rbclco", "decline", Some("P2P disabled"));
    let reason = child(&terminate, "reason");
    assert!(reason.has_ns(ns::JINGLE));
    assert!(
        reason
            .children()
            .next()
            .expect("condition")
            .is("decline", ns::JINGLE)
    );
    assert_eq!(child(reason, "text").text(), "P2P disabled");
    let parsed = parse(&terminate).expect("parses");
    assert_eq!(parsed.action, Action::SessionTerminate);
    assert_eq!(
        parsed.reason,
        Some(Reason {
            condition: "decline".to_owned(),
            text: Some("P2P disabled".to_owned())
        })
    );
    let success = parse(&session_terminate("s", "success", None)).expect("parses");
    assert_eq!(
        success.reason,
        Some(Reason {
            condition: "success".to_owned(),
            text: None
        })
    );
    let odd = parse(&session_terminate("s", "not a name", None)).expect("parses");
    assert_eq!(
        odd.reason.map(|r| r.condition).as_deref(),
        Some("general-error")
    );

    // What jicofo sends to a lone participant.
    let expired = parse_xml(
        "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='5rpgqh5rbclco'>\
         <reason><expired/><text>Idle session timeout</text></reason>\
         <bridge-session xmlns='http://jitsi.org/protocol/focus' id='b1' restart='true'/>\
         </jingle>",
    )
    .expect("parses");
    assert_eq!(
        expired.reason,
        Some(Reason {
            condition: "expired".to_owned(),
            text: Some("Idle session timeout".to_owned())
        })
    );
    assert_eq!(
        expired.bridge_session.map(|b| (b.id, b.restart)),
        Some(("b1".to_owned(), true))
    );
}

#[test]
fn transport_info_round_trips() {
    let local = local_media(true, false);
    let mut relay = local.candidates[0].clone();
    relay.kind = CandidateType::Relay;
    relay.ip = ip("2001:db8::77");
    relay.rel_addr = Some(ip("192.0.2.55"));
    relay.rel_port = Some(50_000);
    relay.protocol = "tcp".to_owned();
    relay.tcp_type = Some("passive".to_owned());
    let transport = Transport {
        ufrag: Some(local.ice_ufrag.clone()),
        pwd: Some(local.ice_pwd.clone()),
        candidates: vec![relay.clone()],
        ..Transport::default()
    };
    let info = transport_info("sid-1", "audio", &transport);
    assert_eq!(info.attr("action"), Some("transport-info"));
    let candidate = child(child(child(&info, "content"), "transport"), "candidate");
    assert_eq!(candidate.attr("type"), Some("relay"));
    assert_eq!(candidate.attr("rel-addr"), Some("192.0.2.55"));
    assert_eq!(candidate.attr("ip"), Some("2001:db8::77"));
    let parsed = parse(&info).expect("parses");
    assert_eq!(parsed.action, Action::TransportInfo);
    assert_eq!(parsed.contents[0].name, "audio");
    assert_eq!(parsed.contents[0].creator, Creator::Responder);
    assert_eq!(parsed.transport(), Some(&transport));
}

#[test]
fn endpoint_ids_of_source_names() {
    for (name, endpoint) in [
        ("abcd1234-a0", Some("abcd1234")),
        ("abcd1234-v0", Some("abcd1234")),
        ("abcd1234-v12", Some("abcd1234")),
        ("abcd1234-v0.1", Some("abcd1234")),
        ("ab-cd-v1", Some("ab-cd")),
        ("a-v0-a1", Some("a-v0")),
        ("jvb-a0", Some("jvb")),
        ("abcd1234", None),
        ("-a0", None),
        ("abcd-a", None),
        ("abcd-b0", None),
        ("abcd-a0.", None),
        ("abcd-a0.x.y", None),
        ("abcd-a0x", None),
        ("", None),
        ("é-v0", Some("é")),
    ] {
        assert_eq!(endpoint_of_source_name(name), endpoint, "{name:?}");
    }
    let unnamed_owner = Source {
        ssrc: 1,
        name: Some("e4a15029-a0".to_owned()),
        owner: None,
        msid: None,
        video_type: None,
    };
    assert_eq!(unnamed_owner.endpoint_id(), Some("e4a15029"));
}

/// Replaces one attribute of the 2026 fixture (first occurrence of `from`) and parses.
fn parse_2026_with(from: &str, to: &str) -> Result<Jingle, JingleError> {
    assert!(FIXTURE_2026.contains(from), "fixture has {from}");
    parse_xml(&FIXTURE_2026.replacen(from, to, 1))
}

#[test]
fn hostile_attributes_are_errors() {
    assert_eq!(
        parse_2026_with(" sid='9ht2dd5b7kg1b'", ""),
        Err(JingleError::MissingSid)
    );
    assert_eq!(
        parse_2026_with("sid='9ht2dd5b7kg1b'", "sid=''"),
        Err(JingleError::MissingSid)
    );
    assert_eq!(
        parse_2026_with("action='session-initiate' ", ""),
        Err(JingleError::MissingAction)
    );
    assert_eq!(
        JingleError::MissingSid.to_string(),
        "The conference server sent a Jingle message without a session id."
    );
    for bad in ["-1", "99999999999", "", "12ab", "4294967296"] {
        let result = parse_2026_with("ssrc='3047395501'", &format!("ssrc='{bad}'"));
        assert!(
            matches!(
                &result,
                Err(JingleError::BadNumber {
                    element: "source",
                    attribute: "ssrc",
                    ..
                })
            ),
            "ssrc {bad:?}: {result:?}"
        );
    }
    for bad in ["128", "300", "-1", "x"] {
        let result = parse_2026_with("id='111'", &format!("id='{bad}'"));
        assert!(
            matches!(
                &result,
                Err(JingleError::BadNumber {
                    element: "payload-type",
                    ..
                })
            ),
            "payload id {bad:?}: {result:?}"
        );
    }
    for bad in ["0", "256", "-3"] {
        let result = parse_2026_with("id='10'", &format!("id='{bad}'"));
        assert!(
            matches!(
                &result,
                Err(JingleError::BadNumber {
                    element: "rtp-hdrext",
                    ..
                })
            ),
            "extension id {bad:?}: {result:?}"
        );
    }
    assert!(matches!(
        parse_2026_with("ssrc='3919526010'/>", "ssrc='-5'/>"),
        Err(JingleError::BadNumber { .. })
    ));
    assert_eq!(
        parse_2026_with("name='audio'>", ">"),
        Err(JingleError::MissingAttribute {
            element: "content",
            attribute: "name"
        })
    );
    assert!(matches!(
        parse_2026_with("number='5000'", "number='70000'"),
        Err(JingleError::BadNumber {
            element: "sctpmap",
            ..
        })
    ));
    let long = "9".repeat(500);
    let error =
        parse_2026_with("ssrc='3047395501'", &format!("ssrc='{long}'")).expect_err("too big");
    assert!(
        error.to_string().len() < 200,
        "values are quoted short: {error}"
    );
    let not_jingle: Element = "<iq xmlns='jabber:client'/>".parse().expect("xml");
    assert!(matches!(
        parse(&not_jingle),
        Err(JingleError::NotJingle { .. })
    ));
    let wrong_ns: Element = "<jingle xmlns='urn:xmpp:jingle:0' sid='a' action='x'/>"
        .parse()
        .expect("xml");
    assert!(matches!(
        parse(&wrong_ns),
        Err(JingleError::NotJingle { .. })
    ));
}

#[test]
fn a_bad_candidate_is_skipped_with_a_warning() {
    let offer = parse_2026_with("ip='192.0.2.10'", "ip='not-an-address'").expect("parses");
    let audio_transport = offer.contents[0].transport.as_ref().expect("transport");
    assert_eq!(
        audio_transport.candidates.len(),
        2,
        "the other two are kept"
    );
    assert_eq!(offer.transport().map(|t| t.candidates.len()), Some(2));
    assert_eq!(offer.warnings.len(), 1);
    assert!(offer.warnings[0].contains("'ip'"), "{}", offer.warnings[0]);
    for (from, to) in [
        ("port='10000'", "port='70000'"),
        ("type='host'", "type='weird'"),
        ("priority='2130706431'", "priority='-1'"),
        ("component='1'", ""),
        ("rel-port='10000'", "rel-port='x'"),
    ] {
        let offer = parse_2026_with(from, to).expect("parses");
        assert_eq!(
            offer.contents[0]
                .transport
                .as_ref()
                .map(|t| t.candidates.len()),
            Some(2)
        );
        assert_eq!(offer.warnings.len(), 1, "{from} → {to}");
    }
    // Unknown children and attributes anywhere are ignored.
    let extra = FIXTURE_2026
        .replace(
            "<rtcp-mux/>",
            "<rtcp-mux/><future xmlns='urn:example' a='b'><x/></future>",
        )
        .replace("<candidate ", "<candidate extra='1' ");
    let offer = parse_xml(&extra).expect("parses");
    assert!(offer.warnings.is_empty());
    assert_eq!(offer, parse_xml(FIXTURE_2026).expect("parses"));
}

fn repeated(element: &str, count: usize) -> String {
    element.repeat(count)
}

#[test]
fn counts_beyond_the_limits_are_errors() {
    let contents = repeated("<content name='c'/>", MAX_CONTENTS + 1);
    let xml = format!("<jingle xmlns='urn:xmpp:jingle:1' action='a' sid='s'>{contents}</jingle>");
    assert_eq!(
        parse_xml(&xml),
        Err(JingleError::TooMany {
            what: "contents",
            limit: MAX_CONTENTS
        })
    );
    let within = repeated("<content name='c'/>", MAX_CONTENTS);
    let xml = format!("<jingle xmlns='urn:xmpp:jingle:1' action='a' sid='s'>{within}</jingle>");
    assert_eq!(parse_xml(&xml).map(|j| j.contents.len()), Ok(MAX_CONTENTS));

    let candidates = repeated(
        "<candidate component='1' foundation='1' ip='192.0.2.1' port='1' priority='1' \
         protocol='udp' type='host'/>",
        MAX_CANDIDATES + 1,
    );
    let result = parse_2026_with(
        "<rtcp-mux/>\n      <fingerprint",
        &format!("{candidates}<fingerprint"),
    );
    assert!(matches!(
        result,
        Err(JingleError::TooMany {
            limit: MAX_CANDIDATES,
            ..
        })
    ));
    // Bad candidates count towards the limit too.
    let bad = repeated("<candidate/>", MAX_CANDIDATES + 1);
    let result = parse_2026_with(
        "<rtcp-mux/>\n      <fingerprint",
        &format!("{bad}<fingerprint"),
    );
    assert!(matches!(
        result,
        Err(JingleError::TooMany {
            limit: MAX_CANDIDATES,
            ..
        })
    ));
    let bad = repeated("<candidate/>", 100);
    let offer = parse_2026_with(
        "<rtcp-mux/>\n      <fingerprint",
        &format!("{bad}<fingerprint"),
    )
    .expect("parses");
    assert!(
        offer.warnings.len() <= 33,
        "warnings are bounded: {}",
        offer.warnings.len()
    );

    let payload_types = repeated("<payload-type id='1'/>", MAX_PAYLOAD_TYPES + 1);
    let result = parse_2026_with("<rtp-hdrext", &format!("{payload_types}<rtp-hdrext"));
    assert!(matches!(
        result,
        Err(JingleError::TooMany {
            limit: MAX_PAYLOAD_TYPES,
            ..
        })
    ));

    let sources = (0..=MAX_SOURCES)
        .map(|ssrc| format!("<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='{ssrc}'/>"))
        .collect::<String>();
    let result = parse_2026_with("<rtcp-mux/>", &format!("<rtcp-mux/>{sources}"));
    assert!(matches!(
        result,
        Err(JingleError::TooMany {
            limit: MAX_SOURCES,
            ..
        })
    ));

    let group = format!(
        "<ssrc-group semantics='SIM'>{}</ssrc-group>",
        repeated("<source ssrc='1'/>", MAX_GROUP_SIZE + 1)
    );
    let result = parse_2026_with("<rtcp-mux/>", &format!("<rtcp-mux/>{group}"));
    assert!(matches!(
        result,
        Err(JingleError::TooMany {
            limit: MAX_GROUP_SIZE,
            ..
        })
    ));

    let json_sources = (0..=MAX_SOURCES)
        .map(|ssrc| format!("{{\"s\":{ssrc}}}"))
        .collect::<Vec<_>>()
        .join(",");
    let xml = format!(
        "<jingle xmlns='urn:xmpp:jingle:1' action='source-add' sid='s'>\
         <json-message xmlns='http://jitsi.org/jitmeet'>{{\"sources\":{{\"e\":[[{json_sources}]]}}}}\
         </json-message></jingle>"
    );
    assert!(matches!(
        parse_xml(&xml),
        Err(JingleError::TooMany {
            limit: MAX_SOURCES,
            ..
        })
    ));
}

#[test]
fn bad_json_sources_are_errors() {
    for json in [
        "not json",
        "[]",
        r#"{"sources":[]}"#,
        r#"{"sources":{"e":{}}}"#,
        r#"{"sources":{"e":[[{"s":-1}]]}}"#,
        r#"{"sources":{"e":[[{"s":"1"}]]}}"#,
        r#"{"sources":{"e":[[{"n":"x"}]]}}"#,
        r#"{"sources":{"e":[[5]]}}"#,
        r#"{"sources":{"e":[[],[[]]]}}"#,
        r#"{"sources":{"e":[[],[[1,2]]]}}"#,
        r#"{"sources":{"e":[[],[["f",99999999999]]]}}"#,
        r#"{"sources":{"e":[[],{}]}}"#,
    ] {
        let xml = format!(
            "<jingle xmlns='urn:xmpp:jingle:1' action='source-add' sid='s'>\
             <json-message xmlns='http://jitsi.org/jitmeet'>{}</json-message></jingle>",
            json.replace('&', "&amp;").replace('<', "&lt;")
        );
        let result = parse_xml(&xml);
        assert!(
            matches!(result, Err(JingleError::BadJsonSources(_))),
            "{json}: {result:?}"
        );
    }
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let xml = format!(
        "<jingle xmlns='urn:xmpp:jingle:1' action='source-add' sid='s'>\
         <json-message xmlns='http://jitsi.org/jitmeet'>{deep}</json-message></jingle>"
    );
    assert!(matches!(
        parse_xml(&xml),
        Err(JingleError::BadJsonSources(_))
    ));
    // Empty lists and absent trailing lists are fine.
    let xml = "<jingle xmlns='urn:xmpp:jingle:1' action='source-add' sid='s'>\
               <json-message xmlns='http://jitsi.org/jitmeet'>{\"sources\":{\"e\":[[],[]]}}\
               </json-message></jingle>";
    assert_eq!(parse_xml(xml).map(|j| j.contents.len()), Ok(0));
}

#[test]
fn deep_nesting_is_ignored_not_followed() {
    let depth = 1000;
    let nested = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
    let xml = FIXTURE_2026.replacen("<rtcp-mux/>", &format!("<rtcp-mux/>{nested}"), 1);
    let offer = parse_xml(&xml).expect("parses");
    assert_eq!(offer, parse_xml(FIXTURE_2026).expect("parses"));
}

/// A small xorshift generator, so the property test needs no extra crate.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

const TOKENS: [&str; 16] = [
    "-1",
    "0",
    "",
    "99999999999",
    "4294967295",
    "128",
    "255",
    "abc",
    "::1",
    "300.1.1.1",
    "true",
    "jvb",
    "a/b/c",
    "x-v0.1",
    "65536",
    "é",
];

/// One random change: an attribute value replaced, a span deleted or duplicated, or a byte
/// replaced by an XML-significant character.
fn mutate(text: &str, rng: &mut XorShift) -> String {
    let mut text = text.to_owned();
    for _ in 0..1 + rng.below(4) {
        let len = text.len().max(1);
        let mut at = rng.below(len);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        match rng.below(4) {
            0 => {
                // Replace the value of the next attribute.
                if let Some(quote) = text[at..].find('\'').map(|q| q + at)
                    && let Some(end) = text[quote + 1..].find('\'').map(|e| e + quote + 1)
                {
                    let token = TOKENS[rng.below(TOKENS.len())];
                    text.replace_range(quote + 1..end, token);
                }
            }
            1 => {
                let mut end = (at + rng.below(200)).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(at..end, "");
            }
            2 => {
                let mut end = (at + rng.below(400)).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let span = text[at..end].to_owned();
                text.insert_str(at, &span);
            }
            _ => {
                let replacement = ["<", ">", "'", "/", "=", " ", "a"][rng.below(7)];
                let mut end = at + 1;
                while end < text.len() && !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end.min(text.len()), replacement);
            }
        }
    }
    text
}

#[test]
fn randomly_mutated_offers_never_panic() {
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    let local = local_media(true, true);
    let mut parsed = 0;
    let mut answered = 0;
    for round in 0..3000 {
        let fixture = [FIXTURE_2022, FIXTURE_JSON, FIXTURE_2026][round % 3];
        let text = mutate(fixture, &mut rng);
        let Ok(root) = text.parse::<Element>() else {
            continue;
        };
        let jingle = if root.name() == "jingle" {
            root
        } else {
            match root.children().find(|c| c.name() == "jingle") {
                Some(jingle) => jingle.clone(),
                None => continue,
            }
        };
        if let Ok(offer) = parse(&jingle) {
            parsed += 1;
            if let Ok(accept) = session_accept(&offer, &local, RESPONDER) {
                answered += 1;
                let again = parse(&accept).expect("palabre's own answer always parses");
                assert_eq!(again.action, Action::SessionAccept);
            }
        }
    }
    // The mutations must leave enough valid offers for the test to mean something.
    assert!(parsed > 300, "only {parsed} mutated offers parsed");
    assert!(answered > 100, "only {answered} answers built");
}

#[test]
fn characters_xml_cannot_hold_are_dropped_from_what_palabre_writes() {
    let mut local = local_media(false, true);
    if let Some(audio) = local.audio.as_mut() {
        audio.name = "abcd1234\u{1}-a0".to_owned();
    }
    local.ice_ufrag = "pn\u{0}49".to_owned();
    let offer = parse_xml(FIXTURE_2026).expect("parses");
    let accept = session_accept(&offer, &local, "room@conference.example/abcd\u{7}1234")
        .expect("answer builds");
    let text = String::from(&accept);
    let again = parse(&text.parse().expect("well-formed")).expect("re-parses");
    assert_eq!(
        again.responder.as_deref(),
        Some("room@conference.example/abcd1234")
    );
    assert_eq!(
        again.transport().and_then(|t| t.ufrag.as_deref()),
        Some("pn49")
    );
    let audio = description(&again, &MediaKind::Audio);
    assert_eq!(audio.sources[0].name.as_deref(), Some("abcd1234-a0"));
    let terminate = session_terminate("s\u{1b}1", "success", Some("bye\u{0}\u{fffe}"));
    let again = parse(&String::from(&terminate).parse().expect("well-formed")).expect("parses");
    assert_eq!(again.sid, "s1");
    assert_eq!(again.reason.and_then(|r| r.text).as_deref(), Some("bye"));
}
