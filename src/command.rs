//! The only boundary between the window and the engine: `Command`s go down, `Event`s come up.
//!
//! The UI never does I/O. It renders what it knows, sends `Command`s through an
//! `std::sync::mpsc::Sender<Command>`, and applies the `Event`s it drains from an
//! `std::sync::mpsc::Receiver<Event>` at the start of each frame. The engine calls the repaint
//! callback it was given after each `Event` it sends. High-rate values (levels, gate state) are
//! not events: the UI reads them from [`crate::audio::Meters`] each frame.

use crate::audio::EchoSummary;
use crate::audio::device::DeviceInfo;

/// What the window asks the audio engine to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Use this input device (by [`DeviceInfo::id`]); `None` means the system default.
    SelectInput(Option<String>),
    /// Use this output device (by [`DeviceInfo::id`]); `None` means the system default.
    SelectOutput(Option<String>),
    /// Enumerate devices again and answer with [`Event::Devices`].
    RefreshDevices,
    /// Change the processing settings of the send chain (gate, noise suppression, preset…).
    SetAudioSettings(crate::config::AudioSettings),
    /// Push-to-talk key pressed (`true`) or released (`false`); only matters in push-to-talk mode.
    PushToTalk(bool),
    /// Start the echo test: the microphone goes through the whole call chain and back to the
    /// speakers.
    StartEchoTest,
    /// Stop the echo test; the engine answers with [`Event::EchoTestStopped`].
    StopEchoTest,
    /// Start a call: the microphone goes through the send chain to `CallLink::outgoing`, and
    /// the packets read from the link are decoded, mixed and played.
    StartCall(crate::audio::call::CallLink),
    /// End the call; the engine answers with [`Event::CallStopped`].
    StopCall,
    /// Play a short tone on the speakers ("play a test sound"). While recording, it starts once
    /// half a second has been recorded.
    PlayTestSound,
    /// Start keeping what the microphone captures (48 kHz mono, before any processing).
    StartRecording,
    /// Stop keeping it; the engine answers with [`Event::Recorded`].
    StopRecording,
    /// Open the devices (`true`, the state at start) or close them (`false`): the window closes
    /// them on screens without a meter or a call, so an idle window costs nothing. Ignored while
    /// an echo test or a call runs.
    SetActive(bool),
    /// Whether the window shows a level meter. While it does not, the engine does not wake it
    /// when levels change (events still do).
    ShowMeters(bool),
    /// Stop everything and end the engine thread.
    Shutdown,
}

/// What the audio engine tells the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The devices available now.
    Devices {
        /// Capture devices.
        inputs: Vec<DeviceInfo>,
        /// Playback devices.
        outputs: Vec<DeviceInfo>,
    },
    /// The microphone is open on this device (its display name).
    InputOpened(String),
    /// The speakers are open on this device (its display name).
    OutputOpened(String),
    /// A device went away; the engine fell back to the default one (if any).
    DeviceLost {
        /// The display name of the device that was lost.
        name: String,
        /// The display name of the device used instead, if one could be opened.
        fallback: Option<String>,
    },
    /// The echo test runs.
    EchoTestStarted,
    /// The echo test stopped; what went through it.
    EchoTestStopped(EchoSummary),
    /// The call's audio runs.
    CallStarted,
    /// The call's audio stopped.
    CallStopped {
        /// 10 ms frames the receive side had to conceal (losses, late packets).
        frames_concealed: u64,
    },
    /// A remote speaker started (`on`) or stopped being heard.
    Speaking {
        /// The speaker's id on the link.
        speaker: u32,
        /// Heard now.
        on: bool,
    },
    /// In a call: our voice started (`true`) or stopped (`false`) going out (the noise gate or
    /// push-to-talk opened or closed).
    Sending(bool),
    /// What the microphone captured between `StartRecording` and `StopRecording`.
    Recorded {
        /// 48 kHz mono samples.
        samples: Vec<f32>,
        /// The sample of the recording at which the first test sound started playing, if one
        /// played: the tone's onset in the recording minus this is the device round trip.
        tone_at: Option<usize>,
    },
    /// Something failed; the UI turns it into a sentence in the user's language.
    Error(crate::audio::AudioError),
}
