//! What the window shows, and the only place it changes.
//!
//! **Invariant:** no egui types here. [`WindowState`] changes in exactly two ways: by applying an
//! engine [`Event`] ([`WindowState::apply`]) or a user [`Intent`] from the view
//! ([`WindowState::handle`]), which answers with the [`Effects`] the glue must carry out
//! (commands to send, settings to save, a conference to join or command). A running
//! conference reports through [`WindowState::apply_conference`]. No I/O happens here, so all of
//! it is unit-tested.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::audio::device::DeviceInfo;
use crate::audio::{AudioError, EchoSummary};
use crate::command::{Command, Event};
use crate::conference::{
    ChatMessage, ConferenceCommand, ConferenceEvent, Participant, Room, Stage, Traffic,
};
use crate::config::{
    AudioSettings, Language, MUTE_KEYS, PUSH_TO_TALK_KEYS, Settings, TEXT_SIZES_PERCENT, Theme,
};
use crate::directory::{self, Instance};
use crate::i18n::Phrase;
use crate::link::{self, JitsiLink, Link, LinkError, MumbleLink};

/// How many chat messages a call keeps (the oldest go first).
pub const MAX_CHAT_MESSAGES: usize = 500;
/// How many notices from the conference are kept on screen.
pub const MAX_NOTICES: usize = 5;

/// Which screen the window shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    /// The start: a link field, the directory, favourites and recent rooms.
    #[default]
    Home,
    /// Devices, levels, processing and the echo test.
    AudioSetup,
    /// The form before joining a meeting: name, password, devices.
    BeforeJoin,
    /// In a conference (or its ending).
    Call,
    /// Devices, sound, shortcuts, language, theme and text size; opened from the start or
    /// from a call, and back to it.
    Settings,
}

/// Where to go: a Mumble server or a Jitsi Meet room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinLink {
    /// The server, port and channel to go to.
    Mumble(MumbleLink),
    /// The Jitsi Meet room.
    Jitsi(JitsiLink),
}

/// What the glue must join.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// Where to go.
    pub link: JoinLink,
    /// The name to log in with.
    pub name: String,
    /// The server password, if one was given.
    pub password: Option<String>,
    /// Accept a server certificate that differs from the remembered one (the user decided so
    /// after [`ConferenceEvent::CertificateChanged`]).
    pub accept_new_certificate: bool,
    /// Join without video (Jitsi Meet).
    pub audio_only: bool,
}

impl std::fmt::Debug for JoinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinRequest")
            .field("link", &self.link)
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// The meeting chosen on the before-join screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Mumble server (can be joined).
    Mumble(MumbleLink),
    /// A Jitsi Meet room.
    Jitsi(JitsiLink),
    /// A Jitsi Meet server without a room: the room must be named first.
    JitsiServer {
        /// The link without the room, ending with `/` (`https://host/` or
        /// `https://host/tenant/`): the room name is appended to it.
        base: String,
        /// The server, for the title.
        host: String,
    },
}

impl Target {
    /// Whether a call there can carry video: Jitsi Meet, in a build with video (Mumble carries
    /// sound only).
    pub fn carries_video(&self) -> bool {
        !matches!(self, Target::Mumble(_)) && cfg!(feature = "video")
    }
}

/// The before-join form, as opened from a link.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinForm {
    /// Changes each time a link is opened, so the view knows to refill its text fields.
    pub id: u64,
    /// What to join.
    pub target: Target,
    /// The link as palabre writes it (user name cleared, password never written); the key of
    /// favourites and recent rooms. Empty for a server without room.
    pub link: String,
    /// `(name, host)` for the title (see [`Link::title`]).
    pub title: (String, String),
    /// The name to prefill: the link's user name, else the remembered display name.
    pub name: String,
    /// The password to prefill (from the link).
    pub password: String,
    /// Reopened because the server or meeting asked for a password (`Some(true)`: the one
    /// given was wrong): the form says so and puts the cursor in the password field.
    pub asks_password: Option<bool>,
}

impl std::fmt::Debug for JoinForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinForm")
            .field("id", &self.id)
            .field("target", &self.target)
            .field("link", &self.link)
            .field("title", &self.title)
            .field("name", &self.name)
            .field("password", &"<hidden>")
            .field("asks_password", &self.asks_password)
            .finish()
    }
}

impl JoinForm {
    /// Whether this form can be joined (a Jitsi Meet server needs a room first).
    pub fn joinable(&self) -> bool {
        matches!(self.target, Target::Mumble(_) | Target::Jitsi(_))
    }
}

/// What the window knows of the conference in progress (or the last one).
#[derive(Debug, Clone, PartialEq)]
pub struct CallState {
    /// `(name, host)` of the meeting.
    pub title: (String, String),
    /// Where the connection stands.
    pub stage: Stage,
    /// Everyone, the user included.
    pub participants: Vec<Participant>,
    /// Rooms (Mumble channels); empty on back-ends without rooms.
    pub rooms: Vec<Room>,
    /// The last [`MAX_CHAT_MESSAGES`] messages, oldest first.
    pub chat: Vec<ChatMessage>,
    /// Messages from others that arrived while the chat panel was closed.
    pub unread: usize,
    /// Whether the chat panel is open.
    pub chat_open: bool,
    /// Participants heard right now (by id).
    pub speaking: BTreeSet<u32>,
    /// Traffic, as last reported.
    pub traffic: Traffic,
    /// The last [`MAX_NOTICES`] things the conference said, oldest first, until dismissed.
    pub notices: Vec<Phrase>,
    /// Our microphone is muted (from our participant).
    pub muted: bool,
    /// We hear nothing (from our participant).
    pub deafened: bool,
    /// Our hand is raised (from our participant).
    pub hand_raised: bool,
    /// The user asked to leave; waiting for [`Stage::Ended`].
    pub leaving: bool,
    /// The server's certificate changed: why the call could not start (the user may trust the
    /// new certificate and join again).
    pub certificate_changed: Option<Phrase>,
    /// The server or meeting asked for a password (`Some(true)`: the one given was wrong); the
    /// user may go back to the form and type one.
    pub password_needed: Option<bool>,
    /// The participant the chat writes to privately; `None`: to everyone in the room.
    pub chat_to: Option<u32>,
    /// Our voice is going out now (from the engine).
    pub sending: bool,
    /// The call can carry video (Jitsi Meet, in a build with video).
    pub video_possible: bool,
    /// No video is received or sent.
    pub audio_only: bool,
    /// Our camera is on.
    pub camera_on: bool,
    /// The last picture of each participant's camera (ours too, by id).
    pub videos: BTreeMap<u32, Arc<crate::video::Rgba>>,
}

