//! Persisted settings: the only serialized types of palabre (an on-disk format).
//!
//! Stored as TOML (`settings.toml`) in the platform's config directory, or in the directory named
//! by the `PALABRE_CONFIG_DIR` environment variable. Written atomically (temporary file in the
//! same directory, flushed, synced, then renamed). A file that cannot be parsed is kept as a
//! backup next to it, reported in plain words, and replaced by defaults: never silently lost.
//!
//! **Architecture invariant:** changing these types changes an on-disk format. Add fields with
//! defaults (`#[serde(default)]`); bump [`SETTINGS_VERSION`] and migrate in [`Settings::load`]
//! when the meaning of an existing field changes.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Quality/bandwidth presets of the Opus encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Lowest bitrate that still sounds good: for poor or metered connections.
    Sober,
    /// The default.
    #[default]
    Standard,
    /// For music or demanding listeners.
    High,
}

/// How the microphone is opened to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransmitMode {
    /// The noise gate decides (voice activation).
    #[default]
    VoiceActivation,
    /// Only while the push-to-talk key is held.
    PushToTalk,
}

/// Settings of the send chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AudioSettings {
    /// Encoder preset.
    pub preset: Preset,
    /// Opus bitrate override in kbit/s (6–128); `None` uses the preset's.
    pub bitrate_kbps: Option<u32>,
    /// Opus frame duration override in ms (10, 20, 40, 60); `None` uses the preset's.
    pub frame_ms: Option<u32>,
    /// Noise suppression (RNNoise class).
    pub denoise: bool,
    /// Acoustic echo cancellation.
    pub echo_cancel: bool,
    /// Noise gate on or off (off: every frame is sent).
    pub gate: bool,
    /// Level above which the gate opens, in dBFS.
    pub gate_open_dbfs: f32,
    /// Level below which the open gate starts to close, in dBFS (lower than the open level).
    pub gate_close_dbfs: f32,
    /// Voice activation or push-to-talk.
    pub transmit: TransmitMode,
    /// Opus in-band forward error correction (a lost packet rebuilt from the next one).
    pub fec: bool,
    /// Opus discontinuous transmission (near-silent frames shrink to 1–2 bytes).
    pub dtx: bool,
}

impl Default for AudioSettings {
    fn default() -> Self {
        Self {
            preset: Preset::Standard,
            bitrate_kbps: None,
            frame_ms: None,
            denoise: true,
            echo_cancel: true,
            gate: true,
            gate_open_dbfs: -45.0,
            gate_close_dbfs: -52.0,
            transmit: TransmitMode::VoiceActivation,
            fec: true,
            dtx: true,
        }
    }
}

/// Lowest noise-gate open threshold the settings accept, in dBFS (the left end of the meter).
pub const GATE_MIN_DBFS: f32 = -60.0;
/// Highest noise-gate open threshold the settings accept, in dBFS (full scale).
pub const GATE_MAX_DBFS: f32 = 0.0;
/// Gap kept between the open and close thresholds when a close threshold must be corrected.
pub const GATE_DEFAULT_HYSTERESIS_DB: f32 = 7.0;
/// Opus bitrates the settings accept, in kbit/s.
pub const BITRATE_RANGE_KBPS: std::ops::RangeInclusive<u32> = 6..=128;
/// Opus frame durations the settings accept, in ms.
pub const FRAME_DURATIONS_MS: [u32; 4] = [10, 20, 40, 60];

