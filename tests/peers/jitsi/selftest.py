#!/usr/bin/env python3
"""Self-test of the Jitsi stand-in: real Prosody + focus + bridge, driven by independent peers.

Run with the test venv's Python (scripts/lib.sh prepare_test_venv):

  target/test-venv/bin/python tests/peers/jitsi/selftest.py [--keep DIR]

Environment A (--video-bot --room-password locked=secret --lobby waiting --lone-timeout 4):
  * alice (sends speech_en, takes video) and bob (sends speech_fr, audio-only) talk in room
    `talk`; carol joins later, is muted by the focus and leaves early; dave comes last. Each recording must hold the other's speech
    (energy, and the loudness envelope must correlate with the WAV the other sent); alice and
    bob must get a source-add and a source-remove for carol; alice must receive video packets
    from the camera bot, bob none; both data channels must answer ClientHello with ServerHello.
  * alice stays alone after bob leaves and must get session-terminate <expired/>.
  * alice gets a new session-initiate when dave arrives.
  * joining `locked` without the password gives not-authorized, with it works; joining
    `waiting` (lobby) gives registration-required with the <lobbyroom> child.
Environment B (--auth-required --user moderator:modpass --not-ready 2 --max-occupants 2):
  * config.js (plain and under a tenant) and Prosody's XMPP WebSocket answer as palabre expects;
  * a guest's conference IQ for a new room gets not-authorized; the moderator (logged in) first
    gets ready='false', retries, joins; then a guest may join the existing room; a third
    participant gets service-unavailable; when all have left the focus leaves the room, and a
    guest is refused again.
Environment C (--colibri-ws --no-sctp --start-muted quiet --restart-limit 1):
  * the offers to the two participants of `quiet` carry <startmuted audio video>, those of `open`
    do not (nor do environment A's); no offer has a data content or an <sctpmap>, every content's
    transport carries the endpoint's <web-socket> URL (environment A's: none, and SCTP);
  * a WebSocket client on that URL gets ServerHello at once and again after its ClientHello
    (reported as a bridge-message with transport "websocket"); an EndpointMessage sent on one
    participant's socket arrives on the other's with `from`; a wrong pwd or an unknown endpoint
    is refused with HTTP 403; the socket is closed (1001) when the participant leaves.
  * in room `mend`, once audio flows, break-media drops r1's media connection: its colibri
    WebSocket is cut without a closing handshake and no Jingle reaches it. r1 (--restart-after)
    notices the silence and sends session-terminate with <bridge-session restart='true'>; the
    focus acks it and sends a new session-initiate (new sid and bridge-session id), and audio
    flows both ways through the bridge again. A second break leads to a second request, which
    exceeds --restart-limit 1: resource-constraint, restart-refused, no new session.
    break-media for an unknown endpoint is an error.
  * with --ws-proxy too: config.js (plain and under a tenant) and the ready line give the relay's
    WebSocket URL. A minimal XMPP-over-WebSocket client (as palabre: ANONYMOUS, stream
    management without resumption) joins room `cut` through the relay; cut-websockets closes its
    socket without a closing handshake (1006), the focus sees it leave within 3 s, and a new
    client joins through the relay after the cut. (Environment B, without --ws-proxy: the
    WebSocket URL is Prosody's and cut-websockets is an error.)

Prints one line per check and ends with "N passed, M failed"; exit status 0 only if all passed.
"""

import argparse
import array
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import wave
import xml.etree.ElementTree as ET

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PY = sys.executable
SPEECH_EN = os.path.join(ROOT, "tests", "data", "speech_en.wav")
SPEECH_FR = os.path.join(ROOT, "tests", "data", "speech_fr.wav")
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}", flush=True)


class EnvProcess:
    """A running jitsi_env.py with its event lines collected."""

    def __init__(self, workdir, args):
        self.workdir = workdir
        self.proc = subprocess.Popen([PY, os.path.join(HERE, "jitsi_env.py"), "--workdir", workdir] + args,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(workdir, "env.stderr"), "w"), text=True)
        first = self.proc.stdout.readline()
        if not first:
            raise SystemExit(f"jitsi_env.py did not start; see {workdir}/env.stderr")
        self.info = json.loads(first)
        self.events = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def stop(self):
        self.proc.stdin.close()
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None

    def send(self, cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.events):
                if pred(e):
                    return e
            time.sleep(0.1)
        return None

    def of(self, kind):
        return [e for e in self.events if e.get("event") == kind]


