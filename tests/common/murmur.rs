//! A real Mumble server (Debian's `murmurd`, 1.3.4 here) and an independent Mumble peer
//! (`tests/peers/pymumble_peer.py`, pymumble 1.6.1) for end-to-end tests.
//!
//! Include it with `#[path = "common/murmur.rs"] mod murmur;`.
//!
//! - [`Murmur::start`] runs a private server on its own port (every test may run one, in
//!   parallel) with its state in a temporary directory; [`Murmur::stop`], [`Murmur::kill`],
//!   [`Murmur::restart`] (same port, same database) and [`Murmur::restart_with_new_cert`].
//! - [`Peer`] runs the Python peer against it and parses the JSON line it prints.
//! - [`Murmur::skip_unless_available`] and [`Peer::skip_unless_available`] say why a test is
//!   skipped, or panic when `PALABRE_REQUIRE_SERVERS=1` (set by `scripts/test`): the suite must
//!   not silently skip in CI.
//!
//! Environment: `PALABRE_MURMURD` (default `/usr/sbin/murmurd`), `PALABRE_TEST_PYTHON` (the
//! venv's python that `scripts/test` prepares; default `target/test-venv/bin/python` when it
//! exists), `PALABRE_REQUIRE_SERVERS`.
#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha1::{Digest, Sha1};

/// The SuperUser password every server gets unless the builder says otherwise.
pub const SUPERUSER_PASSWORD: &str = "palabre-superuser";
/// How long a start may take (a first start is about 0.3 s here).
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The system user Debian's package runs murmurd as.
const SERVICE_USER: &str = "mumble-server";

fn required() -> bool {
    std::env::var("PALABRE_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// The murmurd binary: `PALABRE_MURMURD`, or Debian's.
pub fn murmurd_path() -> PathBuf {
    std::env::var_os("PALABRE_MURMURD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/murmurd"))
}

fn command_works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What a Mumble server's answer to the unencrypted UDP ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// `major << 16 | minor << 8 | patch`.
    pub version: u32,
    pub users: u32,
    pub max_users: u32,
    /// Bits per second.
    pub bandwidth: u32,
}

/// Sends the legacy 12-byte server query (4 zero bytes and an 8-byte identifier) to
/// 127.0.0.1:`port` and waits up to `timeout` for its 24-byte answer (`allowping=true`).
pub fn udp_ping(port: u16, timeout: Duration) -> Option<ServerInfo> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    socket.set_read_timeout(Some(timeout)).ok()?;
    let ident: [u8; 8] = rand::random();
    let mut query = [0u8; 12];
    query[4..].copy_from_slice(&ident);
    socket.send_to(&query, (Ipv4Addr::LOCALHOST, port)).ok()?;
    let deadline = Instant::now() + timeout;
    let mut reply = [0u8; 64];
    while Instant::now() < deadline {
        let (len, _) = socket.recv_from(&mut reply).ok()?;
        if len == 24 && reply[4..12] == ident {
            let word =
                |i: usize| u32::from_be_bytes([reply[i], reply[i + 1], reply[i + 2], reply[i + 3]]);
            return Some(ServerInfo {
                version: word(0),
                users: word(12),
                max_users: word(16),
                bandwidth: word(20),
            });
        }
    }
    None
}

/// Whether a socket listens on TCP 127.0.0.1:`port`, read from the kernel's table rather than by
/// connecting: murmurd counts every TCP connection as a user from the moment it accepts it, so a
/// test connection would show in the UDP ping's user count for a while after it closed.
fn tcp_listening(port: u16) -> bool {
    const LISTEN: &str = "0A";
    let local = format!("0100007F:{port:04X}");
    fs::read_to_string("/proc/net/tcp").is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let mut fields = line.split_whitespace().skip(1);
            fields.next() == Some(local.as_str()) && fields.nth(1) == Some(LISTEN)
        })
    })
}

/// Accepts any server certificate: we only want to look at it.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The DER certificate the TLS server on 127.0.0.1:`port` presents (a TLS handshake, then the
/// connection is dropped).
pub fn served_cert_der(port: u16) -> Vec<u8> {
    let provider = palabre::net::tls_provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    let name = ServerName::from(std::net::IpAddr::from(Ipv4Addr::LOCALHOST));
    let mut tls = rustls::ClientConnection::new(Arc::new(config), name).expect("TLS client");
    let mut socket = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    while tls.is_handshaking() {
        tls.complete_io(&mut socket)
            .unwrap_or_else(|e| panic!("TLS handshake with 127.0.0.1:{port}: {e}"));
    }
    tls.peer_certificates()
        .and_then(|chain| chain.first())
        .map(|cert| cert.as_ref().to_vec())
        .unwrap_or_else(|| panic!("127.0.0.1:{port} presented no certificate"))
}

