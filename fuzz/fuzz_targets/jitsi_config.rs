//! Fuzzes the `config.js` evaluator (`palabre::net::jitsi::discovery::evaluate`): JavaScript
//! from whatever server a room link names, run in QuickJS under memory, stack and time limits.
//!
//! The first byte picks the link (without a tenant, with one, or `http://`); the rest is the
//! script. Checked: nothing panics or aborts; an accepted configuration has the required
//! domains in lowercase and a WebSocket address (or a sentence saying why not) that keeps the
//! link's security and carries the room; every error is a sentence.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palabre::link::{Link, parse};
use palabre::net::jitsi::discovery::{evaluate, websocket_url};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, script)) = data.split_first() else {
        return;
    };
    let Ok(script) = std::str::from_utf8(script) else {
        return;
    };
    let text = match choice % 3 {
        0 => "https://meet.example.org/Some%20Room",
        1 => "https://meet.example.org/Team.One/Room",
        _ => "http://127.0.0.1:8000/room",
    };
    let Ok(Link::Jitsi(link)) = parse(text) else {
        panic!("{text} is a Jitsi link");
    };
    match evaluate(script, &link) {
        Ok(config) => {
            for domain in [
                &config.domain,
                &config.muc,
                &config.focus,
                &config.auth_domain,
            ] {
                assert!(!domain.is_empty());
                assert_eq!(domain, &domain.to_ascii_lowercase());
            }
            match websocket_url(&config, &link) {
                Ok(url) => {
                    assert!(url.scheme() == "wss" || (!link.secure && url.scheme() == "ws"));
                    let room = link.muc_room();
                    assert!(
                        url.query_pairs()
                            .any(|(k, v)| k == "room" && v == room.as_str())
                    );
                }
                Err(error) => assert!(error.to_string().ends_with('.')),
            }
        }
        Err(error) => {
            let sentence = error.to_string();
            assert!(sentence.ends_with('.'), "{sentence}");
        }
    }
});
