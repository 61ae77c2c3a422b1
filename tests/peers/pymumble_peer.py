#!/usr/bin/env python3
"""An independent Mumble peer for palabre's end-to-end tests (pymumble 1.6.1).

It connects to a server, joins a channel, optionally waits for other users, says a text, sends a
WAV file as voice, records everything it hears into a WAV file and collects the text messages it
receives. At the end it prints exactly one JSON line on stdout (even when it failed):

  {"connected": true, "name": "bob", "session": 3, "channel": "Root",
   "received_text": ["hello"], "received_messages": [{"from": "alice", "text": "hello"}],
   "received_audio_seconds": 2.0, "audio_by_user": {"alice": 2.0},
   "users_seen": ["alice"], "sent_audio_seconds": 0.0, "expected_text_received": true,
   "disconnected": false, "record_start": 1700000000.0, "recorded_seconds": 5.1,
   "error": null}

- "received_audio_seconds": decoded audio received, all speakers together (the sum of the chunks).
- "users_seen": every other user seen on the server while connected, in order of appearance.
- "disconnected": the server closed the connection before the peer was done.
- "record_start": Unix time of sample 0 of the recording (the moment the peer joined its channel).

The recording (--record-wav) is 48 kHz mono 16-bit. A chunk that continues its speaker's previous
one (its sequence number, counted in 10 ms frames, follows on) is written right after it, however
late it arrived: that absorbs network and scheduling jitter on a loaded machine. Any other chunk is
placed at its arrival time, or right after the previous one when it arrives less than GAP_SECONDS
after that one ends, so a speaker's silences are kept as silence. Several speakers are mixed
(summed and clipped).

Exit status: 0 done; 1 could not connect (or was rejected); 3 --expect-text never arrived;
4 watchdog (--timeout) fired; 5 --wait-for users never showed up or the channel could not be
joined; 2 bad arguments.

pymumble speaks protocol 1.2.4 and only over TCP (voice goes through the TCP tunnel), with Opus.
"""

import argparse
import array
import json
import os
import socket
import ssl
import sys
import threading
import time
import warnings
import wave

# pymumble 1.6.1 calls ssl.wrap_socket, which Python 3.12 removed: a shim that does the same
# (no certificate verification, a client certificate when given).
if not hasattr(ssl, "wrap_socket"):

    def _wrap_socket(sock, keyfile=None, certfile=None, ssl_version=None, **_):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        if certfile:
            context.load_cert_chain(certfile, keyfile)
        return context.wrap_socket(sock)

    ssl.wrap_socket = _wrap_socket

# opuslib 3.0.1 has an `is not 0` that Python 3.8+ warns about when compiling it.
warnings.filterwarnings("ignore", category=SyntaxWarning)

import pymumble_py3 as pymumble  # noqa: E402
from pymumble_py3 import constants as C  # noqa: E402

RATE = 48000
GAP_SECONDS = 0.15
FRAME = RATE // 100  # samples in the 10 ms unit of voice sequence numbers


