//! Jingle (to be written).
