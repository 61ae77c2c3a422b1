//! Discovery: from a room link to the XMPP settings of a Jitsi Meet instance.
//!
//! A Jitsi Meet instance publishes its settings in `config.js`, a JavaScript file that the web
//! page runs before anything else. palabre does what the Jitsi Meet mobile app does: it
//! downloads `https://host/[tenant/]config.js?room=<room>` ([`config_url`], [`fetch`]), runs it
//! in an embedded JavaScript interpreter, and reads the global `config` ([`evaluate`]). From the
//! result it takes the WebSocket address to connect to ([`websocket_url`]). [`discover`] does
//! the three steps.
//!
//! # Running a stranger's JavaScript
//!
//! `config.js` comes from whatever server the link names, so [`evaluate`] treats it as hostile:
//!
//! - the script may be at most [`MAX_SCRIPT_BYTES`] long;
//! - it runs in QuickJS (through `rquickjs`) with only the standard JavaScript built-ins: no
//!   function of palabre's is reachable from it, so it can do no input or output of any kind;
//! - the interpreter may use at most [`MEMORY_LIMIT`] bytes of memory and [`STACK_LIMIT`] bytes
//!   of stack, and is stopped after [`TIME_LIMIT`] of running (this is the one place in
//!   discovery that reads the clock);
//! - what palabre reads from `config` must be text, `true`/`false` or a whole number, as the
//!   field requires, and text at most [`MAX_VALUE_BYTES`] long; domain names must look like
//!   domain names and addresses must be `http`, `https`, `ws` or `wss` URLs.
//!
//! # Server-side includes
//!
//! The stock template starts with `var subdir = '<!--# echo var="subdir" default="" -->';`:
//! nginx replaces such SSI directives before it serves the file, and the stock site sets
//! `subdir` to `tenant/` and `subdomain` to `tenant.` for a link `https://host/tenant/Room`
//! (both unset without a tenant, so the `default` is printed). When the file arrives with the
//! directives still in it (a server without SSI), [`evaluate`] replaces them the same way
//! before running the script, so both cases give the same result. See [`substitute_ssi`].
//!
//! # WebSocket only
//!
//! palabre speaks XMPP over WebSocket only (no BOSH). When `config.js` gives no `websocket`
//! address, [`websocket_url`] derives one only where a stock web server is very likely to
//! serve it; otherwise it says plainly that the instance offers only BOSH.

mod http;

#[cfg(test)]
mod tests;

use crate::i18n::Phrase;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Object, Runtime, Value};
use url::Url;

use crate::link::JitsiLink;

pub(crate) use http::tls_config;
pub use http::{CONNECT_TIMEOUT, MAX_REDIRECTS, TOTAL_TIMEOUT, fetch};

/// The longest `config.js` palabre reads or runs (1 MiB).
pub const MAX_SCRIPT_BYTES: usize = 1024 * 1024;
/// The most memory the JavaScript interpreter may use while running `config.js` (32 MiB).
pub const MEMORY_LIMIT: usize = 32 * 1024 * 1024;
/// The most stack the JavaScript interpreter may use (256 KiB).
pub const STACK_LIMIT: usize = 256 * 1024;
/// How long `config.js` may run before palabre stops it.
pub const TIME_LIMIT: Duration = Duration::from_secs(1);
/// The longest text value palabre accepts from `config`, in bytes of UTF-8.
pub const MAX_VALUE_BYTES: usize = 2048;

/// The settings of a Jitsi Meet instance that palabre uses, read from its `config.js`.
///
/// Field names follow `config.js`; the defaults are those the Jitsi Meet web client applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// `hosts.domain`: the XMPP domain (required), lowercased. Password and token logins
    /// authenticate here; it is also the target of pings and service discovery.
    pub domain: String,
    /// `hosts.anonymousdomain`: the domain guests log in to anonymously when the instance
    /// requires authentication for the others; `None` when absent (guests use `domain`).
    pub anonymous_domain: Option<String>,
    /// `hosts.authdomain`: the domain of authenticated users; `domain` when absent.
    pub auth_domain: String,
    /// `hosts.muc`: the domain of the conference rooms (required), lowercased.
    pub muc: String,
    /// `hosts.focus`: the address of the conference focus (jicofo) component;
    /// `focus.<domain>` when absent.
    pub focus: String,
    /// `focusUserJid`: the real address of jicofo, such as `focus@auth.example.org`, when given.
    pub focus_user_jid: Option<String>,
    /// `websocket`: the XMPP-over-WebSocket address as configured, resolved against the
    /// `config.js` address when relative (`//host/xmpp-websocket`, `/xmpp-websocket`).
    pub websocket: Option<Url>,
    /// `bosh`: the XMPP-over-HTTP (BOSH) address, resolved the same way; palabre does not use
    /// BOSH, but [`websocket_url`] looks at it when `websocket` is absent.
    pub bosh: Option<Url>,
    /// `preferBosh`: the instance asks clients to use BOSH even when it has a WebSocket
    /// address; `false` when absent. palabre still uses the WebSocket.
    pub prefer_bosh: bool,
    /// `websocketKeepAliveUrl`: an address to GET now and then to keep the WebSocket's
    /// shard; `None` when absent (clients then use the WebSocket address with `https`).
    pub websocket_keep_alive_url: Option<Url>,
    /// `tokenAuthUrl`: the sign-in page of an instance that uses tokens (JWT), kept as written
    /// (it may contain placeholders such as `{room}`).
    pub token_auth_url: Option<String>,
    /// `startAudioOnly`: join with video off and not received; `false` when absent.
    pub start_audio_only: bool,
    /// `startAudioMuted`: participants after the first this many join muted; `None` when
    /// absent.
    pub start_audio_muted: Option<u32>,
    /// `startWithAudioMuted`: join with the microphone muted; `false` when absent.
    pub start_with_audio_muted: bool,
    /// `p2p.enabled`: two-participant calls may go directly between them. As in lib-jitsi-meet,
    /// `true` when `config` has no `p2p` at all, `false` when `p2p` is there without `enabled`.
    pub p2p_enabled: bool,
    /// `bridgeChannel.preferSctp`: the bridge channel should be an SCTP data channel rather
    /// than a WebSocket; `true` when absent.
    pub bridge_prefer_sctp: bool,
}

