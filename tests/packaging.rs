//! The packaging files under `packaging/` and the `[package.metadata.*]` of Cargo.toml: the
//! desktop entry and AppStream metainfo pass their validators, the icons have their sizes, the
//! Flatpak manifest grants exactly what a call needs, the WiX source and the macOS plists declare
//! the URL schemes, permissions and Start-menu shortcut, the AppImage's handler script registers
//! and unregisters, and `palabre --version` names its codec library.
//!
//! Checks that only read files always run. Checks that need a tool (desktop-file-validate,
//! appstreamcli, Python with PyYAML, xdg-mime) are skipped with a note when it is missing, unless
//! `PALABRE_REQUIRE_PACKAGING=1` (set by `scripts/test`, which installs them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::XmlVersion;
use quick_xml::events::Event;

/// The application id, shared by the desktop file, metainfo, icons, Flatpak and the macOS bundle.
const APP_ID: &str = "page.codeberg.palabre.Palabre";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Where the metainfo's screenshots are published (the repository's `packaging/screenshots/`).
const SCREENSHOT_URL: &str =
    "https://codeberg.org/palabre/palabre/raw/branch/main/packaging/screenshots/";
const ICON_SIZES: [u32; 9] = [16, 22, 24, 32, 48, 64, 128, 256, 512];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Whether `program` is on PATH; panics when packaging checks are required and it is not.
fn tool_available(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    if !found {
        let required = std::env::var("PALABRE_REQUIRE_PACKAGING").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "PALABRE_REQUIRE_PACKAGING=1 but {program} is missing (Debian package {package}; \
             scripts/test installs it)"
        );
        eprintln!("skipped: {program} is missing (Debian package {package})");
    }
    found
}

/// The Python that has PyYAML: Debian's python3-yaml goes with /usr/bin/python3, which may not
/// be the first python3 on PATH.
fn python_with_yaml() -> Option<&'static str> {
    let found = ["/usr/bin/python3", "python3"].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import yaml"])
            .output()
            .is_ok_and(|out| out.status.success())
    });
    if found.is_none() {
        let required = std::env::var("PALABRE_REQUIRE_PACKAGING").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "PALABRE_REQUIRE_PACKAGING=1 but no python3 with PyYAML (Debian package python3-yaml)"
        );
        eprintln!("skipped: no python3 with PyYAML (Debian package python3-yaml)");
    }
    found
}

fn run(command: &mut Command) -> (bool, String) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The `[Desktop Entry]` group of a desktop file, as raw (still escaped) values.
fn desktop_entry(text: &str) -> BTreeMap<String, String> {
    let mut in_entry = false;
    let mut keys = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('[') {
            in_entry = line == "[Desktop Entry]";
        } else if let Some((key, value)) = line.split_once('=')
            && in_entry
        {
            keys.insert(key.to_owned(), value.to_owned());
        }
    }
    keys
}

/// A desktop file's `;`-terminated list.
fn list(value: &str) -> BTreeSet<&str> {
    value.split(';').filter(|item| !item.is_empty()).collect()
}

