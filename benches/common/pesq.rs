//! PESQ for the benches: the bench venv (`target/bench-venv`, or `PALABRE_BENCH_PYTHON`, which
//! `scripts/bench` prepares) and `benches/pesq_pair.py`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The bench venv's python, if it has `pesq`.
pub fn pesq_python() -> Option<PathBuf> {
    let python = std::env::var_os("PALABRE_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-venv/bin/python")
        });
    let ok = Command::new(&python)
        .args(["-c", "import numpy, pesq"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

/// PESQ WB of `degraded` against `reference` (`benches/pesq_pair.py`): score and the lag found.
pub fn pesq_pair(python: &Path, reference: &Path, degraded: &Path) -> Option<(f64, f64)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pesq_pair.py");
    let out = Command::new(python)
        .arg(script)
        .arg(reference)
        .arg(degraded)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "pesq_pair.py failed on {}: {}",
            degraded.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let json: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((json["pesq"].as_f64()?, json["lag_s"].as_f64()?))
}