impl AudioSettings {
    /// Brings every value back into its valid range: thresholds inside
    /// [`GATE_MIN_DBFS`]..=[`GATE_MAX_DBFS`], the close threshold below the open one, bitrate in
    /// [`BITRATE_RANGE_KBPS`], frame duration one of [`FRAME_DURATIONS_MS`] (otherwise the
    /// preset's). Returns whether anything changed.
    pub fn sanitize(&mut self) -> bool {
        let before = self.clone();
        let defaults = Self::default();
        if !self.gate_open_dbfs.is_finite() {
            self.gate_open_dbfs = defaults.gate_open_dbfs;
        }
        self.gate_open_dbfs = self.gate_open_dbfs.clamp(GATE_MIN_DBFS, GATE_MAX_DBFS);
        let floor = crate::audio::meter::SILENCE_DBFS;
        if !self.gate_close_dbfs.is_finite() || self.gate_close_dbfs >= self.gate_open_dbfs {
            self.gate_close_dbfs = self.gate_open_dbfs - GATE_DEFAULT_HYSTERESIS_DB;
        }
        self.gate_close_dbfs = self.gate_close_dbfs.max(floor);
        if let Some(kbps) = self.bitrate_kbps {
            self.bitrate_kbps =
                Some(kbps.clamp(*BITRATE_RANGE_KBPS.start(), *BITRATE_RANGE_KBPS.end()));
        }
        if let Some(ms) = self.frame_ms
            && !FRAME_DURATIONS_MS.contains(&ms)
        {
            self.frame_ms = None;
        }
        *self != before
    }

    /// Moves the gate's open threshold to `open_dbfs` (clamped) and the close threshold with it,
    /// keeping the gap between them.
    pub fn set_gate_open(&mut self, open_dbfs: f32) {
        let gap = (self.gate_open_dbfs - self.gate_close_dbfs).max(1.0);
        self.gate_open_dbfs = open_dbfs.clamp(GATE_MIN_DBFS, GATE_MAX_DBFS);
        self.gate_close_dbfs = self.gate_open_dbfs - gap;
        self.sanitize();
    }
}

/// The version of the settings file this build writes.
pub const SETTINGS_VERSION: u32 = 1;

/// The settings file's name inside the config directory.
pub const SETTINGS_FILE: &str = "settings.toml";

/// The environment variable that overrides the config directory (used by tests).
pub const CONFIG_DIR_ENV: &str = "PALABRE_CONFIG_DIR";

/// The language of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Follow the system's language (French if it is French, English otherwise).
    #[default]
    System,
    /// English.
    En,
    /// French.
    Fr,
}

/// The window's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the system's light or dark mode.
    #[default]
    System,
    /// Dark text on a light background.
    Light,
    /// Light text on a dark background.
    Dark,
}

/// Text sizes offered, in percent of the normal size (the whole window is scaled).
pub const TEXT_SIZES_PERCENT: [u32; 4] = [100, 125, 150, 200];
/// The text size of a new installation, in percent.
pub const DEFAULT_TEXT_SIZE_PERCENT: u32 = 100;
/// Keys that can be held to talk, by their egui names (`egui::Key::name`).
pub const PUSH_TO_TALK_KEYS: [&str; 13] = [
    "Space", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
];
/// The push-to-talk key of a new installation.
pub const DEFAULT_PUSH_TO_TALK_KEY: &str = "Space";
/// Keys that, pressed with Ctrl, mute or unmute the microphone in a call (egui names). An
/// empty name turns the shortcut off.
pub const MUTE_KEYS: [&str; 14] = [
    "M", "U", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12",
];
/// The mute key of a new installation (Ctrl+M).
pub const DEFAULT_MUTE_KEY: &str = "M";

