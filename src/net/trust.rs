//! Trust in a Mumble server's certificate: trust on first use, as the official client does.
//!
//! Most Mumble servers use the self-signed certificate murmur made for itself, which no authority
//! vouches for. So, for each server (host and port), palabre remembers the SHA-1 of the
//! certificate it saw (the same digest the official client pins) in `known_servers.toml`, and
//! checks it on every later connection:
//!
//! 1. a certificate an authority vouches for (WebPKI, Mozilla's roots) for that host is trusted;
//! 2. otherwise the certificate remembered for that server is trusted;
//! 3. a server never seen before is trusted on this first connection, and remembered;
//! 4. a different certificate is refused, unless the user said to accept the new one (after
//!    checking with the server's admin): it may be someone intercepting the connection.
//!
//! Whatever the path, the server must prove it holds the certificate's private key (the TLS
//! handshake signatures are checked with the provider's algorithms).
//!
//! [`mumble_client_config`] builds the rustls configuration and a [`TrustProbe`] that tells,
//! after the handshake, which of these paths was taken ([`Trust`]). The driver then records the
//! certificate with [`KnownServers::record`] and saves the list.

use crate::i18n::{Arg, Phrase};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::identity::{Identity, certificate_fingerprint};

/// The known-servers file's name inside the config directory.
pub const KNOWN_SERVERS_FILE: &str = "known_servers.toml";

/// The version of the known-servers file this build writes.
pub const KNOWN_SERVERS_VERSION: u32 = 1;

/// The known-servers file inside `dir`.
pub fn known_servers_path(dir: &Path) -> PathBuf {
    dir.join(KNOWN_SERVERS_FILE)
}

/// The key a server is remembered by: `host:port`, the host in lowercase without a final dot,
/// an IPv6 address in brackets (`[::1]:64738`).
pub fn server_key(host: &str, port: u16) -> String {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        Ok(IpAddr::V4(ip)) => format!("{ip}:{port}"),
        Err(_) => format!("{}:{port}", bare.trim_end_matches('.').to_lowercase()),
    }
}

/// The name to give rustls for `host`: a DNS name or an IP address (IPv6 with or without
/// brackets).
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsSetupError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(bare.to_owned()).map_err(|_| TlsSetupError::HostName {
        host: host.to_owned(),
    })
}

/// The servers whose certificate the user has accepted: `host:port` → lowercase hex SHA-1 of the
/// server's leaf certificate DER.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownServers {
    servers: BTreeMap<String, String>,
}

/// The on-disk form of [`KnownServers`].
#[derive(Serialize, Deserialize)]
struct KnownServersFile {
    #[serde(default)]
    version: u32,
    #[serde(default)]
    servers: BTreeMap<String, String>,
}

/// A known-servers file could not be used; palabre started with an empty list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownServersWarning {
    /// The file that could not be used.
    pub path: PathBuf,
    /// Why it could not be used (from the parser or the system).
    pub reason: String,
    /// Where the unusable file was kept, or why it could not be set aside.
    pub backup: Result<PathBuf, String>,
}

impl fmt::Display for KnownServersWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "The list of known servers {} could not be read ({}). ",
            self.path.display(),
            self.reason
        )?;
        match &self.backup {
            Ok(backup) => write!(f, "It was kept as {}. ", backup.display())?,
            Err(why) => write!(
                f,
                "It could not be set aside ({why}); the next saved list will replace it. "
            )?,
        }
        f.write_str(
            "palabre starts with an empty list: each server's certificate will be accepted on \
             the next connection as if it were the first.",
        )
    }
}

