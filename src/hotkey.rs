//! The push-to-talk key held while another window is in front.
//!
//! On an X11 session a thread of its own asks the X server (XInput 2 raw key events on the root
//! window, as the official Mumble client does) for presses and releases, and compares each key
//! code with the chosen key's; it keeps nothing else. It runs only while a call in push-to-talk
//! mode is on screen, costs nothing between key presses (it blocks on the X connection), and
//! stops when dropped.
//!
//! Only function keys are watched this way: Space is typed in every other program, so it stays a
//! key of palabre's window. Wayland gives no program the keys of others (a portal for global
//! shortcuts exists, without key releases), and Windows and macOS are not done yet: there the key
//! works while palabre's window is in front.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The X11 key symbol of a push-to-talk key that may be watched outside the window (F1–F12).
pub fn global_keysym(key: &str) -> Option<u32> {
    let n: u32 = key.strip_prefix('F')?.parse().ok()?;
    // XK_F1 is 0xffbe; F1–F12 follow each other.
    (1..=12).contains(&n).then(|| 0xffbe + n - 1)
}

/// The X display on which palabre may see a key held in another window: `DISPLAY` in an X11
/// session (not Wayland, whose XWayland only sees keys typed in X windows).
pub fn x11_display() -> Option<String> {
    let wayland = std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
    let display = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty());
    display.filter(|_| cfg!(all(unix, not(target_os = "macos"))) && !wayland)
}

/// A key watched on the whole desktop while this lives.
pub struct GlobalKey {
    held: Arc<AtomicBool>,
    /// Why watching could not start, once the watcher's thread found out.
    failure: Arc<OnceLock<String>>,
    #[cfg(all(unix, not(target_os = "macos")))]
    x11: x11::Watcher,
}

impl std::fmt::Debug for GlobalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalKey")
            .field("held", &self.held())
            .finish()
    }
}

impl GlobalKey {
    /// Watches `key` (one of F1–F12) on the X server `display` (`:N`; `None`: `DISPLAY`'s);
    /// `wake` is called on each press and release, and if watching cannot start. Returns at
    /// once: the connection to the X server is made on the watcher's own thread, so the window
    /// never waits for it; [`GlobalKey::failure`] then says why it could not start. The error
    /// is a sentence, for a key or a system that cannot be watched at all.
    pub fn watch_on(
        display: Option<&str>,
        key: &str,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Self, String> {
        let Some(keysym) = global_keysym(key) else {
            return Err(format!("{key} is not watched outside the window."));
        };
        let held = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(OnceLock::new());
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            let x11 = x11::Watcher::start(
                display.map(str::to_owned),
                keysym,
                held.clone(),
                failure.clone(),
                wake,
            )?;
            Ok(Self { held, failure, x11 })
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            let _ = (display, keysym, wake, held, failure);
            Err("Keys held in other windows are not seen on this system yet.".to_owned())
        }
    }

    /// Whether the key is held now.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// Why watching could not start (no X server, no XInput 2…), once the watcher's thread
    /// has found out; `None` while it starts or runs.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
impl Drop for GlobalKey {
    fn drop(&mut self) {
        self.x11.stop();
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
mod x11 {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex, OnceLock};

    use x11rb::connection::Connection as _;
    use x11rb::protocol::Event;
    use x11rb::protocol::xinput::{self, ConnectionExt as _, XIEventMask};
    use x11rb::protocol::xproto::{
        ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, WindowClass,
    };
    use x11rb::rust_connection::RustConnection;

    /// XInput's "all master devices".
    const ALL_MASTER_DEVICES: u16 = 1;

    /// What stopping needs once the thread has set up its connection.
    struct Stopper {
        connection: Arc<RustConnection>,
        /// An input-only window of ours: a message sent to it wakes the thread to stop.
        window: u32,
    }

    /// Shared by the thread and [`Watcher::stop`], under one lock, so a stop during set-up is
    /// never missed: either the thread sees `stopped` before it watches, or `stop` finds the
    /// stopper and wakes it.
    #[derive(Default)]
    struct StopState {
        stopped: bool,
        stopper: Option<Stopper>,
    }

    pub(super) struct Watcher {
        /// Looked at by the thread between events.
        stop: Arc<AtomicBool>,
        state: Arc<Mutex<StopState>>,
    }

    impl Watcher {
        /// Starts the thread, which connects to the X server, selects the raw key events and
        /// watches; a failure to set up goes into `failure` and wakes the window.
        pub(super) fn start(
            display: Option<String>,
            keysym: u32,
            held: Arc<AtomicBool>,
            failure: Arc<OnceLock<String>>,
            wake: Arc<dyn Fn() + Send + Sync>,
        ) -> Result<Self, String> {
            let stop = Arc::new(AtomicBool::new(false));
            let state = Arc::new(Mutex::new(StopState::default()));
            let (thread_stop, thread_state) = (stop.clone(), state.clone());
            std::thread::Builder::new()
                .name("palabre-keys".into())
                .spawn(move || {
                    let (connection, keycode, window) = match set_up(display.as_deref(), keysym) {
                        Ok(ready) => ready,
                        Err(sentence) => {
                            failure.set(sentence).ok();
                            wake();
                            return;
                        }
                    };
                    let connection = Arc::new(connection);
                    {
                        let Ok(mut shared) = thread_state.lock() else {
                            return;
                        };
                        if shared.stopped {
                            return;
                        }
                        shared.stopper = Some(Stopper {
                            connection: connection.clone(),
                            window,
                        });
                    }
                    watch(&connection, keycode, &held, &thread_stop, &*wake);
                })
                .map_err(|e| format!("No thread for the key ({e})."))?;
            Ok(Self { stop, state })
        }

        /// Asks the thread to stop, without waiting for it: a message to its window wakes it
        /// if it is watching; if it is still setting up, it finds `stopped` when done.
        pub(super) fn stop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            let stopper = match self.state.lock() {
                Ok(mut shared) => {
                    shared.stopped = true;
                    shared.stopper.take()
                }
                Err(_) => None,
            };
            if let Some(stopper) = stopper {
                let message = ClientMessageEvent::new(32, stopper.window, 0u32, [0u32; 5]);
                if stopper
                    .connection
                    .send_event(false, stopper.window, EventMask::NO_EVENT, message)
                    .is_ok()
                {
                    stopper.connection.flush().ok();
                }
            }
        }
    }

