//! The `palabre` command: opens the window, or runs a headless command.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

use palabre::audio::device::{self, Direction};
use palabre::audio::echo::{LinkConditions, run_offline};
use palabre::audio::engine::{self, EngineHandle};
use palabre::audio::{EchoSummary, wav};
use palabre::command::{Command, Event};
use palabre::config::{self, AudioSettings, Preset, Settings};

/// A sober native client for Jitsi Meet and Mumble.
#[derive(Debug, Parser)]
#[command(name = "palabre", version, long_version = long_version(), about)]
struct Cli {
    /// More logs (-v: debug, -vv: trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Sub>,
    /// A meeting link to open in the window (mumble://…, https://host/Room, jitsi-meet://…).
    #[arg(value_name = "LINK")]
    link: Option<String>,
}

/// What `--version` prints after "palabre ": the version, then the libopus actually linked and the
/// egui and rustls versions locked in Cargo.lock. Touches no device and no window.
fn long_version() -> &'static str {
    fn locked(name: &str) -> &'static str {
        include_str!("../Cargo.lock")
            .split_once(&format!("name = \"{name}\""))
            .and_then(|(_, rest)| rest.split_once("version = \""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or("?", |(version, _)| version)
    }
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            // libopus names itself: "libopus 1.5.2".
            "{}\n{}\negui {}\nrustls {}",
            env!("CARGO_PKG_VERSION"),
            opus::version(),
            locked("egui"),
            locked("rustls"),
        )
    })
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// List the input and output devices.
    Devices {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Hear yourself through everything a call does to your voice, with no server.
    EchoTest(EchoArgs),
    /// Join a meeting: a Mumble server (mumble://[user[:password]@]host[:port][/Channel/Sub] or
    /// host[:port]) or a Jitsi Meet room (https://host/Room, jitsi-meet://host/Room).
    Join(JoinArgs),
    /// Show, export or import your identity (the certificate Mumble servers know you by).
    Identity {
        /// Write your identity (certificate and private key, PEM) to this file.
        #[arg(long, conflicts_with = "import")]
        export: Option<PathBuf>,
        /// Replace your identity with the one in this PEM file (the old one is kept aside).
        #[arg(long)]
        import: Option<PathBuf>,
    },
    /// Play a short tone on the speakers (optionally recording the microphone meanwhile).
    TestSound {
        /// Output device (id or name); the default one otherwise.
        #[arg(long)]
        output_device: Option<String>,
        /// Input device (id or name) used with --record.
        #[arg(long)]
        input_device: Option<String>,
        /// Record the microphone to this WAV file while the tone plays.
        #[arg(long)]
        record: Option<PathBuf>,
        /// How long to record, in seconds.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

#[derive(Debug, Args)]
struct EchoArgs {
    /// Read the microphone from this WAV file instead of a device (needs --output).
    #[arg(long, requires = "output")]
    input: Option<PathBuf>,
    /// Write what you would hear to this WAV file instead of a device (needs --input).
    #[arg(long, requires = "input")]
    output: Option<PathBuf>,
    /// Encoder preset.
    #[arg(long, value_enum, default_value_t = Preset::Standard)]
    preset: Preset,
    /// Opus bitrate in kbit/s (6–128), overriding the preset's.
    #[arg(long)]
    bitrate: Option<u32>,
    /// Opus frame duration in ms (10, 20, 40 or 60), overriding the preset's.
    #[arg(long)]
    frame_ms: Option<u32>,
    /// Fraction of packets the simulated network drops (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Seed of the simulated network's random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Random extra delay of each packet, 0 to N ms (reorders packets too).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u32,
    /// Send every frame: no noise gate.
    #[arg(long)]
    no_gate: bool,
    /// No noise suppression.
    #[arg(long)]
    no_denoise: bool,
    /// No echo cancellation.
    #[arg(long)]
    no_aec: bool,
    /// No Opus in-band forward error correction.
    #[arg(long)]
    no_fec: bool,
    /// No Opus discontinuous transmission.
    #[arg(long)]
    no_dtx: bool,
    /// Live mode: input device (id or name).
    #[arg(long, conflicts_with = "input")]
    input_device: Option<String>,
    /// Live mode: output device (id or name).
    #[arg(long, conflicts_with = "output")]
    output_device: Option<String>,
    /// Live mode: stop after this many seconds (default: when Enter is pressed, or 10 s
    /// without a terminal).
    #[arg(long)]
    seconds: Option<f64>,
}

#[derive(Debug, Args)]
struct JoinArgs {
    /// The server link.
    link: String,
    /// Without it, the call runs on your microphone and speakers and the channel tree is shown
    /// in the terminal. With it: no devices, a WAV file is the microphone, another records what is heard;
    /// one JSON line at the end. Lines on standard input act as commands: say TEXT, tell NAME
    /// TEXT, move Channel/Sub, mute, unmute, deaf, undeaf, register, leave.
    #[arg(long)]
    headless: bool,
    /// Your name on the server (default: the name in the link).
    #[arg(long)]
    name: Option<String>,
    /// Server password (default: the one in the link).
    #[arg(long)]
    password: Option<String>,
    /// The microphone: a WAV file.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Record what you hear (all speakers mixed) to this WAV file.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Leave after this many seconds (default: once the input has been sent; without input,
    /// when "leave" is read on standard input).
    #[arg(long)]
    seconds: Option<f64>,
    /// Start sending the input once a user of this name is present (at most 30 s).
    #[arg(long)]
    wait_for: Option<String>,
    /// Encoder preset.
    #[arg(long, value_enum, default_value_t = Preset::Standard)]
    preset: Preset,
    /// Opus bitrate in kbit/s (6–128), overriding the preset's.
    #[arg(long)]
    bitrate: Option<u32>,
    /// Opus frame duration in ms (10, 20, 40 or 60), overriding the preset's.
    #[arg(long)]
    frame_ms: Option<u32>,
    /// Send every frame: no noise gate.
    #[arg(long)]
    no_gate: bool,
    /// No noise suppression.
    #[arg(long)]
    no_denoise: bool,
    /// Keep voice in the TCP connection (for networks that block UDP).
    #[arg(long)]
    no_udp: bool,
    /// Join muted.
    #[arg(long)]
    mute: bool,
    /// Join deafened (and muted).
    #[arg(long)]
    deaf: bool,
    /// Accept a server certificate that differs from the one seen before.
    #[arg(long)]
    accept_new_certificate: bool,
    /// Do not present your identity certificate.
    #[arg(long)]
    no_certificate: bool,
    /// Do not reconnect after a lost connection.
    #[arg(long)]
    no_reconnect: bool,
    /// Microphone (id or name; see `palabre devices`), without --headless.
    #[arg(long, conflicts_with = "headless")]
    input_device: Option<String>,
    /// Speakers (id or name), without --headless.
    #[arg(long, conflicts_with = "headless")]
    output_device: Option<String>,
    /// Jitsi Meet: trust this extra CA certificate (PEM), for a private or test instance.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Jitsi Meet: use loopback addresses for the media (a test instance on this machine).
    #[arg(long)]
    ice_loopback: bool,
    /// Jitsi Meet: receive no video (the default).
    #[arg(long, conflicts_with = "video")]
    audio_only: bool,
    /// Jitsi Meet: receive others' cameras (at most 360 pixels high).
    #[arg(long)]
    video: bool,
    /// Jitsi Meet: send this camera once in the call (`test-pattern`, a camera's number, or
    /// empty for the first camera); implies --video.
    #[arg(long, conflicts_with = "audio_only")]
    camera: Option<String>,
    /// Jitsi Meet: log in with this account of the instance (meetings that need a login).
    #[arg(long, requires = "login_password")]
    login_user: Option<String>,
    /// Jitsi Meet: the password of --login-user.
    #[arg(long, requires = "login_user")]
    login_password: Option<String>,
}

impl EchoArgs {
    fn settings(&self) -> AudioSettings {
        AudioSettings {
            preset: self.preset,
            bitrate_kbps: self.bitrate,
            frame_ms: self.frame_ms,
            denoise: !self.no_denoise,
            echo_cancel: !self.no_aec,
            gate: !self.no_gate,
            fec: !self.no_fec,
            dtx: !self.no_dtx,
            ..AudioSettings::default()
        }
    }

    fn conditions(&self) -> anyhow::Result<LinkConditions> {
        if !(0.0..=1.0).contains(&self.loss) {
            anyhow::bail!("--loss must be a fraction between 0 and 1 (for example 0.05 for 5 %)");
        }
        Ok(LinkConditions {
            loss: self.loss,
            jitter_ms: self.jitter_ms,
            seed: self.seed,
        })
    }
}

fn main() -> ExitCode {
    // The start-up benchmark measures the first frame from here.
    palabre::instance::mark_process_start();
    let cli = Cli::parse();
    init_logs(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("palabre: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs(verbose: u8) {
    let level = match verbose {
        0 => Level::INFO,
        1 => Level::DEBUG,
        _ => Level::TRACE,
    };
    // `RUST_LOG` takes `target=level` directives (`palabre=debug,info`, `off`); one that does not
    // parse leaves the default.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_target("palabre", level));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .with(filter)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => open_window(cli.link),
        Some(Sub::Devices { json }) => list_devices(json),
        Some(Sub::EchoTest(args)) => echo_test(&args),
        Some(Sub::Join(args)) => join(args),
        Some(Sub::Identity { export, import }) => identity(export, import),
        Some(Sub::TestSound {
            output_device,
            input_device,
            record,
            seconds,
        }) => test_sound(output_device, input_device, record, seconds),
    }
}

fn open_window(link: Option<String>) -> anyhow::Result<()> {
    use palabre::instance::{self, Request};
    let dir = config::config_dir();
    // One window per user: a running one takes the link and comes to the front.
    let instance_dir = instance::instance_dir(dir.as_deref());
    let request = link.clone().map_or(Request::Focus, Request::Open);
    if instance::hand_over(&instance_dir, &request).is_ok() {
        match request {
            Request::Open(_) => println!("palabre is already open: the link was handed to it."),
            Request::Focus => {
                println!("palabre is already open: its window was brought to the front.")
            }
        }
        return Ok(());
    }
    // Not being reachable by later launches must not keep the window from opening.
    let mut server = instance::Server::bind(&instance_dir)
        .inspect_err(|e| {
            tracing::warn!(
                "later launches cannot hand links to this window ({}): {e}",
                instance_dir.display()
            );
        })
        .ok();
    let handoff = server.as_mut().and_then(instance::Server::take_handoff);
    let (settings, warning) = match dir.as_deref() {
        Some(dir) => Settings::load(dir),
        None => (Settings::default(), None),
    };
    let i18n = palabre::i18n::I18n::new(settings.language);
    let warning = warning.map(|w| {
        tracing::warn!("{w}");
        i18n.config_warning(&w)
    });
    let audio = settings.audio.clone();
    let (input, output) = (
        settings.input_device.clone(),
        settings.output_device.clone(),
    );
    let result =
        palabre::ui::run_with_handoff(settings, dir, warning, link, handoff, move |repaint| {
            engine::spawn(audio, input, output, repaint)
        });
    // Removes the endpoint: later launches open their own window.
    drop(server);
    result
}

fn list_devices(json: bool) -> anyhow::Result<()> {
    let inputs = device::list(Direction::Input);
    let outputs = device::list(Direction::Output);
    if json {
        println!(
            "{}",
            serde_json::json!({ "inputs": inputs, "outputs": outputs })
        );
        return Ok(());
    }
    for (title, devices) in [("Input devices", &inputs), ("Output devices", &outputs)] {
        println!("{title}:");
        if devices.is_empty() {
            println!("  (none found)");
        }
        for d in devices {
            let rates: Vec<String> = d
                .sample_rates
                .iter()
                .map(|(lo, hi)| {
                    if lo == hi {
                        format!("{lo}")
                    } else {
                        format!("{lo}–{hi}")
                    }
                })
                .collect();
            let channels: Vec<String> = d.channels.iter().map(u16::to_string).collect();
            println!(
                "  {}{}\n      id: {}  rates: {} Hz  channels: {}",
                d.name,
                if d.is_default { " (default)" } else { "" },
                d.id,
                rates.join(", "),
                channels.join(", ")
            );
        }
    }
    Ok(())
}

fn echo_test(args: &EchoArgs) -> anyhow::Result<()> {
    let settings = args.settings();
    let conditions = args.conditions()?;
    let summary = match (&args.input, &args.output) {
        (Some(input), Some(output)) => {
            let samples = wav::read_mono_48k(input)?;
            let (played, summary) =
                run_offline(&settings, conditions, &samples, Duration::from_millis(500))?;
            wav::write_mono_48k(output, &played)?;
            summary
        }
        _ => echo_live(args, settings)?,
    };
    print_summary(&summary)
}

fn print_summary(summary: &EchoSummary) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(summary)?);
    Ok(())
}

/// Waits until the engine opened both devices, or returns the first error it reported.
fn wait_for_devices(
    handle: &EngineHandle,
    need_input: bool,
    need_output: bool,
) -> anyhow::Result<()> {
    let (mut input_ok, mut output_ok) = (!need_input, !need_output);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(input_ok && output_ok) {
        let left = deadline.saturating_duration_since(Instant::now());
        match handle.events.recv_timeout(left) {
            Ok(event @ Event::InputOpened(_)) => {
                say_event(&event);
                input_ok = true;
            }
            Ok(event @ Event::OutputOpened(_)) => {
                say_event(&event);
                output_ok = true;
            }
            // A microphone that is not needed may well be missing.
            Ok(Event::Error(e)) if !need_input && e.direction() == Some("input") => {}
            Ok(Event::Error(e)) => anyhow::bail!("{e}"),
            Ok(_) => {}
            Err(_) => anyhow::bail!("the audio devices did not open within 10 seconds"),
        }
    }
    Ok(())
}

fn echo_live(args: &EchoArgs, settings: AudioSettings) -> anyhow::Result<EchoSummary> {
    let handle = engine::spawn(
        settings,
        args.input_device.clone(),
        args.output_device.clone(),
        Box::new(|| {}),
    );
    wait_for_devices(&handle, true, true)?;
    handle.commands.send(Command::StartEchoTest)?;
    let interactive = std::io::stdin().is_terminal();
    let duration = match args.seconds {
        Some(seconds) => Some(Duration::from_secs_f64(seconds.max(0.0))),
        None if interactive => {
            eprintln!(
                "Speak: you hear yourself through the whole call chain. Press Enter to stop."
            );
            let (enter_tx, enter_rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
                let _ = enter_tx.send(());
            });
            follow_events(&handle, None, Some(&enter_rx))?;
            None
        }
        None => Some(Duration::from_secs(10)),
    };
    if let Some(duration) = duration {
        follow_events(&handle, Some(Instant::now() + duration), None)?;
    }
    handle.commands.send(Command::StopEchoTest)?;
    let summary = loop {
        match handle.events.recv_timeout(Duration::from_secs(5)) {
            Ok(Event::EchoTestStopped(summary)) => break summary,
            Ok(other) => say_event(&other),
            Err(_) => anyhow::bail!("the audio engine stopped answering"),
        }
    };
    report_realtime(&handle);
    let _ = handle.commands.send(Command::Shutdown);
    Ok(summary)
}

