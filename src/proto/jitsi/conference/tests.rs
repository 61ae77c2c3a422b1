//! The conference fed with what Prosody and the focus send.

use super::*;

const ROOM: &str = "myroom@conference.meet.test";
const ME: &str = "6F1E2D3C-aaaa-bbbb@guest.meet.test/AbCd";
const EP: &str = "6f1e2d3c";

fn config() -> ConferenceConfig {
    ConferenceConfig {
        stream: StreamConfig {
            domain: "guest.meet.test".to_owned(),
            auth: xmpp::Auth::Anonymous,
            features: features(),
            caps_node: "https://palabre.example/caps".to_owned(),
        },
        room: ROOM.to_owned(),
        focus: "focus.meet.test".to_owned(),
        display_name: "Zoé".to_owned(),
        password: None,
        machine_uid: "0123456789abcdef".to_owned(),
        audio_muted: false,
    }
}

struct Harness {
    conference: Conference,
    now: Instant,
}

impl Harness {
    /// Connected, with the conference request sent.
    fn connected(config: ConferenceConfig) -> (Harness, Element) {
        let now = Instant::now();
        let mut conference = Conference::new(config, now, 42);
        let frames = [
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='guest.meet.test' id='1' version='1.0'/>",
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>",
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='guest.meet.test' id='2' version='1.0'/>",
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
        ];
        for frame in frames {
            conference.handle_frame(frame, now);
        }
        let mut harness = Harness { conference, now };
        harness.sent();
        harness.frame(&format!(
            "<iq xmlns='jabber:client' type='result' id='palabre-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{ME}</jid></bind></iq>"
        ));
        assert_eq!(
            harness.events(),
            [ConferenceEvent::Connected { jid: ME.to_owned() }]
        );
        let mut sent = harness.sent();
        assert_eq!(sent.len(), 1);
        (harness, sent.remove(0))
    }

    /// Joined the room (the focus said ready, the room echoed the presence).
    fn joined(config: ConferenceConfig) -> Harness {
        let (mut harness, request) = Harness::connected(config);
        harness.answer(&request, "<conference xmlns='http://jitsi.org/protocol/focus' ready='true' focusjid='focus@auth.meet.test'/>");
        let join = harness.sent();
        assert_eq!(join.len(), 1);
        harness.frame(&self_presence());
        assert_eq!(
            harness.events(),
            [ConferenceEvent::Joined {
                endpoint: EP.to_owned()
            }]
        );
        harness
    }

    fn frame(&mut self, text: &str) {
        self.conference.handle_frame(text, self.now);
    }

    fn answer(&mut self, request: &Element, payload: &str) {
        let id = request.attr("id").expect("id");
        self.frame(&format!(
            "<iq xmlns='jabber:client' type='result' id='{id}' from='focus.meet.test'>{payload}</iq>"
        ));
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.conference.handle_timeout(self.now);
    }

    fn sent(&mut self) -> Vec<Element> {
        std::iter::from_fn(|| self.conference.poll_transmit())
            .map(|text| xml::parse(&text).expect("well-formed"))
            .collect()
    }

    fn events(&mut self) -> Vec<ConferenceEvent> {
        std::iter::from_fn(|| self.conference.poll_event()).collect()
    }
}

fn self_presence() -> String {
    format!(
        "<presence xmlns='jabber:client' from='{ROOM}/{EP}' to='{ME}'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/>\
         <status code='110'/></x></presence>"
    )
}

fn join_error(condition: &str, error_type: &str, extra: &str) -> String {
    format!(
        "<presence xmlns='jabber:client' type='error' from='{ROOM}/{EP}' to='{ME}'>\
         <error type='{error_type}'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>{extra}</error></presence>"
    )
}

fn participant_presence(ep: &str, nick: &str, muted: bool) -> String {
    format!(
        "<presence xmlns='jabber:client' from='{ROOM}/{ep}' to='{ME}'>\
         <nick xmlns='http://jabber.org/protocol/nick'>{nick}</nick>\
         <SourceInfo>{{\"{ep}-a0\":{{\"muted\":{muted}}},\"{ep}-v0\":{{\"muted\":true}}}}</SourceInfo>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant' jid='{ep}-x@guest.meet.test/r'/></x>\
         </presence>"
    )
}

