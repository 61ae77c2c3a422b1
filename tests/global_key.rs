//! The push-to-talk key held in another window (`src/hotkey.rs`), on a private X server: keys
//! pressed through XTEST, as a keyboard would, reach the watcher whichever window has focus.
#![cfg(all(unix, not(target_os = "macos")))]

#[path = "common/xvfb.rs"]
mod xvfb;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use palabre::hotkey::GlobalKey;
use xvfb::{Keyboard, Xvfb};

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
    // The watcher connects on its own thread: give it the moment it takes.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(watched.failure(), None);

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

    // Dropped, it watches nothing any more, even with no key pressed meanwhile.
    drop(watched);
    keyboard.key("F8", true);
    keyboard.key("F8", false);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(wakes.load(Ordering::Relaxed), 2, "nothing watches any more");

    // Dropped while its thread is still connecting: it never starts watching.
    let early = GlobalKey::watch_on(Some(&xvfb.display), "F8", wake.clone()).expect("watch F8");
    drop(early);
    std::thread::sleep(Duration::from_millis(500));
    keyboard.key("F8", true);
    keyboard.key("F8", false);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        wakes.load(Ordering::Relaxed),
        2,
        "the early drop watches nothing"
    );
}

#[test]
fn only_function_keys_are_watched_and_a_missing_server_is_a_sentence() {
    let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(|| {});
    let space = GlobalKey::watch_on(Some(":0"), "Space", wake.clone()).expect_err("Space");
    assert!(space.contains("Space"), "{space}");
    // The connection is made on the watcher's thread, so the window never waits for it: the
    // failure comes a moment later, and wakes the window.
    let woken = Arc::new(AtomicUsize::new(0));
    let counted = woken.clone();
    let unreachable = GlobalKey::watch_on(
        Some(":4321"),
        "F1",
        Arc::new(move || {
            counted.fetch_add(1, Ordering::Relaxed);
        }),
    )
    .expect("started");
    wait_until("the failure and its wake-up", || {
        unreachable.failure().is_some() && woken.load(Ordering::Relaxed) == 1
    });
    let sentence = unreachable.failure().unwrap_or_default();
    assert!(
        sentence.starts_with("The X server could not be reached"),
        "{sentence}"
    );
    assert!(!unreachable.held());
}
