//! Tests of discovery: the fixtures in `tests/data/jitsi/`, hostile scripts, the WebSocket
//! address, and `fetch` against HTTP and HTTPS servers on loopback.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

use super::http::fetch_within;
use super::*;
use crate::link::{Link, parse};

fn link(text: &str) -> JitsiLink {
    match parse(text) {
        Ok(Link::Jitsi(link)) => link,
        other => panic!("{text}: {other:?}"),
    }
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/jitsi/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("test URL")
}

#[test]
fn config_url_has_the_tenant_the_port_and_the_room() {
    assert_eq!(
        config_url(&link("https://meet.example.org/MyRoom")).as_str(),
        "https://meet.example.org/config.js?room=myroom"
    );
    assert_eq!(
        config_url(&link("https://meet.example.org:8443/Team/My%20Room")).as_str(),
        "https://meet.example.org:8443/Team/config.js?room=my%20room"
    );
    assert_eq!(
        config_url(&link("http://[::1]:8000/Café")).as_str(),
        "http://[::1]:8000/config.js?room=caf%c3%a9"
    );
}

#[test]
fn ssi_echo_is_replaced_as_nginx_would() {
    let tenant = link("https://meet.example.org:8443/Team/Room");
    let plain = link("https://meet.example.org/Room");
    let script = "a='<!--# echo var=\"subdir\" default=\"\" -->' b='<!--#echo var='subdomain' default='x.'-->' \
                  c='<!--# echo var=\"http_host\" default=\"d\" -->' e='<!--# echo var=\"other\" -->' \
                  f='<!--# echo var=\"other\" default=\"<&>\" -->' g='<!--# echo var=\"other\" default=\"<&>\" encoding=\"none\" -->' \
                  h='<!--# include virtual=\"/x\" -->' i='<!--# echo var=\"subdir\"'";
    assert_eq!(
        substitute_ssi(script, &tenant),
        "a='Team/' b='Team.' c='meet.example.org:8443' e='(none)' f='&lt;&amp;&gt;' g='<&>' \
         h='<!--# include virtual=\"/x\" -->' i='<!--# echo var=\"subdir\"'"
    );
    assert_eq!(
        substitute_ssi(script, &plain),
        "a='' b='x.' c='meet.example.org' e='(none)' f='&lt;&amp;&gt;' g='<&>' \
         h='<!--# include virtual=\"/x\" -->' i='<!--# echo var=\"subdir\"'"
    );
}

#[test]
fn the_stock_debian_config_without_a_tenant() {
    let link = link("https://jitsi-meet.example.com/MyRoom");
    let config = evaluate(&fixture("config-debian.js"), &link).expect("evaluates");
    assert_eq!(
        config,
        InstanceConfig {
            domain: "jitsi-meet.example.com".to_owned(),
            anonymous_domain: None,
            auth_domain: "jitsi-meet.example.com".to_owned(),
            muc: "conference.jitsi-meet.example.com".to_owned(),
            focus: "focus.jitsi-meet.example.com".to_owned(),
            focus_user_jid: None,
            websocket: Some(url("wss://jitsi-meet.example.com/xmpp-websocket")),
            bosh: Some(url("https://jitsi-meet.example.com/http-bind")),
            prefer_bosh: false,
            websocket_keep_alive_url: None,
            token_auth_url: None,
            start_audio_only: false,
            start_audio_muted: Some(10),
            start_with_audio_muted: false,
            p2p_enabled: true,
            bridge_prefer_sctp: true,
        }
    );
    assert_eq!(
        websocket_url(&config, &link).expect("websocket").as_str(),
        "wss://jitsi-meet.example.com/xmpp-websocket?room=myroom"
    );
}

#[test]
fn the_stock_debian_config_with_a_tenant_raw_or_already_processed() {
    let link = link("https://jitsi-meet.example.com/Blue.Team/Standup");
    let raw = fixture("config-debian.js");
    let config = evaluate(&raw, &link).expect("evaluates");
    // The template turns the subdomain "Blue.Team." into "blue_team.".
    assert_eq!(config.muc, "conference.blue_team.jitsi-meet.example.com");
    assert_eq!(
        config.websocket,
        Some(url("wss://jitsi-meet.example.com/Blue.Team/xmpp-websocket"))
    );
    assert_eq!(
        websocket_url(&config, &link).expect("websocket").as_str(),
        "wss://jitsi-meet.example.com/Blue.Team/xmpp-websocket?room=standup"
    );
    // A server with SSI sends the file already processed: same result.
    let processed = substitute_ssi(&raw, &link);
    assert!(!processed.contains("<!--#"));
    assert_eq!(evaluate(&processed, &link), Ok(config));
    // A directive palabre does not replace reaches the template as written, and the template
    // blanks it.
    let unprocessed = raw.replace(
        "echo var=\"subdir\" default=\"\"",
        "include virtual=\"/subdir\"",
    );
    let config = evaluate(&unprocessed, &link).expect("evaluates");
    assert_eq!(
        config.websocket,
        Some(url("wss://jitsi-meet.example.com/xmpp-websocket"))
    );
}

