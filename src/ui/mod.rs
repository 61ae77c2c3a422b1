//! The window (eframe/egui, glow renderer): glue between the engine and the screen.
//!
//! Each frame, [`eframe::App::logic`] drains the engine's [`crate::command::Event`]s into the [`WindowState`]
//! and carries out the [`state::Intent`]s the previous frame produced (commands to the engine,
//! settings saved to disk); [`eframe::App::ui`] then renders the state with [`view`] and
//! collects new intents. The UI never blocks: events are drained with `try_recv`, commands go
//! through an unbounded channel.
//!
//! Repaint policy: the engine wakes the window after each event, and when the microphone level
//! or the gate changes visibly, at most once every [`METER_REFRESH`] (30 Hz). Nothing else: no
//! continuous repaint (it runs unthrottled without vsync), and a quiet room costs no frame.

mod saver;
pub mod state;
pub mod view;

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::Duration;

use eframe::egui;

use std::sync::Arc;

use crate::audio::engine::EngineHandle;
use crate::command::Command;
use crate::conference::{ConferenceCommand, ConferenceEvent, ConferenceHandle, Stage};
use crate::config::Settings;
use crate::directory::Protocol;
use crate::hotkey::GlobalKey;
use crate::i18n::{I18n, Phrase};
use crate::identity::Identity;
use crate::net::mumble::MumbleOptions;
use crate::ui::state::{EchoPhase, JoinLink, JoinRequest, ProbeRequest, Screen};
use crate::ui::state::{Intent, WindowState};
use crate::ui::view::Levels;

/// An availability check's answer: the instance's link and what was found.
type ProbeResult = (String, crate::net::probe::Probe);

/// How often the level meter is redrawn while the window is shown.
pub const METER_REFRESH: Duration = Duration::from_millis(33);

/// Asks for one new frame of the window, from any thread.
///
/// egui's `request_repaint` draws two frames ("to let things settle"). Whatever wakes the
/// window has already put its news in a channel, which the first frame's `logic` drains, so the
/// second frame would draw the same picture again: under a software renderer that costs as
/// much as the first. A request with a delay, however short, draws one frame.
pub fn repaint_once(ctx: &egui::Context) {
    ctx.request_repaint_after(Duration::from_millis(1));
}

/// Smallest window size, in points (logical pixels, so it holds at any scale).
pub const MIN_WINDOW_SIZE: [f32; 2] = [800.0, 500.0];

/// Opens the window and runs until it is closed.
///
/// `config_dir` is where settings changed in the window are saved (`None`: they are not).
/// `warning` is shown at the top (e.g. a settings file that could not be read). `spawn_engine`
/// is called once the window exists, with a callback that wakes the window; the engine calls it
/// after each [`crate::command::Event`] it sends.
pub fn run(
    settings: Settings,
    config_dir: Option<PathBuf>,
    warning: Option<String>,
    initial_link: Option<String>,
    spawn_engine: impl FnOnce(Box<dyn Fn() + Send + Sync>) -> EngineHandle + 'static,
) -> anyhow::Result<()> {
    run_with_handoff(
        settings,
        config_dir,
        warning,
        initial_link,
        None,
        spawn_engine,
    )
}

