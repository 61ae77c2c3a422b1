//! palabre: a sober native client for Jitsi Meet and Mumble.
//!
//! See ARCHITECTURE.md for the bird's-eye view and the code map.
// `unsafe` only where C is called: the VP8 codec (src/video/codec.rs), which allows it itself.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod audio;
pub mod call;
pub mod command;
pub mod conference;
pub mod config;
pub mod directory;
pub mod hotkey;
pub mod i18n;
pub mod identity;
pub mod instance;
pub mod jitsi_call;
pub mod link;
pub mod net;
pub mod proto;
pub mod ui;
pub mod video;

/// With the `assert-no-alloc` feature, every binary linking palabre (the app, the tests) counts
/// allocations made inside the real-time callbacks (see `audio::rt`).
#[cfg(feature = "assert-no-alloc")]
#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
