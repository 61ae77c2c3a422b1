//! Async drivers: they own sockets and timers and feed the sans-IO cores in [`crate::proto`].
//!
//! Everything that waits on the network or the clock lives here (on tokio, except the short
//! blocking availability checks of `probe`, which run on a thread of their own); the protocol
//! logic does not.

pub mod jitsi;
pub mod mumble;
pub mod probe;
pub mod trust;
