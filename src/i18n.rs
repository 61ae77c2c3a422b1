//! The window's words in the user's language (Fluent).
//!
//! The `.ftl` files under `i18n/` are compiled into the binary with `include_str!`. English is
//! the reference: a key missing from the chosen language falls back to English, then to the key
//! itself, and each such miss is logged once. Bidi isolation marks are off
//! (`set_use_isolating(false)`), so translated strings can be matched exactly (tests, AccessKit).
//! `tests/i18n.rs` checks that both files have the same keys, that every message formats, and
//! that every key used in `src/` exists.
//!
//! Only the window is translated; the command line speaks English. Parts that know no language
//! (drivers, adapters) say what they have to say as a [`Phrase`]: a message id and its
//! variables, put into words where it is shown.

use std::cell::RefCell;
use std::collections::HashSet;

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource};
use unic_langid::{LanguageIdentifier, langid};

use crate::audio::AudioError;
use crate::config::{ConfigWarning, Language};

pub use fluent_bundle::FluentValue;

/// The English strings (the reference locale).
pub const EN_FTL: &str = include_str!("../i18n/en/palabre.ftl");
/// The French strings.
pub const FR_FTL: &str = include_str!("../i18n/fr/palabre.ftl");

/// The language to use for `locale`, a system locale name such as `fr-FR`, `fr_CA.UTF-8` or
/// `en-US`: French for any French locale, English otherwise.
pub fn language_for_locale(locale: Option<&str>) -> Language {
    let primary = locale
        .and_then(|l| l.split(['-', '_', '.', '@']).next())
        .map(str::to_ascii_lowercase);
    match primary.as_deref() {
        Some("fr") => Language::Fr,
        _ => Language::En,
    }
}

/// Turns [`Language::System`] into the concrete language the system asks for.
pub fn resolve_language(language: Language) -> Language {
    match language {
        Language::System => language_for_locale(sys_locale::get_locale().as_deref()),
        concrete => concrete,
    }
}

/// Something palabre tells the user, from a part that knows no language (a network driver, a
/// conference adapter): a message of the Fluent files with its variables, put into words where
/// it is shown ([`I18n::say`]: the window in the user's language; `Display`, the command line,
/// in English); or text that came as it is (a server's welcome text, a reason it gave).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phrase {
    /// The message with this id, and its variables.
    Message(&'static str, Vec<(&'static str, Arg)>),
    /// Text as it came, shown unchanged.
    Text(String),
}

/// A variable of a [`Phrase`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Text as it is: a name, a host, a reason in a server's words.
    Text(String),
    /// A count (plural forms depend on it).
    Count(u64),
    /// A phrase of its own, put into words in the same language.
    Phrase(Box<Phrase>),
}

impl Phrase {
    /// The message `id`, which has no variables.
    pub fn tr(id: &'static str) -> Self {
        Self::Message(id, Vec::new())
    }

    /// The message `id` with its variables.
    pub fn tr_args(id: &'static str, args: Vec<(&'static str, Arg)>) -> Self {
        Self::Message(id, args)
    }

    /// Whether there is nothing to say (empty text).
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Text(text) if text.is_empty())
    }
}

impl Default for Phrase {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

impl From<String> for Phrase {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Phrase {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<&str> for Arg {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Arg {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<u64> for Arg {
    fn from(count: u64) -> Self {
        Self::Count(count)
    }
}

impl From<u32> for Arg {
    fn from(count: u32) -> Self {
        Self::Count(u64::from(count))
    }
}

impl From<Phrase> for Arg {
    fn from(phrase: Phrase) -> Self {
        Self::Phrase(Box::new(phrase))
    }
}

thread_local! {
    /// The command line's language, loaded once per thread that prints phrases.
    static ENGLISH: I18n = I18n::new(Language::En);
}

/// In English: the command line, logs.
impl std::fmt::Display for Phrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Message(..) => f.write_str(&ENGLISH.with(|english| english.say(self))),
        }
    }
}

/// Translated strings for one language.
pub struct I18n {
    language: Language,
    primary: FluentBundle<FluentResource>,
    /// English, when the primary language is not English.
    english: Option<FluentBundle<FluentResource>>,
    /// Keys already reported as missing or broken, so each is logged once.
    reported: RefCell<HashSet<String>>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n")
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

impl I18n {
    /// Strings for `language`; [`Language::System`] follows the system locale (French if it is
    /// French, English otherwise).
    pub fn new(language: Language) -> Self {
        let language = resolve_language(language);
        let (primary, english) = match language {
            Language::Fr => (
                bundle(langid!("fr"), FR_FTL),
                Some(bundle(langid!("en"), EN_FTL)),
            ),
            Language::En | Language::System => (bundle(langid!("en"), EN_FTL), None),
        };
        Self {
            language,
            primary,
            english,
            reported: RefCell::new(HashSet::new()),
        }
    }

