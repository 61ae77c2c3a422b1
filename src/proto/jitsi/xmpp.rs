//! The XMPP stream over WebSocket (RFC 7395), sans-IO.
//!
//! [`Stream`] takes the text frames the server sends ([`Stream::handle_frame`]) and the passing
//! of time ([`Stream::handle_timeout`]), and gives back the frames to send
//! ([`Stream::poll_transmit`]) and what happened ([`Stream::poll_event`]). It does, by itself:
//!
//! 1. the opening: `<open/>` to the domain, SASL (ANONYMOUS for guests, PLAIN with a user name
//!    and password), the second `<open/>`, resource binding;
//! 2. keep-alive: an XMPP ping (XEP-0199) to the domain every [`PING_INTERVAL`]; after
//!    [`PING_FAILURES`] unanswered in a row (each within [`PING_TIMEOUT`]) the connection is
//!    declared lost — the figures lib-jitsi-meet uses;
//! 3. answers to the server's and others' pings and to service discovery (disco#info, with
//!    the features the caller declares, also under the XEP-0115 `node#ver` name);
//! 4. the bookkeeping of the caller's IQ requests: each gets its answer, or a timeout, once.
//!
//! Everything else (presences, messages, IQ requests such as Jingle) goes to the caller, which
//! must answer IQ requests with [`Stream::respond`] or [`Stream::respond_error`].
//!
//! Stream management (XEP-0198): when the server offers it, palabre enables it and answers the
//! server's acknowledgement requests with the count of stanzas it handled, so that the server
//! knows what arrived. Resumption is not asked for: a lost connection is a new connection.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine as _;
use minidom::Element;

use crate::i18n::Phrase;
use sha1::{Digest as _, Sha1};

use super::ns;
use super::xml::{self, ElementExt as _};

/// Time between two keep-alive pings.
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
/// Time a ping may take to be answered.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// Unanswered pings in a row after which the connection is lost.
pub const PING_FAILURES: u32 = 2;
/// Time the opening (up to a bound resource) may take.
pub const OPENING_TIMEOUT: Duration = Duration::from_secs(20);
/// Time an IQ request of the caller may wait for its answer.
pub const IQ_TIMEOUT: Duration = Duration::from_secs(20);
/// At most this many IQ requests of the caller may wait at once.
pub const MAX_PENDING_IQS: usize = 256;

/// How to log in.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// SASL ANONYMOUS: a guest with a name the server makes up.
    Anonymous,
    /// SASL PLAIN with an account of the server.
    Plain {
        /// The account's user name (the local part of its address).
        user: String,
        /// Its password.
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Anonymous => f.write_str("Anonymous"),
            Auth::Plain { user, .. } => write!(f, "Plain {{ user: {user:?} }}"),
        }
    }
}

/// What the stream needs to know.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The XMPP domain to open the stream to (`hosts.anonymousdomain` for guests).
    pub domain: String,
    /// How to log in.
    pub auth: Auth,
    /// The features answered to service discovery (disco#info).
    pub features: Vec<String>,
    /// The XEP-0115 node that names this software.
    pub caps_node: String,
}

/// An error of a stanza (RFC 6120 §8.3).
#[derive(Debug, Clone, PartialEq)]
pub struct StanzaError {
    /// `auth`, `cancel`, `continue`, `modify` or `wait`.
    pub error_type: String,
    /// The defined condition, such as `not-authorized` (empty when there is none).
    pub condition: String,
    /// The server's explanation, when it gave one.
    pub text: Option<String>,
    /// The whole `<error/>` element, for application-specific conditions.
    pub element: Element,
}