/// Why discovery failed. Every variant prints as a plain English sentence that can be shown to
/// the user as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The script (or the answer that carries it) is bigger than [`MAX_SCRIPT_BYTES`].
    #[error(
        "This server's Jitsi Meet configuration (config.js) is larger than 1 MiB, more than palabre reads."
    )]
    TooLarge,
    /// The script contains something that is not JavaScript.
    #[error(
        "This server's Jitsi Meet configuration (config.js) is not valid JavaScript: {detail}."
    )]
    NotJavaScript {
        /// What the interpreter reported, shortened.
        detail: String,
    },
    /// The script threw an exception.
    #[error("This server's Jitsi Meet configuration (config.js) stopped with an error: {detail}.")]
    ScriptFailed {
        /// What was thrown, shortened.
        detail: String,
    },
    /// The script ran longer than [`TIME_LIMIT`].
    #[error(
        "This server's Jitsi Meet configuration (config.js) took more than a second to run, so palabre stopped it."
    )]
    TooSlow,
    /// The script needed more than [`MEMORY_LIMIT`].
    #[error(
        "This server's Jitsi Meet configuration (config.js) needed more than 32 MiB of memory, so palabre stopped it."
    )]
    TooMuchMemory,
    /// The script nested calls (or its own syntax) too deeply for [`STACK_LIMIT`].
    #[error(
        "This server's Jitsi Meet configuration (config.js) nests too deeply, so palabre stopped it."
    )]
    TooDeep,
    /// The interpreter could not be started.
    #[error("palabre could not start its JavaScript interpreter ({detail}).")]
    Interpreter {
        /// What went wrong.
        detail: String,
    },
    /// After running, there is no global `config` object.
    #[error(
        "This server's config.js defines no Jitsi Meet configuration (no `config` object): it may not be a Jitsi Meet server."
    )]
    NoConfig,
    /// A required setting is absent or empty.
    #[error("This server's Jitsi Meet configuration has no {what} ({field}).")]
    Missing {
        /// The setting's path in `config`, such as `hosts.domain`.
        field: &'static str,
        /// What it is, in words, such as `XMPP domain`.
        what: &'static str,
    },
    /// A setting has a value palabre cannot use.
    #[error("This server's Jitsi Meet configuration has an unusable {field}: {reason}.")]
    BadValue {
        /// The setting's path in `config`.
        field: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
    /// The instance has no WebSocket address and none can be derived.
    #[error(
        "This server offers XMPP only over BOSH (its configuration has no WebSocket address), and palabre connects only over WebSocket."
    )]
    BoshOnly,
    /// The link is secure but the configuration points to an unencrypted WebSocket.
    #[error(
        "The room link is secure (https), but the server's configuration points to an unencrypted WebSocket address ({url}); palabre does not connect without encryption."
    )]
    Downgrade {
        /// The configured address.
        url: String,
    },
    /// The server's name could not be resolved.
    #[error("The server name {host} could not be found: check the room link.")]
    HostNotFound {
        /// The name.
        host: String,
    },
    /// No connection could be made.
    #[error("palabre could not connect to {host} ({detail}).")]
    Connect {
        /// The server.
        host: String,
        /// What the system said.
        detail: String,
    },
    /// The server's certificate is not trusted.
    #[error(
        "{host} presented a certificate that no trusted authority vouches for. For a private instance, give its authority's certificate with --ca-file."
    )]
    Untrusted {
        /// The server.
        host: String,
    },
    /// The server's certificate is signed by a trusted authority but cannot be accepted: it is
    /// for another name, expired, not yet valid, revoked…
    #[error("{host} presented a certificate that cannot be accepted ({detail}).")]
    BadCertificate {
        /// The server.
        host: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The secure connection failed for another reason.
    #[error("The secure connection to {host} failed ({detail}).")]
    Tls {
        /// The server.
        host: String,
        /// What went wrong.
        detail: String,
    },
    /// The server answered 404.
    #[error(
        "{host} has no Jitsi Meet configuration at {url} (HTTP 404): it is not a Jitsi Meet server, or the room link is wrong."
    )]
    NotFound {
        /// The server.
        host: String,
        /// The address asked for.
        url: String,
    },
    /// The server answered with a status other than 200 or 404.
    #[error("{host} answered HTTP {status} instead of its Jitsi Meet configuration.")]
    HttpStatus {
        /// The server.
        host: String,
        /// The HTTP status code.
        status: u16,
    },
    /// Too many redirections.
    #[error("{host} redirected palabre more than 5 times without giving its configuration.")]
    TooManyRedirects {
        /// The server.
        host: String,
    },
    /// A redirection from https to http.
    #[error(
        "{host} redirected palabre from a secure (https) address to an unencrypted one ({url}); palabre does not follow it."
    )]
    InsecureRedirect {
        /// The server.
        host: String,
        /// Where it pointed.
        url: String,
    },
    /// The server took too long.
    #[error("{host} did not send its Jitsi Meet configuration within {seconds} seconds.")]
    Timeout {
        /// The server.
        host: String,
        /// The limit that was reached.
        seconds: u64,
    },
    /// The answer is not UTF-8 text.
    #[error("{host} sent a Jitsi Meet configuration that is not UTF-8 text.")]
    NotUtf8 {
        /// The server.
        host: String,
    },
    /// The `--ca-file` could not be read or holds no certificate.
    #[error("The certificate file {path} could not be used: {detail}.")]
    CaFile {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// Another HTTP failure.
    #[error("Fetching the Jitsi Meet configuration from {host} failed ({detail}).")]
    Http {
        /// The server.
        host: String,
        /// What went wrong.
        detail: String,
    },
}

