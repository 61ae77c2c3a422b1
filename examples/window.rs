//! Opens palabre's window on a fake engine (channels and a thread, no sound device), for
//! screenshots and for looking at the layout on machines without audio.
//!
//! `cargo run --example window [en|fr]`. Settings are kept in `$PALABRE_CONFIG_DIR`, or in a
//! temporary folder when it is unset. The fake microphone talks in bursts so the meter, the
//! gate marker and the "speaking" light move; the echo test answers with a made-up summary.
//! This is not a test: nothing is checked.
//!
//! `PALABRE_EXAMPLE_SCREEN=call` (or one of the other [`SCREENS`]) shows that screen instead, on
//! a made-up conference (a room tree, someone speaking, chat, traffic) drawn by the same view
//! without glue, engine or network: buttons change the state, nothing is sent.
//!
//! `PALABRE_EXAMPLE_SHOT=FILE.png` with a screen takes a picture of the window once it has
//! settled, writes it as PNG and closes: `scripts/screenshots` renders every screen in both
//! languages that way under Xvfb.

use std::sync::Arc;
use std::sync::mpsc::{TryRecvError, channel};
use std::time::{Duration, Instant};

use eframe::egui;
use palabre::audio::device::DeviceInfo;
use palabre::audio::engine::EngineHandle;
use palabre::audio::rt::RtCounters;
use palabre::audio::{AudioError, EchoSummary, Meters};
use palabre::command::{Command, Event};
use palabre::conference::{ChatMessage, ConferenceEvent, Participant, Room, Stage, Traffic};
use palabre::config::{Language, Settings};
use palabre::i18n::I18n;
use palabre::ui::state::{Intent, WindowState};
use palabre::ui::view::{self, Drafts, Levels};

fn device(id: &str, name: &str, is_default: bool) -> DeviceInfo {
    DeviceInfo {
        id: id.into(),
        name: name.into(),
        is_default,
        sample_rates: vec![(44_100, 48_000)],
        channels: vec![1, 2],
    }
}

