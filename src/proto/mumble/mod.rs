//! Mumble's protocol, sans-IO: the pieces a client (or a fake server in tests) needs, each
//! testable byte for byte against `docs/mumble-protocol.md` (the brief) and Mumble's sources.
//!
//! - [`crypt`]: the OCB2-AES128 state that encrypts and decrypts UDP voice datagrams (brief
//!   §1.7), with Mumble's nonce window, replay history, statistics and attack countermeasures.
//! - [`voice`]: the two UDP voice packet formats, legacy (< 1.5) and protobuf (1.5+), their
//!   pings, and the rule choosing between them (brief §1.8–§1.10).
//!
//! Invariants: no I/O and no clock (time is passed in); untrusted bytes yield errors, never
//! panics; no datagram or tunnelled voice packet exceeds 1024 bytes.

pub mod control;
pub mod crypt;
pub mod messages;
pub mod session;
pub mod voice;