impl DiscoveryError {
    /// The error in the window's words (the `Display` sentence is the command line's).
    pub fn phrase(&self) -> Phrase {
        // The two settings palabre cannot do without, named in words.
        fn what_id(field: &str) -> &'static str {
            if field == "hosts.muc" {
                "discovery-what-muc"
            } else {
                "discovery-what-domain"
            }
        }
        match self {
            DiscoveryError::TooLarge => Phrase::tr("discovery-too-large"),
            DiscoveryError::NotJavaScript { detail } => Phrase::tr_args(
                "discovery-not-java-script",
                vec![("detail", detail.as_str().into())],
            ),
            DiscoveryError::ScriptFailed { detail } => Phrase::tr_args(
                "discovery-script-failed",
                vec![("detail", detail.as_str().into())],
            ),
            DiscoveryError::TooSlow => Phrase::tr("discovery-too-slow"),
            DiscoveryError::TooMuchMemory => Phrase::tr("discovery-too-much-memory"),
            DiscoveryError::TooDeep => Phrase::tr("discovery-too-deep"),
            DiscoveryError::Interpreter { detail } => Phrase::tr_args(
                "discovery-interpreter",
                vec![("detail", detail.as_str().into())],
            ),
            DiscoveryError::NoConfig => Phrase::tr("discovery-no-config"),
            DiscoveryError::Missing { field, .. } => Phrase::tr_args(
                "discovery-missing",
                vec![
                    ("field", (*field).into()),
                    ("what", Phrase::tr(what_id(field)).into()),
                ],
            ),
            DiscoveryError::BadValue { field, reason } => Phrase::tr_args(
                "discovery-bad-value",
                vec![
                    ("field", (*field).into()),
                    ("reason", reason.as_str().into()),
                ],
            ),
            DiscoveryError::BoshOnly => Phrase::tr("discovery-bosh-only"),
            DiscoveryError::Downgrade { url } => {
                Phrase::tr_args("discovery-downgrade", vec![("url", url.as_str().into())])
            }
            DiscoveryError::HostNotFound { host } => Phrase::tr_args(
                "discovery-host-not-found",
                vec![("host", host.as_str().into())],
            ),
            DiscoveryError::Connect { host, detail } => Phrase::tr_args(
                "discovery-connect",
                vec![
                    ("host", host.as_str().into()),
                    ("detail", detail.as_str().into()),
                ],
            ),
            DiscoveryError::Untrusted { host } => {
                Phrase::tr_args("discovery-untrusted", vec![("host", host.as_str().into())])
            }
            DiscoveryError::BadCertificate { host, detail } => Phrase::tr_args(
                "discovery-bad-certificate",
                vec![
                    ("host", host.as_str().into()),
                    ("detail", detail.as_str().into()),
                ],
            ),
            DiscoveryError::Tls { host, detail } => Phrase::tr_args(
                "discovery-tls",
                vec![
                    ("host", host.as_str().into()),
                    ("detail", detail.as_str().into()),
                ],
            ),
            DiscoveryError::NotFound { host, url } => Phrase::tr_args(
                "discovery-not-found",
                vec![("host", host.as_str().into()), ("url", url.as_str().into())],
            ),
            DiscoveryError::HttpStatus { host, status } => Phrase::tr_args(
                "discovery-http-status",
                vec![
                    ("host", host.as_str().into()),
                    ("status", status.to_string().into()),
                ],
            ),
            DiscoveryError::TooManyRedirects { host } => Phrase::tr_args(
                "discovery-too-many-redirects",
                vec![("host", host.as_str().into())],
            ),
            DiscoveryError::InsecureRedirect { host, url } => Phrase::tr_args(
                "discovery-insecure-redirect",
                vec![("host", host.as_str().into()), ("url", url.as_str().into())],
            ),
            DiscoveryError::Timeout { host, seconds } => Phrase::tr_args(
                "discovery-timeout",
                vec![
                    ("host", host.as_str().into()),
                    ("seconds", seconds.to_string().into()),
                ],
            ),
            DiscoveryError::NotUtf8 { host } => {
                Phrase::tr_args("discovery-not-utf8", vec![("host", host.as_str().into())])
            }
            DiscoveryError::CaFile { path, detail } => Phrase::tr_args(
                "discovery-ca-file",
                vec![
                    ("path", path.as_str().into()),
                    ("detail", detail.as_str().into()),
                ],
            ),
            DiscoveryError::Http { host, detail } => Phrase::tr_args(
                "discovery-http",
                vec![
                    ("host", host.as_str().into()),
                    ("detail", detail.as_str().into()),
                ],
            ),
        }
    }
}