    /// The connection with the raw key events of the root window selected, the key's code,
    /// and an input-only window of ours; or why not, as a sentence.
    fn set_up(display: Option<&str>, keysym: u32) -> Result<(RustConnection, u32, u32), String> {
        let (connection, screen) = x11rb::connect(display)
            .map_err(|e| format!("The X server could not be reached ({e})."))?;
        let failed = |e: &dyn std::fmt::Display| format!("The X server refused ({e}).");
        let version = connection
            .xinput_xi_query_version(2, 0)
            .map_err(|e| failed(&e))?
            .reply()
            .map_err(|_| "The X server has no XInput 2.".to_owned())?;
        if version.major_version < 2 {
            return Err("The X server has no XInput 2.".to_owned());
        }
        let setup = connection.setup();
        let root = setup
            .roots
            .get(screen)
            .ok_or_else(|| "The X server has no such screen.".to_owned())?
            .root;
        let (first, last) = (setup.min_keycode, setup.max_keycode);
        let mapping = connection
            .get_keyboard_mapping(first, last.saturating_sub(first).saturating_add(1))
            .map_err(|e| failed(&e))?
            .reply()
            .map_err(|e| failed(&e))?;
        let per_code = usize::from(mapping.keysyms_per_keycode.max(1));
        let keycode = mapping
            .keysyms
            .chunks(per_code)
            .position(|symbols| symbols.contains(&keysym))
            .map(|i| u32::from(first) + i as u32)
            .ok_or_else(|| "The keyboard has no such key.".to_owned())?;
        connection
            .xinput_xi_select_events(
                root,
                &[xinput::EventMask {
                    deviceid: ALL_MASTER_DEVICES,
                    mask: vec![XIEventMask::RAW_KEY_PRESS | XIEventMask::RAW_KEY_RELEASE],
                }],
            )
            .map_err(|e| failed(&e))?
            .check()
            .map_err(|e| failed(&e))?;
        let window = connection.generate_id().map_err(|e| failed(&e))?;
        connection
            .create_window(
                0,
                window,
                root,
                0,
                0,
                1,
                1,
                0,
                WindowClass::INPUT_ONLY,
                0,
                &CreateWindowAux::new(),
            )
            .map_err(|e| failed(&e))?
            .check()
            .map_err(|e| failed(&e))?;
        Ok((connection, keycode, window))
    }

    /// The thread: blocks on the connection; a press or release of `keycode` sets `held`.
    fn watch(
        connection: &RustConnection,
        keycode: u32,
        held: &AtomicBool,
        stop: &AtomicBool,
        wake: &(dyn Fn() + Send + Sync),
    ) {
        while !stop.load(Ordering::Relaxed) {
            let down = match connection.wait_for_event() {
                Ok(Event::XinputRawKeyPress(event)) if event.detail == keycode => true,
                Ok(Event::XinputRawKeyRelease(event)) if event.detail == keycode => false,
                Ok(_) => continue,
                Err(error) => {
                    tracing::info!(%error, "the X connection for the push-to-talk key closed");
                    break;
                }
            };
            if held.swap(down, Ordering::Relaxed) != down {
                wake();
            }
        }
        if held.swap(false, Ordering::Relaxed) {
            wake();
        }
    }
}
