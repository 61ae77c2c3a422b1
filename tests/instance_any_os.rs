//! The single-instance endpoint through its public API only, so that the same tests run on
//! every system: a Unix socket on Unix, a loopback TCP port with a token elsewhere
//! (`src/instance.rs`). `tests/single_instance.rs` adds the Unix-only checks and the command line.
//! On Linux the Windows build of this file can be run under Wine (see benches/README.md §8).

#[path = "common/instance.rs"]
mod listener;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use listener::bind;
use palabre::instance::{self, Request, Server};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn links_reach_the_running_instance_until_it_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(instance::hand_over(dir.path(), &Request::Focus).is_err());
    let (server, handoff, wakes) = bind(dir.path());
    instance::hand_over(dir.path(), &Request::Open("jitsi-meet://x/Room".into())).expect("open");
    assert_eq!(
        handoff.recv_timeout(WAIT),
        Some(Request::Open("jitsi-meet://x/Room".into()))
    );
    instance::hand_over(dir.path(), &Request::Focus).expect("focus");
    assert_eq!(handoff.recv_timeout(WAIT), Some(Request::Focus));
    let deadline = Instant::now() + WAIT;
    while wakes.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(wakes.load(Ordering::SeqCst), 2);
    // A link on two lines is refused before anything is sent.
    assert!(instance::hand_over(dir.path(), &Request::Open("a\nFOCUS".into())).is_err());
    // A second window does not take the endpoint over.
    let second = Server::bind(dir.path()).expect_err("second bind");
    assert_eq!(second.kind(), std::io::ErrorKind::AddrInUse);
    // Closing removes the endpoint: the next launch opens its own window.
    let endpoint = server.path().to_path_buf();
    drop(server);
    assert!(!endpoint.exists());
    assert!(instance::hand_over(dir.path(), &Request::Focus).is_err());
}

#[test]
fn a_damaged_endpoint_file_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _, _) = bind(dir.path());
    let endpoint = server.path().to_path_buf();
    drop(server);
    // What a crash could leave: garbage where the endpoint was.
    std::fs::write(&endpoint, b"\xff not an endpoint").expect("garbage");
    assert!(instance::hand_over(dir.path(), &Request::Focus).is_err());
    let (_server, handoff, _) = bind(dir.path());
    instance::hand_over(dir.path(), &Request::Open("mumble://h/C".into())).expect("open");
    assert_eq!(
        handoff.recv_timeout(WAIT),
        Some(Request::Open("mumble://h/C".into()))
    );
}

/// Elsewhere than on Unix the port is reachable by every local user: a request without this
/// instance's token is refused and never reaches the window.
#[cfg(not(unix))]
#[test]
fn a_request_without_the_token_is_refused() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, handoff, _) = bind(dir.path());
    let text = std::fs::read_to_string(server.path()).expect("endpoint file");
    let port: u16 = text
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    for line in ["OPEN mumble://evil/x\n", "0123 OPEN mumble://evil/x\n"] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream.write_all(line.as_bytes()).expect("write");
        let mut answer = String::new();
        BufReader::new(stream.take(64))
            .read_line(&mut answer)
            .expect("answer");
        assert_eq!(answer, "ERR\n", "{line:?}");
    }
    assert_eq!(handoff.recv_timeout(Duration::from_millis(300)), None);
    instance::hand_over(dir.path(), &Request::Focus).expect("with the token");
    assert_eq!(handoff.recv_timeout(WAIT), Some(Request::Focus));
}
