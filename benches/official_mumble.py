#!/usr/bin/env python3
"""Runs the official Mumble client (Debian's `mumble` 1.3.4) in a call, without any question asked.

For the benchmarks that compare palabre with the official client (issue 4): it prepares a fresh
configuration under --home, starts `mumble LINK` on --display with its sound through PulseAudio,
waits until the client is in the link's channel, prints one JSON line on stdout

  {"pid": 12345, "connected": true, "seconds_to_connect": 1.9}

and stays in the foreground with the client until it is stopped: SIGTERM, SIGINT or SIGHUP end the
client (SIGTERM, SIGKILL 5 s later) and the script (status 0 once connected, 1 before). Even a
SIGKILL of the script ends the client, which dies with its parent (prctl PR_SET_PDEATHSIG), and
the script's private dbus-daemon with it. "pid" is the client's own process
(what to measure); killing that pid directly also works, the script then exits with status 0.
When the client does not get into the channel within --timeout (or exits, or a tool is missing),
the script says why on stderr, prints {"pid": ..., "connected": false, "seconds_to_connect": null},
stops the client and exits with status 1; status 2 is a bad command line.

  python3 benches/official_mumble.py --display :151 \
      --link mumble://official@127.0.0.1:PORT/Test --home DIR [--timeout 30]

What is pre-seeded under DIR (the client's HOME and every XDG_* directory are in there, so the
caller's home is never touched), read in the client's sources (tag 1.3.4) and checked on the
binary:
- home/Documents/MumbleAutomaticCertificateBackup.p12: an RSA-2048 self-signed identity (CN = the
  link's user name, no password), made with openssl. Without a valid certificate in the settings,
  1.3.4 imports this backup file at start-up; only when there is none does it open the certificate
  wizard.
- config/Mumble/Mumble.conf (Qt INI, QSettings("Mumble", "Mumble")):
  lastupdate=2           the settings are current: no audio tuning wizard (it runs when this is 0)
  audio/input, audio/output = PulseAudio, with pulseaudio/input and pulseaudio/output left unset:
                         the sound server's default source and sink
  audio/transmit=2       push-to-talk, and no push-to-talk shortcut bound: the client only
                         listens (the default is 1, voice activation). Its microphone is still
                         opened and processed, as for any push-to-talk user
  ui/updatecheck=false, ui/plugincheck=false, ui/usage=false: no version check, no plugin
                         update check, no usage report (no network access but the server)
  audio/echo=true        only with --echo: the client cancels the echo of its speakers (off by
                         default; its PulseAudio code then records the output's monitor as the
                         far end, a third stream: read in the sources, not checked on the binary)
  tts/enable=false       log events are not read aloud through speech-dispatcher (a separate
                         daemon, autospawned where it is installed); not part of a call
  Everything else keeps the default a user has after clicking through the wizard.
- data/Mumble/Mumble/mumble.sqlite, table `cert` (hostname, port, digest): the server's
  certificate accepted for (host, port) as the link gives them; digest = lower-case hex SHA-1 of
  the certificate's DER, read from the server with a TLS handshake. The client then proceeds over
  the self-signed certificate of murmurd without the "server certificate could not be verified"
  dialog.

Connected means: the client's own D-Bus method getCurrentUrl (net.sourceforge.mumble.Mumble)
answers with the link's channel path. It answers only once the server has synchronised the client
(a session) and reports the channel the server has put the client in. The bus is a private
dbus-daemon under DIR (no service activation), ended with the client. The script also waits (within
--timeout) until the client's PulseAudio output stream is open, which happens asynchronously at
start-up, sometimes after the connection (its log says so: DIR/mumble.log).
"seconds_to_connect" is from the start of the client to its being in the channel.

Needs the Debian packages mumble, openssl, dbus-daemon and dbus-bin (dbus-send), an X server on
--display (xvfb) and a PulseAudio server: PULSE_SERVER when set (scripts/lib.sh's start_null_sink
sets it), otherwise the caller's $XDG_RUNTIME_DIR/pulse/native. Python 3 standard library only.
"""

import argparse
import ctypes
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.parse

DEFAULT_PORT = 64738
STOP_GRACE = 5.0
POLL = 0.1
# Tools and the Debian packages they come from.
TOOLS = {
    "mumble": "mumble",
    "openssl": "openssl",
    "dbus-daemon": "dbus-daemon",
    "dbus-send": "dbus-bin",
}

PR_SET_PDEATHSIG = 1
# Marks a --home directory as this script's own (it may then clear it).
MARKER = ".official_mumble"


class Failure(Exception):
    """A reason to give up, in plain words."""


def say(message):
    print(f"official_mumble: {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--display", required=True, help="X display for the client, e.g. :151")
    p.add_argument("--link", required=True,
                   help="mumble://USER@HOST:PORT/CHANNEL (a user name is needed)")
    p.add_argument("--home", required=True,
                   help="directory for the client's fresh home, configuration and log")
    p.add_argument("--echo", action="store_true",
                   help="turn the client's echo cancellation on (audio/echo=true)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to get into the channel (default 30)")
    return p.parse_args()


