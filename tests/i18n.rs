//! Checks the translation files: both locales have the same keys and the same variables per
//! message, every message formats without error, and every key used in `src/` (as a string
//! literal passed to `tr("…")` or `tr_args("…", …)`, outside `#[cfg(test)]` code) exists in
//! both.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

const LOCALES: [&str; 2] = ["en", "fr"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ftl_source(locale: &str) -> String {
    let path = root().join("i18n").join(locale).join("palabre.ftl");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Message (and term) ids of an FTL file, each with the variables its text refers to. A plain
/// line scan: an entry starts at column 0 with `id =`; indented lines continue it.
fn entries(source: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut entries: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        let starts_entry = line
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '-');
        if starts_entry {
            let Some((id, _)) = line.split_once('=') else {
                panic!("not an FTL entry: {line:?}");
            };
            let id = id.trim().to_owned();
            assert!(!entries.contains_key(&id), "duplicate key {id}");
            entries.insert(id.clone(), BTreeSet::new());
            current = Some(id);
        } else if line.starts_with('#') {
            current = None;
            continue;
        } else if line.trim().is_empty() {
            continue;
        }
        if let Some(id) = &current {
            let vars = entries.entry(id.clone()).or_default();
            let mut rest = line;
            while let Some(at) = rest.find('$') {
                rest = &rest[at + 1..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if !name.is_empty() {
                    vars.insert(name);
                }
            }
        }
    }
    entries
}

fn bundle(locale: &str) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(ftl_source(locale))
        .unwrap_or_else(|(_, errors)| panic!("{locale}: syntax errors: {errors:?}"));
    let langid: LanguageIdentifier = locale.parse().expect("valid language id");
    let mut bundle = FluentBundle::new(vec![langid]);
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("{locale}: {errors:?}"));
    bundle
}

#[test]
fn both_locales_have_the_same_keys_and_variables() {
    let en = entries(&ftl_source("en"));
    let fr = entries(&ftl_source("fr"));
    let en_keys: BTreeSet<_> = en.keys().collect();
    let fr_keys: BTreeSet<_> = fr.keys().collect();
    let only_en: Vec<_> = en_keys.difference(&fr_keys).collect();
    let only_fr: Vec<_> = fr_keys.difference(&en_keys).collect();
    assert!(only_en.is_empty(), "keys missing from fr: {only_en:?}");
    assert!(only_fr.is_empty(), "keys missing from en: {only_fr:?}");
    for (key, vars) in &en {
        assert_eq!(
            Some(vars),
            fr.get(key),
            "{key}: variables differ between en and fr"
        );
    }
    assert!(en.len() > 50, "the scan found only {} keys", en.len());
}

#[test]
fn every_message_formats_without_errors() {
    for locale in LOCALES {
        let bundle = bundle(locale);
        for (key, vars) in entries(&ftl_source(locale)) {
            if key.starts_with('-') {
                continue; // Terms are checked through the messages that use them.
            }
            let message = bundle
                .get_message(&key)
                .unwrap_or_else(|| panic!("{locale}: {key} was scanned but not parsed"));
            let pattern = message
                .value()
                .unwrap_or_else(|| panic!("{locale}: {key} has no value"));
            // Numbers exercise plural selectors, text exercises string selectors.
            let samples: [FluentValue<'_>; 5] = [
                0.into(),
                1.into(),
                7.into(),
                "input".into(),
                "output".into(),
            ];
            for sample in samples {
                let mut args = FluentArgs::new();
                for var in &vars {
                    args.set(var.as_str(), sample.clone());
                }
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{locale}: {key}: {errors:?}");
                assert!(!text.trim().is_empty(), "{locale}: {key} is empty");
                assert!(
                    !text.contains('\u{2068}'),
                    "{locale}: {key} has isolation marks"
                );
            }
        }
    }
}