/// [`run`], also opening the links other launches hand over through `handoff` (see
/// [`crate::instance`]) and bringing the window to the front for them.
pub fn run_with_handoff(
    settings: Settings,
    config_dir: Option<PathBuf>,
    warning: Option<String>,
    initial_link: Option<String>,
    handoff: Option<crate::instance::Handoff>,
    spawn_engine: impl FnOnce(Box<dyn Fn() + Send + Sync>) -> EngineHandle + 'static,
) -> anyhow::Result<()> {
    let i18n = I18n::new(settings.language);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(i18n.tr("app-title"))
            // The desktop entry's name (packaging/linux): Wayland matches the window to it.
            .with_app_id("page.codeberg.palabre.Palabre")
            .with_inner_size([900.0, 640.0])
            .with_min_inner_size(MIN_WINDOW_SIZE),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "palabre",
        options,
        Box::new(move |cc| {
            if let Some(handoff) = &handoff {
                let wake = cc.egui_ctx.clone();
                handoff.set_wake(Box::new(move || repaint_once(&wake)));
            }
            let app = PalabreApp::new(
                &cc.egui_ctx,
                settings,
                config_dir,
                warning,
                initial_link,
                spawn_engine,
            );
            Ok(Box::new(Launched {
                app,
                handoff,
                exit_after_first_frame: std::env::var_os(EXIT_AFTER_FIRST_FRAME_ENV)
                    .is_some_and(|v| v == "1"),
                drawn: false,
            }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))
}

/// Held while a conference's preparation reads or creates a file of the config folder (the
/// identity, the machine id), so two joins in quick succession do not each create one.
static CONFIG_FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The eframe application: owns the state, the strings, the engine handle and the running
/// conference. Public so that tests can drive the whole window (kittest) without a screen.
pub struct PalabreApp {
    state: WindowState,
    i18n: I18n,
    engine: EngineHandle,
    config_dir: Option<PathBuf>,
    /// The running conference, if any.
    conference: Option<ConferenceHandle>,
    /// To wake the window from other threads.
    ctx: egui::Context,
    /// What the user did in the last frame, applied in the next `logic` pass.
    intents: Vec<Intent>,
    /// The text being typed in the window's fields.
    drafts: view::Drafts,
    /// Whether the push-to-talk key was held at the last frame.
    push_to_talk_held: bool,
    /// During a push-to-talk call with a function key on X11: the key watched on the whole
    /// desktop (its name, and the watcher unless it could not start).
    global_key: Option<(String, Option<GlobalKey>)>,
    /// The X display where keys held in other windows can be seen (`None`: not an X11 session).
    key_display: Option<String>,
    /// Whether the engine was last told to keep the devices open (`None`: not told yet).
    devices_active: Option<bool>,
    /// Whether the engine was last told that a meter is shown (`None`: not told yet).
    meters_shown: Option<bool>,
    /// Results of availability checks, from their threads.
    probe_results: (Sender<ProbeResult>, Receiver<ProbeResult>),
    /// Writes the settings off the window's thread (`None`: nowhere to keep them).
    saver: Option<saver::SettingsSaver>,
    /// The cameras, listed once on a thread of their own at start.
    cameras: Option<Receiver<Vec<crate::video::camera::CameraInfo>>>,
}

impl PalabreApp {
    /// The application for the window of `ctx`: see [`run`] for the arguments.
    pub fn new(
        ctx: &egui::Context,
        settings: Settings,
        config_dir: Option<PathBuf>,
        warning: Option<String>,
        initial_link: Option<String>,
        spawn_engine: impl FnOnce(Box<dyn Fn() + Send + Sync>) -> EngineHandle,
    ) -> Self {
        let i18n = I18n::new(settings.language);
        let mut state = WindowState::new(settings, warning, config_dir.is_some());
        let key_display = crate::hotkey::x11_display();
        state.global_keys = key_display.is_some();
        let wake = ctx.clone();
        let engine = spawn_engine(Box::new(move || repaint_once(&wake)));
        let saver = config_dir.clone().and_then(|dir| {
            let wake = ctx.clone();
            saver::SettingsSaver::start(dir, move || repaint_once(&wake))
                .inspect_err(|error| tracing::error!("no thread to save the settings: {error}"))
                .ok()
        });
        if config_dir.is_some() && saver.is_none() {
            state.save_error = Some(Phrase::tr("config-no-writer"));
        }
        PalabreApp {
            state,
            i18n,
            engine,
            config_dir,
            conference: None,
            ctx: ctx.clone(),
            intents: initial_link.map(Intent::OpenLink).into_iter().collect(),
            drafts: view::Drafts::default(),
            push_to_talk_held: false,
            global_key: None,
            key_display,
            devices_active: None,
            meters_shown: None,
            probe_results: std::sync::mpsc::channel(),
            saver,
            cameras: list_cameras(ctx),
        }
    }

    /// The devices are open only where they are used: the audio set-up, the before-joining
    /// screen (meter, test sound) and calls. On the home screen an idle window costs nothing.
    fn keep_devices_where_used(&mut self) {
        let wanted = self.state.screen != Screen::Home
            || self.state.in_call()
            || self.state.echo != EchoPhase::Idle;
        if self.devices_active != Some(wanted) {
            self.devices_active = Some(wanted);
            self.send(Command::SetActive(wanted));
        }
        // Meters are drawn on the set-up screens only: the call screen shows who speaks from
        // events, so levels must not wake it 30 times a second.
        let meters = !matches!(self.state.screen, Screen::Home | Screen::Call);
        if self.meters_shown != Some(meters) {
            self.meters_shown = Some(meters);
            self.send(Command::ShowMeters(meters));
        }
    }

    /// Watches the push-to-talk key held in other windows on the X server `display` (`:N`), or
    /// nowhere (`None`); [`PalabreApp::new`] takes `DISPLAY` in an X11 session.
    pub fn watch_keys_on(&mut self, display: Option<String>) {
        self.state.global_keys = display.is_some();
        self.key_display = display;
        self.global_key = None;
    }

    /// What the window shows.
    pub fn state(&self) -> &WindowState {
        &self.state
    }

    /// Applies every event the engine has sent since the last frame.
    fn drain_events(&mut self) {
        loop {
            match self.engine.events.try_recv() {
                Ok(event) => self.state.apply(event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    if !self.state.engine_stopped {
                        tracing::warn!("the audio engine's event channel closed");
                        self.state.engine_gone();
                    }
                    break;
                }
            }
        }
    }

    /// Applies every event the conference has sent since the last frame.
    fn drain_conference(&mut self) {
        let Some(conference) = &self.conference else {
            return;
        };
        loop {
            match conference.events.try_recv() {
                Ok(event) => self.state.apply_conference(event),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.state.conference_gone();
                    self.conference = None;
                    break;
                }
            }
        }
    }

    /// Runs an availability check the user asked for on a thread of its own; the result comes
    /// back through `probe_results` and wakes the window.
    fn check(&mut self, request: ProbeRequest) {
        let results = self.probe_results.0.clone();
        let ctx = self.ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("palabre-probe".to_owned())
            .spawn(move || {
                let probe = match request.protocol {
                    Protocol::Mumble => crate::net::probe::mumble(
                        &request.host,
                        request.port.unwrap_or(crate::link::DEFAULT_MUMBLE_PORT),
                    ),
                    Protocol::Jitsi => crate::net::probe::jitsi(&request.host, request.port),
                };
                results.send((request.link, probe)).ok();
                repaint_once(&ctx);
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "the availability check could not start");
        }
    }

    /// Starts the conference the state asked for (Mumble; the audio runs in the engine).
    fn join(&mut self, request: JoinRequest) {
        // A previous conference, if any, is left first.
        if let Some(previous) = self.conference.take() {
            previous.send(ConferenceCommand::Leave);
        }
        let link = match &request.link {
            JoinLink::Mumble(link) => link.clone(),
            JoinLink::Jitsi(link) => {
                self.join_jitsi(link.clone(), &request);
                return;
            }
        };
        // The identity (read, or generated and written, on first use) is loaded on the
        // conference's thread: the window never waits for the disk or for a key to be made.
        let identity_dir = self.config_dir.clone();
        let prepare: crate::conference::Prepare<MumbleOptions> = Box::new(move |options| {
            let dir = identity_dir?;
            // Two quick joins on first use must not each make an identity.
            let _one_at_a_time = CONFIG_FILES.lock();
            match Identity::load_or_create(&dir, &options.session.username) {
                Ok((identity, _created)) => {
                    options.identity = Some(identity);
                    None
                }
                // Joining without a certificate still works; the user is told why.
                Err(error) => Some(Phrase::tr_args(
                    "identity-failed",
                    vec![("reason", error.to_string().into())],
                )),
            }
        });
        let mut session = crate::call::session_config(&request.name);
        session.password = request.password.clone();
        session.channel_path = link.channel_path.clone();
        let options = MumbleOptions {
            host: link.host.clone(),
            port: link.port,
            session,
            identity: None,
            config_dir: self.config_dir.clone(),
            accept_new_certificate: request.accept_new_certificate,
            reconnect: true,
        };
        let ctx = self.ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || repaint_once(&ctx));
        match crate::conference::spawn_mumble(
            options,
            prepare,
            self.state.settings.audio.clone(),
            self.engine.commands.clone(),
            wake,
        ) {
            Ok(handle) => self.conference = Some(handle),
            Err(error) => self
                .state
                .apply_conference(ConferenceEvent::Stage(Stage::Ended {
                    reason: Phrase::tr_args(
                        "connection-not-started",
                        vec![("reason", error.to_string().into())],
                    ),
                    failed: true,
                })),
        }
    }

    /// Starts a Jitsi Meet conference (audio only; the audio runs in the engine).
    fn join_jitsi(&mut self, link: crate::link::JitsiLink, request: &JoinRequest) {
        let options = crate::net::jitsi::driver::JitsiOptions {
            link,
            display_name: request.name.clone(),
            password: request.password.clone(),
            login: None,
            ca_file: None,
            ice_loopback: false,
            audio_muted: false,
            audio_only: request.audio_only,
            machine_uid: String::new(),
        };
        // The machine id is read (or made and written) on the conference's thread.
        let dir = self.config_dir.clone();
        let prepare: crate::conference::Prepare<crate::net::jitsi::driver::JitsiOptions> =
            Box::new(move |options| {
                let _one_at_a_time = CONFIG_FILES.lock();
                options.machine_uid = crate::jitsi_call::machine_uid(dir.as_deref());
                None
            });
        let ctx = self.ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || repaint_once(&ctx));
        match crate::conference::spawn_jitsi(options, prepare, self.engine.commands.clone(), wake) {
            Ok(handle) => self.conference = Some(handle),
            Err(error) => self
                .state
                .apply_conference(ConferenceEvent::Stage(Stage::Ended {
                    reason: Phrase::tr_args(
                        "connection-not-started",
                        vec![("reason", error.to_string().into())],
                    ),
                    failed: true,
                })),
        }
    }

    /// Applies the pending intents: updates the state, sends commands, saves settings.
    fn carry_out_intents(&mut self, ctx: &egui::Context) {
        let language_before = self.state.settings.language;
        for intent in std::mem::take(&mut self.intents) {
            let effects = self.state.handle(intent);
            for command in effects.commands {
                self.send(command);
            }
            if let Some(request) = effects.join {
                self.join(request);
            }
            for request in effects.probes {
                self.check(request);
            }
            if let Some(conference) = &self.conference {
                for command in effects.conference {
                    conference.send(command);
                }
            }
            if effects.save {
                self.save();
            }
        }
        if self.state.settings.language != language_before {
            self.i18n = I18n::new(self.state.settings.language);
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(self.i18n.tr("app-title")));
        }
    }

    fn send(&mut self, command: Command) {
        if self.engine.commands.send(command).is_err() && !self.state.engine_stopped {
            tracing::warn!("the audio engine's command channel closed");
            self.state.engine_gone();
        }
    }

    /// Push-to-talk: the chosen key held while the window is in front (see below), or, for a
    /// function key on X11 during a call, in any window (`crate::hotkey`).
    /// The key is the one chosen in the settings; Space also waits for no widget to have focus
    /// (it would press a focused button), other keys only for no text field being typed in.
    fn push_to_talk(&mut self, ctx: &egui::Context) {
        let push_to_talk =
            self.state.settings.audio.transmit == crate::config::TransmitMode::PushToTalk;
        self.watch_global_key(push_to_talk && self.state.in_call());
        let key =
            view::shortcut_key(&self.state.settings.push_to_talk_key).unwrap_or(egui::Key::Space);
        let typing = if key == egui::Key::Space {
            ctx.egui_wants_keyboard_input()
        } else {
            ctx.text_edit_focused()
        };
        let global = self
            .global_key
            .as_ref()
            .and_then(|(_, watcher)| watcher.as_ref())
            .is_some_and(GlobalKey::held);
        let held = push_to_talk && ((!typing && ctx.input(|i| i.key_down(key))) || global);
        if held != self.push_to_talk_held {
            self.push_to_talk_held = held;
            self.send(Command::PushToTalk(held));
        }
    }

    /// Starts, changes or stops watching the push-to-talk key outside the window: only during a
    /// push-to-talk call, for a function key, on X11. A watcher that cannot start (no XInput 2,
    /// say) is not tried again in this session; the hint then says the key works in the window
    /// only.
    fn watch_global_key(&mut self, in_push_to_talk_call: bool) {
        // A watcher whose thread could not start (it wakes the window to say so).
        if let Some((_, Some(watcher))) = &self.global_key
            && let Some(sentence) = watcher.failure()
        {
            tracing::warn!("push-to-talk outside the window: {sentence}");
            self.state.global_keys = false;
        }
        let name = &self.state.settings.push_to_talk_key;
        let wanted = in_push_to_talk_call
            && self.state.global_keys
            && crate::hotkey::global_keysym(name).is_some();
        if !wanted {
            self.global_key = None;
            return;
        }
        if self
            .global_key
            .as_ref()
            .is_some_and(|(watched, _)| watched == name)
        {
            return;
        }
        self.global_key = None;
        let ctx = self.ctx.clone();
        let wake = Arc::new(move || repaint_once(&ctx));
        let watcher = match GlobalKey::watch_on(self.key_display.as_deref(), name, wake) {
            Ok(watcher) => Some(watcher),
            Err(sentence) => {
                tracing::warn!("push-to-talk outside the window: {sentence}");
                self.state.global_keys = false;
                None
            }
        };
        self.global_key = Some((name.clone(), watcher));
    }

    /// Has the settings written, off the window's thread; a failure is shown in the window
    /// once the writer reports it.
    fn save(&mut self) {
        if let Some(saver) = &self.saver {
            saver.save(&self.state.settings);
        }
    }
}

