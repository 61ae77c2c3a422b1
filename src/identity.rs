//! The user's client certificate: their identity on Mumble servers.
//!
//! A Mumble server knows a user by the SHA-1 of their certificate (the "cert hash"): a registered
//! name, its ACLs and friends' lists are tied to it. Losing the certificate loses all of that, so
//! palabre never overwrites or deletes one silently: a damaged file is left untouched and
//! reported, and a replaced identity is kept next to the new one.
//!
//! Stored as `identity.pem` in the config directory ([`crate::config::config_dir`]): the
//! certificate (then any intermediate certificates) and the PKCS#8 private key, in PEM, readable
//! by its owner only (mode 0600 on unix). The same format is used to export and import.
//!
//! palabre makes an ECDSA P-256 self-signed certificate, valid 20 years, with the `clientAuth`
//! extended key usage and no CA rights. The official client makes the same with RSA-2048; Mumble
//! servers accept both (see §1.1 of the Mumble protocol notes).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::{PemObject as _, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha1::{Digest as _, Sha1};

use crate::config::ConfigError;

/// The identity file's name inside the config directory.
pub const IDENTITY_FILE: &str = "identity.pem";

/// How long a generated certificate is valid (20 years, as the official client's).
pub const VALIDITY: Duration = Duration::from_secs(20 * 36525 * 24 * 36); // 20 × 365.25 days

/// The identity file inside `dir`.
pub fn identity_path(dir: &Path) -> PathBuf {
    dir.join(IDENTITY_FILE)
}

/// The fingerprint Mumble uses for a certificate: lowercase hex SHA-1 of its DER encoding.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    Sha1::digest(der)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A client certificate and its private key.
///
/// `Debug` shows the fingerprint only, never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// DER of the leaf certificate (the one whose hash the server sees).
    cert_der: Vec<u8>,
    /// DER of intermediate certificates sent after the leaf (empty for a self-signed one).
    intermediates: Vec<Vec<u8>>,
    /// PKCS#8 DER of the private key.
    key_der: Vec<u8>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// Why some bytes are not a usable identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidIdentity {
    /// The text is not well-formed PEM.
    NotPem(String),
    /// No `CERTIFICATE` section.
    NoCertificate,
    /// No `PRIVATE KEY` section.
    NoKey,
    /// More than one private key.
    SeveralKeys,
    /// The key is password-protected (`ENCRYPTED PRIVATE KEY`).
    EncryptedKey,
    /// The key is in a legacy format (`RSA PRIVATE KEY` or `EC PRIVATE KEY`), not PKCS#8.
    KeyNotPkcs8,
    /// The key could not be parsed or is of an unsupported type.
    UnsupportedKey(String),
    /// The certificate could not be parsed.
    BadCertificate(String),
    /// The private key does not belong to the certificate.
    KeyMismatch,
}

impl fmt::Display for InvalidIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotPem(why) => write!(f, "it is not readable PEM text ({why})"),
            Self::NoCertificate => f.write_str("it holds no certificate"),
            Self::NoKey => f.write_str("it holds no private key"),
            Self::SeveralKeys => f.write_str("it holds more than one private key"),
            Self::EncryptedKey => f.write_str(
                "its private key is password-protected; remove the password first \
                 (openssl pkcs8 -topk8 -nocrypt)",
            ),
            Self::KeyNotPkcs8 => f.write_str(
                "its private key is in an old format; convert it to PKCS#8 first \
                 (openssl pkcs8 -topk8 -nocrypt)",
            ),
            Self::UnsupportedKey(why) => write!(f, "its private key cannot be used ({why})"),
            Self::BadCertificate(why) => write!(f, "its certificate cannot be read ({why})"),
            Self::KeyMismatch => f.write_str("its private key does not belong to its certificate"),
        }
    }
}

