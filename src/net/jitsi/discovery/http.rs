//! The one HTTP GET of discovery: `config.js`, with ureq over rustls (aws-lc-rs).
//!
//! ureq's own TLS layer trusts either the WebPKI roots or a list of certificates, not both;
//! palabre wants both (the WebPKI roots plus a private authority from `--ca-file`), so the TLS
//! step is a small connector of its own on ureq's transport interface, with a rustls
//! configuration built here.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, TcpConnector,
    Transport, TransportAdapter,
};

use super::{DiscoveryError, MAX_SCRIPT_BYTES, config_url};
use crate::link::JitsiLink;

/// How long connecting to the server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the whole request may take, redirections included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(20);
/// The most redirections followed.
pub const MAX_REDIRECTS: u32 = 5;

/// Downloads the `config.js` of the instance a link names ([`config_url`]). Blocking: run it off
/// the UI thread.
///
/// The server is trusted when a WebPKI root authority vouches for its certificate, or one of the
/// certificates in the PEM file `extra_ca` (`--ca-file`, for private and test instances).
/// Redirections are followed ([`MAX_REDIRECTS`] at most), never from `https` to `http`. Only an
/// HTTP 200 answer of at most [`super::MAX_SCRIPT_BYTES`] of UTF-8 text is accepted, within
/// [`CONNECT_TIMEOUT`] to connect and [`TOTAL_TIMEOUT`] in all. HTTP proxies are not used.
pub fn fetch(link: &JitsiLink, extra_ca: Option<&Path>) -> Result<String, DiscoveryError> {
    fetch_within(link, extra_ca, TOTAL_TIMEOUT)
}

/// [`fetch`] with another limit on the whole request (tests use a short one).
pub(super) fn fetch_within(
    link: &JitsiLink,
    extra_ca: Option<&Path>,
    total: Duration,
) -> Result<String, DiscoveryError> {
    let url = config_url(link);
    let host = link.host.clone();
    let tls = Arc::new(tls_config(extra_ca)?);
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .https_only(link.secure)
        .max_redirects(MAX_REDIRECTS)
        .max_redirects_will_error(true)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(total))
        .user_agent(concat!("palabre/", env!("CARGO_PKG_VERSION")))
        .proxy(None)
        .build();
    let connector = ().chain(TcpConnector::default()).chain(TlsConnector { config: tls });
    let agent = ureq::Agent::with_parts(config, connector, NameResolver::default());
    let mut response = agent
        .get(url.as_str())
        .call()
        .map_err(|error| http_error(&host, total, error))?;
    match response.status().as_u16() {
        200 => {}
        404 => {
            return Err(DiscoveryError::NotFound {
                host,
                url: url.to_string(),
            });
        }
        status => return Err(DiscoveryError::HttpStatus { host, status }),
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_SCRIPT_BYTES as u64)
        .read_to_vec()
        .map_err(|error| http_error(&host, total, error))?;
    String::from_utf8(body).map_err(|_| DiscoveryError::NotUtf8 { host })
}

/// The rustls client configuration: aws-lc-rs, the WebPKI roots and the certificates of `extra_ca`.
pub(crate) fn tls_config(extra_ca: Option<&Path>) -> Result<ClientConfig, DiscoveryError> {
    let mut roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|error| DiscoveryError::CaFile {
            path: shown.clone(),
            detail: error.to_string(),
        })?;
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(&pem) {
            let certificate = certificate.map_err(|error| DiscoveryError::CaFile {
                path: shown.clone(),
                detail: format!("it is not a valid PEM file ({error})"),
            })?;
            roots
                .add(certificate)
                .map_err(|error| DiscoveryError::CaFile {
                    path: shown.clone(),
                    detail: format!("a certificate in it cannot be used ({error})"),
                })?;
            added += 1;
        }
        if added == 0 {
            return Err(DiscoveryError::CaFile {
                path: shown,
                detail: "it holds no certificate".to_owned(),
            });
        }
    }
    let provider = crate::net::tls_provider();
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| DiscoveryError::Tls {
            host: "the server".to_owned(),
            detail: error.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// A sentence for a ureq failure.
fn http_error(host: &str, total: Duration, error: ureq::Error) -> DiscoveryError {
    let host = host.to_owned();
    match error {
        ureq::Error::HostNotFound => DiscoveryError::HostNotFound { host },
        ureq::Error::ConnectionFailed => DiscoveryError::Connect {
            host,
            detail: "the connection failed".to_owned(),
        },
        ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
            DiscoveryError::Connect {
                host,
                detail: format!("no answer within {} seconds", CONNECT_TIMEOUT.as_secs()),
            }
        }
        ureq::Error::Timeout(_) => DiscoveryError::Timeout {
            host,
            seconds: total.as_secs(),
        },
        ureq::Error::TooManyRedirects => DiscoveryError::TooManyRedirects { host },
        ureq::Error::RequireHttpsOnly(url) => DiscoveryError::InsecureRedirect { host, url },
        ureq::Error::BodyExceedsLimit(_) => DiscoveryError::TooLarge,
        ureq::Error::Rustls(error) => tls_error(host, &error),
        ureq::Error::Io(error) => {
            if let Some(tls) = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return tls_error(host, tls);
            }
            match error.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    DiscoveryError::Timeout {
                        host,
                        seconds: total.as_secs(),
                    }
                }
                std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::HostUnreachable
                | std::io::ErrorKind::NetworkUnreachable => DiscoveryError::Connect {
                    host,
                    detail: error.to_string(),
                },
                _ => DiscoveryError::Http {
                    host,
                    detail: error.to_string(),
                },
            }
        }
        other => DiscoveryError::Http {
            host,
            detail: other.to_string(),
        },
    }
}

fn tls_error(host: String, error: &rustls::Error) -> DiscoveryError {
    match error {
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
            DiscoveryError::Untrusted { host }
        }
        rustls::Error::InvalidCertificate(problem) => DiscoveryError::BadCertificate {
            host,
            detail: problem.to_string(),
        },
        other => DiscoveryError::Tls {
            host,
            detail: other.to_string(),
        },
    }
}

/// ureq's resolver, except that a failed lookup is [`ureq::Error::HostNotFound`] (ureq gives
/// the system's error message for it).
#[derive(Debug, Default)]
struct NameResolver(DefaultResolver);

impl Resolver for NameResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match self.0.resolve(uri, config, timeout) {
            Err(ureq::Error::Io(_)) => Err(ureq::Error::HostNotFound),
            other => other,
        }
    }
}

/// Wraps the TCP transport of an `https` request in TLS with palabre's rustls configuration.
struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsConnector")
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .host()
            .ok_or(ureq::Error::Tls("the address has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let name =
            ServerName::try_from(host).map_err(|_| ureq::Error::Tls("invalid server name"))?;
        let mut connection = ClientConnection::new(self.config.clone(), name)?;
        let mut socket = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        socket.set_timeout(details.timeout);
        connection.complete_io(&mut socket)?;
        Ok(Some(Either::B(TlsTransport {
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream: StreamOwned::new(connection, socket),
        })))
    }
}

/// An HTTP transport over rustls.
struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsTransport")
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
