//! Fuzzes the Jitsi XMPP stream and conference state machines
//! (`palabre::proto::jitsi::{xml, xmpp, conference}`) as a hostile server would drive them:
//! WebSocket text frames, the passing of time and user actions in any order.
//!
//! The conference is first taken through a normal opening (so that the fuzzer spends its time
//! on stanzas, not on reaching the room); then the input is a list of operations: one byte
//! chooses the operation, the next two give the length of its data (little-endian, capped at
//! what is left).
//!
//! Checked properties:
//! - nothing panics, whatever the server sends;
//! - everything palabre sends is one well-formed element within the limits;
//! - once the conference has ended, nothing more happens;
//! - the event queue stays bounded by the amount of input.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use palabre::proto::jitsi::conference::{self, Conference, ConferenceConfig, ConferenceEvent};
use palabre::proto::jitsi::xml;
use palabre::proto::jitsi::xmpp::{Auth, StreamConfig};

const OPENING: [&str; 9] = [
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='guest.meet.test' id='1' version='1.0'/>",
    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>",
    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='guest.meet.test' id='2' version='1.0'/>",
    "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
    "<iq xmlns='jabber:client' type='result' id='palabre-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>abcdef12-3456@guest.meet.test/r</jid></bind></iq>",
    "<iq xmlns='jabber:client' type='result' id='p1-1' from='focus.meet.test'><conference xmlns='http://jitsi.org/protocol/focus' ready='true'/></iq>",
    "<presence xmlns='jabber:client' from='room@conference.meet.test/abcdef12'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>",
    "<presence xmlns='jabber:client' from='room@conference.meet.test/0badc0de'><nick xmlns='http://jabber.org/protocol/nick'>Ana</nick><SourceInfo>{\"0badc0de-a0\":{\"muted\":false}}</SourceInfo></presence>",
];

fn config() -> ConferenceConfig {
    ConferenceConfig {
        stream: StreamConfig {
            domain: "guest.meet.test".to_owned(),
            auth: Auth::Anonymous,
            features: conference::features(),
            caps_node: "fuzz".to_owned(),
        },
        room: "room@conference.meet.test".to_owned(),
        focus: "focus.meet.test".to_owned(),
        display_name: "Fuzz".to_owned(),
        password: Some("pw".to_owned()),
        machine_uid: "0123".to_owned(),
        audio_muted: false,
    }
}

fn drain(conference: &mut Conference, ended: &mut bool, events: &mut usize) {
    while let Some(frame) = conference.poll_transmit() {
        assert!(xml::parse(&frame).is_ok(), "palabre sent a malformed frame: {frame}");
    }
    while let Some(event) = conference.poll_event() {
        assert!(!*ended, "an event after the end: {event:?}");
        *events += 1;
        if matches!(event, ConferenceEvent::Ended(_)) {
            *ended = true;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    // The id of the conference request depends on the seed: 1 gives "p1-1".
    let mut conference = Conference::new(config(), now, 1);
    let mut ended = false;
    let mut events = 0usize;
    for frame in OPENING {
        conference.handle_frame(frame, now);
        drain(&mut conference, &mut ended, &mut events);
    }
    let mut rest = data;
    let mut operations = 0usize;
    while rest.len() >= 3 {
        let op = rest[0];
        let len = (usize::from(u16::from_le_bytes([rest[1], rest[2]]))).min(rest.len() - 3);
        let chunk = &rest[3..3 + len];
        rest = &rest[3 + len..];
        operations += 1;
        match op % 8 {
            0..=3 => conference.handle_frame(&String::from_utf8_lossy(chunk), now),
            4 => {
                now += Duration::from_millis(u64::from(chunk.first().copied().unwrap_or(0)) * 100);
                conference.handle_timeout(now);
            }
            5 => conference.send_chat(&String::from_utf8_lossy(chunk), None),
            6 => match chunk.first().copied().unwrap_or(0) % 4 {
                0 => conference.set_audio_muted(true),
                1 => conference.set_audio_muted(false),
                2 => conference.set_raised_hand(Some(1)),
                _ => conference.handle_disconnect(now),
            },
            _ => conference.leave(now),
        }
        drain(&mut conference, &mut ended, &mut events);
        assert!(events <= 16 + operations * 8, "events pile up: {events}");
    }
});
