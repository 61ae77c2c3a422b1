//! Device enumeration and stream set-up (cpal). Runs on the engine thread, never in a callback.
//!
//! Streams are opened at the device's native rate, channel count and sample format; the
//! callbacks (see `rt`) only mix down/up to mono and move samples through rings, and the worker
//! converts the rate to 48 kHz.

use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait as _, HostTrait as _, StreamTrait as _};
use cpal::{FromSample, SampleFormat, SizedSample};

use crate::audio::AudioError;
use crate::audio::rt::{Capture, Playback, RtCounters};

/// One audio device as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    /// Stable identifier to select the device again (cpal's device id, `host:device`).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Whether this is the system's default device for its direction.
    pub is_default: bool,
    /// Supported sample rates (Hz) as ranges `(min, max)`.
    pub sample_rates: Vec<(u32, u32)>,
    /// Supported channel counts.
    pub channels: Vec<u16>,
}

/// Capture or playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Microphones.
    Input,
    /// Speakers and headphones.
    Output,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

fn device_id(device: &cpal::Device) -> String {
    device.id().map(|id| id.to_string()).unwrap_or_default()
}

fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_owned())
        .unwrap_or_else(|_| device_id(device))
}

fn describe(device: &cpal::Device, direction: Direction, default_id: &str) -> DeviceInfo {
    let ranges: Vec<(u32, u32, u16)> = match direction {
        Direction::Input => device
            .supported_input_configs()
            .map(|configs| {
                configs
                    .map(|c| (c.min_sample_rate(), c.max_sample_rate(), c.channels()))
                    .collect()
            })
            .unwrap_or_default(),
        Direction::Output => device
            .supported_output_configs()
            .map(|configs| {
                configs
                    .map(|c| (c.min_sample_rate(), c.max_sample_rate(), c.channels()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let mut sample_rates: Vec<(u32, u32)> = ranges.iter().map(|r| (r.0, r.1)).collect();
    sample_rates.sort_unstable();
    sample_rates.dedup();
    let mut channels: Vec<u16> = ranges.iter().map(|r| r.2).collect();
    channels.sort_unstable();
    channels.dedup();
    let id = device_id(device);
    DeviceInfo {
        is_default: id == default_id,
        id,
        name: device_name(device),
        sample_rates,
        channels,
    }
}

/// The devices of one direction on the default host, default first.
pub fn list(direction: Direction) -> Vec<DeviceInfo> {
    let host = cpal::default_host();
    let default = match direction {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    };
    let default_id = default.as_ref().map(device_id).unwrap_or_default();
    let devices = match direction {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    };
    // Devices that offer no configuration at all (ALSA's rate-converter plugins, a JACK or OSS
    // bridge with no server behind it) cannot be opened: not worth showing.
    let mut infos: Vec<DeviceInfo> = devices
        .unwrap_or_default()
        .iter()
        .map(|d| describe(d, direction, &default_id))
        .filter(|info| info.is_default || !info.sample_rates.is_empty())
        .collect();
    if let Some(default) = default.as_ref()
        && !infos.iter().any(|i| i.is_default)
    {
        infos.push(describe(default, direction, &default_id));
    }
    infos.sort_by_key(|i| !i.is_default);
    infos
}

/// Finds a device by id or by name (exact, then case-insensitive); `None` is the default one.
pub fn find(direction: Direction, wanted: Option<&str>) -> Result<cpal::Device, AudioError> {
    let host = cpal::default_host();
    let Some(wanted) = wanted else {
        let default = match direction {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        };
        return default.ok_or(AudioError::NoDevice {
            direction: direction.word(),
        });
    };
    let devices: Vec<cpal::Device> = match direction {
        Direction::Input => host.input_devices().map(|d| d.collect()),
        Direction::Output => host.output_devices().map(|d| d.collect()),
    }
    .unwrap_or_default();
    let exact = devices
        .iter()
        .find(|d| device_id(d) == wanted || device_name(d) == wanted);
    let loose = || {
        devices
            .iter()
            .find(|d| device_name(d).eq_ignore_ascii_case(wanted))
    };
    if let Some(device) = exact.or_else(loose) {
        return Ok(device.clone());
    }
    let mut available: Vec<String> = devices.iter().map(device_name).collect();
    available.dedup();
    if available.is_empty() {
        return Err(AudioError::NoDevice {
            direction: direction.word(),
        });
    }
    Err(AudioError::NoSuchDevice {
        direction: direction.word(),
        wanted: wanted.to_owned(),
        available,
    })
}

/// What keeps a device running.
enum Running {
    Cpal(#[allow(dead_code, reason = "held for its Drop")] cpal::Stream),
    #[cfg(target_os = "linux")]
    Pulse(#[allow(dead_code, reason = "held for its Drop")] crate::audio::pulse::PulseStream),
}

/// An open device stream. Dropping it closes the device.
pub struct OpenStream {
    /// Kept alive for as long as the device should run.
    _stream: Running,
    /// Display name of the device.
    pub name: String,
    /// Device sample rate (Hz).
    pub rate_hz: u32,
    /// Device channel count.
    pub channels: u16,
    /// Errors the device reported (disconnection…), read by the engine.
    pub errors: rtrb::Consumer<cpal::ErrorKind>,
    /// A microphone that wakes the thread that opened it for each fragment (20 ms) it captures
    /// (the PulseAudio path); that thread then needs no timer of its own to pace its work.
    pub wakes_opener: bool,
}

impl std::fmt::Debug for OpenStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenStream")
            .field("name", &self.name)
            .field("rate_hz", &self.rate_hz)
            .field("channels", &self.channels)
            .finish()
    }
}

const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

fn open_failed(direction: Direction, name: &str, e: impl std::fmt::Display) -> AudioError {
    AudioError::OpenFailed {
        direction: direction.word(),
        name: name.to_owned(),
        reason: e.to_string(),
    }
}

/// Reports device errors from cpal's error callback to the engine, through a small ring.
type ErrorSink = Box<dyn FnMut(cpal::Error) + Send + 'static>;

/// The part of opening a stream that both directions share: the error ring, building the
/// stream for the device's sample format (`build` answers `None` for a format it cannot take),
/// starting it.
fn start_stream(
    direction: Direction,
    name: String,
    supported: &cpal::SupportedStreamConfig,
    build: impl FnOnce(SampleFormat, ErrorSink) -> Option<Result<cpal::Stream, cpal::Error>>,
) -> Result<OpenStream, AudioError> {
    let (mut error_tx, errors) = rtrb::RingBuffer::new(16);
    let on_error: ErrorSink = Box::new(move |e: cpal::Error| {
        let _ = error_tx.push(e.kind());
    });
    let format = supported.sample_format();
    let stream = build(format, on_error)
        .unwrap_or_else(|| {
            Err(cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!("sample format {format} is not supported"),
            ))
        })
        .map_err(|e| open_failed(direction, &name, e))?;
    stream
        .play()
        .map_err(|e| open_failed(direction, &name, e))?;
    let config = supported.config();
    Ok(OpenStream {
        _stream: Running::Cpal(stream),
        name,
        rate_hz: config.sample_rate,
        channels: config.channels,
        errors,
        wakes_opener: false,
    })
}

/// Opens `device` for capture; mono samples at the device rate arrive in the returned ring.
pub fn open_input(
    device: &cpal::Device,
    counters: Arc<RtCounters>,
) -> Result<(OpenStream, rtrb::Consumer<f32>), AudioError> {
    let name = device_name(device);
    let supported = device
        .default_input_config()
        .map_err(|e| open_failed(Direction::Input, &name, e))?;
    let config = supported.config();
    // One second of backlog: the worker drains every few milliseconds.
    let (producer, consumer) = rtrb::RingBuffer::new(config.sample_rate as usize);
    let capture = Capture::new(producer, config.channels as usize, counters);
    let open = start_stream(Direction::Input, name, &supported, |format, on_error| {
        Some(match format {
            SampleFormat::F32 => build_input::<f32>(device, config, capture, on_error),
            SampleFormat::I16 => build_input::<i16>(device, config, capture, on_error),
            SampleFormat::I32 => build_input::<i32>(device, config, capture, on_error),
            SampleFormat::U16 => build_input::<u16>(device, config, capture, on_error),
            SampleFormat::U8 => build_input::<u8>(device, config, capture, on_error),
            _ => return None,
        })
    })?;
    Ok((open, consumer))
}

fn build_input<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut capture: Capture,
    on_error: ErrorSink,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _| capture.process(data),
        on_error,
        Some(OPEN_TIMEOUT),
    )
}

/// Opens `device` for playback; mono samples at the device rate pushed into the returned ring
/// are played on every channel. The ring starts with `prefill_ms` of silence.
pub fn open_output(
    device: &cpal::Device,
    counters: Arc<RtCounters>,
    prefill_ms: u32,
) -> Result<(OpenStream, rtrb::Producer<f32>), AudioError> {
    let name = device_name(device);
    let supported = device
        .default_output_config()
        .map_err(|e| open_failed(Direction::Output, &name, e))?;
    let config = supported.config();
    let (producer, consumer) = playback_ring(config.sample_rate, prefill_ms);
    let playback = Playback::new(consumer, config.channels as usize, counters);
    let open = start_stream(Direction::Output, name, &supported, |format, on_error| {
        Some(match format {
            SampleFormat::F32 => build_output::<f32>(device, config, playback, on_error),
            SampleFormat::I16 => build_output::<i16>(device, config, playback, on_error),
            SampleFormat::I32 => build_output::<i32>(device, config, playback, on_error),
            SampleFormat::U16 => build_output::<u16>(device, config, playback, on_error),
            SampleFormat::U8 => build_output::<u8>(device, config, playback, on_error),
            _ => return None,
        })
    })?;
    Ok((open, producer))
}

fn build_output<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut playback: Playback,
    on_error: ErrorSink,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _| playback.process(data),
        on_error,
        Some(OPEN_TIMEOUT),
    )
}

