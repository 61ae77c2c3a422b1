//! Where palabre's video comes from: a camera (nokhwa: V4L2, AVFoundation, Media Foundation)
//! or a moving test pattern. Capture runs on a thread of its own and hands I420 pictures of at
//! most [`SEND_WIDTH`]×[`SEND_HEIGHT`] to a callback, [`SEND_FPS`] times a second at most.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{I420, SEND_FPS, SEND_HEIGHT, SEND_WIDTH, TestPattern};
use crate::i18n::Phrase;

/// The name of the test pattern in settings and on the command line.
pub const TEST_PATTERN: &str = "test-pattern";

/// A camera the system knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// What identifies it in settings (nokhwa's index, as text).
    pub id: String,
    /// The name shown.
    pub name: String,
}

/// Where pictures come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The moving test pattern.
    TestPattern,
    /// The system's first camera.
    Default,
    /// A camera by its id ([`CameraInfo::id`]).
    Device(String),
}

impl Source {
    /// From a setting or an option: `test-pattern`, empty for the default camera, else an id.
    pub fn parse(text: &str) -> Source {
        match text.trim() {
            "" => Source::Default,
            TEST_PATTERN => Source::TestPattern,
            id => Source::Device(id.to_owned()),
        }
    }
}

/// What the capture thread reports.
#[derive(Debug)]
pub enum CameraEvent {
    /// A picture.
    Frame(I420),
    /// The capture stopped; the phrase says why.
    Failed(Phrase),
}

/// A failure with what the system said.
#[cfg(feature = "video")]
fn failed(id: &'static str, error: &dyn std::fmt::Display) -> Phrase {
    Phrase::tr_args(id, vec![("error", error.to_string().into())])
}

/// Lists the system's cameras (device I/O: not on the window's thread).
pub fn list() -> Result<Vec<CameraInfo>, Phrase> {
    imp::list()
}

/// A running capture; dropping it stops the thread (without waiting for it).
#[derive(Debug)]
pub struct Capture {
    stop: Arc<AtomicBool>,
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts capturing from `source`; `on_event` gets each picture and, at the end, a failure.
pub fn start(
    source: Source,
    on_event: impl FnMut(CameraEvent) + Send + 'static,
) -> std::io::Result<Capture> {
    start_with(source, Arc::new(AtomicBool::new(false)), on_event)
}

/// [`start`], stopped when `stop` is set (by the callback too, which may give up).
pub fn start_with(
    source: Source,
    stop: Arc<AtomicBool>,
    mut on_event: impl FnMut(CameraEvent) + Send + 'static,
) -> std::io::Result<Capture> {
    let thread_stop = stop.clone();
    std::thread::Builder::new()
        .name("palabre-camera".to_owned())
        .spawn(move || {
            let result = match source {
                Source::TestPattern => run_pattern(&thread_stop, &mut on_event),
                device => imp::run(device, &thread_stop, &mut on_event),
            };
            if let Err(sentence) = result {
                on_event(CameraEvent::Failed(sentence));
            }
        })?;
    Ok(Capture { stop })
}

fn run_pattern(stop: &AtomicBool, on_event: &mut dyn FnMut(CameraEvent)) -> Result<(), Phrase> {
    let mut pattern = TestPattern::new(SEND_WIDTH, SEND_HEIGHT);
    let period = Duration::from_secs(1) / SEND_FPS;
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        on_event(CameraEvent::Frame(pattern.next_frame()));
        next += period;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    Ok(())
}

#[cfg(feature = "video")]
mod imp {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use nokhwa::Camera;
    use nokhwa::pixel_format::YuyvFormat;
    use nokhwa::utils::{
        ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    };

    use super::{CameraEvent, CameraInfo, Source, failed};
    use crate::i18n::Phrase;
    use crate::video::{I420, SEND_FPS, SEND_HEIGHT, SEND_WIDTH};

    pub fn list() -> Result<Vec<CameraInfo>, Phrase> {
        let cameras = nokhwa::query(ApiBackend::Auto)
            .map_err(|error| failed("camera-list-failed", &error))?;
        Ok(cameras
            .into_iter()
            .map(|info| CameraInfo {
                id: info.index().to_string(),
                name: info.human_name(),
            })
            .collect())
    }

