#!/usr/bin/env python3
"""palabre's audio benchmarks outside the CPU: speech quality, bytes on the wire, latency.

Drives the release binary (`palabre echo-test --input … --output …`) and prints markdown
tables:

  chain     PESQ WB per preset × loss, sober bitrate/frame sweep, bytes/s (speech, silence),
            chain latency by cross-correlation (default)
  device    device round trip from `palabre test-sound --record` (needs a sound server; the
            bench script starts a private PulseAudio null sink)

Quality is ITU-T P.862.2 (wideband PESQ, PyPI `pesq`) of each speech file against what came
out of the echo test, after alignment by cross-correlation and resampling 48 kHz → 16 kHz.
Only numpy and pesq are needed. Results are also written as JSON (`--json`).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from pesq import pesq

ROOT = Path(__file__).resolve().parent.parent
# PALABRE_BIN: another build of palabre to measure (default: the release build of this tree).
BIN = Path(os.environ.get("PALABRE_BIN", ROOT / "target" / "release" / "palabre"))
SPEECH = [ROOT / "tests" / "data" / "speech_en.wav", ROOT / "tests" / "data" / "speech_fr.wav"]
PRESETS = ["sober", "standard", "high"]
LOSSES = [0.0, 0.05, 0.10, 0.20]
SEEDS = [1, 2, 3]
# RTP (12) + UDP (8) + IPv4 (20) bytes per packet.
HEADER_BYTES = 40
# Configurations of the send chain compared in the tables; the gate stays on (as in a call).
CONFIGS = {
    "default": [],  # gate + noise suppression + echo cancellation: what a user gets
    "plain": ["--no-denoise", "--no-aec"],  # gate only: the codec and the network
}
WORKERS = int(os.environ.get("BENCH_JOBS", "2"))


# ---------------------------------------------------------------------------------------------
# WAV and signal helpers (numpy only)


def read_wav(path):
    """Reads a 16-bit PCM WAV as (rate, float64 mono in [-1, 1])."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:
        sys.exit(f"{path}: only 16-bit PCM WAV files are supported here")
    x = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0
    return rate, x.reshape(-1, channels).mean(axis=1)


def write_wav(path, rate, x):
    pcm = np.clip(np.round(np.asarray(x) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def fft_convolve(a, b):
    n = len(a) + len(b) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:n]


def lowpass(cutoff_hz, rate, taps=481, beta=8.0):
    """Kaiser-windowed sinc low-pass, odd length, unit DC gain (linear phase)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff_hz / rate * np.sinc(2 * cutoff_hz / rate * n) * np.kaiser(taps, beta)
    return h / h.sum()


_LP = lowpass(7700.0, 48_000)
_LP_DELAY = (len(_LP) - 1) // 2


def down_48k_to_16k(x):
    y = fft_convolve(x, _LP)[_LP_DELAY : _LP_DELAY + len(x)]
    return y[::3]


def up_16k_to_48k(x):
    stuffed = np.zeros(len(x) * 3)
    stuffed[::3] = x
    y = fft_convolve(stuffed, 3 * _LP)
    return y[_LP_DELAY : _LP_DELAY + len(stuffed)]


def best_lag(reference, signal, max_lag):
    """Delay of `signal` behind `reference` in samples (0..max_lag), with parabolic
    interpolation, and the normalised correlation at that lag."""
    n = len(reference) + len(signal)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(signal, size) * np.conj(np.fft.rfft(reference, size)), size)
    window = corr[: max_lag + 1]
    k = int(np.argmax(window))
    frac = 0.0
    if 0 < k < max_lag:
        a, b, c = window[k - 1], window[k], window[k + 1]
        denom = a - 2 * b + c
        if denom != 0:
            frac = 0.5 * (a - c) / denom
    seg = signal[k : k + len(reference)]
    ref = reference[: len(seg)]
    norm = np.sqrt(np.dot(ref, ref) * np.dot(seg, seg))
    return k + frac, (float(np.dot(ref, seg) / norm) if norm > 0 else 0.0)


# ---------------------------------------------------------------------------------------------
# The echo test


def echo_test(input_path, args):
    """Runs `palabre echo-test` on a file; returns (48 kHz output, JSON summary)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        cmd = [str(BIN), "echo-test", "--input", str(input_path), "--output", str(out), *args]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{run.stderr}")
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        rate, x = read_wav(out)
        assert rate == 48_000, f"echo-test wrote {rate} Hz"
        return x, summary


_REFS = {}


def reference(path):
    if path not in _REFS:
        rate, x = read_wav(path)
        assert rate == 16_000, f"{path} is {rate} Hz; the bench expects 16 kHz speech"
        _REFS[path] = x
    return _REFS[path]


def pesq_wb(ref16, out48):
    """Aligns the echo-test output on the reference, resamples to 16 kHz, scores P.862.2."""
    deg16 = down_48k_to_16k(out48)
    lag, _ = best_lag(ref16, deg16, 16_000)  # up to 1 s
    lag = int(round(lag))
    deg = deg16[lag : lag + len(ref16)]
    if len(deg) < len(ref16):
        deg = np.concatenate([deg, np.zeros(len(ref16) - len(deg))])
    return float(pesq(16_000, ref16 * 32768.0, deg * 32768.0, "wb"))


def score(path, args):
    out, summary = echo_test(path, args)
    return pesq_wb(reference(path), out), summary


def mean_score(args, seeds):
    """Mean PESQ over both speech files and the seeds given; plus the summaries."""
    jobs = [(p, [*args, "--seed", str(s)]) for p in SPEECH for s in seeds]
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda j: score(*j), jobs))
    scores = [r[0] for r in results]
    return float(np.mean(scores)), float(np.min(scores)), [r[1] for r in results]


