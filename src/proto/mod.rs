//! Sans-IO protocol cores: wire formats and state machines, with no I/O of their own.
//!
//! Invariants for everything under this module (style guide B2, rules P1–P8):
//! - no sockets, no threads, no tokio, and no clock: every time-dependent call takes `now`;
//! - encoders write into caller-provided buffers;
//! - every parser of bytes from the network returns a `Result` and never panics on its input,
//!   nor allocates more than a bound derived from the input's (already limited) length.
//!
//! The async drivers that feed these cores with sockets and timers live outside `proto`.

pub mod jitsi;
pub mod mumble;