#[test]
fn the_docker_statement_form_with_an_internal_domain() {
    // Its subdomain line is `"<!--# echo var="subdomain" … -->"`: JavaScript only after the
    // directive is replaced.
    let script = fixture("config-docker.js");
    let link = link("https://public.example/Room");
    let config = evaluate(&script, &link).expect("evaluates");
    assert_eq!(config.domain, "meet.jitsi");
    assert_eq!(config.muc, "muc.meet.jitsi");
    assert_eq!(config.anonymous_domain.as_deref(), Some("guest.meet.jitsi"));
    assert_eq!(config.auth_domain, "meet.jitsi");
    assert_eq!(config.focus, "focus.meet.jitsi");
    assert_eq!(
        config.focus_user_jid.as_deref(),
        Some("focus@auth.meet.jitsi")
    );
    assert_eq!(config.bosh, Some(url("https://public.example/http-bind")));
    assert!(!config.bridge_prefer_sctp);
    assert!(config.start_audio_only);
    assert!(config.start_with_audio_muted);
    assert!(!config.p2p_enabled);
    assert_eq!(config.start_audio_muted, None);

    let tenant = link_with_tenant();
    let config = evaluate(&script, &tenant).expect("evaluates");
    assert_eq!(config.muc, "muc.acme.meet.jitsi");
    assert_eq!(
        config.bosh,
        Some(url("https://public.example/acme/http-bind"))
    );
    assert_eq!(
        websocket_url(&config, &tenant).expect("websocket").as_str(),
        "wss://public.example/acme/xmpp-websocket?room=weekly"
    );
}

fn link_with_tenant() -> JitsiLink {
    link("https://public.example/acme/Weekly")
}

#[test]
fn a_meet_jit_si_like_config_with_guests_and_tokens() {
    let link = link("https://meet.jit.si/SomeRoom");
    let config = evaluate(&fixture("config-meet-jit-si.js"), &link).expect("evaluates");
    assert_eq!(config.domain, "meet.jit.si");
    assert_eq!(
        config.anonymous_domain.as_deref(),
        Some("guest.meet.jit.si")
    );
    assert_eq!(config.muc, "conference.meet.jit.si");
    assert_eq!(config.focus, "focus.meet.jit.si");
    // Protocol-relative addresses take the config.js address's scheme.
    assert_eq!(
        config.websocket,
        Some(url("https://meet.jit.si/xmpp-websocket"))
    );
    assert_eq!(
        config.token_auth_url.as_deref(),
        Some("https://auth.meet.jit.si/login?room={room}&state={state}")
    );
    assert_eq!(
        config.websocket_keep_alive_url,
        Some(url("https://meet.jit.si/_unlock?room={room}"))
    );
    assert_eq!(config.start_audio_muted, Some(25));
    assert!(config.p2p_enabled && config.bridge_prefer_sctp);
    assert_eq!(
        websocket_url(&config, &link).expect("websocket").as_str(),
        "wss://meet.jit.si/xmpp-websocket?room=someroom"
    );
}

fn minimal(extra: &str) -> String {
    format!(
        "var config = {{ hosts: {{ domain: 'a.example', muc: 'conference.a.example' }} }};\n{extra}"
    )
}