/// Tells the user what the engine reports (stages, device changes, errors) until `deadline`
/// or until `stop` receives something.
fn follow_events(
    handle: &EngineHandle,
    deadline: Option<Instant>,
    stop: Option<&std::sync::mpsc::Receiver<()>>,
) -> anyhow::Result<()> {
    loop {
        if stop.is_some_and(|s| s.try_recv().is_ok()) {
            return Ok(());
        }
        let wait = match deadline {
            Some(deadline) if Instant::now() >= deadline => return Ok(()),
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100)),
            None => Duration::from_millis(100),
        };
        match handle.events.recv_timeout(wait) {
            Ok(event) => say_event(&event),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                anyhow::bail!("the audio engine stopped")
            }
        }
    }
}

/// One line on stderr for an engine event worth telling.
fn say_event(event: &Event) {
    match event {
        Event::InputOpened(name) => eprintln!("microphone: {name}"),
        Event::OutputOpened(name) => eprintln!("speakers: {name}"),
        Event::DeviceLost {
            name,
            fallback: Some(other),
        } => {
            eprintln!("the device “{name}” went away; now using “{other}”")
        }
        Event::DeviceLost {
            name,
            fallback: None,
        } => {
            eprintln!("the device “{name}” went away; palabre keeps looking for one")
        }
        Event::Error(e) => eprintln!("{e}"),
        _ => {}
    }
}