/// A lowercase 40-digit hex SHA-1, from hex in any case, with or without colons.
fn normalize_fingerprint(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 40 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

impl KnownServers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the list from `dir`. A missing file gives an empty list. A file that cannot be read
    /// or parsed is renamed to `known_servers.toml.corrupt-<unix time>` (kept, never deleted),
    /// an empty list is returned, and the warning says so in plain words.
    pub fn load(dir: &Path) -> (KnownServers, Option<KnownServersWarning>) {
        let path = known_servers_path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (KnownServers::new(), None);
            }
            Err(e) => return (KnownServers::new(), Some(set_aside(&path, e.to_string()))),
        };
        match Self::parse(&bytes) {
            Ok(known) => (known, None),
            Err(reason) => (KnownServers::new(), Some(set_aside(&path, reason))),
        }
    }

    /// Parses the file's bytes.
    fn parse(bytes: &[u8]) -> Result<KnownServers, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text")?;
        let file: KnownServersFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if file.version > KNOWN_SERVERS_VERSION {
            tracing::warn!(
                file_version = file.version,
                "known servers written by a newer palabre"
            );
        }
        let mut servers = BTreeMap::new();
        for (key, value) in file.servers {
            let Some(fingerprint) = normalize_fingerprint(&value) else {
                return Err(format!("the entry for {key} is not a SHA-1 fingerprint"));
            };
            servers.insert(key, fingerprint);
        }
        Ok(KnownServers { servers })
    }

    /// Writes the list to `dir` atomically (see [`crate::config::write_atomically`]).
    pub fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let file = KnownServersFile {
            version: KNOWN_SERVERS_VERSION,
            servers: self.servers.clone(),
        };
        let text = format!(
            "# Servers whose certificate palabre accepted: \"host:port\" = SHA-1 of the \
             certificate.\n# Remove a line to accept that server's certificate again as on a \
             first connection.\n\n{}",
            toml::to_string_pretty(&file)?
        );
        crate::config::write_atomically(dir, KNOWN_SERVERS_FILE, text.as_bytes())
    }

    /// The fingerprint remembered for a server.
    pub fn get(&self, host: &str, port: u16) -> Option<&str> {
        self.servers
            .get(&server_key(host, port))
            .map(String::as_str)
    }

    /// Remembers `fingerprint` (hex SHA-1, any case, colons allowed) for a server, replacing any
    /// other. Returns whether the list changed; a malformed fingerprint changes nothing.
    pub fn pin(&mut self, host: &str, port: u16, fingerprint: &str) -> bool {
        let Some(fingerprint) = normalize_fingerprint(fingerprint) else {
            return false;
        };
        self.servers
            .insert(server_key(host, port), fingerprint.clone())
            != Some(fingerprint)
    }

    /// Forgets a server; returns the fingerprint it had.
    pub fn forget(&mut self, host: &str, port: u16) -> Option<String> {
        self.servers.remove(&server_key(host, port))
    }

    /// Records the outcome of a successful handshake: the certificate is remembered when it was
    /// seen for the first time, replaced with the user's consent, or vouched for by an authority.
    /// Returns whether the list changed (and so should be saved).
    pub fn record(&mut self, host: &str, port: u16, trust: &Trust) -> bool {
        match trust.fingerprint_to_pin() {
            Some(fingerprint) => self.pin(host, port, fingerprint),
            None => false,
        }
    }

    /// The remembered servers: `host:port` and fingerprint, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.servers.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many servers are remembered.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether no server is remembered.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }
}

/// Renames an unusable known-servers file out of the way and describes what happened.
fn set_aside(path: &Path, reason: String) -> KnownServersWarning {
    // Not logged here: the caller shows or logs the warning (each error is handled once).
    KnownServersWarning {
        path: path.to_path_buf(),
        reason,
        backup: crate::config::set_aside_corrupt(path).map_err(|e| e.to_string()),
    }
}

