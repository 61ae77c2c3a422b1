//! Fuzzes what a Jitsi deployment sends palabre in Jingle and on the bridge channel:
//! `jingle::parse` (with `session_accept` on every offer it reads) and `colibri::decode`.
//!
//! The input is read as UTF-8 text, then twice: as one XML element (a `<jingle>` or an IQ around
//! one) and as one bridge-channel message. Checked properties:
//! - nothing panics and nothing allocates beyond the limits (libFuzzer's `-rss_limit_mb`);
//! - palabre's own session-accept always parses again, as a session-accept with the same session
//!   id, answering with Opus only in its audio content;
//! - a decoded bridge message encodes to JSON that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palabre::proto::jitsi::colibri;
use palabre::proto::jitsi::jingle::{
    self, AcceptedCodecs, Action, Candidate, CandidateType, Element, Fingerprint, LocalMedia,
    LocalSource, MediaKind,
};

fn local_media() -> LocalMedia {
    LocalMedia {
        ice_ufrag: "pn49".to_owned(),
        ice_pwd: "q8h5ojg5c7u8vu2k3f09idpd4a".to_owned(),
        fingerprint: Fingerprint {
            hash: "sha-256".to_owned(),
            setup: None,
            value: "27:23:5B:08:5C:3E:A1:0C:F6:8D:90:42:17:3B:4E:AA:61:02:C9:7D:58:E1:33:B4:0A:\
                    9F:26:DD:71:84:C5:E0"
                .to_owned(),
            cryptex: false,
        },
        candidates: vec![Candidate {
            component: 1,
            foundation: "1".to_owned(),
            generation: 0,
            id: Some("c1".to_owned()),
            ip: std::net::IpAddr::from([192, 0, 2, 55]),
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
            msid: "abcd1234-audio-1 9f1e0c6a-1".to_owned(),
            video_type: None,
        }),
        video: Some(LocalSource {
            ssrc: 1_111_111_111,
            rtx_ssrc: Some(2_222_222_222),
            name: "abcd1234-v0".to_owned(),
            msid: "abcd1234-video-1 3c4d5e6f-1".to_owned(),
            video_type: Some("camera".to_owned()),
        }),
        audio_only: true,
        codecs: AcceptedCodecs { vp8: true },
    }
}

fn check_jingle(element: &Element) {
    let Ok(offer) = jingle::parse(element) else {
        return;
    };
    let Ok(accept) =
        jingle::session_accept(&offer, &local_media(), "room@conference.example/abcd1234")
    else {
        return;
    };
    let again = jingle::parse(&accept).expect("palabre's session-accept parses");
    assert_eq!(again.action, Action::SessionAccept);
    assert_eq!(again.sid, offer.sid);
    let audio = again
        .content(&MediaKind::Audio)
        .and_then(|content| content.description.as_ref())
        .expect("the answer has audio");
    assert_eq!(audio.payload_types.len(), 1);
    assert!(audio.payload_types[0].name.eq_ignore_ascii_case("opus"));
    // Written out and read back as text, it is still the same answer.
    let text = String::from(&accept);
    let reread: Element = text.parse().expect("the answer is well-formed XML");
    assert_eq!(jingle::parse(&reread).as_ref(), Ok(&again));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(root) = text.parse::<Element>() {
        if root.name() == "jingle" {
            check_jingle(&root);
        } else {
            for child in root.children().filter(|child| child.name() == "jingle") {
                check_jingle(child);
            }
        }
    }
    if let Ok(message) = colibri::decode(text) {
        let encoded = colibri::encode(&message);
        let again = colibri::decode(&encoded).unwrap_or_else(|e| panic!("{encoded}: {e}"));
        assert_eq!(again, message, "{encoded}");
    }
});
