//! Async drivers: they own sockets and timers and feed the sans-IO cores in [`crate::proto`].
//!
//! Everything that waits on the network or the clock lives here, on tokio; the protocol logic
//! does not.

pub mod mumble;
pub mod trust;
