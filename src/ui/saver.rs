//! Writes the settings on a thread of its own, so the window never waits for the disk (an
//! atomic write syncs the file and its folder, which can take long on a busy or network disk).
//!
//! The window hands over a copy of the settings each time they change; the thread writes the
//! newest one it has (copies that arrived meanwhile are skipped: only the last matters), then
//! reports how it went and wakes the window. Dropping the [`SettingsSaver`] waits for the last
//! copy to be written: the window does that as it closes, when waiting no longer freezes it.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use crate::config::Settings;
use crate::i18n::Phrase;

/// The writer thread and the channels to it.
pub struct SettingsSaver {
    to_thread: Option<Sender<Settings>>,
    results: Receiver<Result<(), Phrase>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SettingsSaver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsSaver").finish_non_exhaustive()
    }
}

impl SettingsSaver {
    /// Starts the thread that writes settings into `dir`; `wake` is called after each write.
    pub fn start(dir: PathBuf, wake: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let (to_thread, copies) = channel::<Settings>();
        let (report, results) = channel();
        let thread = std::thread::Builder::new()
            .name("palabre-settings".into())
            .spawn(move || {
                while let Ok(mut newest) = copies.recv() {
                    // Only the newest copy matters.
                    while let Ok(newer) = copies.try_recv() {
                        newest = newer;
                    }
                    let result = newest.save(&dir).map_err(|error| {
                        tracing::warn!("the settings could not be saved: {error}");
                        error.phrase()
                    });
                    if report.send(result).is_err() {
                        // The window is gone; whatever is still queued is written next round.
                        continue;
                    }
                    wake();
                }
            })?;
        Ok(Self {
            to_thread: Some(to_thread),
            results,
            thread: Some(thread),
        })
    }

    /// Hands over these settings to be written (the window does not wait).
    pub fn save(&self, settings: &Settings) {
        if let Some(to_thread) = &self.to_thread {
            to_thread.send(settings.clone()).ok();
        }
    }

    /// How the writes since the last call went: `None` if none ended, else the last one's
    /// result (`Ok` once a write succeeded again after a failure).
    pub fn last_result(&self) -> Option<Result<(), Phrase>> {
        self.results.try_iter().last()
    }
}

impl Drop for SettingsSaver {
    /// Waits until the last settings handed over are written.
    fn drop(&mut self) {
        self.to_thread = None;
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;
    use crate::config::Language;

    fn wait_for(saver: &SettingsSaver) -> Result<(), Phrase> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(result) = saver.last_result() {
                return result;
            }
            assert!(Instant::now() < deadline, "no write reported");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn the_newest_settings_are_written_and_the_window_is_woken() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let wakes = Arc::new(AtomicUsize::new(0));
        let counted = wakes.clone();
        let saver = SettingsSaver::start(dir.path().to_owned(), move || {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .expect("thread");
        let mut settings = Settings {
            display_name: "first".into(),
            ..Settings::default()
        };
        saver.save(&settings);
        assert_eq!(wait_for(&saver), Ok(()));
        // The window is woken just after the result is posted.
        let deadline = Instant::now() + Duration::from_secs(10);
        while wakes.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the window was not woken");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(Settings::load(dir.path()).0.display_name, "first");

        // Many changes in a row: the last one is on disk once the saver is dropped (the window
        // closing).
        for i in 0..50 {
            settings.display_name = format!("name {i}");
            settings.language = if i % 2 == 0 {
                Language::Fr
            } else {
                Language::En
            };
            saver.save(&settings);
        }
        drop(saver);
        let (loaded, warning) = Settings::load(dir.path());
        assert!(warning.is_none());
        assert_eq!(loaded.display_name, "name 49");
        assert_eq!(loaded.language, Language::En);
    }

    #[test]
    fn a_failed_write_is_reported_and_a_later_success_clears_it() {
        let dir = tempfile::tempdir().expect("temporary folder");
        // The settings folder is a file: nothing can be written into it.
        let blocked = dir.path().join("settings-folder");
        std::fs::write(&blocked, b"not a folder").expect("file");
        let saver = SettingsSaver::start(blocked.clone(), || {}).expect("thread");
        saver.save(&Settings::default());
        let error = wait_for(&saver).expect_err("the write fails");
        assert!(error.to_string().contains("could not be"), "{error}");
        std::fs::remove_file(&blocked).expect("file removed");
        saver.save(&Settings::default());
        assert_eq!(wait_for(&saver), Ok(()));
        assert!(blocked.join("settings.toml").is_file());
    }
}