def peer(env, name, room, extra, delay=0.0):
    """Starts jitsi_peer.py after `delay` seconds; returns a function that waits for its JSON."""
    box = {}

    def run():
        time.sleep(delay)
        out = subprocess.run([PY, os.path.join(HERE, "jitsi_peer.py"), "--port", str(env.info["c2s_port"]),
                              "--room", room, "--nick", name] + extra,
                             capture_output=True, text=True, timeout=120)
        with open(os.path.join(env.workdir, f"{name}.stderr"), "w") as f:
            f.write(out.stderr)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        box["result"] = json.loads(lines[-1]) if lines else {"error": f"no JSON (exit {out.returncode})"}
        box["status"] = out.returncode

    t = threading.Thread(target=run)
    t.start()

    def wait():
        t.join()
        return box.get("result", {}), box.get("status")

    return wait


def read_wav(path):
    with wave.open(path, "rb") as w:
        data = array.array("h")
        data.frombytes(w.readframes(w.getnframes()))
        return w.getframerate(), data


def envelope(rate, samples, frame_s=0.02):
    """Log energy per 20 ms frame."""
    import math
    n = int(rate * frame_s)
    out = []
    for i in range(0, len(samples) - n + 1, n):
        total = 0
        for v in samples[i:i + n:2]:
            total += v * v
        out.append(math.log10(1.0 + total / (n / 2)))
    return out


def best_correlation(sent, heard, max_lag):
    """The highest Pearson correlation of two envelopes over lags 0..max_lag (heard later)."""
    best = (-1.0, 0)
    n = len(sent)
    for lag in range(0, max_lag + 1):
        seg = heard[lag:lag + n]
        if len(seg) < n // 2:
            break
        a = sent[:len(seg)]
        ma = sum(a) / len(a)
        mb = sum(seg) / len(seg)
        cov = sum((x - ma) * (y - mb) for x, y in zip(a, seg))
        va = sum((x - ma) ** 2 for x in a)
        vb = sum((y - mb) ** 2 for y in seg)
        if va > 0 and vb > 0:
            r = cov / (va * vb) ** 0.5
            if r > best[0]:
                best = (r, lag)
    return best


def check_speech(name, recording, sent_wav, other_wav):
    """The recording must be loud enough and follow `sent_wav` closely, and clearly better than
    `other_wav` (a different speech that was not sent to this peer)."""
    rate, heard = read_wav(recording)
    srate, sent = read_wav(sent_wav)
    orate, other = read_wav(other_wav)
    rms = (sum(v * v for v in heard[::4]) / max(1, len(heard[::4]))) ** 0.5
    check(f"{name}'s recording has sound", rms > 300, f"RMS {rms:.0f} over {len(heard) / rate:.1f} s")
    heard_env = envelope(rate, heard)
    r, lag = best_correlation(envelope(srate, sent), heard_env, 400)
    wrong, _ = best_correlation(envelope(orate, other), heard_env, 400)
    check(f"{name}'s recording follows the speech sent to it", r > 0.9 and r > wrong + 0.15,
          f"envelope correlation {r:.2f} at {lag * 20} ms; {wrong:.2f} with the other speech")