fn test_sound(
    output_device: Option<String>,
    input_device: Option<String>,
    record: Option<PathBuf>,
    seconds: f64,
) -> anyhow::Result<()> {
    let recording = record.is_some();
    let handle = engine::spawn(
        AudioSettings::default(),
        input_device,
        output_device,
        Box::new(|| {}),
    );
    wait_for_devices(&handle, recording, true)?;
    if recording {
        handle.commands.send(Command::StartRecording)?;
    }
    // The tone lasts a second: repeat it for as long as asked.
    let end = Instant::now() + Duration::from_secs_f64(seconds.max(1.0));
    while Instant::now() < end {
        handle.commands.send(Command::PlayTestSound)?;
        follow_events(
            &handle,
            Some(end.min(Instant::now() + Duration::from_secs(1))),
            None,
        )?;
    }
    if let Some(path) = record {
        handle.commands.send(Command::StopRecording)?;
        let (samples, tone_at) = loop {
            match handle.events.recv_timeout(Duration::from_secs(5)) {
                Ok(Event::Recorded { samples, tone_at }) => break (samples, tone_at),
                Ok(_) => {}
                Err(_) => anyhow::bail!("the audio engine stopped answering"),
            }
        };
        wav::write_mono_48k(&path, &samples)?;
        eprintln!(
            "recorded {:.2} s to {}",
            samples.len() as f64 / 48_000.0,
            path.display()
        );
        match tone_at {
            Some(at) => eprintln!("tone_at_sample={at}"),
            None => eprintln!("the microphone delivered too little for the tone to start"),
        }
    }
    report_realtime(&handle);
    let _ = handle.commands.send(Command::Shutdown);
    Ok(())
}

