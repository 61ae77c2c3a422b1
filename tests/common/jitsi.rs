//! A local Jitsi Meet deployment for end-to-end tests: Debian's real Prosody plus the
//! independent stand-in for jicofo and the videobridge (slixmpp + aiortc, `tests/peers/jitsi/`),
//! one per test, started by `jitsi_env.py`. Its JSON events are collected for assertions.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

fn required() -> bool {
    std::env::var("PALABRE_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

fn python() -> &'static Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = match std::env::var_os("PALABRE_TEST_PYTHON") {
            Some(path) => PathBuf::from(path),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python"),
        };
        if !Path::new("/usr/bin/prosody").is_file() {
            return Err("/usr/bin/prosody missing (package prosody)".to_owned());
        }
        match Command::new(&python)
            .args(["-c", "import slixmpp, aiortc, websockets"])
            .output()
        {
            Ok(out) if out.status.success() => Ok(python),
            Ok(out) => Err(format!(
                "{} cannot import slixmpp, aiortc and websockets: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(error) => Err(format!("{}: {error}", python.display())),
        }
    })
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers/jitsi")
        .join(name)
}

/// A running deployment.
pub struct JitsiEnv {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The ready line.
    pub ready: Value,
    events: Arc<Mutex<Vec<Value>>>,
    stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl JitsiEnv {
    /// Whether the deployment can run here; with `PALABRE_REQUIRE_SERVERS=1`, a missing part is
    /// a failure, not a skip.
    pub fn skip_unless_available() -> bool {
        match python() {
            Ok(_) => true,
            Err(why) => {
                assert!(
                    !required(),
                    "PALABRE_REQUIRE_SERVERS=1 but the Jitsi stand-in cannot run: {why}; run the \
                     tests through scripts/test"
                );
                eprintln!("skipped: {why} (scripts/test installs it)");
                false
            }
        }
    }

    /// Starts it with `jitsi_env.py` options (`--room-password ROOM=SECRET`, `--lobby ROOM`,
    /// `--auth-required`, `--lone-timeout S`, `--video-bot`, `--user NAME:PASSWORD`…).
    pub fn start(options: &[&str]) -> JitsiEnv {
        let python = match python() {
            Ok(python) => python,
            Err(why) => panic!("the Jitsi stand-in cannot run: {why}"),
        };
        let dir = tempfile::Builder::new()
            .prefix("palabre-jitsi-")
            .tempdir()
            .expect("temporary directory");
        let stderr_path = dir.path().join("env.err");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut child = Command::new(python)
            .arg(script("jitsi_env.py"))
            .arg("--workdir")
            .arg(dir.path().join("work"))
            .args(["--stats-interval", "1"])
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start jitsi_env.py");
        let stdout = child.stdout.take().expect("stdout");
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (ready_tx, ready_rx) = mpsc::channel();
        {
            let events = Arc::clone(&events);
            std::thread::spawn(move || {
                let mut ready_tx = Some(ready_tx);
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let Ok(value) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    if value["ready"] == true {
                        if let Some(tx) = ready_tx.take() {
                            tx.send(value).ok();
                        }
                        continue;
                    }
                    events.lock().expect("events").push(value);
                }
            });
        }
        let stdin = child.stdin.take();
        let ready = match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(ready) => ready,
            Err(_) => {
                child.kill().ok();
                panic!(
                    "the Jitsi stand-in did not get ready: {}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
        };
        JitsiEnv {
            child,
            stdin,
            ready,
            events,
            stderr_path,
            _dir: dir,
        }
    }

    /// The meeting link of `room` (the stand-in serves config.js over plain HTTP).
    pub fn link(&self, room: &str) -> String {
        format!(
            "{}/{room}",
            self.ready["base_url"].as_str().expect("base_url")
        )
    }

    /// A value of the ready line.
    pub fn get(&self, key: &str) -> String {
        self.ready[key]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| self.ready[key].to_string())
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().expect("events").clone()
    }

    /// The events named `name` so far.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|event| event["event"] == name)
            .collect()
    }

    /// The `bridge-message` events of class `class` (`colibriClass`) that `endpoint` sent, in
    /// order (the whole event: `message`, `transport`…).
    pub fn bridge_messages(&self, endpoint: &str, class: &str) -> Vec<Value> {
        self.events_named("bridge-message")
            .into_iter()
            .filter(|e| e["endpoint"] == endpoint && e["message"]["colibriClass"] == class)
            .collect()
    }

    /// Waits for an event matching `matches`.
    pub fn wait_for(&self, timeout: Duration, matches: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(event) = self.events().into_iter().find(|e| matches(e)) {
                return Some(event);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Sends a command line (JSON) to the stand-in.
    pub fn command(&mut self, command: &Value) {
        if let Some(stdin) = &mut self.stdin {
            writeln!(stdin, "{command}").ok();
            stdin.flush().ok();
        }
    }

    /// The stand-in's log, for failure messages.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text[start..].to_owned()
    }

    /// The last per-endpoint media counters the bridge reported for `endpoint`.
    pub fn media_counters(&self, endpoint: &str) -> Option<Value> {
        self.events()
            .into_iter()
            .rev()
            .find(|e| e["event"] == "media" && e["endpoint"] == endpoint)
    }

    /// Path of the independent participant script.
    pub fn peer_script() -> PathBuf {
        script("jitsi_peer.py")
    }

    /// The venv's python.
    pub fn python() -> PathBuf {
        match python() {
            Ok(python) => python.clone(),
            Err(why) => panic!("{why}"),
        }
    }
}

impl Drop for JitsiEnv {
    fn drop(&mut self) {
        // Closing stdin asks it to stop (Prosody included).
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