/// An identity could not be made, read, saved, imported or exported.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Making a new certificate failed.
    #[error("a new identity could not be made: {0}")]
    Generate(#[from] rcgen::Error),
    /// The identity file exists but could not be read.
    #[error("the identity file {path} could not be read: {source}; palabre left it untouched")]
    Read {
        /// The identity file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The identity file exists but is not a usable identity.
    #[error(
        "the identity file {path} is damaged: {reason}; palabre left it untouched. Restore a \
         backup of it, or move it away to start with a new identity (servers will then no \
         longer recognise you)"
    )]
    Damaged {
        /// The identity file.
        path: PathBuf,
        /// What is wrong with it.
        reason: InvalidIdentity,
    },
    /// The identity could not be saved.
    #[error("the identity could not be saved: {0}")]
    Save(#[from] ConfigError),
    /// The previous identity could not be kept aside before being replaced.
    #[error(
        "the previous identity {path} could not be kept as {backup} ({source}), so it was not \
         replaced"
    )]
    Backup {
        /// The identity file.
        path: PathBuf,
        /// Where it was to be copied.
        backup: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A file to import could not be read.
    #[error("the file {path} could not be read: {source}")]
    ImportRead {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A file to import is not a usable identity.
    #[error(
        "the file {path} cannot be imported as an identity: {reason}. palabre expects a PEM \
         file with the certificate and its PKCS#8 private key"
    )]
    Import {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: InvalidIdentity,
    },
    /// The identity could not be written to the chosen file.
    #[error("the identity could not be exported to {path}: {source}")]
    Export {
        /// The file.
        path: PathBuf,
        /// The system's reason (or [`ConfigError`]'s).
        source: ConfigError,
    },
}