/// Every `*.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let listing = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in listing {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// String literals passed as first argument to `tr(` or `tr_args(` in `source`.
fn keys_used(source: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for call in ["tr(", "tr_args("] {
        let mut from = 0;
        while let Some(at) = source[from..].find(call) {
            let start = from + at;
            from = start + call.len();
            let preceded_by_ident = source[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            if preceded_by_ident {
                continue;
            }
            let rest = source[from..].trim_start();
            let Some(literal) = rest.strip_prefix('"') else {
                continue; // Not a literal (e.g. the definition `fn tr(&self, key: &str)`).
            };
            if let Some(end) = literal.find('"') {
                keys.push(literal[..end].to_owned());
            }
        }
    }
    keys
}

/// Every file of `src/` with the code before its unit tests (which sit at the bottom of each
/// file and use made-up keys on purpose).
fn code_of_src() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files
        .into_iter()
        .map(|file| {
            let source = std::fs::read_to_string(&file).expect("readable source");
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            let code = code.to_owned();
            (file, code)
        })
        .collect()
}

/// Each locale with its messages' names and variables.
fn locale_entries() -> Vec<(&'static str, BTreeMap<String, BTreeSet<String>>)> {
    LOCALES
        .iter()
        .map(|l| (*l, entries(&ftl_source(l))))
        .collect()
}

#[test]
fn every_key_used_in_the_source_exists_in_both_locales() {
    let locales = locale_entries();
    let mut used = 0;
    let mut missing = Vec::new();
    for (file, code) in code_of_src() {
        for key in keys_used(&code) {
            used += 1;
            for (locale, entries) in &locales {
                if !entries.contains_key(&key) {
                    missing.push(format!("{}: {key} (missing in {locale})", file.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys used but not translated:\n{}",
        missing.join("\n")
    );
    assert!(used > 40, "the scan found only {used} uses of tr/tr_args");
}

/// Message ids chosen through a variable (`let id = if … { "mumble-banned" } else { … }`) are
/// not in a `tr(` call: every string literal in `src/` shaped like one of the families of ids
/// the code picks that way must exist in both locales.
#[test]
fn ids_chosen_through_a_variable_exist_in_both_locales() {
    const FAMILIES: [&str; 10] = [
        "probe-",
        "mumble-",
        "jitsi-",
        "link-",
        "chat-",
        "favourite-",
        "form-password-",
        "push-to-talk-hint",
        "quality-",
        "own-server",
    ];
    /// Literals of those shapes that are not message ids: a link scheme, egui widget ids.
    const NOT_IDS: [&str; 3] = ["jitsi-meet", "own-server", "own-server-protocol"];
    let locales = locale_entries();
    let mut checked = 0;
    let mut missing = Vec::new();
    for (file, code) in code_of_src() {
        for literal in code.split('"').skip(1).step_by(2) {
            let shaped = !literal.is_empty()
                && literal
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && FAMILIES.iter().any(|family| literal.starts_with(family))
                && !NOT_IDS.contains(&literal);
            if !shaped {
                continue;
            }
            checked += 1;
            for (locale, entries) in &locales {
                if !entries.contains_key(literal) {
                    missing.push(format!(
                        "{}: {literal} (missing in {locale})",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ids not translated:\n{}",
        missing.join("\n")
    );
    assert!(checked > 100, "the scan found only {checked} ids");
}

#[test]
fn the_key_scanner_finds_literals_only() {
    let source = r#"
        i18n.tr("a-key"); self.tr_args(
            "b-key", &[]);
        pub fn tr(&self, key: &str) {} attr("no"); i18n.tr(key);
    "#;
    assert_eq!(
        keys_used(source),
        vec!["a-key".to_owned(), "b-key".to_owned()]
    );
}

#[test]
fn the_entry_scanner_reads_multiline_messages() {
    let source = "# comment\nfirst = A { $one }\nsecond = { $n ->\n    [one] x { $two }\n   *[other] y\n}\n\n-term = T\n";
    let entries = entries(source);
    let names: Vec<_> = entries.keys().cloned().collect();
    assert_eq!(names, vec!["-term", "first", "second"]);
    assert_eq!(
        entries["second"],
        ["n", "two"].iter().map(|s| s.to_string()).collect()
    );
}
