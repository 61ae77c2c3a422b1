//! What the window shows, and the only place it changes.
//!
//! **Invariant:** no egui types here. [`WindowState`] changes in exactly two ways: by applying an
//! engine [`Event`] ([`WindowState::apply`]) or a user [`Intent`] from the view
//! ([`WindowState::handle`]), which answers with the [`Effects`] the glue must carry out
//! (commands to send, settings to save). No I/O happens here, so all of it is unit-tested.

use crate::audio::device::DeviceInfo;
use crate::audio::{AudioError, EchoSummary};
use crate::command::{Command, Event};
use crate::config::{AudioSettings, Language, Settings};

/// Where the echo test stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EchoPhase {
    /// Not running.
    #[default]
    Idle,
    /// Asked to start; waiting for [`Event::EchoTestStarted`].
    Starting,
    /// Running.
    Running,
    /// Asked to stop; waiting for [`Event::EchoTestStopped`].
    Stopping,
}

/// A device went away (from [`Event::DeviceLost`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLost {
    /// The device that went away.
    pub name: String,
    /// The device used instead, if any.
    pub fallback: Option<String>,
}

/// What the user asked for in the last frame. Produced by the view, applied by
/// [`WindowState::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Use this microphone (`None`: system default).
    SelectInput(Option<String>),
    /// Use these speakers (`None`: system default).
    SelectOutput(Option<String>),
    /// Enumerate the devices again.
    RefreshDevices,
    /// New send-chain settings. `commit` is false while a slider is being dragged: the engine
    /// hears every step, the file is written once the drag ends.
    SetAudio {
        /// The settings to use.
        audio: AudioSettings,
        /// Whether to save them now.
        commit: bool,
    },
    /// Save the current settings (a drag ended without a last change).
    CommitSettings,
    /// Change the window's language.
    SetLanguage(Language),
    /// Start the echo test if it is idle, stop it if it runs.
    ToggleEchoTest,
    /// Play a short tone on the speakers.
    PlayTestSound,
    /// Hide the last error.
    DismissError,
    /// Hide the settings-file warning.
    DismissConfigWarning,
    /// Hide the device-lost notice.
    DismissDeviceLost,
}

/// What the glue must do after [`WindowState::handle`].
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    /// Commands for the engine, in order.
    pub commands: Vec<Command>,
    /// Whether the settings must be written to disk now.
    pub save: bool,
}

/// Everything the window shows, except the live levels (read from
/// [`crate::audio::Meters`] each frame).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowState {
    /// The settings in force (and persisted).
    pub settings: Settings,
    /// Settings changed but not yet written (a drag is in progress).
    pub unsaved: bool,
    /// Capture devices, as last enumerated by the engine.
    pub inputs: Vec<DeviceInfo>,
    /// Playback devices, as last enumerated by the engine.
    pub outputs: Vec<DeviceInfo>,
    /// Display name of the open microphone.
    pub input_opened: Option<String>,
    /// Display name of the open speakers.
    pub output_opened: Option<String>,
    /// Echo test progress.
    pub echo: EchoPhase,
    /// What went through the last echo test.
    pub last_summary: Option<EchoSummary>,
    /// The last audio failure, until dismissed.
    pub last_error: Option<AudioError>,
    /// The last device loss, until dismissed.
    pub device_lost: Option<DeviceLost>,
    /// The settings-file warning from start-up (already a sentence), until dismissed.
    pub config_warning: Option<String>,
    /// Why the last save failed (the system's words), until the next successful save.
    pub save_error: Option<String>,
    /// The engine's channel closed: it is gone.
    pub engine_stopped: bool,
    /// Whether there is a folder to save the settings in.
    pub can_save: bool,
}

impl WindowState {
    /// The state at start-up.
    pub fn new(settings: Settings, config_warning: Option<String>, can_save: bool) -> Self {
        Self {
            settings,
            config_warning,
            can_save,
            ..Self::default()
        }
    }

