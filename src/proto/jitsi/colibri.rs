//! The bridge channel (to be written).