    pub fn run(
        source: Source,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(CameraEvent),
    ) -> Result<(), Phrase> {
        let index = match source {
            Source::Device(id) => match id.parse::<u32>() {
                Ok(number) => CameraIndex::Index(number),
                Err(_) => CameraIndex::String(id),
            },
            _ => {
                let cameras = list()?;
                let first = cameras.first().ok_or(Phrase::tr("camera-none"))?;
                match first.id.parse::<u32>() {
                    Ok(number) => CameraIndex::Index(number),
                    Err(_) => CameraIndex::String(first.id.clone()),
                }
            }
        };
        let wanted = CameraFormat::new_from(SEND_WIDTH, SEND_HEIGHT, FrameFormat::YUYV, SEND_FPS);
        let format = RequestedFormat::new::<YuyvFormat>(RequestedFormatType::Closest(wanted));
        let mut camera =
            Camera::new(index, format).map_err(|error| failed("camera-open-failed", &error))?;
        camera
            .open_stream()
            .map_err(|error| failed("camera-start-failed", &error))?;
        let period = Duration::from_secs(1) / SEND_FPS;
        let mut last: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) {
            let buffer = camera
                .frame()
                .map_err(|error| failed("camera-stopped", &error))?;
            // Stopped while waiting for this frame: it is not given out.
            if stop.load(Ordering::Relaxed) {
                break;
            }
            // A camera faster than SEND_FPS: frames in between are skipped.
            if last.is_some_and(|at| at.elapsed() < period.mul_f32(0.8)) {
                continue;
            }
            last = Some(Instant::now());
            let size = buffer.resolution();
            let (width, height) = (size.width(), size.height());
            let data = buffer.buffer();
            let picture = match buffer.source_frame_format() {
                FrameFormat::YUYV => I420::from_yuyv(width, height, data),
                FrameFormat::NV12 => I420::from_nv12(width, height, data),
                FrameFormat::RAWRGB => I420::from_rgb(width, height, data),
                FrameFormat::GRAY => {
                    let rgb: Vec<u8> = data.iter().flat_map(|&l| [l, l, l]).collect();
                    I420::from_rgb(width, height, &rgb)
                }
                other => {
                    return Err(Phrase::tr_args(
                        "camera-format-unreadable",
                        vec![("format", other.to_string().into())],
                    ));
                }
            };
            let Some(picture) = picture else {
                continue; // a short buffer: skipped
            };
            on_event(CameraEvent::Frame(picture.fit(SEND_WIDTH, SEND_HEIGHT)));
        }
        camera.stop_stream().ok();
        Ok(())
    }
}

#[cfg(not(feature = "video"))]
mod imp {
    use std::sync::atomic::AtomicBool;

    use super::{CameraEvent, CameraInfo, Source};
    use crate::i18n::Phrase;

    pub fn list() -> Result<Vec<CameraInfo>, Phrase> {
        Ok(Vec::new())
    }

    pub fn run(_: Source, _: &AtomicBool, _: &mut dyn FnMut(CameraEvent)) -> Result<(), Phrase> {
        Err(Phrase::tr("video-not-built"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_read_from_settings() {
        assert_eq!(Source::parse(""), Source::Default);
        assert_eq!(Source::parse("test-pattern"), Source::TestPattern);
        assert_eq!(Source::parse("2"), Source::Device("2".to_owned()));
    }

    #[test]
    fn the_test_pattern_runs_at_its_rate_and_stops() {
        let (tx, rx) = std::sync::mpsc::channel();
        let capture = start(Source::TestPattern, move |event| {
            if let CameraEvent::Frame(picture) = event {
                tx.send((picture.width, picture.height)).ok();
            }
        })
        .expect("thread");
        let first = rx.recv_timeout(Duration::from_secs(5)).expect("a frame");
        assert_eq!(first, (SEND_WIDTH, SEND_HEIGHT));
        rx.recv_timeout(Duration::from_secs(5))
            .expect("another frame");
        drop(capture);
        // The thread notices within a frame and ends: the channel closes.
        let deadline = Instant::now() + Duration::from_secs(5);
        while rx.recv_timeout(Duration::from_millis(200)).is_ok() {
            assert!(Instant::now() < deadline, "still capturing after the stop");
        }
    }

    #[test]
    fn listing_cameras_answers_without_a_camera() {
        // This machine may have none: the list is then empty, or a sentence, never a panic.
        match list() {
            Ok(cameras) => assert!(
                cameras
                    .iter()
                    .all(|c| !c.name.is_empty() || !c.id.is_empty())
            ),
            Err(sentence) => assert!(sentence.to_string().ends_with('.')),
        }
    }

    #[test]
    fn a_missing_camera_is_said_in_words() {
        let (tx, rx) = std::sync::mpsc::channel();
        let _capture = start(Source::Device("97".to_owned()), move |event| {
            if let CameraEvent::Failed(sentence) = event {
                tx.send(sentence).ok();
            }
        })
        .expect("thread");
        let phrase = rx.recv_timeout(Duration::from_secs(10)).expect("a failure");
        let sentence = phrase.to_string();
        assert!(
            sentence.starts_with("The camera") || sentence.starts_with("This build"),
            "{sentence}"
        );
        // And in French, in French.
        let french = crate::i18n::I18n::new(crate::config::Language::Fr).say(&phrase);
        assert!(
            french.starts_with("La caméra") || french.starts_with("Cette version"),
            "{french}"
        );
    }
}