    /// The concrete language in use ([`Language::En`] or [`Language::Fr`]).
    pub fn language(&self) -> Language {
        self.language
    }

    /// The message `key`.
    pub fn tr(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with its variables, e.g.
    /// `tr_args("input-opened", &[("name", FluentValue::from(name))])`. Pass counts as numbers
    /// (plural forms depend on them) and decimals as text from [`I18n::number`].
    pub fn tr_args(&self, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        self.format(key, Some(&fluent_args))
    }

    /// `phrase` in this language.
    pub fn say(&self, phrase: &Phrase) -> String {
        match phrase {
            Phrase::Text(text) => text.clone(),
            Phrase::Message(id, args) => {
                let values: Vec<(&str, FluentValue<'_>)> = args
                    .iter()
                    .map(|(name, arg)| {
                        let value = match arg {
                            Arg::Text(text) => FluentValue::from(text.as_str()),
                            Arg::Count(count) => FluentValue::from(*count),
                            Arg::Phrase(inner) => FluentValue::from(self.say(inner)),
                        };
                        (*name, value)
                    })
                    .collect();
                self.tr_args(id, &values)
            }
        }
    }

    /// `value` with `decimals` digits after the separator, written the way the language writes
    /// numbers (`1,234.5` in English, `1 234,5` in French).
    pub fn number(&self, value: f64, decimals: usize) -> String {
        let (group, point) = match self.language {
            Language::Fr => ('\u{a0}', ','),
            Language::En | Language::System => (',', '.'),
        };
        let plain = format!("{:.*}", decimals, value.abs());
        let (integer, fraction) = plain.split_once('.').unwrap_or((plain.as_str(), ""));
        let mut out = String::with_capacity(plain.len() + 4);
        let negative = value < 0.0 && plain.chars().any(|c| c.is_ascii_digit() && c != '0');
        if negative {
            out.push('-');
        }
        let digits = integer.len();
        for (i, digit) in integer.chars().enumerate() {
            if i > 0 && (digits - i) % 3 == 0 && digits > 4 {
                out.push(group);
            }
            out.push(digit);
        }
        if !fraction.is_empty() {
            out.push(point);
            out.push_str(fraction);
        }
        out
    }

    /// An audio failure as a sentence in this language.
    pub fn audio_error(&self, error: &AudioError) -> String {
        match error {
            AudioError::NoSuchDevice {
                direction,
                wanted,
                available,
            } => self.tr_args(
                "error-no-such-device",
                &[
                    ("direction", FluentValue::from(*direction)),
                    ("wanted", FluentValue::from(wanted.as_str())),
                    ("count", FluentValue::from(available.len())),
                    ("available", FluentValue::from(available.join(", "))),
                ],
            ),
            AudioError::NoDevice { direction } => self.tr_args(
                "error-no-device",
                &[("direction", FluentValue::from(*direction))],
            ),
            AudioError::OpenFailed {
                direction,
                name,
                reason,
            } => self.tr_args(
                "error-open-failed",
                &[
                    ("direction", FluentValue::from(*direction)),
                    ("name", FluentValue::from(name.as_str())),
                    ("reason", FluentValue::from(reason.as_str())),
                ],
            ),
            AudioError::Wav { path, reason } => self.tr_args(
                "error-wav",
                &[
                    ("path", FluentValue::from(path.as_str())),
                    ("reason", FluentValue::from(reason.as_str())),
                ],
            ),
            AudioError::Codec(reason) => self.tr_args(
                "error-codec",
                &[("reason", FluentValue::from(reason.as_str()))],
            ),
            AudioError::InvalidSetting(reason) => self.tr_args(
                "error-invalid-setting",
                &[("reason", FluentValue::from(reason.as_str()))],
            ),
        }
    }

    /// A settings-file warning as a sentence in this language.
    pub fn config_warning(&self, warning: &ConfigWarning) -> String {
        let path = warning.path.display().to_string();
        match &warning.backup {
            Ok(backup) => self.tr_args(
                "config-corrupt",
                &[
                    ("path", FluentValue::from(path)),
                    ("reason", FluentValue::from(warning.reason.as_str())),
                    ("backup", FluentValue::from(backup.display().to_string())),
                ],
            ),
            Err(error) => self.tr_args(
                "config-corrupt-not-kept",
                &[
                    ("path", FluentValue::from(path)),
                    ("reason", FluentValue::from(warning.reason.as_str())),
                    ("error", FluentValue::from(error.as_str())),
                ],
            ),
        }
    }

    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundles = std::iter::once((&self.primary, false))
            .chain(self.english.iter().map(|english| (english, true)));
        for (bundle, is_fallback) in bundles {
            let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
                continue;
            };
            if is_fallback {
                self.report(key, || {
                    tracing::warn!(key, language = ?self.language, "message missing; using English");
                });
            }
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                self.report(key, || {
                    tracing::warn!(key, ?errors, "message formatted with errors");
                });
            }
            return text.into_owned();
        }
        self.report(key, || {
            tracing::warn!(key, "message missing in every language")
        });
        key.to_owned()
    }