#[test]
fn the_conference_request_then_the_join_presence_follow_jitsi() {
    let (mut h, request) = Harness::connected(config());
    assert_eq!(request.attr("to"), Some("focus.meet.test"));
    assert_eq!(request.attr("type"), Some("set"));
    let conference = request
        .get_child("conference", ns::FOCUS)
        .expect("conference");
    assert_eq!(conference.attr("room"), Some(ROOM));
    assert_eq!(conference.attr("machine-uid"), Some("0123456789abcdef"));

    h.answer(
        &request,
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/>",
    );
    let sent = h.sent();
    let presence = &sent[0];
    assert!(presence.is("presence", ns::CLIENT));
    // The nickname is the endpoint id: the first 8 characters of the JID's local part,
    // lowercased.
    assert_eq!(presence.attr("to"), Some(format!("{ROOM}/{EP}").as_str()));
    assert!(presence.has_child("x", ns::MUC));
    assert_eq!(
        presence
            .get_child("nick", ns::NICK)
            .map(Element::text)
            .as_deref(),
        Some("Zoé")
    );
    assert!(presence.has_child("c", ns::CAPS));
    let text = |name: &str| presence.get_child(name, ns::CLIENT).map(Element::text);
    // A random statistics name (42 >> 40 is 0), never the display name.
    assert_eq!(text("stats-id").as_deref(), Some("palabre-000000"));
    assert_eq!(text("jitsi_participant_codecList").as_deref(), Some("vp8"));
    let info: serde_json::Value = serde_json::from_str(
        &presence
            .get_child("SourceInfo", ns::CLIENT)
            .expect("SourceInfo")
            .text(),
    )
    .expect("JSON");
    assert_eq!(info[format!("{EP}-a0")]["muted"], false);
    assert_eq!(info[format!("{EP}-v0")]["muted"], true);

    h.frame(&self_presence());
    assert_eq!(
        h.events(),
        [ConferenceEvent::Joined {
            endpoint: EP.to_owned()
        }]
    );
    assert!(h.conference.is_joined());

    // Later presences (a mute) repeat everything but the MUC join marker.
    h.conference.set_audio_muted(true);
    let sent = h.sent();
    assert!(!sent[0].has_child("x", ns::MUC));
    assert!(
        sent[0]
            .get_child("SourceInfo", ns::CLIENT)
            .expect("info")
            .text()
            .contains("\"muted\":true")
    );
    assert_eq!(
        sent[0]
            .get_child("audiomuted", ns::JITMEET_AUDIO)
            .map(Element::text)
            .as_deref(),
        Some("true")
    );
}

#[test]
fn a_focus_not_ready_is_asked_again_with_growing_pauses() {
    let (mut h, request) = Harness::connected(config());
    h.answer(
        &request,
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='false'/>",
    );
    assert_eq!(
        h.events(),
        [ConferenceEvent::Waiting(Waiting::FocusNotReady)]
    );
    h.advance(Duration::from_millis(999));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(1));
    let again = h.sent();
    assert_eq!(again.len(), 1, "asked again after 1 s");
    h.answer(
        &again[0],
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='false'/>",
    );
    h.advance(Duration::from_millis(1999));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(1));
    let third = h.sent();
    assert_eq!(third.len(), 1, "then after 2 s");
    h.answer(
        &third[0],
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/>",
    );
    assert!(h.sent()[0].is("presence", ns::CLIENT));
}