/// `name` written as in `keys` (ignoring ASCII case), if it is one of them.
fn known_key(keys: &[&'static str], name: &str) -> Option<&'static str> {
    keys.iter()
        .copied()
        .find(|key| key.eq_ignore_ascii_case(name.trim()))
}

/// Everything palabre remembers between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Format version of the file ([`SETTINGS_VERSION`] when written by this build).
    pub version: u32,
    /// Language of the window.
    pub language: Language,
    /// Light, dark or the system's colours.
    pub theme: Theme,
    /// Size of the text (and of the whole window's contents), in percent: one of
    /// [`TEXT_SIZES_PERCENT`].
    pub text_size_percent: u32,
    /// The key held to talk in push-to-talk mode: one of [`PUSH_TO_TALK_KEYS`].
    pub push_to_talk_key: String,
    /// The key that, with Ctrl, mutes or unmutes the microphone in a call: one of
    /// [`MUTE_KEYS`], or empty for no shortcut.
    pub mute_key: String,
    /// Microphone (a [`crate::audio::device::DeviceInfo::id`]); `None` means the system default.
    pub input_device: Option<String>,
    /// Speakers (a [`crate::audio::device::DeviceInfo::id`]); `None` means the system default.
    pub output_device: Option<String>,
    /// The send chain.
    pub audio: AudioSettings,
    /// Your name in calls (asked before joining; remembered).
    pub display_name: String,
    /// Links the user marked as favourites (instances or rooms), in the order they were added.
    pub favourites: Vec<String>,
    /// Rooms joined lately, most recent first (at most [`MAX_RECENT_ROOMS`]).
    pub recent_rooms: Vec<String>,
    /// Servers the user added to the picker, in the order they were added (at most
    /// [`crate::directory::MAX_OWN_SERVERS`]); an entry this build cannot read is skipped.
    #[serde(deserialize_with = "crate::directory::lenient_own_servers")]
    pub own_servers: Vec<crate::directory::OwnServer>,
    /// Join Jitsi Meet calls without video (the default: sober). Changed before joining or in
    /// the call; Mumble has no video.
    pub audio_only: bool,
    /// The camera (a [`crate::video::camera::CameraInfo::id`], or `test-pattern`); `None` means
    /// the first camera found.
    pub camera: Option<String>,
}

/// How many recent rooms are remembered.
pub const MAX_RECENT_ROOMS: usize = 10;

impl Settings {
    /// Puts `link` first in the recent rooms (once), dropping the oldest beyond the limit.
    pub fn remember_room(&mut self, link: &str) {
        self.recent_rooms.retain(|room| room != link);
        self.recent_rooms.insert(0, link.to_owned());
        self.recent_rooms.truncate(MAX_RECENT_ROOMS);
    }

    /// Brings every value back into what this build offers: the audio settings (see
    /// [`AudioSettings::sanitize`]), the text size to the nearest of [`TEXT_SIZES_PERCENT`], and
    /// shortcut keys to their canonical names, or to their defaults when unknown. Returns
    /// whether anything changed.
    pub fn sanitize(&mut self) -> bool {
        let mut changed = self.audio.sanitize();
        if !TEXT_SIZES_PERCENT.contains(&self.text_size_percent) {
            let wanted = self.text_size_percent;
            self.text_size_percent = TEXT_SIZES_PERCENT
                .into_iter()
                .min_by_key(|size| size.abs_diff(wanted))
                .unwrap_or(DEFAULT_TEXT_SIZE_PERCENT);
            changed = true;
        }
        let push_to_talk = known_key(&PUSH_TO_TALK_KEYS, &self.push_to_talk_key)
            .unwrap_or(DEFAULT_PUSH_TO_TALK_KEY);
        if self.push_to_talk_key != push_to_talk {
            self.push_to_talk_key = push_to_talk.to_owned();
            changed = true;
        }
        let mute = if self.mute_key.trim().is_empty() {
            ""
        } else {
            known_key(&MUTE_KEYS, &self.mute_key).unwrap_or(DEFAULT_MUTE_KEY)
        };
        if self.mute_key != mute {
            self.mute_key = mute.to_owned();
            changed = true;
        }
        // Servers edited by hand into something palabre would not have added are dropped.
        let before = self.own_servers.clone();
        let mut kept = Vec::with_capacity(before.len().min(crate::directory::MAX_OWN_SERVERS));
        for server in std::mem::take(&mut self.own_servers) {
            let address = server.link();
            // Kept as palabre would have added it (a missing name becomes the host).
            if let Ok(checked) =
                crate::directory::OwnServer::new(&server.name, server.protocol, &address)
                && (checked.protocol, &checked.host) == (server.protocol, &server.host)
            {
                checked.add_to(&mut kept).ok();
            }
        }
        self.own_servers = kept;
        changed |= self.own_servers != before;
        changed
    }

    /// Adds `link` to the favourites, or removes it if it is there; returns whether it is a
    /// favourite now.
    pub fn toggle_favourite(&mut self, link: &str) -> bool {
        if let Some(position) = self.favourites.iter().position(|f| f == link) {
            self.favourites.remove(position);
            false
        } else {
            self.favourites.push(link.to_owned());
            true
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: SETTINGS_VERSION,
            language: Language::System,
            theme: Theme::System,
            text_size_percent: DEFAULT_TEXT_SIZE_PERCENT,
            push_to_talk_key: DEFAULT_PUSH_TO_TALK_KEY.to_owned(),
            mute_key: DEFAULT_MUTE_KEY.to_owned(),
            input_device: None,
            output_device: None,
            audio: AudioSettings::default(),
            display_name: String::new(),
            favourites: Vec::new(),
            recent_rooms: Vec::new(),
            own_servers: Vec::new(),
            audio_only: true,
            camera: None,
        }
    }
}

/// Where palabre keeps its settings: `$PALABRE_CONFIG_DIR` when set and not empty, otherwise the
/// platform's config directory (`~/.config/palabre` on Linux). `None` when there is no home
/// directory.
pub fn config_dir() -> Option<PathBuf> {
    config_dir_from(std::env::var_os(CONFIG_DIR_ENV))
}

/// [`config_dir`] with the environment variable's value given.
fn config_dir_from(env_override: Option<std::ffi::OsString>) -> Option<PathBuf> {
    if let Some(dir) = env_override
        && !dir.is_empty()
    {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("org", "palabre", "palabre")
        .map(|dirs| dirs.config_dir().to_path_buf())
}

/// The settings file inside `dir`.
pub fn settings_path(dir: &Path) -> PathBuf {
    dir.join(SETTINGS_FILE)
}

/// A settings file could not be used; palabre started with defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The settings file that could not be used.
    pub path: PathBuf,
    /// Why it could not be used (from the parser or the system).
    pub reason: String,
    /// Where the unusable file was kept, or why it could not be set aside.
    pub backup: Result<PathBuf, String>,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backup {
            Ok(backup) => write!(
                f,
                "The settings file {} could not be read ({}). It was kept as {} and palabre \
                 started with default settings.",
                self.path.display(),
                self.reason,
                backup.display()
            ),
            Err(why) => write!(
                f,
                "The settings file {} could not be read ({}) and could not be set aside ({}). \
                 palabre started with default settings; saving them will replace that file.",
                self.path.display(),
                self.reason,
                why
            ),
        }
    }
}

