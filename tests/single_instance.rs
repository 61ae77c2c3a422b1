//! One window per user: a second launch hands its link to the running one (`src/instance.rs`).
//!
//! The endpoint is tested on temporary folders; the command line's second launch against a
//! listener held by the test; and, where `Xvfb` is installed, the real window end to end (skipped
//! with a note when it is not, unless `PALABRE_REQUIRE_DEVICES=1`).
#![cfg(unix)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
#[path = "common/instance.rs"]
mod listener;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::time::{Duration, Instant};

use listener::bind;
use palabre::instance::{self, MAX_LINE, Request, Server};
use xvfb::Xvfb;

const PALABRE: &str = env!("CARGO_BIN_EXE_palabre");
const WAIT: Duration = Duration::from_secs(5);
const HANDED: &str = "palabre is already open: the link was handed to it.";

/// What the listener answers to raw bytes (then the connection is closed by us).
fn raw_exchange(dir: &Path, bytes: &[u8]) -> String {
    let mut stream = UnixStream::connect(dir.join("instance.sock")).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    // The listener may answer (and close) before reading everything: a failed write is fine.
    let _ = stream.write_all(bytes);
    let mut answer = String::new();
    let _ = BufReader::new(stream.take(64)).read_line(&mut answer);
    answer
}

// Handing over, wake-ups, refusal of a second window and removal on close are tested for every
// system in tests/instance_any_os.rs (which runs here too); only the Unix specifics follow.

#[test]
fn only_its_user_may_reach_the_endpoint_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, _handoff, _) = bind(dir.path());
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path())
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_one_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("instance.sock");
    // A socket file left by an instance that was killed: nobody listens behind it.
    drop(UnixListener::bind(&path).expect("stale socket"));
    assert!(path.exists());
    assert!(instance::hand_over(dir.path(), &Request::Focus).is_err());
    let (_server, handoff, _) = bind(dir.path());
    instance::hand_over(dir.path(), &Request::Open("mumble://a/b".into())).expect("handed");
    assert_eq!(
        handoff.recv_timeout(WAIT),
        Some(Request::Open("mumble://a/b".into()))
    );
    // A live one stays: a second window does not take over the endpoint.
    let err = Server::bind(dir.path()).expect_err("second bind");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    instance::hand_over(dir.path(), &Request::Focus).expect("still the first");
    assert_eq!(handoff.recv_timeout(WAIT), Some(Request::Focus));
}

#[test]
fn garbage_is_refused_and_does_not_disturb_the_listener() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, handoff, _) = bind(dir.path());
    let too_long = [
        b"OPEN mumble://".to_vec(),
        vec![b'a'; MAX_LINE],
        b"\n".to_vec(),
    ]
    .concat();
    let no_newline = vec![b'x'; MAX_LINE + 10];
    for bad in [
        &b"HELLO\n"[..],
        b"OPEN\n",
        b"OPEN \n",
        b"open mumble://x/y\n",
        b"OPEN mumble://x/\x1b[2Jy\n",
        b"\xff\xfe\x00\x01\n",
        &too_long,
        &no_newline,
    ] {
        assert_eq!(
            raw_exchange(dir.path(), bad),
            "ERR\n",
            "{:?}",
            &bad[..bad.len().min(20)]
        );
    }
    // A client that connects and goes away without a word.
    drop(UnixStream::connect(dir.path().join("instance.sock")).expect("connect"));
    // Nothing got through, and the listener still serves.
    assert_eq!(handoff.try_recv(), None);
    assert_eq!(raw_exchange(dir.path(), b"OPEN mumble://x/y\n"), "OK\n");
    assert_eq!(
        handoff.recv_timeout(WAIT),
        Some(Request::Open("mumble://x/y".into()))
    );
    assert_eq!(handoff.try_recv(), None);
}

#[test]
fn the_command_line_hands_over_and_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("config");
    let (_server, handoff, _) = bind(dir.path());
    let out = Command::new(PALABRE)
        .arg("mumble://127.0.0.1:1/Test")
        .env("PALABRE_INSTANCE_DIR", dir.path())
        .env("PALABRE_CONFIG_DIR", config.path())
        // No window may open even by mistake.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("palabre");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), HANDED);
    assert_eq!(
        handoff.recv_timeout(WAIT),
        Some(Request::Open("mumble://127.0.0.1:1/Test".into()))
    );
}

/// The first process, killed when dropped.
struct Window(std::process::Child);

impl Drop for Window {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_launch_reaches_the_real_window() {
    let Some(xvfb) = Xvfb::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tempfile::tempdir().expect("config");
    let log = dir.path().join("first.log");
    let launch = |command: &mut Command| {
        command
            .env("DISPLAY", &xvfb.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("PALABRE_INSTANCE_DIR", dir.path())
            .env("PALABRE_CONFIG_DIR", config.path())
            .env("RUST_LOG", "palabre=info");
    };
    let mut first = Command::new(PALABRE);
    launch(&mut first);
    let first = first
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("first palabre");
    let mut first = Window(first);
    let socket = dir.path().join("instance.sock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        if let Ok(Some(status)) = first.0.try_wait() {
            panic!(
                "the first window exited ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the first window never listened");
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut second = Command::new(PALABRE);
    launch(&mut second);
    let out = second
        .arg("mumble://127.0.0.1:1/Test")
        .output()
        .expect("second palabre");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), HANDED);

    // The window takes it at its next frame (the listener wakes it).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("opened a link handed over by another launch") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first window did not log the link:\n{text}"
        );
        assert!(
            first.0.try_wait().ok().flatten().is_none(),
            "the first window exited:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Still one window.
    assert!(first.0.try_wait().ok().flatten().is_none());
}