/// An XML element, enough to check the files here (comments, processing instructions and the
/// doctype are dropped; text is trimmed and unescaped).
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: BTreeMap<String, String>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn parse(path: &str) -> Element {
        let source = read(path);
        let mut reader = quick_xml::Reader::from_str(&source);
        reader.config_mut().trim_text(true);
        let mut stack = vec![Element::default()];
        loop {
            let event = reader
                .read_event()
                .unwrap_or_else(|e| panic!("{path}: not well-formed XML: {e}"));
            let empty = matches!(event, Event::Empty(_));
            match event {
                Event::Start(start) | Event::Empty(start) => {
                    let mut element = Element {
                        name: String::from_utf8_lossy(start.name().as_ref()).into_owned(),
                        ..Element::default()
                    };
                    for attribute in start.attributes() {
                        let attribute = attribute.unwrap_or_else(|e| panic!("{path}: {e}"));
                        let value = attribute
                            .normalized_value(XmlVersion::Implicit1_0)
                            .unwrap_or_else(|e| panic!("{path}: {e}"));
                        element.attributes.insert(
                            String::from_utf8_lossy(attribute.key.as_ref()).into_owned(),
                            value.into_owned(),
                        );
                    }
                    if empty {
                        stack
                            .last_mut()
                            .expect("the root is never popped")
                            .children
                            .push(element);
                    } else {
                        stack.push(element);
                    }
                }
                Event::End(_) => {
                    let element = stack.pop().expect("quick-xml checks that tags match");
                    stack
                        .last_mut()
                        .expect("the root is never popped")
                        .children
                        .push(element);
                }
                Event::Text(text) => {
                    let text = text.decode().unwrap_or_else(|e| panic!("{path}: {e}"));
                    stack.last_mut().expect("non-empty").text.push_str(&text);
                }
                Event::CData(text) => {
                    let text = text.decode().unwrap_or_else(|e| panic!("{path}: {e}"));
                    stack.last_mut().expect("non-empty").text.push_str(&text);
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => {
                            let name = reference.decode().unwrap_or_else(|e| panic!("{path}: {e}"));
                            quick_xml::escape::resolve_predefined_entity(&name)
                                .unwrap_or_else(|| panic!("{path}: unknown entity &{name};"))
                                .to_owned()
                        }
                    };
                    stack
                        .last_mut()
                        .expect("non-empty")
                        .text
                        .push_str(&resolved);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let mut document = stack.pop().expect("the document");
        assert!(stack.is_empty(), "{path}: unclosed elements");
        assert_eq!(document.children.len(), 1, "{path}: one root element");
        document.children.remove(0)
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// Every element below this one (depth first), this one included.
    fn descendants(&self) -> Vec<&Element> {
        let mut all = vec![self];
        for child in &self.children {
            all.extend(child.descendants());
        }
        all
    }
}

/// A property list value (the subset palabre's plists use).
#[derive(Debug, PartialEq)]
enum Plist {
    String(String),
    Bool(bool),
    Array(Vec<Plist>),
    Dict(BTreeMap<String, Plist>),
}

impl Plist {
    fn from_element(element: &Element) -> Plist {
        match element.name.as_str() {
            "string" => Plist::String(element.text.clone()),
            "true" => Plist::Bool(true),
            "false" => Plist::Bool(false),
            "array" => Plist::Array(element.children.iter().map(Plist::from_element).collect()),
            "dict" => {
                let mut entries = BTreeMap::new();
                for pair in element.children.chunks(2) {
                    let [key, value] = pair else {
                        panic!("a dict holds key/value pairs: {element:?}");
                    };
                    assert_eq!(key.name, "key", "a dict's keys come first in each pair");
                    let previous = entries.insert(key.text.clone(), Plist::from_element(value));
                    assert!(previous.is_none(), "duplicate key {}", key.text);
                }
                Plist::Dict(entries)
            }
            other => panic!("unexpected plist element <{other}>"),
        }
    }

    fn parse(path: &str) -> BTreeMap<String, Plist> {
        let plist = Element::parse(path);
        assert_eq!(plist.name, "plist", "{path}");
        match Plist::from_element(plist.child("dict").expect("a top-level dict")) {
            Plist::Dict(entries) => entries,
            _ => unreachable!("from_element of a <dict> is a Dict"),
        }
    }

    fn str(&self) -> &str {
        match self {
            Plist::String(s) => s,
            other => panic!("expected a string, got {other:?}"),
        }
    }
}

/// The `"key" = "value";` lines of a `.strings` file.
fn strings_file(path: &str) -> BTreeMap<String, String> {
    read(path)
        .lines()
        .filter_map(|line| {
            let line = line.trim().strip_prefix('"')?.strip_suffix("\";")?;
            let (key, value) = line.split_once("\" = \"")?;
            Some((key.to_owned(), value.to_owned()))
        })
        .collect()
}

#[test]
fn desktop_entry_opens_both_link_schemes() {
    let path = format!("packaging/linux/{APP_ID}.desktop");
    let entry = desktop_entry(&read(&path));
    assert_eq!(entry["Type"], "Application");
    assert_eq!(
        entry["Exec"], "palabre %u",
        "links arrive as the first argument"
    );
    assert_eq!(entry["Icon"], APP_ID);
    assert_eq!(
        list(&entry["MimeType"]),
        BTreeSet::from(["x-scheme-handler/mumble", "x-scheme-handler/jitsi-meet"])
    );
    assert!(entry.contains_key("Comment[fr]") && entry.contains_key("GenericName[fr]"));
    if tool_available("desktop-file-validate", "desktop-file-utils") {
        let (ok, output) = run(Command::new("desktop-file-validate").arg(repo(&path)));
        assert!(
            ok && output.trim().is_empty(),
            "desktop-file-validate: {output}"
        );
    }
}

#[test]
fn metainfo_describes_the_release_in_english_and_french() {
    let path = format!("packaging/linux/{APP_ID}.metainfo.xml");
    let component = Element::parse(&path);
    assert_eq!(component.attr("type"), Some("desktop-application"));
    let text = |name: &str| component.child(name).map(|e| e.text.as_str());
    assert_eq!(text("id"), Some(APP_ID));
    assert_eq!(text("project_license"), Some("GPL-3.0-or-later"));
    assert_eq!(
        text("launchable"),
        Some(format!("{APP_ID}.desktop").as_str())
    );
    assert_eq!(
        component
            .child("provides")
            .and_then(|p| p.child("binary"))
            .map(|b| b.text.as_str()),
        Some("palabre")
    );

    // Every paragraph and list item is there in both languages.
    let description = component.child("description").expect("a description");
    let count = |lang: Option<&str>| {
        description
            .descendants()
            .into_iter()
            .filter(|e| (e.name == "p" || e.name == "li") && e.attr("xml:lang") == lang)
            .count()
    };
    assert!(count(None) >= 2, "an English description");
    assert_eq!(
        count(None),
        count(Some("fr")),
        "each English paragraph has its French one"
    );
    assert!(
        component
            .children
            .iter()
            .any(|e| e.name == "summary" && e.attr("xml:lang") == Some("fr"))
    );

    // This version is the newest release.
    let releases = component.child("releases").expect("releases");
    let newest = releases.child("release").expect("a release");
    assert_eq!(
        newest.attr("version"),
        Some(VERSION),
        "Cargo.toml's version is released"
    );
    assert!(newest.attr("date").is_some_and(|d| d.len() == 10));

    let rating = component
        .child("content_rating")
        .expect("an OARS content rating");
    assert_eq!(rating.attr("type"), Some("oars-1.1"));
    let rated: BTreeMap<_, _> = rating
        .children
        .iter()
        .map(|a| (a.attr("id").expect("an id"), a.text.as_str()))
        .collect();
    assert_eq!(
        rated.get("social-audio"),
        Some(&"intense"),
        "voice with strangers"
    );
    assert_eq!(
        rated.get("social-chat"),
        Some(&"intense"),
        "text chat with strangers"
    );

    // Screenshots live in the repository (the UI work produces the PNGs).
    let screenshots = component.child("screenshots").expect("screenshots");
    let images: Vec<_> = screenshots
        .descendants()
        .into_iter()
        .filter(|e| e.name == "image")
        .collect();
    assert!(!images.is_empty());
    for image in images {
        let name = image
            .text
            .strip_prefix(SCREENSHOT_URL)
            .unwrap_or_else(|| panic!("screenshot outside packaging/screenshots: {}", image.text));
        assert!(name.ends_with(".png") && !name.contains('/'), "{name}");
        let file = repo("packaging/screenshots").join(name);
        if file.exists() {
            let bytes = std::fs::read(&file).expect("read screenshot");
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is a PNG");
        }
    }

    if tool_available("appstreamcli", "appstream") {
        let (ok, output) = run(Command::new("appstreamcli")
            .args(["validate", "--no-net"])
            .arg(repo(&path)));
        assert!(ok, "appstreamcli validate: {output}");
    }
}

#[test]
fn icons_come_in_every_hicolor_size() {
    let svg = Element::parse(&format!(
        "packaging/icons/hicolor/scalable/apps/{APP_ID}.svg"
    ));
    assert_eq!(svg.name, "svg");
    for size in ICON_SIZES {
        let path = format!("packaging/icons/hicolor/{size}x{size}/apps/{APP_ID}.png");
        let bytes = std::fs::read(repo(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
            "{path}: a PNG"
        );
        let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
        let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
        assert_eq!((width, height), (size, size), "{path}");
    }
    let ico = std::fs::read(repo("packaging/windows/palabre.ico")).expect("the Windows icon");
    assert_eq!(&ico[..4], &[0, 0, 1, 0], "an .ico file");
}

#[test]
fn flatpak_grants_exactly_what_a_call_needs() {
    let Some(python) = python_with_yaml() else {
        return;
    };
    let path = format!("packaging/flatpak/{APP_ID}.yml");
    let (ok, json) = run(Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(repo(&path)));
    assert!(ok, "{path}: {json}");
    let manifest: serde_json::Value = serde_json::from_str(&json).expect("JSON from PyYAML");
    assert_eq!(manifest["app-id"], APP_ID);
    assert_eq!(manifest["command"], "palabre");
    assert_eq!(manifest["runtime"], "org.freedesktop.Platform");
    assert_eq!(manifest["sdk"], "org.freedesktop.Sdk");
    assert_eq!(
        manifest["sdk-extensions"],
        serde_json::json!(["org.freedesktop.Sdk.Extension.rust-stable"])
    );
    let granted: BTreeSet<&str> = manifest["finish-args"]
        .as_array()
        .expect("finish-args")
        .iter()
        .map(|arg| arg.as_str().expect("a string"))
        .collect();
    let expected = BTreeSet::from([
        "--share=ipc",
        "--share=network",
        "--socket=wayland",
        "--socket=fallback-x11",
        "--socket=pulseaudio",
        "--device=all",
    ]);
    assert_eq!(granted, expected, "no permission more, none less");

    // The build installs the files that exist here, and builds without network.
    let module = &manifest["modules"][0];
    let commands = module["build-commands"].as_array().expect("build-commands");
    let script: Vec<&str> = commands.iter().filter_map(|c| c.as_str()).collect();
    let script = script.join("\n");
    assert!(script.contains("--offline"), "the build has no network");
    for installed in [
        format!("packaging/linux/{APP_ID}.desktop"),
        format!("packaging/linux/{APP_ID}.metainfo.xml"),
        "packaging/icons/hicolor".to_owned(),
    ] {
        assert!(script.contains(&installed), "installs {installed}");
        assert!(repo(&installed).exists(), "{installed} exists");
    }
    assert!(
        module["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .any(|s| s == "cargo-sources.json")
    );
}

#[test]
fn windows_installer_registers_both_link_schemes() {
    let wix = Element::parse("packaging/windows/main.wxs");
    let product = wix.child("Product").expect("a Product");
    let guid = product.attr("UpgradeCode").expect("an UpgradeCode");
    assert!(
        guid.len() == 36 && guid.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "{guid}"
    );
    assert_eq!(
        product.attr("Version"),
        Some("$(var.Version)"),
        "cargo-wix sets the version"
    );

    let all = wix.descendants();
    let install_dir = all
        .iter()
        .find(|e| e.name == "Directory" && e.attr("Id") == Some("INSTALLDIR"))
        .expect("an INSTALLDIR");
    let exe = install_dir
        .children
        .iter()
        .filter(|c| c.name == "Component")
        .flat_map(|c| &c.children)
        .find(|f| f.name == "File" && f.attr("Name") == Some("palabre.exe"))
        .expect("palabre.exe is installed into INSTALLDIR");
    assert_eq!(
        exe.attr("Source"),
        Some("$(var.CargoTargetBinDir)\\palabre.exe")
    );
    let launch = "\"[INSTALLDIR]palabre.exe\" \"%1\"";

    for scheme in ["mumble", "jitsi-meet"] {
        let key = all
            .iter()
            .find(|e| {
                e.name == "RegistryKey"
                    && e.attr("Root") == Some("HKCR")
                    && e.attr("Key") == Some(scheme)
            })
            .unwrap_or_else(|| panic!("HKCR\\{scheme}"));
        let values: Vec<_> = key
            .children
            .iter()
            .filter(|e| e.name == "RegistryValue")
            .collect();
        assert!(
            values.iter().any(|v| v.attr("Name").is_none()
                && v.attr("Value").is_some_and(|d| d.starts_with("URL:"))),
            "HKCR\\{scheme} is described as a URL"
        );
        assert!(
            values
                .iter()
                .any(|v| v.attr("Name") == Some("URL Protocol") && v.attr("Value") == Some("")),
            "HKCR\\{scheme} has the \"URL Protocol\" value"
        );
        let command = key
            .children
            .iter()
            .find(|e| e.name == "RegistryKey" && e.attr("Key") == Some("shell\\open\\command"))
            .and_then(|k| k.child("RegistryValue"))
            .unwrap_or_else(|| panic!("HKCR\\{scheme}\\shell\\open\\command"));
        assert_eq!(command.attr("Value"), Some(launch));
    }

    let menu = all
        .iter()
        .find(|e| e.name == "Directory" && e.attr("Id") == Some("ProgramMenuFolder"))
        .expect("a Start menu folder");
    let shortcut = menu
        .descendants()
        .into_iter()
        .find(|e| e.name == "Shortcut")
        .expect("a Start menu shortcut");
    assert_eq!(shortcut.attr("Target"), Some("[INSTALLDIR]palabre.exe"));
    assert_eq!(shortcut.attr("Name"), Some("palabre"));

    // Every component is installed, and the icon file exists.
    let components: BTreeSet<_> = all
        .iter()
        .filter(|e| e.name == "Component")
        .filter_map(|e| e.attr("Id"))
        .collect();
    let referenced: BTreeSet<_> = all
        .iter()
        .filter(|e| e.name == "ComponentRef")
        .filter_map(|e| e.attr("Id"))
        .collect();
    assert_eq!(components, referenced);
    for icon in all.iter().filter(|e| e.name == "Icon") {
        let source = icon
            .attr("SourceFile")
            .expect("SourceFile")
            .replace('\\', "/");
        assert!(repo(&source).exists(), "{source}");
    }

    // cargo-wix finds this file through Cargo.toml.
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let include = &manifest["package"]["metadata"]["wix"]["include"];
    assert_eq!(
        include.as_array().map(Vec::as_slice),
        Some(&[toml::Value::from("packaging/windows/main.wxs")][..])
    );
}

#[test]
fn macos_bundle_declares_schemes_and_permissions() {
    let info = Plist::parse("packaging/macos/Info.plist");
    assert_eq!(info["CFBundleIdentifier"].str(), APP_ID);
    assert_eq!(info["CFBundleExecutable"].str(), "palabre");
    assert_eq!(info["CFBundleShortVersionString"].str(), VERSION);
    assert_eq!(info["CFBundlePackageType"].str(), "APPL");

    let Plist::Array(url_types) = &info["CFBundleURLTypes"] else {
        panic!("CFBundleURLTypes is an array");
    };
    let mut schemes = BTreeSet::new();
    for url_type in url_types {
        let Plist::Dict(url_type) = url_type else {
            panic!("a URL type is a dict")
        };
        assert!(!url_type["CFBundleURLName"].str().is_empty());
        let Plist::Array(list) = &url_type["CFBundleURLSchemes"] else {
            panic!("schemes")
        };
        schemes.extend(list.iter().map(|s| s.str().to_owned()));
    }
    assert_eq!(
        schemes,
        BTreeSet::from(["mumble".to_owned(), "jitsi-meet".to_owned()])
    );

    let permissions = ["NSMicrophoneUsageDescription", "NSCameraUsageDescription"];
    let english = strings_file("packaging/macos/en.lproj/InfoPlist.strings");
    let french = strings_file("packaging/macos/fr.lproj/InfoPlist.strings");
    for key in permissions {
        let sentence = info[key].str();
        assert!(sentence.len() > 20, "{key} explains why");
        assert_eq!(
            english.get(key).map(String::as_str),
            Some(sentence),
            "en.lproj matches Info.plist"
        );
        let translated = french
            .get(key)
            .unwrap_or_else(|| panic!("fr.lproj has {key}"));
        assert!(
            !translated.is_empty() && translated != sentence,
            "{key} is translated"
        );
    }
    assert_eq!(
        english.keys().collect::<Vec<_>>(),
        french.keys().collect::<Vec<_>>(),
        "same keys in both"
    );

    let entitlements = Plist::parse("packaging/macos/palabre.entitlements");
    assert_eq!(
        entitlements,
        BTreeMap::from([
            (
                "com.apple.security.device.audio-input".to_owned(),
                Plist::Bool(true)
            ),
            (
                "com.apple.security.device.camera".to_owned(),
                Plist::Bool(true)
            ),
        ]),
        "the microphone and the camera, nothing else"
    );
}

#[test]
fn deb_installs_the_desktop_files_and_depends_on_the_dlopened_libraries() {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets: Vec<(&str, &str)> = deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|asset| {
            let asset = asset.as_array().expect("[source, destination, mode]");
            (
                asset[0].as_str().expect("source"),
                asset[1].as_str().expect("destination"),
            )
        })
        .collect();
    for (source, _) in &assets {
        assert!(
            source.starts_with("target/release/") || repo(source).exists(),
            "{source} exists"
        );
    }
    let installs = |destination: &str| assets.iter().any(|(_, d)| *d == destination);
    assert!(installs("usr/bin/"));
    assert!(installs("usr/share/applications/") && installs("usr/share/metainfo/"));
    for size in ICON_SIZES {
        assert!(
            installs(&format!("usr/share/icons/hicolor/{size}x{size}/apps/")),
            "{size} px icon"
        );
    }

    // What scripts/lib.sh installs for the window at run time is depended on: by name for what is
    // loaded with dlopen, through $auto for what the binary links to (ALSA).
    let names = |field: &str| -> BTreeSet<String> {
        deb[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}"))
            .split([',', '|'])
            .map(|p| p.trim().to_owned())
            .collect()
    };
    let depends = names("depends");
    let recommends = names("recommends");
    assert!(depends.contains("$auto"));
    let lib_sh = read("scripts/lib.sh");
    let runtime = lib_sh
        .split_once("RUNTIME_PACKAGES=(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list.split_whitespace().collect::<Vec<_>>())
        .expect("RUNTIME_PACKAGES in scripts/lib.sh");
    for package in runtime {
        assert!(
            package == "libasound2" || depends.contains(package) || recommends.contains(package),
            "{package} (RUNTIME_PACKAGES) is in the .deb's depends or recommends"
        );
    }
}

/// Unquotes an Exec value written as `"PATH" %u` (Desktop Entry Specification: string escapes,
/// then the quoting rule, then `%%`).
fn exec_path(exec: &str) -> String {
    let mut unescaped = String::new();
    let mut chars = exec.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('s') => unescaped.push(' '),
                Some('n') => unescaped.push('\n'),
                Some('t') => unescaped.push('\t'),
                Some('r') => unescaped.push('\r'),
                Some(other) => unescaped.push(other),
                None => panic!("dangling backslash in {exec}"),
            }
        } else {
            unescaped.push(c);
        }
    }
    let quoted = unescaped
        .strip_suffix(" %u")
        .and_then(|rest| rest.strip_prefix('"'))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("Exec is \"PATH\" %u: {exec}"));
    let mut path = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => path.push(chars.next().expect("an escaped character")),
            '%' => {
                assert_eq!(chars.next(), Some('%'), "a lone % is a field code");
                path.push('%');
            }
            c => path.push(c),
        }
    }
    path
}