/// Prints the real-time counters; with `assert-no-alloc`, fails on any allocation in a
/// callback.
fn report_realtime(handle: &EngineHandle) {
    use std::sync::atomic::Ordering::Relaxed;
    let c = &handle.counters;
    eprintln!(
        "realtime: capture_callbacks={} playback_callbacks={} capture_overruns={} \
         playback_underruns={} alloc_violations={}",
        c.capture_callbacks.load(Relaxed),
        c.playback_callbacks.load(Relaxed),
        c.capture_overruns.load(Relaxed),
        c.playback_underruns.load(Relaxed),
        palabre::audio::rt::alloc_violations()
    );
}

fn join(args: JoinArgs) -> anyhow::Result<()> {
    use palabre::link::{self, Link};
    let link = match link::parse(&args.link)? {
        Link::Mumble(link) => link,
        Link::Jitsi(link) => return join_jitsi(args, link),
    };
    let Some(name) = args.name.clone().or_else(|| link.username.clone()) else {
        anyhow::bail!("give your name on the server with --name NAME (or put it in the link)");
    };
    let dir = config::config_dir();
    let identity = match (&dir, args.no_certificate) {
        (Some(dir), false) => {
            let (identity, created) = palabre::identity::Identity::load_or_create(dir, &name)?;
            if created {
                eprintln!(
                    "palabre: created your identity certificate ({}) in {}",
                    identity.fingerprint(),
                    dir.display()
                );
            }
            Some(identity)
        }
        _ => None,
    };
    let mut session = palabre::call::session_config(&name);
    session.password = args.password.clone().or_else(|| link.password.clone());
    session.channel_path = link.channel_path.clone();
    session.udp = !args.no_udp;
    session.self_mute = args.mute || args.deaf;
    session.self_deaf = args.deaf;
    let mumble = palabre::net::mumble::MumbleOptions {
        host: link.host.clone(),
        port: link.port,
        session,
        identity,
        config_dir: dir,
        accept_new_certificate: args.accept_new_certificate,
        reconnect: !args.no_reconnect,
    };
    let audio = AudioSettings {
        preset: args.preset,
        bitrate_kbps: args.bitrate,
        frame_ms: args.frame_ms,
        denoise: !args.no_denoise,
        // A file is the microphone: nothing played can come back into it.
        echo_cancel: !args.headless,
        gate: !args.no_gate,
        ..AudioSettings::default()
    };
    if !args.headless && (args.input.is_some() || args.record.is_some()) {
        anyhow::bail!("--input and --record need --headless (without it, the devices are used)");
    }
    let call = palabre::call::HeadlessCall {
        mumble,
        audio,
        input: args.input.clone(),
        record: args.record.clone(),
        seconds: args.seconds,
        wait_for: args.wait_for.clone(),
    };
    let control_rx = stdin_lines()?;
    let summary = if args.headless {
        palabre::call::run(call, Some(control_rx), |line| eprintln!("palabre: {line}"))?
    } else {
        let handle = engine::spawn(
            call.audio.clone(),
            args.input_device.clone(),
            args.output_device.clone(),
            Box::new(|| {}),
        );
        wait_for_devices(&handle, true, true)?;
        eprintln!(
            "palabre: type say TEXT, tell NAME TEXT, move Channel/Sub, mute, unmute, deaf, \
             undeaf, tree or leave, then Enter"
        );
        let live = palabre::call::LiveCall {
            mumble: call.mumble,
            audio: call.audio,
        };
        let summary =
            palabre::call::run_live(live, &handle, Some(control_rx), |line| println!("{line}"));
        handle.commands.send(Command::Shutdown).ok();
        summary?
    };
    println!("{}", serde_json::to_string(&summary)?);
    if summary.succeeded() {
        Ok(())
    } else if summary.connected {
        anyhow::bail!("{}", summary.reason)
    } else {
        anyhow::bail!("could not join {}: {}", summary.server, summary.reason)
    }
}