/// Why the server's certificate was trusted, or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// An authority vouches for the certificate and the host name (WebPKI).
    CaVerified {
        /// The certificate's SHA-1; remembered too, so that a later self-signed impostor is
        /// caught.
        fingerprint: String,
    },
    /// The certificate is the one remembered for this server.
    Pinned,
    /// First connection to this server: the certificate was accepted and is to be remembered.
    FirstUse {
        /// The certificate's SHA-1.
        fingerprint: String,
    },
    /// The certificate differs from the remembered one and the user accepted the new one.
    Replaced {
        /// The remembered SHA-1.
        old: String,
        /// The new certificate's SHA-1, to be remembered.
        new: String,
    },
    /// The certificate differs from the remembered one: the handshake was refused.
    Changed {
        /// The remembered SHA-1.
        old: String,
        /// The presented certificate's SHA-1.
        new: String,
    },
}

impl Trust {
    /// Whether the handshake was allowed to go on.
    pub fn is_accepted(&self) -> bool {
        !matches!(self, Trust::Changed { .. })
    }

    /// The fingerprint to remember once the handshake has succeeded, if any.
    pub fn fingerprint_to_pin(&self) -> Option<&str> {
        match self {
            Trust::CaVerified { fingerprint } | Trust::FirstUse { fingerprint } => {
                Some(fingerprint)
            }
            Trust::Replaced { new, .. } => Some(new),
            Trust::Pinned | Trust::Changed { .. } => None,
        }
    }

    /// What happened, in the user's words; `server` is `host:port`.
    pub fn phrase(&self, server: &str) -> Phrase {
        let server = || ("server", Arg::from(server));
        match self {
            Trust::CaVerified { .. } => Phrase::tr_args("trust-ca-verified", vec![server()]),
            Trust::Pinned => Phrase::tr_args("trust-pinned", vec![server()]),
            Trust::FirstUse { fingerprint } => Phrase::tr_args(
                "trust-first-use",
                vec![server(), ("fingerprint", fingerprint.as_str().into())],
            ),
            Trust::Replaced { old, new } => Phrase::tr_args(
                "trust-replaced",
                vec![
                    server(),
                    ("old", old.as_str().into()),
                    ("new", new.as_str().into()),
                ],
            ),
            Trust::Changed { old, new } => Phrase::tr_args(
                "trust-changed",
                vec![
                    server(),
                    ("old", old.as_str().into()),
                    ("new", new.as_str().into()),
                ],
            ),
        }
    }

    /// What happened, in a sentence for the terminal; `server` is `host:port`.
    pub fn sentence(&self, server: &str) -> String {
        self.phrase(server).to_string()
    }
}

/// Tells, after a handshake, how the server's certificate was judged.
///
/// Clones share the same outcome. Empty until the certificate has been seen (a connection that
/// failed before, e.g. on the TCP level, leaves it empty).
#[derive(Debug, Clone)]
pub struct TrustProbe {
    server: String,
    outcome: Arc<Mutex<Option<Trust>>>,
}

impl TrustProbe {
    /// The server, as `host:port` ([`server_key`]).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// How the certificate was judged, once it has been seen.
    pub fn trust(&self) -> Option<Trust> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// [`Trust::sentence`] for this server, once the certificate has been seen.
    pub fn sentence(&self) -> Option<String> {
        self.trust().map(|trust| trust.sentence(&self.server))
    }

    /// [`Self::sentence`] in the user's words.
    pub fn phrase(&self) -> Option<Phrase> {
        self.trust().map(|trust| trust.phrase(&self.server))
    }

    /// Records an outcome (the last one wins).
    fn set(&self, trust: Trust) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(trust);
    }
}

