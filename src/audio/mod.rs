//! The audio engine: devices, the real-time callbacks, the send and receive chains.
//!
//! Everything inside a call runs at 48 kHz, mono, in frames of 10 ms ([`FRAME_SAMPLES`]).
//! Device rates and channel counts are converted at the edges (see `device`).

pub mod call;
pub mod codec;
pub mod device;
pub mod dsp;
pub mod echo;
pub mod engine;
pub mod jitter;
pub mod meter;
#[cfg(target_os = "linux")]
pub mod pulse;
pub mod receive;
pub mod rt;
pub mod send;
pub mod wav;

pub use meter::Meters;

/// The sample rate of everything inside palabre's audio chains.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 10 ms processing frame at [`SAMPLE_RATE`], mono.
pub const FRAME_SAMPLES: usize = 480;

/// What went through an echo test (or a call's audio chains): the figures `palabre echo-test`
/// prints as one JSON line.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct EchoSummary {
    /// Opus packets produced by the send chain.
    pub packets_sent: u64,
    /// Bytes of Opus payload in those packets.
    pub payload_bytes: u64,
    /// Packets the simulated network dropped.
    pub packets_lost: u64,
    /// 10 ms frames the decoder had to invent (packet-loss concealment).
    pub frames_concealed: u64,
    /// Packets rebuilt from the in-band FEC of the packet that followed them.
    pub packets_recovered_fec: u64,
    /// Packets that arrived too late to be played and were dropped.
    pub packets_late: u64,
    /// Mean delay a packet spent in the jitter buffer, in milliseconds.
    pub mean_jitter_delay_ms: f64,
    /// Delay from microphone to speaker added by the chain (echo canceller, noise suppressor,
    /// frame, codec look-ahead, jitter buffer), in milliseconds; devices' own buffers excluded.
    pub chain_delay_ms: f64,
    /// Seconds of audio that went through the chain.
    pub seconds: f64,
}

/// An audio failure, kept as data so the UI can say it in the user's language.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudioError {
    /// No device with this name or id exists.
    #[error("there is no {direction} device called “{wanted}”; available: {}", .available.join(", "))]
    NoSuchDevice {
        /// `input` or `output`.
        direction: &'static str,
        /// What the user asked for.
        wanted: String,
        /// The names that exist.
        available: Vec<String>,
    },
    /// The system has no device of this direction at all.
    #[error("no {direction} device was found on this computer")]
    NoDevice {
        /// `input` or `output`.
        direction: &'static str,
    },
    /// The device exists but could not be opened.
    #[error("the {direction} device “{name}” could not be opened: {reason}")]
    OpenFailed {
        /// `input` or `output`.
        direction: &'static str,
        /// Device name.
        name: String,
        /// The system's reason.
        reason: String,
    },
    /// A WAV file could not be read or written.
    #[error("the sound file {path} could not be used: {reason}")]
    Wav {
        /// File path as given.
        path: String,
        /// Why, in plain words.
        reason: String,
    },
    /// The Opus codec refused a setting or a frame.
    #[error("the Opus codec failed: {0}")]
    Codec(String),
    /// A setting is out of range.
    #[error("{0}")]
    InvalidSetting(String),
}

impl AudioError {
    /// `Some("input")` or `Some("output")` when the error concerns one device direction.
    pub fn direction(&self) -> Option<&'static str> {
        match self {
            AudioError::NoSuchDevice { direction, .. }
            | AudioError::NoDevice { direction }
            | AudioError::OpenFailed { direction, .. } => Some(direction),
            _ => None,
        }
    }
}