impl Identity {
    /// Makes a new identity: an ECDSA P-256 self-signed certificate with `common_name` as its
    /// CN, valid from yesterday (clock skew) for 20 years, for client authentication only.
    pub fn generate(common_name: &str) -> Result<Identity, IdentityError> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = rcgen::CertificateParams::default();
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, common_name);
        params.distinguished_name = name;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
        params.not_before = now - Duration::from_secs(24 * 3600);
        params.not_after = now + VALIDITY;
        let cert = params.self_signed(&key)?;
        Ok(Identity {
            cert_der: cert.der().to_vec(),
            intermediates: Vec::new(),
            key_der: key.serialize_der(),
        })
    }

    /// Builds an identity from DER, checking that the key is usable and belongs to the
    /// certificate.
    pub fn from_der(cert_der: Vec<u8>, key_pkcs8_der: Vec<u8>) -> Result<Self, InvalidIdentity> {
        let identity = Identity {
            cert_der,
            intermediates: Vec::new(),
            key_der: key_pkcs8_der,
        };
        identity.validate()?;
        Ok(identity)
    }

    /// Parses the PEM format of the identity file: certificates (the leaf first) and one PKCS#8
    /// private key, in any order; other sections are ignored. The key is checked against the
    /// certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, InvalidIdentity> {
        let mut certificates = Vec::new();
        let mut key = None;
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            let (kind, der) = section.map_err(|e| InvalidIdentity::NotPem(describe_pem(&e)))?;
            match kind {
                SectionKind::Certificate => certificates.push(der),
                SectionKind::PrivateKey if key.is_some() => {
                    return Err(InvalidIdentity::SeveralKeys);
                }
                SectionKind::PrivateKey => key = Some(der),
                SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                    return Err(InvalidIdentity::KeyNotPkcs8);
                }
                _ => {}
            }
        }
        let mut certificates = certificates.into_iter();
        let cert_der = certificates.next().ok_or(InvalidIdentity::NoCertificate)?;
        let key_der = match key {
            Some(key) => key,
            None if contains(pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") => {
                return Err(InvalidIdentity::EncryptedKey);
            }
            None => return Err(InvalidIdentity::NoKey),
        };
        let identity = Identity {
            cert_der,
            intermediates: certificates.collect(),
            key_der,
        };
        identity.validate()?;
        Ok(identity)
    }

    /// The PEM text of the identity file: the certificate, intermediates, then the PKCS#8 key.
    pub fn to_pem(&self) -> String {
        let mut text = String::new();
        pem_section(&mut text, "CERTIFICATE", &self.cert_der);
        for der in &self.intermediates {
            pem_section(&mut text, "CERTIFICATE", der);
        }
        pem_section(&mut text, "PRIVATE KEY", &self.key_der);
        text
    }

    /// The certificate hash a Mumble server knows this identity by: lowercase hex SHA-1 of the
    /// certificate's DER (40 characters).
    pub fn fingerprint(&self) -> String {
        certificate_fingerprint(&self.cert_der)
    }

    /// The DER of the leaf certificate.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate chain and private key for
    /// [`rustls::ConfigBuilder::with_client_auth_cert`].
    pub fn rustls_client_auth(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let chain = std::iter::once(&self.cert_der)
            .chain(&self.intermediates)
            .map(|der| CertificateDer::from(der.clone()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        (chain, key)
    }

    /// Reads the identity file of `dir`; `Ok(None)` when there is none. A file that cannot be
    /// read or used is an error and is left untouched.
    pub fn load(dir: &Path) -> Result<Option<Identity>, IdentityError> {
        let path = identity_path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(IdentityError::Read { path, source }),
        };
        match Identity::from_pem(&bytes) {
            Ok(identity) => Ok(Some(identity)),
            Err(reason) => Err(IdentityError::Damaged { path, reason }),
        }
    }

    /// Writes this identity as the identity file of `dir`, atomically and readable by its owner
    /// only. An existing, different identity file is first copied to
    /// `identity.pem.previous-<unix time>` (returned), so that no identity is ever lost.
    pub fn save(&self, dir: &Path) -> Result<Option<PathBuf>, IdentityError> {
        let path = identity_path(dir);
        let text = self.to_pem();
        let backup = match std::fs::read(&path) {
            Ok(old) if old == text.as_bytes() => None,
            Ok(_) => {
                let backup = crate::config::unused_sibling(&path, "previous");
                if let Err(source) = std::fs::copy(&path, &backup) {
                    std::fs::remove_file(&backup).ok();
                    return Err(IdentityError::Backup {
                        path,
                        backup,
                        source,
                    });
                }
                Some(backup)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            // An identity that cannot be read cannot be kept aside: leave it alone.
            Err(source) => return Err(IdentityError::Read { path, source }),
        };
        crate::config::write_private_atomically(dir, IDENTITY_FILE, text.as_bytes())?;
        Ok(backup)
    }

    /// Loads the identity of `dir`, or makes one named `default_name` and saves it when there is
    /// none. The flag says whether it was created. A damaged or unreadable file is an error and
    /// is never replaced.
    pub fn load_or_create(
        dir: &Path,
        default_name: &str,
    ) -> Result<(Identity, bool), IdentityError> {
        if let Some(identity) = Identity::load(dir)? {
            return Ok((identity, false));
        }
        let identity = Identity::generate(default_name)?;
        identity.save(dir)?;
        Ok((identity, true))
    }

    /// Writes this identity to `path` in the identity file's format (PEM certificate and PKCS#8
    /// key), atomically and, on unix, readable by its owner only. Replaces `path` if it exists.
    pub fn export_to(&self, path: &Path) -> Result<(), IdentityError> {
        let export_error = |source| IdentityError::Export {
            path: path.to_path_buf(),
            source,
        };
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            export_error(ConfigError::Write {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a file name palabre can write",
                ),
            })
        })?;
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        crate::config::write_private_atomically(dir, name, self.to_pem().as_bytes())
            .map_err(export_error)
    }

    /// Reads an identity from a PEM file holding the certificate and its PKCS#8 private key (as
    /// written by [`Identity::export_to`] or `openssl`), checking that the key belongs to the
    /// certificate. Does not save it: see [`Identity::save`].
    pub fn import_from(path: &Path) -> Result<Identity, IdentityError> {
        let bytes = std::fs::read(path).map_err(|source| IdentityError::ImportRead {
            path: path.to_path_buf(),
            source,
        })?;
        Identity::from_pem(&bytes).map_err(|reason| IdentityError::Import {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Checks that the key is usable by rustls and belongs to the certificate.
    fn validate(&self) -> Result<(), InvalidIdentity> {
        let (chain, key) = self.rustls_client_auth();
        let signing_key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
            .map_err(|e| InvalidIdentity::UnsupportedKey(e.to_string()))?;
        match rustls::sign::CertifiedKey::new(chain, signing_key).keys_match() {
            Ok(()) => Ok(()),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                Err(InvalidIdentity::KeyMismatch)
            }
            // Every key type of the provider knows its public key, so this is not reached;
            // if it were, the server would be the judge.
            Err(rustls::Error::InconsistentKeys(_)) => Ok(()),
            Err(e) => Err(InvalidIdentity::BadCertificate(e.to_string())),
        }
    }
}

/// A PEM parser error in words (the parser's own text shows raw bytes).
fn describe_pem(error: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::MissingSectionEnd { end_marker } => format!(
            "the section {} has no END line",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".to_owned(),
        Error::Base64Decode(_) => "a section is not valid base64".to_owned(),
        Error::SectionTooLarge => "a section is too large".to_owned(),
        other => other.to_string(),
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Appends a PEM section (base64 in lines of 64 characters, LF line endings).
fn pem_section(out: &mut String, label: &str, der: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                encoded.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                encoded.push('=');
            }
        }
    }
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    // The base64 alphabet is ASCII, so byte chunks are whole characters.
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_has_a_mumble_fingerprint_and_a_usable_key() {
        let identity = Identity::generate("Alice").expect("generate");
        let fingerprint = identity.fingerprint();
        assert_eq!(fingerprint.len(), 40);
        assert!(
            fingerprint
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{fingerprint}"
        );
        identity.validate().expect("the key matches");
        let (chain, _key) = identity.rustls_client_auth();
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].as_ref(), identity.certificate_der());
        // Two identities are different people.
        let other = Identity::generate("Alice").expect("generate");
        assert_ne!(other.fingerprint(), fingerprint);
        // Debug never shows the key.
        let debug = format!("{identity:?}");
        assert!(debug.contains(&fingerprint), "{debug}");
        assert!(!debug.contains("key_der"), "{debug}");
    }

    #[test]
    fn known_sha1_fingerprint() {
        assert_eq!(
            certificate_fingerprint(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn pem_encoding_round_trips_every_length() {
        for len in 0..10u8 {
            let der: Vec<u8> = (0..len).map(|i| i.wrapping_mul(97)).collect();
            let mut text = String::new();
            pem_section(&mut text, "CERTIFICATE", &der);
            let parsed = CertificateDer::from_pem_slice(text.as_bytes()).expect("parse");
            assert_eq!(parsed.as_ref(), der.as_slice());
        }
        let mut text = String::new();
        pem_section(&mut text, "X", &[0xff; 100]);
        assert!(text.lines().all(|line| line.len() <= 64), "{text}");
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (created, was_created) = Identity::load_or_create(dir.path(), "Bob").expect("create");
        assert!(was_created);
        let (loaded, was_created) = Identity::load_or_create(dir.path(), "Other").expect("load");
        assert!(!was_created);
        assert_eq!(loaded.fingerprint(), created.fingerprint());
        assert_eq!(loaded, created);
        // Only the identity file is left (no temporary file).
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(IDENTITY_FILE)]);
        let text = std::fs::read_to_string(identity_path(dir.path())).expect("read");
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"), "{text}");
        assert!(text.contains("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    }

    #[test]
    fn damaged_file_is_an_error_and_left_untouched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = identity_path(dir.path());
        let identity = Identity::generate("Carol").expect("generate");
        let garbage = identity
            .to_pem()
            .replace("PRIVATE KEY-----\n", "PRIVATE KEY-----\n!!");
        std::fs::write(&path, &garbage).expect("write");
        let err = Identity::load_or_create(dir.path(), "Carol").expect_err("damaged");
        assert!(matches!(err, IdentityError::Damaged { .. }), "{err:?}");
        let sentence = err.to_string();
        assert!(sentence.contains(&path.display().to_string()), "{sentence}");
        assert!(sentence.contains("left it untouched"), "{sentence}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), garbage);

        // A file cut short, and one with the certificate only, are damaged too.
        let text = identity.to_pem();
        let cut = &text[..text.len() / 2];
        std::fs::write(&path, cut).expect("write");
        assert!(matches!(
            Identity::load(dir.path()),
            Err(IdentityError::Damaged { .. })
        ));
        let cert_only: String = text
            .split_inclusive('\n')
            .take_while(|l| !l.contains("PRIVATE"))
            .collect();
        std::fs::write(&path, &cert_only).expect("write");
        assert!(matches!(
            Identity::load(dir.path()),
            Err(IdentityError::Damaged {
                reason: InvalidIdentity::NoKey,
                ..
            })
        ));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), cert_only);
        assert_eq!(std::fs::read_dir(dir.path()).expect("read dir").count(), 1);
    }

    #[test]
    fn export_import_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let identity = Identity::generate("Dave").expect("generate");
        let path = dir.path().join("backup.pem");
        identity.export_to(&path).expect("export");
        let imported = Identity::import_from(&path).expect("import");
        assert_eq!(imported.fingerprint(), identity.fingerprint());
        assert_eq!(imported, identity);

        // Key before certificate, CRLF line endings and surrounding text are accepted.
        let text = identity.to_pem();
        let cert_end = text.find("-----BEGIN PRIVATE KEY").expect("key section");
        let swapped = format!("Bag Attributes\n{}{}", &text[cert_end..], &text[..cert_end])
            .replace('\n', "\r\n");
        std::fs::write(&path, swapped).expect("write");
        assert_eq!(Identity::import_from(&path).expect("import"), identity);

        // Saving an imported identity keeps the one it replaces.
        let store = dir.path().join("config");
        let (first, _) = Identity::load_or_create(&store, "First").expect("create");
        let backup = identity.save(&store).expect("save").expect("a backup");
        assert_eq!(Identity::import_from(&backup).expect("backup"), first);
        assert_eq!(
            Identity::load(&store).expect("load"),
            Some(identity.clone())
        );
        // Saving the same identity again makes no backup.
        assert_eq!(identity.save(&store).expect("save"), None);
    }

    #[test]
    fn key_that_does_not_belong_to_the_certificate_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = Identity::generate("A").expect("generate");
        let b = Identity::generate("B").expect("generate");
        let mixed = Identity {
            cert_der: a.cert_der.clone(),
            intermediates: Vec::new(),
            key_der: b.key_der.clone(),
        };
        let path = dir.path().join("mixed.pem");
        std::fs::write(&path, mixed.to_pem()).expect("write");
        let err = Identity::import_from(&path).expect_err("mismatch");
        assert!(
            matches!(
                err,
                IdentityError::Import {
                    reason: InvalidIdentity::KeyMismatch,
                    ..
                }
            ),
            "{err:?}"
        );
        let sentence = err.to_string();
        assert!(sentence.contains("does not belong"), "{sentence}");
        assert!(sentence.contains(&path.display().to_string()), "{sentence}");
        assert_eq!(
            Identity::from_der(a.cert_der.clone(), b.key_der.clone()),
            Err(InvalidIdentity::KeyMismatch)
        );

        // Legacy and encrypted keys get their own explanation.
        let legacy = a.to_pem().replace("PRIVATE KEY", "EC PRIVATE KEY");
        assert_eq!(
            Identity::from_pem(legacy.as_bytes()),
            Err(InvalidIdentity::KeyNotPkcs8)
        );
        let encrypted = a.to_pem().replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
        assert_eq!(
            Identity::from_pem(encrypted.as_bytes()),
            Err(InvalidIdentity::EncryptedKey)
        );
        assert_eq!(Identity::from_pem(b""), Err(InvalidIdentity::NoCertificate));
    }

    #[cfg(unix)]
    #[test]
    fn identity_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let (identity, _) = Identity::load_or_create(dir.path(), "Eve").expect("create");
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&identity_path(dir.path())), 0o600);
        let exported = dir.path().join("export.pem");
        identity.export_to(&exported).expect("export");
        assert_eq!(mode(&exported), 0o600);
    }
}
