//! The stream fed with a server's frames, as Prosody sends them over WebSocket.

use super::*;

const OPEN: &str = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='guest.meet.test' \
                    id='s1' version='1.0' xml:lang='en'/>";
const FEATURES_SASL: &str = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
    <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism>\
    <mechanism>PLAIN</mechanism></mechanisms></stream:features>";
const SUCCESS: &str = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
const FEATURES_BIND: &str = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
    <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='urn:xmpp:sm:3'/>\
    <session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session></stream:features>";
const BOUND: &str = "<iq xmlns='jabber:client' type='result' id='palabre-bind'>\
    <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
    <jid>6f1e2d3c-aaaa-bbbb@guest.meet.test/AbCd</jid></bind></iq>";

fn config(auth: Auth) -> StreamConfig {
    StreamConfig {
        domain: "guest.meet.test".to_owned(),
        auth,
        features: vec![
            "urn:xmpp:jingle:1".to_owned(),
            "urn:xmpp:jingle:apps:rtp:audio".to_owned(),
        ],
        caps_node: "https://palabre.example/caps".to_owned(),
    }
}

fn sent(stream: &mut Stream) -> Vec<Element> {
    std::iter::from_fn(|| stream.poll_transmit())
        .map(|text| xml::parse(&text).expect("palabre sends well-formed XML"))
        .collect()
}

fn events(stream: &mut Stream) -> Vec<StreamEvent> {
    std::iter::from_fn(|| stream.poll_event()).collect()
}

/// A stream taken through the whole opening, with what it sent dropped.
fn ready(now: Instant) -> Stream {
    let mut stream = Stream::new(config(Auth::Anonymous), now, 7);
    for frame in [OPEN, FEATURES_SASL, SUCCESS, OPEN, FEATURES_BIND, BOUND] {
        stream.handle_frame(frame, now);
    }
    sent(&mut stream);
    assert_eq!(
        events(&mut stream),
        [StreamEvent::Ready {
            jid: "6f1e2d3c-aaaa-bbbb@guest.meet.test/AbCd".to_owned()
        }]
    );
    stream
}

#[test]
fn anonymous_opening_follows_rfc_7395() {
    let now = Instant::now();
    let mut stream = Stream::new(config(Auth::Anonymous), now, 7);
    let out = sent(&mut stream);
    assert_eq!(out.len(), 1);
    assert!(out[0].is("open", ns::FRAMING));
    assert_eq!(out[0].attr("to"), Some("guest.meet.test"));
    assert_eq!(out[0].attr("version"), Some("1.0"));

    stream.handle_frame(OPEN, now);
    assert!(sent(&mut stream).is_empty());
    stream.handle_frame(FEATURES_SASL, now);
    let out = sent(&mut stream);
    assert!(out[0].is("auth", ns::SASL));
    assert_eq!(out[0].attr("mechanism"), Some("ANONYMOUS"));
    assert_eq!(out[0].text(), "");

    stream.handle_frame(SUCCESS, now);
    let out = sent(&mut stream);
    assert!(
        out[0].is("open", ns::FRAMING),
        "the stream is opened again after SASL"
    );
    stream.handle_frame(OPEN, now);
    stream.handle_frame(FEATURES_BIND, now);
    let out = sent(&mut stream);
    assert!(out[0].is("iq", ns::CLIENT));
    assert_eq!(out[0].attr("type"), Some("set"));
    assert!(out[0].has_child("bind", ns::BIND));
    assert!(!stream.is_ready());
    stream.handle_frame(BOUND, now);
    assert!(stream.is_ready());
    assert_eq!(
        stream.jid(),
        Some("6f1e2d3c-aaaa-bbbb@guest.meet.test/AbCd")
    );
}