#[test]
fn hostile_scripts_are_stopped_with_a_sentence() {
    let link = link("https://a.example/Room");
    let cases: [(&str, DiscoveryError); 7] = [
        ("config-hostile-loop.js", DiscoveryError::TooSlow),
        ("config-hostile-repeat.js", DiscoveryError::TooMuchMemory),
        ("config-hostile-grow.js", DiscoveryError::TooMuchMemory),
        ("config-hostile-recursion.js", DiscoveryError::TooDeep),
        (
            "config-hostile-throw.js",
            DiscoveryError::ScriptFailed {
                detail: "TypeError: this instance is closed".to_owned(),
            },
        ),
        ("config-hostile-not-object.js", DiscoveryError::NoConfig),
        (
            "config-hostile-syntax.js",
            DiscoveryError::NotJavaScript {
                detail: String::new(),
            },
        ),
    ];
    for (name, expected) in cases {
        let started = Instant::now();
        let result = evaluate(&fixture(name), &link);
        let error = result.expect_err(name);
        match (&error, &expected) {
            (DiscoveryError::NotJavaScript { detail }, DiscoveryError::NotJavaScript { .. }) => {
                assert!(!detail.is_empty(), "{name}: {error}");
            }
            _ => assert_eq!(error, expected, "{name}: {error}"),
        }
        assert!(error.to_string().ends_with('.'), "{error}");
        // Not a timing assertion on speed: only that the one-second stop happened at all.
        assert!(started.elapsed() < Duration::from_secs(10), "{name}");
    }
}