/// Saving the settings (or another file of the config directory) failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config directory could not be created.
    #[error("the folder {path} could not be created: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The settings could not be turned into TOML.
    #[error("the settings could not be written as TOML: {0}")]
    Serialize(#[from] toml::ser::Error),
    /// The temporary file could not be created, written or synced.
    #[error("the file {path} could not be written: {source}")]
    Write {
        /// The temporary file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The temporary file could not replace the target file.
    #[error("the file {from} could not be renamed to {to}: {source}")]
    Rename {
        /// The temporary file.
        from: PathBuf,
        /// The target file.
        to: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
}

impl ConfigError {
    /// The failure in the window's words (the `Display` sentence is the command line's).
    pub fn phrase(&self) -> crate::i18n::Phrase {
        use crate::i18n::Phrase;
        let shown = |path: &Path| path.display().to_string().into();
        match self {
            ConfigError::CreateDir { path, source } => Phrase::tr_args(
                "config-create-dir-failed",
                vec![("path", shown(path)), ("reason", source.to_string().into())],
            ),
            ConfigError::Serialize(error) => Phrase::tr_args(
                "config-serialize-failed",
                vec![("reason", error.to_string().into())],
            ),
            ConfigError::Write { path, source } => Phrase::tr_args(
                "config-write-failed",
                vec![("path", shown(path)), ("reason", source.to_string().into())],
            ),
            ConfigError::Rename { from, to, source } => Phrase::tr_args(
                "config-rename-failed",
                vec![
                    ("from", shown(from)),
                    ("to", shown(to)),
                    ("reason", source.to_string().into()),
                ],
            ),
        }
    }
}

impl Settings {
    /// Reads the settings from `dir`. A missing file gives the defaults. A file that cannot be
    /// read or parsed is renamed to `settings.toml.corrupt-<unix time>` (kept, never deleted),
    /// the defaults are returned, and the warning says so in plain words. Out-of-range values
    /// are corrected (see [`Settings::sanitize`]).
    pub fn load(dir: &Path) -> (Settings, Option<ConfigWarning>) {
        let path = settings_path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Settings::default(), None);
            }
            Err(e) => return (Settings::default(), Some(set_aside(&path, e.to_string()))),
        };
        let parsed = String::from_utf8(bytes)
            .map_err(|_| "the file is not UTF-8 text".to_owned())
            .and_then(|text| {
                toml::from_str::<Settings>(&text).map_err(|e| describe_toml_error(&text, &e))
            });
        match parsed {
            Ok(mut settings) => {
                if settings.version > SETTINGS_VERSION {
                    tracing::warn!(
                        file_version = settings.version,
                        "settings written by a newer palabre; unknown keys are ignored"
                    );
                }
                settings.version = SETTINGS_VERSION;
                if settings.sanitize() {
                    tracing::info!("out-of-range settings were corrected");
                }
                (settings, None)
            }
            Err(reason) => (Settings::default(), Some(set_aside(&path, reason))),
        }
    }

    /// Writes the settings to `dir` atomically (see [`write_atomically`]): a temporary file in
    /// the same directory is written and synced, then renamed over `settings.toml`. Creates `dir`
    /// if needed. On failure the previous file is untouched and no temporary file is left behind.
    pub fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self)?;
        write_atomically(dir, SETTINGS_FILE, text.as_bytes())
    }
}