def parse_link(link):
    url = urllib.parse.urlsplit(link)
    if url.scheme != "mumble" or not url.hostname:
        raise Failure(f"{link!r} is not a mumble://USER@HOST[:PORT]/CHANNEL link")
    if not url.username:
        raise Failure(f"{link!r} has no user name (mumble://USER@HOST...): the client would ask")
    try:
        port = url.port or DEFAULT_PORT
    except ValueError as e:
        raise Failure(f"{link!r}: {e}") from None
    # The client's own view of where it is: the channel path, decoded, without a trailing slash.
    channel = urllib.parse.unquote(url.path).rstrip("/")
    return url.hostname, port, urllib.parse.unquote(url.username), channel


def server_cert_sha1(host, port, timeout):
    """Lower-case hex SHA-1 of the DER certificate the Mumble server presents."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=5) as raw:
                with context.wrap_socket(raw) as tls:
                    der = tls.getpeercert(binary_form=True)
            return hashlib.sha1(der).hexdigest()
        except OSError as e:
            if time.monotonic() >= deadline:
                raise Failure(
                    f"no TLS answer from the Mumble server at {host}:{port}: {e}") from None
            time.sleep(0.5)


def run(command, what):
    out = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if out.returncode != 0:
        raise Failure(f"{what} failed ({' '.join(command[:3])} ...): {out.stderr.strip()}")
    return out.stdout


def make_identity(user, home, work):
    """The certificate backup 1.3.4 imports at start-up instead of running its wizard."""
    key, cert = os.path.join(work, "identity-key.pem"), os.path.join(work, "identity-cert.pem")
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-subj", "/CN=" + user.replace("/", "\\/"), "-keyout", key, "-out", cert],
        "making the client's certificate")
    documents = os.path.join(home, "Documents")
    os.makedirs(documents, exist_ok=True)
    run(["openssl", "pkcs12", "-export", "-inkey", key, "-in", cert, "-name", user,
         "-passout", "pass:", "-out",
         os.path.join(documents, "MumbleAutomaticCertificateBackup.p12")],
        "packing the client's certificate")


MUMBLE_CONF = """\
[General]
lastupdate=2

[audio]
input=PulseAudio
output=PulseAudio
transmit=2

[tts]
enable=false

[ui]
updatecheck=false
plugincheck=false
usage=false
"""


def write_config(config_home, echo):
    directory = os.path.join(config_home, "Mumble")
    os.makedirs(directory, exist_ok=True)
    conf = MUMBLE_CONF
    if echo:
        conf = conf.replace("transmit=2\n", "transmit=2\necho=true\n")
    with open(os.path.join(directory, "Mumble.conf"), "w", encoding="utf-8") as f:
        f.write(conf)


def write_database(data_home, host, port, digest):
    directory = os.path.join(data_home, "Mumble", "Mumble")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "mumble.sqlite")
    db = sqlite3.connect(path)
    try:
        # The client's own schema (Database.cpp, 1.3.4); it creates the other tables itself.
        db.execute("CREATE TABLE IF NOT EXISTS `cert` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "`hostname` TEXT, `port` INTEGER, `digest` TEXT)")
        db.execute("CREATE UNIQUE INDEX IF NOT EXISTS `cert_host_port` "
                   "ON `cert`(`hostname`,`port`)")
        db.execute("REPLACE INTO `cert` (`hostname`,`port`,`digest`) VALUES (?,?,?)",
                   (host, port, digest))
        db.commit()
    finally:
        db.close()
    os.chmod(path, 0o600)


DBUS_CONF = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def die_with_parent(sig):
    """A preexec_fn: the child gets `sig` when this script ends, however it ends."""
    parent = os.getpid()

    def setup():
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl
            os._exit(1)

    return setup


def start_bus(runtime, work):
    socket_path = os.path.join(runtime, "bus")
    conf = os.path.join(work, "dbus.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(DBUS_CONF.format(socket=socket_path))
    bus = subprocess.Popen(
        ["dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile", "--print-address"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        preexec_fn=die_with_parent(signal.SIGKILL))
    address = bus.stdout.readline().strip()
    if not address:
        bus.wait()
        raise Failure(f"dbus-daemon did not start (status {bus.returncode})")
    return bus, address


def current_url(env):
    """What the client's getCurrentUrl answers, or None while it is not connected."""
    out = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--reply-timeout=1000",
         "--dest=net.sourceforge.mumble.mumble", "/",
         "net.sourceforge.mumble.Mumble.getCurrentUrl"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if out.returncode != 0:
        return None
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith('string "') and line.endswith('"'):
            return line[len('string "'):-1]
    return None


def url_channel(url):
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path).rstrip("/")


def pulse_server():
    server = os.environ.get("PULSE_SERVER")
    if server:
        return server
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "pulse", "native")):
        return "unix:" + os.path.join(runtime, "pulse", "native")
    raise Failure("no PulseAudio server: set PULSE_SERVER (scripts/lib.sh start_null_sink does)")


