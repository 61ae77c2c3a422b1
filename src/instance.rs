//! One window per user: a second launch hands its link to the running window, and the start-up
//! clock the first-frame benchmark reads.
//!
//! The running window listens on a local endpoint only its user can reach: on Unix a Unix domain
//! socket `instance.sock` in [`instance_dir`] (a folder of mode 0700); elsewhere a TCP listener on
//! 127.0.0.1 whose port and a random token are written to `instance.port` in that folder (the
//! token is the first word of each request, so other users on the machine cannot send one).
//!
//! Protocol: one line, `OPEN <link>\n` or `FOCUS\n`, at most [`MAX_LINE`] bytes, answered
//! `OK\n`; anything else is answered `ERR\n` and ignored. The listener thread blocks in `accept`
//! (an idle window pays nothing for it), hands each [`Request`] to a channel and calls a wake
//! callback (the window's `request_repaint`).

use std::io::{self, BufRead as _, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The environment variable that overrides [`instance_dir`] (used by tests).
pub const INSTANCE_DIR_ENV: &str = "PALABRE_INSTANCE_DIR";

/// The longest request line accepted, newline included.
pub const MAX_LINE: usize = 8 * 1024;

/// How long either side waits for the other's line before giving up.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// The endpoint's file inside [`instance_dir`]: the socket (Unix), or the port and token (other
/// systems).
#[cfg(unix)]
const ENDPOINT_FILE: &str = "instance.sock";
#[cfg(not(unix))]
const ENDPOINT_FILE: &str = "instance.port";

static PROCESS_START: OnceLock<Instant> = OnceLock::new();

/// Records the moment the process started; `main` calls it first thing. Later calls do nothing.
pub fn mark_process_start() {
    PROCESS_START.get_or_init(Instant::now);
}

/// The moment recorded by [`mark_process_start`] (or the first call to this function).
pub fn process_start() -> Instant {
    *PROCESS_START.get_or_init(Instant::now)
}

/// What another launch asked of the running window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Come to the front.
    Focus,
    /// Open this link (and come to the front).
    Open(String),
}

/// Where the endpoint lives: `$PALABRE_INSTANCE_DIR` when set and not empty; else
/// `$XDG_RUNTIME_DIR/palabre`; else the config folder; else `palabre-<uid>` in the temporary
/// folder.
pub fn instance_dir(config_dir: Option<&Path>) -> PathBuf {
    if let Some(dir) = std::env::var_os(INSTANCE_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(runtime).join("palabre");
    }
    if let Some(dir) = config_dir {
        return dir.to_path_buf();
    }
    std::env::temp_dir().join(format!("palabre-{}", user_tag()))
}

#[cfg(unix)]
fn user_tag() -> String {
    use std::os::unix::fs::MetadataExt as _;
    // The owner of /proc/self is the process's user; no libc call needed.
    std::fs::metadata("/proc/self").map_or_else(
        |_| std::env::var("USER").unwrap_or_else(|_| "user".to_owned()),
        |m| m.uid().to_string(),
    )
}

#[cfg(not(unix))]
fn user_tag() -> String {
    std::env::var("USERNAME").unwrap_or_else(|_| "user".to_owned())
}

/// Creates `dir` (mode 0700 on Unix) or checks that an existing one belongs to this user and
/// is closed to others.
fn prepare_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let meta = std::fs::metadata(dir)?;
        let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
        if me.is_some_and(|me| meta.uid() != me) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} belongs to another user", dir.display()),
            ));
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Sends `request` to the instance running with its endpoint in `dir`. `Ok` only when it
/// answered `OK`; an error means no instance took it (none runs, or it did not answer).
pub fn hand_over(dir: &Path, request: &Request) -> io::Result<()> {
    let line = match request {
        Request::Focus => "FOCUS\n".to_owned(),
        Request::Open(link) => format!("OPEN {}\n", link.trim()),
    };
    if line.len() > MAX_LINE || line.trim_end().contains(['\n', '\r']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the link is too long or spans lines",
        ));
    }
    let answer = platform::exchange(&dir.join(ENDPOINT_FILE), &line)?;
    if answer == "OK" {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the running instance answered {answer:?}"
        )))
    }
}

/// Reads one request line (at most [`MAX_LINE`] bytes) and answers it; the accepted request is
/// returned. Never panics, whatever the bytes.
fn serve_one(stream: impl Read + Write) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut raw = Vec::new();
    let request = match reader
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut raw)
    {
        Ok(_) if raw.last() == Some(&b'\n') => parse_request(&raw),
        _ => None,
    };
    let answer: &[u8] = if request.is_some() { b"OK\n" } else { b"ERR\n" };
    let stream = reader.get_mut();
    // The other side may be gone already: nothing to do about it.
    let _ = stream.write_all(answer).and_then(|()| stream.flush());
    request
}

