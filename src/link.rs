//! Meeting links: what a user pastes, or what a desktop hands `palabre LINK`, turned into a
//! typed [`Link`] by [`parse`].
//!
//! Pure parsing: no DNS, no I/O, and no panic on any input (a test feeds it thousands of garbled
//! strings). Errors are plain English sentences the caller can show as they are.
//!
//! # Accepted forms
//!
//! Leading and trailing whitespace is trimmed, and surrounding `<…>`, `"…"`, `'…'`, `“…”`,
//! `‘…’`, `«…»` or `` `…` `` are removed (people paste links from chat with those). Scheme names
//! are case-insensitive.
//!
//! **Mumble**: `mumble://[user[:password]@]host[:port][/Channel/Sub][?version=1.2.0&title=…]`.
//! - The port defaults to 64738 ([`DEFAULT_MUMBLE_PORT`]).
//! - User name, password and channel names are percent-decoded (`%20` is a space; `+` stays a
//!   `+`: this is a path, not a form). Empty path segments and a trailing slash are ignored. At
//!   most [`MAX_CHANNEL_DEPTH`] channels of at most [`MAX_CHANNEL_NAME_BYTES`] bytes each.
//! - The `version` query value is kept as written; other query keys and any `#fragment` are
//!   ignored.
//!
//! **Bare server**: `host[:port]`, such as `mumble.example.org`, `mumble.example.org:64739`,
//! `192.168.1.5` or `[::1]:64738`, is a Mumble server. This is the Mumble convention: its connect
//! dialog and its server lists take an address and a port, and no other meeting system is
//! reached by a server name alone. A server name followed by a path (`meet.example.org/Room`,
//! an address bar copied without its `https://`) is refused with a hint rather than guessed.
//!
//! **Jitsi Meet**: `https://host[:port]/Room`, or `https://host/tenant/Room` (exactly two path
//! segments: the first is the tenant of a docker-jitsi-meet or 8x8.vc-style deployment).
//! - `jitsi-meet://host/Room` (the scheme of the Jitsi Meet desktop app) is the same as
//!   `https://`.
//! - `http://` is accepted for local and test instances; [`JitsiLink::secure`] is then `false`
//!   and the caller warns.
//! - The query string (`?jwt=…`) and the fragment (`#config.startWithAudioMuted=true`) are
//!   ignored: palabre does not take configuration from links.
//! - As the Jitsi Meet web app does (`_ROOM_EXCLUDE_PATTERN` in jitsi-meet
//!   `react/features/base/util/uri.ts`), the characters `[ ] ! $ & ' ( ) * + , ; = < > "` and
//!   whitespace written as such in the room or tenant are dropped, so that `…/Team+Sync` leads
//!   to the same room as in a browser. The rest is percent-decoded; the result may not contain
//!   `/ ? # @ :` or control characters, nor be longer than [`MAX_ROOM_NAME_BYTES`] bytes.
//! - [`JitsiLink::room`] keeps the room as typed, for display; [`JitsiLink::muc_room`] gives the
//!   name of the conference room on the server (lowercase).
//! - An explicit default port (443 for `https`, 80 for `http`) is the same as none.
//!
//! # Hosts
//!
//! Hosts go through the URL standard's host parser (the `url` crate): domain names are
//! lowercased and international names stored in their ASCII (`xn--`) form; IPv4 addresses must
//! be written in the usual dotted form (`192.168.1.5`, not `3232235781`); IPv6 addresses are
//! written in brackets and stored without them. Domain labels may hold letters, digits, `-`
//! (not first or last) and `_` only; punctuation and symbols (quotes, `…`, emoji) pasted along
//! make the host invalid rather than a strange international name.
//!
//! # Display
//!
//! Both link types print as a canonical link ([`MumbleLink`]: `mumble://user@host:port/Chan/Sub`,
//! default port omitted; [`JitsiLink`]: `https://host/tenant/Room`) that [`parse`] reads back to
//! the same value. Neither `Display` nor `Debug` ever prints a Mumble password.

use std::fmt;
use std::fmt::Write as _;

use url::Host;

/// The port of a Mumble server when the link gives none.
pub const DEFAULT_MUMBLE_PORT: u16 = 64738;
/// The longest Jitsi Meet room (or tenant) name accepted, in bytes of UTF-8 after decoding.
pub const MAX_ROOM_NAME_BYTES: usize = 256;
/// The most channels a Mumble link may descend through.
pub const MAX_CHANNEL_DEPTH: usize = 32;
/// The longest Mumble channel name accepted in a link, in bytes of UTF-8 after decoding.
pub const MAX_CHANNEL_NAME_BYTES: usize = 512;

/// A meeting palabre can join, read from a link by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Link {
    /// A Mumble server, possibly with a channel to go to.
    Mumble(MumbleLink),
    /// A Jitsi Meet room.
    Jitsi(JitsiLink),
}

impl Link {
    /// A short label for lists of recent meetings, as data so the UI can say it in the user's
    /// language: `(name, host)`, where the name is the Jitsi room as typed, else the deepest
    /// Mumble channel, else the Mumble host; for example `("Standup", "meet.example.org")`.
    pub fn title(&self) -> (String, String) {
        match self {
            Link::Mumble(link) => (
                link.channel_path.last().unwrap_or(&link.host).clone(),
                link.host.clone(),
            ),
            Link::Jitsi(link) => (link.room.clone(), link.host.clone()),
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::Mumble(link) => link.fmt(f),
            Link::Jitsi(link) => link.fmt(f),
        }
    }
}

/// A Mumble server, with the user name, password and channel the link asks for.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MumbleLink {
    /// Domain name (lowercase, ASCII), IPv4 address, or IPv6 address without brackets.
    pub host: String,
    /// TCP and UDP port; [`DEFAULT_MUMBLE_PORT`] when the link gives none.
    pub port: u16,
    /// The user name to log in with, decoded; `None` when absent or empty.
    pub username: Option<String>,
    /// The server password, decoded; `None` when absent or empty. Never printed.
    pub password: Option<String>,
    /// Channel names from the root's child down to the channel to join, decoded; empty for the
    /// server's default channel.
    pub channel_path: Vec<String>,
    /// The `version` query value as written, trimmed (Mumble clients put e.g. `1.2.0` there).
    pub version: Option<String>,
}

impl fmt::Debug for MumbleLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MumbleLink")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("channel_path", &self.channel_path)
            .field("version", &self.version)
            .finish()
    }
}

/// `mumble://user@host:port/Chan/Sub?version=…`: the port only when it is not the default, the
/// password never.
impl fmt::Display for MumbleLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mumble://")?;
        if let Some(username) = &self.username {
            write_escaped(f, username, keep_in_userinfo)?;
            f.write_char('@')?;
        }
        write_host(f, &self.host)?;
        if self.port != DEFAULT_MUMBLE_PORT {
            write!(f, ":{}", self.port)?;
        }
        for channel in &self.channel_path {
            f.write_char('/')?;
            write_escaped(f, channel, keep_in_mumble_path)?;
        }
        if let Some(version) = &self.version {
            write!(f, "?version={version}")?;
        }
        Ok(())
    }
}