/// Whether the default devices go through the PulseAudio client library (Linux, unless
/// `PALABRE_AUDIO=alsa` asks for cpal's ALSA path, to compare the two).
#[cfg(target_os = "linux")]
fn pulse_wanted() -> bool {
    std::env::var("PALABRE_AUDIO").map_or(true, |v| v != "alsa")
}

/// Whether a choice goes to the PulseAudio server's default device: the system default, and
/// ALSA's `default` and `pulse` devices, which lead there when a server answers.
#[cfg(target_os = "linux")]
fn to_pulse(wanted: Option<&str>) -> bool {
    matches!(wanted, None | Some("alsa:default" | "alsa:pulse")) && pulse_wanted()
}

/// Opens the chosen microphone (`None`: the default one); mono samples at the device rate arrive
/// in the returned ring. The default one goes through the PulseAudio server where one answers
/// (see `pulse`), and then wakes the calling thread for each fragment (20 ms) it captures
/// ([`OpenStream::wakes_opener`]); otherwise it goes through cpal.
pub fn open_input_choice(
    wanted: Option<&str>,
    counters: Arc<RtCounters>,
) -> Result<(OpenStream, rtrb::Consumer<f32>), AudioError> {
    #[cfg(target_os = "linux")]
    if to_pulse(wanted) {
        let (producer, consumer) = rtrb::RingBuffer::new(crate::audio::SAMPLE_RATE as usize);
        let capture = Capture::new(producer, 1, counters.clone());
        if let Some(open) = open_pulse(Direction::Input, |on_error| {
            crate::audio::pulse::open_input(capture, std::thread::current(), on_error, OPEN_TIMEOUT)
        }) {
            return Ok((open, consumer));
        }
    }
    let device = find(Direction::Input, wanted)?;
    open_input(&device, counters)
}

