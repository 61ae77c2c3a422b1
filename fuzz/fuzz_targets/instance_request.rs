//! Fuzzes the single-instance request parser (`palabre::instance::parse_request`): what another
//! process writes on the window's local socket.
//!
//! Checked: nothing panics; an accepted link is non-empty, trimmed and free of control
//! characters, and it survives the round trip through the line format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palabre::instance::{Request, parse_request};

fuzz_target!(|data: &[u8]| {
    if let Some(Request::Open(link)) = parse_request(data) {
        assert!(!link.is_empty());
        assert_eq!(link.trim(), link);
        assert!(!link.chars().any(char::is_control));
        let again = parse_request(format!("OPEN {link}\n").as_bytes());
        // Platforms with a token (Windows) reject a line without it; Unix has none.
        if cfg!(unix) {
            assert_eq!(again, Some(Request::Open(link)));
        }
    }
});