    /// Runs `log` the first time `key` is reported.
    fn report(&self, key: &str, log: impl FnOnce()) {
        if self.reported.borrow_mut().insert(key.to_owned()) {
            log();
        }
    }
}

/// A bundle for `locale` from the embedded `source`. Syntax errors are logged and the valid
/// messages kept (tests/i18n.rs makes sure there are none).
fn bundle(locale: LanguageIdentifier, source: &'static str) -> FluentBundle<FluentResource> {
    let resource =
        FluentResource::try_new(source.to_owned()).unwrap_or_else(|(resource, errors)| {
            tracing::warn!(%locale, ?errors, "translation file has syntax errors");
            resource
        });
    let mut bundle = FluentBundle::new(vec![locale.clone()]);
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::warn!(%locale, ?errors, "translation file has duplicate messages");
    }
    bundle
}

/// For tests of errors put into words: `phrase` says `english` on the command line, and
/// something else in the French window, not a message id of the family `prefix`.
#[cfg(test)]
pub(crate) fn assert_said_in_both_languages(phrase: &Phrase, english: &str, prefix: &str) {
    assert_eq!(phrase.to_string(), english);
    let said = I18n::new(Language::Fr).say(phrase);
    assert_ne!(said, english, "{phrase:?} is not translated");
    assert!(!said.starts_with(prefix), "{phrase:?}: {said}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_said_in_the_window_s_language_and_printed_in_english() {
        let phrase = Phrase::tr_args(
            "connection-not-started",
            vec![(
                "reason",
                Phrase::tr_args(
                    "mumble-connecting",
                    vec![("server", "mumble.example.org:64738".into())],
                )
                .into(),
            )],
        );
        assert_eq!(
            I18n::new(Language::Fr).say(&phrase),
            "La connexion n’a pas pu démarrer\u{a0}: Connexion à mumble.example.org:64738….",
        );
        assert_eq!(
            phrase.to_string(),
            "The connection could not be started: Connecting to mumble.example.org:64738…."
        );
        let counted = Phrase::tr_args(
            "mumble-bandwidth-limited",
            vec![
                ("cap", 40u32.into()),
                ("bitrate", 32u32.into()),
                ("frame", 40u32.into()),
            ],
        );
        assert!(counted.to_string().contains("only 40 kbit/s"));
        let text = Phrase::from("Welcome, be kind.");
        assert_eq!(I18n::new(Language::Fr).say(&text), "Welcome, be kind.");
        assert_eq!(text.to_string(), "Welcome, be kind.");
        assert!(Phrase::default().is_empty() && !text.is_empty());
    }

    #[test]
    fn locale_names_map_to_languages() {
        assert_eq!(language_for_locale(Some("fr-FR")), Language::Fr);
        assert_eq!(language_for_locale(Some("fr_CA.UTF-8")), Language::Fr);
        assert_eq!(language_for_locale(Some("FR")), Language::Fr);
        assert_eq!(language_for_locale(Some("en-US")), Language::En);
        assert_eq!(language_for_locale(Some("fy-NL")), Language::En);
        assert_eq!(language_for_locale(Some("fri")), Language::En);
        assert_eq!(language_for_locale(None), Language::En);
        assert_ne!(resolve_language(Language::System), Language::System);
    }

    #[test]
    fn translates_without_isolation_marks() {
        let fr = I18n::new(Language::Fr);
        let text = fr.tr_args("input-opened", &[("name", FluentValue::from("USB"))]);
        assert_eq!(text, "Micro utilisé\u{a0}: USB");
        let en = I18n::new(Language::En);
        assert_eq!(
            en.tr_args("input-opened", &[("name", FluentValue::from("USB"))]),
            "Microphone in use: USB"
        );
    }

    #[test]
    fn missing_keys_fall_back_to_the_key() {
        let fr = I18n::new(Language::Fr);
        assert_eq!(fr.tr("no-such-key"), "no-such-key");
        assert_eq!(fr.tr("no-such-key"), "no-such-key");
    }

    #[test]
    fn plural_forms_follow_the_language() {
        let args = |n: u64| {
            [
                ("seconds", FluentValue::from("1.0")),
                ("packets", FluentValue::from(n)),
                ("kilobytes", FluentValue::from("2")),
            ]
        };
        let en = I18n::new(Language::En);
        assert!(
            en.tr_args("echo-summary-sound", &args(1))
                .contains("one packet")
        );
        assert!(
            en.tr_args("echo-summary-sound", &args(0))
                .contains("0 packets")
        );
        let fr = I18n::new(Language::Fr);
        assert!(
            fr.tr_args("echo-summary-sound", &args(0))
                .contains("0 paquet ")
        );
        assert!(
            fr.tr_args("echo-summary-sound", &args(3))
                .contains("3 paquets")
        );
    }

    #[test]
    fn numbers_use_the_language_separators() {
        let en = I18n::new(Language::En);
        let fr = I18n::new(Language::Fr);
        assert_eq!(en.number(52.46, 1), "52.5");
        assert_eq!(fr.number(52.46, 1), "52,5");
        assert_eq!(en.number(-45.0, 0), "-45");
        assert_eq!(en.number(-0.2, 0), "0");
        assert_eq!(en.number(1234.0, 0), "1234");
        assert_eq!(en.number(12345.67, 2), "12,345.67");
        assert_eq!(fr.number(1234567.0, 0), "1\u{a0}234\u{a0}567");
    }

    #[test]
    fn every_audio_error_is_a_sentence_in_both_languages() {
        let errors = [
            AudioError::NoSuchDevice {
                direction: "input",
                wanted: "USB".into(),
                available: vec!["A".into(), "B".into()],
            },
            AudioError::NoSuchDevice {
                direction: "output",
                wanted: "USB".into(),
                available: vec![],
            },
            AudioError::NoDevice { direction: "input" },
            AudioError::OpenFailed {
                direction: "output",
                name: "HDMI".into(),
                reason: "busy".into(),
            },
            AudioError::Wav {
                path: "/tmp/a.wav".into(),
                reason: "not a WAV file".into(),
            },
            AudioError::Codec("bad frame".into()),
            AudioError::InvalidSetting("bitrate 4000".into()),
        ];
        for language in [Language::En, Language::Fr] {
            let i18n = I18n::new(language);
            for error in &errors {
                let text = i18n.audio_error(error);
                assert!(!text.contains('{') && !text.starts_with("error-"), "{text}");
                assert!(text.len() > 20, "{text}");
            }
        }
        let en = I18n::new(Language::En);
        assert_eq!(
            en.audio_error(&errors[0]),
            "There is no microphone called “USB”. Available: A, B."
        );
        let fr = I18n::new(Language::Fr);
        assert_eq!(
            fr.audio_error(&errors[1]),
            "Il n’y a pas de sortie audio nommée «\u{a0}USB\u{a0}». \
             Aucun autre périphérique n’a été trouvé."
        );
    }

    #[test]
    fn config_warning_names_both_paths() {
        let warning = ConfigWarning {
            path: "/home/a/.config/palabre/settings.toml".into(),
            reason: "line 2: expected `]`".into(),
            backup: Ok("/home/a/.config/palabre/settings.toml.corrupt-17".into()),
        };
        for language in [Language::En, Language::Fr] {
            let text = I18n::new(language).config_warning(&warning);
            assert!(
                text.contains("/home/a/.config/palabre/settings.toml "),
                "{text}"
            );
            assert!(text.contains("settings.toml.corrupt-17"), "{text}");
        }
    }
}
