//! A private X server for the tests that need one (`Xvfb`, Debian package xvfb).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

/// A private X server; killed when dropped.
pub struct Xvfb {
    child: Child,
    /// The display, as in `DISPLAY` (`:N`).
    pub display: String,
}

impl Xvfb {
    /// `None` (with a note) when Xvfb is not installed and not required.
    pub fn start() -> Option<Xvfb> {
        let required = std::env::var("PALABRE_REQUIRE_DEVICES").is_ok_and(|v| v == "1");
        // -displayfd: Xvfb picks a free display and writes its number on standard output.
        let child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) if !required => {
                eprintln!("skipped: Xvfb could not be started ({e}); install xvfb");
                return None;
            }
            Err(e) => panic!("PALABRE_REQUIRE_DEVICES=1 but Xvfb could not be started: {e}"),
        };
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("display");
        let display = format!(":{}", line.trim());
        assert!(display.len() > 1, "Xvfb gave no display");
        Some(Xvfb { child, display })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