/// The TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The host is neither a valid DNS name nor an IP address.
    #[error("{host} is not a valid server name or address")]
    HostName {
        /// The host as given.
        host: String,
    },
    /// rustls refused the configuration (e.g. the identity's key).
    #[error("the secure connection could not be prepared: {0}")]
    Rustls(#[from] rustls::Error),
    /// The certificate authorities could not be loaded.
    #[error("the certificate authorities could not be loaded: {0}")]
    Roots(#[from] rustls::client::VerifierBuilderError),
}

/// The rustls configuration to connect to the Mumble server `host:port`: TLS 1.2 or 1.3 with the
/// ring provider, the server's certificate judged as the module docs say (against the
/// fingerprint `known` remembers for that server), and `identity` presented as the client
/// certificate when given. Session resumption is off, so that every handshake judges the
/// certificate and fills the returned [`TrustProbe`].
pub fn mumble_client_config(
    host: &str,
    port: u16,
    identity: Option<&Identity>,
    known: &KnownServers,
    accept_new_certificate: bool,
) -> Result<(Arc<ClientConfig>, TrustProbe), TlsSetupError> {
    let roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    client_config_with_roots(
        host,
        port,
        identity,
        known.get(host, port).map(str::to_owned),
        accept_new_certificate,
        Arc::new(roots),
    )
}

/// [`mumble_client_config`] with the authorities given (tests use their own).
fn client_config_with_roots(
    host: &str,
    port: u16,
    identity: Option<&Identity>,
    pinned: Option<String>,
    accept_new_certificate: bool,
    roots: Arc<RootCertStore>,
) -> Result<(Arc<ClientConfig>, TrustProbe), TlsSetupError> {
    let provider = crate::net::tls_provider();
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone()).build()?;
    let probe = TrustProbe {
        server: server_key(host, port),
        outcome: Arc::new(Mutex::new(None)),
    };
    let verifier = TofuVerifier {
        webpki,
        algorithms: provider.signature_verification_algorithms,
        pinned,
        accept_new_certificate,
        probe: probe.clone(),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        Some(identity) => {
            let (chain, key) = identity.rustls_client_auth();
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    config.resumption = rustls::client::Resumption::disabled();
    Ok((Arc::new(config), probe))
}

/// The server certificate verifier: WebPKI, else the remembered fingerprint, else first use.
#[derive(Debug)]
struct TofuVerifier {
    /// Verification against the authorities.
    webpki: Arc<WebPkiServerVerifier>,
    /// The provider's signature algorithms, for the handshake signatures.
    algorithms: WebPkiSupportedAlgorithms,
    /// The fingerprint remembered for this server.
    pinned: Option<String>,
    /// Whether a certificate different from the remembered one is accepted.
    accept_new_certificate: bool,
    /// Where the outcome is written.
    probe: TrustProbe,
}

impl TofuVerifier {
    /// Judges a certificate that no authority vouches for.
    fn judge_unverified(&self, fingerprint: String) -> Trust {
        match &self.pinned {
            Some(pinned) if *pinned == fingerprint => Trust::Pinned,
            None => Trust::FirstUse { fingerprint },
            Some(pinned) if self.accept_new_certificate => Trust::Replaced {
                old: pinned.clone(),
                new: fingerprint,
            },
            Some(pinned) => Trust::Changed {
                old: pinned.clone(),
                new: fingerprint,
            },
        }
    }
}

impl ServerCertVerifier for TofuVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = certificate_fingerprint(end_entity);
        let trust = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(_) => Trust::CaVerified { fingerprint },
            Err(_) => self.judge_unverified(fingerprint),
        };
        let refusal = (!trust.is_accepted()).then(|| trust.sentence(self.probe.server()));
        self.probe.set(trust);
        match refusal {
            None => Ok(ServerCertVerified::assertion()),
            Some(sentence) => Err(rustls::Error::General(sentence)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
    use rustls::{DistinguishedName, ServerConfig};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A server certificate and its key.
    struct ServerCert {
        der: CertificateDer<'static>,
        key: Vec<u8>,
    }

    impl ServerCert {
        /// A self-signed certificate for localhost and 127.0.0.1, as murmur makes.
        fn self_signed() -> Self {
            let made =
                rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                    .expect("rcgen");
            ServerCert {
                der: made.cert.der().clone(),
                key: made.signing_key.serialize_der(),
            }
        }

        fn fingerprint(&self) -> String {
            certificate_fingerprint(&self.der)
        }
    }

    /// A test authority and a certificate for localhost it signed.
    fn ca_and_leaf() -> (CertificateDer<'static>, ServerCert) {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("p");
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
        (
            ca_cert.der().clone(),
            ServerCert {
                der: leaf.der().clone(),
                key: leaf_key.serialize_der(),
            },
        )
    }

    /// Accepts any client certificate (Mumble servers take self-signed ones), still checking
    /// the handshake signatures.
    #[derive(Debug)]
    struct AnyClientCert {
        algorithms: WebPkiSupportedAlgorithms,
    }

    impl ClientCertVerifier for AnyClientCert {
        fn offer_client_auth(&self) -> bool {
            true
        }

        fn client_auth_mandatory(&self) -> bool {
            false
        }

        fn root_hint_subjects(&self) -> &[DistinguishedName] {
            &[]
        }

        fn verify_client_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _now: UnixTime,
        ) -> Result<ClientCertVerified, rustls::Error> {
            Ok(ClientCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    }

    /// Which TLS versions the test server speaks.
    #[derive(Clone, Copy, Debug)]
    enum Versions {
        Both,
        Tls12Only,
    }

    fn server_config(cert: &ServerCert, versions: Versions) -> Arc<ServerConfig> {
        let provider = crate::net::tls_provider();
        let algorithms = provider.signature_verification_algorithms;
        let builder = ServerConfig::builder_with_provider(provider);
        let builder = match versions {
            Versions::Both => builder.with_safe_default_protocol_versions(),
            Versions::Tls12Only => builder.with_protocol_versions(&[&rustls::version::TLS12]),
        }
        .expect("versions");
        let config = builder
            .with_client_cert_verifier(Arc::new(AnyClientCert { algorithms }))
            .with_single_cert(
                vec![cert.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.clone())),
            )
            .expect("server config");
        Arc::new(config)
    }

    /// What one test connection gave.
    struct Outcome {
        /// The client's handshake and echo succeeded.
        connected: Result<(), String>,
        /// The client certificate the server saw.
        client_cert: Option<Vec<u8>>,
    }

    /// Serves one TLS connection on loopback with `cert` and connects to it as `host` with
    /// `config`: the client sends a byte, the server echoes it back.
    async fn connect_once(
        cert: &ServerCert,
        versions: Versions,
        host: &str,
        config: Arc<ClientConfig>,
    ) -> Outcome {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let acceptor = tokio_rustls::TlsAcceptor::from(server_config(cert, versions));
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.ok()?;
            let mut tls = acceptor.accept(tcp).await.ok()?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte).await.ok()?;
            tls.write_all(&byte).await.ok()?;
            tls.flush().await.ok()?;
            let client_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|der| der.to_vec());
            // Wait for the client to close, so the echo is not cut off.
            tls.read_to_end(&mut Vec::new()).await.ok();
            Some(client_cert)
        });
        let connected = async {
            let tcp = tokio::net::TcpStream::connect(address)
                .await
                .map_err(|e| e.to_string())?;
            let name = server_name(host).map_err(|e| e.to_string())?;
            let mut tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            tls.write_all(b"m").await.map_err(|e| e.to_string())?;
            tls.flush().await.map_err(|e| e.to_string())?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
            assert_eq!(&byte, b"m");
            tls.shutdown().await.ok();
            Ok(())
        }
        .await;
        let client_cert = server.await.expect("server task").flatten();
        Outcome {
            connected,
            client_cert,
        }
    }

    /// Builds a client config for 127.0.0.1:64738 from `known`, with the real authorities.
    fn config(
        known: &KnownServers,
        identity: Option<&Identity>,
        accept_new: bool,
    ) -> (Arc<ClientConfig>, TrustProbe) {
        client_config_with_roots(
            "127.0.0.1",
            64738,
            identity,
            known.get("127.0.0.1", 64738).map(str::to_owned),
            accept_new,
            Arc::new(RootCertStore::from_iter(
                webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
            )),
        )
        .expect("client config")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn first_use_then_pinned_then_changed_then_replaced() {
        for versions in [Versions::Both, Versions::Tls12Only] {
            let mut known = KnownServers::new();
            let first = ServerCert::self_signed();

            // First connection: accepted, to be remembered.
            let (client, probe) = config(&known, None, false);
            let outcome = connect_once(&first, versions, "127.0.0.1", client).await;
            outcome.connected.expect("first use connects");
            let trust = probe.trust().expect("judged");
            assert_eq!(
                trust,
                Trust::FirstUse {
                    fingerprint: first.fingerprint()
                },
                "{versions:?}"
            );
            assert_eq!(probe.server(), "127.0.0.1:64738");
            assert!(known.record("127.0.0.1", 64738, &trust));
            assert_eq!(known.get("127.0.0.1", 64738), Some(&*first.fingerprint()));

            // Same certificate again: pinned.
            let (client, probe) = config(&known, None, false);
            let outcome = connect_once(&first, versions, "127.0.0.1", client).await;
            outcome.connected.expect("pinned connects");
            let trust = probe.trust().expect("judged");
            assert_eq!(trust, Trust::Pinned);
            assert!(!known.record("127.0.0.1", 64738, &trust));

            // Another certificate: refused, and the probe says why.
            let second = ServerCert::self_signed();
            let (client, probe) = config(&known, None, false);
            let outcome = connect_once(&second, versions, "127.0.0.1", client).await;
            let error = outcome.connected.expect_err("changed certificate refused");
            let changed = Trust::Changed {
                old: first.fingerprint(),
                new: second.fingerprint(),
            };
            assert_eq!(probe.trust(), Some(changed.clone()));
            let sentence = probe.sentence().expect("sentence");
            assert!(sentence.contains("has changed"), "{sentence}");
            assert!(sentence.contains("127.0.0.1:64738"), "{sentence}");
            assert!(sentence.contains(&first.fingerprint()), "{sentence}");
            assert!(sentence.contains("--accept-new-certificate"), "{sentence}");
            assert!(error.contains("has changed"), "{error}");
            assert!(!known.record("127.0.0.1", 64738, &changed));
            assert_eq!(known.get("127.0.0.1", 64738), Some(&*first.fingerprint()));

            // The user accepts the new certificate.
            let (client, probe) = config(&known, None, true);
            let outcome = connect_once(&second, versions, "127.0.0.1", client).await;
            outcome.connected.expect("accepted new certificate");
            let trust = probe.trust().expect("judged");
            assert_eq!(
                trust,
                Trust::Replaced {
                    old: first.fingerprint(),
                    new: second.fingerprint()
                }
            );
            assert!(known.record("127.0.0.1", 64738, &trust));
            assert_eq!(known.get("127.0.0.1", 64738), Some(&*second.fingerprint()));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn server_sees_the_identity_fingerprint() {
        let identity = Identity::generate("Alice").expect("identity");
        let cert = ServerCert::self_signed();
        for versions in [Versions::Both, Versions::Tls12Only] {
            let (client, _) = config(&KnownServers::new(), Some(&identity), false);
            let outcome = connect_once(&cert, versions, "127.0.0.1", client).await;
            outcome.connected.expect("connects");
            let seen = outcome.client_cert.expect("client certificate presented");
            assert_eq!(certificate_fingerprint(&seen), identity.fingerprint());
        }
        // Without an identity, no certificate is sent.
        let (client, _) = config(&KnownServers::new(), None, false);
        let outcome = connect_once(&cert, Versions::Both, "127.0.0.1", client).await;
        outcome.connected.expect("connects");
        assert_eq!(outcome.client_cert, None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn authority_verified_certificate_wins_over_a_stale_pin() {
        let (ca, leaf) = ca_and_leaf();
        let mut roots = RootCertStore::empty();
        roots.add(ca).expect("root");
        let roots = Arc::new(roots);
        let stale = "00".repeat(20);
        let (client, probe) = client_config_with_roots(
            "localhost",
            64738,
            None,
            Some(stale.clone()),
            false,
            roots.clone(),
        )
        .expect("config");
        let outcome = connect_once(&leaf, Versions::Both, "localhost", client).await;
        outcome.connected.expect("verified by the authority");
        let trust = probe.trust().expect("judged");
        assert_eq!(
            trust,
            Trust::CaVerified {
                fingerprint: leaf.fingerprint()
            }
        );

        // The same certificate for a name it does not cover falls back to the pin.
        let (client, probe) =
            client_config_with_roots("127.0.0.1", 64738, None, Some(stale), false, roots)
                .expect("config");
        let outcome = connect_once(&leaf, Versions::Both, "127.0.0.1", client).await;
        assert!(outcome.connected.is_err());
        assert!(matches!(probe.trust(), Some(Trust::Changed { .. })));
    }

    #[test]
    fn server_keys_and_names() {
        assert_eq!(
            server_key("Mumble.Example.ORG.", 64738),
            "mumble.example.org:64738"
        );
        assert_eq!(server_key("::1", 1), "[::1]:1");
        assert_eq!(server_key("[0:0::1]", 1), "[::1]:1");
        assert_eq!(server_key("10.0.0.1", 2), "10.0.0.1:2");
        assert!(matches!(
            server_name("[::1]").expect("ip"),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("127.0.0.1").expect("ip"),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("mumble.example.org").expect("dns"),
            ServerName::DnsName(_)
        ));
        assert!(server_name("not a host").is_err());
    }

    #[test]
    fn known_servers_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (empty, warning) = KnownServers::load(dir.path());
        assert!(empty.is_empty());
        assert!(warning.is_none());

        let mut known = KnownServers::new();
        let a = "ab".repeat(20);
        assert!(known.pin("Example.org", 64738, &a.to_uppercase()));
        assert!(!known.pin("example.org", 64738, &a), "same pin, no change");
        assert!(known.pin("::1", 64739, &"01".repeat(20)));
        assert!(!known.pin("x", 1, "not hex"));
        known.save(dir.path()).expect("save");
        let (loaded, warning) = KnownServers::load(dir.path());
        assert!(warning.is_none(), "{warning:?}");
        assert_eq!(loaded, known);
        assert_eq!(loaded.get("example.org", 64738), Some(a.as_str()));
        assert_eq!(loaded.get("example.org", 1), None);
        assert_eq!(loaded.len(), 2);
        let text = std::fs::read_to_string(known_servers_path(dir.path())).expect("read");
        assert!(text.contains("\"example.org:64738\""), "{text}");
        assert!(text.contains("\"[::1]:64739\""), "{text}");

        let mut forgetful = loaded;
        assert_eq!(forgetful.forget("EXAMPLE.org", 64738), Some(a));
        assert_eq!(forgetful.len(), 1);
        // Only the file is left (no temporary file).
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn corrupt_known_servers_file_is_set_aside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = known_servers_path(dir.path());
        for garbage in [
            "[servers\n\"a:1\" = ",
            "[servers]\n\"a:1\" = \"not a fingerprint\"\n",
        ] {
            std::fs::write(&path, garbage).expect("write");
            let (known, warning) = KnownServers::load(dir.path());
            assert!(known.is_empty());
            let warning = warning.expect("a warning");
            let backup = warning.backup.clone().expect("set aside");
            assert!(!path.exists());
            assert_eq!(std::fs::read_to_string(&backup).expect("backup"), garbage);
            let name = backup
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            assert!(name.starts_with("known_servers.toml.corrupt-"), "{name}");
            let sentence = warning.to_string();
            assert!(sentence.contains(&path.display().to_string()), "{sentence}");
            assert!(
                sentence.contains(&backup.display().to_string()),
                "{sentence}"
            );
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 2);
    }
}
