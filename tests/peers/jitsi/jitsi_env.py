#!/usr/bin/env python3
"""A local Jitsi Meet deployment for palabre's tests: real Prosody plus a stand-in focus and bridge.

It writes a Prosody configuration into --workdir, runs Debian's prosody on free loopback ports,
registers the focus account (and --user accounts), starts the focus (focus.py, slixmpp) and the
bridge (bridge.py, aiortc) in this process, and serves config.js over plain HTTP. When everything
is up it prints one JSON line on stdout:

  {"ready": true, "base_url": "http://127.0.0.1:PORT", "websocket": "ws://127.0.0.1:P/xmpp-websocket",
   "domain": "meet.test", "guest_domain": "guest.meet.test", "auth_domain": "auth.meet.test",
   "muc": "conference.meet.test", "focus": "focus.meet.test", "focus_jid": "focus@auth.meet.test",
   "c2s_port": P, "http_port": P, "workdir": "..."}

(with --colibri-ws also "colibri_ws": "ws://127.0.0.1:P/colibri-ws/default-id"; with --ws-proxy
"websocket" is on the port of a TCP relay to Prosody, see ws_proxy.py), then one JSON line per
notable event ({"event": "session-accept", ...}; see README.md). It reads JSON commands on stdin,
one per line:

  {"cmd": "terminate", "endpoint": "abcd1234", "reason": "expired"}
  {"cmd": "mute", "endpoint": "abcd1234", "media": "audio"}
  {"cmd": "break-media", "endpoint": "abcd1234"}
  {"cmd": "stats"}
  {"cmd": "cut-websockets"}   (with --ws-proxy)
  {"cmd": "quit"}

On stdin EOF, {"cmd": "quit"}, SIGTERM or SIGINT it stops everything (Prosody included) and exits
0. Errors go to stderr in plain words; exit status 1 when the environment could not start.
"""

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bridge import Bridge  # noqa: E402
from focus import CameraBot, Focus, FocusComponent  # noqa: E402
from ws_proxy import WsProxy  # noqa: E402

DOMAIN = "meet.test"
FOCUS_PASSWORD = "focus-standin-password"
COMPONENT_SECRET = "focus-component-secret"
PROSODY = shutil.which("prosody") or "/usr/bin/prosody"
MODULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prosody-modules")


def _die_with_parent():
    """In the child before exec: Linux sends it SIGTERM when this process dies, even by SIGKILL,
    so a killed environment leaves no Prosody behind."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prosody_escape(text):
    """How Prosody's datamanager escapes host and user names in file paths."""
    return "".join(c if c.isalnum() else f"%{ord(c):02x}" for c in text)