/// Opens the chosen speakers (`None`: the default ones), as [`open_output`] does; the default
/// ones go through the PulseAudio server where one answers.
pub fn open_output_choice(
    wanted: Option<&str>,
    counters: Arc<RtCounters>,
    prefill_ms: u32,
) -> Result<(OpenStream, rtrb::Producer<f32>), AudioError> {
    #[cfg(target_os = "linux")]
    if to_pulse(wanted) {
        let (producer, consumer) = playback_ring(crate::audio::SAMPLE_RATE, prefill_ms);
        let playback = Playback::new(consumer, 1, counters.clone());
        if let Some(open) = open_pulse(Direction::Output, |on_error| {
            crate::audio::pulse::open_output(playback, on_error, OPEN_TIMEOUT)
        }) {
            return Ok((open, producer));
        }
    }
    let device = find(Direction::Output, wanted)?;
    open_output(&device, counters, prefill_ms)
}

/// One second of playback ring at `rate_hz`, starting with `prefill_ms` of silence.
fn playback_ring(rate_hz: u32, prefill_ms: u32) -> (rtrb::Producer<f32>, rtrb::Consumer<f32>) {
    let (mut producer, consumer) = rtrb::RingBuffer::new(rate_hz as usize);
    for _ in 0..(rate_hz as usize * prefill_ms as usize / 1000) {
        let _ = producer.push(0.0);
    }
    (producer, consumer)
}

/// Opens a PulseAudio stream with `open`, which gets where to report the stream's errors;
/// `None` (logged) when no server answers. The stream is named as the default device is in the
/// device list, and the way it goes.
#[cfg(target_os = "linux")]
fn open_pulse(
    direction: Direction,
    open: impl FnOnce(
        crate::audio::pulse::ErrorSink,
    ) -> Result<crate::audio::pulse::PulseStream, String>,
) -> Option<OpenStream> {
    let (mut error_tx, errors) = rtrb::RingBuffer::new(16);
    let on_error: crate::audio::pulse::ErrorSink = Box::new(move |kind| {
        let _ = error_tx.push(kind);
    });
    let stream = match open(on_error) {
        Ok(stream) => stream,
        Err(reason) => {
            tracing::debug!("PulseAudio {}: {reason}; trying ALSA", direction.word());
            return None;
        }
    };
    let name = match find(direction, None) {
        Ok(device) => format!("{} (PulseAudio)", device_name(&device)),
        Err(_) => "PulseAudio".to_owned(),
    };
    Some(OpenStream {
        _stream: Running::Pulse(stream),
        name,
        rate_hz: crate::audio::SAMPLE_RATE,
        channels: 1,
        errors,
        wakes_opener: direction == Direction::Input,
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_default_devices_go_to_the_pulseaudio_server_and_named_ones_to_alsa() {
        if std::env::var("PALABRE_AUDIO").is_ok_and(|v| v == "alsa") {
            assert!(!to_pulse(None));
            return;
        }
        assert!(to_pulse(None));
        assert!(to_pulse(Some("alsa:default")));
        assert!(to_pulse(Some("alsa:pulse")));
        assert!(!to_pulse(Some("alsa:hw:1,0")));
        assert!(!to_pulse(Some("alsa:null")));
    }
}