def scenario_a(base):
    workdir = os.path.join(base, "a")
    os.makedirs(workdir)
    env = EnvProcess(workdir, ["--video-bot", "--room-password", "locked=secret", "--lobby", "waiting",
                               "--lone-timeout", "3", "--stats-interval", "2"])
    check("environment A ready", env.info.get("ready") is True, env.info.get("base_url", ""))
    alice = peer(env, "alice", "talk", ["--send-wav", SPEECH_EN, "--record-wav", os.path.join(workdir, "alice.wav"),
                                        "--stay", "26"])
    bob = peer(env, "bob", "Talk", ["--send-wav", SPEECH_FR, "--record-wav", os.path.join(workdir, "bob.wav"),
                                    "--audio-only", "--stay", "14", "--send-delay", "2"], delay=1.0)
    carol = peer(env, "carol", "talk", ["--stay", "5"], delay=5.0)
    nopass = peer(env, "nopass", "locked", ["--stay", "1"], delay=2.0)
    withpass = peer(env, "withpass", "locked", ["--stay", "1", "--room-password", "secret"], delay=2.0)
    lobby = peer(env, "lobby", "waiting", ["--stay", "1"], delay=2.0)
    dave = peer(env, "dave", "talk", ["--stay", "2"], delay=21.0)
    joined = env.wait_for(lambda e: e.get("event") == "participant-joined" and e.get("nick") == "carol", 20)
    if joined:
        time.sleep(1.0)
        env.send({"cmd": "mute", "endpoint": joined["endpoint"], "media": "audio"})
    a, _ = alice()
    b, _ = bob()
    c, _ = carol()
    dv, _ = dave()
    np_, _ = nopass()
    wp, _ = withpass()
    lb, _ = lobby()
    status = env.stop()
    check("environment A exits 0 on stdin EOF", status == 0, f"status {status}")
    for who, r in (("alice", a), ("bob", b), ("carol", c)):
        check(f"{who} joined and got a session", r.get("joined") and r.get("sessions", 0) >= 1,
              f"sessions {r.get('sessions')}, error {r.get('error')}")
        check(f"{who}'s data channel got ServerHello", bool(r.get("server_hello")),
              f"messages {r.get('bridge_messages')[:4] if r.get('bridge_messages') else None}")
    check_speech("alice", os.path.join(workdir, "alice.wav"), SPEECH_FR, SPEECH_EN)
    check_speech("bob", os.path.join(workdir, "bob.wav"), SPEECH_EN, SPEECH_FR)
    ids = {n: r.get("endpoint") for n, r in (("alice", a), ("bob", b), ("carol", c))}
    adds = [(e["endpoint"], s["owner"]) for e in env.of("source-add-sent") for s in e["sources"]]
    removes = [(e["endpoint"], s["owner"]) for e in env.of("source-remove-sent") for s in e["sources"]]
    for who in ("alice", "bob"):
        check(f"{who} got source-add then source-remove for carol",
              (ids[who], ids["carol"]) in adds and (ids[who], ids["carol"]) in removes,
              f"peer counted {({'alice': a, 'bob': b}[who]).get('source_adds')} adds, "
              f"{({'alice': a, 'bob': b}[who]).get('source_removes')} removes")
    check("alice (video) received the camera bot's video", a.get("video_packets_received", 0) > 20,
          f"{a.get('video_packets_received')} packets, {a.get('video_frames_received')} frames")
    check("bob (audio-only) received no video packet", b.get("video_packets_received") == 0
          and b.get("video_frames_received") == 0, f"{b.get('video_packets_received')} packets")
    accepts = {e["endpoint"]: e for e in env.of("session-accept")}
    check("bob's session-accept carried initial-last-n 0",
          accepts.get(ids["bob"], {}).get("initial_last_n") == 0)
    hello = [e for e in env.of("bridge-message") if e["message"].get("colibriClass") == "ClientHello"]
    check("the bridge saw ClientHello from each talker", len({e["endpoint"] for e in hello}) >= 3)
    check("bridge messages on the data channel are reported with transport sctp",
          all(e.get("transport") == "sctp" for e in env.of("bridge-message")))
    check("by default the offer has SCTP, no colibri WebSocket and no <startmuted>",
          a.get("offer_sctp_port") == 5000 and a.get("offer_web_sockets") == {} and a.get("start_muted") is None,
          f"sctp port {a.get('offer_sctp_port')}, web sockets {a.get('offer_web_sockets')}, "
          f"start_muted {a.get('start_muted')}")
    check("alice was left alone and got session-terminate expired", "expired" in a.get("session_terminates", []),
          f"terminates {a.get('session_terminates')}")
    check("alice got a new session-initiate when dave came", a.get("sessions") == 2 and dv.get("sessions") == 1,
          f"alice {a.get('sessions')} sessions, dave {dv.get('sessions')}")
    mutes = env.of("mute-sent")
    check("the focus's forced mute reached carol", c.get("muted_by_focus") is True
          and [m.get("answer") for m in mutes] == ["result"], f"mute events {mutes}")
    def most(endpoint, media, counter):
        # Counters start again with each session: the largest value over all media events.
        return max([e[media][counter] for e in env.of("media") if e["endpoint"] == endpoint] or [-1])

    check("the bridge counted alice's audio and the video it sent her",
          most(ids["alice"], "audio", "packets_received") > 100 and most(ids["alice"], "video", "packets_sent") > 20,
          f"audio received {most(ids['alice'], 'audio', 'packets_received')}, "
          f"video sent {most(ids['alice'], 'video', 'packets_sent')}")
    check("the bridge sent bob no video", most(ids["bob"], "video", "packets_sent") == 0
          and most(ids["bob"], "audio", "packets_sent") > 100,
          f"video sent {most(ids['bob'], 'video', 'packets_sent')}, audio sent {most(ids['bob'], 'audio', 'packets_sent')}")
    bots = env.of("bot-joined")
    check("the camera bot is an occupant of the room", any(e["room"].startswith("talk@") for e in bots))
    check("joining a password room without the password is not-authorized",
          np_.get("join_error") == "not-authorized", f"join_error {np_.get('join_error')}")
    check("joining it with the password works", wp.get("joined") is True, f"error {wp.get('join_error')}")
    check("joining a lobby room is registration-required with <lobbyroom>",
          lb.get("join_error") == "registration-required"
          and lb.get("lobby_room") == f"waiting@{env.info['lobby_muc']}",
          f"join_error {lb.get('join_error')}, lobby {lb.get('lobby_room')}")
    check("bob's EndpointMessage reached alice through the bridge, with its sender",
          {"from": ids["bob"], "payload": {"type": "palabre-test-hello", "nick": "bob"}} in a.get("endpoint_messages", []),
          f"alice got {a.get('endpoint_messages')}")
    check("dominant speaker events reached a client", bool(a.get("dominant_speakers") or b.get("dominant_speakers")))