/// Lower-case hex SHA-1 of `der` (the fingerprint Mumble shows and pins).
pub fn sha1_hex(der: &[u8]) -> String {
    Sha1::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-1 of the certificate the server on 127.0.0.1:`port` presents.
pub fn served_cert_sha1(port: u16) -> String {
    sha1_hex(&served_cert_der(port))
}

/// Makes a self-signed ECDSA P-256 certificate and key (PEM) with openssl.
pub fn generate_cert(cert: &Path, key: &Path) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=murmur-test",
            "-keyout",
        ])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .expect("openssl (package openssl) makes the test server's certificate");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// DER of the first certificate in a PEM file (through openssl).
pub fn pem_cert_der(cert: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(cert)
        .output()
        .expect("openssl x509");
    assert!(
        out.status.success(),
        "openssl x509 {}: {}",
        cert.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Whether this process runs as root (the owner of /proc/self is the effective user).
fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A TCP and UDP port on 127.0.0.1 free right now. Taken from 20000–31999, below Linux's
/// ephemeral range (32768–60999), so that no outgoing connection grabs it while a server is down
/// between `kill()` and `restart()`; each process starts at its own offset and each call moves on,
/// so parallel tests and parallel test binaries do not pick the same one.
fn free_port() -> u16 {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::process::id().wrapping_mul(7919) % SPAN;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + (base + n * 7) % SPAN) as u16;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let tcp = TcpListener::bind(address);
        let udp = UdpSocket::bind(address);
        if tcp.is_ok() && udp.is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000–31999");
}

enum CertSource {
    /// A fresh ECDSA certificate from openssl, given to murmurd with sslCert/sslKey.
    Generated,
    /// These PEM files (copied into the server's directory).
    Files(PathBuf, PathBuf),
    /// murmurd's own: generated on first start and stored in its database, so it can not be
    /// replaced by `restart_with_new_cert`.
    Murmurd,
}

/// Options for [`Murmur`]; [`Murmur::start`] covers the common case.
pub struct MurmurBuilder {
    ini: Vec<(String, String)>,
    superuser_password: Option<String>,
    cert: CertSource,
    channels: Vec<String>,
}

impl MurmurBuilder {
    /// An ini key (over the defaults; a key given twice keeps the last value). Values are written
    /// as they are: quote strings with spaces (`"\"Hello there\""`).
    pub fn ini(mut self, key: &str, value: &str) -> Self {
        self.ini.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn ini_all(mut self, pairs: &[(&str, &str)]) -> Self {
        for (key, value) in pairs {
            self = self.ini(key, value);
        }
        self
    }

    /// The SuperUser password set with `murmurd -supw` before the first start (default
    /// [`SUPERUSER_PASSWORD`]); `None` leaves SuperUser without one (no SuperUser login).
    pub fn superuser_password(mut self, password: Option<&str>) -> Self {
        self.superuser_password = password.map(str::to_owned);
        self
    }

    /// Serve this certificate and key (PEM; copied into the server's directory).
    pub fn cert_files(mut self, cert: &Path, key: &Path) -> Self {
        self.cert = CertSource::Files(cert.to_owned(), key.to_owned());
        self
    }

    /// Let murmurd make its own (RSA) certificate, as a fresh real server does. It is stored in
    /// the database: `restart` keeps it and `restart_with_new_cert` is not possible.
    pub fn murmurd_cert(mut self) -> Self {
        self.cert = CertSource::Murmurd;
        self
    }

    /// Permanent channels under Root, created as SuperUser by the peer once the server is up
    /// (needs the peer's Python: see [`Peer::skip_unless_available`]).
    pub fn channel(mut self, name: &str) -> Self {
        self.channels.push(name.to_owned());
        self
    }

    pub fn start(self) -> Murmur {
        let tempdir = tempfile::Builder::new()
            .prefix("palabre-murmur-")
            .tempdir()
            .expect("temporary directory");
        let dir = tempdir.path().to_owned();
        let run_as = (running_as_root() && command_works("id", &["-u", SERVICE_USER]))
            .then(|| SERVICE_USER.to_owned());
        let mut murmur = Murmur {
            port: 0,
            dir,
            superuser_password: self.superuser_password.clone(),
            _tempdir: tempdir,
            extra_ini: self.ini,
            cert: None,
            cert_generation: 0,
            run_as,
            child: None,
            log_offset: 0,
        };
        match self.cert {
            CertSource::Generated => murmur.new_cert(),
            CertSource::Files(cert, key) => {
                let (to_cert, to_key) =
                    (murmur.dir.join("cert-0.pem"), murmur.dir.join("key-0.pem"));
                fs::copy(&cert, &to_cert)
                    .unwrap_or_else(|e| panic!("copy {}: {e}", cert.display()));
                fs::copy(&key, &to_key).unwrap_or_else(|e| panic!("copy {}: {e}", key.display()));
                murmur.cert = Some((to_cert, to_key));
            }
            CertSource::Murmurd => {}
        }
        // A port can be taken between our check and murmurd's bind (another process): try again
        // on another one.
        for attempt in 1..=5 {
            murmur.port = free_port();
            murmur.write_ini();
            if attempt == 1
                && let Some(password) = &murmur.superuser_password
            {
                murmur.set_superuser_password(password);
            }
            match murmur.spawn() {
                Ok(()) => break,
                Err(Failure::PortTaken) if attempt < 5 => {
                    eprintln!("murmur: port {} was taken, trying another", murmur.port);
                }
                Err(failure) => murmur.fail(&failure),
            }
        }
        if !self.channels.is_empty() {
            let names: Vec<&str> = self.channels.iter().map(String::as_str).collect();
            murmur.create_channels(&names);
        }
        murmur
    }
}

enum Failure {
    PortTaken,
    Exited(ExitStatus),
    Timeout,
}

/// A private murmurd on 127.0.0.1:`port`, state in `dir`. Dropping it kills the server and
/// deletes the directory.
pub struct Murmur {
    pub port: u16,
    /// The server's directory: murmur.ini, murmur.sqlite, murmur.log, certificates.
    pub dir: PathBuf,
    pub superuser_password: Option<String>,
    _tempdir: tempfile::TempDir,
    extra_ini: Vec<(String, String)>,
    /// The certificate and key given with sslCert/sslKey (None: murmurd's own).
    cert: Option<(PathBuf, PathBuf)>,
    cert_generation: u32,
    /// The user murmurd runs as when we are root (it refuses root and would switch anyway).
    run_as: Option<String>,
    child: Option<Child>,
    /// Where the log of the current run starts.
    log_offset: u64,
}

impl Murmur {
    /// Whether murmurd is installed. Prints why a test is skipped when it is not, or panics when
    /// `PALABRE_REQUIRE_SERVERS=1`.
    pub fn skip_unless_available() -> bool {
        let murmurd = murmurd_path();
        let mut missing = Vec::new();
        if !murmurd.is_file() {
            missing.push(format!("{} (package mumble-server)", murmurd.display()));
        }
        if !command_works("openssl", &["version"]) {
            missing.push("openssl (package openssl)".to_owned());
        }
        if missing.is_empty() {
            return true;
        }
        let what = missing.join(", ");
        assert!(
            !required(),
            "PALABRE_REQUIRE_SERVERS=1 but {what} missing: run the tests through scripts/test"
        );
        eprintln!("skipped: {what} missing (scripts/test installs it)");
        false
    }

    pub fn builder() -> MurmurBuilder {
        MurmurBuilder {
            ini: Vec::new(),
            superuser_password: Some(SUPERUSER_PASSWORD.to_owned()),
            cert: CertSource::Generated,
            channels: Vec::new(),
        }
    }

    /// Starts a server with the default ini plus `extra_ini` (later keys win), a generated
    /// certificate and SuperUser's password [`SUPERUSER_PASSWORD`]; returns once both its TCP
    /// and UDP sockets answer. Panics with the server's log if it does not come up.
    pub fn start(extra_ini: &[(&str, &str)]) -> Murmur {
        Murmur::builder().ini_all(extra_ini).start()
    }

    /// Like [`Murmur::start`], serving the given certificate and key (PEM).
    pub fn start_with_cert(extra_ini: &[(&str, &str)], cert: &Path, key: &Path) -> Murmur {
        Murmur::builder()
            .ini_all(extra_ini)
            .cert_files(cert, key)
            .start()
    }

    pub fn ini_path(&self) -> PathBuf {
        self.dir.join("murmur.ini")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("murmur.log")
    }

    /// The whole log (every run of this server).
    pub fn log(&self) -> String {
        fs::read(self.log_path())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The PEM certificate served (None with murmurd's own).
    pub fn cert_path(&self) -> Option<&Path> {
        self.cert.as_ref().map(|(cert, _)| cert.as_path())
    }

    /// SHA-1 of the certificate given to the server (what a client sees after the next start).
    /// Panics with murmurd's own certificate: use [`served_cert_sha1`] then.
    pub fn cert_sha1(&self) -> String {
        let cert = self
            .cert_path()
            .expect("cert_sha1: this server uses murmurd's own certificate");
        sha1_hex(&pem_cert_der(cert))
    }

    /// SHA-1 of the certificate the running server presents.
    pub fn served_cert_sha1(&self) -> String {
        served_cert_sha1(self.port)
    }

    /// The server's answer to the UDP ping (None if it does not answer within 1 s).
    pub fn ping(&self) -> Option<ServerInfo> {
        udp_ping(self.port, Duration::from_secs(1))
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Clean shutdown: SIGTERM, then waits (SIGKILL after 5 s).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("murmur: no exit 5 s after SIGTERM, killing it");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// SIGKILL, as a crash or a pulled plug: clients see their connections reset.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same directory (database, SuperUser,
    /// channels, registered users and certificate kept). Stops it first if it runs.
    pub fn restart(&mut self) {
        self.stop();
        self.write_ini();
        if let Err(failure) = self.spawn() {
            self.fail(&failure);
        }
    }

    /// Restarts the server (same port, same database) with a freshly generated certificate: the
    /// "server certificate changed" case. Panics if the server uses murmurd's own certificate.
    pub fn restart_with_new_cert(&mut self) {
        assert!(
            self.cert.is_some(),
            "restart_with_new_cert: murmurd's own certificate lives in its database"
        );
        self.stop();
        self.new_cert();
        self.restart();
    }

    /// Restarts the server serving the given certificate and key (PEM).
    pub fn restart_with_cert(&mut self, cert: &Path, key: &Path) {
        self.stop();
        self.cert_generation += 1;
        let n = self.cert_generation;
        let (to_cert, to_key) = (
            self.dir.join(format!("cert-{n}.pem")),
            self.dir.join(format!("key-{n}.pem")),
        );
        fs::copy(cert, &to_cert).unwrap_or_else(|e| panic!("copy {}: {e}", cert.display()));
        fs::copy(key, &to_key).unwrap_or_else(|e| panic!("copy {}: {e}", key.display()));
        self.cert = Some((to_cert, to_key));
        self.restart();
    }

    /// Creates permanent channels under Root (those missing), logging in as SuperUser with the
    /// peer. Needs the peer's Python and a SuperUser password.
    pub fn create_channels(&self, names: &[&str]) {
        let password = self
            .superuser_password
            .clone()
            .expect("create_channels: the server was started without a SuperUser password");
        let mut args = vec!["--password", password.as_str(), "--seconds", "0"];
        for name in names {
            args.extend(["--create-channel", name]);
        }
        let run = self.peer("SuperUser", &args).wait();
        assert!(
            run.success(),
            "creating channels {names:?}: {}\n--- server log ---\n{}",
            run.describe(),
            self.log()
        );
    }

    /// Starts the Python peer against this server (see [`Peer::spawn`]).
    pub fn peer(&self, name: &str, args: &[&str]) -> Peer {
        Peer::spawn(self.port, name, args)
    }

    fn new_cert(&mut self) {
        self.cert_generation += 1;
        let n = self.cert_generation;
        let cert = self.dir.join(format!("cert-{n}.pem"));
        let key = self.dir.join(format!("key-{n}.pem"));
        generate_cert(&cert, &key);
        self.cert = Some((cert, key));
    }

    fn write_ini(&self) {
        let dir = self.dir.display();
        let mut entries: Vec<(String, String)> = [
            ("database", format!("{dir}/murmur.sqlite")),
            // Empty with -fg: the log goes to stdout (our murmur.log).
            ("logfile", String::new()),
            ("pidfile", String::new()),
            ("host", "127.0.0.1".to_owned()),
            ("port", self.port.to_string()),
            (
                "welcometext",
                "\"Welcome to the palabre test server\"".to_owned(),
            ),
            ("serverpassword", String::new()),
            ("bandwidth", "72000".to_owned()),
            ("users", "10".to_owned()),
            ("textmessagelength", "5000".to_owned()),
            ("allowhtml", "true".to_owned()),
            ("allowping", "true".to_owned()),
            ("certrequired", "false".to_owned()),
            // Always Opus.
            ("opusthreshold", "0".to_owned()),
            ("bonjour", "false".to_owned()),
            // Never on the public server list.
            ("registerName", String::new()),
            // No connection-rate autoban: a test suite connects a lot.
            ("autobanAttempts", "0".to_owned()),
            ("ice", String::new()),
            // A fixed PBKDF2 cost skips the ~1 s benchmark on a fresh database.
            ("kdfiterations", "1000".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some((cert, key)) = &self.cert {
            entries.push(("sslCert".to_owned(), cert.display().to_string()));
            entries.push(("sslKey".to_owned(), key.display().to_string()));
        }
        for (key, value) in &self.extra_ini {
            entries.retain(|(k, _)| k != key);
            entries.push((key.clone(), value.clone()));
        }
        let text: String = entries.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        fs::write(self.ini_path(), text).expect("write murmur.ini");
        self.fix_owner();
    }

    /// When murmurd runs as the service user, its directory and files must be its own.
    fn fix_owner(&self) {
        if let Some(user) = &self.run_as {
            let owner = format!("{user}:{user}");
            let ok = Command::new("chown")
                .args(["-R", &owner])
                .arg(&self.dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown -R {owner} {}", self.dir.display());
        }
    }

    fn murmurd(&self, args: &[&str]) -> Command {
        let mut command = match &self.run_as {
            // setpriv execs murmurd, so the child's pid is murmurd's (runuser would leave a
            // zombie behind when killed).
            Some(user) => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid", user, "--regid", user, "--init-groups"])
                    .arg(murmurd_path());
                c
            }
            None => Command::new(murmurd_path()),
        };
        command.args(args).stdin(Stdio::null());
        command
    }

    fn open_log(&self) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("murmur.log")
    }

    fn set_superuser_password(&self, password: &str) {
        let ini = self.ini_path().display().to_string();
        let log = self.open_log();
        let status = self
            .murmurd(&["-ini", &ini, "-supw", password])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .status()
            .expect("run murmurd -supw");
        if !status.success() {
            panic!("murmurd -supw: {status}\n--- log ---\n{}", self.log());
        }
    }

    fn spawn(&mut self) -> Result<(), Failure> {
        let mut log = self.open_log();
        self.log_offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = writeln!(
            log,
            "=== palabre test: murmurd -fg on port {} ===",
            self.port
        );
        let ini = self.ini_path().display().to_string();
        let child = self
            .murmurd(&["-fg", "-ini", &ini])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", murmurd_path().display()));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let run_log = self.run_log();
            if run_log.contains("Failed to bind") || run_log.contains("TCP Listen on") {
                self.kill();
                return Err(Failure::PortTaken);
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(Failure::Exited(status));
            }
            if udp_ping(self.port, Duration::from_millis(100)).is_some() && tcp_listening(self.port)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(Failure::Timeout);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log of the current run.
    fn run_log(&self) -> String {
        let log = self.log();
        log.get(self.log_offset as usize..)
            .map(str::to_owned)
            .unwrap_or(log)
    }

    fn fail(&mut self, failure: &Failure) -> ! {
        self.kill();
        let what = match failure {
            Failure::PortTaken => format!("port {} is taken", self.port),
            Failure::Exited(status) => format!("murmurd exited ({status})"),
            Failure::Timeout => format!(
                "no TCP and UDP answer on 127.0.0.1:{} within {START_TIMEOUT:?}",
                self.port
            ),
        };
        panic!(
            "murmur did not come up: {what}\n--- {} ---\n{}--- end of log ---",
            self.log_path().display(),
            self.log()
        );
    }
}

impl Drop for Murmur {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The venv's python with pymumble (checked once), or why not.
fn peer_python() -> &'static Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = match std::env::var_os("PALABRE_TEST_PYTHON") {
            Some(path) => PathBuf::from(path),
            None => {
                let venv =
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python");
                if !venv.exists() {
                    return Err(
                        "PALABRE_TEST_PYTHON is not set and target/test-venv is missing".to_owned(),
                    );
                }
                venv
            }
        };
        let out = Command::new(&python)
            .args(["-c", "import pymumble_py3, opuslib"])
            .output();
        match out {
            Ok(out) if out.status.success() => Ok(python),
            Ok(out) => Err(format!(
                "{} cannot import pymumble_py3 and opuslib: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("{}: {e}", python.display())),
        }
    })
}

/// Path of the peer script.
pub fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pymumble_peer.py")
}

/// A running `tests/peers/pymumble_peer.py`. See the script's `--help` for its arguments; it
/// prints one JSON line at the end, which [`Peer::wait`] parses.
pub struct Peer {
    pub name: String,
    child: Option<Child>,
    /// Holds the `--ready-file` the peer writes once it is in its channel.
    dir: tempfile::TempDir,
}

/// How a peer ended.
#[derive(Debug)]
pub struct PeerRun {
    pub status: ExitStatus,
    /// The last line of stdout as JSON (`Value::Null` if it was not JSON).
    pub json: serde_json::Value,
    pub stdout: String,
    pub stderr: String,
}

impl PeerRun {
    pub fn success(&self) -> bool {
        self.status.success() && self.json["connected"] == true
    }

    pub fn received_text(&self) -> Vec<String> {
        self.json["received_text"]
            .as_array()
            .map(|texts| {
                texts
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn received_audio_seconds(&self) -> f64 {
        self.json["received_audio_seconds"].as_f64().unwrap_or(0.0)
    }

    pub fn users_seen(&self) -> Vec<String> {
        self.json["users_seen"]
            .as_array()
            .map(|users| {
                users
                    .iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn disconnected(&self) -> bool {
        self.json["disconnected"] == true
    }

    /// Everything about the run, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "peer exited with {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

impl Peer {
    /// Whether the peer can run (the venv's python imports pymumble). Prints why a test is
    /// skipped when it cannot, or panics when `PALABRE_REQUIRE_SERVERS=1`.
    pub fn skip_unless_available() -> bool {
        match peer_python() {
            Ok(_) => true,
            Err(why) => {
                assert!(
                    !required(),
                    "PALABRE_REQUIRE_SERVERS=1 but the test peer cannot run: {why}; run the \
                     tests through scripts/test"
                );
                eprintln!("skipped: {why} (scripts/test prepares it)");
                false
            }
        }
    }

    /// Starts the peer: `--host 127.0.0.1 --port <port> --name <name> --ready-file <file>` and
    /// `args`.
    pub fn spawn(port: u16, name: &str, args: &[&str]) -> Peer {
        let python = match peer_python() {
            Ok(python) => python,
            Err(why) => panic!("the test peer cannot run: {why}"),
        };
        let dir = tempfile::Builder::new()
            .prefix("palabre-peer-")
            .tempdir()
            .expect("temporary directory");
        let child = Command::new(python)
            .arg(peer_script())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--name",
                name,
            ])
            .arg("--ready-file")
            .arg(dir.path().join("ready.json"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start the peer {name}: {e}"));
        Peer {
            name: name.to_owned(),
            child: Some(child),
            dir,
        }
    }

    /// Waits until the peer is connected and in its channel (before its `--wait-for`); returns
    /// its `{"session": …, "channel": …}`, or None if it ended or `timeout` passed first.
    pub fn wait_joined(&mut self, timeout: Duration) -> Option<serde_json::Value> {
        let ready = self.dir.path().join("ready.json");
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(text) = fs::read_to_string(&ready) {
                return serde_json::from_str(&text).ok();
            }
            let ended = self
                .child
                .as_mut()
                .is_none_or(|child| !matches!(child.try_wait(), Ok(None)));
            if ended || Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs the peer to its end.
    pub fn run(port: u16, name: &str, args: &[&str]) -> PeerRun {
        Peer::spawn(port, name, args).wait()
    }

    /// Waits for the peer's end (its own watchdog bounds it) and parses its JSON line.
    pub fn wait(mut self) -> PeerRun {
        let child = self.child.take().expect("a peer is waited for once");
        let out = child.wait_with_output().expect("wait for the peer");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(serde_json::Value::Null);
        PeerRun {
            status: out.status,
            json,
            stdout,
            stderr,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