/// Reads one request line as another launch sent it: `OPEN <link>` or `FOCUS` (with the
/// newline), in UTF-8 with no control character; `None` for anything else. Never panics (a
/// cargo-fuzz target checks it).
pub fn parse_request(raw: &[u8]) -> Option<Request> {
    let line = std::str::from_utf8(raw).ok()?.strip_suffix('\n')?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.chars().any(char::is_control) {
        return None;
    }
    let line = platform::check_token(line)?;
    if line == "FOCUS" {
        return Some(Request::Focus);
    }
    let link = line.strip_prefix("OPEN ")?.trim();
    (!link.is_empty()).then(|| Request::Open(link.to_owned()))
}

type Wake = Arc<OnceLock<Box<dyn Fn() + Send + Sync>>>;

/// The window's end of the endpoint: requests from other launches, and the wake callback the
/// listener calls after each one.
pub struct Handoff {
    requests: Receiver<Request>,
    wake: Wake,
}

impl Handoff {
    /// Sets the callback called after each request (once; later calls are ignored). Requests
    /// that came before wait in the channel.
    pub fn set_wake(&self, wake: Box<dyn Fn() + Send + Sync>) {
        let _ = self.wake.set(wake);
    }

    /// The next request waiting, if any (never blocks).
    pub fn try_recv(&self) -> Option<Request> {
        self.requests.try_recv().ok()
    }

    /// The next request, waiting at most `timeout` (for tests).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Request> {
        self.requests.recv_timeout(timeout).ok()
    }
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff").finish_non_exhaustive()
    }
}

/// The listening endpoint of the running window. Dropping it stops the listener thread and
/// removes the endpoint file.
pub struct Server {
    path: PathBuf,
    handoff: Option<Handoff>,
    stop: Arc<AtomicBool>,
    #[cfg(not(unix))]
    port: u16,
}

impl Server {
    /// Binds the endpoint in `dir` (created if needed) and starts the listener thread. An
    /// endpoint left by an instance that no longer answers is replaced; one whose instance
    /// answers is an `AddrInUse` error.
    pub fn bind(dir: &Path) -> io::Result<Server> {
        prepare_dir(dir)?;
        let path = dir.join(ENDPOINT_FILE);
        let (tx, rx) = mpsc::channel();
        let wake: Wake = Arc::new(OnceLock::new());
        let stop = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        platform::bind(&path, tx, Arc::clone(&wake), Arc::clone(&stop))?;
        #[cfg(not(unix))]
        let port = platform::bind(&path, tx, Arc::clone(&wake), Arc::clone(&stop))?;
        Ok(Server {
            path,
            handoff: Some(Handoff { requests: rx, wake }),
            stop,
            #[cfg(not(unix))]
            port,
        })
    }

    /// The endpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the requests' end (once; `None` afterwards).
    pub fn take_handoff(&mut self) -> Option<Handoff> {
        self.handoff.take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocked `accept` so that the thread sees `stop` and ends, then remove the file.
        #[cfg(unix)]
        let _ = std::os::unix::net::UnixStream::connect(&self.path);
        #[cfg(not(unix))]
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        let _ = std::fs::remove_file(&self.path);
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Hands each accepted request to `tx` and wakes the window; returns when `stop` is set or the
/// window's end is gone.
fn accept_loop<S: Read + Write>(
    mut accept: impl FnMut() -> io::Result<S>,
    tx: &Sender<Request>,
    wake: &Wake,
    stop: &AtomicBool,
) {
    loop {
        let stream = accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // A failed accept (e.g. too many open files): wait a little rather than spin.
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        if let Some(request) = serve_one(stream) {
            if tx.send(request).is_err() {
                return;
            }
            if let Some(wake) = wake.get() {
                wake();
            }
        }
    }
}

#[cfg(unix)]
mod platform {
    use super::{IO_TIMEOUT, Request, Wake, accept_loop};
    use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::Path;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc::Sender;

    pub(super) fn exchange(path: &Path, line: &str) -> io::Result<String> {
        let mut stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.write_all(line.as_bytes())?;
        let mut answer = String::new();
        BufReader::new(stream.take(64)).read_line(&mut answer)?;
        Ok(answer.trim_end().to_owned())
    }

    /// No token on Unix: the folder's mode keeps other users out.
    pub(super) fn check_token(line: &str) -> Option<&str> {
        Some(line)
    }

    pub(super) fn bind(
        path: &Path,
        tx: Sender<Request>,
        wake: Wake,
        stop: Arc<AtomicBool>,
    ) -> io::Result<()> {
        let listener = match UnixListener::bind(path) {
            Ok(listener) => listener,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                if UnixStream::connect(path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("another palabre listens on {}", path.display()),
                    ));
                }
                // Left by an instance that ended without cleaning up.
                std::fs::remove_file(path)?;
                UnixListener::bind(path)?
            }
            Err(e) => return Err(e),
        };
        std::thread::Builder::new()
            .name("palabre-instance".to_owned())
            .spawn(move || {
                accept_loop(
                    || {
                        let (stream, _) = listener.accept()?;
                        stream.set_read_timeout(Some(IO_TIMEOUT))?;
                        stream.set_write_timeout(Some(IO_TIMEOUT))?;
                        Ok(stream)
                    },
                    &tx,
                    &wake,
                    &stop,
                );
            })?;
        Ok(())
    }
}