def child_env(display, dirs, bus_address, pulse):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "DBUS_", "QT_", "WAYLAND_", "GTK_"))
           and k not in ("SESSION_MANAGER", "DESKTOP_SESSION", "PULSE_SERVER")}
    env.update({
        "DISPLAY": display,
        "HOME": dirs["home"],
        "XDG_CONFIG_HOME": dirs["config"],
        "XDG_DATA_HOME": dirs["data"],
        "XDG_CACHE_HOME": dirs["cache"],
        "XDG_STATE_HOME": dirs["state"],
        "XDG_RUNTIME_DIR": dirs["runtime"],
        "DBUS_SESSION_BUS_ADDRESS": bus_address,
        "PULSE_SERVER": pulse,
        "QT_QPA_PLATFORM": "xcb",
        # Debian's client also tries JACK at start-up: never let libjack start a jackd.
        "JACK_NO_START_SERVER": "1",
    })
    return env


def stop(process, grace=STOP_GRACE):
    if process is None or process.poll() is not None:
        return
    try:
        process.terminate()
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    except ProcessLookupError:
        pass


def log_tail(path, lines=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def main():
    args = parse_args()
    mumble = bus = None
    pid = None
    connected = False

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    try:
        missing = [f"{tool} (package {pkg})" for tool, pkg in TOOLS.items()
                   if not shutil.which(tool)]
        if missing:
            raise Failure("missing " + ", ".join(missing))
        host, port, user, channel = parse_link(args.link)
        pulse = pulse_server()

        base = os.path.abspath(args.home)
        dirs = {name: os.path.join(base, name)
                for name in ("home", "config", "data", "cache", "state", "runtime", "work")}
        # A fresh configuration every time (whatever an earlier run left there), but never in a
        # directory that holds something else.
        marker = os.path.join(base, MARKER)
        if os.path.isdir(base) and os.listdir(base) and not os.path.exists(marker):
            raise Failure(f"{base} is not empty and was not made by this script: give a new or "
                          "empty directory")
        os.makedirs(base, exist_ok=True)
        open(marker, "w").close()
        for name, path in dirs.items():
            shutil.rmtree(path, ignore_errors=True)
            os.makedirs(path, mode=0o700)
        log_path = os.path.join(base, "mumble.log")

        digest = server_cert_sha1(host, port, min(args.timeout, 10.0))
        make_identity(user, dirs["home"], dirs["work"])
        write_config(dirs["config"], args.echo)
        write_database(dirs["data"], host, port, digest)

        bus, bus_address = start_bus(dirs["runtime"], dirs["work"])
        env = child_env(args.display, dirs, bus_address, pulse)
        with open(log_path, "wb") as log:
            started = time.monotonic()
            # -m: no hand-over of the link to another running client.
            mumble = subprocess.Popen(
                ["mumble", "-m", args.link], env=env, cwd=dirs["home"], stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent(signal.SIGKILL))
        pid = mumble.pid
        say(f"client pid {pid}, log {log_path}")

        deadline = started + args.timeout
        seen = None
        seconds = None  # to get into the channel
        sound = False  # the PulseAudio output stream is open (it opens asynchronously)
        while True:
            if mumble.poll() is not None:
                raise Failure(f"the client exited (status {mumble.returncode}) before it was "
                              f"in the channel; end of {log_path}:\n{log_tail(log_path)}")
            if seconds is None:
                url = current_url(env)
                if url is not None and url != seen:
                    seen = url
                    say(f"client reports {url}")
                if url is not None and url_channel(url) == channel:
                    seconds = time.monotonic() - started
            if not sound:
                with open(log_path, encoding="utf-8", errors="replace") as f:
                    sound = "PulseAudio: Starting output" in f.read()
            if seconds is not None and sound:
                break
            if time.monotonic() >= deadline:
                if seconds is None:
                    state = f"it is at {seen}" if seen else "it never connected"
                    problem = f"was not in channel {channel or '/'!r} ({state})"
                else:
                    problem = "is in the channel but did not open its PulseAudio output"
                raise Failure(f"the client {problem} within {args.timeout:g} s; end of "
                              f"{log_path}:\n{log_tail(log_path)}")
            time.sleep(POLL)

        print(json.dumps({"pid": pid, "connected": True, "seconds_to_connect": round(seconds, 2)}),
              flush=True)
        connected = True
        mumble.wait()
        say(f"the client exited (status {mumble.returncode})")
        return 0
    except KeyboardInterrupt as e:
        if connected:
            say(f"{e.args[0] if e.args else 'SIGINT'}: stopping the client")
            return 0
        say(f"{e.args[0] if e.args else 'SIGINT'} before the client was in the channel")
        print(json.dumps({"pid": pid, "connected": False, "seconds_to_connect": None}), flush=True)
        return 1
    except Failure as e:
        say(str(e))
        print(json.dumps({"pid": pid, "connected": False, "seconds_to_connect": None}), flush=True)
        return 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stop(mumble)
        stop(bus)


if __name__ == "__main__":
    sys.exit(main())
