//! Fuzzes the meeting-link parser (`palabre::link::parse`): links pasted by the user, handed
//! over by the desktop or by another launch.
//!
//! Checked: nothing panics; an accepted link prints (without its password) as a link that
//! parses again to the same place.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palabre::link::{Link, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(link) = parse(text) {
        let printed = link.to_string();
        let again = parse(&printed).unwrap_or_else(|e| panic!("{printed:?}: {e}"));
        match (&link, &again) {
            (Link::Mumble(a), Link::Mumble(b)) => {
                assert_eq!(
                    (&a.host, a.port, &a.channel_path),
                    (&b.host, b.port, &b.channel_path)
                );
            }
            (Link::Jitsi(a), Link::Jitsi(b)) => assert_eq!(a, b),
            _ => panic!("{link:?} became {again:?}"),
        }
        let _ = link.title();
    }
});