/// The address of an instance's `config.js` for a link:
/// `http[s]://host[:port]/[tenant/]config.js?room=<muc room>`, as the Jitsi Meet mobile app
/// builds it (the room as [`JitsiLink::muc_room`] gives it, which is already safe in a query).
pub fn config_url(link: &JitsiLink) -> Url {
    let mut url = base_url(link);
    if let Some(tenant) = &link.tenant {
        url.path_segments_mut()
            .map(|mut segments| {
                segments.pop_if_empty().push(tenant).push("");
            })
            .ok();
    }
    url.path_segments_mut()
        .map(|mut segments| {
            segments.pop_if_empty().push("config.js");
        })
        .ok();
    url.set_query(Some(&format!("room={}", link.muc_room())));
    url
}

/// `http[s]://host[:port]/` for a link.
fn base_url(link: &JitsiLink) -> Url {
    let scheme = if link.secure { "https" } else { "http" };
    let host = if link.host.contains(':') {
        format!("[{}]", link.host)
    } else {
        link.host.clone()
    };
    let port = link.port.map(|port| format!(":{port}")).unwrap_or_default();
    // A JitsiLink's host went through the URL host parser, so this parses; should it not, a
    // constant address that fails to connect (with a clear error) stands in rather than a panic.
    Url::parse(&format!("{scheme}://{host}{port}/"))
        .unwrap_or_else(|_| Url::parse("https://invalid.invalid/").expect("a constant URL parses"))
}