/// Lists the cameras on a thread (device I/O stays off the window's thread); the window is
/// woken when the list is ready. Only in builds with video.
fn list_cameras(ctx: &egui::Context) -> Option<Receiver<Vec<crate::video::camera::CameraInfo>>> {
    if !cfg!(feature = "video") {
        return None;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let wake = ctx.clone();
    std::thread::Builder::new()
        .name("palabre-cameras".to_owned())
        .spawn(move || {
            let cameras = crate::video::camera::list().unwrap_or_else(|error| {
                tracing::info!("{error}");
                Vec::new()
            });
            tx.send(cameras).ok();
            repaint_once(&wake);
        })
        .ok()?;
    Some(rx)
}

impl eframe::App for PalabreApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events();
        self.drain_conference();
        while let Ok((link, probe)) = self.probe_results.1.try_recv() {
            self.state.apply_probe(link, probe);
        }
        if let Some(cameras) = self.cameras.as_ref().and_then(|rx| rx.try_recv().ok()) {
            self.state.cameras = cameras;
            self.cameras = None;
        }
        if let Some(result) = self.saver.as_ref().and_then(|saver| saver.last_result()) {
            self.state.save_error = result.err();
        }
        self.carry_out_intents(ctx);
        // Theme and text size: nothing happens (and no repaint) unless they changed.
        view::apply_appearance(ctx, &self.state.settings);
        self.keep_devices_where_used();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let levels = Levels {
            input_dbfs: self.engine.meters.input_dbfs(),
            gate_open: self.engine.meters.gate_open(),
        };
        egui::CentralPanel::default().show(ui, |ui| {
            view::window_ui(
                ui,
                &self.state,
                &self.i18n,
                levels,
                &mut self.drafts,
                &mut self.intents,
            );
        });
        let ctx = ui.ctx();
        if !self.intents.is_empty() {
            // Apply them right away (next `logic` pass) rather than at the next meter tick.
            repaint_once(ctx);
        }
        self.push_to_talk(ctx);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if self.state.unsaved {
            self.save();
        }
        // The window is closing: waiting for the last write freezes nothing any more.
        self.saver = None;
        if let Some(conference) = self.conference.take() {
            conference.send(ConferenceCommand::Leave);
            // Give the server a moment to hear that we left.
            std::thread::sleep(Duration::from_millis(200));
        }
        self.send(Command::Shutdown);
    }
}