/// A thread that behaves like the engine, well enough for the window.
fn fake_engine(repaint: Box<dyn Fn() + Send + Sync>) -> EngineHandle {
    let (command_tx, command_rx) = channel::<Command>();
    let (event_tx, event_rx) = channel::<Event>();
    let meters = Arc::new(Meters::default());
    let thread_meters = meters.clone();
    std::thread::spawn(move || {
        let send = |event: Event| {
            event_tx.send(event).ok();
            repaint();
        };
        send(Event::Devices {
            inputs: vec![
                device("alsa:default", "Built-in microphone", true),
                device("alsa:hw:2,0", "USB headset microphone", false),
            ],
            outputs: vec![
                device("alsa:default", "Built-in speakers", true),
                device("alsa:hw:2,0", "USB headset", false),
                device(
                    "alsa:sysdefault:CARD=PCH",
                    "HDA Intel PCH, ALC3246 Analog — Default Audio Device (front speakers)",
                    false,
                ),
                device("alsa:hdmi", "HDMI monitor", false),
            ],
        });
        send(Event::InputOpened("Built-in microphone".into()));
        send(Event::OutputOpened("Built-in speakers".into()));
        send(Event::Error(AudioError::NoSuchDevice {
            direction: "input",
            wanted: "Old webcam".into(),
            available: vec![
                "Built-in microphone".into(),
                "USB headset microphone".into(),
            ],
        }));
        let start = Instant::now();
        let mut echo_started: Option<Instant> = None;
        let mut gate_open_dbfs = -45.0_f32;
        loop {
            loop {
                match command_rx.try_recv() {
                    Ok(Command::StartEchoTest) => {
                        echo_started = Some(Instant::now());
                        send(Event::EchoTestStarted);
                    }
                    Ok(Command::StopEchoTest) => {
                        let seconds = echo_started
                            .take()
                            .map_or(0.0, |t| t.elapsed().as_secs_f64());
                        send(Event::EchoTestStopped(EchoSummary {
                            packets_sent: (seconds * 50.0) as u64,
                            payload_bytes: (seconds * 50.0 * 80.0) as u64,
                            packets_lost: 2,
                            frames_concealed: 4,
                            packets_recovered_fec: 1,
                            packets_late: 0,
                            mean_jitter_delay_ms: 41.5,
                            chain_delay_ms: 86.5,
                            seconds,
                        }));
                    }
                    Ok(Command::SetAudioSettings(audio)) => gate_open_dbfs = audio.gate_open_dbfs,
                    Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => return,
                    Ok(_) => {}
                    Err(TryRecvError::Empty) => break,
                }
            }
            // Two seconds of speech (a wobbling level around -25 dBFS), then a second of room
            // noise around -58 dBFS.
            let t = start.elapsed().as_secs_f32();
            let level = if t % 3.0 < 2.0 {
                -25.0 + 8.0 * (t * 7.0).sin() * (t * 2.3).cos()
            } else {
                -58.0 + 2.0 * (t * 13.0).sin()
            };
            thread_meters.set_input_dbfs(level);
            thread_meters.set_gate_open(level > gate_open_dbfs);
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    EngineHandle {
        commands: command_tx,
        events: event_rx,
        meters,
        counters: Arc::new(RtCounters::default()),
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt::init();
    let language = match std::env::args().nth(1).as_deref() {
        Some("fr") => Language::Fr,
        Some("en") => Language::En,
        _ => Language::System,
    };
    let dir = match std::env::var_os(palabre::config::CONFIG_DIR_ENV) {
        Some(dir) if !dir.is_empty() => std::path::PathBuf::from(dir),
        _ => std::env::temp_dir().join("palabre-window-example"),
    };
    let (mut settings, warning) = Settings::load(&dir);
    settings.language = language;
    if let Ok(screen) = std::env::var("PALABRE_EXAMPLE_SCREEN")
        && !screen.is_empty()
    {
        anyhow::ensure!(
            SCREENS.contains(&screen.as_str()),
            "no screen called {screen:?}; the screens are {}",
            SCREENS.join(", ")
        );
        let shot = std::env::var_os("PALABRE_EXAMPLE_SHOT")
            .filter(|path| !path.is_empty())
            .map(std::path::PathBuf::from);
        return show_screen(&screen, settings, shot);
    }
    let i18n = palabre::i18n::I18n::new(language);
    let warning = warning.map(|w| i18n.config_warning(&w));
    palabre::ui::run(settings, Some(dir), warning, None, fake_engine)
}

/// A participant of the made-up conference.
fn person(id: u32, name: &str, room: u32) -> Participant {
    Participant {
        id,
        name: name.into(),
        room: Some(room),
        you: false,
        muted: false,
        deafened: false,
        hand_raised: false,
    }
}

/// The screens `PALABRE_EXAMPLE_SCREEN` can show.
const SCREENS: [&str; 10] = [
    "home",
    "before-join",
    "jitsi",
    "audio-setup",
    "echo-test",
    "settings",
    "call",
    "chat",
    "ended",
    "video",
];

/// The state for `screen`, reached through the same intents and events as in the app.
fn example_state(screen: &str, settings: Settings) -> WindowState {
    let mut state = WindowState::new(settings, None, true);
    state.apply(Event::Devices {
        inputs: vec![device("alsa:default", "Built-in microphone", true)],
        outputs: vec![device("alsa:default", "Built-in speakers", true)],
    });
    state.apply(Event::InputOpened("Built-in microphone".into()));
    state.apply(Event::OutputOpened("Built-in speakers".into()));
    if screen == "home" {
        state.settings.favourites = vec!["mumble://mumble.example.org/Association".into()];
        state.settings.recent_rooms = vec!["https://meet.example.org/Standup".into()];
        state.settings.own_servers = vec![
            palabre::directory::OwnServer::new(
                "Workshop",
                palabre::directory::Protocol::Mumble,
                "voice.example.net",
            )
            .expect("a server address"),
        ];
        return state;
    }
    if screen == "audio-setup" || screen == "echo-test" {
        state.handle(Intent::OpenAudioSetup);
        if screen == "echo-test" {
            state.handle(Intent::ToggleEchoTest);
            state.apply(Event::EchoTestStarted);
        }
        return state;
    }
    if screen == "settings" {
        state.handle(Intent::OpenSettings);
        return state;
    }
    if screen == "jitsi" {
        state.handle(Intent::OpenLink("https://meet.example.org/Standup".into()));
        return state;
    }
    if screen == "video" {
        return video_call(state);
    }
    state.handle(Intent::OpenLink(
        "mumble://camille@mumble.example.org/Association/Weekly".into(),
    ));
    if screen == "before-join" {
        return state;
    }
    state.handle(Intent::Join {
        name: "camille".into(),
        password: String::new(),
    });
    let rooms = [
        (0, None, "Root"),
        (1, Some(0), "Association"),
        (2, Some(1), "Weekly"),
        (3, Some(0), "Games"),
    ];
    let you = Participant {
        you: true,
        ..person(1, "camille", 2)
    };
    let events = [
        ConferenceEvent::Stage(Stage::Connected),
        ConferenceEvent::Notice("Welcome to the association's server. Be kind.".into()),
        ConferenceEvent::Roster {
            participants: vec![
                you,
                person(2, "alice", 2),
                Participant {
                    muted: true,
                    ..person(3, "bob", 2)
                },
                Participant {
                    muted: true,
                    deafened: true,
                    ..person(4, "dominique", 3)
                },
            ],
            rooms: rooms
                .into_iter()
                .map(|(id, parent, name)| Room {
                    id,
                    parent,
                    name: name.into(),
                })
                .collect(),
        },
        ConferenceEvent::Chat(ChatMessage {
            from: "alice".into(),
            private: false,
            text: "Hello! The agenda is in the shared folder.".into(),
            own: false,
        }),
        ConferenceEvent::Chat(ChatMessage {
            from: "bob".into(),
            private: true,
            text: "I'm on the train, muted for now.".into(),
            own: false,
        }),
        ConferenceEvent::Traffic(Traffic {
            up_bps: 38_400.0,
            down_bps: 76_800.0,
            total_bytes: 3_400_000,
            quality: palabre::conference::Quality {
                rtt_ms: Some(48),
                loss_percent: Some(0.0),
            },
        }),
    ];
    for event in events {
        state.apply_conference(event);
    }
    state.apply(Event::Speaking {
        speaker: 2,
        on: true,
    });
    if screen == "chat" {
        state.handle(Intent::ToggleChat);
    }
    if screen == "ended" {
        state.apply_conference(ConferenceEvent::Stage(Stage::Ended {
            reason: "The connection was lost and could not be restored.".into(),
            failed: true,
        }));
    }
    state
}

/// A Jitsi Meet call out of audio-only mode, with the camera on: alice's camera and the user's
/// own as tiles (test pictures, as palabre draws them without a camera).
fn video_call(mut state: WindowState) -> WindowState {
    state.handle(Intent::OpenLink("https://meet.example.org/Standup".into()));
    state.handle(Intent::AudioOnly(false));
    state.handle(Intent::SelectCamera(Some("test-pattern".into())));
    state.handle(Intent::Join {
        name: "camille".into(),
        password: String::new(),
    });
    let jitsi = |id: u32, name: &str| Participant {
        room: None,
        ..person(id, name, 0)
    };
    state.apply_conference(ConferenceEvent::Stage(Stage::Connected));
    state.apply_conference(ConferenceEvent::Roster {
        participants: vec![
            Participant {
                you: true,
                ..jitsi(0, "camille")
            },
            jitsi(1, "alice"),
            Participant {
                muted: true,
                ..jitsi(2, "bob")
            },
        ],
        rooms: Vec::new(),
    });
    state.handle(Intent::Camera(true));
    let mut pattern = palabre::video::TestPattern::new(640, 360);
    for (id, skip) in [(1u32, 40), (0, 90)] {
        for _ in 0..skip {
            pattern.next_frame();
        }
        let tile =
            palabre::video::Rgba::from_i420(&pattern.next_frame(), palabre::video::TILE_WIDTH);
        state.apply_conference(ConferenceEvent::Video {
            participant: id,
            picture: Some(Arc::new(tile)),
        });
    }
    state.apply_conference(ConferenceEvent::Traffic(Traffic {
        up_bps: 310_000.0,
        down_bps: 330_000.0,
        total_bytes: 24_600_000,
        quality: palabre::conference::Quality {
            rtt_ms: Some(35),
            loss_percent: Some(0.0),
        },
    }));
    state.apply(Event::Speaking {
        speaker: 1,
        on: true,
    });
    state
}

/// Where a picture of the window is going, when one was asked for.
struct Shot {
    path: std::path::PathBuf,
    /// Frames drawn so far: the picture is asked for once the layout has settled.
    frames: u32,
    asked: bool,
    /// What writing it gave, reported once the window has closed.
    result: Arc<std::sync::Mutex<Option<anyhow::Result<()>>>>,
}

impl Shot {
    /// Frames to draw before the picture: egui sizes some widgets from the frame before.
    const SETTLE_FRAMES: u32 = 5;

    fn step(&mut self, ctx: &egui::Context) {
        if self.result.lock().expect("not poisoned").is_some() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        self.frames += 1;
        if !self.asked && self.frames >= Self::SETTLE_FRAMES {
            self.asked = true;
            let (path, result, waker) = (self.path.clone(), self.result.clone(), ctx.clone());
            ctx.request_screenshot(move |image| {
                *result.lock().expect("not poisoned") = Some(write_png(&path, &image));
                waker.request_repaint();
            });
        }
        ctx.request_repaint();
    }
}

fn write_png(path: &std::path::Path, image: &egui::ColorImage) -> anyhow::Result<()> {
    let [width, height] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
    let picture = image::RgbaImage::from_raw(width as u32, height as u32, bytes)
        .ok_or_else(|| anyhow::anyhow!("the picture's pixels do not match its size"))?;
    picture
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| anyhow::anyhow!("{} could not be written: {e}", path.display()))
}

/// Shows one screen of a made-up conference: intents change the state, nothing is sent. With
/// `shot`, writes a picture of it there and closes.
fn show_screen(
    screen: &str,
    settings: Settings,
    shot: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    struct Example {
        state: WindowState,
        i18n: I18n,
        drafts: Drafts,
        intents: Vec<Intent>,
        shot: Option<Shot>,
    }
    impl eframe::App for Example {
        fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
            for intent in std::mem::take(&mut self.intents) {
                self.state.handle(intent);
            }
            view::apply_appearance(ctx, &self.state.settings);
            if let Some(shot) = &mut self.shot {
                shot.step(ctx);
            }
        }

        fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
            let levels = Levels {
                input_dbfs: -32.0,
                gate_open: true,
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
            if !self.intents.is_empty() {
                ui.ctx().request_repaint();
            }
        }
    }
    let i18n = I18n::new(settings.language);
    let state = example_state(screen, settings);
    let result = Arc::new(std::sync::Mutex::new(None));
    let shot = shot.map(|path| Shot {
        path,
        frames: 0,
        asked: false,
        result: result.clone(),
    });
    let wanted = shot.is_some();
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(i18n.tr("app-title"))
            .with_inner_size([900.0, 640.0])
            .with_min_inner_size(palabre::ui::MIN_WINDOW_SIZE),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "palabre-example",
        options,
        Box::new(move |_cc| {
            Ok(Box::new(Example {
                state,
                i18n,
                drafts: Drafts::default(),
                intents: Vec::new(),
                shot,
            }))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))?;
    let taken = result.lock().expect("not poisoned").take();
    match taken {
        Some(written) => written,
        None if wanted => Err(anyhow::anyhow!(
            "the window closed before its picture was taken"
        )),
        None => Ok(()),
    }
}