/// A Jitsi Meet room.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JitsiLink {
    /// `true` for `https://` and `jitsi-meet://` links, `false` for `http://` ones.
    pub secure: bool,
    /// Domain name (lowercase, ASCII), IPv4 address, or IPv6 address without brackets.
    pub host: String,
    /// The port when the link gives one other than the scheme's default (443, or 80).
    pub port: Option<u16>,
    /// The tenant of a multi-tenant deployment (`https://host/tenant/Room`), decoded.
    pub tenant: Option<String>,
    /// The room as typed, decoded, for display; see [`JitsiLink::muc_room`] for the server's
    /// name of it.
    pub room: String,
}

impl JitsiLink {
    /// The name of the conference room on the server, the local part of its MUC address
    /// (XEP-0045): the room lowercased, then percent-encoded as JavaScript's
    /// `encodeURIComponent` does, with lowercase hex. This is jitsi-meet's
    /// `getBackendSafeRoomName`, except that it does not apply Unicode NFKC normalisation first
    /// (the same for ASCII and for text already in that form).
    pub fn muc_room(&self) -> String {
        let lowercase = self.room.to_lowercase();
        let mut muc_room = String::with_capacity(lowercase.len());
        for byte in lowercase.bytes() {
            if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
                muc_room.push(char::from(byte));
            } else {
                // Writing to a String cannot fail.
                let _ = write!(muc_room, "%{byte:02x}");
            }
        }
        muc_room
    }
}

/// `https://host[:port]/[tenant/]room`, or `http://…` for an insecure link.
impl fmt::Display for JitsiLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "https://" } else { "http://" })?;
        write_host(f, &self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(tenant) = &self.tenant {
            f.write_char('/')?;
            write_escaped(f, tenant, keep_in_jitsi_path)?;
        }
        f.write_char('/')?;
        write_escaped(f, &self.room, keep_in_jitsi_path)
    }
}

/// Why a link could not be read. The messages are sentences for the user; user-typed text in
/// them is shortened and stripped of control characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Nothing but whitespace (or quotes) was given.
    #[error(
        "the link is empty: paste a mumble:// link, a Jitsi Meet https:// link, or a server name"
    )]
    Empty,
    /// The text is not shaped like any link palabre knows.
    #[error(
        "“{}” is not a meeting link palabre understands: expected mumble://host, a Jitsi Meet \
         https:// link, or a server name",
        shown(.input)
    )]
    NotALink {
        /// The text, trimmed.
        input: String,
    },
    /// A link of another kind (`ftp://…`, `mailto:…`).
    #[error(
        "palabre does not open “{}:” links: expected mumble://host, a Jitsi Meet https:// link, \
         or a server name",
        shown(.scheme)
    )]
    UnknownScheme {
        /// The scheme as written, without `:`.
        scheme: String,
    },
    /// A server name followed by a path, with no scheme to say what it is.
    #[error(
        "“{text}” has no scheme: write https://{text} for a Jitsi Meet room, or mumble://{text} \
         for a Mumble server",
        text = shown(.input)
    )]
    MissingScheme {
        /// The text, trimmed.
        input: String,
    },
    /// Nothing between `://` and the path.
    #[error("the link names no server: put the server name after “://”")]
    MissingHost,
    /// The server is neither a valid domain name nor an IP address.
    #[error("“{}” is not a valid server name or address", shown(.host))]
    InvalidHost {
        /// The host as written.
        host: String,
    },
    /// The port is not a number from 1 to 65535.
    #[error("“{}” is not a valid port: use a number from 1 to 65535", shown(.port))]
    InvalidPort {
        /// The port as written.
        port: String,
    },
    /// A Jitsi Meet link with `user@` or `user:password@` before the host.
    #[error(
        "Jitsi Meet links carry no user name or password: remove the part before “@” in the \
         server name"
    )]
    JitsiUserInfo,
    /// A Jitsi Meet link without a room.
    #[error("{} has no room name: add the room after the last slash", shown(.link))]
    MissingRoom {
        /// The link, trimmed.
        link: String,
    },
    /// A Jitsi Meet link with more than two path segments.
    #[error(
        "{} has too many parts after the server name: a Jitsi Meet link is https://server/room \
         or https://server/tenant/room",
        shown(.link)
    )]
    TooManySegments {
        /// The link, trimmed.
        link: String,
    },
    /// A room name with a character Jitsi Meet rejects.
    #[error(
        "“{}” is not a valid room name: it may not contain / ? # @ : or control characters",
        shown(.room)
    )]
    InvalidRoomName {
        /// The room, decoded.
        room: String,
    },
    /// A room name longer than [`MAX_ROOM_NAME_BYTES`].
    #[error("the room name is too long: {len} bytes, at most 256")]
    RoomNameTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A tenant with a character Jitsi Meet rejects, or longer than [`MAX_ROOM_NAME_BYTES`].
    #[error(
        "“{}” is not a valid tenant name: it may not contain / ? # @ : or control characters, \
         nor be longer than 256 bytes",
        shown(.tenant)
    )]
    InvalidTenant {
        /// The tenant, decoded.
        tenant: String,
    },
    /// A Mumble channel path deeper than [`MAX_CHANNEL_DEPTH`].
    #[error("the channel path is {count} channels deep; palabre follows at most 32")]
    TooManyChannels {
        /// How many channels the link names.
        count: usize,
    },
    /// A Mumble channel name longer than [`MAX_CHANNEL_NAME_BYTES`].
    #[error("a channel name in the link is {len} bytes long; at most 512 are allowed")]
    ChannelNameTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A part of the link whose `%` escapes do not decode to UTF-8 text.
    #[error("the {part} in the link is not valid text once its %-escapes are decoded")]
    InvalidText {
        /// Which part (the text itself is not kept: it may be a password).
        part: LinkPart,
    },
}

