//! Checks whether an instance answers, and how fast — only when the user asks (the picker's
//! "Check" button): palabre makes no connection to a host the user did not choose.
//!
//! - A Mumble server is asked with its public server query (one unencrypted UDP datagram, brief
//!   §1.9): the answer gives the round trip, the server's version and its users.
//! - A Jitsi Meet instance is asked for its `config.js` over HTTPS (TCP, TLS with the WebPKI
//!   roots, one GET): the round trip is the TCP connection's; the instance is up when it answers
//!   200.
//!
//! Blocking, with short timeouts: the window runs it on a thread of its own.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::RootCertStore;

use crate::i18n::Phrase;
use crate::proto::mumble::voice::{Direction, PingPacket, UdpFormat, VoicePacket};

/// How long a probe waits for each step.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// The most of an HTTP answer read (the status line is all that matters).
const MAX_HTTP_HEAD: usize = 4096;

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The instance answered.
    Up {
        /// Round trip, in ms.
        rtt_ms: u32,
        /// Users connected and allowed (Mumble only).
        users: Option<(u32, u32)>,
    },
    /// It did not; the phrase says what failed.
    Down(Phrase),
}

/// Asks a Mumble server at `host:port` with the server query.
pub fn mumble(host: &str, port: u16) -> Probe {
    let address = match resolve(host, port) {
        Ok(address) => address,
        Err(sentence) => return Probe::Down(sentence),
    };
    let bind: SocketAddr = if address.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let query = VoicePacket::Ping(PingPacket {
        timestamp: 0x7061_6c61_6272_6500,
        request_extended_information: true,
        server_info: None,
    });
    let mut bytes = Vec::new();
    if query.encode(UdpFormat::Legacy, &mut bytes).is_err() {
        return Probe::Down(Phrase::tr("probe-query-not-built"));
    }
    let result = (|| {
        let socket = UdpSocket::bind(bind)?;
        socket.connect(address)?;
        socket.set_read_timeout(Some(TIMEOUT))?;
        let sent = Instant::now();
        socket.send(&bytes)?;
        let mut reply = [0u8; 64];
        let n = socket.recv(&mut reply)?;
        Ok::<_, std::io::Error>((sent.elapsed(), reply[..n].to_vec()))
    })();
    match result {
        Ok((rtt, reply)) => {
            match VoicePacket::decode(UdpFormat::Legacy, Direction::ToClient, &reply) {
                Ok(VoicePacket::Ping(PingPacket {
                    server_info: Some(info),
                    ..
                })) => Probe::Up {
                    rtt_ms: rtt.as_millis().min(u128::from(u32::MAX)) as u32,
                    users: Some((info.users, info.max_users)),
                },
                _ => Probe::Down(with_host("probe-not-mumble", host)),
            }
        }
        Err(_) => Probe::Down(Phrase::tr_args(
            "probe-no-answer",
            vec![("host", host.into()), ("seconds", TIMEOUT.as_secs().into())],
        )),
    }
}

/// Asks a Jitsi Meet instance at `https://host[:port]/` for its `config.js`.
pub fn jitsi(host: &str, port: Option<u16>) -> Probe {
    let roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    jitsi_with_roots(host, port, Arc::new(roots))
}