#[test]
fn more_hostile_scripts() {
    let long_tenant = link(&format!("https://a.example/{}/Room", "t".repeat(200)));
    let link = link("https://a.example/Room");
    let too_slow = [
        // A getter on config that never returns.
        "var config = { get hosts() { for (;;) {} } };",
        // Catastrophic backtracking in the regular expression engine.
        "/^(a+)+$/.test('a'.repeat(40) + 'b'); var config = {};",
        // A loop that catches the out-of-memory error and carries on.
        "var h = []; for (;;) { try { h.push(new Array(1e5).fill(1)); } catch (e) { h = []; } }",
    ];
    for script in too_slow {
        assert_eq!(
            evaluate(script, &link),
            Err(DiscoveryError::TooSlow),
            "{script}"
        );
    }
    let deep_syntax = format!(
        "var config = {}1{};",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(evaluate(&deep_syntax, &link), Err(DiscoveryError::TooDeep));
    // Exactly at the size limit it is read; one byte more and it is not.
    let mut padded = minimal("//");
    padded.push_str(&"x".repeat(MAX_SCRIPT_BYTES - padded.len()));
    assert!(evaluate(&padded, &link).is_ok());
    padded.push('x');
    assert_eq!(evaluate(&padded, &link), Err(DiscoveryError::TooLarge));
    let two_mib = minimal(&"// padding\n".repeat(2 * 1024 * 1024 / 11));
    assert_eq!(evaluate(&two_mib, &link), Err(DiscoveryError::TooLarge));
    // A file of directives that would grow past twice the limit when replaced.
    let directive = "<!--# echo var=\"subdir\" -->";
    let directives = directive.repeat(MAX_SCRIPT_BYTES / directive.len());
    assert!(directives.len() <= MAX_SCRIPT_BYTES);
    assert_eq!(
        evaluate(&directives, &long_tenant),
        Err(DiscoveryError::TooLarge)
    );
    assert!(matches!(
        evaluate("var config = {};\0", &link),
        Err(DiscoveryError::NotJavaScript { .. })
    ));
    assert_eq!(
        evaluate("throw 'plain';", &link),
        Err(DiscoveryError::ScriptFailed {
            detail: "plain".to_owned()
        })
    );
    assert_eq!(evaluate("", &link), Err(DiscoveryError::NoConfig));
    assert_eq!(
        evaluate("var config = function () {};", &link),
        Err(DiscoveryError::NoConfig)
    );
}

#[test]
fn settings_are_checked() {
    let link = link("https://a.example/Room");
    let error = evaluate(
        "var config = { hosts: { muc: 'conference.a.example' } };",
        &link,
    )
    .expect_err("no domain");
    assert_eq!(
        error.to_string(),
        "This server's Jitsi Meet configuration has no XMPP domain (hosts.domain)."
    );
    assert_eq!(
        evaluate(
            "var config = { hosts: { domain: 'a.example', muc: ' ' } };",
            &link
        ),
        Err(DiscoveryError::Missing {
            field: "hosts.muc",
            what: "conference room domain"
        })
    );
    // `let` and `const` at the top level are not properties of the global object, but count.
    let config = evaluate(
        "let config = { hosts: { domain: 'A.Example', muc: 'conference.a.example' } };",
        &link,
    )
    .expect("let config");
    assert_eq!(config.domain, "a.example");
    // Defaults.
    assert!(config.p2p_enabled && config.bridge_prefer_sctp && !config.prefer_bosh);
    assert_eq!(config.focus, "focus.a.example");
    assert_eq!(config.auth_domain, "a.example");
    let config = evaluate(
        "var config = { hosts: { domain: 'a.example', muc: 'm.a.example' }, p2p: {} };",
        &link,
    )
    .expect("p2p without enabled");
    assert!(!config.p2p_enabled);
    // Sloppy mode, as in a browser: an undeclared assignment makes a global, `with` works.
    let config = evaluate(
        "config = {}; with (config) { config.hosts = { domain: 'a.example', muc: 'm.a.example' }; }",
        &link,
    )
    .expect("sloppy mode");
    assert_eq!(config.muc, "m.a.example");
    let bad = [
        (
            "hosts.domain",
            "var config = { hosts: { domain: 'a b', muc: 'm.a' } };",
        ),
        (
            "hosts.domain",
            "var config = { hosts: { domain: 42, muc: 'm.a' } };",
        ),
        (
            "hosts.muc",
            "var config = { hosts: { domain: 'a', muc: 'a..b' } };",
        ),
        (
            "hosts.domain",
            "var config = { hosts: { domain: 'a'.repeat(3000), muc: 'm.a' } };",
        ),
        (
            "startAudioOnly",
            "var config = { hosts: { domain: 'a', muc: 'm.a' }, startAudioOnly: 'yes' };",
        ),
        (
            "startAudioMuted",
            "var config = { hosts: { domain: 'a', muc: 'm.a' }, startAudioMuted: 2.5 };",
        ),
        (
            "startAudioMuted",
            "var config = { hosts: { domain: 'a', muc: 'm.a' }, startAudioMuted: -1 };",
        ),
        (
            "websocket",
            "var config = { hosts: { domain: 'a', muc: 'm.a' }, websocket: 'ftp://a/x' };",
        ),
        (
            "websocket",
            "var config = { hosts: { domain: 'a', muc: 'm.a' }, websocket: 'wss://a/\\n' };",
        ),
        (
            "focusUserJid",
            "var config = { hosts: { domain: 'a', muc: 'm.a' }, focusUserJid: 'focus' };",
        ),
    ];
    for (field, script) in bad {
        match evaluate(script, &link) {
            Err(DiscoveryError::BadValue { field: got, reason }) => {
                assert_eq!(got, field, "{script}: {reason}");
                assert!(reason.len() < 300, "{reason}");
            }
            other => panic!("{script}: {other:?}"),
        }
    }
}

fn with_websocket(websocket: Option<&str>, bosh: Option<&str>) -> InstanceConfig {
    let mut script =
        "var config = { hosts: { domain: 'a.example', muc: 'conference.a.example' } };".to_owned();
    if let Some(websocket) = websocket {
        script.push_str(&format!("config.websocket = '{websocket}';"));
    }
    if let Some(bosh) = bosh {
        script.push_str(&format!("config.bosh = '{bosh}';"));
    }
    evaluate(&script, &link("https://a.example/Room")).expect("evaluates")
}

#[test]
fn the_websocket_address() {
    let secure = link("https://a.example/Café");
    let insecure = link("http://a.example:8080/Room");
    let cases = [
        (
            Some("wss://a.example/xmpp-websocket?x=1&room=old#frag"),
            None,
            "wss://a.example/xmpp-websocket?x=1&room=caf%25c3%25a9",
        ),
        (
            Some("https://b.example/ws"),
            None,
            "wss://b.example/ws?room=caf%25c3%25a9",
        ),
        // Derived next to a stock BOSH address on the same host.
        (
            None,
            Some("https://a.example/t/http-bind"),
            "wss://a.example/t/xmpp-websocket?room=caf%25c3%25a9",
        ),
        (
            None,
            None,
            "wss://a.example/xmpp-websocket?room=caf%25c3%25a9",
        ),
    ];
    for (websocket, bosh, expected) in cases {
        let config = with_websocket(websocket, bosh);
        assert_eq!(
            websocket_url(&config, &secure).map(String::from),
            Ok(expected.to_owned())
        );
    }
    // BOSH on another host, or not at the stock path: nothing to derive.
    for bosh in ["https://b.example/http-bind", "https://a.example/bosh"] {
        let config = with_websocket(None, Some(bosh));
        assert_eq!(
            websocket_url(&config, &secure),
            Err(DiscoveryError::BoshOnly)
        );
    }
    // An unencrypted WebSocket: refused for an https link, allowed for an http one.
    let config = with_websocket(Some("ws://a.example/xmpp-websocket"), None);
    let error = websocket_url(&config, &secure).expect_err("downgrade");
    assert!(matches!(error, DiscoveryError::Downgrade { .. }));
    assert!(
        error
            .to_string()
            .contains("does not connect without encryption")
    );
    assert_eq!(
        websocket_url(&config, &insecure).map(String::from),
        Ok("ws://a.example/xmpp-websocket?room=room".to_owned())
    );
    let config = with_websocket(Some("http://a.example/xmpp-websocket"), None);
    assert!(matches!(
        websocket_url(&config, &secure),
        Err(DiscoveryError::Downgrade { .. })
    ));
}

/// Evaluation time of the stock fixture: `cargo test --release --lib discovery -- --ignored
/// --nocapture`.
#[test]
#[ignore = "measurement, prints the time"]
fn time_the_stock_fixture() {
    let script = fixture("config-debian.js");
    let link = link("https://jitsi-meet.example.com/Team/Room");
    let runs = 200;
    let started = Instant::now();
    for _ in 0..runs {
        evaluate(&script, &link).expect("evaluates");
    }
    println!(
        "evaluate(config-debian.js): {:?} per run",
        started.elapsed() / runs
    );
}

// ----- fetch -----

/// What a test server answers to one request: the bytes to write, and how long to pause
/// before the last quarter of them.
struct Answer {
    bytes: Vec<u8>,
    pause: Duration,
}

fn answer(status: &str, headers: &str, body: &[u8]) -> Answer {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    Answer {
        bytes,
        pause: Duration::ZERO,
    }
}

/// Reads a request head; returns its lines.
fn read_head(stream: &mut impl std::io::Read) -> Vec<String> {
    let mut reader = BufReader::new(stream);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    lines
}

fn write_answer(stream: &mut impl std::io::Write, answer: &Answer) {
    let split = answer.bytes.len() - answer.bytes.len() / 4;
    stream.write_all(&answer.bytes[..split]).ok();
    stream.flush().ok();
    thread::sleep(answer.pause);
    stream.write_all(&answer.bytes[split..]).ok();
    stream.flush().ok();
}

/// A plain HTTP server on loopback answering `count` connections with `respond`; the request
/// heads come back on the channel.
fn http_server(
    count: usize,
    respond: impl Fn(&[String], u16) -> Answer + Send + 'static,
) -> (u16, mpsc::Receiver<Vec<String>>, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (sender, receiver) = mpsc::channel();
    let handle = thread::spawn(move || {
        for _ in 0..count {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let head = read_head(&mut stream);
            write_answer(&mut stream, &respond(&head, port));
            sender.send(head).ok();
        }
    });
    (port, receiver, handle)
}

#[test]
fn fetch_over_http() {
    let body = "var config = {};";
    let (port, heads, server) = http_server(1, move |_, _| answer("200 OK", "", body.as_bytes()));
    let link = link(&format!("http://localhost:{port}/Team/MyRoom"));
    assert_eq!(fetch(&link, None).as_deref(), Ok(body));
    let head = heads.recv().expect("request");
    assert_eq!(head[0], "GET /Team/config.js?room=myroom HTTP/1.1");
    assert!(
        head.iter().any(|line| line.eq_ignore_ascii_case(&format!(
            "user-agent: palabre/{}",
            env!("CARGO_PKG_VERSION")
        ))),
        "{head:?}"
    );
    server.join().expect("server");
}

#[test]
fn fetch_failures_are_sentences() {
    // 404
    let (port, _, server) = http_server(1, |_, _| answer("404 Not Found", "", b"nope"));
    let error = fetch(&link(&format!("http://127.0.0.1:{port}/Room")), None).expect_err("404");
    assert!(matches!(error, DiscoveryError::NotFound { .. }));
    assert!(
        error
            .to_string()
            .contains("it is not a Jitsi Meet server, or the room link is wrong"),
        "{error}"
    );
    server.join().expect("server");

    // Another status.
    let (port, _, server) = http_server(1, |_, _| answer("503 Service Unavailable", "", b""));
    assert_eq!(
        fetch(&link(&format!("http://127.0.0.1:{port}/Room")), None),
        Err(DiscoveryError::HttpStatus {
            host: "127.0.0.1".to_owned(),
            status: 503
        })
    );
    server.join().expect("server");

    // A redirection loop: the first request and five redirections, then an error.
    let (port, heads, server) = http_server(MAX_REDIRECTS as usize + 1, |_, port| {
        answer(
            "302 Found",
            &format!("Location: http://127.0.0.1:{port}/again/config.js\r\n"),
            b"",
        )
    });
    assert_eq!(
        fetch(&link(&format!("http://127.0.0.1:{port}/Room")), None),
        Err(DiscoveryError::TooManyRedirects {
            host: "127.0.0.1".to_owned()
        })
    );
    server.join().expect("server");
    assert_eq!(heads.try_iter().count(), MAX_REDIRECTS as usize + 1);

    // Sizes: exactly the limit is accepted, one byte more is not.
    for (size, accepted) in [(MAX_SCRIPT_BYTES, true), (MAX_SCRIPT_BYTES + 1, false)] {
        let (port, _, server) = http_server(1, move |_, _| answer("200 OK", "", &vec![b'/'; size]));
        let result = fetch(&link(&format!("http://127.0.0.1:{port}/Room")), None);
        if accepted {
            assert_eq!(result.map(|body| body.len()), Ok(size));
        } else {
            assert_eq!(result, Err(DiscoveryError::TooLarge));
        }
        server.join().expect("server");
    }

    // Not UTF-8.
    let (port, _, server) = http_server(1, |_, _| answer("200 OK", "", b"var c = '\xff';"));
    assert!(matches!(
        fetch(&link(&format!("http://127.0.0.1:{port}/Room")), None),
        Err(DiscoveryError::NotUtf8 { .. })
    ));
    server.join().expect("server");

    // A body that comes too slowly.
    let (port, _, server) = http_server(1, |_, _| Answer {
        pause: Duration::from_secs(3),
        ..answer("200 OK", "", &[b'/'; 4000])
    });
    let started = Instant::now();
    let result = fetch_within(
        &link(&format!("http://127.0.0.1:{port}/Room")),
        None,
        Duration::from_secs(1),
    );
    assert!(
        matches!(result, Err(DiscoveryError::Timeout { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    server.join().expect("server");

    // Nothing listening.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let error = fetch(&link(&format!("http://127.0.0.1:{port}/Room")), None).expect_err("refused");
    assert!(matches!(error, DiscoveryError::Connect { .. }), "{error:?}");

    // A name that does not exist (`.invalid` is reserved for that).
    let error = fetch(&link("https://no-such-host.invalid/Room"), None).expect_err("no name");
    assert_eq!(
        error,
        DiscoveryError::HostNotFound {
            host: "no-such-host.invalid".to_owned()
        }
    );
}

/// A test authority and a certificate for `localhost` signed by it.
struct TestPki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn test_pki() -> TestPki {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "palabre test authority");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("authority");
    let server_key = rcgen::KeyPair::generate().expect("key");
    let server_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let server_cert = server_params
        .signed_by(&server_key, &ca)
        .expect("certificate");
    let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let provider = crate::net::tls_provider();
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone(), ca.der().clone()], key_der)
        .expect("server configuration");
    TestPki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// An HTTPS server on loopback for `count` connections; a connection whose handshake fails is
/// counted too.
fn https_server(
    count: usize,
    config: Arc<rustls::ServerConfig>,
    respond: impl Fn(&[String], u16) -> Answer + Send + 'static,
) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let handle = thread::spawn(move || {
        for _ in 0..count {
            let Ok((mut tcp, _)) = listener.accept() else {
                return;
            };
            tcp.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut connection = rustls::ServerConnection::new(config.clone()).expect("connection");
            let mut tls = rustls::Stream::new(&mut connection, &mut tcp);
            let head = read_head(&mut tls);
            if head.is_empty() {
                continue;
            }
            write_answer(&mut tls, &respond(&head, port));
            tls.conn.send_close_notify();
            tls.flush().ok();
            let _ = drain(&mut tcp);
        }
    });
    (port, handle)
}

fn drain(tcp: &mut TcpStream) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut sink = [0u8; 256];
    while tcp.read(&mut sink)? > 0 {}
    Ok(())
}

#[test]
fn fetch_over_https_with_a_private_authority() {
    let pki = test_pki();
    let body = "var config = { hosts: { domain: 'localhost', muc: 'conference.localhost' } };";
    let (port, server) = https_server(4, pki.server.clone(), move |head, port| {
        if head[0].starts_with("GET /config.js") {
            answer("200 OK", "", body.as_bytes())
        } else {
            answer(
                "301 Moved Permanently",
                &format!("Location: http://localhost:{port}/config.js\r\n"),
                b"",
            )
        }
    });
    let tenant = link(&format!("https://localhost:{port}/Team/Room"));
    let by_address = link(&format!("https://127.0.0.1:{port}/Room"));
    let link = link(&format!("https://localhost:{port}/Room"));
    // Unknown authority: refused, with the hint.
    let error = fetch(&link, None).expect_err("untrusted");
    assert_eq!(
        error,
        DiscoveryError::Untrusted {
            host: "localhost".to_owned()
        }
    );
    assert!(error.to_string().contains("--ca-file"), "{error}");
    // With the authority's certificate: trusted.
    let directory = tempfile::tempdir().expect("temporary directory");
    let ca_file = directory.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).expect("write");
    assert_eq!(fetch(&link, Some(&ca_file)).as_deref(), Ok(body));
    // An https server redirecting to http: not followed.
    let error = fetch(&tenant, Some(&ca_file)).expect_err("insecure redirect");
    assert!(
        matches!(&error, DiscoveryError::InsecureRedirect { url, .. } if url.starts_with("http://localhost")),
        "{error:?}"
    );
    // The right authority, but a certificate for another name.
    let error = fetch(&by_address, Some(&ca_file)).expect_err("wrong name");
    assert!(
        matches!(&error, DiscoveryError::BadCertificate { host, .. } if host == "127.0.0.1"),
        "{error:?}"
    );
    server.join().expect("server");

    // A certificate file that is not one.
    let garbage = directory.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    assert!(matches!(
        fetch(&link, Some(&garbage)),
        Err(DiscoveryError::CaFile { .. })
    ));
    assert!(matches!(
        fetch(&link, Some(&directory.path().join("absent.pem"))),
        Err(DiscoveryError::CaFile { .. })
    ));
}

