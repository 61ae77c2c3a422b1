//! The push-to-talk key held in another window (`src/hotkey.rs`), on a private X server: keys
//! pressed through XTEST, as a keyboard would, reach the watcher whichever window has focus.
#![cfg(all(unix, not(target_os = "macos")))]

#[path = "common/xvfb.rs"]
mod xvfb;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use palabre::hotkey::{GlobalKey, global_keysym};
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;
use xvfb::Xvfb;

/// A test keyboard on the X server.
struct Keyboard {
    connection: RustConnection,
    root: u32,
}

impl Keyboard {
    fn open(display: &str) -> Self {
        let (connection, screen) = x11rb::connect(Some(display)).expect("connect");
        let root = connection.setup().roots[screen].root;
        Keyboard { connection, root }
    }

    fn keycode(&self, key: &str) -> u8 {
        let keysym = global_keysym(key).expect("a function key");
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

    fn key(&self, key: &str, down: bool) {
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

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_function_key_is_seen_held_and_released_from_anywhere() {
    let Some(xvfb) = Xvfb::start() else { return };
    let wakes = Arc::new(AtomicUsize::new(0));
    let wake = {
        let wakes = wakes.clone();
        Arc::new(move || {
            wakes.fetch_add(1, Ordering::Relaxed);
        })
    };
    let watched = GlobalKey::watch_on(Some(&xvfb.display), "F8", wake.clone()).expect("watch F8");
    let keyboard = Keyboard::open(&xvfb.display);

    // Another key: nothing.
    keyboard.key("F9", true);
    keyboard.key("F9", false);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!watched.held());
    assert_eq!(wakes.load(Ordering::Relaxed), 0);

    // The key: held while down, released when up, the window woken each time.
    keyboard.key("F8", true);
    wait_until("F8 held", || watched.held());
    assert_eq!(wakes.load(Ordering::Relaxed), 1);
    keyboard.key("F8", false);
    wait_until("F8 released", || !watched.held());
    assert_eq!(wakes.load(Ordering::Relaxed), 2);

    // Dropping it stops its thread at once, even with no key pressed.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(watched);
        done_tx.send(()).ok();
    });
    done_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the watcher stopped");
    keyboard.key("F8", true);
    keyboard.key("F8", false);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(wakes.load(Ordering::Relaxed), 2, "nothing watches any more");
}

#[test]
fn only_function_keys_are_watched_and_a_missing_server_is_a_sentence() {
    let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(|| {});
    let space = GlobalKey::watch_on(Some(":0"), "Space", wake.clone()).expect_err("Space");
    assert!(space.contains("Space"), "{space}");
    let unreachable = GlobalKey::watch_on(Some(":4321"), "F1", wake).expect_err("no server");
    assert!(
        unreachable.starts_with("The X server could not be reached"),
        "{unreachable}"
    );
}