    /// Applies one engine event.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Devices { inputs, outputs } => {
                self.inputs = inputs;
                self.outputs = outputs;
            }
            Event::InputOpened(name) => self.input_opened = Some(name),
            Event::OutputOpened(name) => self.output_opened = Some(name),
            Event::DeviceLost { name, fallback } => {
                if self.input_opened.as_deref() == Some(name.as_str()) {
                    self.input_opened = fallback.clone();
                }
                if self.output_opened.as_deref() == Some(name.as_str()) {
                    self.output_opened = fallback.clone();
                }
                self.device_lost = Some(DeviceLost { name, fallback });
            }
            Event::EchoTestStarted => self.echo = EchoPhase::Running,
            Event::EchoTestStopped(summary) => {
                self.echo = EchoPhase::Idle;
                self.last_summary = Some(summary);
            }
            // The window never asks for a recording; the command line does.
            Event::Recorded { .. }
            | Event::CallStarted
            | Event::CallStopped { .. }
            | Event::Speaking { .. } => {}
            Event::Error(error) => {
                // A failure while starting or stopping means the test is not running.
                if matches!(self.echo, EchoPhase::Starting | EchoPhase::Stopping) {
                    self.echo = EchoPhase::Idle;
                }
                self.last_error = Some(error);
            }
        }
    }

    /// The engine is gone (its event channel closed).
    pub fn engine_gone(&mut self) {
        self.engine_stopped = true;
        self.echo = EchoPhase::Idle;
    }

    /// Applies one user intent; returns what must be sent and saved.
    pub fn handle(&mut self, intent: Intent) -> Effects {
        let mut effects = Effects::default();
        match intent {
            Intent::SelectInput(id) => {
                if self.settings.input_device != id {
                    self.settings.input_device = id.clone();
                    effects.commands.push(Command::SelectInput(id));
                    effects.save = true;
                }
            }
            Intent::SelectOutput(id) => {
                if self.settings.output_device != id {
                    self.settings.output_device = id.clone();
                    effects.commands.push(Command::SelectOutput(id));
                    effects.save = true;
                }
            }
            Intent::RefreshDevices => effects.commands.push(Command::RefreshDevices),
            Intent::SetAudio { mut audio, commit } => {
                audio.sanitize();
                if audio != self.settings.audio {
                    self.settings.audio = audio.clone();
                    effects.commands.push(Command::SetAudioSettings(audio));
                    self.unsaved = true;
                }
                effects.save = commit && self.unsaved;
            }
            Intent::CommitSettings => effects.save = self.unsaved,
            Intent::SetLanguage(language) => {
                if self.settings.language != language {
                    self.settings.language = language;
                    effects.save = true;
                }
            }
            Intent::ToggleEchoTest => match self.echo {
                EchoPhase::Idle => {
                    self.echo = EchoPhase::Starting;
                    effects.commands.push(Command::StartEchoTest);
                }
                EchoPhase::Running => {
                    self.echo = EchoPhase::Stopping;
                    effects.commands.push(Command::StopEchoTest);
                }
                EchoPhase::Starting | EchoPhase::Stopping => {}
            },
            Intent::PlayTestSound => effects.commands.push(Command::PlayTestSound),
            Intent::DismissError => self.last_error = None,
            Intent::DismissConfigWarning => self.config_warning = None,
            Intent::DismissDeviceLost => self.device_lost = None,
        }
        if effects.save {
            self.unsaved = false;
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, is_default: bool) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            name: id.to_uppercase(),
            is_default,
            sample_rates: vec![(48_000, 48_000)],
            channels: vec![1],
        }
    }

    #[test]
    fn events_fill_the_state() {
        let mut state = WindowState::new(Settings::default(), None, true);
        state.apply(Event::Devices {
            inputs: vec![device("mic", true)],
            outputs: vec![device("spk", true), device("hdmi", false)],
        });
        state.apply(Event::InputOpened("MIC".into()));
        state.apply(Event::OutputOpened("HDMI".into()));
        assert_eq!(state.outputs.len(), 2);
        state.apply(Event::DeviceLost {
            name: "HDMI".into(),
            fallback: Some("SPK".into()),
        });
        assert_eq!(state.output_opened.as_deref(), Some("SPK"));
        assert_eq!(state.input_opened.as_deref(), Some("MIC"));
        assert!(state.device_lost.is_some());
        state.handle(Intent::DismissDeviceLost);
        assert!(state.device_lost.is_none());
    }

    #[test]
    fn echo_test_round_trip() {
        let mut state = WindowState::default();
        let effects = state.handle(Intent::ToggleEchoTest);
        assert_eq!(effects.commands, vec![Command::StartEchoTest]);
        assert_eq!(state.echo, EchoPhase::Starting);
        // A second click while starting does nothing.
        assert!(state.handle(Intent::ToggleEchoTest).commands.is_empty());
        state.apply(Event::EchoTestStarted);
        assert_eq!(
            state.handle(Intent::ToggleEchoTest).commands,
            vec![Command::StopEchoTest]
        );
        let summary = EchoSummary {
            packets_sent: 10,
            ..EchoSummary::default()
        };
        state.apply(Event::EchoTestStopped(summary.clone()));
        assert_eq!(state.echo, EchoPhase::Idle);
        assert_eq!(state.last_summary, Some(summary));
    }

    #[test]
    fn an_error_while_starting_resets_the_echo_test() {
        let mut state = WindowState::default();
        state.handle(Intent::ToggleEchoTest);
        state.apply(Event::Error(AudioError::NoDevice { direction: "input" }));
        assert_eq!(state.echo, EchoPhase::Idle);
        assert!(state.last_error.is_some());
        state.handle(Intent::DismissError);
        assert!(state.last_error.is_none());
    }

    #[test]
    fn device_choice_is_sent_and_saved_once() {
        let mut state = WindowState::default();
        let effects = state.handle(Intent::SelectInput(Some("mic".into())));
        assert_eq!(
            effects.commands,
            vec![Command::SelectInput(Some("mic".into()))]
        );
        assert!(effects.save);
        assert_eq!(state.settings.input_device.as_deref(), Some("mic"));
        assert_eq!(
            state.handle(Intent::SelectInput(Some("mic".into()))),
            Effects::default()
        );
    }

    #[test]
    fn dragging_the_threshold_sends_each_step_and_saves_at_the_end() {
        let mut state = WindowState::default();
        let mut audio = state.settings.audio.clone();
        audio.set_gate_open(-30.0);
        let effects = state.handle(Intent::SetAudio {
            audio: audio.clone(),
            commit: false,
        });
        assert_eq!(
            effects.commands,
            vec![Command::SetAudioSettings(audio.clone())]
        );
        assert!(!effects.save);
        assert!(state.unsaved);
        let effects = state.handle(Intent::CommitSettings);
        assert!(effects.save && effects.commands.is_empty());
        assert!(!state.unsaved);
        assert!(!state.handle(Intent::CommitSettings).save);
    }

    #[test]
    fn invalid_audio_settings_are_corrected_before_sending() {
        let mut state = WindowState::default();
        let audio = AudioSettings {
            gate_open_dbfs: -50.0,
            gate_close_dbfs: -10.0,
            ..AudioSettings::default()
        };
        let effects = state.handle(Intent::SetAudio {
            audio,
            commit: true,
        });
        let Some(Command::SetAudioSettings(sent)) = effects.commands.first() else {
            panic!("no settings sent: {effects:?}");
        };
        assert!(sent.gate_close_dbfs < sent.gate_open_dbfs);
        assert!(effects.save);
    }

    #[test]
    fn engine_gone_stops_waiting() {
        let mut state = WindowState::default();
        state.handle(Intent::ToggleEchoTest);
        state.engine_gone();
        assert!(state.engine_stopped);
        assert_eq!(state.echo, EchoPhase::Idle);
    }
}
