#!/usr/bin/env python3
"""Wideband PESQ (ITU-T P.862.2, MOS-LQO) of a degraded WAV against a reference WAV.

    pesq_pair.py REFERENCE.wav DEGRADED.wav [--max-lag SECONDS]

Both files are brought to 16 kHz (16-bit PCM, any channel count: channels are averaged). Rates
that are a multiple of 16 kHz are low-passed with the Kaiser-windowed sinc of `quality.py` and
decimated; other rates are resampled in the frequency domain. The degraded signal is then
aligned on the reference by cross-correlation (the reference is searched for in the first
`--max-lag` seconds of the degraded one, default: all of it), cut to the reference's length and
scored with PyPI `pesq`. Prints one JSON line:

    {"pesq": 3.41, "lag_s": 1.234, "correlation": 0.87, "reference_s": 10.7, "degraded_s": 14.2}

Used by `benches/mumble_call.rs` with the bench venv's python (`target/bench-venv`, made by
`scripts/bench`): the degraded file is what a headless palabre recorded during a call, so it
starts with whatever silence came before the speech.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from pesq import pesq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import best_lag, fft_convolve, lowpass, read_wav  # noqa: E402

RATE = 16_000


def to_16k(rate, x):
    """`x` at `rate` → 16 kHz."""
    if rate == RATE:
        return x
    if rate % RATE == 0:
        factor = rate // RATE
        lp = lowpass(0.48 * RATE, rate)
        delay = (len(lp) - 1) // 2
        y = fft_convolve(x, lp)[delay : delay + len(x)]
        return y[::factor]
    # Any other rate: band-limited resampling in the frequency domain (offline, whole file).
    n_out = int(round(len(x) * RATE / rate))
    spectrum = np.fft.rfft(x)
    keep = n_out // 2 + 1
    if len(spectrum) >= keep:
        spectrum = spectrum[:keep]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(keep - len(spectrum), dtype=complex)])
    return np.fft.irfft(spectrum, n_out) * (n_out / len(x))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference", type=Path)
    parser.add_argument("degraded", type=Path)
    parser.add_argument("--max-lag", type=float, help="seconds of the degraded file to search (default: all)")
    args = parser.parse_args()

    ref_rate, ref = read_wav(args.reference)
    deg_rate, deg = read_wav(args.degraded)
    ref16, deg16 = to_16k(ref_rate, ref), to_16k(deg_rate, deg)
    # Room for the whole reference after any lag searched.
    if len(deg16) < len(ref16):
        deg16 = np.concatenate([deg16, np.zeros(len(ref16) - len(deg16))])
    max_lag = len(deg16) - len(ref16)
    if args.max_lag is not None:
        max_lag = min(max_lag, int(args.max_lag * RATE))
    lag, corr = best_lag(ref16, deg16, max(max_lag, 0))
    k = int(round(lag))
    aligned = deg16[k : k + len(ref16)]
    if len(aligned) < len(ref16):
        aligned = np.concatenate([aligned, np.zeros(len(ref16) - len(aligned))])
    score = float(pesq(RATE, ref16 * 32768.0, aligned * 32768.0, "wb"))
    print(
        json.dumps(
            {
                "pesq": round(score, 3),
                "lag_s": round(lag / RATE, 4),
                "correlation": round(corr, 4),
                "reference_s": round(len(ref16) / RATE, 3),
                "degraded_s": round(len(deg) / deg_rate, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
