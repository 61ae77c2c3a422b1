//! Discovery (to be written).