def websocket_open(port, domain):
    """Opens Prosody's XMPP WebSocket (RFC 7395) and returns (handshake reply, first frames)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /xmpp-websocket?room=talk HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    head, _, rest = head.partition(b"\r\n\r\n")
    payload = f'<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="{domain}" version="1.0"/>'.encode()
    mask = os.urandom(4)
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(frame)
    data = rest
    deadline = time.monotonic() + 5
    while b"mechanisms" not in data and time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    sock.close()
    return head.decode("latin-1"), data.decode("utf-8", "replace")


NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_SM = "urn:xmpp:sm:3"


class WsXmpp:
    """A minimal XMPP client on an RFC 7395 WebSocket that joins a conference the way palabre
    does: SASL ANONYMOUS, resource binding, stream management enabled without resumption (when
    offered), the conference IQ to the focus, the MUC join. `ws` is an open WebSocket (subprotocol
    xmpp) to Prosody."""

    def __init__(self, ws, domain):
        self.ws = ws
        self.domain = domain
        self.stream_management = None  # the <enabled/> or <failed/> answer to <enable/>

    def until(self, pred, what, timeout=5):
        """Receives elements until one satisfies `pred`, and returns it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} within {timeout} s")
            element = ET.fromstring(self.ws.recv(timeout=left))
            if pred(element):
                return element

    def open_stream(self):
        self.ws.send(f'<open xmlns="{NS_FRAMING}" to="{self.domain}" version="1.0"/>')
        return self.until(lambda e: e.tag == "{http://etherx.jabber.org/streams}features", "stream features")

    def join(self, room, endpoint, nick, muc, focus):
        """Logs in and joins `room`@`muc` as `endpoint`; raises on any failure."""
        self.open_stream()
        self.ws.send(f"<auth xmlns='{NS_SASL}' mechanism='ANONYMOUS'>=</auth>")
        if self.until(lambda e: e.tag.startswith(f"{{{NS_SASL}}}"), "SASL answer").tag != f"{{{NS_SASL}}}success":
            raise RuntimeError("SASL ANONYMOUS failed")
        features = self.open_stream()
        self.ws.send("<iq xmlns='jabber:client' type='set' id='bind'>"
                     "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
        bound = self.until(lambda e: e.get("id") == "bind", "bind answer")
        if bound.get("type") != "result":
            raise RuntimeError("resource binding failed")
        if features.find(f"{{{NS_SM}}}sm") is not None:
            self.ws.send(f"<enable xmlns='{NS_SM}'/>")
            self.stream_management = self.until(
                lambda e: e.tag in (f"{{{NS_SM}}}enabled", f"{{{NS_SM}}}failed"), "stream management answer")
        room_jid = f"{room}@{muc}"
        self.ws.send(f"<iq xmlns='jabber:client' type='set' id='conf' to='{focus}'>"
                     f"<conference xmlns='http://jitsi.org/protocol/focus' room='{room_jid}' "
                     f"machine-uid='{endpoint}'/></iq>")
        if self.until(lambda e: e.get("id") == "conf", "conference answer").get("type") != "result":
            raise RuntimeError("the conference IQ was refused")
        occupant = f"{room_jid}/{endpoint}"
        self.ws.send(f"<presence xmlns='jabber:client' to='{occupant}'>"
                     f"<x xmlns='http://jabber.org/protocol/muc'/>"
                     f"<nick xmlns='http://jabber.org/protocol/nick'>{nick}</nick></presence>")
        joined = self.until(lambda e: e.tag == "{jabber:client}presence" and e.get("from") == occupant,
                            "own MUC presence")
        if joined.get("type") == "error":
            raise RuntimeError("the MUC join was refused")


def ws_cut(env, seen):
    """Drives the `cut` room of environment C (see the module docstring) through the
    --ws-proxy relay; what it observes goes into `seen`, for check_ws_cut."""
    info = env.info

    def connect():
        return ws_connect(info["websocket"], subprotocols=["xmpp"], open_timeout=5, proxy=None)

    try:
        with connect() as ws:
            client = WsXmpp(ws, info["guest_domain"])
            client.join("cut", "cutter01", "cutter", info["muc"], info["focus"])
            sm = client.stream_management
            seen["stream_management"] = None if sm is None else (sm.tag.split("}")[1], sm.get("resume"))
            if env.wait_for(lambda e: e.get("event") == "participant-joined" and e.get("nick") == "cutter", 10):
                env.send({"cmd": "cut-websockets"})
                seen["cut"] = env.wait_for(lambda e: e.get("event") == "websockets-cut", 5)
                seen["close"] = close_code(ws, 5)
                seen["left"] = env.wait_for(lambda e: e.get("event") == "participant-left"
                                            and e.get("endpoint") == "cutter01", 10)
    except Exception as error:
        seen["error"] = f"first client: {error!r}"
        return
    try:
        with connect() as ws:
            WsXmpp(ws, info["guest_domain"]).join("cut", "cutter02", "again", info["muc"], info["focus"])
            seen["rejoined"] = env.wait_for(lambda e: e.get("event") == "participant-joined"
                                            and e.get("nick") == "again", 10)
    except Exception as error:
        seen["error"] = f"client after the cut: {error!r}"


def check_ws_cut(env, seen):
    """The checks of the `cut` room, from what ws_cut saw."""
    cut, left = seen.get("cut") or {}, seen.get("left") or {}
    check("a client joins through the WebSocket relay (stream management enabled, no resumption)",
          seen.get("stream_management") == ("enabled", None) and "error" not in seen,
          f"{seen.get('stream_management')} {seen.get('error', '')}")
    check("cut-websockets cuts the one relayed connection", cut.get("count") == 1, str(cut))
    check("the client's WebSocket ends without a closing handshake (1006)", seen.get("close") == 1006,
          f"close code {seen.get('close')}")
    delay = left["t"] - cut["t"] if cut and left else None
    check("the focus sees the cut client leave the room within 3 s", delay is not None and delay < 3,
          f"after {delay * 1000:.0f} ms" if delay is not None else "no participant-left")
    check("a new client joins through the relay after the cut", seen.get("rejoined") is not None)
    peers = [e.get("peer", "") for e in env.of("ws-proxy-connection")]
    check("each relayed connection is reported", len(peers) == 2 and all(p.startswith("127.0.0.1:") for p in peers),
          str(peers))


def http_get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


def scenario_b(base):
    workdir = os.path.join(base, "b")
    os.makedirs(workdir)
    env = EnvProcess(workdir, ["--auth-required", "--user", "moderator:modpass", "--not-ready", "2",
                               "--max-occupants", "2", "--stats-interval", "0"])
    status, body = http_get(env.info["base_url"] + "/config.js?room=talk")
    check("config.js is served in the stock form", status == 200 and "var config = {" in body
          and "anonymousdomain: 'guest.meet.test'" in body and env.info["websocket"] in body)
    status, body = http_get(env.info["base_url"] + "/acme/config.js?room=talk")
    check("a tenant's config.js names the tenant's MUC and WebSocket path",
          status == 200 and "muc: 'conference.acme.meet.test'" in body and "/acme/xmpp-websocket" in body)
    check("without --ws-proxy the WebSocket URL is Prosody's",
          env.info["websocket"] == f"ws://127.0.0.1:{env.info['http_port']}/xmpp-websocket", env.info["websocket"])
    env.send({"cmd": "cut-websockets"})
    check("without --ws-proxy cut-websockets is an error",
          env.wait_for(lambda e: e.get("event") == "error" and "--ws-proxy" in e.get("message", ""), 5) is not None)
    head, frames = websocket_open(env.info["http_port"], env.info["guest_domain"])
    check("Prosody's XMPP WebSocket accepts the xmpp subprotocol and offers ANONYMOUS",
          head.startswith("HTTP/1.1 101") and "sec-websocket-protocol: xmpp" in head.lower()
          and "<mechanism>ANONYMOUS</mechanism>" in frames, head.split("\r\n")[0])
    guest_first = peer(env, "early", "secured", ["--stay", "1"])
    g, gs = guest_first()
    check("a guest's conference IQ for a new room is not-authorized",
          g.get("conference_error") == "not-authorized" and gs == 3, f"{g.get('conference_error')}, exit {gs}")
    moderator = peer(env, "moderator", "secured", ["--login", "moderator:modpass", "--stay", "4"])
    late = peer(env, "late", "secured", ["--stay", "3"], delay=2.5)
    extra = peer(env, "extra", "secured", ["--stay", "1"], delay=3.5)
    m, _ = moderator()
    lt, _ = late()
    ex, _ = extra()
    check("a third participant in a room of --max-occupants 2 gets service-unavailable",
          ex.get("join_error") == "service-unavailable", f"join_error {ex.get('join_error')}")
    check("the logged-in moderator joins after one ready='false'",
          m.get("joined") is True and m.get("conference_attempts") == 2,
          f"attempts {m.get('conference_attempts')}, error {m.get('error')}")
    check("a guest may join the room once it exists", lt.get("joined") is True,
          f"conference_error {lt.get('conference_error')}")
    left = env.wait_for(lambda e: e.get("event") == "room-left" and e["room"].startswith("secured@"), 10)
    check("the focus leaves the room when the last participant has gone", left is not None)
    again, again_status = peer(env, "again", "secured", ["--stay", "1"])()
    check("then the room is new again: a guest is not-authorized",
          again.get("conference_error") == "not-authorized", f"{again.get('conference_error')}, exit {again_status}")
    status = env.stop()
    check("environment B exits 0 on stdin EOF", status == 0, f"status {status}")


def ws_refusal(url):
    """The HTTP status a colibri WebSocket handshake to `url` is refused with (None if it opens)."""
    try:
        with ws_connect(url, open_timeout=5, proxy=None):
            return None
    except InvalidStatus as error:
        return error.response.status_code


def scenario_c(base):
    workdir = os.path.join(base, "c")
    os.makedirs(workdir)
    env = EnvProcess(workdir, ["--colibri-ws", "--no-sctp", "--start-muted", "quiet", "--stats-interval", "0",
                               "--restart-limit", "1", "--ws-proxy"])
    prefix = env.info.get("colibri_ws", "")
    check("environment C ready, with a colibri WebSocket server",
          env.info.get("ready") is True and prefix.startswith("ws://127.0.0.1:"), prefix)
    relay = env.info["websocket"].removesuffix("/xmpp-websocket")
    _, plain = http_get(env.info["base_url"] + "/config.js?room=cut")
    _, tenant = http_get(env.info["base_url"] + "/acme/config.js?room=cut")
    check("with --ws-proxy the ready line and config.js (plain and under a tenant) name the relay",
          relay.startswith("ws://127.0.0.1:") and relay != f"ws://127.0.0.1:{env.info['http_port']}"
          and f"websocket: '{relay}/xmpp-websocket'" in plain and f"websocket: '{relay}/acme/xmpp-websocket'" in tenant,
          env.info["websocket"])
    cut_seen = {}
    cutter = threading.Thread(target=ws_cut, args=(env, cut_seen))
    cutter.start()
    runs = {"q1": peer(env, "q1", "quiet", ["--stay", "8"]),
            "q2": peer(env, "q2", "quiet", ["--stay", "8"], delay=0.5),
            "o1": peer(env, "o1", "open", ["--stay", "3"]),
            "o2": peer(env, "o2", "open", ["--stay", "3"], delay=0.5)}
    mend = {"r1": peer(env, "r1", "mend", ["--stay", "11", "--restart-after", "1.5"]),
            "r2": peer(env, "r2", "mend", ["--stay", "12"], delay=0.5)}
    observed = {}
    breaker = threading.Thread(target=break_and_restart, args=(env, observed))
    breaker.start()

    def offer(nick):
        joined = env.wait_for(lambda e: e.get("event") == "participant-joined" and e.get("nick") == nick, 20)
        if joined is None:
            return None
        return env.wait_for(lambda e: e.get("event") == "session-initiate-sent"
                            and e["endpoint"] == joined["endpoint"], 20)

    q1, q2 = offer("q1"), offer("q2")
    urls = {nick: (o or {}).get("colibri_ws") for nick, o in (("q1", q1), ("q2", q2))}
    check("the session-initiate events name the endpoints' colibri WebSocket URLs",
          all(u and u.startswith(prefix + "/") and "?pwd=" in u for u in urls.values()), str(urls))
    if all(urls.values()):
        ws_exchange(env, q1["endpoint"], urls["q1"], urls["q2"])
    results = {nick: wait()[0] for nick, wait in runs.items()}
    breaker.join()
    check_restart(env, observed, {nick: wait()[0] for nick, wait in mend.items()})
    cutter.join()
    check_ws_cut(env, cut_seen)
    for nick, r in results.items():
        check(f"{nick} joined and got a session", r.get("joined") and r.get("sessions", 0) >= 1,
              f"sessions {r.get('sessions')}, error {r.get('error')}")
        muted = {"audio": True, "video": True} if nick.startswith("q") else None
        check(f"{nick}'s offer {'carries' if muted else 'has no'} <startmuted>", r.get("start_muted") == muted,
              f"start_muted {r.get('start_muted')}")
        check(f"{nick}'s offer has no data content and no <sctpmap>",
              "data" not in r.get("offered_contents", ["data"]) and r.get("offer_sctp_port") is None,
              f"contents {r.get('offered_contents')}, sctp port {r.get('offer_sctp_port')}")
        sockets = r.get("offer_web_sockets", {})
        check(f"every content of {nick}'s offer has one <web-socket> URL",
              sorted(sockets) == sorted(r.get("offered_contents", [])) != []
              and all(len(set(u)) == 1 and u[0].startswith(prefix + "/") for u in sockets.values())
              and (nick not in urls or all(u == [urls[nick]] for u in sockets.values())),
              str(sockets))
    status = env.stop()
    check("environment C exits 0 on stdin EOF", status == 0, f"status {status}")


def flowing(env, endpoint, since, timeout, packets=40):
    """Asks for media counters until the bridge has received and sent `packets` audio packets on
    `endpoint`'s connection (in a media event after Unix time `since`); returns that event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        env.send({"cmd": "stats"})
        time.sleep(0.3)
        for e in env.of("media"):
            if e["endpoint"] == endpoint and e["t"] > since and e["audio"]["packets_received"] >= packets \
                    and e["audio"]["packets_sent"] >= packets:
                return e
    return None


def break_and_restart(env, seen):
    """Drives the `mend` room of environment C (see the module docstring); what it observes goes
    into `seen`, for check_restart."""
    joined = env.wait_for(lambda e: e.get("event") == "participant-joined" and e.get("nick") == "r1", 20)
    if joined is None:
        return
    r1 = seen["r1"] = joined["endpoint"]

    def event(kind, pred=lambda e: True, timeout=15):
        return env.wait_for(lambda e: e.get("event") == kind and e.get("endpoint") == r1 and pred(e), timeout)

    offer = event("session-initiate-sent", timeout=20)
    accept = event("session-accept", timeout=20)
    if offer is None or accept is None:
        return
    with ws_connect(offer["colibri_ws"], open_timeout=5, proxy=None) as ws:
        seen["first_flow"] = flowing(env, r1, accept["t"], 15)
        env.send({"cmd": "break-media", "endpoint": r1})
        seen["broken"] = event("media-broken", timeout=10)
        seen["ws_close"] = close_code(ws, 5)
    seen["terminate"] = event("session-terminate", lambda e: e.get("restart"))
    seen["offer2"] = event("session-initiate-sent", lambda e: e["sid"] != offer["sid"], 10)
    accept2 = event("session-accept", lambda e: e["t"] > accept["t"])
    if accept2 is None:
        return
    seen["second_flow"] = flowing(env, r1, accept2["t"], 15)
    env.send({"cmd": "break-media", "endpoint": r1})
    seen["refused"] = event("restart-refused")
    time.sleep(1.0)
    seen["offers"] = len([e for e in env.of("session-initiate-sent") if e["endpoint"] == r1])
    env.send({"cmd": "break-media", "endpoint": "nobody00"})
    seen["unknown"] = env.wait_for(lambda e: e.get("event") == "error" and "nobody00" in e.get("message", ""), 5)


def close_code(ws, timeout):
    """Reads `ws` until it closes; returns the close code it got (1006: closed without a closing
    handshake), or None when it is still open after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
        except TimeoutError:
            break
    return None


def check_restart(env, seen, results):
    """The checks of the `mend` room, from what break_and_restart saw and the peers' results."""
    r1, r2 = results["r1"], results["r2"]
    endpoint = seen.get("r1")
    check("audio flowed through the bridge before the break", seen.get("first_flow") is not None)
    check("break-media is reported as media-broken", seen.get("broken") is not None)
    check("the broken endpoint's colibri WebSocket is cut without a closing handshake (1006)",
          seen.get("ws_close") == 1006, f"close code {seen.get('ws_close')}")
    terminate = seen.get("terminate") or {}
    broken_at = (seen.get("broken") or {}).get("t", 0)
    sent = [e["event"] for e in env.events if e.get("endpoint") == endpoint and e.get("event", "").endswith("-sent")
            and broken_at <= e["t"] <= terminate.get("t", 0)]
    check("no Jingle reached the participant when its media broke",
          bool(terminate) and r1.get("session_terminates") == [] and sent == [],
          f"terminates {r1.get('session_terminates')}, sent meanwhile {sent}")
    requests = r1.get("restart_requests", [])
    first = requests[0] if requests else {}
    check("the restart request is acked and reported with its reason and bridge session",
          first.get("answer") == "result" and first.get("bridge_session") is not None
          and terminate.get("bridge_session") == first.get("bridge_session")
          and terminate.get("reason") == "connectivity-error" and terminate.get("text") == "ICE FAILED",
          f"request {first}, event {terminate}")
    sessions = r1.get("bridge_sessions", [])
    check("a new session-initiate follows, with a new sid and bridge-session id",
          seen.get("offer2") is not None and r1.get("sessions") == 2 and len(set(sessions)) == 2,
          f"bridge sessions {sessions}, sessions {r1.get('sessions')}")
    flow = seen.get("second_flow")
    heard = r1.get("audio_by_session", [])
    check("after the restart audio flows both ways through the bridge again",
          flow is not None and len(heard) == 2 and heard[1] > 0.4,
          f"bridge counters {flow and flow['audio']}, r1 heard {heard} s per session")

    def times(kind):
        return [e["t"] for e in env.of(kind) if e["endpoint"] == r2.get("endpoint")
                and any(s["owner"] == endpoint for s in e["sources"])]

    removes, adds = times("source-remove-sent"), times("source-add-sent")
    check("the other participant got source-remove, then source-add again, for the restarted one",
          bool(removes) and any(t > removes[0] for t in adds), f"removes {removes}, adds {adds}")
    second = requests[1] if len(requests) > 1 else {}
    refused = seen.get("refused") or {}
    check("a restart beyond --restart-limit gets resource-constraint and no new session",
          second.get("answer") == "resource-constraint" and refused.get("why") == "rate limited"
          and seen.get("offers") == 2, f"request {second}, event {refused}, offers {seen.get('offers')}")
    check("break-media for an unknown endpoint is an error", seen.get("unknown") is not None)


def ws_exchange(env, endpoint, url, other_url):
    """Talks to the bridge on the colibri WebSockets of two participants (`endpoint` has `url`)."""
    with ws_connect(url, open_timeout=5, proxy=None) as ws, ws_connect(other_url, open_timeout=5, proxy=None) as other:
        first = json.loads(ws.recv(timeout=3))
        check("the colibri WebSocket sends ServerHello at once", first.get("colibriClass") == "ServerHello",
              str(first))
        other.recv(timeout=3)  # its own ServerHello
        ws.send(json.dumps({"colibriClass": "ClientHello"}))
        again = json.loads(ws.recv(timeout=3))
        check("it answers ClientHello with ServerHello", again.get("colibriClass") == "ServerHello", str(again))
        report = env.wait_for(lambda e: e.get("event") == "bridge-message" and e["endpoint"] == endpoint
                              and e["message"].get("colibriClass") == "ClientHello", 5)
        check("the ClientHello is reported with transport websocket",
              report is not None and report.get("transport") == "websocket", str(report))
        payload = {"type": "palabre-test-hello", "over": "websocket"}
        ws.send(json.dumps({"colibriClass": "EndpointMessage", "to": "", "msgPayload": payload}))
        relayed = json.loads(other.recv(timeout=3))
        check("an EndpointMessage is relayed between colibri WebSockets, with its sender",
              relayed.get("colibriClass") == "EndpointMessage" and relayed.get("from") == endpoint
              and relayed.get("msgPayload") == payload, str(relayed))
        wrong = ws_refusal(url.replace("?pwd=", "?pwd=wrong"))
        unknown = ws_refusal(url.replace(f"/{endpoint}?", "/nobody00?"))
        check("a wrong pwd and an unknown endpoint are refused with HTTP 403", wrong == 403 and unknown == 403,
              f"wrong pwd: {wrong}, unknown endpoint: {unknown}")
        rejected = [e.get("why") for e in env.of("colibri-ws-rejected")]
        check("the refusals are reported", "wrong pwd" in rejected and "no such endpoint in this conference" in rejected,
              str(rejected))
        code = close_code(ws, 20)
        check("the socket is closed (1001) when its participant leaves", code == 1001, f"close code {code}")
    opened = [e["endpoint"] for e in env.of("colibri-ws-open")]
    closed = env.wait_for(lambda e: e.get("event") == "colibri-ws-closed" and e["endpoint"] == endpoint, 5)
    check("colibri-ws-open and colibri-ws-closed are reported", endpoint in opened and closed is not None,
          f"opened {opened}, closed {closed}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", default=None, help="keep logs and recordings in this directory")
    args = p.parse_args()
    base = args.keep or tempfile.mkdtemp(prefix="jitsi-selftest-")
    if args.keep:
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
    start = time.monotonic()
    try:
        scenario_a(base)
        scenario_b(base)
        scenario_c(base)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    passed = sum(1 for r in RESULTS if r)
    failed = len(RESULTS) - passed
    print(f"jitsi stand-in self-test took {time.monotonic() - start:.0f} s", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