# ---------------------------------------------------------------------------------------------
# Sections


def section_pesq(results):
    print("\n### Speech quality: PESQ WB (P.862.2, MOS-LQO)\n")
    print("Mean over speech_en + speech_fr; lossy runs also over seeds 1, 2, 3 (min in brackets).")
    print("`default` = gate + noise suppression + echo cancellation; `plain` = gate only.\n")
    header = "| preset | config | " + " | ".join(f"loss {l:.0%}" for l in LOSSES) + " | FEC recovered at 10 % |"
    print(header)
    print("|" + "---|" * (len(LOSSES) + 3))
    table = {}
    for preset in PRESETS:
        for name, extra in CONFIGS.items():
            cells, fec = [], ""
            for loss in LOSSES:
                seeds = SEEDS if loss > 0 else [1]
                args = ["--preset", preset, "--loss", str(loss), *extra]
                m, lo, summaries = mean_score(args, seeds)
                table[f"{preset}/{name}/{loss}"] = {"mean": m, "min": lo}
                cells.append(f"{m:.2f} ({lo:.2f})" if loss > 0 else f"{m:.2f}")
                if abs(loss - 0.10) < 1e-9:
                    lost = sum(s["packets_lost"] for s in summaries)
                    rec = sum(s["packets_recovered_fec"] for s in summaries)
                    fec = f"{rec}/{lost}"
            print(f"| {preset} | {name} | " + " | ".join(cells) + f" | {fec} |")
            sys.stdout.flush()
    results["pesq"] = table


