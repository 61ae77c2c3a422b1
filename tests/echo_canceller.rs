//! Echo cancellation on a simulated laptop: the far end's speech is played, comes back into the
//! microphone through a room, and `EchoCanceller` must remove it without destroying the local
//! talker's voice when both speak at once.
//!
//! Scenario (48 kHz, 26 s): English speech from the far end for the whole run; echo = the far
//! end through a room impulse response (direct path after the tested delay, six early
//! reflections, a velvet-noise reverberation tail with a 250 ms decay), a small-speaker filter
//! (200 Hz high-pass, 7 kHz low-pass), scaled to -6 dB of the far end; microphone noise at
//! -60 dBFS; French speech from the near end at the echo's level (0 dB signal-to-echo ratio)
//! from 14 s on, so about 7.7 s of double talk.
//!
//! Figures (run with `--nocapture` to see them):
//! - ERLE = 10 log10(E[echo²] / E[output²]) over the far-end-only part after convergence
//!   (2 s to 14 s), and again after the double talk (from 0.5 s after it ends). The output
//!   includes the processed microphone noise, so the figure counts it as residual echo.
//! - Double talk: the output is compared with a reference, the output of a fresh canceller
//!   fed the same microphone signal without any far end or echo, so the canceller's benign
//!   filtering (high-pass, band splitting) is not counted as damage. For each 20 ms the best
//!   gain maps the reference onto the output; "near-end level" is the energy-weighted mean of
//!   those gains, and "near-end to rest" is the near end's energy against whatever the gains
//!   cannot explain (leaked echo, distortion).

use palabre::audio::FRAME_SAMPLES;
use palabre::audio::dsp::aec::EchoCanceller;

const RATE: usize = 48_000;
/// Target from the issue; measured about 35 dB, the margin absorbs tuning changes upstream.
const MIN_ERLE_DB: f64 = 20.0;

/// Deterministic noise source (xorshift64* and Box-Muller), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn gaussian(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-12);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

fn rms_db(x: &[f32]) -> f64 {
    10.0 * (energy(x) / x.len() as f64).log10()
}

fn db_to_gain(db: f64) -> f32 {
    10f64.powf(db / 20.0) as f32
}

/// Reads a 16 kHz mono test WAV and brings it to 48 kHz with a windowed-sinc filter.
fn speech(name: &str) -> Vec<f32> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut reader = hound::WavReader::open(&path).expect("test WAV present");
    assert_eq!(reader.spec().sample_rate, 16_000, "test WAVs are 16 kHz");
    let x: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("valid WAV sample")) / 32_768.0)
        .collect();
    // Zero-stuff by 3 and low-pass at 7.6 kHz (Blackman window, 193 taps, gain 3).
    const HALF: isize = 96;
    let cutoff = 7_600.0 / RATE as f64;
    let taps: Vec<f64> = (-HALF..=HALF)
        .map(|n| {
            let t = n as f64;
            let sinc = if n == 0 {
                2.0 * cutoff
            } else {
                (std::f64::consts::TAU * cutoff * t).sin() / (std::f64::consts::PI * t)
            };
            let phase = std::f64::consts::PI * t / HALF as f64;
            3.0 * sinc * (0.42 + 0.5 * phase.cos() + 0.08 * (2.0 * phase).cos())
        })
        .collect();
    let n_out = x.len() * 3;
    let mut y = vec![0.0f32; n_out];
    for (m, out) in y.iter_mut().enumerate() {
        let first = (m as isize - HALF).max(0);
        let mut k = first + (3 - first % 3) % 3;
        let mut acc = 0.0f64;
        while k <= m as isize + HALF && (k as usize) < n_out {
            acc += f64::from(x[k as usize / 3]) * taps[(m as isize - k + HALF) as usize];
            k += 3;
        }
        *out = acc as f32;
    }
    y
}

