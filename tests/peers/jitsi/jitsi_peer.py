#!/usr/bin/env python3
"""An independent Jitsi Meet participant for palabre's tests (slixmpp + aiortc, no palabre code).

It logs in (SASL ANONYMOUS on the guest domain, or --login NAME:PASSWORD on the main domain),
sends the conference IQ to the focus (retrying while it answers ready='false'), joins the room
with nick, caps, SourceInfo and codec list, answers disco#info, takes the focus's
session-initiate, answers with a session-accept built from aiortc's answer, opens the
`JVB data channel`, says ClientHello and, after ServerHello, broadcasts one EndpointMessage
{"type": "palabre-test-hello", "nick": NICK}. It sends --send-wav as its microphone, records what it
hears into --record-wav (48 kHz mono 16-bit) and, after --stay seconds in the room, leaves and
prints exactly one JSON line on stdout (even when it failed):

  {"joined": true, "endpoint": "1a2b3c4d", "conference_error": null, "join_error": null,
   "sessions": 1, "session_terminates": [], "source_adds": 1, "source_removes": 0,
   "remote_sources": [{"ssrc": 1, "name": "x-a0", "owner": "x", "media": "audio"}],
   "offered_contents": ["audio", "video", "data"], "offer_sctp_port": 5000,
   "offer_web_sockets": {}, "start_muted": null,
   "data_channel_open": true, "server_hello": "…", "bridge_messages": ["ServerHello"],
   "endpoint_messages": [{"from": "x", "payload": {"type": "palabre-test-hello", "nick": "bob"}}],
   "dominant_speakers": ["x"], "muted_by_focus": false,
   "audio_packets_received": 900, "video_packets_received": 0, "video_bytes_received": 0,
   "video_frames_received": 0, "received_audio_seconds": 9.5, "audio_by_endpoint": {"x": 9.5},
   "sent_audio_seconds": 10.0, "record_start": 1700000000.0, "recorded_seconds": 12.0,
   "bridge_sessions": ["…"], "audio_by_session": [9.5], "restart_requests": [],
   "error": null}

The offer_* fields and start_muted describe the last session-initiate: its contents, the SCTP
port of its data content, the colibri <web-socket> URLs of each content's transport (by content
name; the peer itself does not connect to them) and jicofo's <startmuted> ({"audio": true,
"video": true}, or null when absent; the peer reports it but does not start muted).
bridge_sessions has the <bridge-session> id of each session-initiate, audio_by_session the seconds
of remote audio heard in each session.

With --restart-after S the peer asks the focus for a fresh session, as lib-jitsi-meet does when
ICE failed for good, once no remote audio has arrived for S seconds in a session where some had:
it closes its connection and sends session-terminate with <reason><connectivity-error/><text>ICE
FAILED</text></reason> and <bridge-session xmlns='http://jitsi.org/protocol/focus' id='<the
offer's id>' restart='true'/>. Each request is listed in restart_requests as {"bridge_session":
ID, "answer": "result" or the error condition or "timeout"}. Any pause of all remote audio counts
(the last other participant leaving, too).

Exit status: 0 done; 1 could not connect or log in; 3 the conference IQ or the MUC join was
refused (see conference_error / join_error); 4 watchdog (--timeout) fired; 2 bad arguments.

Limits: slixmpp has no WebSocket transport, so this peer speaks XMPP over TCP (c2s) to the same
Prosody; everything after the stream is what a Jitsi client does. It renegotiates aiortc (one
m-line per remote source, as lib-jitsi-meet does) on source-add; on source-remove the m-line is
made inactive.
"""

import argparse
import array
import asyncio
import fractions
import json
import logging
import os
import random
import sys
import time
import uuid
import wave
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aioice.ice  # noqa: E402
import av  # noqa: E402
import slixmpp  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack  # noqa: E402
from aiortc.rtcconfiguration import RTCBundlePolicy  # noqa: E402
from slixmpp.xmlstream.handler import Callback  # noqa: E402
from slixmpp.xmlstream.matcher import MatchXPath  # noqa: E402

import jingle_sdp as js  # noqa: E402
from jingle_sdp import q, sub  # noqa: E402

# Loopback host candidates only (aioice skips 127.0.0.1 on its own).
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

