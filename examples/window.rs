//! Opens palabre's window on a fake engine (channels and a thread, no sound device), for
//! screenshots and for looking at the layout on machines without audio.
//!
//! `cargo run --example window [en|fr]`. Settings are kept in `$PALABRE_CONFIG_DIR`, or in a
//! temporary folder when it is unset. The fake microphone talks in bursts so the meter, the
//! gate marker and the "speaking" light move; the echo test answers with a made-up summary.
//! This is not a test: nothing is checked.

use std::sync::Arc;
use std::sync::mpsc::{TryRecvError, channel};
use std::time::{Duration, Instant};

use palabre::audio::device::DeviceInfo;
use palabre::audio::engine::EngineHandle;
use palabre::audio::rt::RtCounters;
use palabre::audio::{AudioError, EchoSummary, Meters};
use palabre::command::{Command, Event};
use palabre::config::{Language, Settings};

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
    let i18n = palabre::i18n::I18n::new(language);
    let warning = warning.map(|w| i18n.config_warning(&w));
    palabre::ui::run(settings, Some(dir), warning, fake_engine)
}