/// Writes `bytes` to `dir/file_name` atomically: creates `dir` if needed, writes a temporary file
/// (created new, in the same directory), syncs it, renames it over `file_name`, then syncs the
/// directory. On failure the previous file is untouched and no temporary file is left behind.
pub fn write_atomically(dir: &Path, file_name: &str, bytes: &[u8]) -> Result<(), ConfigError> {
    write_atomically_with(dir, file_name, bytes, false)
}

/// [`write_atomically`] for secrets: on unix the file is readable and writable by its owner only
/// (mode 0600), and the temporary file has that mode from its creation, before anything is
/// written to it. On other systems it is the same as [`write_atomically`].
pub fn write_private_atomically(
    dir: &Path,
    file_name: &str,
    bytes: &[u8],
) -> Result<(), ConfigError> {
    write_atomically_with(dir, file_name, bytes, true)
}

/// [`write_atomically`], with the file made private to its owner when `private` is set.
fn write_atomically_with(
    dir: &Path,
    file_name: &str,
    bytes: &[u8],
    private: bool,
) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let target = dir.join(file_name);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.tmp-{}-{nanos}", std::process::id()));
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        #[cfg(unix)]
        if private {
            // The creation mode is filtered by the umask; this makes it exactly 0600.
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        #[cfg(not(unix))]
        let _ = private;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(source) = written {
        std::fs::remove_file(&temp).ok();
        return Err(ConfigError::Write { path: temp, source });
    }
    if let Err(source) = std::fs::rename(&temp, &target) {
        std::fs::remove_file(&temp).ok();
        return Err(ConfigError::Rename {
            from: temp,
            to: target,
            source,
        });
    }
    sync_dir(dir);
    Ok(())
}

/// Makes a rename inside `dir` durable. The rename is already done, so a failure here is not an
/// error; directories cannot be opened this way on Windows.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    {
        if let Ok(handle) = std::fs::File::open(dir) {
            handle.sync_all().ok();
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
    }
}

/// The parser's message with the line it refers to, on one line.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim();
    match error.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            format!("line {line}: {message}")
        }
        None => message.to_owned(),
    }
}

/// Renames an unusable settings file out of the way and describes what happened.
fn set_aside(path: &Path, reason: String) -> ConfigWarning {
    // Not logged here: the caller shows or logs the warning (each error is handled once).
    ConfigWarning {
        path: path.to_path_buf(),
        reason,
        backup: set_aside_corrupt(path).map_err(|e| e.to_string()),
    }
}

/// Renames an unusable file to `<name>.corrupt-<unix time>` next to it (never deleted, never
/// overwriting an earlier backup) and returns the new path.
pub fn set_aside_corrupt(path: &Path) -> Result<PathBuf, std::io::Error> {
    let backup = unused_sibling(path, "corrupt");
    std::fs::rename(path, &backup)?;
    Ok(backup)
}