#[test]
fn a_guest_waits_for_the_host_and_asks_every_five_seconds() {
    let (mut h, request) = Harness::connected(config());
    let id = request.attr("id").expect("id").to_owned();
    h.frame(&format!(
        "<iq xmlns='jabber:client' type='error' id='{id}' from='focus.meet.test'><error type='cancel'>\
         <not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    assert_eq!(h.events(), [ConferenceEvent::Waiting(Waiting::ForHost)]);
    h.advance(HOST_WAIT_RETRY);
    let again = h.sent();
    assert!(again[0].has_child("conference", ns::FOCUS));
    // The host came: now the focus says ready.
    h.answer(
        &again[0],
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/>",
    );
    assert!(h.sent()[0].is("presence", ns::CLIENT));
}

#[test]
fn a_focus_that_never_answers_is_explained() {
    let (mut h, _) = Harness::connected(config());
    h.advance(xmpp::IQ_TIMEOUT);
    assert!(h.sent().iter().any(|e| e.is("close", ns::FRAMING)));
    // The server does not answer the close either.
    h.advance(xmpp::PING_TIMEOUT);
    match h.events().as_slice() {
        [ConferenceEvent::Ended(ConferenceEnd::Refused(phrase))] => {
            let sentence = phrase.to_string();
            assert!(
                sentence.contains("focus.meet.test") && sentence.contains("did not answer"),
                "{sentence}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_join_refusal_becomes_a_sentence() {
    let cases: Vec<(String, bool, ConferenceEnd)> = vec![
        (
            join_error("not-authorized", "auth", ""),
            false,
            ConferenceEnd::PasswordRequired { wrong: false },
        ),
        (
            join_error("not-authorized", "auth", ""),
            true,
            ConferenceEnd::PasswordRequired { wrong: true },
        ),
        (
            join_error("registration-required", "auth", ""),
            false,
            ConferenceEnd::MembersOnly,
        ),
        (
            join_error(
                "not-acceptable",
                "modify",
                "<displayname-required xmlns='http://jitsi.org/jitmeet' lobby='true'/>",
            ),
            false,
            ConferenceEnd::DisplayNameRequired,
        ),
        (
            join_error(
                "not-allowed",
                "cancel",
                "<authentication-required xmlns='http://jitsi.org/jitmeet'/>",
            ),
            false,
            ConferenceEnd::AuthenticationRequired,
        ),
        (
            join_error("service-unavailable", "wait", ""),
            false,
            ConferenceEnd::RoomFull,
        ),
    ];
    for (error, with_password, expected) in cases {
        let mut config = config();
        if with_password {
            config.password = Some("secret".to_owned());
        }
        let (mut h, request) = Harness::connected(config);
        h.answer(
            &request,
            "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/>",
        );
        let join = h.sent();
        assert_eq!(
            join[0]
                .get_child("x", ns::MUC)
                .and_then(|x| x.get_child("password", ns::MUC))
                .map(Element::text),
            with_password.then(|| "secret".to_owned())
        );
        h.frame(&error);
        let sent = h.sent();
        assert!(
            sent.last().is_some_and(|e| e.is("close", ns::FRAMING)),
            "the stream closes: {error}"
        );
        h.frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
        assert_eq!(
            h.events(),
            [ConferenceEvent::Ended(expected.clone())],
            "{error}"
        );
        assert!(!expected.sentence().is_empty());
    }
}

#[test]
fn joining_before_the_room_exists_asks_the_focus_again() {
    let (mut h, request) = Harness::connected(config());
    h.answer(
        &request,
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/>",
    );
    h.sent();
    h.frame(&join_error(
        "not-allowed",
        "cancel",
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Room creation is restricted</text>",
    ));
    assert!(h.events().is_empty());
    h.advance(Duration::from_secs(1));
    let again = h.sent();
    assert!(again[0].has_child("conference", ns::FOCUS), "{again:?}");
}

#[test]
fn the_lobby_is_waited_in_and_an_invitation_lets_palabre_in() {
    let mut config = config();
    config.password = Some("pw".to_owned());
    let (mut h, request) = Harness::connected(config);
    h.answer(
        &request,
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/>",
    );
    h.sent();
    h.frame(&join_error(
        "registration-required",
        "auth",
        "<lobbyroom xmlns='http://jitsi.org/jitmeet'>myroom@lobby.meet.test</lobbyroom>",
    ));
    assert_eq!(h.events(), [ConferenceEvent::Waiting(Waiting::InLobby)]);
    let lobby_join = h.sent();
    assert_eq!(
        lobby_join[0].attr("to"),
        Some(format!("myroom@lobby.meet.test/{EP}").as_str())
    );
    let muc = lobby_join[0].get_child("x", ns::MUC).expect("join marker");
    assert!(
        !muc.has_child("password", ns::MUC),
        "no room password in the lobby"
    );
    assert!(lobby_join[0].has_child("nick", ns::NICK));

    h.frame(&format!(
        "<message xmlns='jabber:client' from='{ROOM}' to='{ME}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <invite from='{ROOM}/mod'/><password>newpw</password></x></message>"
    ));
    let sent = h.sent();
    assert_eq!(
        sent[0].attr("type"),
        Some("unavailable"),
        "leaves the lobby"
    );
    assert_eq!(sent[1].attr("to"), Some(format!("{ROOM}/{EP}").as_str()));
    assert_eq!(
        sent[1]
            .get_child("x", ns::MUC)
            .and_then(|x| x.get_child("password", ns::MUC))
            .map(Element::text)
            .as_deref(),
        Some("newpw")
    );
    h.frame(&self_presence());
    assert_eq!(
        h.events(),
        [ConferenceEvent::Joined {
            endpoint: EP.to_owned()
        }]
    );
}

#[test]
fn a_refusal_in_the_lobby_ends_the_conference() {
    let (mut h, request) = Harness::connected(config());
    h.answer(
        &request,
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/>",
    );
    h.frame(&join_error(
        "registration-required",
        "auth",
        "<lobbyroom xmlns='http://jitsi.org/jitmeet'>myroom@lobby.meet.test</lobbyroom>",
    ));
    h.events();
    h.frame(&format!(
        "<presence xmlns='jabber:client' type='unavailable' from='myroom@lobby.meet.test/{EP}'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><status code='307'/><status code='110'/></x></presence>"
    ));
    h.frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    assert_eq!(
        h.events(),
        [ConferenceEvent::Ended(ConferenceEnd::LobbyRefused)]
    );
}

#[test]
fn participants_come_change_and_go() {
    let mut h = Harness::joined(config());
    h.frame(&participant_presence("a31b53fe", "Ana", false));
    h.frame(&participant_presence("a31b53fe", "Ana", false));
    h.frame(&participant_presence("a31b53fe", "Ana", true));
    h.frame(&format!("<presence xmlns='jabber:client' from='{ROOM}/focus'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>"));
    h.frame(&format!(
        "<presence xmlns='jabber:client' type='unavailable' from='{ROOM}/a31b53fe'/>"
    ));
    let ana = |muted| Participant {
        endpoint: "a31b53fe".to_owned(),
        display_name: "Ana".to_owned(),
        audio_muted: muted,
        raised_hand: None,
        role: "participant".to_owned(),
    };
    assert_eq!(
        h.events(),
        [
            ConferenceEvent::ParticipantJoined(ana(false)),
            ConferenceEvent::ParticipantChanged(ana(true)),
            ConferenceEvent::ParticipantLeft {
                endpoint: "a31b53fe".to_owned()
            },
        ]
    );
    assert!(h.conference.participants().is_empty());
}

#[test]
fn source_info_is_read_like_jicofo() {
    assert!(!source_info_audio_muted(
        r#"{"ab-a0":{"muted":false}}"#,
        "ab"
    ));
    assert!(
        source_info_audio_muted(r#"{"ab-a0":{}}"#, "ab"),
        "absent means muted"
    );
    assert!(source_info_audio_muted(
        r#"{"ab-v0":{"muted":false}}"#,
        "ab"
    ));
    assert!(source_info_audio_muted("not json", "ab"));
    assert!(source_info_audio_muted("[1,2]", "ab"));
}

#[test]
fn jingle_from_the_focus_is_acknowledged_and_handed_up_and_p2p_is_declined() {
    let mut h = Harness::joined(config());
    h.frame(&format!(
        "<iq xmlns='jabber:client' type='set' id='j1' from='{ROOM}/focus' to='{ME}'>\
         <jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s1' initiator='focus@auth.meet.test/focus'/></iq>"
    ));
    let sent = h.sent();
    assert_eq!(sent[0].attr("type"), Some("result"));
    assert_eq!(sent[0].attr("id"), Some("j1"));
    match h.events().as_slice() {
        [ConferenceEvent::Jingle(jingle)] => assert_eq!(jingle.attr("sid"), Some("s1")),
        other => panic!("{other:?}"),
    }

    h.frame(&format!(
        "<iq xmlns='jabber:client' type='set' id='p1' from='{ROOM}/a31b53fe' to='{ME}'>\
         <jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='p2p'/></iq>"
    ));
    let sent = h.sent();
    assert_eq!(sent[0].attr("type"), Some("result"));
    let decline = sent[1].get_child("jingle", ns::JINGLE).expect("jingle");
    assert_eq!(
        sent[1].attr("to"),
        Some(format!("{ROOM}/a31b53fe").as_str())
    );
    assert_eq!(decline.attr("action"), Some("session-terminate"));
    assert_eq!(decline.attr("sid"), Some("p2p"));
    assert!(
        decline
            .get_child("reason", ns::JINGLE)
            .is_some_and(|r| r.has_child("decline", ns::JINGLE))
    );
    assert!(h.events().is_empty());

    // palabre's own Jingle goes to the focus occupant and its answer comes back.
    let id = h
        .conference
        .send_jingle(
            xml::element("jingle", ns::JINGLE).with("action", "session-accept"),
            h.now,
        )
        .expect("sent");
    let sent = h.sent();
    assert_eq!(sent[0].attr("to"), Some(format!("{ROOM}/focus").as_str()));
    h.frame(&format!(
        "<iq xmlns='jabber:client' type='result' id='{id}' from='{ROOM}/focus'/>"
    ));
    assert_eq!(
        h.events(),
        [ConferenceEvent::JingleAnswered { id, result: Ok(()) }]
    );
}

#[test]
fn a_moderator_mute_is_obeyed_and_only_from_the_focus() {
    let mut h = Harness::joined(config());
    h.frame(&format!(
        "<iq xmlns='jabber:client' type='set' id='m1' from='{ROOM}/a31b53fe'><mute xmlns='http://jitsi.org/jitmeet/audio'>true</mute></iq>"
    ));
    assert_eq!(h.sent()[0].attr("type"), Some("error"));
    assert!(!h.conference.audio_muted());
    h.frame(&format!(
        "<iq xmlns='jabber:client' type='set' id='m2' from='{ROOM}/focus'><mute xmlns='http://jitsi.org/jitmeet/audio' actor='x'>true</mute></iq>"
    ));
    let sent = h.sent();
    assert_eq!(sent[0].attr("type"), Some("result"));
    assert!(
        sent[1]
            .get_child("SourceInfo", ns::CLIENT)
            .expect("presence")
            .text()
            .contains("\"muted\":true")
    );
    assert_eq!(h.events(), [ConferenceEvent::MutedByModerator]);
    assert!(h.conference.audio_muted());
}

#[test]
fn the_start_muted_policy_mutes_once() {
    let mut h = Harness::joined(config());
    h.conference.apply_start_muted(false);
    assert!(h.sent().is_empty());
    h.conference.apply_start_muted(true);
    assert!(h.conference.audio_muted());
    let sent = h.sent();
    assert!(
        sent[0]
            .get_child("SourceInfo", ns::CLIENT)
            .expect("presence")
            .text()
            .contains("\"muted\":true")
    );
    assert_eq!(h.events(), [ConferenceEvent::StartedMuted]);
    // The user unmutes; a new session with the same policy does not mute them again.
    h.conference.set_audio_muted(false);
    h.sent();
    h.conference.apply_start_muted(true);
    assert!(!h.conference.audio_muted());
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());
}

#[test]
fn chat_goes_both_ways() {
    let mut h = Harness::joined(config());
    h.frame(&participant_presence("a31b53fe", "Ana", false));
    h.events();
    h.frame(&format!("<message xmlns='jabber:client' type='groupchat' from='{ROOM}/a31b53fe'><body>bonjour</body></message>"));
    h.frame(&format!("<message xmlns='jabber:client' type='chat' from='{ROOM}/a31b53fe'><body>psst</body></message>"));
    h.frame(&format!("<message xmlns='jabber:client' type='groupchat' from='{ROOM}/{EP}'><body>my own echo</body></message>"));
    h.frame(&format!("<message xmlns='jabber:client' type='groupchat' from='{ROOM}/b0b0b0b0'><body>old</body><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/></message>"));
    let chat = |text: &str, from: &str, name: &str, private, history| ConferenceEvent::Chat {
        from: from.to_owned(),
        name: name.to_owned(),
        text: text.to_owned(),
        private,
        history,
    };
    assert_eq!(
        h.events(),
        [
            chat("bonjour", "a31b53fe", "Ana", false, false),
            chat("psst", "a31b53fe", "Ana", true, false),
            chat("old", "b0b0b0b0", "b0b0b0b0", false, true),
        ]
    );
    h.conference.send_chat("salut <tous>", None);
    h.conference.send_chat("à toi", Some("a31b53fe"));
    let sent = h.sent();
    assert_eq!(sent[0].attr("to"), Some(ROOM));
    assert_eq!(sent[0].attr("type"), Some("groupchat"));
    assert_eq!(
        sent[0]
            .get_child("body", ns::CLIENT)
            .map(Element::text)
            .as_deref(),
        Some("salut <tous>")
    );
    assert_eq!(
        sent[1].attr("to"),
        Some(format!("{ROOM}/a31b53fe").as_str())
    );
    assert_eq!(sent[1].attr("type"), Some("chat"));
}

#[test]
fn raised_hand_is_published() {
    let mut h = Harness::joined(config());
    h.conference.set_raised_hand(Some(1_764_000_000_000));
    let sent = h.sent();
    assert_eq!(
        sent[0]
            .get_child("jitsi_participant_raisedHand", ns::CLIENT)
            .map(Element::text)
            .as_deref(),
        Some("1764000000000")
    );
    h.conference.set_raised_hand(None);
    assert_eq!(
        h.sent()[0]
            .get_child("jitsi_participant_raisedHand", ns::CLIENT)
            .map(Element::text)
            .as_deref(),
        Some("")
    );
}

#[test]
fn leaving_waits_for_the_echo_then_closes() {
    let mut h = Harness::joined(config());
    h.conference.leave(h.now);
    let sent = h.sent();
    assert_eq!(sent[0].attr("type"), Some("unavailable"));
    assert_eq!(sent[0].attr("to"), Some(format!("{ROOM}/{EP}").as_str()));
    h.frame(&format!(
        "<presence xmlns='jabber:client' type='unavailable' from='{ROOM}/{EP}'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>"
    ));
    assert!(h.sent()[0].is("close", ns::FRAMING));
    h.frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    assert_eq!(h.events(), [ConferenceEvent::Ended(ConferenceEnd::Left)]);

    // Without an echo, the stream closes after LEAVE_TIMEOUT.
    let mut h = Harness::joined(config());
    h.conference.leave(h.now);
    h.sent();
    h.advance(LEAVE_TIMEOUT);
    assert!(h.sent()[0].is("close", ns::FRAMING));
}

#[test]
fn being_removed_by_a_moderator_is_told() {
    let mut h = Harness::joined(config());
    h.frame(&format!(
        "<presence xmlns='jabber:client' type='unavailable' from='{ROOM}/{EP}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='none'/><status code='307'/><status code='110'/></x></presence>"
    ));
    h.frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    assert_eq!(h.events(), [ConferenceEvent::Ended(ConferenceEnd::Kicked)]);
}

#[test]
fn a_lost_connection_ends_with_its_sentence() {
    let mut h = Harness::joined(config());
    h.conference.handle_disconnect(h.now);
    let events = h.events();
    let [ConferenceEvent::Ended(end @ ConferenceEnd::Connection(_))] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(end.sentence(), "The server closed the connection.");
}

#[test]
fn a_room_that_never_answers_the_join_is_explained() {
    let (mut h, request) = Harness::connected(config());
    h.answer(
        &request,
        "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/>",
    );
    h.sent();
    h.advance(JOIN_TIMEOUT);
    assert!(h.sent().iter().any(|e| e.is("close", ns::FRAMING)));
    h.frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    let events = h.events();
    let [ConferenceEvent::Ended(end @ ConferenceEnd::Refused(_))] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(
        end.sentence(),
        "The meeting room did not answer palabre's request to join."
    );
}

#[test]
fn an_error_on_a_later_presence_does_not_end_the_meeting() {
    let mut h = Harness::joined(config());
    h.conference.set_display_name("Zoé B.");
    h.sent();
    h.frame(&join_error("policy-violation", "wait", ""));
    assert!(h.events().is_empty());
    assert!(h.conference.is_joined());
    assert!(h.sent().is_empty(), "the stream stays open");
}

#[test]
fn jingle_for_an_unknown_session_is_refused() {
    let mut h = Harness::joined(config());
    let jingle = |id: &str, action: &str, sid: &str| {
        format!(
            "<iq xmlns='jabber:client' type='set' id='{id}' from='{ROOM}/focus' to='{ME}'>\
             <jingle xmlns='urn:xmpp:jingle:1' action='{action}' sid='{sid}'/></iq>"
        )
    };
    // Before any session-initiate, a source-add names no known session.
    h.frame(&jingle("j0", "source-add", "s1"));
    let sent = h.sent();
    assert_eq!(sent[0].attr("type"), Some("error"));
    let error = sent[0].get_child("error", ns::CLIENT).expect("error");
    assert!(error.has_child("item-not-found", ns::STANZAS));
    assert!(error.has_child("unknown-session", ns::JINGLE_ERRORS));
    assert!(h.events().is_empty());
    // The session's own actions go up; another sid does not.
    h.frame(&jingle("j1", "session-initiate", "s1"));
    h.frame(&jingle("j2", "source-add", "s1"));
    h.frame(&jingle("j3", "source-add", "old"));
    h.frame(&jingle("j4", "session-terminate", "s1"));
    h.frame(&jingle("j5", "source-remove", "s1"));
    let types: Vec<Option<String>> = h
        .sent()
        .iter()
        .map(|iq| iq.attr("type").map(str::to_owned))
        .collect();
    assert_eq!(
        types,
        [
            Some("result"),
            Some("result"),
            Some("error"),
            Some("result"),
            Some("error")
        ]
        .map(|t| t.map(str::to_owned))
    );
    assert_eq!(h.events().len(), 3);
}