/// Every discovery failure in the window's words: in English the command line's sentence, in
/// French another one, with no message missing.
#[test]
fn every_discovery_error_is_said_in_both_languages() {
    let s = |t: &str| t.to_owned();
    let errors = [
        DiscoveryError::TooLarge,
        DiscoveryError::NotJavaScript { detail: s("x") },
        DiscoveryError::ScriptFailed { detail: s("x") },
        DiscoveryError::TooSlow,
        DiscoveryError::TooMuchMemory,
        DiscoveryError::TooDeep,
        DiscoveryError::Interpreter { detail: s("x") },
        DiscoveryError::NoConfig,
        DiscoveryError::Missing {
            field: "hosts.domain",
            what: "XMPP domain",
        },
        DiscoveryError::Missing {
            field: "hosts.muc",
            what: "conference room domain",
        },
        DiscoveryError::BadValue {
            field: "websocket",
            reason: s("x"),
        },
        DiscoveryError::BoshOnly,
        DiscoveryError::Downgrade { url: s("ws://a") },
        DiscoveryError::HostNotFound { host: s("a.org") },
        DiscoveryError::Connect {
            host: s("a.org"),
            detail: s("x"),
        },
        DiscoveryError::Untrusted { host: s("a.org") },
        DiscoveryError::BadCertificate {
            host: s("a.org"),
            detail: s("x"),
        },
        DiscoveryError::Tls {
            host: s("a.org"),
            detail: s("x"),
        },
        DiscoveryError::NotFound {
            host: s("a.org"),
            url: s("https://a.org/config.js"),
        },
        DiscoveryError::HttpStatus {
            host: s("a.org"),
            status: 503,
        },
        DiscoveryError::TooManyRedirects { host: s("a.org") },
        DiscoveryError::InsecureRedirect {
            host: s("a.org"),
            url: s("http://a.org"),
        },
        DiscoveryError::Timeout {
            host: s("a.org"),
            seconds: 10,
        },
        DiscoveryError::NotUtf8 { host: s("a.org") },
        DiscoveryError::CaFile {
            path: s("/ca.pem"),
            detail: s("x"),
        },
        DiscoveryError::Http {
            host: s("a.org"),
            detail: s("x"),
        },
    ];
    for error in errors {
        crate::i18n::assert_said_in_both_languages(
            &error.phrase(),
            &error.to_string(),
            "discovery-",
        );
    }
}