/// Replaces the nginx SSI `echo` directives in a `config.js` as the stock Jitsi Meet nginx site
/// would for this link, and returns the result.
///
/// `<!--# echo var="NAME" default="TEXT" -->` (attribute values in `"` or `'`, optional
/// `encoding="entity|none|url"`, `entity` by default as in nginx) becomes the variable's value:
///
/// - `subdir`: `tenant/` when the link has a tenant;
/// - `subdomain`: `tenant.` when the link has a tenant;
/// - `http_host`: the link's host, with its port if it has one; `host`: the host alone;
/// - any other variable, or the two above without a tenant, is unset: the `default` text is
///   printed, or `(none)` without one, as nginx does.
///
/// Other directives (`include`, `set`, `if`…) and malformed ones are left as written.
pub fn substitute_ssi(script: &str, link: &JitsiLink) -> String {
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(start) = rest.find("<!--#") {
        out.push_str(&rest[..start]);
        let directive = &rest[start..];
        match parse_echo(directive) {
            Some((length, echo)) => {
                let value = ssi_variable(&echo.var, link)
                    .or(echo.default)
                    .unwrap_or_else(|| "(none)".to_owned());
                match echo.encoding.as_deref() {
                    Some("none") => out.push_str(&value),
                    Some("url") => {
                        for byte in value.bytes() {
                            if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
                                out.push(char::from(byte));
                            } else {
                                let _ = write!(out, "%{byte:02X}");
                            }
                        }
                    }
                    _ => {
                        for c in value.chars() {
                            match c {
                                '<' => out.push_str("&lt;"),
                                '>' => out.push_str("&gt;"),
                                '&' => out.push_str("&amp;"),
                                '"' => out.push_str("&quot;"),
                                c => out.push(c),
                            }
                        }
                    }
                }
                rest = &directive[length..];
            }
            None => {
                out.push_str("<!--#");
                rest = &directive["<!--#".len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// An SSI `echo` directive's parameters.
struct Echo {
    var: String,
    default: Option<String>,
    encoding: Option<String>,
}

/// Reads `<!--# echo … -->` at the start of `text`: its length in bytes and its parameters;
/// `None` for another command or a malformed directive.
fn parse_echo(text: &str) -> Option<(usize, Echo)> {
    let mut rest = text.strip_prefix("<!--#")?.trim_start();
    let command_end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    if &rest[..command_end] != "echo" {
        return None;
    }
    rest = &rest[command_end..];
    let mut echo = Echo {
        var: String::new(),
        default: None,
        encoding: None,
    };
    let mut var = None;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("-->") {
            let length = text.len() - after.len();
            echo.var = var?;
            return Some((length, echo));
        }
        let name_end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        if name_end == 0 {
            return None;
        }
        let name = &rest[..name_end];
        rest = rest[name_end..].strip_prefix('=')?;
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        rest = &rest[1..];
        let value_end = rest.find(quote)?;
        let value = rest[..value_end].to_owned();
        rest = &rest[value_end + 1..];
        match name {
            "var" => var = Some(value),
            "default" => echo.default = Some(value),
            "encoding" => echo.encoding = Some(value),
            _ => return None,
        }
    }
}

/// The value of an nginx variable for the stock Jitsi Meet site and this link.
fn ssi_variable(name: &str, link: &JitsiLink) -> Option<String> {
    let host = if link.host.contains(':') {
        format!("[{}]", link.host)
    } else {
        link.host.clone()
    };
    match name {
        "subdir" => link.tenant.as_ref().map(|tenant| format!("{tenant}/")),
        "subdomain" => link.tenant.as_ref().map(|tenant| format!("{tenant}.")),
        "http_host" => Some(match link.port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }),
        "host" => Some(link.host.clone()),
        _ => None,
    }
}

/// Runs a `config.js` for a link and reads the settings palabre needs from its global
/// `config`. Pure apart from reading the clock for [`TIME_LIMIT`]: no input or output.
///
/// The SSI directives are replaced first ([`substitute_ssi`]); the limits are described in the
/// [module documentation](self). Relative addresses are resolved against [`config_url`].
pub fn evaluate(script: &str, link: &JitsiLink) -> Result<InstanceConfig, DiscoveryError> {
    if script.len() > MAX_SCRIPT_BYTES {
        return Err(DiscoveryError::TooLarge);
    }
    if script.contains('\0') {
        return Err(DiscoveryError::NotJavaScript {
            detail: "it contains a NUL character".to_owned(),
        });
    }
    let script = substitute_ssi(script, link);
    // Substituted values are short, but a file made of directives could grow.
    if script.len() > 2 * MAX_SCRIPT_BYTES {
        return Err(DiscoveryError::TooLarge);
    }
    let runtime = Runtime::new().map_err(interpreter_error)?;
    runtime.set_memory_limit(MEMORY_LIMIT);
    runtime.set_max_stack_size(STACK_LIMIT);
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let deadline = Instant::now() + TIME_LIMIT;
    runtime.set_interrupt_handler(Some(Box::new(move || {
        if Instant::now() >= deadline {
            flag.store(true, Ordering::Relaxed);
            true
        } else {
            false
        }
    })));
    let context = Context::full(&runtime).map_err(interpreter_error)?;
    let config_url = config_url(link);
    let result = context.with(|ctx| {
        // Not strict mode: browsers run config.js as a classic script, in sloppy mode.
        let mut options = EvalOptions::default();
        options.strict = false;
        options.filename = Some("config.js".to_owned());
        let outcome = ctx
            .eval_with_options::<(), _>(script.as_bytes(), options)
            // `var config` is a property of the global object, `let config` is not; a second
            // script sees both, as the mobile app's appended `JSON.stringify(config)` does.
            .and_then(|()| {
                ctx.eval::<Value, _>("typeof config === 'undefined' ? undefined : config")
            });
        match outcome {
            Ok(config) => read_config(&ctx, config, &config_url),
            Err(error) => Err(Thrown::from_error(&ctx, error)),
        }
    });
    result.map_err(|thrown| thrown.into_error(interrupted.load(Ordering::Relaxed)))
}

/// A failure inside the interpreter, or a setting that cannot be used.
enum Thrown {
    /// The interpreter raised an exception (or failed in rquickjs).
    Exception { name: String, message: String },
    /// Out of memory without an exception object.
    Allocation,
    /// A setting palabre rejects.
    Setting(DiscoveryError),
}

impl Thrown {
    fn from_error(ctx: &Ctx<'_>, error: rquickjs::Error) -> Thrown {
        match error {
            rquickjs::Error::Exception => {
                let value = ctx.catch();
                let (name, message) = if let Some(object) = value.as_object() {
                    let name = object
                        .get::<_, Value>("name")
                        .ok()
                        .and_then(|value| short_text(&value));
                    let message = object
                        .get::<_, Value>("message")
                        .ok()
                        .and_then(|value| short_text(&value));
                    (name.unwrap_or_default(), message.unwrap_or_default())
                } else {
                    (
                        String::new(),
                        short_text(&value).unwrap_or_else(|| describe_type(&value).to_owned()),
                    )
                };
                Thrown::Exception { name, message }
            }
            rquickjs::Error::Allocation => Thrown::Allocation,
            other => Thrown::Exception {
                name: String::new(),
                message: shorten(&other.to_string()),
            },
        }
    }

    fn into_error(self, interrupted: bool) -> DiscoveryError {
        if interrupted {
            return DiscoveryError::TooSlow;
        }
        match self {
            Thrown::Setting(error) => error,
            Thrown::Allocation => DiscoveryError::TooMuchMemory,
            Thrown::Exception { name, message } => {
                if message.contains("out of memory") {
                    DiscoveryError::TooMuchMemory
                } else if message.contains("stack overflow")
                    || message.contains("Maximum call stack size exceeded")
                {
                    DiscoveryError::TooDeep
                } else if name == "SyntaxError" {
                    DiscoveryError::NotJavaScript { detail: message }
                } else if name.is_empty() {
                    DiscoveryError::ScriptFailed {
                        detail: if message.is_empty() {
                            "an unknown error".to_owned()
                        } else {
                            message
                        },
                    }
                } else {
                    DiscoveryError::ScriptFailed {
                        detail: format!("{name}: {message}"),
                    }
                }
            }
        }
    }
}

impl From<DiscoveryError> for Thrown {
    fn from(error: DiscoveryError) -> Self {
        Thrown::Setting(error)
    }
}

fn interpreter_error(error: rquickjs::Error) -> DiscoveryError {
    DiscoveryError::Interpreter {
        detail: shorten(&error.to_string()),
    }
}

/// At most 200 characters of a text from the server, control characters replaced by spaces.
fn shorten(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(200).is_some() {
        out.push('…');
    }
    // The sentences around it end with their own full stop.
    out.trim().trim_end_matches('.').to_owned()
}

/// A JavaScript string or number as shortened text.
fn short_text(value: &Value<'_>) -> Option<String> {
    if let Some(string) = value.as_string() {
        // The UTF-8 copy is made in the interpreter's memory, under its limit.
        let text = string.clone().to_cstring().ok()?;
        if text.len() > 4 * MAX_VALUE_BYTES {
            return Some("(a very long text)".to_owned());
        }
        return Some(shorten(text.as_str()));
    }
    value.as_number().map(|number| number.to_string())
}

/// The JavaScript type of a value, in words.
fn describe_type(value: &Value<'_>) -> &'static str {
    if value.is_undefined() {
        "nothing"
    } else if value.is_null() {
        "null"
    } else if value.as_bool().is_some() {
        "a boolean"
    } else if value.as_number().is_some() {
        "a number"
    } else if value.is_string() {
        "a text"
    } else if value.is_array() {
        "an array"
    } else if value.is_function() {
        "a function"
    } else if value.is_object() {
        "an object"
    } else {
        "a value of another type"
    }
}

/// Reads and checks the settings from the `config` value.
fn read_config<'js>(
    ctx: &Ctx<'js>,
    config: Value<'js>,
    config_url: &Url,
) -> Result<InstanceConfig, Thrown> {
    let Some(config) = config.into_object() else {
        return Err(DiscoveryError::NoConfig.into());
    };
    if config.as_value().is_function() || config.as_value().is_array() {
        return Err(DiscoveryError::NoConfig.into());
    }
    let hosts = child(ctx, &config, "hosts")?;
    let domain = match &hosts {
        Some(hosts) => text(ctx, hosts, "domain", "hosts.domain")?,
        None => None,
    };
    let domain = domain_name(domain, "hosts.domain")?.ok_or(DiscoveryError::Missing {
        field: "hosts.domain",
        what: "XMPP domain",
    })?;
    let read_host = |key: &str, field: &'static str| -> Result<Option<String>, Thrown> {
        match &hosts {
            Some(hosts) => domain_name(text(ctx, hosts, key, field)?, field),
            None => Ok(None),
        }
    };
    let muc = read_host("muc", "hosts.muc")?.ok_or(DiscoveryError::Missing {
        field: "hosts.muc",
        what: "conference room domain",
    })?;
    let anonymous_domain = read_host("anonymousdomain", "hosts.anonymousdomain")?;
    let auth_domain = read_host("authdomain", "hosts.authdomain")?.unwrap_or(domain.clone());
    let focus = read_host("focus", "hosts.focus")?.unwrap_or(format!("focus.{domain}"));
    let focus_user_jid = match text(ctx, &config, "focusUserJid", "focusUserJid")? {
        Some(jid) if jid.contains('@') && !jid.chars().any(char::is_whitespace) => Some(jid),
        Some(jid) => {
            return Err(DiscoveryError::BadValue {
                field: "focusUserJid",
                reason: format!("{} is not an XMPP address", quoted(&jid)),
            }
            .into());
        }
        None => None,
    };
    let websocket = address(ctx, &config, "websocket", config_url, true)?;
    let bosh = address(ctx, &config, "bosh", config_url, false)?;
    let websocket_keep_alive_url =
        address(ctx, &config, "websocketKeepAliveUrl", config_url, false)?;
    let token_auth_url = text(ctx, &config, "tokenAuthUrl", "tokenAuthUrl")?;
    let prefer_bosh = boolean(ctx, &config, "preferBosh", "preferBosh")?.unwrap_or(false);
    let start_audio_only =
        boolean(ctx, &config, "startAudioOnly", "startAudioOnly")?.unwrap_or(false);
    let start_with_audio_muted =
        boolean(ctx, &config, "startWithAudioMuted", "startWithAudioMuted")?.unwrap_or(false);
    let start_audio_muted = whole_number(ctx, &config, "startAudioMuted", "startAudioMuted")?;
    // As lib-jitsi-meet's `isP2PEnabled`: on when there is no `p2p` at all, otherwise only when
    // `p2p.enabled` is true.
    let p2p = property(ctx, &config, "p2p")?;
    let p2p_enabled = if p2p.is_undefined() {
        true
    } else {
        match p2p.into_object() {
            Some(p2p) => boolean(ctx, &p2p, "enabled", "p2p.enabled")?.unwrap_or(false),
            None => false,
        }
    };
    let bridge_prefer_sctp = match child(ctx, &config, "bridgeChannel")? {
        Some(channel) => {
            boolean(ctx, &channel, "preferSctp", "bridgeChannel.preferSctp")?.unwrap_or(true)
        }
        None => true,
    };
    Ok(InstanceConfig {
        domain,
        anonymous_domain,
        auth_domain,
        muc,
        focus,
        focus_user_jid,
        websocket,
        bosh,
        prefer_bosh,
        websocket_keep_alive_url,
        token_auth_url,
        start_audio_only,
        start_audio_muted,
        start_with_audio_muted,
        p2p_enabled,
        bridge_prefer_sctp,
    })
}

/// The property `key` of `object`; a getter that throws gives the exception.
fn property<'js>(ctx: &Ctx<'js>, object: &Object<'js>, key: &str) -> Result<Value<'js>, Thrown> {
    object
        .get::<_, Value>(key)
        .map_err(|error| Thrown::from_error(ctx, error))
}

/// An object-valued property; `None` when absent, null or not an object.
fn child<'js>(
    ctx: &Ctx<'js>,
    object: &Object<'js>,
    key: &str,
) -> Result<Option<Object<'js>>, Thrown> {
    Ok(property(ctx, object, key)?.into_object())
}