RATE = 48000
NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_CAPS = "http://jabber.org/protocol/caps"
NS_NICK = "http://jabber.org/protocol/nick"
FEATURES = ["urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:rtp:audio",
            "urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:apps:dtls:0",
            "urn:xmpp:jingle:transports:dtls-sctp:1", "urn:ietf:rfc:5888", "urn:ietf:rfc:5761",
            "urn:ietf:rfc:4588", "http://jitsi.org/source-name",
            "http://jitsi.org/receive-multiple-video-streams"]
FEATURE_VIDEO = "urn:xmpp:jingle:apps:rtp:video"
ARGS = None


def log(message):
    print(f"jitsi_peer {ARGS.nick}: {message}", file=sys.stderr, flush=True)


class WavTrack(MediaStreamTrack):
    """The microphone: a 16-bit mono WAV in 20 ms frames after --send-delay, then silence. Like
    a live microphone it runs on the wall clock: what nobody read for more than a second
    (between two sessions) is skipped, not sent late."""

    kind = "audio"

    def __init__(self, path, delay):
        super().__init__()
        self.samples = array.array("h")
        self.rate = 48000
        if path:
            with wave.open(path, "rb") as w:
                if w.getsampwidth() != 2 or w.getnchannels() != 1:
                    raise ValueError(f"{path}: only 16-bit mono WAV files are supported")
                self.rate = w.getframerate()
                self.samples.frombytes(w.readframes(w.getnframes()))
        self.delay = delay
        self.frame = self.rate // 50
        self.index = 0
        self.start = None
        self.sent_samples = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        due = self.start + self.index * 0.02
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -1.0:
            self.index = int((time.monotonic() - self.start) / 0.02)
        pos = self.index * self.frame - int(self.delay * self.rate)
        chunk = array.array("h", bytes(self.frame * 2))
        if 0 <= pos < len(self.samples):
            part = self.samples[pos:pos + self.frame]
            chunk[:len(part)] = part
            self.sent_samples += len(part)
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.frame)
        frame.planes[0].update(chunk.tobytes())
        frame.sample_rate = self.rate
        frame.pts = self.index * self.frame
        frame.time_base = fractions.Fraction(1, self.rate)
        self.index += 1
        return frame


class MicFeed(MediaStreamTrack):
    """The microphone as one session's sender sees it. aiortc's sender stops its track when the
    session ends; stopping this one leaves the microphone live for the next session."""

    kind = "audio"

    def __init__(self, mic):
        super().__init__()
        self.mic = mic

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        return await self.mic.recv()


class Recorder:
    """Mixes every remote audio track into one 48 kHz mono recording."""

    def __init__(self):
        self.start = time.time()
        self.mix = array.array("i")
        self.by_owner = {}

    def add(self, owner, pos, samples):
        end = pos + len(samples)
        if end > len(self.mix):
            if end > RATE * 3600:
                return pos
            self.mix.extend(array.array("i", bytes(4 * (end - len(self.mix)))))
        for i, v in enumerate(samples):
            self.mix[pos + i] += v
        self.by_owner[owner] = self.by_owner.get(owner, 0) + len(samples)
        return end

    def write(self, path):
        out = array.array("h", (max(-32768, min(32767, v)) for v in self.mix))
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(out.tobytes())


def to_mono_48k(frame, resampler):
    """Samples of a decoded frame as 48 kHz mono int16."""
    out = []
    for f in resampler.resample(frame):
        data = array.array("h")
        data.frombytes(bytes(f.planes[0])[: f.samples * 2])
        out.extend(data)
    return out