impl LinkError {
    /// The error in the window's words (the `Display` sentence is the command line's).
    pub fn phrase(&self) -> crate::i18n::Phrase {
        use crate::i18n::Phrase;
        let with = |id: &'static str, name: &'static str, value: String| {
            Phrase::tr_args(id, vec![(name, value.into())])
        };
        match self {
            LinkError::Empty => Phrase::tr("link-empty"),
            LinkError::NotALink { input } => with("link-not-a-link", "input", shown(input)),
            LinkError::UnknownScheme { scheme } => {
                with("link-unknown-scheme", "scheme", shown(scheme))
            }
            LinkError::MissingScheme { input } => {
                with("link-missing-scheme", "input", shown(input))
            }
            LinkError::MissingHost => Phrase::tr("link-missing-host"),
            LinkError::InvalidHost { host } => with("link-invalid-host", "host", shown(host)),
            LinkError::InvalidPort { port } => with("link-invalid-port", "port", shown(port)),
            LinkError::JitsiUserInfo => Phrase::tr("link-jitsi-user-info"),
            LinkError::MissingRoom { link } => with("link-missing-room", "link", shown(link)),
            LinkError::TooManySegments { link } => {
                with("link-too-many-segments", "link", shown(link))
            }
            LinkError::InvalidRoomName { room } => {
                with("link-invalid-room-name", "room", shown(room))
            }
            LinkError::RoomNameTooLong { len } => Phrase::tr_args(
                "link-room-name-too-long",
                vec![("length", (*len as u64).into())],
            ),
            LinkError::InvalidTenant { tenant } => {
                with("link-invalid-tenant", "tenant", shown(tenant))
            }
            LinkError::TooManyChannels { count } => Phrase::tr_args(
                "link-too-many-channels",
                vec![("count", (*count as u64).into())],
            ),
            LinkError::ChannelNameTooLong { len } => Phrase::tr_args(
                "link-channel-name-too-long",
                vec![("length", (*len as u64).into())],
            ),
            LinkError::InvalidText { part } => Phrase::tr_args(
                "link-invalid-text",
                vec![(
                    "part",
                    match part {
                        LinkPart::Username => "username",
                        LinkPart::Password => "password",
                        LinkPart::Channel => "channel",
                        LinkPart::Tenant => "tenant",
                        LinkPart::Room => "room",
                    }
                    .into(),
                )],
            ),
        }
    }
}

/// A part of a link, named in [`LinkError::InvalidText`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkPart {
    /// The Mumble user name.
    Username,
    /// The Mumble password.
    Password,
    /// A Mumble channel name.
    Channel,
    /// The Jitsi Meet tenant.
    Tenant,
    /// The Jitsi Meet room.
    Room,
}

impl fmt::Display for LinkPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkPart::Username => "user name",
            LinkPart::Password => "password",
            LinkPart::Channel => "channel name",
            LinkPart::Tenant => "tenant name",
            LinkPart::Room => "room name",
        })
    }
}

/// Reads a meeting link in any of the forms the module docs list.
pub fn parse(input: &str) -> Result<Link, LinkError> {
    let text = unwrap_pasted(input);
    if text.is_empty() {
        return Err(LinkError::Empty);
    }
    let Some((scheme, rest)) = text.split_once("://").filter(|(s, _)| is_scheme(s)) else {
        return parse_bare(text);
    };
    match scheme.to_ascii_lowercase().as_str() {
        "mumble" => parse_mumble(rest).map(Link::Mumble),
        "https" | "jitsi-meet" => parse_jitsi(true, rest, text).map(Link::Jitsi),
        "http" => parse_jitsi(false, rest, text).map(Link::Jitsi),
        _ => Err(LinkError::UnknownScheme {
            scheme: scheme.to_owned(),
        }),
    }
}

/// `input` trimmed, without the quotes or angle brackets around it.
fn unwrap_pasted(input: &str) -> &str {
    const PAIRS: [(char, char); 10] = [
        ('<', '>'),
        ('"', '"'),
        ('\'', '\''),
        ('`', '`'),
        ('“', '”'),
        ('”', '”'),
        ('„', '“'),
        ('‘', '’'),
        ('«', '»'),
        ('»', '«'),
    ];
    let mut text = input.trim();
    // Each round removes two characters, so this ends.
    while let Some(inner) = PAIRS
        .iter()
        .find_map(|&(open, close)| text.strip_prefix(open)?.strip_suffix(close))
    {
        text = inner.trim();
    }
    text
}

/// Whether `text` is a URL scheme name (RFC 3986 section 3.1).
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `host[:port]` without a scheme: a Mumble server (see the module docs).
fn parse_bare(text: &str) -> Result<Link, LinkError> {
    let not_a_link = || LinkError::NotALink {
        input: text.to_owned(),
    };
    if let Some(end) = text.find(['/', '?', '#']) {
        let head = &text[..end];
        let server_first = !head.contains(['@', '\\']) && !head.contains(char::is_whitespace);
        return Err(if server_first && parse_host_port(head).is_ok() {
            LinkError::MissingScheme {
                input: text.to_owned(),
            }
        } else {
            not_a_link()
        });
    }
    if text.contains('@') || text.contains(char::is_whitespace) {
        return Err(not_a_link());
    }
    // `skype:someone`, `tel:+33…`: a scheme without `//`, unless it is one of ours.
    if let Some((scheme, after)) = text.split_once(':')
        && is_scheme(scheme)
        && !scheme.contains('.')
        && !after.is_empty()
        && !after.bytes().any(|b| b.is_ascii_digit())
    {
        return Err(match scheme.to_ascii_lowercase().as_str() {
            "mumble" | "https" | "http" | "jitsi-meet" => not_a_link(),
            _ => LinkError::UnknownScheme {
                scheme: scheme.to_owned(),
            },
        });
    }
    let (host, port) = parse_host_port(text)?;
    Ok(Link::Mumble(MumbleLink {
        host,
        port: port.unwrap_or(DEFAULT_MUMBLE_PORT),
        username: None,
        password: None,
        channel_path: Vec::new(),
        version: None,
    }))
}

/// What follows `mumble://`.
fn parse_mumble(rest: &str) -> Result<MumbleLink, LinkError> {
    let (authority, path, query) = split_after_scheme(rest);
    let (userinfo, host_port) = split_userinfo(authority);
    let (host, port) = parse_host_port(host_port)?;
    let (username, password) = match userinfo {
        None => (None, None),
        Some(userinfo) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            let password = match password {
                Some(password) => percent_decode(password, LinkPart::Password)?,
                None => String::new(),
            };
            (
                non_empty(percent_decode(user, LinkPart::Username)?),
                non_empty(password),
            )
        }
    };

    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.len() > MAX_CHANNEL_DEPTH {
        return Err(LinkError::TooManyChannels {
            count: segments.len(),
        });
    }
    let channel_path = segments
        .into_iter()
        .map(|segment| {
            let name = percent_decode(segment, LinkPart::Channel)?;
            if name.len() > MAX_CHANNEL_NAME_BYTES {
                return Err(LinkError::ChannelNameTooLong { len: name.len() });
            }
            Ok(name)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let version = query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        let value = value.trim();
        (key == "version" && !value.is_empty()).then(|| value.to_owned())
    });

    Ok(MumbleLink {
        host,
        port: port.unwrap_or(DEFAULT_MUMBLE_PORT),
        username,
        password,
        channel_path,
        version,
    })
}

