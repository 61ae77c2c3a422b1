//! Pure signal processing over 10 ms frames of 48 kHz mono `f32`: no I/O, no threads, no clock.

pub mod aec;
pub mod denoise;
pub mod gate;
pub mod mix;
pub mod resample;