impl Default for CallState {
    fn default() -> Self {
        Self {
            title: (String::new(), String::new()),
            stage: Stage::Connecting(Phrase::default()),
            participants: Vec::new(),
            rooms: Vec::new(),
            chat: Vec::new(),
            unread: 0,
            chat_open: false,
            speaking: BTreeSet::new(),
            traffic: Traffic::default(),
            notices: Vec::new(),
            muted: false,
            deafened: false,
            hand_raised: false,
            leaving: false,
            certificate_changed: None,
            password_needed: None,
            chat_to: None,
            sending: false,
            video_possible: false,
            audio_only: true,
            camera_on: false,
            videos: BTreeMap::new(),
        }
    }
}

impl CallState {
    /// The user's own id in the roster, once it came.
    pub fn own_id(&self) -> Option<u32> {
        self.participants.iter().find(|p| p.you).map(|p| p.id)
    }

    /// The camera is off: the user's own tile goes with it (late pictures are not shown).
    fn camera_off(&mut self) {
        self.camera_on = false;
        if let Some(own) = self.own_id() {
            self.videos.remove(&own);
        }
    }

    /// Whether the conference is over.
    pub fn ended(&self) -> bool {
        matches!(self.stage, Stage::Ended { .. })
    }
}

/// The key under which a link is kept in favourites and recent rooms: the link as palabre
/// writes it, without the user name (the name is asked before joining); text that is not a
/// link (a Jitsi server without room, `https://host/`) is kept as given, trimmed.
pub fn link_key(text: &str) -> String {
    match link::parse(text) {
        Ok(Link::Mumble(mut mumble)) => {
            mumble.username = None;
            mumble.password = None;
            Link::Mumble(mumble).to_string()
        }
        Ok(link) => link.to_string(),
        Err(_) => text.trim().to_owned(),
    }
}

/// A link to a Jitsi Meet server without a room: its base (ending with `/`) and host.
fn jitsi_server(text: &str) -> Option<(String, String)> {
    const PROBE: &str = "palabre-probe";
    let trimmed = text.trim();
    let probe = if trimmed.ends_with('/') {
        format!("{trimmed}{PROBE}")
    } else {
        format!("{trimmed}/{PROBE}")
    };
    match link::parse(&probe) {
        Ok(Link::Jitsi(jitsi)) => {
            let full = jitsi.to_string();
            let base = full.strip_suffix(PROBE)?.to_owned();
            Some((base, jitsi.host))
        }
        _ => None,
    }
}

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
    /// Receive and send no video (`true`), before joining or in a call.
    AudioOnly(bool),
    /// Turn the camera on or off in the call.
    Camera(bool),
    /// Use this camera (`None`: the first one found; `test-pattern`: the test picture).
    SelectCamera(Option<String>),
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
    /// Open pasted text or a directory, favourite or recent link: the before-join form, or an
    /// error sentence.
    OpenLink(String),
    /// Join the meeting of the before-join form.
    Join {
        /// The name to use.
        name: String,
        /// The server password (empty: none).
        password: String,
    },
    /// Add a link to the favourites, or remove it.
    ToggleFavourite(String),
    /// Add a server of the user's to the picker.
    AddOwnServer {
        /// The name to show (may be empty).
        name: String,
        /// The protocol, unless the address says.
        protocol: directory::Protocol,
        /// A host name (with an optional port) or a link to the server.
        address: String,
    },
    /// Remove the user's server at this position.
    RemoveOwnServer(usize),
    /// Show the audio set-up screen.
    OpenAudioSetup,
    /// Back to the start (from the audio set-up, the before-join form, or an ended call).
    GoHome,
    /// Mute (`true`) or unmute the microphone in the call.
    Mute(bool),
    /// Deafen (`true`) or undeafen (Mumble).
    Deafen(bool),
    /// Raise (`true`) or lower the hand (Jitsi Meet).
    RaiseHand(bool),
    /// Send a chat message to everyone.
    SendChat(String),
    /// Move into a room (Mumble channel).
    MoveTo(u32),
    /// Leave the call.
    Leave,
    /// After [`ConferenceEvent::CertificateChanged`]: trust the server's new certificate and
    /// join again.
    TrustNewCertificate,
    /// After [`ConferenceEvent::PasswordNeeded`]: back to the form, to type the password.
    TypePassword,
    /// Write privately to this participant (`None`: to everyone); opens the chat.
    ChatTo(Option<u32>),
    /// Check whether the directory instance with this link answers (on request only).
    CheckInstance(String),
    /// Open or close the chat panel.
    ToggleChat,
    /// Hide one notice from the conference (by position).
    DismissNotice(usize),
    /// Hide the link error.
    DismissLinkError,
    /// Show the settings (from the start or from a call).
    OpenSettings,
    /// Leave the settings for the screen they were opened from.
    CloseSettings,
    /// Use these colours.
    SetTheme(Theme),
    /// Scale the window's contents to this size, in percent (one of
    /// [`crate::config::TEXT_SIZES_PERCENT`]; anything else is ignored).
    SetTextSize(u32),
    /// Hold this key to talk (one of [`crate::config::PUSH_TO_TALK_KEYS`]; anything else is
    /// ignored).
    SetPushToTalkKey(String),
    /// Ctrl and this key mute or unmute in a call (one of [`crate::config::MUTE_KEYS`], or
    /// empty for no shortcut; anything else is ignored).
    SetMuteKey(String),
}

