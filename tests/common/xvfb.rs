//! A private X server for the tests that need one (`Xvfb`, Debian package xvfb), and a keyboard
//! to press keys on it.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

#[cfg(all(unix, not(target_os = "macos")))]
use x11rb::connection::Connection as _;
#[cfg(all(unix, not(target_os = "macos")))]
use x11rb::protocol::xproto::{self, ConnectionExt as _};
#[cfg(all(unix, not(target_os = "macos")))]
use x11rb::protocol::xtest::ConnectionExt as _;

/// A private X server; killed when dropped.
pub struct Xvfb {
    child: Child,
    /// The display, as in `DISPLAY` (`:N`).
    pub display: String,
}

impl Xvfb {
    /// `None` (with a note) when Xvfb is not installed and not required.
    pub fn start() -> Option<Xvfb> {
        let required = std::env::var("PALABRE_REQUIRE_DEVICES").is_ok_and(|v| v == "1");
        // -displayfd: Xvfb picks a free display and writes its number on standard output.
        let child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) if !required => {
                eprintln!("skipped: Xvfb could not be started ({e}); install xvfb");
                return None;
            }
            Err(e) => panic!("PALABRE_REQUIRE_DEVICES=1 but Xvfb could not be started: {e}"),
        };
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("display");
        let display = format!(":{}", line.trim());
        assert!(display.len() > 1, "Xvfb gave no display");
        Some(Xvfb { child, display })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A keyboard of the test's on the X server (XTEST), pressing keys as a real one would.
#[cfg(all(unix, not(target_os = "macos")))]
pub struct Keyboard {
    connection: x11rb::rust_connection::RustConnection,
    root: u32,
}

#[cfg(all(unix, not(target_os = "macos")))]
impl Keyboard {
    /// A keyboard on the X server `display`.
    pub fn open(display: &str) -> Self {
        let (connection, screen) = x11rb::connect(Some(display)).expect("connect");
        let root = connection.setup().roots[screen].root;
        Keyboard { connection, root }
    }

    /// The key code of a function key (`F1`–`F12`).
    pub fn keycode(&self, key: &str) -> u8 {
        let keysym = palabre::hotkey::global_keysym(key).expect("a function key");
        let (first, last) = (
            self.connection.setup().min_keycode,
            self.connection.setup().max_keycode,
        );
        let mapping = self
            .connection
            .get_keyboard_mapping(first, last - first + 1)
            .expect("request")
            .reply()
            .expect("mapping");
        let per_code = usize::from(mapping.keysyms_per_keycode);
        let index = mapping
            .keysyms
            .chunks(per_code)
            .position(|symbols| symbols.contains(&keysym))
            .expect("the key is on the keyboard");
        first + index as u8
    }

    /// Presses (`down`) or releases a function key.
    pub fn key(&self, key: &str, down: bool) {
        let kind = if down {
            xproto::KEY_PRESS_EVENT
        } else {
            xproto::KEY_RELEASE_EVENT
        };
        let code = self.keycode(key);
        self.connection
            .xtest_fake_input(kind, code, x11rb::CURRENT_TIME, self.root, 0, 0, 0)
            .expect("fake input")
            .check()
            .expect("XTEST");
        self.connection.flush().expect("flush");
    }
}
