//! XML namespaces used with Jitsi Meet (brief, appendix A).
#![allow(missing_docs)] // Each constant is its namespace; the names say what they are for.

pub const CLIENT: &str = "jabber:client";
pub const FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
pub const STREAMS: &str = "http://etherx.jabber.org/streams";
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
pub const SM: &str = "urn:xmpp:sm:3";
pub const PING: &str = "urn:xmpp:ping";
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
pub const CAPS: &str = "http://jabber.org/protocol/caps";
pub const MUC: &str = "http://jabber.org/protocol/muc";
pub const MUC_USER: &str = "http://jabber.org/protocol/muc#user";
pub const NICK: &str = "http://jabber.org/protocol/nick";
pub const FOCUS: &str = "http://jitsi.org/protocol/focus";
pub const JITMEET: &str = "http://jitsi.org/jitmeet";
pub const JITMEET_AUDIO: &str = "http://jitsi.org/jitmeet/audio";
pub const JITMEET_VIDEO: &str = "http://jitsi.org/jitmeet/video";
pub const START_MUTED: &str = "http://jitsi.org/jitmeet/start-muted";
pub const COLIBRI: &str = "http://jitsi.org/protocol/colibri";
pub const COLIBRI2: &str = "jitsi:colibri2";
pub const JINGLE: &str = "urn:xmpp:jingle:1";
pub const JINGLE_ERRORS: &str = "urn:xmpp:jingle:errors:1";
pub const JINGLE_RTP: &str = "urn:xmpp:jingle:apps:rtp:1";
pub const JINGLE_RTP_AUDIO: &str = "urn:xmpp:jingle:apps:rtp:audio";
pub const JINGLE_RTP_VIDEO: &str = "urn:xmpp:jingle:apps:rtp:video";
pub const JINGLE_RTCP_FB: &str = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0";
pub const JINGLE_HDREXT: &str = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0";
pub const JINGLE_SSMA: &str = "urn:xmpp:jingle:apps:rtp:ssma:0";
pub const JINGLE_GROUPING: &str = "urn:xmpp:jingle:apps:grouping:0";
pub const JINGLE_DTLS: &str = "urn:xmpp:jingle:apps:dtls:0";
pub const JINGLE_ICE_UDP: &str = "urn:xmpp:jingle:transports:ice-udp:1";
pub const JINGLE_DTLS_SCTP: &str = "urn:xmpp:jingle:transports:dtls-sctp:1";
pub const EXTDISCO: &str = "urn:xmpp:extdisco:2";