/// What the glue must do after [`WindowState::handle`].
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    /// Commands for the engine, in order.
    pub commands: Vec<Command>,
    /// Whether the settings must be written to disk now.
    pub save: bool,
    /// A conference to start (the glue spawns it, then feeds its events to
    /// [`WindowState::apply_conference`]).
    pub join: Option<JoinRequest>,
    /// Commands for the running conference, in order.
    pub conference: Vec<ConferenceCommand>,
    /// Availability checks to run (the glue runs each on a thread and reports with
    /// [`WindowState::apply_probe`]).
    pub probes: Vec<ProbeRequest>,
}

/// An availability check the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The instance's link (the key of [`WindowState::probes`]).
    pub link: String,
    /// Jitsi Meet (HTTPS) or Mumble (server query).
    pub protocol: crate::directory::Protocol,
    /// Host name.
    pub host: String,
    /// Port, when not the protocol's default.
    pub port: Option<u16>,
}

/// Where an availability check stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Running.
    Checking,
    /// Done.
    Known(crate::net::probe::Probe),
}

/// Everything the window shows, except the live levels (read from
/// [`crate::audio::Meters`] each frame).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowState {
    /// The settings in force (and persisted).
    pub settings: Settings,
    /// Settings changed but not yet written (a drag is in progress).
    pub unsaved: bool,
    /// Cameras, as listed at start (off the window's thread).
    pub cameras: Vec<crate::video::camera::CameraInfo>,
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
    pub save_error: Option<Phrase>,
    /// The engine's channel closed: it is gone.
    pub engine_stopped: bool,
    /// Whether there is a folder to save the settings in.
    pub can_save: bool,
    /// The screen shown.
    pub screen: Screen,
    /// Why the last link could not be opened (the parser's sentence), until dismissed.
    pub link_error: Option<Phrase>,
    /// The before-join form (kept while in the call, for its title).
    pub form: Option<JoinForm>,
    /// The last join asked for (to join again after trusting a new server certificate).
    pub last_join: Option<JoinRequest>,
    /// Availability checks asked for, by instance link.
    pub probes: std::collections::BTreeMap<String, Availability>,
    /// Why the last server the user tried to add was not added, until the next try.
    pub own_server_error: Option<directory::OwnServerError>,
    /// Servers added so far (the view empties its fields when this changes).
    pub own_servers_added: u64,
    /// The conference in progress, or the last one.
    pub call: CallState,
    /// The instance directory shown on the start screen (the built-in one from
    /// [`WindowState::new`]; empty in `WindowState::default()`).
    pub directory: Vec<Instance>,
    /// The screen the settings go back to ([`Screen::Home`] or [`Screen::Call`]).
    pub settings_return: Screen,
    /// A function-key push-to-talk key is also seen while other windows are in front (an X11
    /// session, `crate::hotkey`); set by the glue.
    pub global_keys: bool,
    /// Forms opened so far (for [`JoinForm::id`]).
    forms_opened: u64,
}