/// What follows `https://`, `http://` or `jitsi-meet://`; `link` is the whole link, for errors.
fn parse_jitsi(secure: bool, rest: &str, link: &str) -> Result<JitsiLink, LinkError> {
    let (authority, path, _query) = split_after_scheme(rest);
    let (userinfo, host_port) = split_userinfo(authority);
    if userinfo.is_some() {
        return Err(LinkError::JitsiUserInfo);
    }
    let (host, port) = parse_host_port(host_port)?;
    let default_port = if secure { 443 } else { 80 };

    let segments: Vec<String> = path
        .split('/')
        .map(|segment| {
            segment
                .chars()
                .filter(|&c| !is_dropped_by_jitsi(c))
                .collect::<String>()
        })
        .filter(|segment| !segment.is_empty())
        .collect();
    let (tenant, room) = match segments.as_slice() {
        [] => {
            return Err(LinkError::MissingRoom {
                link: link.to_owned(),
            });
        }
        [room] => (None, room),
        [tenant, room] => (Some(tenant), room),
        _ => {
            return Err(LinkError::TooManySegments {
                link: link.to_owned(),
            });
        }
    };

    let tenant = match tenant {
        Some(tenant) => {
            let tenant = percent_decode(tenant, LinkPart::Tenant)?;
            if tenant.len() > MAX_ROOM_NAME_BYTES || has_char_rejected_by_jitsi(&tenant) {
                return Err(LinkError::InvalidTenant { tenant });
            }
            Some(tenant)
        }
        None => None,
    };
    let room = percent_decode(room, LinkPart::Room)?;
    if has_char_rejected_by_jitsi(&room) {
        return Err(LinkError::InvalidRoomName { room });
    }
    if room.len() > MAX_ROOM_NAME_BYTES {
        return Err(LinkError::RoomNameTooLong { len: room.len() });
    }

    Ok(JitsiLink {
        secure,
        host,
        port: port.filter(|&port| port != default_port),
        tenant,
        room,
    })
}

/// Splits what follows `scheme://` into authority, path and query; the fragment is dropped.
fn split_after_scheme(rest: &str) -> (&str, &str, &str) {
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    (authority, path, query)
}

/// Splits `user:password@host:port` at its last `@`.
fn split_userinfo(authority: &str) -> (Option<&str>, &str) {
    match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; an empty port is no port.
fn parse_host_port(text: &str) -> Result<(String, Option<u16>), LinkError> {
    let invalid_host = || LinkError::InvalidHost {
        host: text.to_owned(),
    };
    let (host, port) = if text.starts_with('[') {
        // `]` is one byte, so `close + 1` is a character boundary.
        let close = text.find(']').ok_or_else(invalid_host)?;
        let (host, after) = text.split_at(close + 1);
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(invalid_host()),
        }
    } else {
        match text.split_once(':') {
            Some((_, port)) if port.contains(':') => return Err(invalid_host()),
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(LinkError::MissingHost);
    }
    Ok((
        parse_host(host)?,
        port.map(parse_port).transpose()?.flatten(),
    ))
}

/// A host as the module docs describe, in its stored form.
fn parse_host(text: &str) -> Result<String, LinkError> {
    let invalid = || LinkError::InvalidHost {
        host: text.to_owned(),
    };
    // IDNA maps or accepts many symbols; a quote or an ellipsis pasted along is not a domain.
    if text.chars().any(is_symbol_outside_names) {
        return Err(invalid());
    }
    match Host::parse(text).map_err(|_| invalid())? {
        Host::Ipv6(address) => Ok(address.to_string()),
        Host::Ipv4(address) => {
            // The URL standard also reads `3232235781` or `0x7f.1` as IPv4; people do not.
            let address = address.to_string();
            if address == text {
                Ok(address)
            } else {
                Err(invalid())
            }
        }
        Host::Domain(domain) => {
            let labels = domain.strip_suffix('.').unwrap_or(&domain);
            let valid = labels.len() <= 253
                && labels.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
                });
            if valid { Ok(domain) } else { Err(invalid()) }
        }
    }
}

/// Whether `c` is in a Unicode block of punctuation or symbols (quotes, dashes, ellipsis,
/// arrows, box drawing, emoji…), which palabre does not take in a server name.
fn is_symbol_outside_names(c: char) -> bool {
    matches!(
        u32::from(c),
        0x80..=0xBF
            | 0xD7
            | 0xF7
            | 0x2000..=0x2BFF
            | 0x2E00..=0x2E7F
            | 0x3000..=0x303F
            | 0xFE10..=0xFE6F
            | 0xFF01..=0xFF0F
            | 0xFFF0..=0xFFFF
            | 0x1F000..=0x1FAFF
    )
}

/// A port as written after `:`; empty means none.
fn parse_port(text: &str) -> Result<Option<u16>, LinkError> {
    if text.is_empty() {
        return Ok(None);
    }
    let invalid = || LinkError::InvalidPort {
        port: text.to_owned(),
    };
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.trim_start_matches('0').parse::<u16>() {
        Ok(0) | Err(_) => Err(invalid()),
        Ok(port) => Ok(Some(port)),
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is. The bytes must
/// then be UTF-8.
fn percent_decode(raw: &str, part: LinkPart) -> Result<String, LinkError> {
    fn hex(byte: Option<&u8>) -> Option<u8> {
        char::from(*byte?)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%'
            && let (Some(high), Some(low)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2)))
        {
            decoded.push((high << 4) | low);
            i += 3;
        } else {
            decoded.push(byte);
            i += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| LinkError::InvalidText { part })
}

/// `Some(text)` unless it is empty.
fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// The characters the Jitsi Meet web app removes from the room and tenant as written
/// (`_ROOM_EXCLUDE_PATTERN` in jitsi-meet `react/features/base/util/uri.ts`, which also strips
/// all whitespace from the link), less `/ ? # @ :`, which palabre refuses after decoding.
fn is_dropped_by_jitsi(c: char) -> bool {
    c.is_whitespace() || "[]!$&'()*+,;=<>\"".contains(c)
}

/// Whether a decoded room or tenant has a character that cannot be in a Jitsi Meet room.
fn has_char_rejected_by_jitsi(name: &str) -> bool {
    name.chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '@' | ':') || c.is_control())
}

/// Writes a host, in brackets if it is an IPv6 address.
fn write_host(f: &mut fmt::Formatter<'_>, host: &str) -> fmt::Result {
    if host.contains(':') {
        write!(f, "[{host}]")
    } else {
        f.write_str(host)
    }
}

/// Writes `text`, percent-encoding (as UTF-8) each character `keep` refuses.
fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str, keep: fn(char) -> bool) -> fmt::Result {
    let mut utf8 = [0; 4];
    for c in text.chars() {
        if keep(c) {
            f.write_char(c)?;
        } else {
            for byte in c.encode_utf8(&mut utf8).bytes() {
                write!(f, "%{byte:02X}")?;
            }
        }
    }
    Ok(())
}

/// Characters written as they are in a link: unreserved ASCII (RFC 3986 section 2.3), and
/// printable non-ASCII text.
fn keep_always(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
    } else {
        !c.is_control() && !c.is_whitespace()
    }
}

/// Characters written as they are in a Mumble user name: also the sub-delimiters.
fn keep_in_userinfo(c: char) -> bool {
    keep_always(c) || "!$&'()*+,;=".contains(c)
}

/// Characters written as they are in a Mumble channel name: also `:` and `@`.
fn keep_in_mumble_path(c: char) -> bool {
    keep_in_userinfo(c) || matches!(c, ':' | '@')
}

/// Characters written as they are in a Jitsi room or tenant: only [`keep_always`], since the
/// others would be dropped when read back.
fn keep_in_jitsi_path(c: char) -> bool {
    keep_always(c)
}