/// A text property: `None` when absent, null or empty (after trimming); an error for another
/// type, a text longer than [`MAX_VALUE_BYTES`] or one with control characters.
fn text<'js>(
    ctx: &Ctx<'js>,
    object: &Object<'js>,
    key: &str,
    field: &'static str,
) -> Result<Option<String>, Thrown> {
    let value = property(ctx, object, key)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let Some(string) = value.as_string() else {
        return Err(DiscoveryError::BadValue {
            field,
            reason: format!("it should be a text, not {}", describe_type(&value)),
        }
        .into());
    };
    // The UTF-8 copy is made in the interpreter's memory, under its limit; only a short one is
    // copied out.
    let text = string
        .clone()
        .to_cstring()
        .map_err(|error| Thrown::from_error(ctx, error))?;
    if text.len() > MAX_VALUE_BYTES {
        return Err(too_long(field));
    }
    let text = text.as_str();
    if text.chars().any(char::is_control) {
        return Err(DiscoveryError::BadValue {
            field,
            reason: "it contains control characters".to_owned(),
        }
        .into());
    }
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

fn too_long(field: &'static str) -> Thrown {
    DiscoveryError::BadValue {
        field,
        reason: format!("it is longer than {MAX_VALUE_BYTES} bytes"),
    }
    .into()
}

/// A `true`/`false` property; `None` when absent or null.
fn boolean<'js>(
    ctx: &Ctx<'js>,
    object: &Object<'js>,
    key: &str,
    field: &'static str,
) -> Result<Option<bool>, Thrown> {
    let value = property(ctx, object, key)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_bool().map(Some).ok_or_else(|| {
        DiscoveryError::BadValue {
            field,
            reason: format!("it should be true or false, not {}", describe_type(&value)),
        }
        .into()
    })
}

