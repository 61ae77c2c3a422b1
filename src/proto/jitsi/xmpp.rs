//! XMPP stream (to be written).