#[cfg(not(unix))]
mod platform {
    use super::{IO_TIMEOUT, Request, Wake, accept_loop};
    use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    use std::path::Path;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc::Sender;
    use std::sync::{Arc, OnceLock};

    /// This instance's token, checked on each request.
    static TOKEN: OnceLock<String> = OnceLock::new();

    /// Reads `port token` from the endpoint file.
    fn read_endpoint(path: &Path) -> io::Result<(u16, String)> {
        let text = std::fs::read_to_string(path)?;
        let mut words = text.split_whitespace();
        let port = words.next().and_then(|p| p.parse().ok());
        match (port, words.next()) {
            (Some(port), Some(token)) => Ok((port, token.to_owned())),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "damaged instance file",
            )),
        }
    }

    pub(super) fn exchange(path: &Path, line: &str) -> io::Result<String> {
        let (port, token) = read_endpoint(path)?;
        let mut stream =
            TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), IO_TIMEOUT)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.write_all(format!("{token} {line}").as_bytes())?;
        let mut answer = String::new();
        BufReader::new(stream.take(64)).read_line(&mut answer)?;
        Ok(answer.trim_end().to_owned())
    }

    pub(super) fn check_token(line: &str) -> Option<&str> {
        let (token, rest) = line.split_once(' ')?;
        (Some(token) == TOKEN.get().map(String::as_str)).then_some(rest)
    }

    pub(super) fn bind(
        path: &Path,
        tx: Sender<Request>,
        wake: Wake,
        stop: Arc<AtomicBool>,
    ) -> io::Result<u16> {
        if exchange(path, "FOCUS\n").is_ok_and(|answer| answer == "OK") {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another palabre is running",
            ));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let token = TOKEN
            .get_or_init(|| format!("{:032x}", rand::random::<u128>()))
            .clone();
        std::fs::write(path, format!("{port} {token}\n"))?;
        std::thread::Builder::new()
            .name("palabre-instance".to_owned())
            .spawn(move || {
                accept_loop(
                    || {
                        let (stream, _) = listener.accept()?;
                        stream.set_read_timeout(Some(IO_TIMEOUT))?;
                        stream.set_write_timeout(Some(IO_TIMEOUT))?;
                        Ok(stream)
                    },
                    &tx,
                    &wake,
                    &stop,
                );
            })?;
        Ok(port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_and_refuses_the_rest() {
        assert_eq!(parse_request(b"FOCUS\n"), Some(Request::Focus));
        assert_eq!(
            parse_request(b"OPEN mumble://x/y\r\n"),
            Some(Request::Open("mumble://x/y".into()))
        );
        for bad in [
            &b"OPEN \n"[..],
            b"OPEN mumble://x\x07\n",
            b"HELLO\n",
            b"\xff\xfe\n",
            b"FOCUS",
            b"",
        ] {
            assert_eq!(parse_request(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn serves_one_line_and_answers() {
        struct Duplex(io::Cursor<Vec<u8>>, Vec<u8>);
        impl Read for Duplex {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl Write for Duplex {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.1.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut ok = Duplex(io::Cursor::new(b"OPEN a\nrest".to_vec()), Vec::new());
        assert_eq!(serve_one(&mut ok), Some(Request::Open("a".into())));
        assert_eq!(ok.1, b"OK\n");
        let long = [b"OPEN ".to_vec(), vec![b'a'; MAX_LINE], b"\n".to_vec()].concat();
        let mut too_long = Duplex(io::Cursor::new(long), Vec::new());
        assert_eq!(serve_one(&mut too_long), None);
        assert_eq!(too_long.1, b"ERR\n");
    }
}