/// [`jitsi`] with the certificate authorities given (tests use their own).
pub fn jitsi_with_roots(host: &str, port: Option<u16>, roots: Arc<RootCertStore>) -> Probe {
    let port = port.unwrap_or(443);
    let address = match resolve(host, port) {
        Ok(address) => address,
        Err(sentence) => return Probe::Down(sentence),
    };
    let provider = crate::net::tls_provider();
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        Err(error) => return Probe::Down(with_reason("probe-tls-not-prepared", &error)),
    };
    let name = match rustls_pki_types::ServerName::try_from(host.to_owned()) {
        Ok(name) => name,
        Err(_) => return Probe::Down(with_host("probe-invalid-name", host)),
    };
    let started = Instant::now();
    let mut tcp = match TcpStream::connect_timeout(&address, TIMEOUT) {
        Ok(tcp) => tcp,
        Err(error) => {
            return Probe::Down(Phrase::tr_args(
                "probe-unreachable",
                vec![("host", host.into()), ("reason", error.to_string().into())],
            ));
        }
    };
    let rtt = started.elapsed();
    tcp.set_read_timeout(Some(TIMEOUT)).ok();
    tcp.set_write_timeout(Some(TIMEOUT)).ok();
    let mut connection = match rustls::ClientConnection::new(Arc::new(config), name) {
        Ok(connection) => connection,
        Err(error) => return Probe::Down(with_reason("probe-tls-not-started", &error)),
    };
    let mut tls = rustls::Stream::new(&mut connection, &mut tcp);
    let request = format!(
        "GET /config.js HTTP/1.1\r\nHost: {host}\r\nUser-Agent: palabre/{}\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Err(error) = tls.write_all(request.as_bytes()) {
        return Probe::Down(secure_failure(host, &error));
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while head.len() < MAX_HTTP_HEAD && !head.windows(2).any(|w| w == b"\r\n") {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(error) => return Probe::Down(secure_failure(host, &error)),
        }
    }
    let status_line = String::from_utf8_lossy(&head);
    let status = status_line
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok());
    match status {
        Some(200) => Probe::Up {
            rtt_ms: rtt.as_millis().min(u128::from(u32::MAX)) as u32,
            users: None,
        },
        Some(code) => Probe::Down(Phrase::tr_args(
            "probe-not-jitsi",
            vec![("host", host.into()), ("code", code.to_string().into())],
        )),
        None => Probe::Down(with_host("probe-not-web", host)),
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, Phrase> {
    (host, port)
        .to_socket_addrs()
        .map_err(|error| {
            Phrase::tr_args(
                "probe-name-not-found",
                vec![("host", host.into()), ("reason", error.to_string().into())],
            )
        })?
        .next()
        .ok_or_else(|| with_host("probe-no-address", host))
}

fn secure_failure(host: &str, error: &std::io::Error) -> Phrase {
    if error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)))
    {
        with_host("probe-untrusted-certificate", host)
    } else {
        Phrase::tr_args(
            "probe-tls-failed",
            vec![("host", host.into()), ("reason", error.to_string().into())],
        )
    }
}

/// The message `id` about `host`.
fn with_host(id: &'static str, host: &str) -> Phrase {
    Phrase::tr_args(id, vec![("host", host.into())])
}

/// The message `id` with the system's or library's `error` as its reason.
fn with_reason(id: &'static str, error: &dyn std::fmt::Display) -> Phrase {
    Phrase::tr_args(id, vec![("reason", error.to_string().into())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_listening_is_down_with_a_sentence() {
        // A UDP port nobody uses on loopback: the query gets no answer.
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = socket.local_addr().expect("addr").port();
        drop(socket);
        match mumble("127.0.0.1", port) {
            Probe::Down(sentence) => {
                let sentence = sentence.to_string();
                assert!(sentence.contains("did not answer"), "{sentence}")
            }
            up => panic!("{up:?}"),
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        match jitsi("127.0.0.1", Some(port)) {
            Probe::Down(sentence) => {
                assert!(
                    sentence.to_string().contains("could not be reached"),
                    "{sentence}"
                )
            }
            up => panic!("{up:?}"),
        }
        assert!(matches!(
            mumble("no-such-host.invalid", 64738),
            Probe::Down(_)
        ));
    }

    #[test]
    fn an_https_server_answers_config_js() {
        // A real TLS server on loopback with a certificate from a test authority.
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("cert");
        let cert_der = cert.der().clone();
        let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let provider = crate::net::tls_provider();
        let server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], key_der)
            .expect("server config");
        let server_config = Arc::new(server_config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            for status in ["200 OK", "404 Not Found"] {
                let (mut tcp, _) = listener.accept().expect("accept");
                let mut connection =
                    rustls::ServerConnection::new(server_config.clone()).expect("connection");
                let mut tls = rustls::Stream::new(&mut connection, &mut tcp);
                let mut request = [0u8; 512];
                let n = tls.read(&mut request).unwrap_or(0);
                assert!(String::from_utf8_lossy(&request[..n]).starts_with("GET /config.js"));
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                tls.write_all(answer.as_bytes()).ok();
                tls.flush().ok();
            }
        });
        let mut roots = RootCertStore::empty();
        roots.add(cert_der).expect("root");
        let roots = Arc::new(roots);
        assert!(matches!(
            jitsi_with_roots("localhost", Some(port), roots.clone()),
            Probe::Up { users: None, .. }
        ));
        match jitsi_with_roots("localhost", Some(port), roots) {
            Probe::Down(sentence) => {
                let sentence = sentence.to_string();
                assert!(sentence.contains("HTTP 404"), "{sentence}")
            }
            up => panic!("{up:?}"),
        }
        server.join().expect("server thread");
        // A server that drops the connection before TLS is down.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let refusing = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().expect("accept");
            drop(tcp);
        });
        assert!(matches!(jitsi("localhost", Some(port)), Probe::Down(_)));
        refusing.join().expect("thread");
    }
}