/// `<path>.<label>-<unix time>`, or `<path>.<label>-<unix time>-<n>` when that exists already.
pub fn unused_sibling(path: &Path, label: &str) -> PathBuf {
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut backup = path.as_os_str().to_owned();
    backup.push(format!(".{label}-{unix_time}"));
    let mut backup = PathBuf::from(backup);
    // Two failures within the same second must not overwrite the first backup.
    let mut n = 1;
    while backup.exists() {
        let mut next = path.as_os_str().to_owned();
        next.push(format!(".{label}-{unix_time}-{n}"));
        backup = PathBuf::from(next);
        n += 1;
    }
    backup
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_save_is_said_in_both_languages() {
        use crate::i18n::I18n;
        let dir = tempfile::tempdir().expect("temp dir");
        let blocked = dir.path().join("a-file");
        std::fs::write(&blocked, b"not a folder").expect("file");
        let error = Settings::default()
            .save(&blocked.join("inside"))
            .expect_err("a file is in the way");
        let phrase = error.phrase();
        assert_eq!(phrase.to_string(), error.to_string());
        let french = I18n::new(Language::Fr).say(&phrase);
        assert!(french.starts_with("le dossier "), "{french}");
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("the test directory is readable")
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn missing_file_gives_defaults_without_warning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (settings, warning) = Settings::load(dir.path());
        assert_eq!(settings, Settings::default());
        assert!(warning.is_none());
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings {
            version: SETTINGS_VERSION,
            language: Language::Fr,
            theme: Theme::Dark,
            text_size_percent: 150,
            push_to_talk_key: "F5".into(),
            mute_key: String::new(),
            input_device: Some("alsa:hw:1,0".into()),
            output_device: None,
            audio: AudioSettings {
                preset: Preset::High,
                bitrate_kbps: Some(64),
                frame_ms: Some(40),
                denoise: false,
                echo_cancel: false,
                gate: false,
                gate_open_dbfs: -30.5,
                gate_close_dbfs: -38.0,
                transmit: TransmitMode::PushToTalk,
                fec: false,
                dtx: false,
            },
            display_name: "Anaïs".into(),
            favourites: vec!["mumble://example.org".into()],
            recent_rooms: vec!["https://meet.example.org/standup".into()],
            own_servers: vec![
                crate::directory::OwnServer::new(
                    "Club",
                    crate::directory::Protocol::Mumble,
                    "voice.example.org:6000",
                )
                .expect("a host"),
                crate::directory::OwnServer::new(
                    "",
                    crate::directory::Protocol::Jitsi,
                    "meet.example.net",
                )
                .expect("a host"),
            ],
            audio_only: false,
            camera: Some("test-pattern".into()),
        };
        settings.save(dir.path()).expect("save");
        let (loaded, warning) = Settings::load(dir.path());
        assert!(warning.is_none(), "{warning:?}");
        assert_eq!(loaded, settings);
    }

    #[test]
    fn own_servers_edited_into_nonsense_are_dropped_on_load() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = r#"
[[own_servers]]
name = "Fine"
protocol = "mumble"
host = "voice.example.org"

[[own_servers]]
name = "Spaces"
protocol = "jitsi"
host = "not a host"

[[own_servers]]
name = "Again"
protocol = "mumble"
host = "voice.example.org"

[[own_servers]]
name = "From a newer palabre"
protocol = "matrix"
host = "chat.example.org"

[[own_servers]]
protocol = "jitsi"
host = "meet.example.net"
"#;
        std::fs::write(dir.path().join(SETTINGS_FILE), text).expect("written");
        let (loaded, warning) = Settings::load(dir.path());
        assert!(warning.is_none(), "{warning:?}");
        // The unknown protocol is skipped, not the whole file; a missing name is the host's.
        assert_eq!(loaded.own_servers.len(), 2, "{:?}", loaded.own_servers);
        assert_eq!(loaded.own_servers[0].name, "Fine");
        assert_eq!(loaded.own_servers[1].name, "meet.example.net");
    }

    #[test]
    fn save_creates_the_directory_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let nested = dir.path().join("a").join("b");
        Settings::default().save(&nested).expect("first save");
        let changed = Settings {
            language: Language::En,
            ..Settings::default()
        };
        changed.save(&nested).expect("second save");
        assert_eq!(entries(&nested), vec![SETTINGS_FILE.to_owned()]);
        assert_eq!(Settings::load(&nested).0, changed);
    }

    #[test]
    fn failed_save_keeps_the_old_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        Settings::default().save(dir.path()).expect("save");
        let before = std::fs::read(settings_path(dir.path())).expect("read");
        // A directory where the file should go makes the rename fail.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(settings_path(&blocked)).expect("mkdir");
        let err = Settings::default()
            .save(&blocked)
            .expect_err("rename onto a directory");
        assert!(matches!(err, ConfigError::Rename { .. }), "{err}");
        assert_eq!(entries(&blocked), vec![SETTINGS_FILE.to_owned()]);
        assert_eq!(
            std::fs::read(settings_path(dir.path())).expect("read"),
            before
        );
    }

    #[test]
    fn corrupt_file_is_kept_as_backup_and_defaults_are_used() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = settings_path(dir.path());
        let garbage = "language = \"fr\"\n[audio\ngate_open_dbfs = ";
        std::fs::write(&path, garbage).expect("write");
        let (settings, warning) = Settings::load(dir.path());
        assert_eq!(settings, Settings::default());
        let warning = warning.expect("a warning");
        let backup = warning.backup.clone().expect("renamed");
        assert!(!path.exists(), "the corrupt file was moved away");
        assert_eq!(std::fs::read_to_string(&backup).expect("backup"), garbage);
        let name = backup
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with("settings.toml.corrupt-"), "{name}");
        let sentence = warning.to_string();
        assert!(sentence.contains(&path.display().to_string()), "{sentence}");
        assert!(
            sentence.contains(&backup.display().to_string()),
            "{sentence}"
        );
    }

    #[test]
    fn wrong_types_and_non_utf8_are_corrupt_too() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = settings_path(dir.path());
        std::fs::write(&path, "[audio]\ngate_open_dbfs = \"loud\"\n").expect("write");
        let (_, warning) = Settings::load(dir.path());
        assert!(warning.expect("a warning").backup.is_ok());
        std::fs::write(&path, [0xff, 0xfe, 0x00, 0x41]).expect("write");
        let (settings, warning) = Settings::load(dir.path());
        assert_eq!(settings, Settings::default());
        assert!(warning.expect("a warning").backup.is_ok());
        // Both backups exist side by side.
        assert_eq!(entries(dir.path()).len(), 2, "{:?}", entries(dir.path()));
    }

    #[test]
    fn unknown_keys_and_partial_files_are_tolerated() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = "future_option = 3\nlanguage = \"fr\"\n\n[audio]\ndenoise = false\n\
                    colour = \"blue\"\n\n[video]\ncamera = \"x\"\n";
        std::fs::write(settings_path(dir.path()), text).expect("write");
        let (settings, warning) = Settings::load(dir.path());
        assert!(warning.is_none(), "{warning:?}");
        assert_eq!(settings.language, Language::Fr);
        assert!(!settings.audio.denoise);
        assert_eq!(
            settings.audio.gate_open_dbfs,
            AudioSettings::default().gate_open_dbfs
        );
        assert_eq!(settings.version, SETTINGS_VERSION);
        assert_eq!(settings.input_device, None);
    }

    #[test]
    fn out_of_range_values_are_corrected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = "[audio]\ngate_open_dbfs = -40.0\ngate_close_dbfs = -20.0\n\
                    bitrate_kbps = 4000\nframe_ms = 25\n";
        std::fs::write(settings_path(dir.path()), text).expect("write");
        let (settings, warning) = Settings::load(dir.path());
        assert!(warning.is_none());
        let audio = settings.audio;
        assert_eq!(audio.gate_open_dbfs, -40.0);
        assert!(audio.gate_close_dbfs < audio.gate_open_dbfs, "{audio:?}");
        assert_eq!(audio.gate_close_dbfs, -40.0 - GATE_DEFAULT_HYSTERESIS_DB);
        assert_eq!(audio.bitrate_kbps, Some(128));
        assert_eq!(audio.frame_ms, None);

        let mut audio = AudioSettings {
            gate_open_dbfs: 12.0,
            gate_close_dbfs: f32::NAN,
            ..AudioSettings::default()
        };
        assert!(audio.sanitize());
        assert_eq!(audio.gate_open_dbfs, GATE_MAX_DBFS);
        assert!(audio.gate_close_dbfs < GATE_MAX_DBFS);
        let mut audio = AudioSettings {
            gate_open_dbfs: -200.0,
            gate_close_dbfs: -300.0,
            ..AudioSettings::default()
        };
        audio.sanitize();
        assert_eq!(audio.gate_open_dbfs, GATE_MIN_DBFS);
        assert_eq!(audio.gate_close_dbfs, crate::audio::meter::SILENCE_DBFS);
        assert!(!AudioSettings::default().sanitize(), "defaults are valid");
    }

    #[test]
    fn unknown_shortcuts_and_text_sizes_are_corrected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = "theme = \"dark\"\ntext_size_percent = 180\npush_to_talk_key = \"Hyper\"\n\
                    mute_key = \"Banana\"\n";
        std::fs::write(settings_path(dir.path()), text).expect("write");
        let (settings, warning) = Settings::load(dir.path());
        assert!(warning.is_none(), "{warning:?}");
        assert_eq!(settings.theme, Theme::Dark);
        assert_eq!(settings.text_size_percent, 200);
        assert_eq!(settings.push_to_talk_key, DEFAULT_PUSH_TO_TALK_KEY);
        assert_eq!(settings.mute_key, DEFAULT_MUTE_KEY);

        let mut settings = Settings {
            text_size_percent: 0,
            push_to_talk_key: " f3 ".into(),
            mute_key: "u".into(),
            ..Settings::default()
        };
        assert!(settings.sanitize());
        assert_eq!(settings.text_size_percent, 100);
        assert_eq!(settings.push_to_talk_key, "F3");
        assert_eq!(settings.mute_key, "U");
        // An empty mute key means "no shortcut" and is kept.
        let mut settings = Settings {
            mute_key: String::new(),
            ..Settings::default()
        };
        assert!(!settings.sanitize());
        assert!(!Settings::default().sanitize(), "defaults are valid");
        // A file from before these settings existed gets the defaults.
        std::fs::write(settings_path(dir.path()), "language = \"en\"\n").expect("write");
        let (settings, _) = Settings::load(dir.path());
        assert_eq!(settings.theme, Theme::System);
        assert_eq!(settings.text_size_percent, DEFAULT_TEXT_SIZE_PERCENT);
        assert_eq!(settings.push_to_talk_key, "Space");
        assert_eq!(settings.mute_key, "M");
    }

    #[test]
    fn moving_the_open_threshold_keeps_the_gap() {
        let mut audio = AudioSettings::default();
        let gap = audio.gate_open_dbfs - audio.gate_close_dbfs;
        audio.set_gate_open(-30.0);
        assert_eq!(audio.gate_open_dbfs, -30.0);
        assert_eq!(audio.gate_open_dbfs - audio.gate_close_dbfs, gap);
        audio.set_gate_open(5.0);
        assert_eq!(audio.gate_open_dbfs, GATE_MAX_DBFS);
    }

    #[test]
    fn config_dir_env_override() {
        let over = config_dir_from(Some("/tmp/palabre-test".into()));
        assert_eq!(over, Some(PathBuf::from("/tmp/palabre-test")));
        // An empty variable is ignored, as if unset.
        assert_eq!(config_dir_from(Some("".into())), config_dir_from(None));
    }

    #[test]
    fn recent_rooms_and_favourites() {
        let mut settings = Settings::default();
        for i in 0..12 {
            settings.remember_room(&format!("mumble://host{i}"));
        }
        settings.remember_room("mumble://host5");
        assert_eq!(settings.recent_rooms.len(), MAX_RECENT_ROOMS);
        assert_eq!(settings.recent_rooms[0], "mumble://host5");
        assert_eq!(
            settings
                .recent_rooms
                .iter()
                .filter(|r| *r == "mumble://host5")
                .count(),
            1
        );
        assert!(settings.toggle_favourite("mumble://a"));
        assert!(settings.toggle_favourite("mumble://b"));
        assert!(!settings.toggle_favourite("mumble://a"));
        assert_eq!(settings.favourites, ["mumble://b"]);
    }
}
