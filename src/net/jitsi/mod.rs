//! Jitsi Meet: discovery of an instance's settings and the connection driver.

pub mod discovery;
pub mod driver;
