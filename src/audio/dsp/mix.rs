//! Mixing remote streams into one playback frame, with clipping protection.

/// Level above which the limiter starts to bend the signal.
const KNEE: f32 = 0.8;

/// Adds `source` scaled by `volume` into `out`.
pub fn mix_into(out: &mut [f32], source: &[f32], volume: f32) {
    for (o, s) in out.iter_mut().zip(source) {
        *o += s * volume;
    }
}

/// Soft limiter: samples under ±[`KNEE`] pass unchanged, louder ones are bent smoothly towards
/// ±1.0 and never exceed it, so a sum of loud talkers does not clip harshly.
pub fn limit(frame: &mut [f32]) {
    let headroom = 1.0 - KNEE;
    for sample in frame.iter_mut() {
        let magnitude = sample.abs();
        if magnitude > KNEE {
            let over = (magnitude - KNEE) / headroom;
            let bent = KNEE + headroom * (over / (1.0 + over));
            *sample = bent.copysign(*sample);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_sum_is_exact() {
        let mut out = [0.0; 4];
        mix_into(&mut out, &[0.1, -0.2, 0.3, 0.0], 1.0);
        mix_into(&mut out, &[0.1, 0.1, -0.1, 0.2], 0.5);
        limit(&mut out);
        let expected = [0.15, -0.15, 0.25, 0.1];
        for (o, e) in out.iter().zip(expected) {
            assert!((o - e).abs() < 1e-6, "{out:?}");
        }
    }

    #[test]
    fn loud_sum_never_clips_and_keeps_order() {
        let mut out = [0.0; 5];
        let loud = [0.9, 1.0, -1.0, 0.5, 3.0];
        mix_into(&mut out, &loud, 1.0);
        mix_into(&mut out, &loud, 1.0);
        limit(&mut out);
        assert!(out.iter().all(|s| s.abs() < 1.0), "{out:?}");
        assert!(
            out[4] > out[1] && out[1] > out[0] && out[0] > out[3],
            "monotonic: {out:?}"
        );
        assert!(out[2] < -0.8);
    }
}