/// Room impulse response as (delay in samples, gain) taps.
fn room(delay_ms: usize, rng: &mut Rng) -> Vec<(usize, f32)> {
    let direct = delay_ms * RATE / 1000;
    let mut taps = vec![(direct, 1.0f32)];
    for (ms, gain) in [
        (1.3, 0.45),
        (2.9, -0.35),
        (4.1, 0.3),
        (6.7, -0.25),
        (9.2, 0.2),
        (13.5, -0.15),
    ] {
        taps.push((direct + (ms * RATE as f64 / 1000.0) as usize, gain));
    }
    // Velvet noise: one random-sign impulse in each 1 ms cell from 15 ms to 250 ms, decaying
    // by 60 dB in 250 ms.
    let cell = RATE / 1000;
    for c in 15..250 {
        let position = c * cell + (rng.uniform() * cell as f64) as usize;
        let t = position as f64 / RATE as f64;
        let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
        taps.push((
            direct + position,
            (sign * 0.2 * (-6.91 * t / 0.25).exp()) as f32,
        ));
    }
    taps
}

fn convolve_sparse(x: &[f32], taps: &[(usize, f32)]) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    for &(delay, gain) in taps.iter().filter(|(delay, _)| *delay < x.len()) {
        for (out, &input) in y[delay..].iter_mut().zip(x) {
            *out += gain * input;
        }
    }
    y
}

/// A small loudspeaker: first-order high-pass at 200 Hz, then low-pass at 7 kHz.
fn small_speaker(x: &mut [f32]) {
    let dt = 1.0 / RATE as f32;
    let rc_high = 1.0 / (std::f32::consts::TAU * 200.0);
    let a_high = rc_high / (rc_high + dt);
    let rc_low = 1.0 / (std::f32::consts::TAU * 7_000.0);
    let a_low = dt / (rc_low + dt);
    let (mut previous_in, mut previous_high, mut low) = (0.0f32, 0.0f32, 0.0f32);
    for v in x.iter_mut() {
        let high = a_high * (previous_high + *v - previous_in);
        previous_in = *v;
        previous_high = high;
        low += a_low * (high - low);
        *v = low;
    }
}

struct Scenario {
    far: Vec<f32>,
    echo: Vec<f32>,
    near: Vec<f32>,
    mic: Vec<f32>,
    /// The microphone without far end: near end and noise only.
    mic_without_echo: Vec<f32>,
    double_talk: std::ops::Range<usize>,
}

fn scenario(delay_ms: usize) -> Scenario {
    let english = speech("speech_en.wav");
    let french = speech("speech_fr.wav");
    let total = 26 * RATE;
    let start = 14 * RATE;
    let double_talk = start..start + french.len();

    let far_gain = db_to_gain(-24.0 - rms_db(&english));
    let far: Vec<f32> = english
        .iter()
        .cycle()
        .take(total)
        .map(|&v| v * far_gain)
        .collect();
    let mut rng = Rng(0x0EC0_u64 + delay_ms as u64);
    let mut echo = convolve_sparse(&far, &room(delay_ms, &mut rng));
    small_speaker(&mut echo);
    let echo_gain = db_to_gain(-6.0 - (rms_db(&echo) - rms_db(&far)));
    echo.iter_mut().for_each(|v| *v *= echo_gain);

    let near_gain = db_to_gain(rms_db(&echo[..english.len()]) - rms_db(&french));
    let mut near = vec![0.0f32; total];
    for (out, &v) in near[double_talk.clone()].iter_mut().zip(&french) {
        *out = v * near_gain;
    }
    let noise_gain = db_to_gain(-60.0);
    let mic_without_echo: Vec<f32> = near
        .iter()
        .map(|&v| v + noise_gain * rng.gaussian() as f32)
        .collect();
    let mic = mic_without_echo
        .iter()
        .zip(&echo)
        .map(|(&m, &e)| m + e)
        .collect();
    Scenario {
        far,
        echo,
        near,
        mic,
        mic_without_echo,
        double_talk,
    }
}

/// Runs the canceller frame by frame as the send chain does: render first, then capture.
fn cancel(far: &[f32], mic: &[f32]) -> Vec<f32> {
    let mut aec = EchoCanceller::new();
    let mut out = mic.to_vec();
    for (far, near) in far
        .chunks_exact(FRAME_SAMPLES)
        .zip(out.chunks_exact_mut(FRAME_SAMPLES))
    {
        aec.process_render(far);
        aec.process_capture(near);
    }
    out
}

fn erle_db(s: &Scenario, out: &[f32], range: std::ops::Range<usize>) -> f64 {
    10.0 * (energy(&s.echo[range.clone()]) / energy(&out[range])).log10()
}