impl StanzaError {
    /// Reads the `<error/>` child of a stanza of type `error`.
    pub fn of(stanza: &Element) -> Option<StanzaError> {
        let error = stanza.get_child("error", ns::CLIENT)?;
        let condition = error
            .children()
            .find(|child| child.ns() == ns::STANZAS && child.name() != "text")
            .map(|child| child.name().to_owned())
            .unwrap_or_default();
        let text = error
            .get_child("text", ns::STANZAS)
            .map(Element::text)
            .filter(|text| !text.trim().is_empty());
        Some(StanzaError {
            error_type: error.attr("type").unwrap_or_default().to_owned(),
            condition,
            text,
            element: error.clone(),
        })
    }

    /// Whether the error element has the child `name` in namespace `namespace` (an
    /// application-specific condition such as Jitsi's `<lobbyroom/>`).
    pub fn has(&self, name: &str, namespace: &str) -> bool {
        self.element.has_child(name, namespace)
    }
}

/// Why an IQ request got no result.
#[derive(Debug, Clone, PartialEq)]
pub enum IqFailure {
    /// The other side answered with an error.
    Error(StanzaError),
    /// No answer within [`IQ_TIMEOUT`].
    Timeout,
    /// The stream ended first.
    Closed,
}

/// Why the stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// [`Stream::close`] was called and the server closed its side.
    Closed,
    /// The server closed the stream.
    ClosedByServer,
    /// The server refused the login; the phrase says why.
    LoginRefused(Phrase),
    /// The server reported a stream error; the phrase says which.
    StreamError(Phrase),
    /// The server stopped answering pings.
    Lost,
    /// The opening did not finish in time.
    OpeningTimedOut,
    /// The server broke the protocol; the phrase says how.
    Protocol(Phrase),
}

impl StreamEnd {
    /// The end for the user (the server's or the protocol's own words are kept as text).
    pub fn phrase(&self) -> Phrase {
        match self {
            StreamEnd::Closed => Phrase::tr("jitsi-disconnected"),
            StreamEnd::ClosedByServer => Phrase::tr("jitsi-server-closed"),
            StreamEnd::LoginRefused(why)
            | StreamEnd::StreamError(why)
            | StreamEnd::Protocol(why) => why.clone(),
            StreamEnd::Lost => Phrase::tr("jitsi-connection-lost-pings"),
            StreamEnd::OpeningTimedOut => Phrase::tr("jitsi-opening-timeout"),
        }
    }

    /// The end in English (the command line's words).
    pub fn sentence(&self) -> String {
        self.phrase().to_string()
    }
}

/// What happened on the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Logged in and bound: the stream is ready for stanzas. `jid` is palabre's full address.
    Ready {
        /// The full JID the server bound, `node@domain/resource`.
        jid: String,
    },
    /// An IQ `get` or `set` for the caller, who must answer it.
    Request(Element),
    /// The answer to an IQ request sent with [`Stream::send_iq`].
    Response {
        /// The id [`Stream::send_iq`] returned.
        id: String,
        /// The `<iq type='result'/>`, or why there is none.
        result: Result<Element, IqFailure>,
    },
    /// A presence stanza.
    Presence(Element),
    /// A message stanza.
    Message(Element),
    /// The stream ended; nothing more comes.
    Closed(StreamEnd),
}

/// The type of an IQ request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IqType {
    /// Asks for something.
    Get,
    /// Changes something.
    Set,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// First `<open/>` sent, waiting for the server's and its features.
    Opening,
    /// SASL request sent.
    Authenticating,
    /// Second `<open/>` sent after SASL success.
    Reopening,
    /// Resource binding requested.
    Binding,
    /// Ready for stanzas.
    Ready,
    /// `<close/>` sent, waiting for the server's.
    Closing,
    /// Over.
    Closed,
}

#[derive(Debug)]
struct Pending {
    deadline: Instant,
    /// An internal keep-alive ping rather than a caller's request.
    ping: bool,
}