/// A whole-number property from 0 to `u32::MAX`; `None` when absent or null.
fn whole_number<'js>(
    ctx: &Ctx<'js>,
    object: &Object<'js>,
    key: &str,
    field: &'static str,
) -> Result<Option<u32>, Thrown> {
    let value = property(ctx, object, key)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_number() {
        Some(number)
            if number.is_finite()
                && number >= 0.0
                && number <= f64::from(u32::MAX)
                && number.fract() == 0.0 =>
        {
            // Checked just above: a whole number in the range of u32.
            Ok(Some(number as u32))
        }
        _ => Err(DiscoveryError::BadValue {
            field,
            reason: format!(
                "it should be a whole number from 0 to {}, not {}",
                u32::MAX,
                describe_type(&value)
            ),
        }
        .into()),
    }
}

/// Checks and lowercases a domain name: labels of ASCII letters, digits, `-` and `_`, at most
/// 253 bytes in all.
fn domain_name(value: Option<String>, field: &'static str) -> Result<Option<String>, Thrown> {
    let Some(value) = value else {
        return Ok(None);
    };
    let name = value.to_ascii_lowercase();
    let valid = name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(Some(name))
    } else {
        Err(DiscoveryError::BadValue {
            field,
            reason: format!("{} is not a domain name", quoted(&value)),
        }
        .into())
    }
}