class Peer(slixmpp.ClientXMPP):
    """The participant."""

    def __init__(self, args):
        jid = f"{args.login.split(':', 1)[0]}@{args.domain}/{uuid.uuid4().hex[:8]}" if args.login \
            else args.guest_domain
        password = args.login.split(":", 1)[1] if args.login else ""
        super().__init__(jid, password)
        self.args = args
        self.plugin["feature_mechanisms"].unencrypted_plain = True
        self.plugin["feature_mechanisms"].unencrypted_scram = True
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.result = {"joined": False, "endpoint": None, "conference_error": None, "join_error": None,
                       "lobby_room": None, "conference_attempts": 0, "sessions": 0, "session_terminates": [],
                       "source_adds": 0, "source_removes": 0, "remote_sources": [],
                       "offered_contents": [], "offer_sctp_port": None, "offer_web_sockets": {},
                       "start_muted": None, "data_channel_open": False, "server_hello": None,
                       "bridge_messages": [], "endpoint_messages": [], "dominant_speakers": [], "muted_by_focus": False,
                       "audio_packets_received": 0, "video_packets_received": 0,
                       "video_bytes_received": 0, "video_frames_received": 0,
                       "received_audio_seconds": 0.0, "audio_by_endpoint": {},
                       "sent_audio_seconds": 0.0, "record_start": None, "recorded_seconds": 0.0,
                       "bridge_sessions": [], "audio_by_session": [], "restart_requests": [],
                       "error": None}
        self.done = asyncio.Event()
        self.session_ok = asyncio.Event()
        self.room = f"{args.room.lower()}@{args.muc}"
        self.focus_occupant = f"{self.room}/focus"
        self.joined = None
        self.pc = None
        self.sid = None
        self.bridge_session = None
        self.initiator = None
        self.offer_contents = None
        self.remote = {}  # ssrc -> Source (with .media)
        self.mlines = []  # (mid, media, [ssrcs], active)
        self.mic = None
        self.recorder = Recorder()
        self.session_samples = []  # remote audio samples heard, per session
        self.last_audio = None  # monotonic time of the last remote audio frame of this session
        self.channel = None
        self.stats_total = {"audio": 0, "video": 0, "video_bytes": 0}
        self.tasks = []
        self.jingle_lock = asyncio.Lock()
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("failed_auth", self._on_failed_auth)
        self.add_event_handler("disconnected", lambda _e: self.done.set())
        self.register_handler(Callback("jingle", MatchXPath(
            f"{{jabber:client}}iq/{{{js.NS_JINGLE}}}jingle"), self._on_jingle))
        for media in ("audio", "video"):
            self.register_handler(Callback(f"mute {media}", MatchXPath(
                f"{{jabber:client}}iq/{{http://jitsi.org/jitmeet/{media}}}mute"), self._on_mute))
        self.register_handler(Callback("presence", MatchXPath("{jabber:client}presence"), self._on_presence))

    # -- login, conference, join

    def _on_failed_auth(self, _event):
        self.result["error"] = "authentication failed"
        self.exit_status = 1
        self.done.set()

    async def _on_session_start(self, _event):
        try:
            await self._start()
        except Exception as error:  # reported in the JSON line
            log(f"failed: {error}")
            if not self.result["error"]:
                self.result["error"] = str(error)
            self.done.set()

    async def _start(self):
        node = self.boundjid.user
        self.endpoint = (node[:8] if not self.args.login else uuid.uuid4().hex[:8]).lower()
        self.result["endpoint"] = self.endpoint
        # Features are registered for the bound JID, which is known only now.
        extra = ([] if self.args.no_video_feature else [FEATURE_VIDEO]) + (["http://jitsi.org/tcc"] if self.args.tcc else [])
        for feature in FEATURES + extra:
            self.plugin["xep_0030"].add_feature(feature)
        self.send_presence()
        # Conference IQ, retried while the focus is not ready.
        delay = 0.5
        for attempt in range(self.args.conference_retries + 1):
            self.result["conference_attempts"] = attempt + 1
            iq = self.make_iq_set(ito=self.args.focus)
            conf = sub(iq.xml, js.NS_FOCUS, "conference", {"room": self.room, "machine-uid": self.args.machine_uid})
            sub(conf, js.NS_FOCUS, "property", {"name": "rtcstatsEnabled", "value": "false"})
            try:
                answer = await iq.send(timeout=15)
            except slixmpp.exceptions.IqError as error:
                self.result["conference_error"] = error.condition
                self.exit_status = 3
                self.done.set()
                return
            c = answer.xml.find(q(js.NS_FOCUS, "conference"))
            if c is not None and c.get("ready") == "true":
                self.focus_jid = c.get("focusjid")
                break
            await asyncio.sleep(delay)
            delay *= 2
        else:
            self.result["conference_error"] = "not ready"
            self.exit_status = 3
            self.done.set()
            return
        # MUC join.
        self.joined = asyncio.get_event_loop().create_future()
        pres = self.make_presence(pto=f"{self.room}/{self.endpoint}")
        x = sub(pres.xml, NS_MUC, "x")
        if self.args.room_password:
            sub(x, NS_MUC, "password", text=self.args.room_password)
        sub(pres.xml, NS_NICK, "nick", text=self.args.nick)
        sub(pres.xml, NS_CAPS, "c", {"hash": "sha-1", "node": "https://palabre.test/jitsi_peer", "ver": "standin"})
        ET.SubElement(pres.xml, "{jabber:client}SourceInfo").text = json.dumps(
            {f"{self.endpoint}-a0": {"muted": False}, f"{self.endpoint}-v0": {"muted": True}})
        ET.SubElement(pres.xml, "{jabber:client}jitsi_participant_codecList").text = "vp8"
        pres.send()
        ok = await asyncio.wait_for(self.joined, 15)
        if not ok:
            self.exit_status = 3
            self.done.set()
            return
        self.result["joined"] = True
        self.result["record_start"] = time.time()
        self.recorder.start = time.time()
        if self.args.restart_after:
            self.tasks.append(asyncio.ensure_future(self._watch_audio()))
        await asyncio.sleep(self.args.stay)
        await self.leave()
        self.done.set()

    def _on_presence(self, pres):
        frm = pres["from"]
        if str(frm.bare) != self.room or self.joined is None or self.joined.done():
            return
        if frm.resource != self.endpoint:
            return
        if pres["type"] == "error":
            err = pres.xml.find("{jabber:client}error")
            cond = None
            if err is not None:
                for child in err:
                    if child.tag.startswith("{urn:ietf:params:xml:ns:xmpp-stanzas}") and not child.tag.endswith("}text"):
                        cond = child.tag.split("}")[1]
            self.result["join_error"] = cond or "unknown"
            lobby = err.find("{http://jitsi.org/jitmeet}lobbyroom") if err is not None else None
            if lobby is not None:
                self.result["lobby_room"] = (lobby.text or "").strip()
            self.joined.set_result(False)
            return
        x = pres.xml.find(q(NS_MUC_USER, "x"))
        if x is not None and any(s.get("code") == "110" for s in x.findall(q(NS_MUC_USER, "status"))):
            self.joined.set_result(True)

    async def leave(self):
        """Ends the session, leaves the room."""
        if self.pc is not None and self.sid:
            iq = self.make_iq_set(ito=self.focus_occupant)
            j = sub(iq.xml, js.NS_JINGLE, "jingle", {"action": "session-terminate", "sid": self.sid})
            r = sub(j, js.NS_JINGLE, "reason")
            sub(r, js.NS_JINGLE, "success")
            try:
                await iq.send(timeout=5)
            except (slixmpp.exceptions.IqError, slixmpp.exceptions.IqTimeout):
                pass
        await self.collect_stats()
        await self.close_pc()
        pres = self.make_presence(pto=f"{self.room}/{self.endpoint}", ptype="unavailable")
        pres.send()
        await asyncio.sleep(0.3)

    async def _watch_audio(self):
        """--restart-after: requests a fresh session when remote audio stopped for that long."""
        while True:
            await asyncio.sleep(0.1)
            if self.sid is None or self.last_audio is None:
                continue
            if time.monotonic() - self.last_audio > self.args.restart_after:
                async with self.jingle_lock:
                    if self.sid is not None and self.last_audio is not None:
                        await self.request_restart()

    async def request_restart(self):
        """Ends the session asking for a new one, as lib-jitsi-meet's JingleSessionPC.terminate
        with requestRestart does after ICE failed."""
        log(f"no remote audio for {self.args.restart_after} s: asking the focus for a new session")
        iq = self.make_iq_set(ito=self.focus_occupant)
        j = sub(iq.xml, js.NS_JINGLE, "jingle", {"action": "session-terminate", "sid": self.sid})
        r = sub(j, js.NS_JINGLE, "reason")
        sub(r, js.NS_JINGLE, "connectivity-error")
        sub(r, js.NS_JINGLE, "text", text="ICE FAILED")
        sub(j, js.NS_FOCUS, "bridge-session", {"id": self.bridge_session or "", "restart": "true"})
        request = {"bridge_session": self.bridge_session, "answer": None}
        self.result["restart_requests"].append(request)
        self.sid = None
        self.last_audio = None
        await self.collect_stats()
        await self.close_pc()
        try:
            await iq.send(timeout=10)
            request["answer"] = "result"
        except slixmpp.exceptions.IqError as error:
            request["answer"] = error.condition
        except slixmpp.exceptions.IqTimeout:
            request["answer"] = "timeout"

    # -- Jingle

    def _on_mute(self, iq):
        if iq["type"] != "set":
            return
        iq.reply().send()
        if str(iq["from"]) == self.focus_occupant and (iq.xml[0].text or "").strip() == "true":
            self.result["muted_by_focus"] = True
            if self.mic is not None and self.pc is not None:
                for t in self.pc.getTransceivers():
                    if isinstance(t.sender.track, MicFeed):
                        t.sender.replaceTrack(None)

    def _on_jingle(self, iq):
        if iq["type"] == "set":
            asyncio.ensure_future(self._handle_jingle(iq))

    def _error(self, iq, condition, text, session=False):
        reply = iq.reply()
        reply.error()
        reply["error"]["type"] = "cancel"
        reply["error"]["condition"] = condition
        reply["error"]["text"] = text
        if session:
            reply["error"].xml.append(ET.Element(q(js.NS_JINGLE_ERRORS, "unknown-session")))
        reply.send()

    async def _handle_jingle(self, iq):
        jingle = iq.xml.find(q(js.NS_JINGLE, "jingle"))
        action = jingle.get("action")
        if str(iq["from"]) != self.focus_occupant:
            # A P2P offer from another participant: declined like lib-jitsi-meet does.
            iq.reply().send()
            return
        if action != "session-initiate" and jingle.get("sid") != self.sid:
            return self._error(iq, "item-not-found", "unknown session", True)
        try:
            contents = js.parse_contents(jingle)
        except ValueError as error:
            return self._error(iq, "bad-request", str(error))
        iq.reply().send()
        async with self.jingle_lock:
            try:
                if action == "session-initiate":
                    await self.on_initiate(jingle, contents)
                elif action == "source-add":
                    self.result["source_adds"] += 1
                    self.add_sources(contents)
                    await self.renegotiate()
                elif action == "source-remove":
                    self.result["source_removes"] += 1
                    self.remove_sources(contents)
                    await self.renegotiate()
                elif action == "session-terminate":
                    r = jingle.find(q(js.NS_JINGLE, "reason"))
                    reason = r[0].tag.split("}")[1] if r is not None and len(r) else None
                    self.result["session_terminates"].append(reason)
                    await self.collect_stats()
                    await self.close_pc()
                    self.sid = None
                elif action == "transport-info":
                    pass
            except Exception as error:
                log(f"handling {action} failed: {error}")
                self.result["error"] = f"handling {action} failed: {error}"

    def add_sources(self, contents):
        for c in contents:
            for s in c.sources:
                if s.owner == "jvb" or s.ssrc in self.remote:
                    continue
                s.media = c.name
                self.remote[s.ssrc] = s
            for semantics, ssrcs in c.groups:
                if semantics == "FID" and len(ssrcs) == 2 and ssrcs[1] in self.remote:
                    self.remote[ssrcs[1]].rtx_of = ssrcs[0]
        self.result["remote_sources"] = [dict(s.to_json(), media=s.media) for s in self.remote.values()]
        # New m-lines for sources that have none.
        placed = {ssrc for (_, _, ssrcs, _) in self.mlines for ssrc in ssrcs}
        for s in list(self.remote.values()):
            if s.ssrc in placed or getattr(s, "rtx_of", None):
                continue
            if s.media == "video" and not any(c.name == "video" for c in self.offer_contents):
                continue
            rtx = [r.ssrc for r in self.remote.values() if getattr(r, "rtx_of", None) == s.ssrc]
            self.mlines.append((f"{s.media[0]}{len(self.mlines)}", s.media, [s.ssrc] + rtx, True))

    def remove_sources(self, contents):
        gone = {s.ssrc for c in contents for s in c.sources}
        for ssrc in gone:
            self.remote.pop(ssrc, None)
        self.mlines = [(mid, media, ssrcs, active and not (set(ssrcs) & gone))
                       for (mid, media, ssrcs, active) in self.mlines]
        self.result["remote_sources"] = [dict(s.to_json(), media=s.media) for s in self.remote.values()]

    def offer_sdp(self):
        by_name = {c.name: c for c in self.offer_contents}
        transport = next(c.transport for c in self.offer_contents if c.transport)
        setup = transport.get("setup") or "actpass"
        lines = []
        mids = []
        for mid, media, ssrcs, active in self.mlines:
            mids.append(mid)
            if media == "data":
                lines += js.data_media_lines(mid, transport, setup, by_name["data"].sctp_port or 5000)
                continue
            c = by_name[media]
            if mid in ("audio", "video"):
                sources = [s for s in c.sources if s.owner == "jvb"]
                direction = "sendrecv"
            else:
                sources = [self.remote[s] for s in ssrcs if s in self.remote] if active else []
                direction = "sendonly" if active else "inactive"
            groups = [("FID", ssrcs)] if len(sources) == 2 else []
            lines += js.rtp_media_lines(media, mid, direction, c.payload_types, c.hdrexts, transport,
                                        setup, sources, groups)
        return js.join_sdp(js.session_lines(mids) + lines)

    async def on_initiate(self, jingle, contents):
        await self.close_pc()
        self.result["sessions"] += 1
        self.session_samples.append(0)
        self.last_audio = None
        self.sid = jingle.get("sid")
        bridge_session = jingle.find(q(js.NS_FOCUS, "bridge-session"))
        self.bridge_session = bridge_session.get("id") if bridge_session is not None else None
        self.result["bridge_sessions"].append(self.bridge_session)
        self.initiator = jingle.get("initiator")
        self.offer_contents = contents
        self.result["offered_contents"] = [c.name for c in contents]
        self.result["offer_sctp_port"] = next((c.sctp_port for c in contents if c.sctp_port), None)
        self.result["offer_web_sockets"] = {c.name: c.transport["web_sockets"] for c in contents
                                            if c.transport and c.transport["web_sockets"]}
        muted = jingle.find(q(js.NS_START_MUTED, "startmuted"))
        self.result["start_muted"] = None if muted is None else {
            media: muted.get(media) == "true" for media in ("audio", "video")}
        self.remote = {}
        self.mlines = [(c.name, c.name if c.name != "data" else "data", [], True) for c in contents
                       if c.name in ("audio", "video", "data")]
        self.add_sources(contents)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.on("track", self._on_track)
        await self.pc.setRemoteDescription(RTCSessionDescription(self.offer_sdp(), "offer"))
        if self.mic is None:
            self.mic = WavTrack(self.args.send_wav, self.args.send_delay)
        for t in self.pc.getTransceivers():
            if t.mid == "audio":
                if not self.result["muted_by_focus"]:
                    t.sender.replaceTrack(MicFeed(self.mic))
                t.direction = "sendrecv"
            elif t.mid == "video":
                t.direction = "recvonly"
        if any(c.name == "data" for c in contents):
            self.channel = self.pc.createDataChannel("JVB data channel", protocol="http://jitsi.org/protocols/colibri")
            self.channel.on("open", self._on_channel_open)
            self.channel.on("message", self._on_channel_message)
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        accept = self.session_accept(self.pc.localDescription.sdp)
        iq = self.make_iq_set(ito=self.focus_occupant)
        iq.append(accept)
        try:
            await iq.send(timeout=15)
        except slixmpp.exceptions.IqError as error:
            self.result["error"] = f"the focus refused our session-accept: {error.condition} {error.text}"

    def session_accept(self, sdp):
        _, media = js.parse_sdp(sdp)
        by_mid = {m.value("mid"): m for m in media}
        transport = js.transport_from_sdp(media[0])
        jingle = ET.Element(q(js.NS_JINGLE, "jingle"), {
            "action": "session-accept", "sid": self.sid, "initiator": self.initiator or "",
            "responder": str(self.boundjid)})
        group = sub(jingle, js.NS_GROUP, "group", {"semantics": "BUNDLE"})
        for c in self.offer_contents:
            sub(group, js.NS_GROUP, "content", {"name": c.name})
        msid_id = uuid.uuid4()
        for c in self.offer_contents:
            content = sub(jingle, js.NS_JINGLE, "content", {"creator": "responder", "name": c.name, "senders": "both"})
            m = by_mid.get(c.name)
            if c.name == "data":
                js.transport_element(content, transport, transport["setup"] or "active", sctp_port=5000,
                                     sctp_streams=1024, rtcp_mux=False)
                continue
            if c.name == "video" and self.args.audio_only:
                sub(content, js.NS_COLIBRI2, "initial-last-n", {"value": 0})
            desc = sub(content, js.NS_RTP, "description", {"media": c.media or c.name})
            accepted = set(m.fmts) if m is not None else set()
            for pt in c.payload_types:
                if str(pt.id) in accepted:
                    js.payload_type_element(desc, pt)
            if m is not None:
                for value in m.values("extmap"):
                    ext_id, _, uri = value.partition(" ")
                    sub(desc, js.NS_HDREXT, "rtp-hdrext", {"id": ext_id.split("/")[0], "uri": uri.strip()})
                if c.name == "audio":
                    ssrcs, _ = js.ssrcs_from_sdp(m)
                    for ssrc in ssrcs[:1]:
                        js.source_element(desc, js.Source(ssrc, f"{self.endpoint}-a0",
                                                          f"{self.endpoint}-audio-1 {msid_id}-1"))
            sub(desc, js.NS_RTP, "rtcp-mux")
            js.transport_element(content, transport, transport["setup"] or "active")
        return jingle

    async def renegotiate(self):
        if self.pc is None:
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(self.offer_sdp(), "offer"))
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)

    def _owner_of(self, mid):
        for m, media, ssrcs, _ in self.mlines:
            if m == mid and ssrcs and ssrcs[0] in self.remote:
                return self.remote[ssrcs[0]].owner or "?"
        return mid

    def _on_track(self, track):
        mid = None
        for t in self.pc.getTransceivers():
            if t.receiver.track is track:
                mid = t.mid
        if track.kind == "audio":
            self.tasks.append(asyncio.ensure_future(self._record(track, mid, len(self.session_samples) - 1)))
        else:
            self.tasks.append(asyncio.ensure_future(self._count_video(track)))

    async def _record(self, track, mid, session):
        """Writes a remote track into the mix. A frame is placed by its timestamp relative to the
        first frame of the track, so arrival jitter (a loaded machine) does not move it; the
        track is placed again at the arrival time when its timestamps jump (back, or ahead by
        more than 5 s)."""
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        anchor = None  # (position in the mix, pts in samples at 48 kHz)
        try:
            while True:
                frame = await track.recv()
                samples = to_mono_48k(frame, resampler)
                if not samples:
                    continue
                now_pos = max(0, int((time.time() - self.recorder.start) * RATE))
                pts = None
                if frame.pts is not None and frame.time_base is not None:
                    pts = int(frame.pts * frame.time_base * RATE)
                if pts is None:
                    pos = now_pos
                else:
                    if anchor is not None:
                        pos = anchor[0] + pts - anchor[1]
                    if anchor is None or pos < 0 or pos < now_pos - 5 * RATE or pos > now_pos + 5 * RATE:
                        anchor = (now_pos, pts)
                        pos = now_pos
                self.recorder.add(self._owner_of(mid), pos, samples)
                self.session_samples[session] += len(samples)
                if session == len(self.session_samples) - 1:
                    self.last_audio = time.monotonic()
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception as error:
            log(f"recording stopped: {error}")

    async def _count_video(self, track):
        try:
            while True:
                await track.recv()
                self.result["video_frames_received"] += 1
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception as error:
            log(f"video receiver stopped: {error}")

    def _on_channel_open(self):
        self.result["data_channel_open"] = True
        self.channel.send(json.dumps({"colibriClass": "ClientHello"}))
        if self.args.audio_only:
            self.channel.send(json.dumps({"colibriClass": "ReceiverVideoConstraints", "lastN": 0,
                                          "defaultConstraints": {"maxHeight": 0}}))
        else:
            self.channel.send(json.dumps({"colibriClass": "ReceiverVideoConstraints", "lastN": -1,
                                          "defaultConstraints": {"maxHeight": 180}}))

    def _on_channel_message(self, message):
        try:
            msg = json.loads(message)
        except (TypeError, ValueError):
            return
        if not isinstance(msg, dict):
            return
        kind = msg.get("colibriClass")
        self.result["bridge_messages"].append(kind)
        if kind == "ServerHello":
            self.result["server_hello"] = msg.get("version", "")
            # A broadcast to the other participants, relayed by the bridge.
            self.channel.send(json.dumps({"colibriClass": "EndpointMessage", "to": "",
                                          "msgPayload": {"type": "palabre-test-hello", "nick": self.args.nick}}))
        elif kind == "EndpointMessage":
            self.result["endpoint_messages"].append({"from": msg.get("from"), "payload": msg.get("msgPayload")})
        elif kind == "DominantSpeakerEndpointChangeEvent":
            self.result["dominant_speakers"].append(msg.get("dominantSpeakerEndpoint"))

    async def collect_stats(self):
        if self.pc is None:
            return
        for t in self.pc.getTransceivers():
            try:
                for s in (await t.receiver.getStats()).values():
                    if s.type == "inbound-rtp":
                        if t.kind == "audio":
                            self.stats_total["audio"] += s.packetsReceived
                        else:
                            self.stats_total["video"] += s.packetsReceived
                            self.stats_total["video_bytes"] += s.bytesReceived
            except Exception:
                continue

    async def close_pc(self):
        if self.pc is None:
            return
        pc, self.pc = self.pc, None
        await pc.close()

    def finish(self):
        r = self.result
        r["audio_packets_received"] = self.stats_total["audio"]
        r["video_packets_received"] = self.stats_total["video"]
        r["video_bytes_received"] = self.stats_total["video_bytes"]
        r["received_audio_seconds"] = round(sum(self.recorder.by_owner.values()) / RATE, 3)
        r["audio_by_endpoint"] = {k: round(v / RATE, 3) for k, v in self.recorder.by_owner.items()}
        r["recorded_seconds"] = round(len(self.recorder.mix) / RATE, 3)
        r["audio_by_session"] = [round(n / RATE, 3) for n in self.session_samples]
        if self.mic is not None:
            r["sent_audio_seconds"] = round(self.mic.sent_samples / self.mic.rate, 3)
        if self.args.record_wav:
            self.recorder.write(self.args.record_wav)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", default="127.0.0.1", help="Prosody's c2s address")
    p.add_argument("--port", type=int, required=True, help="Prosody's c2s port")
    p.add_argument("--domain", default="meet.test")
    p.add_argument("--guest-domain", default="guest.meet.test")
    p.add_argument("--muc", default="conference.meet.test")
    p.add_argument("--focus", default=None, help="target of the conference IQ (default focus.<domain>)")
    p.add_argument("--room", required=True)
    p.add_argument("--nick", default="Python peer", help="display name")
    p.add_argument("--login", default=None, metavar="NAME:PASSWORD", help="log in on the main domain")
    p.add_argument("--room-password", default=None)
    p.add_argument("--audio-only", action="store_true", help="lastN 0: ask for no video")
    p.add_argument("--no-video-feature", action="store_true", help="leave video out of disco#info")
    p.add_argument("--tcc", action="store_true",
                   help="advertise http://jitsi.org/tcc (aiortc sends no transport-cc feedback, though)")
    p.add_argument("--send-wav", default=None, help="16-bit mono WAV to send as the microphone")
    p.add_argument("--send-delay", type=float, default=1.0, help="seconds of silence before the WAV")
    p.add_argument("--record-wav", default=None, help="write what is heard here (48 kHz mono)")
    p.add_argument("--stay", type=float, default=10.0, help="seconds to stay in the room")
    p.add_argument("--restart-after", type=float, default=0.0, metavar="S",
                   help="ask for a new session (session-terminate with bridge-session restart) when "
                        "no remote audio arrived for S seconds (0: never)")
    p.add_argument("--conference-retries", type=int, default=5)
    p.add_argument("--machine-uid", default=None)
    p.add_argument("--timeout", type=float, default=120.0, help="watchdog, seconds")
    p.add_argument("--debug", action="store_true")
    args = p.parse_args()
    if args.focus is None:
        args.focus = f"focus.{args.domain}"
    if args.machine_uid is None:
        args.machine_uid = uuid.uuid4().hex
    return args


async def amain():
    peer = Peer(ARGS)
    peer.exit_status = 0
    peer.connect(ARGS.server, ARGS.port)
    try:
        await asyncio.wait_for(peer.done.wait(), ARGS.timeout)
    except asyncio.TimeoutError:
        peer.result["error"] = f"watchdog: not done after {ARGS.timeout} s"
        peer.exit_status = 4
        await peer.collect_stats()
    if not peer.result["joined"] and peer.exit_status == 0 and peer.result["error"]:
        peer.exit_status = 1
    await peer.close_pc()
    for t in peer.tasks:
        t.cancel()
    peer.finish()
    try:
        peer.disconnect()
    except Exception:
        pass
    print(json.dumps(peer.result, sort_keys=True), flush=True)
    return peer.exit_status


def main():
    global ARGS
    ARGS = parse_args()
    logging.basicConfig(level=logging.DEBUG if ARGS.debug else logging.ERROR, stream=sys.stderr)
    random.seed()
    status = asyncio.run(amain())
    sys.exit(status)


if __name__ == "__main__":
    main()