/// The XMPP stream state machine. See the module documentation.
#[derive(Debug)]
pub struct Stream {
    config: StreamConfig,
    state: State,
    jid: Option<String>,
    transmit: VecDeque<String>,
    events: VecDeque<StreamEvent>,
    pending: HashMap<String, Pending>,
    next_id: u64,
    id_prefix: String,
    opening_deadline: Instant,
    next_ping: Option<Instant>,
    ping_failures: u32,
    caps_ver: String,
    /// The server offered stream management (XEP-0198).
    sm_offered: bool,
    /// Stream management is on: `sm_handled` counts the stanzas received since.
    sm_enabled: bool,
    sm_handled: u32,
}

const BIND_ID: &str = "palabre-bind";

impl Stream {
    /// A stream that opens itself: the first frame to send is ready at once. `random` seeds
    /// the IQ ids (so that two connections never reuse one).
    pub fn new(config: StreamConfig, now: Instant, random: u64) -> Stream {
        let caps_ver = caps_ver(&config.features);
        let mut stream = Stream {
            config,
            state: State::Opening,
            jid: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            pending: HashMap::new(),
            next_id: 1,
            id_prefix: format!("p{random:x}-"),
            opening_deadline: now + OPENING_TIMEOUT,
            next_ping: None,
            ping_failures: 0,
            caps_ver,
            sm_offered: false,
            sm_enabled: false,
            sm_handled: 0,
        };
        stream.send_open();
        stream
    }

    /// The full JID once bound.
    pub fn jid(&self) -> Option<&str> {
        self.jid.as_deref()
    }

    /// Whether stanzas can be sent.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// Whether the stream is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The XEP-0115 `<c/>` element for presences: the caps node and the hash of the features.
    pub fn caps(&self) -> Element {
        xml::element("c", ns::CAPS)
            .with("hash", "sha-1")
            .with("node", self.config.caps_node.clone())
            .with("ver", self.caps_ver.clone())
    }