impl WindowState {
    /// The state at start-up.
    pub fn new(settings: Settings, config_warning: Option<String>, can_save: bool) -> Self {
        Self {
            settings,
            config_warning,
            can_save,
            directory: directory::builtin(),
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
            Event::Recorded { .. } | Event::CallStarted => {}
            Event::CallStopped { .. } => self.call.speaking.clear(),
            Event::Sending(on) => self.call.sending = on,
            Event::Speaking { speaker, on } => {
                if on {
                    self.call.speaking.insert(speaker);
                } else {
                    self.call.speaking.remove(&speaker);
                }
            }
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

    /// Applies one event of the running conference.
    pub fn apply_conference(&mut self, event: ConferenceEvent) {
        let call = &mut self.call;
        match event {
            ConferenceEvent::Stage(stage) => {
                if matches!(stage, Stage::Ended { .. }) {
                    call.speaking.clear();
                    call.videos.clear();
                    call.camera_on = false;
                    call.leaving = false;
                }
                call.stage = stage;
            }
            ConferenceEvent::Notice(notice) => {
                call.notices.push(notice);
                if call.notices.len() > MAX_NOTICES {
                    call.notices.remove(0);
                }
            }
            ConferenceEvent::Roster {
                participants,
                rooms,
            } => {
                if let Some(you) = participants.iter().find(|p| p.you) {
                    call.muted = you.muted;
                    call.deafened = you.deafened;
                    call.hand_raised = you.hand_raised;
                }
                call.speaking
                    .retain(|id| participants.iter().any(|p| p.id == *id));
                // Those who left take their camera's tile with them.
                call.videos
                    .retain(|id, _| participants.iter().any(|p| p.id == *id));
                call.participants = participants;
                call.rooms = rooms;
            }
            ConferenceEvent::Chat(message) => {
                if !message.own && !call.chat_open {
                    call.unread += 1;
                }
                call.chat.push(message);
                if call.chat.len() > MAX_CHAT_MESSAGES {
                    let extra = call.chat.len() - MAX_CHAT_MESSAGES;
                    call.chat.drain(..extra);
                }
            }
            ConferenceEvent::Traffic(traffic) => call.traffic = traffic,
            ConferenceEvent::CertificateChanged(sentence) => {
                call.certificate_changed = Some(sentence);
            }
            ConferenceEvent::PasswordNeeded { wrong } => call.password_needed = Some(wrong),
            ConferenceEvent::Video {
                participant,
                picture,
            } => match picture {
                // Late pictures are not shown: after the user chose audio-only, and of their own
                // camera once turned off.
                Some(picture)
                    if !call.audio_only
                        && !call.ended()
                        && (call.camera_on || call.own_id() != Some(participant)) =>
                {
                    call.videos.insert(participant, picture);
                }
                Some(_) => {}
                None => {
                    call.videos.remove(&participant);
                }
            },
            ConferenceEvent::CameraStopped(why) => {
                call.camera_off();
                call.notices.push(why);
                if call.notices.len() > MAX_NOTICES {
                    call.notices.remove(0);
                }
            }
        }
    }

    /// The result of an availability check.
    pub fn apply_probe(&mut self, link: String, probe: crate::net::probe::Probe) {
        self.probes.insert(link, Availability::Known(probe));
    }

    /// The conference's channel closed without saying it ended: the call is shown as failed
    /// (with an empty reason, which the view words as an unexpected end).
    pub fn conference_gone(&mut self) {
        if !self.call.ended() {
            self.call.stage = Stage::Ended {
                reason: Phrase::default(),
                failed: true,
            };
            self.call.speaking.clear();
            self.call.leaving = false;
        }
    }

    /// Whether `link` (a link or a directory entry's link) is among the favourites.
    pub fn is_favourite(&self, link: &str) -> bool {
        let key = link_key(link);
        self.settings.favourites.contains(&key)
    }

    /// Whether a conference runs (joined and not ended), shown or behind the settings.
    pub fn in_call(&self) -> bool {
        let call_screen = match self.screen {
            Screen::Call => true,
            Screen::Settings => self.settings_return == Screen::Call,
            Screen::Home | Screen::AudioSetup | Screen::BeforeJoin => false,
        };
        call_screen && !self.call.ended()
    }

    /// Sets one setting to `value` if it differs; asks for a save when it changed.
    fn change<T: PartialEq>(field: &mut T, value: T, effects: &mut Effects) {
        if *field != value {
            *field = value;
            effects.save = true;
        }
    }

    /// Opens `text` as a link: the before-join form, or the error on the current screen.
    fn open_link(&mut self, text: &str) {
        let (target, link, title, username, password) = match link::parse(text) {
            Ok(Link::Mumble(mumble)) => {
                let parsed = Link::Mumble(mumble.clone());
                let title = parsed.title();
                (
                    Target::Mumble(mumble.clone()),
                    link_key(&parsed.to_string()),
                    title,
                    mumble.username.clone(),
                    mumble.password.clone(),
                )
            }
            Ok(Link::Jitsi(jitsi)) => {
                let parsed = Link::Jitsi(jitsi.clone());
                let title = parsed.title();
                (Target::Jitsi(jitsi), parsed.to_string(), title, None, None)
            }
            Err(error) => {
                let server = match &error {
                    LinkError::MissingRoom { .. } => jitsi_server(text),
                    _ => None,
                };
                let Some((base, host)) = server else {
                    self.link_error = Some(error.phrase());
                    return;
                };
                let title = (host.clone(), host.clone());
                (
                    Target::JitsiServer { base, host },
                    String::new(),
                    title,
                    None,
                    None,
                )
            }
        };
        self.forms_opened += 1;
        self.link_error = None;
        self.form = Some(JoinForm {
            id: self.forms_opened,
            target,
            link,
            title,
            name: username.unwrap_or_else(|| self.settings.display_name.clone()),
            password: password.unwrap_or_default(),
            asks_password: None,
        });
        self.screen = Screen::BeforeJoin;
    }

    /// Joins the form's meeting.
    fn join(&mut self, name: &str, password: &str, effects: &mut Effects) {
        let name = name.trim();
        if self.in_call() || name.is_empty() {
            return;
        }
        let Some(form) = &self.form else {
            return;
        };
        let link = match &form.target {
            Target::Mumble(link) => JoinLink::Mumble(link.clone()),
            Target::Jitsi(link) => JoinLink::Jitsi(link.clone()),
            Target::JitsiServer { .. } => return, // A room must be named first.
        };
        let request = JoinRequest {
            link,
            name: name.to_owned(),
            password: (!password.is_empty()).then(|| password.to_owned()),
            accept_new_certificate: false,
            audio_only: self.settings.audio_only,
        };
        self.last_join = Some(request.clone());
        effects.join = Some(request);
        self.settings.remember_room(&form.link);
        self.settings.display_name = name.to_owned();
        effects.save = true;
        self.call = CallState {
            title: form.title.clone(),
            video_possible: form.target.carries_video(),
            audio_only: self.settings.audio_only,
            ..CallState::default()
        };
        self.screen = Screen::Call;
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
            Intent::OpenLink(text) => {
                if !self.in_call() {
                    self.open_link(&text);
                }
            }
            Intent::Join { name, password } => self.join(&name, &password, &mut effects),
            Intent::ToggleFavourite(link) => {
                self.settings.toggle_favourite(&link_key(&link));
                effects.save = true;
            }
            Intent::AddOwnServer {
                name,
                protocol,
                address,
            } => {
                let added = directory::OwnServer::new(&name, protocol, &address)
                    .and_then(|server| server.add_to(&mut self.settings.own_servers));
                self.own_server_error = added.err();
                if self.own_server_error.is_none() {
                    self.own_servers_added += 1;
                    effects.save = true;
                }
            }
            Intent::RemoveOwnServer(index) => {
                if index < self.settings.own_servers.len() {
                    self.settings.own_servers.remove(index);
                    effects.save = true;
                }
            }
            Intent::OpenAudioSetup => {
                if !self.in_call() {
                    self.screen = Screen::AudioSetup;
                }
            }
            Intent::GoHome => {
                // A running call is left with `Leave`, never by walking away from it.
                if !self.in_call() {
                    if self.echo == EchoPhase::Running {
                        self.echo = EchoPhase::Stopping;
                        effects.commands.push(Command::StopEchoTest);
                    }
                    self.screen = Screen::Home;
                    self.link_error = None;
                }
            }
            Intent::Mute(mute) => {
                if self.in_call() {
                    self.call.muted = mute;
                    if !mute {
                        self.call.deafened = false;
                    }
                    effects.conference.push(ConferenceCommand::Mute(mute));
                }
            }
            Intent::AudioOnly(audio_only) => {
                if self.settings.audio_only != audio_only {
                    self.settings.audio_only = audio_only;
                    effects.save = true;
                }
                if self.in_call() && self.call.video_possible && self.call.audio_only != audio_only
                {
                    self.call.audio_only = audio_only;
                    if audio_only {
                        self.call.camera_on = false;
                        self.call.videos.clear();
                    }
                    effects
                        .conference
                        .push(ConferenceCommand::AudioOnly(audio_only));
                }
            }
            Intent::Camera(on) => {
                let allowed = !on || (self.call.video_possible && !self.call.audio_only);
                if self.in_call() && allowed && self.call.camera_on != on {
                    if on {
                        self.call.camera_on = true;
                    } else {
                        self.call.camera_off();
                    }
                    let source = on.then(|| {
                        crate::video::camera::Source::parse(
                            self.settings.camera.as_deref().unwrap_or_default(),
                        )
                    });
                    effects.conference.push(ConferenceCommand::Camera(source));
                }
            }
            Intent::SelectCamera(id) => {
                if self.settings.camera != id {
                    self.settings.camera = id;
                    effects.save = true;
                }
            }
            Intent::RaiseHand(raised) => {
                if self.in_call() {
                    self.call.hand_raised = raised;
                    effects
                        .conference
                        .push(ConferenceCommand::RaiseHand(raised));
                }
            }
            Intent::Deafen(deafen) => {
                if self.in_call() {
                    self.call.deafened = deafen;
                    if deafen {
                        self.call.muted = true;
                    }
                    effects.conference.push(ConferenceCommand::Deafen(deafen));
                }
            }
            Intent::SendChat(text) => {
                let text = text.trim();
                if self.in_call() && !text.is_empty() {
                    // A recipient who left is no longer written to.
                    let to = self
                        .call
                        .chat_to
                        .filter(|id| self.call.participants.iter().any(|p| p.id == *id));
                    effects.conference.push(ConferenceCommand::Chat {
                        to,
                        text: text.to_owned(),
                    });
                }
            }
            Intent::CheckInstance(link) => {
                let already = matches!(self.probes.get(&link), Some(Availability::Checking));
                let instance = self.directory.iter().find(|i| i.link() == link);
                if let (false, Some(instance)) = (already, instance) {
                    let (host, port) = match instance.host.rsplit_once(':') {
                        Some((host, port)) if port.parse::<u16>().is_ok() => {
                            (host.to_owned(), port.parse().ok())
                        }
                        _ => (instance.host.clone(), None),
                    };
                    effects.probes.push(ProbeRequest {
                        link: link.clone(),
                        protocol: instance.protocol,
                        host,
                        port,
                    });
                    self.probes.insert(link, Availability::Checking);
                }
            }
            Intent::ChatTo(to) => {
                if self.in_call() {
                    self.call.chat_to = to;
                    self.call.chat_open = true;
                    self.call.unread = 0;
                }
            }
            Intent::MoveTo(room) => {
                if self.in_call() {
                    effects.conference.push(ConferenceCommand::MoveTo(room));
                }
            }
            Intent::TrustNewCertificate => {
                if self.call.ended()
                    && self.call.certificate_changed.is_some()
                    && let Some(mut request) = self.last_join.clone()
                {
                    request.accept_new_certificate = true;
                    effects.join = Some(request);
                    self.call = CallState {
                        title: self.call.title.clone(),
                        ..CallState::default()
                    };
                }
            }
            Intent::TypePassword => {
                if self.call.ended()
                    && let Some(wrong) = self.call.password_needed
                    && let Some(form) = &mut self.form
                {
                    self.forms_opened += 1;
                    form.id = self.forms_opened;
                    form.name = self.settings.display_name.clone();
                    form.password.clear();
                    form.asks_password = Some(wrong);
                    self.screen = Screen::BeforeJoin;
                }
            }
            Intent::Leave => {
                if self.in_call() && !self.call.leaving {
                    self.call.leaving = true;
                    effects.conference.push(ConferenceCommand::Leave);
                }
            }
            Intent::ToggleChat => {
                self.call.chat_open = !self.call.chat_open;
                if self.call.chat_open {
                    self.call.unread = 0;
                }
            }
            Intent::DismissNotice(index) => {
                if index < self.call.notices.len() {
                    self.call.notices.remove(index);
                }
            }
            Intent::DismissLinkError => self.link_error = None,
            Intent::OpenSettings => {
                if self.screen != Screen::Settings {
                    // Only a shown call is returned to; anything else goes back to the start.
                    self.settings_return = if self.screen == Screen::Call {
                        Screen::Call
                    } else {
                        Screen::Home
                    };
                    if self.echo == EchoPhase::Running {
                        self.echo = EchoPhase::Stopping;
                        effects.commands.push(Command::StopEchoTest);
                    }
                    self.screen = Screen::Settings;
                    self.link_error = None;
                }
            }
            Intent::CloseSettings => {
                if self.screen == Screen::Settings {
                    self.screen = self.settings_return;
                    self.settings_return = Screen::Home;
                }
            }
            Intent::SetTheme(theme) => Self::change(&mut self.settings.theme, theme, &mut effects),
            Intent::SetTextSize(percent) => {
                if TEXT_SIZES_PERCENT.contains(&percent) {
                    Self::change(&mut self.settings.text_size_percent, percent, &mut effects);
                }
            }
            Intent::SetPushToTalkKey(key) => {
                if PUSH_TO_TALK_KEYS.contains(&key.as_str()) {
                    Self::change(&mut self.settings.push_to_talk_key, key, &mut effects);
                }
            }
            Intent::SetMuteKey(key) => {
                if key.is_empty() || MUTE_KEYS.contains(&key.as_str()) {
                    Self::change(&mut self.settings.mute_key, key, &mut effects);
                }
            }
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

    fn participant(id: u32, name: &str, room: u32, you: bool) -> Participant {
        Participant {
            id,
            name: name.into(),
            room: Some(room),
            you,
            muted: false,
            deafened: false,
            hand_raised: false,
        }
    }

    /// A state in a call on `mumble://example.org/Team`, with `you` and `alice`.
    fn in_call() -> WindowState {
        let mut state = WindowState::default();
        state.handle(Intent::OpenLink("mumble://example.org/Team".into()));
        let effects = state.handle(Intent::Join {
            name: "me".into(),
            password: String::new(),
        });
        assert!(effects.join.is_some());
        state.apply_conference(ConferenceEvent::Stage(Stage::Connected));
        state.apply_conference(ConferenceEvent::Roster {
            participants: vec![
                participant(1, "me", 0, true),
                participant(2, "alice", 0, false),
            ],
            rooms: vec![Room {
                id: 0,
                parent: None,
                name: "Root".into(),
            }],
        });
        state
    }

    #[test]
    fn a_mumble_link_opens_the_form_prefilled() {
        let mut state = WindowState::default();
        state.settings.display_name = "Remembered".into();
        state.handle(Intent::OpenLink(
            "  mumble://bob:secret@example.org:1234/Team/Sub  ".into(),
        ));
        assert_eq!(state.screen, Screen::BeforeJoin);
        let form = state.form.clone().expect("a form");
        assert!(form.joinable());
        assert_eq!(form.name, "bob");
        assert_eq!(form.password, "secret");
        assert_eq!(form.title, ("Sub".to_owned(), "example.org".to_owned()));
        assert_eq!(form.link, "mumble://example.org:1234/Team/Sub");
        assert!(!format!("{state:?}").contains("secret"));
        // Without a user name in the link, the remembered name is used.
        state.handle(Intent::OpenLink("mumble://example.org".into()));
        let next = state.form.clone().expect("a form");
        assert_eq!(next.name, "Remembered");
        assert_eq!(next.password, "");
        assert_ne!(next.id, form.id);
    }

    #[test]
    fn a_bad_link_shows_the_error_and_stays_home() {
        let mut state = WindowState::default();
        state.handle(Intent::OpenLink("ftp://example.org".into()));
        assert_eq!(state.screen, Screen::Home);
        let error = state.link_error.clone().expect("an error").to_string();
        assert!(error.contains("ftp"), "{error}");
        assert!(state.form.is_none());
        state.handle(Intent::DismissLinkError);
        assert!(state.link_error.is_none());
    }

    #[test]
    fn jitsi_links_open_a_form_that_joins_the_room() {
        let mut state = WindowState::default();
        state.settings.display_name = "me".into();
        state.handle(Intent::OpenLink("https://meet.example.org/Standup".into()));
        let form = state.form.clone().expect("a form");
        assert!(matches!(form.target, Target::Jitsi(_)));
        assert!(form.joinable());
        let effects = state.handle(Intent::Join {
            name: "me".into(),
            password: String::new(),
        });
        let join = effects.join.expect("a join");
        let JoinLink::Jitsi(link) = &join.link else {
            panic!("a Jitsi join: {join:?}");
        };
        assert_eq!(link.host, "meet.example.org");
        assert_eq!(link.room, "Standup");
        assert_eq!(state.screen, Screen::Call);
        state.screen = Screen::Home;
        state.call = CallState::default();

        // A server without room asks for one; the room then completes the link.
        state.handle(Intent::OpenLink("https://meet.example.org/".into()));
        let Some(JoinForm {
            target: Target::JitsiServer { base, host },
            ..
        }) = state.form.clone()
        else {
            panic!("no server form: {:?}", state.form);
        };
        assert_eq!(base, "https://meet.example.org/");
        assert_eq!(host, "meet.example.org");
        state.handle(Intent::OpenLink(format!("{base}Weekly")));
        let form = state.form.clone().expect("a form");
        assert_eq!(form.title.0, "Weekly");
        assert!(state.link_error.is_none());
    }

    #[test]
    fn join_asks_for_the_conference_and_remembers() {
        let mut state = WindowState::default();
        state.handle(Intent::OpenLink("mumble://bob@example.org/Team".into()));
        // No name: nothing happens.
        let effects = state.handle(Intent::Join {
            name: "  ".into(),
            password: String::new(),
        });
        assert_eq!(effects, Effects::default());
        let effects = state.handle(Intent::Join {
            name: " Alice ".into(),
            password: "pw".into(),
        });
        let join = effects.join.expect("a join request");
        assert_eq!(join.name, "Alice");
        assert_eq!(join.password.as_deref(), Some("pw"));
        let JoinLink::Mumble(link) = &join.link else {
            panic!("a Mumble join: {join:?}");
        };
        assert_eq!(link.host, "example.org");
        assert_eq!(link.channel_path, vec!["Team".to_owned()]);
        assert!(effects.save);
        assert_eq!(state.settings.display_name, "Alice");
        assert_eq!(
            state.settings.recent_rooms,
            vec!["mumble://example.org/Team".to_owned()]
        );
        assert_eq!(state.screen, Screen::Call);
        assert!(matches!(state.call.stage, Stage::Connecting(_)));
        assert_eq!(state.call.title.0, "Team");
        // A second join while connected does nothing.
        assert!(
            state
                .handle(Intent::Join {
                    name: "Alice".into(),
                    password: String::new(),
                })
                .join
                .is_none()
        );
    }

    #[test]
    fn conference_events_fill_the_call() {
        let mut state = in_call();
        assert_eq!(state.call.stage, Stage::Connected);
        assert_eq!(state.call.participants.len(), 2);
        assert!(!state.call.muted);
        state.apply_conference(ConferenceEvent::Roster {
            participants: vec![
                Participant {
                    muted: true,
                    deafened: true,
                    ..participant(1, "me", 0, true)
                },
                participant(2, "alice", 0, false),
            ],
            rooms: vec![],
        });
        assert!(state.call.muted && state.call.deafened);

        let message = |text: &str, own: bool| ChatMessage {
            from: "alice".into(),
            private: false,
            text: text.into(),
            own,
        };
        state.apply_conference(ConferenceEvent::Chat(message("hi", false)));
        state.apply_conference(ConferenceEvent::Chat(message("mine", true)));
        assert_eq!(state.call.unread, 1);
        state.handle(Intent::ToggleChat);
        assert!(state.call.chat_open);
        assert_eq!(state.call.unread, 0);
        state.apply_conference(ConferenceEvent::Chat(message("seen", false)));
        assert_eq!(state.call.unread, 0);
        for i in 0..MAX_CHAT_MESSAGES + 10 {
            state.apply_conference(ConferenceEvent::Chat(message(&i.to_string(), false)));
        }
        assert_eq!(state.call.chat.len(), MAX_CHAT_MESSAGES);
        assert_eq!(state.call.chat[0].text, "10");

        let traffic = Traffic {
            up_bps: 40_000.0,
            down_bps: 80_000.0,
            total_bytes: 1_000_000,
            quality: Default::default(),
        };
        state.apply_conference(ConferenceEvent::Traffic(traffic));
        assert_eq!(state.call.traffic, traffic);

        for i in 0..MAX_NOTICES + 2 {
            state.apply_conference(ConferenceEvent::Notice(format!("notice {i}").into()));
        }
        assert_eq!(state.call.notices.len(), MAX_NOTICES);
        state.handle(Intent::DismissNotice(0));
        assert_eq!(state.call.notices[0], Phrase::from("notice 3"));

        state.apply_conference(ConferenceEvent::Stage(Stage::Reconnecting {
            attempt: 2,
            seconds: 4,
            reason: "lost".into(),
        }));
        assert!(state.in_call());
    }

    #[test]
    fn speaking_follows_the_engine() {
        let mut state = in_call();
        state.apply(Event::Speaking {
            speaker: 2,
            on: true,
        });
        assert!(state.call.speaking.contains(&2));
        state.apply(Event::Speaking {
            speaker: 2,
            on: false,
        });
        assert!(state.call.speaking.is_empty());
        state.apply(Event::Speaking {
            speaker: 2,
            on: true,
        });
        // Someone who left stops speaking.
        state.apply_conference(ConferenceEvent::Roster {
            participants: vec![participant(1, "me", 0, true)],
            rooms: vec![],
        });
        assert!(state.call.speaking.is_empty());
        state.apply(Event::Speaking {
            speaker: 1,
            on: true,
        });
        state.apply(Event::CallStopped {
            frames_concealed: 0,
        });
        assert!(state.call.speaking.is_empty());
    }

    #[test]
    fn call_controls_become_conference_commands() {
        let mut state = in_call();
        assert_eq!(
            state.handle(Intent::Mute(true)).conference,
            vec![ConferenceCommand::Mute(true)]
        );
        assert!(state.call.muted);
        assert_eq!(
            state.handle(Intent::Deafen(true)).conference,
            vec![ConferenceCommand::Deafen(true)]
        );
        assert_eq!(
            state.handle(Intent::SendChat(" hello ".into())).conference,
            vec![ConferenceCommand::Chat {
                to: None,
                text: "hello".into()
            }]
        );
        assert!(
            state
                .handle(Intent::SendChat("  ".into()))
                .conference
                .is_empty()
        );
        assert_eq!(
            state.handle(Intent::MoveTo(3)).conference,
            vec![ConferenceCommand::MoveTo(3)]
        );
    }

    #[test]
    fn favourites_toggle_and_save() {
        let mut state = WindowState::default();
        let effects = state.handle(Intent::ToggleFavourite("mumble://bob@example.org".into()));
        assert!(effects.save);
        assert_eq!(
            state.settings.favourites,
            vec!["mumble://example.org".to_owned()]
        );
        assert!(state.is_favourite("mumble://example.org"));
        // A Jitsi server without room is kept as given.
        state.handle(Intent::ToggleFavourite("https://meet.example.org/".into()));
        assert!(state.is_favourite("https://meet.example.org/"));
        state.handle(Intent::ToggleFavourite("mumble://example.org".into()));
        assert!(!state.is_favourite("mumble://example.org"));
        assert_eq!(state.settings.favourites.len(), 1);
    }

    #[test]
    fn leave_waits_for_the_end() {
        let mut state = in_call();
        // Walking away from a running call is not possible.
        state.handle(Intent::GoHome);
        assert_eq!(state.screen, Screen::Call);
        assert_eq!(
            state.handle(Intent::Leave).conference,
            vec![ConferenceCommand::Leave]
        );
        assert!(state.handle(Intent::Leave).conference.is_empty());
        assert_eq!(state.screen, Screen::Call);
        state.apply_conference(ConferenceEvent::Stage(Stage::Ended {
            reason: "You left.".into(),
            failed: false,
        }));
        assert!(state.call.ended() && !state.call.leaving);
        assert!(state.handle(Intent::Mute(true)).conference.is_empty());
        state.handle(Intent::GoHome);
        assert_eq!(state.screen, Screen::Home);
    }

    #[test]
    fn a_vanished_conference_ends_the_call() {
        let mut state = in_call();
        state.conference_gone();
        assert_eq!(
            state.call.stage,
            Stage::Ended {
                reason: Phrase::default(),
                failed: true
            }
        );
        // A proper end is not overwritten.
        let mut state = in_call();
        let ended = Stage::Ended {
            reason: "Kicked".into(),
            failed: true,
        };
        state.apply_conference(ConferenceEvent::Stage(ended.clone()));
        state.conference_gone();
        assert_eq!(state.call.stage, ended);
    }

    #[test]
    fn each_setting_changes_once_and_is_saved() {
        let mut state = WindowState::default();
        let effects = state.handle(Intent::SetTheme(Theme::Dark));
        assert!(effects.save && effects.commands.is_empty());
        assert_eq!(state.settings.theme, Theme::Dark);
        assert_eq!(
            state.handle(Intent::SetTheme(Theme::Dark)),
            Effects::default()
        );

        assert!(state.handle(Intent::SetTextSize(200)).save);
        assert_eq!(state.settings.text_size_percent, 200);
        // Sizes that are not offered are ignored.
        assert_eq!(state.handle(Intent::SetTextSize(175)), Effects::default());
        assert_eq!(state.settings.text_size_percent, 200);

        assert!(state.handle(Intent::SetPushToTalkKey("F8".into())).save);
        assert_eq!(state.settings.push_to_talk_key, "F8");
        assert_eq!(
            state.handle(Intent::SetPushToTalkKey("Escape".into())),
            Effects::default()
        );
        assert_eq!(state.settings.push_to_talk_key, "F8");

        assert!(state.handle(Intent::SetMuteKey("U".into())).save);
        assert_eq!(state.settings.mute_key, "U");
        assert!(state.handle(Intent::SetMuteKey(String::new())).save);
        assert_eq!(state.settings.mute_key, "");
        assert_eq!(
            state.handle(Intent::SetMuteKey("Q".into())),
            Effects::default()
        );

        assert!(state.handle(Intent::SetLanguage(Language::Fr)).save);
        assert_eq!(state.settings.language, Language::Fr);
        assert!(!state.unsaved);
    }

    #[test]
    fn settings_open_from_the_start_and_go_back_to_it() {
        let mut state = WindowState::default();
        state.handle(Intent::OpenSettings);
        assert_eq!(state.screen, Screen::Settings);
        assert!(!state.in_call());
        // Back and "home" both lead to the start.
        state.handle(Intent::CloseSettings);
        assert_eq!(state.screen, Screen::Home);
        state.handle(Intent::OpenSettings);
        state.handle(Intent::GoHome);
        assert_eq!(state.screen, Screen::Home);
        // From the audio set-up, the echo test stops and Back leads to the start.
        state.handle(Intent::OpenAudioSetup);
        state.handle(Intent::ToggleEchoTest);
        state.apply(Event::EchoTestStarted);
        let effects = state.handle(Intent::OpenSettings);
        assert_eq!(effects.commands, vec![Command::StopEchoTest]);
        state.handle(Intent::CloseSettings);
        assert_eq!(state.screen, Screen::Home);
    }

    #[test]
    fn settings_opened_in_a_call_keep_the_call() {
        let mut state = in_call();
        state.handle(Intent::OpenSettings);
        assert_eq!(state.screen, Screen::Settings);
        assert!(state.in_call());
        // The call goes on: mute works, nothing else can be joined or opened.
        assert_eq!(
            state.handle(Intent::Mute(true)).conference,
            vec![ConferenceCommand::Mute(true)]
        );
        state.handle(Intent::GoHome);
        state.handle(Intent::OpenLink("mumble://other.example.org".into()));
        state.handle(Intent::OpenAudioSetup);
        assert_eq!(state.screen, Screen::Settings);
        assert!(
            state
                .handle(Intent::Join {
                    name: "me".into(),
                    password: String::new(),
                })
                .join
                .is_none()
        );
        state.handle(Intent::CloseSettings);
        assert_eq!(state.screen, Screen::Call);
        assert!(state.call.muted);
        // The call may end while the settings are shown: Back shows how it ended.
        state.handle(Intent::OpenSettings);
        state.apply_conference(ConferenceEvent::Stage(Stage::Ended {
            reason: "Kicked".into(),
            failed: true,
        }));
        assert!(!state.in_call());
        state.handle(Intent::CloseSettings);
        assert_eq!(state.screen, Screen::Call);
        assert!(state.call.ended());
    }

    #[test]
    fn leaving_the_audio_set_up_stops_the_echo_test() {
        let mut state = WindowState::default();
        state.handle(Intent::OpenAudioSetup);
        assert_eq!(state.screen, Screen::AudioSetup);
        state.handle(Intent::ToggleEchoTest);
        state.apply(Event::EchoTestStarted);
        let effects = state.handle(Intent::GoHome);
        assert_eq!(effects.commands, vec![Command::StopEchoTest]);
        assert_eq!(state.screen, Screen::Home);
    }

    #[test]
    fn a_changed_certificate_can_be_trusted_to_join_again() {
        let mut state = WindowState::new(Settings::default(), None, true);
        state.handle(Intent::OpenLink("mumble://example.org/Team".into()));
        let first = state.handle(Intent::Join {
            name: "Alice".into(),
            password: String::new(),
        });
        assert!(!first.join.expect("join").accept_new_certificate);
        // Nothing to trust while the call runs.
        assert!(state.handle(Intent::TrustNewCertificate).join.is_none());
        state.apply_conference(ConferenceEvent::CertificateChanged(
            "The certificate of example.org:64738 has changed".into(),
        ));
        state.apply_conference(ConferenceEvent::Stage(Stage::Ended {
            reason: "The certificate of example.org:64738 has changed".into(),
            failed: true,
        }));
        let again = state.handle(Intent::TrustNewCertificate);
        let request = again.join.expect("joins again");
        assert!(request.accept_new_certificate);
        assert_eq!(request.name, "Alice");
        let JoinLink::Mumble(link) = &request.link else {
            panic!("a Mumble join: {request:?}");
        };
        assert_eq!(link.host, "example.org");
        assert!(!state.call.ended(), "connecting again");
        assert!(state.call.certificate_changed.is_none());
    }
}