/// An address property resolved against the `config.js` address: `http`/`https` only, or also
/// `ws`/`wss` when `websocket` is true; `None` when absent or empty.
fn address<'js>(
    ctx: &Ctx<'js>,
    object: &Object<'js>,
    key: &'static str,
    config_url: &Url,
    websocket: bool,
) -> Result<Option<Url>, Thrown> {
    let Some(value) = text(ctx, object, key, key)? else {
        return Ok(None);
    };
    let url = config_url
        .join(&value)
        .map_err(|error| DiscoveryError::BadValue {
            field: key,
            reason: format!("{} is not an address ({error})", quoted(&value)),
        })?;
    let scheme_ok = match url.scheme() {
        "http" | "https" => true,
        "ws" | "wss" => websocket,
        _ => false,
    };
    if !scheme_ok || url.host_str().is_none() {
        return Err(DiscoveryError::BadValue {
            field: key,
            reason: format!("{} is not a web address palabre can use", quoted(&value)),
        }
        .into());
    }
    Ok(Some(url))
}

/// A value from the server in quotes, shortened.
fn quoted(value: &str) -> String {
    let short: String = value.chars().take(80).collect();
    if short.len() < value.len() {
        format!("“{short}…”")
    } else {
        format!("“{short}”")
    }
}

/// The address palabre opens the XMPP WebSocket to, with `room=<muc room>` added to its query
/// (other query parameters kept, an existing `room` replaced).
///
/// - The configured `websocket` address is used; `http`/`https` become `ws`/`wss`.
/// - An `https` link whose configuration says `ws://` (or `http://`) is refused
///   ([`DiscoveryError::Downgrade`]); an `http` link may use either.
/// - Without a `websocket` address, one is derived only when `bosh` is absent or ends with
///   `http-bind` and is served by the link's own host: `xmpp-websocket` next to it (the stock
///   Debian and docker nginx sites serve both). Otherwise the instance is BOSH-only
///   ([`DiscoveryError::BoshOnly`]).
pub fn websocket_url(config: &InstanceConfig, link: &JitsiLink) -> Result<Url, DiscoveryError> {
    let mut url = match &config.websocket {
        Some(url) => url.clone(),
        None => derive_websocket(config, link).ok_or(DiscoveryError::BoshOnly)?,
    };
    let scheme = match url.scheme() {
        "https" | "wss" => "wss",
        "http" | "ws" => "ws",
        _ => {
            return Err(DiscoveryError::BadValue {
                field: "websocket",
                reason: format!("{} is not a WebSocket address", quoted(url.as_str())),
            });
        }
    };
    if link.secure && scheme == "ws" {
        return Err(DiscoveryError::Downgrade {
            url: url.to_string(),
        });
    }
    if url.scheme() != scheme && url.set_scheme(scheme).is_err() {
        return Err(DiscoveryError::BadValue {
            field: "websocket",
            reason: format!("{} is not a WebSocket address", quoted(url.as_str())),
        });
    }
    url.set_fragment(None);
    if url.query_pairs().any(|(key, _)| key == "room") {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| key != "room")
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
    }
    url.query_pairs_mut().append_pair("room", &link.muc_room());
    Ok(url)
}

/// `xmpp-websocket` next to the BOSH address, when it is the stock form on the link's host.
fn derive_websocket(config: &InstanceConfig, link: &JitsiLink) -> Option<Url> {
    let bosh = match &config.bosh {
        Some(bosh) => bosh.clone(),
        None => config_url(link).join("http-bind").ok()?,
    };
    let same_host = bosh.host_str().map(|host| host.trim_matches(['[', ']']))
        == Some(link.host.as_str())
        && bosh.port_or_known_default() == base_url(link).port_or_known_default();
    let stock_path = bosh.path().trim_end_matches('/').ends_with("/http-bind");
    if !same_host || !stock_path {
        return None;
    }
    let path = bosh.path().trim_end_matches('/');
    let mut websocket = bosh.clone();
    websocket.set_path(&format!(
        "{}xmpp-websocket",
        &path[..path.len() - "http-bind".len()]
    ));
    websocket.set_query(None);
    websocket.set_fragment(None);
    Some(websocket)
}

/// Fetches and runs an instance's `config.js` and finds its WebSocket address: [`fetch`], then
/// [`evaluate`], then [`websocket_url`]. Blocking: run it off the UI thread.
pub fn discover(
    link: &JitsiLink,
    extra_ca: Option<&std::path::Path>,
) -> Result<(InstanceConfig, Url), DiscoveryError> {
    let script = fetch(link, extra_ca)?;
    let config = evaluate(&script, link)?;
    let websocket = websocket_url(&config, link)?;
    Ok((config, websocket))
}
