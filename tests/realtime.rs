//! The real-time rule, enforced: the device callback bodies never allocate, whatever the state
//! of their rings. Runs with the `assert-no-alloc` feature (scripts/test turns it on).
#![cfg(all(feature = "assert-no-alloc", debug_assertions))]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use palabre::audio::rt::{Capture, Playback, RtCounters, alloc_violations};

#[test]
fn callbacks_never_allocate() {
    // The detector works: an allocation inside the guard is counted.
    let before = alloc_violations();
    assert_no_alloc::assert_no_alloc(|| {
        let v = std::hint::black_box(vec![1u8; 64]);
        drop(v);
    });
    assert!(
        alloc_violations() > before,
        "assert_no_alloc did not see an allocation"
    );

    let before = alloc_violations();
    let counters = Arc::new(RtCounters::default());
    let (producer, mut consumer) = rtrb::RingBuffer::<f32>::new(4800);
    let mut capture = Capture::new(producer, 2, counters.clone());
    let stereo_f32 = vec![0.25f32; 960];
    let stereo_i16 = vec![8192i16; 960];
    // Fill the ring past full: overruns are counted, nothing allocates.
    for _ in 0..20 {
        capture.process(&stereo_f32);
        capture.process(&stereo_i16);
    }
    assert!(counters.capture_overruns.load(Ordering::Relaxed) > 0);
    assert_eq!(consumer.pop().expect("a sample"), 0.25);

    let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(4800);
    let mut playback = Playback::new(consumer, 2, counters.clone());
    for _ in 0..1000 {
        let _ = producer.push(0.5);
    }
    let mut out_f32 = vec![0.0f32; 960];
    let mut out_u16 = vec![0u16; 960];
    for _ in 0..5 {
        playback.process(&mut out_f32);
        playback.process(&mut out_u16);
    }
    assert!(
        counters.playback_underruns.load(Ordering::Relaxed) > 0,
        "ring ran dry and said so"
    );
    assert_eq!(alloc_violations(), before, "a callback body allocated");
}