#[test]
fn appimage_script_registers_and_removes_the_link_handler() {
    if !tool_available("xdg-mime", "xdg-utils")
        || !tool_available("desktop-file-validate", "desktop-file-utils")
    {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    // A path that needs every kind of quoting.
    let folder = home.path().join("My Apps $HOME \"q\" `x` 100% back\\slash");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let appimage = folder.join("palabre-x86_64.AppImage");
    std::fs::write(&appimage, "").expect("fake AppImage");
    let data = home.path().join("data");
    let config = home.path().join("config");
    let script = repo("packaging/appimage/register-handlers.sh");
    let session = |command: &mut Command| -> (bool, String) {
        command
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", &data)
            .env("XDG_CONFIG_HOME", &config)
            .env("XDG_DATA_DIRS", home.path().join("none"))
            .env("XDG_CONFIG_DIRS", home.path().join("none"))
            .env_remove("XDG_CURRENT_DESKTOP")
            .env_remove("DESKTOP_SESSION")
            .env_remove("KDE_FULL_SESSION")
            .env_remove("GNOME_DESKTOP_SESSION_ID");
        run(command)
    };
    let default_for = |scheme: &str| {
        let (_, out) = session(Command::new("xdg-mime").args([
            "query",
            "default",
            &format!("x-scheme-handler/{scheme}"),
        ]));
        out.trim().to_owned()
    };

    let (ok, output) = session(Command::new("sh").arg(&script).arg(&appimage));
    assert!(ok, "register-handlers.sh: {output}");
    let desktop_id = format!("{APP_ID}-appimage-url-handler.desktop");
    let desktop_file = data.join("applications").join(&desktop_id);
    let (ok, output) = run(Command::new("desktop-file-validate").arg(&desktop_file));
    assert!(
        ok && output.trim().is_empty(),
        "desktop-file-validate: {output}"
    );
    let entry = desktop_entry(&std::fs::read_to_string(&desktop_file).expect("the handler"));
    assert_eq!(
        exec_path(&entry["Exec"]),
        appimage.to_str().expect("UTF-8 path")
    );
    assert_eq!(entry["NoDisplay"], "true");
    for scheme in ["mumble", "jitsi-meet"] {
        assert_eq!(
            default_for(scheme),
            desktop_id,
            "{scheme}:// opens the AppImage"
        );
    }

    let (ok, output) = session(Command::new("sh").arg(&script).arg("--remove"));
    assert!(ok, "register-handlers.sh --remove: {output}");
    assert!(!desktop_file.exists());
    for scheme in ["mumble", "jitsi-meet"] {
        assert_eq!(default_for(scheme), "", "{scheme}:// is no longer claimed");
    }
}

#[test]
fn version_names_the_codec_library() {
    let out = Command::new(env!("CARGO_BIN_EXE_palabre"))
        .arg("--version")
        .output()
        .expect("run palabre");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&format!("palabre {VERSION}").as_str()),
        "{text}"
    );
    let version_of = |library: &str| {
        lines
            .iter()
            .find_map(|line| line.strip_prefix(&format!("{library} ")))
            .unwrap_or_else(|| panic!("{library} in {text}"))
    };
    // As libopus reports itself: "libopus 1.5.2" (possibly with a suffix such as "-fixed").
    assert!(version_of("libopus").starts_with("1."), "{text}");
    for library in ["egui", "rustls"] {
        let version = version_of(library);
        assert!(
            version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{library} {version}"
        );
    }
}