impl Drop for PalabreApp {
    fn drop(&mut self) {
        // If `on_exit` was skipped (the event loop ended abnormally), the engine still stops.
        self.engine.commands.send(Command::Shutdown).ok();
    }
}

impl std::fmt::Debug for PalabreApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PalabreApp")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Set to `1`, the window prints `first_frame_ms=<ms since the process started>` on standard
/// error once its first frame is laid out, then closes (the start-up benchmark, benches/README.md).
pub const EXIT_AFTER_FIRST_FRAME_ENV: &str = "PALABRE_EXIT_AFTER_FIRST_FRAME";

/// [`PalabreApp`] as launched by [`run_with_handoff`]: links handed over by other launches, and
/// the start-up measurement.
struct Launched {
    app: PalabreApp,
    handoff: Option<crate::instance::Handoff>,
    exit_after_first_frame: bool,
    drawn: bool,
}

impl eframe::App for Launched {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        while let Some(request) = self.handoff.as_ref().and_then(|h| h.try_recv()) {
            if let crate::instance::Request::Open(link) = request {
                tracing::info!("opened a link handed over by another launch");
                self.app.intents.push(Intent::OpenLink(link));
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        }
        self.app.logic(ctx, frame);
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.app.ui(ui, frame);
        if !self.drawn {
            self.drawn = true;
            if self.exit_after_first_frame {
                let ms = crate::instance::process_start().elapsed().as_secs_f64() * 1000.0;
                // One write, so that no other thread's output (ALSA's) splits the line.
                let line = format!("first_frame_ms={ms:.1}\n");
                let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        self.app.on_exit(gl);
    }
}