/// User text as quoted in an error message: control characters replaced, at most 80
/// characters.
fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    let mut shown: String = text
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if text.chars().nth(MAX_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error in the window's words: in English the command line's sentence, in French
    /// another one, with no message missing.
    #[test]
    fn every_link_error_is_said_in_both_languages() {
        let text = |t: &str| t.to_owned();
        let errors = [
            LinkError::Empty,
            LinkError::NotALink { input: text("x y") },
            LinkError::UnknownScheme {
                scheme: text("ftp"),
            },
            LinkError::MissingScheme {
                input: text("example.org/room"),
            },
            LinkError::MissingHost,
            LinkError::InvalidHost { host: text("a_b") },
            LinkError::InvalidPort {
                port: text("99999"),
            },
            LinkError::JitsiUserInfo,
            LinkError::MissingRoom {
                link: text("https://meet.example.org/"),
            },
            LinkError::TooManySegments {
                link: text("https://a.org/b/c/d"),
            },
            LinkError::InvalidRoomName { room: text("a#b") },
            LinkError::RoomNameTooLong { len: 300 },
            LinkError::InvalidTenant {
                tenant: text("a#b"),
            },
            LinkError::TooManyChannels { count: 40 },
            LinkError::ChannelNameTooLong { len: 600 },
            LinkError::InvalidText {
                part: LinkPart::Username,
            },
            LinkError::InvalidText {
                part: LinkPart::Password,
            },
            LinkError::InvalidText {
                part: LinkPart::Channel,
            },
            LinkError::InvalidText {
                part: LinkPart::Tenant,
            },
            LinkError::InvalidText {
                part: LinkPart::Room,
            },
        ];
        for error in errors {
            crate::i18n::assert_said_in_both_languages(
                &error.phrase(),
                &error.to_string(),
                "link-",
            );
        }
    }

    fn mumble(input: &str) -> MumbleLink {
        match parse(input) {
            Ok(Link::Mumble(link)) => link,
            other => panic!("{input:?} should be a Mumble link, got {other:?}"),
        }
    }

    fn jitsi(input: &str) -> JitsiLink {
        match parse(input) {
            Ok(Link::Jitsi(link)) => link,
            other => panic!("{input:?} should be a Jitsi link, got {other:?}"),
        }
    }

    fn error(input: &str) -> LinkError {
        match parse(input) {
            Err(error) => error,
            Ok(link) => panic!("{input:?} should be refused, got {link:?}"),
        }
    }

    fn server(host: &str, port: u16) -> MumbleLink {
        MumbleLink {
            host: host.to_owned(),
            port,
            username: None,
            password: None,
            channel_path: Vec::new(),
            version: None,
        }
    }

    fn room(host: &str, tenant: Option<&str>, room: &str) -> JitsiLink {
        JitsiLink {
            secure: true,
            host: host.to_owned(),
            port: None,
            tenant: tenant.map(str::to_owned),
            room: room.to_owned(),
        }
    }

    // Mumble links.

    #[test]
    fn mumble_host_only() {
        assert_eq!(
            mumble("mumble://mumble.example.org"),
            server("mumble.example.org", 64738)
        );
        assert_eq!(
            mumble("mumble://mumble.example.org/"),
            server("mumble.example.org", 64738)
        );
    }

    #[test]
    fn mumble_full_link() {
        let link = mumble(
            "mumble://alice:s%40cret@mumble.example.org:64739/Games/Team%20Red?version=1.2.0&title=Fun",
        );
        assert_eq!(
            link,
            MumbleLink {
                host: "mumble.example.org".to_owned(),
                port: 64739,
                username: Some("alice".to_owned()),
                password: Some("s@cret".to_owned()),
                channel_path: vec!["Games".to_owned(), "Team Red".to_owned()],
                version: Some("1.2.0".to_owned()),
            }
        );
    }

    #[test]
    fn mumble_userinfo_variants() {
        let link = mumble("mumble://bob@host");
        assert_eq!(link.username.as_deref(), Some("bob"));
        assert_eq!(link.password, None);

        let link = mumble("mumble://J%C3%A9r%C3%B4me%20B@host");
        assert_eq!(link.username.as_deref(), Some("Jérôme B"), "decoded");

        let link = mumble("mumble://:pw@host");
        assert_eq!(link.username, None, "empty user name");
        assert_eq!(link.password.as_deref(), Some("pw"));

        let link = mumble("mumble://bob:@host");
        assert_eq!(link.password, None, "empty password");

        let link = mumble("mumble://@host");
        assert_eq!((link.username, link.password), (None, None));

        let link = mumble("mumble://bob:p:w@x@host");
        assert_eq!(link.username.as_deref(), Some("bob"));
        assert_eq!(
            link.password.as_deref(),
            Some("p:w@x"),
            "split at the last @"
        );
        assert_eq!(link.host, "host");
    }

    #[test]
    fn mumble_channel_path() {
        let link = mumble("mumble://host//A//B%2FC/D+E/%F0%9F%8E%B2/");
        assert_eq!(
            link.channel_path,
            ["A", "B/C", "D+E", "🎲"],
            "empty segments ignored, %2F decoded, + kept"
        );
        let link = mumble("mumble://host/Caf%C3%A9 Bar");
        assert_eq!(link.channel_path, ["Café Bar"], "raw space tolerated");
    }

    #[test]
    fn mumble_query_and_fragment() {
        assert_eq!(
            mumble("mumble://host/A?title=x&version=1.5.735#frag")
                .version
                .as_deref(),
            Some("1.5.735")
        );
        let link = mumble("mumble://host/A?title=Root&foo");
        assert_eq!(link.version, None);
        assert_eq!(link.channel_path, ["A"]);
        assert_eq!(mumble("mumble://host?version=").version, None);
        assert_eq!(
            mumble("mumble://host#x/y").channel_path,
            Vec::<String>::new()
        );
        assert_eq!(
            mumble("mumble://host:64739?version=1.2.0"),
            MumbleLink {
                version: Some("1.2.0".to_owned()),
                ..server("host", 64739)
            }
        );
    }

    #[test]
    fn mumble_ports() {
        assert_eq!(mumble("mumble://host:1").port, 1);
        assert_eq!(mumble("mumble://host:65535").port, 65535);
        assert_eq!(mumble("mumble://host:064739").port, 64739, "leading zero");
        assert_eq!(mumble("mumble://host:").port, 64738, "empty port is none");
    }

    #[test]
    fn mumble_addresses() {
        assert_eq!(mumble("mumble://[::1]:64739/A").host, "::1");
        assert_eq!(mumble("mumble://[::1]:64739/A").port, 64739);
        assert_eq!(mumble("mumble://[2001:DB8::1]").host, "2001:db8::1");
        assert_eq!(mumble("mumble://192.168.1.5").host, "192.168.1.5");
        assert_eq!(
            mumble("mumble://Mumble.Example.ORG").host,
            "mumble.example.org"
        );
        assert_eq!(
            mumble("mumble://bücher.example").host,
            "xn--bcher-kva.example"
        );
        assert_eq!(mumble("mumble://my_server.lan").host, "my_server.lan");
        assert_eq!(mumble("mumble://localhost").host, "localhost");
        assert_eq!(mumble("MUMBLE://host").host, "host", "scheme case");
    }

    #[test]
    fn bare_servers_are_mumble() {
        assert_eq!(
            mumble("mumble.example.org"),
            server("mumble.example.org", 64738)
        );
        assert_eq!(
            mumble("mumble.example.org:64739"),
            server("mumble.example.org", 64739)
        );
        assert_eq!(mumble("192.168.1.5"), server("192.168.1.5", 64738));
        assert_eq!(mumble("[::1]:64738"), server("::1", 64738));
        assert_eq!(mumble("[::1]"), server("::1", 64738));
        assert_eq!(mumble("localhost:5000"), server("localhost", 5000));
    }

    // Jitsi links.

    #[test]
    fn jitsi_room() {
        assert_eq!(
            jitsi("https://meet.example.org/MyRoom"),
            room("meet.example.org", None, "MyRoom")
        );
        assert_eq!(
            jitsi("https://meet.example.org/MyRoom/"),
            room("meet.example.org", None, "MyRoom"),
            "trailing slash"
        );
        assert_eq!(
            jitsi("HTTPS://Meet.Example.org/MyRoom"),
            room("meet.example.org", None, "MyRoom")
        );
    }

    #[test]
    fn jitsi_tenant() {
        assert_eq!(
            jitsi("https://8x8.vc/vpaas-magic-cookie-abc123/Weekly"),
            room("8x8.vc", Some("vpaas-magic-cookie-abc123"), "Weekly")
        );
        assert_eq!(
            jitsi("https://meet.example.org//team//Weekly/"),
            room("meet.example.org", Some("team"), "Weekly"),
            "empty segments ignored"
        );
        assert_eq!(
            jitsi("https://meet.example.org/%C3%A9quipe/Daily")
                .tenant
                .as_deref(),
            Some("équipe")
        );
    }

    #[test]
    fn jitsi_schemes_and_ports() {
        assert_eq!(
            jitsi("jitsi-meet://meet.jit.si/Room"),
            room("meet.jit.si", None, "Room")
        );
        assert_eq!(
            jitsi("jitsi-meet://meet.example.org/t/Room"),
            room("meet.example.org", Some("t"), "Room")
        );
        let link = jitsi("http://localhost:8000/Test");
        assert!(!link.secure);
        assert_eq!(link.port, Some(8000));
        assert_eq!(jitsi("https://meet.example.org:8443/R").port, Some(8443));
        assert_eq!(
            jitsi("https://meet.example.org:443/R").port,
            None,
            "default"
        );
        assert_eq!(jitsi("http://meet.example.org:80/R").port, None, "default");
        assert_eq!(jitsi("http://meet.example.org:443/R").port, Some(443));
        assert_eq!(jitsi("https://[::1]:8443/R").host, "::1");
        assert_eq!(jitsi("https://10.0.0.2/R").host, "10.0.0.2");
    }

    #[test]
    fn jitsi_query_and_fragment_ignored() {
        assert_eq!(
            jitsi("https://meet.example.org/Room?jwt=abc.def#config.startWithAudioMuted=true"),
            room("meet.example.org", None, "Room")
        );
        assert_eq!(
            jitsi("https://meet.example.org/Room#/x/y/z"),
            room("meet.example.org", None, "Room")
        );
        assert_eq!(
            jitsi("https://meet.example.org/Room?next=/a/b/c"),
            room("meet.example.org", None, "Room")
        );
    }

    #[test]
    fn jitsi_room_decoding() {
        assert_eq!(jitsi("https://h.org/Caf%C3%A9%20Bar").room, "Café Bar");
        assert_eq!(jitsi("https://h.org/Café").room, "Café");
        assert_eq!(jitsi("https://h.org/100%25").room, "100%");
        assert_eq!(jitsi("https://h.org/50%off").room, "50%off", "stray % kept");
        assert_eq!(jitsi("https://h.org/a%2Bb").room, "a+b", "encoded + kept");
    }

    #[test]
    fn jitsi_drops_what_the_web_app_drops() {
        assert_eq!(jitsi("https://h.org/Team+Sync").room, "TeamSync");
        assert_eq!(jitsi("https://h.org/My Room").room, "MyRoom");
        assert_eq!(jitsi("https://h.org/Q(1)!*'").room, "Q1");
        assert_eq!(jitsi("https://h.org/a[b]$&,;=<>\"c").room, "abc");
        assert_eq!(
            error("https://h.org/()"),
            LinkError::MissingRoom {
                link: "https://h.org/()".to_owned()
            },
            "nothing left"
        );
    }

    #[test]
    fn muc_room_is_lowercase_and_encoded_like_jitsi_meet() {
        assert_eq!(jitsi("https://h.org/MyRoom").muc_room(), "myroom");
        assert_eq!(
            jitsi("https://h.org/Caf%C3%A9%20Bar").muc_room(),
            "caf%c3%a9%20bar"
        );
        assert_eq!(
            jitsi("https://h.org/%C3%89T%C3%89").muc_room(),
            "%c3%a9t%c3%a9"
        );
        assert_eq!(
            jitsi("https://h.org/a-b_c.d~e%21%28%29%2A%27").muc_room(),
            "a-b_c.d~e!()*'",
            "encodeURIComponent keeps - _ . ! ~ * ' ( )"
        );
        assert_eq!(jitsi("https://h.org/A%2BB%25").muc_room(), "a%2bb%25");
    }

    // Pasted text.

    #[test]
    fn whitespace_quotes_and_brackets_are_removed() {
        let expected = room("meet.example.org", None, "Room");
        for input in [
            "  https://meet.example.org/Room\n",
            "<https://meet.example.org/Room>",
            "\"https://meet.example.org/Room\"",
            "'https://meet.example.org/Room'",
            "“https://meet.example.org/Room”",
            "‘https://meet.example.org/Room’",
            "« https://meet.example.org/Room »",
            "`https://meet.example.org/Room`",
            " \"<https://meet.example.org/Room>\" ",
        ] {
            assert_eq!(jitsi(input), expected, "{input:?}");
        }
        assert_eq!(mumble("<mumble.example.org>").host, "mumble.example.org");
    }

    // Errors.

    #[test]
    fn empty_input() {
        for input in ["", "   ", "\t\n", "\"\"", "< >", "“”"] {
            assert_eq!(error(input), LinkError::Empty, "{input:?}");
        }
    }

    #[test]
    fn unknown_schemes_are_named() {
        assert_eq!(
            error("ftp://files.example.org/x"),
            LinkError::UnknownScheme {
                scheme: "ftp".to_owned()
            }
        );
        assert_eq!(
            error("ftp://x").to_string(),
            "palabre does not open “ftp:” links: expected mumble://host, a Jitsi Meet https:// \
             link, or a server name"
        );
        assert_eq!(
            error("skype:someone"),
            LinkError::UnknownScheme {
                scheme: "skype".to_owned()
            }
        );
        assert_eq!(
            error("zoommtg://zoom.us/join?confno=1"),
            LinkError::UnknownScheme {
                scheme: "zoommtg".to_owned()
            }
        );
    }

    #[test]
    fn not_a_link() {
        for input in [
            "hello world",
            "mailto:someone@example.org",
            "someone@example.org",
            "mumble:host",
            "https:meet.example.org",
            "ht tp://x",
            "-1",
        ] {
            assert!(
                matches!(
                    error(input),
                    LinkError::NotALink { .. } | LinkError::InvalidHost { .. }
                ),
                "{input:?}: {:?}",
                error(input)
            );
        }
        assert_eq!(
            error("hello world").to_string(),
            "“hello world” is not a meeting link palabre understands: expected mumble://host, a \
             Jitsi Meet https:// link, or a server name"
        );
    }

    #[test]
    fn server_with_path_but_no_scheme() {
        let error = error("meet.example.org/Room");
        assert_eq!(
            error,
            LinkError::MissingScheme {
                input: "meet.example.org/Room".to_owned()
            }
        );
        assert_eq!(
            error.to_string(),
            "“meet.example.org/Room” has no scheme: write https://meet.example.org/Room for a \
             Jitsi Meet room, or mumble://meet.example.org/Room for a Mumble server"
        );
    }

    #[test]
    fn jitsi_without_room() {
        for input in [
            "https://meet.example.org",
            "https://meet.example.org/",
            "https://meet.example.org//",
            "https://meet.example.org/?room=x",
            "jitsi-meet://meet.example.org",
        ] {
            assert_eq!(
                error(input),
                LinkError::MissingRoom {
                    link: input.to_owned()
                },
                "{input:?}"
            );
        }
        assert_eq!(
            error("https://meet.example.org/").to_string(),
            "https://meet.example.org/ has no room name: add the room after the last slash"
        );
    }

    #[test]
    fn jitsi_too_many_segments() {
        assert_eq!(
            error("https://meet.example.org/a/b/Room"),
            LinkError::TooManySegments {
                link: "https://meet.example.org/a/b/Room".to_owned()
            }
        );
    }

    #[test]
    fn jitsi_user_info_refused() {
        assert_eq!(
            error("https://meet.example.org@evil.example/Room"),
            LinkError::JitsiUserInfo
        );
        assert_eq!(
            error("https://u:p@meet.example.org/Room"),
            LinkError::JitsiUserInfo
        );
    }

    #[test]
    fn invalid_hosts() {
        for (input, host) in [
            ("mumble://exa mple.org", "exa mple.org"),
            ("mumble://foo!bar", "foo!bar"),
            ("https://a..b/Room", "a..b"),
            ("https://[::1/Room", "[::1"),
            ("https://[::1]x/Room", "[::1]x"),
            ("https://[zz]/Room", "[zz]"),
            ("mumble://::1", "::1"),
            ("mumble://999.1.1.1", "999.1.1.1"),
            ("mumble://3232235781", "3232235781"),
            ("mumble://0x7f.1", "0x7f.1"),
            ("https://exa%00mple/Room", "exa%00mple"),
            ("::1", "::1"),
            ("1.2.3.4.5", "1.2.3.4.5"),
        ] {
            assert_eq!(
                error(input),
                LinkError::InvalidHost {
                    host: host.to_owned()
                },
                "{input:?}"
            );
        }
        let long_label = format!("mumble://{}.org", "a".repeat(64));
        assert!(matches!(error(&long_label), LinkError::InvalidHost { .. }));
        let long_name = format!("mumble://{}org", "abcdefghi.".repeat(26));
        assert!(matches!(error(&long_name), LinkError::InvalidHost { .. }));
        assert_eq!(
            error("mumble://foo!bar").to_string(),
            "“foo!bar” is not a valid server name or address"
        );
    }

    #[test]
    fn missing_hosts() {
        for input in [
            "mumble://",
            "mumble:///Chan",
            "mumble://user@/Chan",
            "https:///Room",
            "mumble://:64738",
        ] {
            assert_eq!(error(input), LinkError::MissingHost, "{input:?}");
        }
    }

    #[test]
    fn invalid_ports() {
        for (input, port) in [
            ("mumble://host:0", "0"),
            ("mumble://host:00", "00"),
            ("mumble://host:65536", "65536"),
            ("mumble://host:99999999999999999999", "99999999999999999999"),
            ("mumble://host:-1", "-1"),
            ("mumble://host:12a", "12a"),
            ("mumble://host: 1", " 1"),
            ("https://meet.example.org:0/Room", "0"),
            ("https://[::1]:70000/Room", "70000"),
            ("host:0", "0"),
            ("host:65536", "65536"),
        ] {
            assert_eq!(
                error(input),
                LinkError::InvalidPort {
                    port: port.to_owned()
                },
                "{input:?}"
            );
        }
        assert_eq!(
            error("host:0").to_string(),
            "“0” is not a valid port: use a number from 1 to 65535"
        );
    }

    #[test]
    fn invalid_room_names() {
        for (input, room) in [
            ("https://h.org/a%2Fb", "a/b"),
            ("https://h.org/a%3Fb", "a?b"),
            ("https://h.org/a%23b", "a#b"),
            ("https://h.org/a%40b", "a@b"),
            ("https://h.org/a%3Ab", "a:b"),
            ("https://h.org/a:b", "a:b"),
            ("https://h.org/a%00b", "a\0b"),
            ("https://h.org/a%0Ab", "a\nb"),
            ("https://h.org/a%7Fb", "a\u{7f}b"),
        ] {
            assert_eq!(
                error(input),
                LinkError::InvalidRoomName {
                    room: room.to_owned()
                },
                "{input:?}"
            );
        }
        assert_eq!(
            error("https://h.org/a%0Ab").to_string(),
            "“a\u{FFFD}b” is not a valid room name: it may not contain / ? # @ : or control \
             characters",
            "control characters are not echoed"
        );
    }

    #[test]
    fn room_name_length() {
        let longest = format!("https://h.org/{}", "r".repeat(256));
        assert_eq!(jitsi(&longest).room.len(), 256);
        let too_long = format!("https://h.org/{}", "r".repeat(257));
        assert_eq!(error(&too_long), LinkError::RoomNameTooLong { len: 257 });
        let encoded = format!("https://h.org/{}", "%C3%A9".repeat(129));
        assert_eq!(
            error(&encoded),
            LinkError::RoomNameTooLong { len: 258 },
            "bytes after decoding"
        );
    }

    #[test]
    fn invalid_tenants() {
        assert_eq!(
            error("https://h.org/a%40b/Room"),
            LinkError::InvalidTenant {
                tenant: "a@b".to_owned()
            }
        );
        let too_long = format!("https://h.org/{}/Room", "t".repeat(257));
        assert!(matches!(error(&too_long), LinkError::InvalidTenant { .. }));
    }

    #[test]
    fn channel_path_limits() {
        let deepest = format!("mumble://host/{}", ["c"; 32].join("/"));
        assert_eq!(mumble(&deepest).channel_path.len(), 32);
        let too_deep = format!("mumble://host/{}", ["c"; 33].join("/"));
        assert_eq!(error(&too_deep), LinkError::TooManyChannels { count: 33 });

        let longest = format!("mumble://host/{}", "n".repeat(512));
        assert_eq!(mumble(&longest).channel_path[0].len(), 512);
        let too_long = format!("mumble://host/A/{}", "n".repeat(513));
        assert_eq!(error(&too_long), LinkError::ChannelNameTooLong { len: 513 });
    }

    #[test]
    fn invalid_text_names_the_part_but_not_the_text() {
        for (input, part) in [
            ("mumble://%FF@host", LinkPart::Username),
            ("mumble://bob:hunter%FF2@host", LinkPart::Password),
            ("mumble://host/%C3", LinkPart::Channel),
            ("https://h.org/%FF/Room", LinkPart::Tenant),
            ("https://h.org/%E2%82", LinkPart::Room),
        ] {
            assert_eq!(error(input), LinkError::InvalidText { part }, "{input:?}");
        }
        let message = error("mumble://bob:hunter%FF2@host").to_string();
        assert_eq!(
            message,
            "the password in the link is not valid text once its %-escapes are decoded"
        );
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        let input = format!("not a link {}", "x".repeat(1000));
        let message = error(&input).to_string();
        assert!(message.len() < 300, "{message}");
        assert!(message.contains("xxx…”"), "{message}");
    }

    // Display and titles.

    #[test]
    fn mumble_display_is_canonical_and_hides_the_password() {
        let link = mumble("mumble://alice:secret@Host.ORG:64738/Games/Team%20Red/?version=1.2.0");
        assert_eq!(
            link.to_string(),
            "mumble://alice@host.org/Games/Team%20Red?version=1.2.0"
        );
        assert!(!format!("{link:?}").contains("secret"), "{link:?}");
        assert_eq!(
            mumble("mumble://J%C3%A9r%C3%B4me%20B@[::1]:64739/a%2Fb/c+d/%25").to_string(),
            "mumble://Jérôme%20B@[::1]:64739/a%2Fb/c+d/%25"
        );
        assert_eq!(mumble("10.0.0.1").to_string(), "mumble://10.0.0.1");
    }

    #[test]
    fn jitsi_display_is_canonical() {
        assert_eq!(
            jitsi("jitsi-meet://meet.example.org:443/Tenant/My%20Room?x=1#y").to_string(),
            "https://meet.example.org/Tenant/My%20Room"
        );
        assert_eq!(
            jitsi("http://localhost:8000/Test").to_string(),
            "http://localhost:8000/Test"
        );
        assert_eq!(
            jitsi("https://[::1]:8443/%28Caf%C3%A9%29").to_string(),
            "https://[::1]:8443/%28Café%29"
        );
    }

    #[test]
    fn display_reads_back_to_the_same_link() {
        for input in [
            "mumble://alice:secret@host.org:1234/A/B%2FC/D+E/%20x%20/%25?version=1.2.0",
            "mumble://%40%3A%2F@[2001:db8::1]/Caf%C3%A9/a:b@c",
            "https://h.org/t/%28x%29%21%2B%20y",
            "http://10.0.0.1:8080/%E2%9C%93%25",
            "jitsi-meet://h.org/Room",
        ] {
            let mut link = parse(input).expect(input);
            if let Link::Mumble(mumble) = &mut link {
                mumble.password = None;
            }
            assert_eq!(
                parse(&link.to_string()),
                Ok(link.clone()),
                "{input:?} → {link}"
            );
        }
    }

    #[test]
    fn titles() {
        assert_eq!(
            parse("https://meet.example.org/t/Standup").map(|l| l.title()),
            Ok(("Standup".to_owned(), "meet.example.org".to_owned()))
        );
        assert_eq!(
            parse("mumble://m.example.org/Games/Team%20Red").map(|l| l.title()),
            Ok(("Team Red".to_owned(), "m.example.org".to_owned()))
        );
        assert_eq!(
            parse("m.example.org:1234").map(|l| l.title()),
            Ok(("m.example.org".to_owned(), "m.example.org".to_owned()))
        );
    }

    /// Garbled input from a fixed-seed generator never panics, and whatever parses prints as a
    /// link that reads back to itself.
    #[test]
    fn garbled_input_never_panics() {
        const PIECES: &[&str] = &[
            "mumble://",
            "https://",
            "http://",
            "jitsi-meet://",
            "ftp://",
            "://",
            ":",
            "/",
            "//",
            "@",
            "[",
            "]",
            "[::1]",
            "::",
            "?",
            "#",
            "&",
            "=",
            "version=",
            "%",
            "%2",
            "%25",
            "%FF",
            "%C3",
            "%A9",
            "%2F",
            "%00",
            "+",
            " ",
            "\t",
            "\n",
            "\0",
            "<",
            ">",
            "\"",
            "“",
            "”",
            "'",
            "«",
            "»",
            "é",
            "🎲",
            "\u{202e}",
            "İ",
            "ß",
            "xn--",
            "-",
            "_",
            ".",
            "..",
            "0",
            "1",
            "64738",
            "65535",
            "65536",
            "99999999999",
            "192.168.1.5",
            "a",
            "Room",
            "host",
            "meet.example.org",
            "exa%41mple",
            "\u{FF21}",
            "\u{200b}",
            "\\",
        ];
        let mut state: u64 = 0x5EED_1234_ABCD_0001;
        let mut next = move || {
            // Knuth's MMIX linear congruential generator; the high bits are the good ones.
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        const STARTS: &[&str] = &[
            "mumble://",
            "https://",
            "http://",
            "jitsi-meet://",
            "MUMBLE://u:p@",
            "<https://",
        ];
        const HOSTS: &[&str] = &["h.org", "meet.example.org:8443", "[::1]:64739", "10.0.0.1"];
        let (mut parsed, mut refused) = (0, 0);
        for round in 0..20_000 {
            let pieces = next() % 12;
            let mut input = String::new();
            // Half the inputs start as a real link, to reach the path and query code.
            if round % 2 == 0 {
                input.push_str(STARTS[next() % STARTS.len()]);
                input.push_str(HOSTS[next() % HOSTS.len()]);
                input.push('/');
            }
            for _ in 0..pieces {
                match next() % 4 {
                    0 => input.push(char::from_u32((next() % 0x3000) as u32).unwrap_or('?')),
                    _ => input.push_str(PIECES[next() % PIECES.len()]),
                }
            }
            let Ok(mut link) = parse(&input) else {
                refused += 1;
                continue;
            };
            parsed += 1;
            if let Link::Mumble(mumble) = &mut link {
                mumble.password = None;
            }
            let printed = link.to_string();
            assert_eq!(parse(&printed), Ok(link.clone()), "{input:?} → {printed:?}");
            let _ = link.title();
            if let Link::Jitsi(jitsi) = &link {
                let _ = jitsi.muc_room();
            }
        }
        assert!(
            parsed > 2_000 && refused > 2_000,
            "{parsed} parsed, {refused} refused"
        );
    }
}
