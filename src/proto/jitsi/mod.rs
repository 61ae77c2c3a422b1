//! Jitsi Meet: the sans-IO cores of a conference client (brief: `jitsi-protocol.md`).
//!
//! - [`ns`]: the XML namespaces; [`xml`]: elements in and out, with limits.
//! - [`xmpp`]: the XMPP stream over WebSocket (RFC 7395): opening, SASL, binding, pings,
//!   IQ bookkeeping and the disco#info answer.
//! - [`conference`]: the focus, the room and the people in it, over the stream.
//! - [`jingle`]: Jingle offers from the focus (jicofo) turned into a media description, and
//!   palabre's session-accept built from one; source-add and source-remove.
//! - [`colibri`]: the bridge channel's JSON messages.
//! - [`media`]: the media session with the bridge (str0m driven from Jingle).
//!
//! The XML is handled as [`minidom::Element`] trees: each WebSocket frame carries one complete
//! element, so there is no streaming parser state to keep.

pub mod colibri;
pub mod conference;
pub mod jingle;
pub mod media;
pub mod ns;
pub mod xml;
pub mod xmpp;
