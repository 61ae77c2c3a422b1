//! Async drivers: they own sockets and timers and feed the sans-IO cores in [`crate::proto`].
//!
//! Everything that waits on the network or the clock lives here (on tokio, except the short
//! blocking availability checks of `probe`, which run on a thread of their own); the protocol
//! logic does not.

pub mod jitsi;
pub mod mumble;
pub mod probe;
pub mod trust;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The one cryptography every TLS connection uses: aws-lc-rs, the library str0m's DTLS already
/// links, so the binary carries one implementation instead of two.
pub fn tls_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