struct DoubleTalk {
    /// Near end against echo and noise at the microphone, in dB.
    input_snr_db: f64,
    /// Near end against everything else in the output, in dB.
    output_snr_db: f64,
    /// Level of the near end in the output relative to the echo-free reference, in dB.
    near_level_db: f64,
}

fn double_talk(s: &Scenario, out: &[f32], reference: &[f32]) -> DoubleTalk {
    let range = s.double_talk.clone();
    let (mut kept, mut total, mut rest) = (0.0f64, 0.0f64, 0.0f64);
    let blocks = out[range.clone()]
        .chunks(960)
        .zip(reference[range.clone()].chunks(960));
    for (o, r) in blocks {
        let e = energy(r);
        let dot: f64 = o
            .iter()
            .zip(r)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let gain = if e > 0.0 {
            (dot / e).clamp(0.0, 1.5)
        } else {
            0.0
        };
        kept += gain * gain * e;
        total += e;
        rest += o
            .iter()
            .zip(r)
            .map(|(&a, &b)| (f64::from(a) - gain * f64::from(b)).powi(2))
            .sum::<f64>();
    }
    let interference: f64 = range
        .clone()
        .map(|i| f64::from(s.mic[i] - s.near[i]).powi(2))
        .sum();
    DoubleTalk {
        input_snr_db: 10.0 * (energy(&s.near[range]) / interference).log10(),
        output_snr_db: 10.0 * (kept / rest).log10(),
        near_level_db: 10.0 * (kept / total).log10(),
    }
}

fn check(delay_ms: usize) {
    let s = scenario(delay_ms);
    let started = std::time::Instant::now();
    let out = cancel(&s.far, &s.mic);
    let per_frame_us = started.elapsed().as_secs_f64() * 1e6 / (s.mic.len() / FRAME_SAMPLES) as f64;
    let silence = vec![0.0f32; s.far.len()];
    let reference = cancel(&silence, &s.mic_without_echo);

    let erle = erle_db(&s, &out, 2 * RATE..s.double_talk.start);
    let erle_after = erle_db(&s, &out, s.double_talk.end + RATE / 2..s.mic.len());
    let dt = double_talk(&s, &out, &reference);
    let dt_range = s.double_talk.clone();
    let passthrough_db = 10.0
        * (energy(&reference[dt_range.clone()]) / energy(&s.mic_without_echo[dt_range])).log10();
    println!(
        "delay {delay_ms} ms: ERLE {erle:.1} dB (after double talk {erle_after:.1} dB); \
         double talk: near end to rest {:.1} dB at the mic -> {:.1} dB out, near-end level \
         {:.1} dB; near end alone through the canceller {passthrough_db:+.1} dB; \
         {per_frame_us:.0} us/frame (this build)",
        dt.input_snr_db, dt.output_snr_db, dt.near_level_db
    );

    assert!(
        erle >= MIN_ERLE_DB,
        "delay {delay_ms} ms: ERLE {erle:.1} dB < {MIN_ERLE_DB} dB"
    );
    assert!(
        erle_after >= MIN_ERLE_DB,
        "delay {delay_ms} ms: ERLE after double talk {erle_after:.1} dB < {MIN_ERLE_DB} dB"
    );
    // Measured about -5 dB and +7 dB; a canceller that mutes the talker in double talk
    // (half duplex) fails the first, one that lets the echo through fails the second.
    assert!(
        dt.near_level_db > -10.0,
        "delay {delay_ms} ms: near end lost {:.1} dB in double talk",
        -dt.near_level_db
    );
    assert!(
        dt.output_snr_db > dt.input_snr_db + 4.0,
        "delay {delay_ms} ms: near end to rest only {:.1} dB in double talk (mic: {:.1} dB)",
        dt.output_snr_db,
        dt.input_snr_db
    );
    // Without echo, the near end goes through untouched apart from the high-pass filter.
    assert!(
        passthrough_db.abs() < 1.5,
        "delay {delay_ms} ms: near end alone changed by {passthrough_db:+.1} dB"
    );
}

#[test]
fn cancels_echo_delayed_40_ms() {
    check(40);
}

#[test]
fn cancels_echo_delayed_120_ms() {
    check(120);
}