/// Lines of standard input (commands during a call), read on a thread of their own since
/// reading blocks.
fn stdin_lines() -> std::io::Result<std::sync::mpsc::Receiver<String>> {
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("palabre-stdin".to_owned())
        .spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        })?;
    Ok(lines_rx)
}

fn join_jitsi(args: JoinArgs, link: palabre::link::JitsiLink) -> anyhow::Result<()> {
    if !args.headless && (args.input.is_some() || args.record.is_some()) {
        anyhow::bail!("--input and --record need --headless (without it, the devices are used)");
    }
    let name = args.name.clone().unwrap_or_default();
    let options = palabre::net::jitsi::driver::JitsiOptions {
        link,
        display_name: name,
        password: args.password.clone(),
        login: args.login_user.clone().zip(args.login_password.clone()),
        ca_file: args.ca_file.clone(),
        ice_loopback: args.ice_loopback,
        audio_muted: args.mute || args.deaf,
        audio_only: !(args.video || args.camera.is_some()),
        machine_uid: palabre::jitsi_call::machine_uid(config::config_dir().as_deref()),
    };
    let audio = AudioSettings {
        preset: args.preset,
        bitrate_kbps: args.bitrate,
        frame_ms: args.frame_ms,
        denoise: !args.no_denoise,
        echo_cancel: false,
        gate: !args.no_gate,
        ..AudioSettings::default()
    };
    if !args.headless {
        let settings = AudioSettings {
            echo_cancel: true,
            ..audio
        };
        let handle = engine::spawn(
            settings,
            args.input_device.clone(),
            args.output_device.clone(),
            Box::new(|| {}),
        );
        wait_for_devices(&handle, true, true)?;
        let control_rx = stdin_lines()?;
        let summary = palabre::jitsi_call::run_live(
            options,
            handle.commands.clone(),
            Some(control_rx),
            |line| println!("{line}"),
        );
        handle.commands.send(Command::Shutdown).ok();
        let summary = summary?;
        println!("{}", serde_json::to_string(&summary)?);
        return if summary.left {
            Ok(())
        } else {
            anyhow::bail!("{}", summary.reason)
        };
    }
    let call = palabre::jitsi_call::JitsiCall {
        options,
        audio,
        input: args.input.clone(),
        record: args.record.clone(),
        seconds: args.seconds,
        wait_for: args.wait_for.clone(),
        camera: args
            .camera
            .as_deref()
            .map(palabre::video::camera::Source::parse),
    };
    let control_rx = stdin_lines()?;
    let summary =
        palabre::jitsi_call::run(call, Some(control_rx), |line| eprintln!("palabre: {line}"))?;
    println!("{}", serde_json::to_string(&summary)?);
    if summary.succeeded() {
        Ok(())
    } else if summary.joined {
        anyhow::bail!("{}", summary.reason)
    } else {
        anyhow::bail!("could not join {}: {}", summary.meeting, summary.reason)
    }
}

fn identity(export: Option<PathBuf>, import: Option<PathBuf>) -> anyhow::Result<()> {
    use palabre::identity::Identity;
    let Some(dir) = config::config_dir() else {
        anyhow::bail!("no configuration folder could be found for your identity");
    };
    if let Some(path) = import {
        let identity = Identity::import_from(&path)?;
        if let Some(previous) = identity.save(&dir)? {
            println!("previous identity kept as {}", previous.display());
        }
        println!("identity imported: {}", identity.fingerprint());
        return Ok(());
    }
    let Some(identity) = Identity::load(&dir)? else {
        println!("no identity yet: one is created the first time you join a Mumble server");
        return Ok(());
    };
    if let Some(path) = export {
        identity.export_to(&path)?;
        println!("identity written to {} (keep it private)", path.display());
    } else {
        println!("identity certificate: {}", identity.fingerprint());
    }
    Ok(())
}