def log(message):
    print(f"peer {ARGS.name}: {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=64738)
    p.add_argument("--name", required=True, help="user name")
    p.add_argument("--password", default="", help="server password (or SuperUser's)")
    p.add_argument("--cert", help="client certificate (PEM)")
    p.add_argument("--key", help="client certificate's key (PEM)")
    p.add_argument(
        "--create-channel",
        action="append",
        default=[],
        metavar="NAME",
        help="create a permanent channel NAME under Root unless it exists (repeatable; needs the "
        "permission: connect as SuperUser with --password)",
    )
    p.add_argument(
        "--channel",
        help="channel to join (when missing, asks for a temporary one under Root, which only "
        "registered users may create); default: stay where the server puts us",
    )
    p.add_argument(
        "--wait-for",
        action="append",
        default=[],
        metavar="NAME",
        help="before saying or sending anything, wait until a user NAME is in our channel "
        "(repeatable)",
    )
    p.add_argument("--wait-timeout", type=float, default=20.0, help="seconds for --wait-for")
    p.add_argument("--ready-file", metavar="FILE",
                   help="once in the channel (before --wait-for), write our session and channel "
                   "there as JSON (written to FILE.tmp, then renamed)")
    p.add_argument("--say", action="append", default=[], metavar="TEXT",
                   help="text message to our channel (repeatable)")
    p.add_argument("--send-wav", metavar="FILE",
                   help="16-bit WAV sent as voice (converted to 48 kHz mono when needed)")
    p.add_argument("--send-delay", type=float, default=0.0,
                   help="seconds to wait (after --wait-for and --say) before sending the WAV")
    p.add_argument("--bandwidth", type=int, default=64000,
                   help="total outgoing bit/s (Opus bitrate is this minus overhead; capped by "
                   "the server)")
    p.add_argument("--record-wav", metavar="FILE", help="write what we hear here")
    p.add_argument("--seconds", type=float, default=5.0,
                   help="how long to stay after joining and --wait-for (at least until the WAV "
                   "is sent)")
    p.add_argument("--idle-exit", type=float, metavar="S",
                   help="leave early once some audio was heard and none for S seconds (and "
                   "expected texts arrived, and our sending is done)")
    p.add_argument("--expect-text", action="append", default=[], metavar="TEXT",
                   help="a text message containing TEXT must arrive (repeatable); exit 3 if not")
    p.add_argument("--timeout", type=float,
                   help="hard limit for the whole run (default: seconds + wait-timeout + 30)")
    p.add_argument("--debug", action="store_true", help="pymumble debug log on stderr")
    return p.parse_args()


class Recorder:
    """Received audio, placed by arrival time and mixed into one 48 kHz mono track."""

    def __init__(self):
        self.lock = threading.Lock()
        self.t0 = None
        self.mix = array.array("i")
        self.cursor = {}  # session -> next sample index after its last chunk
        self.next_sequence = {}  # session -> the sequence number that would continue it
        self.seconds = 0.0
        self.by_user = {}
        self.last_arrival = None

    def start(self):
        with self.lock:
            self.t0 = time.time()

    def add(self, user, chunk):
        now = time.time()
        pcm = array.array("h")
        pcm.frombytes(chunk.pcm)
        if sys.byteorder != "little":
            pcm.byteswap()
        duration = len(pcm) / RATE
        name = user.get("name", "?")
        with self.lock:
            self.seconds += duration
            self.by_user[name] = self.by_user.get(name, 0.0) + duration
            self.last_arrival = now
            if self.t0 is None:
                return
            session = user.get("session")
            ideal = max(0, int(round((now - self.t0) * RATE)))
            cursor = self.cursor.get(session)
            follows_on = chunk.sequence == self.next_sequence.get(session)
            if cursor is None or (not follows_on and ideal > cursor + int(GAP_SECONDS * RATE)):
                pos = ideal
            else:
                pos = cursor
            self.next_sequence[session] = chunk.sequence + max(1, round(len(pcm) / FRAME))
            end = pos + len(pcm)
            if len(self.mix) < end:
                self.mix.extend(array.array("i", [0]) * (end - len(self.mix)))
            for i, s in enumerate(pcm):
                self.mix[pos + i] += s
            self.cursor[session] = end

    def write(self, path):
        with self.lock:
            out = array.array("h", (max(-32768, min(32767, s)) for s in self.mix))
        if sys.byteorder != "little":
            out.byteswap()
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(out.tobytes())
        return len(out) / RATE


def read_wav_48k_mono(path):
    """The WAV's samples as 48 kHz mono 16-bit little-endian bytes (linear resampling)."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: only 16-bit PCM WAV is supported")
        channels, rate = w.getnchannels(), w.getframerate()
        data = array.array("h")
        data.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        data.byteswap()
    if channels > 1:
        data = array.array(
            "h", (sum(data[i:i + channels]) // channels for i in range(0, len(data), channels))
        )
    if rate != RATE and len(data) > 1:
        n = int(len(data) * RATE / rate)
        step = rate / RATE
        out = array.array("h")
        for i in range(n):
            x = i * step
            j = min(int(x), len(data) - 2)
            f = x - j
            out.append(int(round(data[j] * (1 - f) + data[j + 1] * f)))
        data = out
    if sys.byteorder != "little":
        data.byteswap()
    return data.tobytes()


class Peer(pymumble.Mumble):
    """pymumble 1.6.1 never notices a closed connection (recv returning b"" just spins until the
    60 s ping timeout); this notices it at once, so a killed server shows up as a disconnect."""

    def read_control_messages(self):
        try:
            data = self.control_socket.recv(C.PYMUMBLE_READ_BUFFER_SIZE)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return
        except OSError:
            data = b""
        if not data:
            self.connected = C.PYMUMBLE_CONN_STATE_NOT_CONNECTED
            return
        self.receive_buffer += data
        while len(self.receive_buffer) >= 6:
            kind = int.from_bytes(self.receive_buffer[0:2], "big")
            size = int.from_bytes(self.receive_buffer[2:6], "big")
            if len(self.receive_buffer) < size + 6:
                break
            message = self.receive_buffer[6:size + 6]
            self.receive_buffer = self.receive_buffer[size + 6:]
            self.dispatch_control_message(kind, message)


def main():
    global ARGS
    ARGS = args = parse_args()
    result = {
        "connected": False,
        "name": args.name,
        "session": None,
        "channel": None,
        "received_text": [],
        "received_messages": [],
        "received_audio_seconds": 0.0,
        "audio_by_user": {},
        "users_seen": [],
        "sent_audio_seconds": 0.0,
        "expected_text_received": True,
        "disconnected": False,
        "record_start": None,
        "recorded_seconds": 0.0,
        "error": None,
    }
    state_lock = threading.Lock()
    recorder = Recorder()
    stopping = threading.Event()
    failure = []

    def finish(code):
        with state_lock:
            result["received_audio_seconds"] = round(recorder.seconds, 3)
            result["audio_by_user"] = {k: round(v, 3) for k, v in recorder.by_user.items()}
            result["record_start"] = recorder.t0
            for expected in args.expect_text:
                if not any(expected in t for t in result["received_text"]):
                    result["expected_text_received"] = False
            if args.record_wav:
                try:
                    result["recorded_seconds"] = round(recorder.write(args.record_wav), 3)
                except OSError as e:
                    result["error"] = result["error"] or f"cannot write {args.record_wav}: {e}"
                    code = code or 1
            if code == 0 and not result["expected_text_received"]:
                code = 3
                result["error"] = "expected text not received: " + repr(args.expect_text)
            line = json.dumps(result)
        if result["error"]:
            log(result["error"])
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    timeout = args.timeout or (args.seconds + args.wait_timeout + 30)

    def watchdog():
        with state_lock:
            result["error"] = f"watchdog: still running after {timeout:.0f} s"
        finish(4)

    timer = threading.Timer(timeout, watchdog)
    timer.daemon = True
    timer.start()

    # pymumble's thread raises on connection failure or Reject: keep the reason, not a traceback.
    def excepthook(hook_args):
        failure.append(f"{hook_args.exc_type.__name__}: {hook_args.exc_value}")

    threading.excepthook = excepthook

    m = Peer(args.host, args.name, port=args.port, password=args.password,
             certfile=args.cert, keyfile=args.key, reconnect=False, debug=args.debug)
    m.set_application_string("palabre-test-peer (pymumble 1.6.1)")
    m.set_receive_sound(True)

    def on_user(user, *_):
        name = user.get("name")
        with state_lock:
            if name and name != args.name and name not in result["users_seen"]:
                result["users_seen"].append(name)

    def on_text(message):
        sender = m.users.get(message.actor, {}).get("name") if message.actor else None
        with state_lock:
            result["received_text"].append(message.message)
            result["received_messages"].append({"from": sender, "text": message.message})

    denied = []

    def on_denied(message):
        denied.append(f"permission denied: {m.denial_type(message.type)} {message.reason}".strip())

    def on_disconnect(*_):
        if not stopping.is_set():
            with state_lock:
                result["disconnected"] = True

    m.callbacks.set_callback(C.PYMUMBLE_CLBK_USERCREATED, on_user)
    m.callbacks.set_callback(C.PYMUMBLE_CLBK_USERUPDATED, on_user)
    m.callbacks.set_callback(C.PYMUMBLE_CLBK_SOUNDRECEIVED, recorder.add)
    m.callbacks.set_callback(C.PYMUMBLE_CLBK_TEXTMESSAGERECEIVED, on_text)
    m.callbacks.set_callback(C.PYMUMBLE_CLBK_DISCONNECTED, on_disconnect)
    m.callbacks.set_callback(C.PYMUMBLE_CLBK_PERMISSIONDENIED, on_denied)
    m.start()

    # Connected means ServerSync arrived (the ready lock is released then, or on failure).
    deadline = time.time() + 15
    while time.time() < deadline:
        if m.connected == C.PYMUMBLE_CONN_STATE_CONNECTED:
            break
        if m.connected == C.PYMUMBLE_CONN_STATE_FAILED or failure or not m.is_alive():
            break
        time.sleep(0.02)
    if m.connected != C.PYMUMBLE_CONN_STATE_CONNECTED:
        with state_lock:
            if failure:
                reason = failure[0]
            elif not m.is_alive():
                reason = "connection closed before ServerSync"
            else:
                reason = "no ServerSync within 15 s"
            result["error"] = f"could not connect to {args.host}:{args.port}: {reason}"
        finish(1)
    with state_lock:
        result["connected"] = True
        result["session"] = m.users.myself_session
    for user in list(m.users.values()):
        on_user(user)
    m.set_bandwidth(args.bandwidth)

    def my_channel_id():
        me = m.users.myself
        return me.get("channel_id", 0) if me else None

    def alive():
        return m.connected == C.PYMUMBLE_CONN_STATE_CONNECTED

    def find_channel(name, create, temporary):
        try:
            return m.channels.find_by_name(name)
        except pymumble.errors.UnknownChannelError:
            if not create:
                return None
        m.channels.new_channel(0, name, temporary=temporary)
        deadline = time.time() + 5
        while time.time() < deadline and alive() and not denied:
            time.sleep(0.05)
            try:
                return m.channels.find_by_name(name)
            except pymumble.errors.UnknownChannelError:
                pass
        return None

    for name in args.create_channel:
        if find_channel(name, True, False) is None:
            with state_lock:
                result["error"] = f"could not create channel {name!r}: {'; '.join(denied) or 'timeout'}"
            finish(5)
        log(f"channel {name!r} exists")

    if args.channel:
        channel = find_channel(args.channel, True, True)
        if channel is None:
            with state_lock:
                result["error"] = (f"channel {args.channel!r} missing and could not be created "
                                   f"({'; '.join(denied) or 'timeout'}): create it first, as SuperUser")
            finish(5)
        if my_channel_id() != channel["channel_id"]:
            channel.move_in()
        deadline = time.time() + 5
        while my_channel_id() != channel["channel_id"] and time.time() < deadline and alive():
            time.sleep(0.02)
        if my_channel_id() != channel["channel_id"]:
            with state_lock:
                result["error"] = f"could not join channel {args.channel!r}"
            finish(5)
    recorder.start()
    with state_lock:
        result["channel"] = m.channels[my_channel_id()].get("name")
    log(f"joined {result['channel']!r} as session {result['session']}")
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            json.dump({"session": result["session"], "channel": result["channel"]}, f)
        os.replace(args.ready_file + ".tmp", args.ready_file)

    if args.wait_for:
        deadline = time.time() + args.wait_timeout
        while time.time() < deadline and alive():
            here = {u.get("name") for u in list(m.users.values())
                    if u.get("channel_id", 0) == my_channel_id()}
            if all(name in here for name in args.wait_for):
                break
            time.sleep(0.05)
        else:
            with state_lock:
                result["error"] = (f"--wait-for {args.wait_for}: not all in our channel after "
                                   f"{args.wait_timeout:.0f} s")
            finish(5)
    start = time.time()

    for text in args.say:
        if alive():
            m.my_channel().send_text_message(text)

    sending = False
    if args.send_wav:
        pcm = read_wav_48k_mono(args.send_wav)
        if args.send_delay > 0:
            time.sleep(args.send_delay)
        m.sound_output.add_sound(pcm)
        sending = True
        with state_lock:
            result["sent_audio_seconds"] = round(len(pcm) / 2 / RATE, 3)

    while alive():
        now = time.time()
        if sending and m.sound_output.get_buffer_size() <= 0:
            sending = False
        if not sending and now - start >= args.seconds:
            break
        if args.idle_exit is not None and not sending:
            with recorder.lock:
                last = recorder.last_arrival
            with state_lock:
                texts = all(any(e in t for t in result["received_text"])
                            for e in args.expect_text)
            if last is not None and now - last >= args.idle_exit and texts:
                break
        time.sleep(0.02)
    if not alive() and not stopping.is_set():
        with state_lock:
            result["disconnected"] = True

    # Let pymumble's thread leave its loop before the socket goes (never close a TLS socket while
    # another thread reads it).
    stopping.set()
    m.exit = True
    m.join(timeout=2)
    try:
        m.control_socket.close()
    except (OSError, AttributeError):
        pass
    finish(0)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # one JSON line, whatever happened
        print(f"peer: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        print(json.dumps({"connected": False, "error": f"{type(e).__name__}: {e}"}), flush=True)
        os._exit(1)