def section_switches(results):
    print("\n### What each stage costs in quality (loss 0 %, PESQ WB, mean of both files)\n")
    variants = {
        "codec only (--no-gate --no-denoise --no-aec)": ["--no-gate", "--no-denoise", "--no-aec"],
        "+ gate": ["--no-denoise", "--no-aec"],
        "+ gate + NS": ["--no-aec"],
        "+ gate + AEC": ["--no-denoise"],
        "+ gate + NS + AEC (default)": [],
    }
    print("| stage | " + " | ".join(PRESETS) + " |")
    print("|---|" + "---|" * len(PRESETS))
    table = {}
    for label, extra in variants.items():
        cells = []
        for preset in PRESETS:
            m, _, _ = mean_score(["--preset", preset, *extra], [1])
            table[f"{label}/{preset}"] = m
            cells.append(f"{m:.2f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
        sys.stdout.flush()
    results["stages"] = table


def section_sober_sweep(results):
    print("\n### `sober` bitrate × frame-size sweep (PESQ WB, loss 0 %, gate only)\n")
    bitrates = [6, 8, 10, 12, 13, 14, 16, 20, 24]
    frames = [10, 20, 40, 60]
    print("| kbit/s | " + " | ".join(f"{f} ms" for f in frames) + " |")
    print("|---|" + "---|" * len(frames))
    table = {}
    for kbps in bitrates:
        cells = []
        for f in frames:
            args = ["--preset", "sober", "--bitrate", str(kbps), "--frame-ms", str(f), *CONFIGS["plain"]]
            m, _, _ = mean_score(args, [1])
            table[f"{kbps}/{f}"] = m
            cells.append(f"**{m:.2f}**" if m >= 3.3 else f"{m:.2f}")
        print(f"| {kbps} | " + " | ".join(cells) + " |")
        sys.stdout.flush()
    print("\nBold: ≥ 3.3. Lowest bitrate reaching 3.3 per frame size: ", end="")
    best = []
    for f in frames:
        ok = [k for k in bitrates if table[f"{k}/{f}"] >= 3.3]
        best.append(f"{f} ms → {ok[0]} kbit/s" if ok else f"{f} ms → none")
    print("; ".join(best) + ".")
    results["sober_sweep"] = table


def make_silence(path, seconds=10.0, dbfs=-70.0, rate=48_000):
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(int(seconds * rate))
    noise *= 10 ** (dbfs / 20) / np.sqrt(np.mean(noise**2))
    write_wav(path, rate, noise)


def section_bytes(results, tmp):
    print("\n### Bytes on the wire per second of audio\n")
    print("Opus payload from the echo-test JSON (`payload_bytes / seconds`); headers = packets × 40 B")
    print("(RTP 12 + UDP 8 + IPv4 20). Speech = both files (gate on, default chain; pauses are")
    print("gated); silence = 10 s of white noise at −70 dBFS.\n")
    silence = Path(tmp) / "silence.wav"
    make_silence(silence)
    print("| preset | input | packets/s | payload B/s | headers B/s | total B/s | total kbit/s |")
    print("|---|---|---|---|---|---|---|")
    table = {}
    for preset in PRESETS:
        for label, files, extra in [
            ("speech", SPEECH, []),
            ("speech, no gate", SPEECH, ["--no-gate"]),
            ("silence", [silence], []),
            ("silence, no gate", [silence], ["--no-gate"]),
        ]:
            packets = payload = seconds = 0.0
            for f in files:
                _, s = echo_test(f, ["--preset", preset, *extra])
                packets += s["packets_sent"]
                payload += s["payload_bytes"]
                seconds += s["seconds"]
            pps, bps, hps = packets / seconds, payload / seconds, packets * HEADER_BYTES / seconds
            table[f"{preset}/{label}"] = {"pps": pps, "payload": bps, "headers": hps}
            print(
                f"| {preset} | {label} | {pps:.1f} | {bps:.0f} | {hps:.0f} | {bps + hps:.0f} | {(bps + hps) * 8 / 1000:.1f} |"
            )
            sys.stdout.flush()
    results["bytes"] = table


def preset_frame_ms(preset):
    """The preset's frame duration, read from src/audio/codec.rs (`?` if not found)."""
    import re

    text = (ROOT / "src" / "audio" / "codec.rs").read_text()
    m = re.search(rf"{preset.upper()}_FRAME_MS: u32 = (\d+);", text)
    return f"{m.group(1)} ms" if m else "?"


def section_chain_latency(results):
    print("\n### Chain latency, measured by cross-correlation (file echo test, speech_en)\n")
    print("Measured = lag of the 48 kHz output behind the input (cross-correlation peak over the")
    print("whole file); reported = `chain_delay_ms` (frame + look-ahead + NS/AEC delay + mean")
    print("jitter-buffer delay). Device buffers are not in this figure (see the device round trip).\n")
    ref48 = up_16k_to_48k(reference(SPEECH[0]))
    print("| preset | frame | chain | link | measured ms | reported ms | jitter-buffer ms | correlation |")
    print("|---|---|---|---|---|---|---|---|")
    table = {}
    cases = [
        ("plain", "clean", CONFIGS["plain"]),
        ("default (NS+AEC)", "clean", CONFIGS["default"]),
        ("plain", "jitter 0–20 ms", [*CONFIGS["plain"], "--jitter-ms", "20"]),
        ("plain", "jitter 0–40 ms", [*CONFIGS["plain"], "--jitter-ms", "40"]),
        ("plain", "loss 10 %", [*CONFIGS["plain"], "--loss", "0.1"]),
    ]
    for preset in PRESETS:
        frame = preset_frame_ms(preset)
        for chain, link, extra in cases:
            out, s = echo_test(SPEECH[0], ["--preset", preset, *extra])
            lag, corr = best_lag(ref48, out, 48_000)
            ms = lag / 48.0
            table[f"{preset}/{chain}/{link}"] = {
                "measured_ms": ms,
                "reported_ms": s["chain_delay_ms"],
                "jitter_ms": s["mean_jitter_delay_ms"],
                "corr": corr,
            }
            print(
                f"| {preset} | {frame} | {chain} | {link} | {ms:.1f} | {s['chain_delay_ms']:.1f} | {s['mean_jitter_delay_ms']:.1f} | {corr:.3f} |"
            )
            sys.stdout.flush()
    results["chain_latency"] = table


def device_latency(results, runs, attempts):
    """`palabre test-sound --record` starts a 440 Hz tone (amplitude 0.25, no fade) once half a
    second has been recorded and prints the recording sample at which it started
    (`tone_at_sample=N`); the tone's onset in the recording minus N is the device round trip.
    Runs until `runs` recordings hold the tone or `attempts` were made; failed attempts (an
    empty or truncated recording) are counted and shown."""
    print("\n### Device round trip (`palabre test-sound --record`, PulseAudio null sink)\n")
    delays, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(attempts):
            if len(delays) == runs:
                break
            rec = Path(tmp) / f"rec{i}.wav"
            run = subprocess.run(
                [str(BIN), "test-sound", "--record", str(rec), "--seconds", "4"],
                capture_output=True,
                text=True,
            )
            if run.returncode != 0:
                failures.append(f"exit {run.returncode}: {run.stderr.strip().splitlines()[-1:]}")
                continue
            rate, x = read_wav(rec)
            onset = tone_onset(x, rate)
            if onset is None:
                counters = [l for l in run.stderr.splitlines() if l.startswith("realtime:")]
                failures.append(f"no tone in {len(x) / rate:.2f} s recorded; {' '.join(counters)}")
                continue
            marks = [l for l in run.stderr.splitlines() if l.startswith("tone_at_sample=")]
            if not marks:
                failures.append("no tone_at_sample line: " + " ".join(run.stderr.splitlines()[-2:]))
                continue
            tone_at = int(marks[0].split("=", 1)[1]) * rate // 48000
            delays.append((onset - tone_at) * 1000.0 / rate)
    print("| recordings with the tone | attempts | min ms | median ms | max ms |")
    print("|---|---|---|---|---|")
    if delays:
        d = np.array(delays)
        print(f"| {len(delays)} | {len(delays) + len(failures)} | {d.min():.1f} | {np.median(d):.1f} | {d.max():.1f} |")
        print("\nEach: " + ", ".join(f"{v:.1f}" for v in delays) + " ms")
    else:
        print(f"| 0 | {len(failures)} | – | – | – |")
    if failures:
        print(f"\n{len(failures)} failed attempt(s):")
        for f in failures:
            print(f"- {f}")
    results["device_latency_ms"] = delays
    results["device_failures"] = failures


def tone_onset(x, rate):
    """First sample where the 440 Hz tone is present: the envelope (|x| smoothed over one
    period) crosses half the steady amplitude; refined to the first sample above a small
    threshold just before it."""
    if len(x) < rate // 100:
        return None
    env = np.convolve(np.abs(x), np.ones(rate // 440) / (rate // 440), mode="same")
    steady = np.percentile(env, 99)
    if steady < 0.01:
        return None
    above = np.nonzero(env > 0.5 * steady)[0]
    if len(above) == 0:
        return None
    k = int(above[0])
    start = max(0, k - rate // 100)
    thr = 0.1 * steady
    hits = np.nonzero(np.abs(x[start : k + 1]) > thr)[0]
    return start + int(hits[0]) if len(hits) else k


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="chain", choices=["chain", "device"])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--runs", type=int, default=5, help="device round trips to measure")
    parser.add_argument("--attempts", type=int, default=20, help="give up after this many tries")
    parser.add_argument("--only", help="comma-separated sections: pesq,stages,sweep,bytes,latency")
    args = parser.parse_args()
    if not BIN.exists():
        sys.exit(f"{BIN} is missing: run `cargo build --release` first")
    results = {}
    if args.what == "device":
        device_latency(results, args.runs, args.attempts)
    else:
        only = set((args.only or "pesq,stages,sweep,bytes,latency").split(","))
        with tempfile.TemporaryDirectory() as tmp:
            if "pesq" in only:
                section_pesq(results)
            if "stages" in only:
                section_switches(results)
            if "sweep" in only:
                section_sober_sweep(results)
            if "bytes" in only:
                section_bytes(results, tmp)
            if "latency" in only:
                section_chain_latency(results)
    if args.json:
        previous = json.loads(args.json.read_text()) if args.json.exists() else {}
        previous.update(results)
        args.json.write_text(json.dumps(previous, indent=1))


if __name__ == "__main__":
    main()
