//! Fuzzes the Mumble session state machine (`palabre::proto::mumble::session`) as a hostile
//! server would drive it: TCP bytes, UDP datagrams, the passing of time and user actions in any
//! order.
//!
//! The input is a list of operations: one byte chooses the operation, the next two give the
//! length of its data (little-endian, capped at what is left).
//!
//! Checked properties:
//! - nothing panics, whatever the server sends;
//! - everything the client writes on TCP is a well-formed frame sequence;
//! - once the session is closed it writes nothing more, and `Closed` is its last event;
//! - the event queue stays bounded by the amount of input.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use palabre::proto::mumble::control::FrameDecoder;
use palabre::proto::mumble::session::{
    ANNOUNCED_VERSION, Session, SessionConfig, SessionEvent, TextTarget, Transmit,
};

fn config() -> SessionConfig {
    SessionConfig {
        username: "fuzz".to_owned(),
        password: None,
        tokens: Vec::new(),
        channel_path: vec!["A".to_owned(), "B".to_owned()],
        self_mute: false,
        self_deaf: false,
        udp: true,
        version: ANNOUNCED_VERSION,
        release: "fuzz".to_owned(),
        os: "fuzz".to_owned(),
        bitrate: 32_000,
        frame_ms: 20,
    }
}

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut now = start;
    let mut session = Session::new(config());
    session.start(now);
    let mut written = FrameDecoder::new();
    let mut closed = false;
    let mut events = 0usize;
    let mut rest = data;
    while let [op, lo, hi, tail @ ..] = rest {
        let len = (usize::from(*lo) | usize::from(*hi) << 8).min(tail.len());
        let (chunk, tail) = tail.split_at(len);
        rest = tail;
        match op % 8 {
            0 | 1 => session.handle_tcp(chunk, now),
            2 => session.handle_udp(chunk, now),
            3 => {
                now += Duration::from_millis(u64::from(*lo) * 40);
                session.handle_timeout(now);
            }
            4 => session.send_audio(chunk, u64::from(*lo), *hi & 1 == 1, false),
            5 => {
                let text = String::from_utf8_lossy(chunk);
                let _ = session.send_text(TextTarget::Channel(u32::from(*lo)), &text);
            }
            6 => match hi % 4 {
                0 => session.set_self_mute(lo & 1 == 1),
                1 => session.set_self_deaf(lo & 1 == 1),
                2 => session.join_channel(u32::from(*lo)),
                _ => session.register_self(),
            },
            _ => session.handle_tcp_closed("fuzz"),
        }
        while let Some(transmit) = session.poll_transmit() {
            assert!(!closed, "wrote after Closed");
            if let Transmit::Tcp(bytes) = transmit {
                written.push(&bytes);
                while let Some(_message) = written.next_message().expect("own frames decode") {}
            }
        }
        while let Some(event) = session.poll_event() {
            assert!(!closed, "an event after Closed: {event:?}");
            events += 1;
            if matches!(event, SessionEvent::Closed(_)) {
                closed = true;
            }
        }
        // The tree can emit one event per message; messages take at least 6 bytes.
        assert!(events <= 64 + data.len(), "{events} events from {} bytes", data.len());
        let _ = session.channel_path(u32::from(*lo));
        let _ = session.poll_timeout();
    }
});