def lua_string(text):
    """A Lua string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Env:
    """Everything one test's Jitsi deployment is made of."""

    def __init__(self, args):
        self.args = args
        self.workdir = os.path.abspath(args.workdir)
        self.domain = DOMAIN
        self.guest_domain = f"guest.{DOMAIN}"
        self.auth_domain = f"auth.{DOMAIN}"
        self.muc = f"conference.{DOMAIN}"
        self.lobby_muc = f"lobby.{DOMAIN}"
        self.focus_domain = f"focus.{DOMAIN}"
        self.focus_jid = f"focus@{self.auth_domain}"
        self.passwords = {}
        for item in args.room_password:
            room, sep, secret = item.partition("=")
            if not sep or not room or not secret:
                raise SystemExit(f"--room-password wants ROOM=SECRET, got {item!r}")
            self.passwords[room.lower()] = secret
        self.lobby = {r.lower() for r in args.lobby}
        self.start_muted = {r.lower() for r in args.start_muted}
        self.no_sctp = args.no_sctp
        self.auth_required = args.auth_required
        self.not_ready = args.not_ready
        self.lone_timeout = args.lone_timeout
        self.restart_limit = args.restart_limit
        self.max_occupants = args.max_occupants
        self.users = []
        for item in args.user:
            name, sep, password = item.partition(":")
            if not sep or not name or not password:
                raise SystemExit(f"--user wants NAME:PASSWORD, got {item!r}")
            self.users.append((name.lower(), password))
        self.c2s_port = free_port()
        self.http_port = free_port()
        self.component_port = free_port()
        self.web_port = None
        self.ws_proxy = None
        self.prosody = None
        self.bridge = None
        self.focus = None
        self.component = None
        self.bot = None
        self.stopping = asyncio.Event()

    # -- output

    def emit(self, obj):
        """Prints one JSON line on stdout."""
        obj.setdefault("t", round(time.time(), 3))
        sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
        sys.stdout.flush()

    def error(self, text):
        """Reports a problem on stderr and as an event."""
        print(f"jitsi_env: {text}", file=sys.stderr, flush=True)
        self.emit({"event": "error", "message": text})

    # -- Prosody

    def write_prosody_config(self):
        """Writes prosody.cfg.lua and the account files into the work directory."""
        data = os.path.join(self.workdir, "prosody-data")
        os.makedirs(data, exist_ok=True)
        w = self.workdir
        cfg = f"""-- Written by tests/peers/jitsi/jitsi_env.py: a Jitsi-like Prosody on loopback only.
pidfile = {lua_string(os.path.join(w, 'prosody.pid'))}
data_path = {lua_string(data)}
certificates = {lua_string(w)}
daemonize = false
run_as_root = true
log = {{ {{ levels = {{ min = {lua_string(self.args.prosody_log_level)} }}, to = "file", filename = {lua_string(os.path.join(w, 'prosody.log'))} }} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {self.c2s_port} }}
c2s_direct_tls_ports = {{ }}
legacy_ssl_ports = {{ }}
component_ports = {{ {self.component_port} }}
component_interfaces = {{ "127.0.0.1" }}
http_ports = {{ {self.http_port} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
s2s_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "websocket"; "smacks"; "posix" }}
modules_disabled = {{ "s2s"; "tls"; "offline"; "c2s_direct_tls" }}
consider_websocket_secure = true
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
smacks_hibernation_time = 60
admins = {{ {lua_string(self.focus_jid)} }}
plugin_paths = {{ {lua_string(MODULES)} }}

VirtualHost {lua_string(self.domain)}
  authentication = "internal_plain"

VirtualHost {lua_string(self.guest_domain)}
  authentication = "anonymous"

VirtualHost {lua_string(self.auth_domain)}
  authentication = "internal_plain"

Component {lua_string(self.muc)} "muc"
  restrict_room_creation = true
  muc_room_locking = false
  muc_room_default_public_jids = true
  storage = "memory"
  modules_enabled = {{ "standin_limits" }}
  lobby_muc = {lua_string(self.lobby_muc)}
  muc_max_occupants = {self.max_occupants}

Component {lua_string(self.lobby_muc)} "muc"
  muc_room_locking = false
  storage = "memory"

Component {lua_string(self.focus_domain)}
  component_secret = {lua_string(COMPONENT_SECRET)}
"""
        with open(os.path.join(w, "prosody.cfg.lua"), "w") as f:
            f.write(cfg)
        accounts = [(self.auth_domain, "focus", FOCUS_PASSWORD)] + [(self.domain, n, p) for n, p in self.users]
        for host, user, password in accounts:
            d = os.path.join(data, prosody_escape(host), "accounts")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, prosody_escape(user) + ".dat"), "w") as f:
                f.write(f"return {{\n\t[\"password\"] = {lua_string(password)};\n}};\n")

    async def start_prosody(self):
        """Runs Prosody in the foreground and waits until it listens on its c2s and HTTP ports."""
        self.prosody = subprocess.Popen(
            [PROSODY, "--config", os.path.join(self.workdir, "prosody.cfg.lua"), "-F"],
            stdin=subprocess.DEVNULL, stdout=open(os.path.join(self.workdir, "prosody.stdout"), "w"),
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 20
        for port in (self.c2s_port, self.http_port, self.component_port):
            while True:
                if self.prosody.poll() is not None:
                    raise RuntimeError(f"prosody exited with status {self.prosody.returncode}; see "
                                       f"{self.workdir}/prosody.log")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"prosody did not listen on port {port} within 20 s") from None
                    await asyncio.sleep(0.05)

    def stop_prosody(self):
        """Stops Prosody (SIGTERM, then SIGKILL after 5 s)."""
        if self.prosody is None or self.prosody.poll() is not None:
            return
        self.prosody.terminate()
        try:
            self.prosody.wait(5)
        except subprocess.TimeoutExpired:
            self.prosody.kill()
            self.prosody.wait()

    # -- config.js over HTTP

    def websocket_url(self, tenant=""):
        """The XMPP WebSocket URL given to clients: Prosody's, or with --ws-proxy the relay's."""
        port = self.ws_proxy.port if self.ws_proxy is not None else self.http_port
        subdir = f"{tenant}/" if tenant else ""
        return f"ws://127.0.0.1:{port}/{subdir}xmpp-websocket"

    def config_js(self, tenant):
        """The config.js of the deployment, in the stock `var config = {...}` form."""
        subdomain = f"{tenant}." if tenant else ""
        subdir = f"{tenant}/" if tenant else ""
        return f"""/* config.js of the palabre Jitsi stand-in (tests/peers/jitsi/jitsi_env.py) */
var config = {{
    hosts: {{
        domain: '{self.domain}',
        anonymousdomain: '{self.guest_domain}',
        authdomain: '{self.domain}',
        focus: '{self.focus_domain}',
        muc: 'conference.{subdomain}{self.domain}'
    }},
    bosh: 'http://127.0.0.1:{self.http_port}/{subdir}http-bind',
    websocket: '{self.websocket_url(tenant)}',
    focusUserJid: '{self.focus_jid}',
    bridgeChannel: {{ preferSctp: true }},
    p2p: {{ enabled: false }},
    startAudioOnly: false
}};
"""

    async def handle_http(self, reader, writer):
        """A tiny HTTP/1.0 server: GET /config.js and GET /<tenant>/config.js."""
        try:
            request = await asyncio.wait_for(reader.readline(), 10)
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                if line in (b"\r\n", b"\n", b""):
                    break
            parts = request.decode("latin-1").split()
            status, body, ctype = "404 Not Found", b"not found\n", "text/plain"
            if len(parts) >= 2 and parts[0] in ("GET", "HEAD"):
                path = urllib.parse.urlsplit(parts[1]).path
                segments = [s for s in path.split("/") if s]
                if segments and segments[-1] == "config.js" and len(segments) <= 2:
                    tenant = segments[0] if len(segments) == 2 else ""
                    status, ctype = "200 OK", "application/javascript"
                    body = self.config_js(tenant).encode()
                self.emit({"event": "http-request", "path": parts[1], "status": int(status[:3])})
                if parts[0] == "HEAD":
                    body_out = b""
                else:
                    body_out = body
            else:
                status, body_out = "405 Method Not Allowed", b""
                body = b""
            writer.write(f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + body_out)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    # -- focus and bridge

    async def start_focus(self):
        """Logs the focus in and connects the focus component."""
        self.bridge = Bridge(self.emit, video_bot=self.args.video_bot)
        if self.args.colibri_ws:
            await self.bridge.serve_colibri_ws()
        self.focus = Focus(self, f"{self.focus_jid}/focus", FOCUS_PASSWORD)
        self.focus.add_event_handler("failed_auth", lambda _e: self.error("the focus could not log in"))
        self.focus.connect("127.0.0.1", self.c2s_port)
        await asyncio.wait_for(self.focus.connected_event.wait(), 20)
        if self.args.video_bot:
            self.bot = CameraBot(self.guest_domain)
            self.bot.connect("127.0.0.1", self.c2s_port)
            await asyncio.wait_for(self.bot.connected_event.wait(), 20)
            self.focus.bot = self.bot
        self.component = FocusComponent(self.focus, self.focus_domain, COMPONENT_SECRET)
        self.component.connect("127.0.0.1", self.component_port)
        await asyncio.wait_for(self.component.connected_event.wait(), 20)

    async def media_loop(self):
        """Emits a "media" event per endpoint every --stats-interval seconds."""
        while True:
            await asyncio.sleep(self.args.stats_interval)
            await self.emit_stats()

    async def emit_stats(self):
        """Emits the RTP counters of every endpoint."""
        for room, eps in list(self.bridge.rooms.items()):
            for endpoint_id, ep in list(eps.items()):
                stats = await ep.stats()
                self.emit({"event": "media", "room": room, "endpoint": endpoint_id, **stats})

    # -- commands

    async def read_commands(self):
        """Reads JSON commands from stdin until EOF."""
        loop = asyncio.get_event_loop()
        reader = asyncio.StreamReader(limit=1 << 16)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError):
                self.error("a command line on stdin is longer than 64 KiB; ignored")
                continue
            if not line:
                break
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                cmd = json.loads(text)
            except ValueError:
                self.error(f"ignored a command line that is not JSON: {text[:100]!r}")
                continue
            if not isinstance(cmd, dict) or not isinstance(cmd.get("cmd"), str):
                self.error(f"ignored a command that is not a JSON object with a string \"cmd\": {text[:100]!r}")
                continue
            if cmd["cmd"] == "quit":
                break
            try:
                await self.run_command(cmd)
            except (ValueError, KeyError) as error:
                self.error(f"command {cmd['cmd']!r} failed: {error}")
        self.stopping.set()

    async def run_command(self, cmd):
        """Executes one command."""
        name = cmd["cmd"]
        if name == "terminate":
            await self.focus.command_terminate(str(cmd["endpoint"]), cmd.get("reason"))
        elif name == "mute":
            await self.focus.command_mute(str(cmd["endpoint"]), cmd.get("media", "audio"))
        elif name == "break-media":
            await self.bridge.break_media(str(cmd["endpoint"]))
        elif name == "cut-websockets":
            if self.ws_proxy is None:
                raise ValueError("there is no WebSocket relay to cut: start the environment with --ws-proxy")
            self.emit({"event": "websockets-cut", "count": self.ws_proxy.cut()})
        elif name == "stats":
            await self.emit_stats()
            self.emit({"event": "stats-done"})
        elif name == "bridge-send":
            room, p = self.focus.find(str(cmd["endpoint"]))
            if p is None or p.ep is None or not p.ep.send(cmd["message"]):
                raise ValueError(f"no open bridge channel (data channel or colibri WebSocket) to "
                                 f"{cmd['endpoint']!r}")
        else:
            raise ValueError(f"unknown command {name!r}")

    async def run(self):
        """Starts everything, serves until asked to stop, then stops everything."""
        os.makedirs(self.workdir, exist_ok=True)
        web = None
        tasks = []
        try:
            self.write_prosody_config()
            await self.start_prosody()
            if self.args.ws_proxy:
                self.ws_proxy = WsProxy(self.http_port, self.emit)
                await self.ws_proxy.start()
            await self.start_focus()
            web = await asyncio.start_server(self.handle_http, "127.0.0.1", 0)
            self.web_port = web.sockets[0].getsockname()[1]
            ready = {"ready": True, "base_url": f"http://127.0.0.1:{self.web_port}",
                     "websocket": self.websocket_url(),
                     "domain": self.domain, "guest_domain": self.guest_domain,
                     "auth_domain": self.auth_domain, "muc": self.muc, "lobby_muc": self.lobby_muc, "focus": self.focus_domain,
                     "focus_jid": self.focus_jid, "c2s_port": self.c2s_port,
                     "http_port": self.http_port, "workdir": self.workdir}
            if self.bridge.colibri_ws is not None:
                ready["colibri_ws"] = self.bridge.colibri_ws.prefix
            self.emit(ready)
            tasks.append(asyncio.ensure_future(self.read_commands()))
            if self.args.stats_interval > 0:
                tasks.append(asyncio.ensure_future(self.media_loop()))
            await self.stopping.wait()
            return 0
        except Exception as error:
            self.error(f"could not start the environment: {error}")
            return 1
        finally:
            for t in tasks:
                t.cancel()
            if web is not None:
                web.close()
            if self.ws_proxy is not None:
                self.ws_proxy.close()
            if self.bridge is not None:
                await self.bridge.close()
            for xmpp in (self.component, self.bot, self.focus):
                if xmpp is not None:
                    try:
                        xmpp.disconnect()
                    except Exception:
                        pass
            self.stop_prosody()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workdir", required=True, help="directory for Prosody's config, data and logs")
    p.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                   help="register NAME@meet.test (for the login scenario)")
    p.add_argument("--room-password", action="append", default=[], metavar="ROOM=SECRET",
                   help="the focus protects ROOM with this password")
    p.add_argument("--lobby", action="append", default=[], metavar="ROOM",
                   help="ROOM is members-only: a join gets registration-required")
    p.add_argument("--auth-required", action="store_true",
                   help="a conference IQ from the guest domain for a new room gets not-authorized")
    p.add_argument("--not-ready", type=int, default=0, metavar="N",
                   help="the first N conference IQs are answered ready='false'")
    p.add_argument("--lone-timeout", type=float, default=20.0, metavar="S",
                   help="session-terminate <expired/> to a lone participant after S seconds")
    p.add_argument("--restart-limit", type=int, default=5, metavar="N",
                   help="a participant's restart requests (session-terminate with <bridge-session "
                        "restart='true'>) are granted at most N times in any minute (jicofo: 5)")
    p.add_argument("--max-occupants", type=int, default=0, metavar="N",
                   help="rooms take at most N occupants besides the focus")
    p.add_argument("--video-bot", action="store_true",
                   help="offer a camera bot's test-pattern VP8 source to every participant")
    p.add_argument("--start-muted", action="append", default=[], metavar="ROOM",
                   help="ROOM has jicofo's start-muted policy: its offers carry <startmuted "
                        "audio='true' video='true'/>")
    p.add_argument("--colibri-ws", action="store_true",
                   help="the bridge also serves colibri WebSockets, announced in every transport "
                        "of the offers")
    p.add_argument("--no-sctp", action="store_true",
                   help="offers have no data content (no SCTP), so the colibri WebSocket is the "
                        "only bridge channel; needs --colibri-ws")
    p.add_argument("--ws-proxy", action="store_true",
                   help="config.js and the ready line give clients the XMPP WebSocket URL of a TCP relay "
                        "to Prosody, whose connections the cut-websockets command drops")
    p.add_argument("--stats-interval", type=float, default=2.0, metavar="S",
                   help="emit media counters every S seconds (0: only on the stats command)")
    p.add_argument("--prosody-log-level", default="info", choices=["debug", "info", "warn", "error"])
    p.add_argument("--debug", action="store_true", help="Python debug logs on stderr")
    args = p.parse_args()
    if args.restart_limit < 0:
        p.error(f"--restart-limit wants a number of restarts (0 or more), got {args.restart_limit}")
    if args.no_sctp and not args.colibri_ws:
        p.error("--no-sctp needs --colibri-ws: with neither SCTP nor a colibri WebSocket a client "
                "would have no bridge channel")
    return args


def main():
    args = parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr,
                        format="jitsi_env %(name)s: %(message)s")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    env = Env(args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, env.stopping.set)
    try:
        status = loop.run_until_complete(env.run())
    finally:
        env.stop_prosody()
    sys.exit(status)


if __name__ == "__main__":
    main()