    /// The next frame to send, if any.
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.transmit.pop_front()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// When [`Stream::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let pending = self.pending.values().map(|pending| pending.deadline).min();
        let opening = (self.state != State::Ready).then_some(self.opening_deadline);
        // Pings only while ready: a ping time left behind would be a deadline in the past.
        let ping = self.next_ping.filter(|_| self.state == State::Ready);
        [pending, opening, ping].into_iter().flatten().min()
    }

    /// Lets time pass: keep-alive pings, timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if self.state != State::Ready && now >= self.opening_deadline {
            let end = if self.state == State::Closing {
                StreamEnd::Closed
            } else {
                StreamEnd::OpeningTimedOut
            };
            self.end(end);
            return;
        }
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            let Some(pending) = self.pending.remove(&id) else {
                continue;
            };
            if pending.ping {
                self.ping_failures += 1;
                if self.ping_failures >= PING_FAILURES {
                    self.end(StreamEnd::Lost);
                    return;
                }
            } else if id == BIND_ID {
                self.end(StreamEnd::OpeningTimedOut);
                return;
            } else {
                self.events.push_back(StreamEvent::Response {
                    id,
                    result: Err(IqFailure::Timeout),
                });
            }
        }
        if self.state == State::Ready && self.next_ping.is_some_and(|at| at <= now) {
            let id = self.new_id();
            let ping = xml::element("iq", ns::CLIENT)
                .with("type", "get")
                .with("id", id.clone())
                .with("to", self.config.domain.clone())
                .child(xml::element("ping", ns::PING));
            self.push(&ping);
            self.pending.insert(
                id,
                Pending {
                    deadline: now + PING_TIMEOUT,
                    ping: true,
                },
            );
            self.next_ping = Some(now + PING_INTERVAL);
        }
    }

    /// Takes one text frame from the server.
    pub fn handle_frame(&mut self, text: &str, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        let element = match xml::parse(text) {
            Ok(element) => element,
            Err(error) => {
                self.end(StreamEnd::Protocol(Phrase::Text(format!(
                    "{}.",
                    capitalise_first(&error.to_string())
                ))));
                return;
            }
        };
        if element.is("close", ns::FRAMING) {
            if self.state != State::Closing {
                self.push(&xml::element("close", ns::FRAMING));
                self.end(StreamEnd::ClosedByServer);
            } else {
                self.end(StreamEnd::Closed);
            }
            return;
        }
        if element.is("error", ns::STREAMS) {
            let condition = element
                .children()
                .find(|child| child.name() != "text")
                .map(|child| child.name().to_owned())
                .unwrap_or_else(|| "undefined-condition".to_owned());
            let text = element
                .children()
                .find(|child| child.name() == "text")
                .map(Element::text);
            let sentence = match text {
                Some(text) if !text.trim().is_empty() => Phrase::tr_args(
                    "xmpp-stream-error-text",
                    vec![
                        ("condition", condition.into()),
                        ("text", text.trim().into()),
                    ],
                ),
                _ => Phrase::tr_args("xmpp-stream-error", vec![("condition", condition.into())]),
            };
            self.end(StreamEnd::StreamError(sentence));
            return;
        }
        match self.state {
            State::Opening | State::Reopening => self.on_opening(&element, now),
            State::Authenticating => self.on_sasl(&element),
            State::Binding => self.on_bind(&element, now),
            State::Ready | State::Closing => self.on_stanza(element, now),
            State::Closed => {}
        }
    }

    /// Sends an IQ request; its answer comes as [`StreamEvent::Response`] with the returned
    /// id. Refused (`None`) when the stream is not ready or too many requests wait.
    pub fn send_iq(
        &mut self,
        kind: IqType,
        to: Option<&str>,
        payload: Element,
        now: Instant,
    ) -> Option<String> {
        if self.state != State::Ready || self.pending.len() >= MAX_PENDING_IQS {
            return None;
        }
        let id = self.new_id();
        let iq = xml::element("iq", ns::CLIENT)
            .with(
                "type",
                match kind {
                    IqType::Get => "get",
                    IqType::Set => "set",
                },
            )
            .with("id", id.clone())
            .with_opt("to", to)
            .child(payload);
        self.push(&iq);
        self.pending.insert(
            id.clone(),
            Pending {
                deadline: now + IQ_TIMEOUT,
                ping: false,
            },
        );
        Some(id)
    }

    /// Sends a presence or message stanza as it is. Ignored unless the stream is ready.
    pub fn send(&mut self, stanza: &Element) {
        if self.state == State::Ready {
            self.push(stanza);
        }
    }

    /// Answers an IQ request from [`StreamEvent::Request`] with a result, holding `payload`
    /// when given.
    pub fn respond(&mut self, request: &Element, payload: Option<Element>) {
        let mut result = xml::element("iq", ns::CLIENT)
            .with("type", "result")
            .with_opt("id", request.attr("id"))
            .with_opt("to", request.attr("from"));
        if let Some(payload) = payload {
            result.append_child(payload);
        }
        self.send(&result);
    }

    /// Answers an IQ request with an error: `error_type` such as `cancel`, `condition` a
    /// defined condition such as `service-unavailable`, and optionally an application-specific
    /// condition element.
    pub fn respond_error(
        &mut self,
        request: &Element,
        error_type: &str,
        condition: &str,
        specific: Option<Element>,
    ) {
        let mut error = xml::element("error", ns::CLIENT)
            .with("type", error_type)
            .child(xml::element(condition, ns::STANZAS));
        if let Some(specific) = specific {
            error.append_child(specific);
        }
        let reply = xml::element("iq", ns::CLIENT)
            .with("type", "error")
            .with_opt("id", request.attr("id"))
            .with_opt("to", request.attr("from"))
            .child(error);
        self.send(&reply);
    }

    /// Closes the stream; [`StreamEvent::Closed`] follows when the server has closed its side
    /// (or at once when the stream was not open yet).
    pub fn close(&mut self, now: Instant) {
        match self.state {
            State::Closed | State::Closing => {}
            State::Ready => {
                self.push(&xml::element("close", ns::FRAMING));
                self.state = State::Closing;
                self.next_ping = None;
                // The server has this long to close its side.
                self.opening_deadline = now + PING_TIMEOUT;
            }
            _ => {
                self.push(&xml::element("close", ns::FRAMING));
                self.end(StreamEnd::Closed);
            }
        }
    }

    /// The socket closed under the stream.
    pub fn handle_disconnect(&mut self) {
        if self.state == State::Closing {
            self.end(StreamEnd::Closed);
        } else if self.state != State::Closed {
            self.end(StreamEnd::ClosedByServer);
        }
    }

    fn on_opening(&mut self, element: &Element, now: Instant) {
        if element.is("open", ns::FRAMING) {
            return;
        }
        if !element.is("features", ns::STREAMS) {
            self.end(StreamEnd::Protocol(Phrase::tr_args(
                "xmpp-unexpected-while-opening",
                vec![("element", element.name().into())],
            )));
            return;
        }
        if self.state == State::Opening {
            let mechanisms: Vec<String> = element
                .get_child("mechanisms", ns::SASL)
                .map(|mechanisms| {
                    mechanisms
                        .children()
                        .filter(|m| m.name() == "mechanism")
                        .map(|m| m.text().trim().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let (mechanism, initial) = match &self.config.auth {
                Auth::Anonymous => ("ANONYMOUS", None),
                Auth::Plain { user, password } => {
                    let mut message = Vec::with_capacity(user.len() + password.len() + 2);
                    message.push(0);
                    message.extend_from_slice(user.as_bytes());
                    message.push(0);
                    message.extend_from_slice(password.as_bytes());
                    (
                        "PLAIN",
                        Some(base64::engine::general_purpose::STANDARD.encode(message)),
                    )
                }
            };
            if !mechanisms.iter().any(|m| m == mechanism) {
                let domain = || ("domain", self.config.domain.as_str().into());
                let sentence = match self.config.auth {
                    Auth::Anonymous => Phrase::tr_args("xmpp-no-guests", vec![domain()]),
                    Auth::Plain { .. } => Phrase::tr_args("xmpp-no-password-login", vec![domain()]),
                };
                self.end(StreamEnd::LoginRefused(sentence));
                return;
            }
            let mut auth = xml::element("auth", ns::SASL).with("mechanism", mechanism);
            if let Some(initial) = initial {
                auth.append_text(initial);
            }
            self.push(&auth);
            self.state = State::Authenticating;
        } else {
            if !element.has_child("bind", ns::BIND) {
                self.end(StreamEnd::Protocol(Phrase::tr("xmpp-no-binding")));
                return;
            }
            self.sm_offered = element.has_child("sm", ns::SM);
            let bind = xml::element("iq", ns::CLIENT)
                .with("type", "set")
                .with("id", BIND_ID)
                .child(xml::element("bind", ns::BIND));
            self.push(&bind);
            self.pending.insert(
                BIND_ID.to_owned(),
                Pending {
                    deadline: now + IQ_TIMEOUT,
                    ping: false,
                },
            );
            self.state = State::Binding;
        }
    }

    fn on_sasl(&mut self, element: &Element) {
        if element.is("success", ns::SASL) {
            self.state = State::Reopening;
            self.send_open();
        } else if element.is("failure", ns::SASL) {
            let condition = element
                .children()
                .find(|child| child.name() != "text")
                .map(|child| child.name().to_owned())
                .unwrap_or_default();
            let reason = if condition.is_empty() {
                Phrase::tr("jitsi-no-reason")
            } else {
                Phrase::Text(condition.clone())
            };
            let sentence = match (&self.config.auth, condition.as_str()) {
                (Auth::Plain { .. }, "not-authorized") => Phrase::tr("xmpp-wrong-password"),
                (Auth::Anonymous, _) => Phrase::tr_args(
                    "xmpp-guest-refused",
                    vec![
                        ("domain", self.config.domain.as_str().into()),
                        ("reason", reason.into()),
                    ],
                ),
                (_, "account-disabled") => Phrase::tr("xmpp-account-disabled"),
                (_, _) => Phrase::tr_args("xmpp-login-refused", vec![("reason", reason.into())]),
            };
            self.end(StreamEnd::LoginRefused(sentence));
        } else {
            self.end(StreamEnd::Protocol(Phrase::tr_args(
                "xmpp-unexpected-login-answer",
                vec![("element", element.name().into())],
            )));
        }
    }

    fn on_bind(&mut self, element: &Element, now: Instant) {
        if !element.is("iq", ns::CLIENT) || element.attr("id") != Some(BIND_ID) {
            // Nothing else is expected before binding; ignore it.
            return;
        }
        self.pending.remove(BIND_ID);
        let jid = element
            .get_child("bind", ns::BIND)
            .and_then(|bind| bind.get_child("jid", ns::BIND))
            .map(|jid| jid.text().trim().to_owned());
        match (element.attr("type"), jid) {
            (Some("result"), Some(jid)) if valid_full_jid(&jid) => {
                self.jid = Some(jid.clone());
                self.state = State::Ready;
                if self.sm_offered {
                    self.push(&xml::element("enable", ns::SM));
                }
                self.next_ping = Some(now + PING_INTERVAL);
                self.events.push_back(StreamEvent::Ready { jid });
            }
            _ => self.end(StreamEnd::Protocol(Phrase::tr("xmpp-binding-failed"))),
        }
    }

    fn on_stanza(&mut self, stanza: Element, _now: Instant) {
        if stanza.ns() == ns::SM {
            match stanza.name() {
                "enabled" => {
                    self.sm_enabled = true;
                    self.sm_handled = 0;
                }
                "failed" => self.sm_enabled = false,
                "r" if self.sm_enabled => {
                    let ack = xml::element("a", ns::SM).with("h", self.sm_handled.to_string());
                    self.push(&ack);
                }
                _ => {}
            }
            return;
        }
        if stanza.ns() != ns::CLIENT {
            // Other stream-level elements are ignored.
            return;
        }
        if self.sm_enabled && matches!(stanza.name(), "iq" | "presence" | "message") {
            // XEP-0198 counts modulo 2^32.
            self.sm_handled = self.sm_handled.wrapping_add(1);
        }
        match stanza.name() {
            "iq" => self.on_iq(stanza),
            "presence" => self.events.push_back(StreamEvent::Presence(stanza)),
            "message" => self.events.push_back(StreamEvent::Message(stanza)),
            _ => {}
        }
    }

    fn on_iq(&mut self, iq: Element) {
        match iq.attr("type") {
            Some("result") | Some("error") => {
                let Some(id) = iq.attr("id").map(str::to_owned) else {
                    return;
                };
                let Some(pending) = self.pending.remove(&id) else {
                    return;
                };
                if pending.ping {
                    // Any answer, even an error, shows the server is there.
                    self.ping_failures = 0;
                    return;
                }
                let result = if iq.attr("type") == Some("result") {
                    Ok(iq)
                } else {
                    Err(IqFailure::Error(StanzaError::of(&iq).unwrap_or_else(
                        || StanzaError {
                            error_type: "cancel".to_owned(),
                            condition: String::new(),
                            text: None,
                            element: xml::element("error", ns::CLIENT),
                        },
                    )))
                };
                self.events.push_back(StreamEvent::Response { id, result });
            }
            Some("get") | Some("set") => {
                if iq.attr("id").is_none() {
                    return;
                }
                let payload = iq.children().next();
                let is_get = iq.attr("type") == Some("get");
                match payload {
                    Some(ping) if is_get && ping.is("ping", ns::PING) => self.respond(&iq, None),
                    Some(query) if is_get && query.is("query", ns::DISCO_INFO) => {
                        let node = query.attr("node").map(str::to_owned);
                        let answer = self.disco_info(node.as_deref());
                        match answer {
                            Some(answer) => self.respond(&iq, Some(answer)),
                            None => self.respond_error(&iq, "cancel", "item-not-found", None),
                        }
                    }
                    Some(_) => self.events.push_back(StreamEvent::Request(iq)),
                    None => self.respond_error(&iq, "modify", "bad-request", None),
                }
            }
            _ => {}
        }
    }

    fn disco_info(&self, node: Option<&str>) -> Option<Element> {
        if let Some(node) = node
            && node != format!("{}#{}", self.config.caps_node, self.caps_ver)
        {
            return None;
        }
        let mut query = xml::element("query", ns::DISCO_INFO).with_opt("node", node);
        query.append_child(
            xml::element("identity", ns::DISCO_INFO)
                .with("category", "client")
                .with("type", "pc")
                .with("name", "palabre"),
        );
        for feature in &self.config.features {
            query
                .append_child(xml::element("feature", ns::DISCO_INFO).with("var", feature.clone()));
        }
        Some(query)
    }

    fn send_open(&mut self) {
        let open = xml::element("open", ns::FRAMING)
            .with("to", self.config.domain.clone())
            .with("version", "1.0");
        self.push(&open);
    }

    fn push(&mut self, element: &Element) {
        self.transmit.push_back(xml::to_string(element));
    }

    fn new_id(&mut self) -> String {
        let id = format!("{}{}", self.id_prefix, self.next_id);
        self.next_id += 1;
        id
    }

    fn end(&mut self, end: StreamEnd) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.next_ping = None;
        let pending: Vec<(String, Pending)> = self.pending.drain().collect();
        for (id, pending) in pending {
            if !pending.ping && id != BIND_ID {
                self.events.push_back(StreamEvent::Response {
                    id,
                    result: Err(IqFailure::Closed),
                });
            }
        }
        self.events.push_back(StreamEvent::Closed(end));
    }
}

/// XEP-0115's verification string for the identity `client/pc//palabre` and `features`.
fn caps_ver(features: &[String]) -> String {
    let mut sorted: Vec<&str> = features.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut text = String::from("client/pc//palabre<");
    for feature in sorted {
        text.push_str(feature);
        text.push('<');
    }
    base64::engine::general_purpose::STANDARD.encode(Sha1::digest(text.as_bytes()))
}

fn capitalise_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether `jid` looks like `node@domain/resource` (or `domain/resource`), within RFC 7622's
/// lengths.
fn valid_full_jid(jid: &str) -> bool {
    let Some((bare, resource)) = jid.split_once('/') else {
        return false;
    };
    !resource.is_empty()
        && resource.len() <= 1023
        && !bare.is_empty()
        && bare.len() <= 2047
        && !bare.ends_with('@')
        && !bare.starts_with('@')
}

/// The parts of a JID (`node@domain/resource`): helpers that never fail.
pub mod jid {
    /// The JID without its resource.
    pub fn bare(jid: &str) -> &str {
        jid.split_once('/').map_or(jid, |(bare, _)| bare)
    }

    /// The resource, if any (for an occupant of a MUC room: the nickname).
    pub fn resource(jid: &str) -> Option<&str> {
        jid.split_once('/').map(|(_, resource)| resource)
    }

    /// The local part, if any.
    pub fn node(jid: &str) -> Option<&str> {
        bare(jid).split_once('@').map(|(node, _)| node)
    }

    /// The domain.
    pub fn domain(jid: &str) -> &str {
        let bare = bare(jid);
        bare.split_once('@').map_or(bare, |(_, domain)| domain)
    }
}

#[cfg(test)]
mod tests;