#[test]
fn plain_login_sends_the_credentials_and_explains_a_refusal() {
    let now = Instant::now();
    let auth = Auth::Plain {
        user: "alice".to_owned(),
        password: "sésame".to_owned(),
    };
    assert!(
        !format!("{auth:?}").contains("sésame"),
        "Debug never shows a password"
    );
    let mut stream = Stream::new(config(auth), now, 1);
    stream.handle_frame(OPEN, now);
    stream.handle_frame(FEATURES_SASL, now);
    let out = sent(&mut stream);
    let auth = out.last().expect("auth sent");
    assert_eq!(auth.attr("mechanism"), Some("PLAIN"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.text())
        .expect("base64");
    assert_eq!(decoded, "\0alice\0sésame".as_bytes());
    stream.handle_frame(
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>",
        now,
    );
    assert_eq!(
        events(&mut stream),
        [StreamEvent::Closed(StreamEnd::LoginRefused(Phrase::tr(
            "xmpp-wrong-password"
        )))]
    );
    assert!(stream.is_closed());
}

#[test]
fn a_server_without_anonymous_login_is_explained() {
    let now = Instant::now();
    let mut stream = Stream::new(config(Auth::Anonymous), now, 1);
    stream.handle_frame(OPEN, now);
    stream.handle_frame(
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
         <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>\
         </mechanisms></stream:features>",
        now,
    );
    match events(&mut stream).as_slice() {
        [StreamEvent::Closed(StreamEnd::LoginRefused(sentence))] => {
            let sentence = sentence.to_string();
            assert!(sentence.contains("does not let guests in"), "{sentence}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pings_and_disco_are_answered_and_other_requests_go_up() {
    let now = Instant::now();
    let mut stream = ready(now);
    stream.handle_frame(
        "<iq xmlns='jabber:client' type='get' id='p1' from='guest.meet.test'>\
         <ping xmlns='urn:xmpp:ping'/></iq>",
        now,
    );
    let out = sent(&mut stream);
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(out[0].attr("id"), Some("p1"));
    assert_eq!(out[0].attr("to"), Some("guest.meet.test"));

    let caps = stream.caps();
    let node = format!(
        "{}#{}",
        caps.attr("node").expect("node"),
        caps.attr("ver").expect("ver")
    );
    for query_node in [None, Some(node.as_str())] {
        let query = match query_node {
            Some(node) => {
                format!("<query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/>")
            }
            None => "<query xmlns='http://jabber.org/protocol/disco#info'/>".to_owned(),
        };
        stream.handle_frame(
            &format!(
                "<iq xmlns='jabber:client' type='get' id='d1' \
                 from='room@conference.meet.test/focus'>{query}</iq>"
            ),
            now,
        );
        let out = sent(&mut stream);
        assert_eq!(out[0].attr("type"), Some("result"));
        let answer = out[0]
            .get_child("query", ns::DISCO_INFO)
            .expect("disco answer");
        assert_eq!(answer.attr("node"), query_node);
        let features: Vec<&str> = answer
            .children()
            .filter(|c| c.name() == "feature")
            .filter_map(|c| c.attr("var"))
            .collect();
        assert_eq!(
            features,
            ["urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:audio"]
        );
    }
    // A disco query for another node is refused.
    stream.handle_frame(
        "<iq xmlns='jabber:client' type='get' id='d2' from='x@y/z'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='other#abc'/></iq>",
        now,
    );
    let out = sent(&mut stream);
    assert_eq!(out[0].attr("type"), Some("error"));

    let jingle = "<iq xmlns='jabber:client' type='set' id='j1' from='room@conference.meet.test/focus'>\
                  <jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'/></iq>";
    stream.handle_frame(jingle, now);
    assert!(
        sent(&mut stream).is_empty(),
        "the caller answers Jingle itself"
    );
    match events(&mut stream).as_slice() {
        [StreamEvent::Request(iq)] => assert_eq!(iq.attr("id"), Some("j1")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn caps_hash_follows_xep_0115() {
    // XEP-0115 §5.2's example: identity client/pc//Exodus 0.9.1 and four features gives
    // QgayPKawpkPSDYmwT/WM94uAlu0=. The same procedure with palabre's identity:
    let features = vec![
        "http://jabber.org/protocol/caps".to_owned(),
        "http://jabber.org/protocol/disco#info".to_owned(),
    ];
    let text = "client/pc//palabre<http://jabber.org/protocol/caps<\
                http://jabber.org/protocol/disco#info<";
    let expected = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(text.as_bytes()));
    assert_eq!(caps_ver(&features), expected);
    let mut reversed = features.clone();
    reversed.reverse();
    assert_eq!(caps_ver(&reversed), expected, "order does not matter");
}

#[test]
fn iq_requests_get_their_answer_or_a_timeout_once() {
    let now = Instant::now();
    let mut stream = ready(now);
    let payload = xml::element("conference", ns::FOCUS).with("room", "r@conference.meet.test");
    let id = stream
        .send_iq(IqType::Set, Some("focus.meet.test"), payload.clone(), now)
        .expect("ready");
    let out = sent(&mut stream);
    assert_eq!(out[0].attr("id"), Some(id.as_str()));
    assert_eq!(out[0].attr("to"), Some("focus.meet.test"));
    assert!(out[0].has_child("conference", ns::FOCUS));
    stream.handle_frame(
        &format!(
            "<iq xmlns='jabber:client' type='error' id='{id}' from='focus.meet.test'>\
             <error type='cancel'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>not allowed</text></error></iq>"
        ),
        now,
    );
    match events(&mut stream).as_slice() {
        [
            StreamEvent::Response {
                id: got,
                result: Err(IqFailure::Error(error)),
            },
        ] => {
            assert_eq!(got, &id);
            assert_eq!(error.condition, "not-authorized");
            assert_eq!(error.error_type, "cancel");
            assert_eq!(error.text.as_deref(), Some("not allowed"));
        }
        other => panic!("{other:?}"),
    }
    // A second answer with the same id is ignored.
    stream.handle_frame(
        &format!("<iq xmlns='jabber:client' type='result' id='{id}'/>"),
        now,
    );
    assert!(events(&mut stream).is_empty());

    let id2 = stream
        .send_iq(IqType::Get, None, payload, now)
        .expect("ready");
    stream.handle_timeout(now + IQ_TIMEOUT);
    let timed_out: Vec<_> = events(&mut stream)
        .into_iter()
        .filter(|e| matches!(e, StreamEvent::Response { .. }))
        .collect();
    assert_eq!(
        timed_out,
        [StreamEvent::Response {
            id: id2,
            result: Err(IqFailure::Timeout)
        }]
    );
}

#[test]
fn unanswered_pings_end_the_stream_and_answered_ones_keep_it() {
    let start = Instant::now();
    let mut stream = ready(start);
    let mut now = start;
    // Answered pings: the stream stays up for a minute.
    for _ in 0..6 {
        now = stream.poll_timeout().expect("a ping is due");
        stream.handle_timeout(now);
        for ping in sent(&mut stream) {
            assert!(ping.has_child("ping", ns::PING));
            let id = ping.attr("id").expect("id");
            stream.handle_frame(
                &format!("<iq xmlns='jabber:client' type='result' id='{id}'/>"),
                now,
            );
        }
    }
    assert!(now >= start + PING_INTERVAL * 6);
    assert!(stream.is_ready());
    // Then the server goes silent.
    let mut pings = 0;
    while !stream.is_closed() {
        now = stream.poll_timeout().expect("something is due");
        stream.handle_timeout(now);
        pings += sent(&mut stream).len();
        assert!(
            now < start + Duration::from_secs(120),
            "never declared lost"
        );
    }
    assert_eq!(pings, PING_FAILURES as usize);
    assert_eq!(events(&mut stream), [StreamEvent::Closed(StreamEnd::Lost)]);
}

#[test]
fn stream_errors_close_and_malformed_frames_are_protocol_errors() {
    let now = Instant::now();
    let mut stream = ready(now);
    stream.handle_frame(
        "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>\
         <conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text>\
         </stream:error>",
        now,
    );
    match events(&mut stream).as_slice() {
        [StreamEvent::Closed(StreamEnd::StreamError(phrase))] => assert_eq!(
            phrase.to_string(),
            "The server ended the connection: conflict (Replaced by new connection)."
        ),
        other => panic!("{other:?}"),
    }

    let mut stream = ready(now);
    stream.handle_frame("<iq type='result'", now);
    match events(&mut stream).as_slice() {
        [StreamEvent::Closed(StreamEnd::Protocol(sentence))] => {
            let sentence = sentence.to_string();
            assert!(
                sentence.starts_with("The server sent malformed XML"),
                "{sentence}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Nothing is accepted after the end.
    stream.handle_frame(BOUND, now);
    assert!(events(&mut stream).is_empty());
}

#[test]
fn closing_waits_for_the_server_and_pending_requests_end() {
    let now = Instant::now();
    let mut stream = ready(now);
    let id = stream
        .send_iq(
            IqType::Get,
            Some("meet.test"),
            xml::element("query", ns::DISCO_INFO),
            now,
        )
        .expect("ready");
    sent(&mut stream);
    stream.close(now);
    let out = sent(&mut stream);
    assert!(out[0].is("close", ns::FRAMING));
    assert!(!stream.is_closed());
    stream.handle_frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>", now);
    assert_eq!(
        events(&mut stream),
        [
            StreamEvent::Response {
                id,
                result: Err(IqFailure::Closed)
            },
            StreamEvent::Closed(StreamEnd::Closed)
        ]
    );

    // A server that never answers the close: closed after a while anyway.
    let mut stream = ready(now);
    stream.close(now);
    let deadline = stream.poll_timeout().expect("a deadline");
    stream.handle_timeout(deadline);
    assert_eq!(
        events(&mut stream),
        [StreamEvent::Closed(StreamEnd::Closed)]
    );

    // The server closing first is answered with a close.
    let mut stream = ready(now);
    stream.handle_frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>", now);
    assert!(sent(&mut stream)[0].is("close", ns::FRAMING));
    assert_eq!(
        events(&mut stream),
        [StreamEvent::Closed(StreamEnd::ClosedByServer)]
    );
}

#[test]
fn an_opening_that_stalls_times_out() {
    let now = Instant::now();
    let mut stream = Stream::new(config(Auth::Anonymous), now, 1);
    stream.handle_frame(OPEN, now);
    let deadline = stream.poll_timeout().expect("deadline");
    assert_eq!(deadline, now + OPENING_TIMEOUT);
    stream.handle_timeout(deadline);
    assert_eq!(
        events(&mut stream),
        [StreamEvent::Closed(StreamEnd::OpeningTimedOut)]
    );
}

#[test]
fn garbage_never_panics() {
    let now = Instant::now();
    let frames = [
        OPEN,
        FEATURES_SASL,
        SUCCESS,
        OPEN,
        FEATURES_BIND,
        BOUND,
        "<iq xmlns='jabber:client' type='set'/>",
        "<iq xmlns='jabber:client' type='get' id='x'/>",
        "<iq xmlns='jabber:client' type='result'/>",
        "<presence xmlns='jabber:client'/>",
        "<message xmlns='jabber:client'><body>hi</body></message>",
        "<x xmlns='urn:xmpp:sm:3'/>",
        "<iq xmlns='jabber:client' type='result' id='palabre-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>@/</jid></bind></iq>",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..3000 {
        let mut stream = Stream::new(config(Auth::Anonymous), now, 1);
        for _ in 0..8 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let frame = frames[(seed % frames.len() as u64) as usize];
            let mut bytes = frame.as_bytes().to_vec();
            if seed & 0x100 != 0 && !bytes.is_empty() {
                let at = (seed >> 20) as usize % bytes.len();
                bytes[at] = (seed >> 40) as u8;
            }
            stream.handle_frame(&String::from_utf8_lossy(&bytes), now);
            while stream.poll_transmit().is_some() {}
            while stream.poll_event().is_some() {}
        }
    }
}

#[test]
fn stream_management_is_enabled_and_acknowledged() {
    let now = Instant::now();
    // FEATURES_BIND offers <sm xmlns='urn:xmpp:sm:3'/>.
    let mut stream = Stream::new(config(Auth::Anonymous), now, 7);
    for frame in [OPEN, FEATURES_SASL, SUCCESS, OPEN, FEATURES_BIND, BOUND] {
        stream.handle_frame(frame, now);
    }
    let out = sent(&mut stream);
    let enable = out.last().expect("enable sent");
    assert!(enable.is("enable", ns::SM), "{out:?}");
    stream.handle_frame("<enabled xmlns='urn:xmpp:sm:3'/>", now);
    for _ in 0..3 {
        stream.handle_frame("<presence xmlns='jabber:client' from='r@c/x'/>", now);
    }
    stream.handle_frame(
        "<iq xmlns='jabber:client' type='get' id='p9' from='guest.meet.test'><ping xmlns='urn:xmpp:ping'/></iq>",
        now,
    );
    sent(&mut stream);
    stream.handle_frame("<r xmlns='urn:xmpp:sm:3'/>", now);
    let out = sent(&mut stream);
    assert!(out[0].is("a", ns::SM));
    assert_eq!(out[0].attr("h"), Some("4"));

    // Without the offer, nothing is enabled and requests are not answered.
    let features = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
                    <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
    let mut stream = Stream::new(config(Auth::Anonymous), now, 7);
    for frame in [OPEN, FEATURES_SASL, SUCCESS, OPEN, features, BOUND] {
        stream.handle_frame(frame, now);
    }
    assert!(!sent(&mut stream).iter().any(|e| e.is("enable", ns::SM)));
    stream.handle_frame("<r xmlns='urn:xmpp:sm:3'/>", now);
    assert!(sent(&mut stream).is_empty());
}
