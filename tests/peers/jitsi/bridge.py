"""The bridge of the Jitsi stand-in: one aiortc RTCPeerConnection per participant.

The bridge is the offerer (ICE controlling, DTLS `actpass`, so the client answers `active`), with
BUNDLE, rtcp-mux and an SCTP association on port 5000 for the client's in-band `JVB data channel`.
Each participant's connection has, in aiortc's SDP order:

* one `audio` transceiver (sendrecv) that receives the participant's microphone; its sender never
  sends RTP, its SSRC is announced as the bridge's own `jvb-a0` (RTCP comes from it, as with JVB);
* AUDIO_SLOTS more `audio` transceivers (sendonly). A slot is given to another participant when
  that participant's audio is known: what the other participant says is decoded and re-encoded
  by aiortc into the slot, and the slot's SSRC is announced to this participant as the other's
  source (`<name>-a0`, owner = the other's endpoint id);
* with video: one `video` transceiver (sendrecv, SSRC announced as `jvb-v0`, never sends) and one
  sendonly `video` transceiver for the camera bot's test pattern (announced as the bot's source);
* the data channel section.

With --colibri-ws (colibri_ws.py) each endpoint can also open a colibri WebSocket; while one is
open it is the endpoint's bridge channel for everything the bridge sends.

The break-media command (Bridge.break_media) drops an endpoint's connection silently, as if the
bridge's network had vanished; its client may then ask the focus for a new session.

aioice skips loopback addresses when it gathers host candidates; this module replaces its address
list with 127.0.0.1 only, so every candidate the bridge offers is on loopback.
"""

import array
import asyncio
import fractions
import json
import logging
import secrets
import time

import aioice.ice
import av
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.sdp import candidate_from_sdp

import jingle_sdp as js

# Only loopback host candidates (aioice leaves 127.0.0.1 out on its own).
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

AUDIO_SLOTS = 4
BOT_ENDPOINT = "camerabot"
BRIDGE_VERSION = "palabre-standin-1"
VIDEO_CLOCK = 90000
LOG = logging.getLogger("bridge")


class TestPatternTrack(MediaStreamTrack):
    """A small moving test pattern (the camera bot), 15 frames a second."""

    kind = "video"

    def __init__(self, width=256, height=128, fps=15):
        super().__init__()
        self.width = width
        self.height = height
        self.fps = fps
        self.count = 0
        self.start = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        due = self.start + self.count / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        shift = self.count * 4
        for index, plane in enumerate(frame.planes):
            rows = self.height if index == 0 else self.height // 2
            line = plane.line_size
            if index == 0:
                row = bytes(((x + shift) * 2) & 0xFF for x in range(line))
                data = b"".join(row if (y // 16) % 2 == 0 else bytes(255 - b for b in row)
                                for y in range(rows))
            else:
                data = bytes([(96 + 64 * index + self.count) & 0xFF]) * (line * rows)
            plane.update(data)
        frame.pts = self.count * (VIDEO_CLOCK // self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.count += 1
        return frame


class SlotTrack(MediaStreamTrack):
    """What an audio slot sends: another participant's decoded audio, in 20 ms frames.

    A sender may use longer packets (40 or 60 ms, within the offer's maxptime). aiortc's Opus
    encoder cuts a longer frame into several 20 ms packets but its sender stamps them all with
    the frame's one RTP timestamp, so a receiver sees duplicates and half the audio is lost. A
    real bridge forwards the sender's packets untouched; feeding the encoder 20 ms at a time
    gives the same audio with correct timestamps.

    The track outlives its source. aiortc's RTP sender stops for good once its track ends, so
    a slot fed by a track that ended (its owner's connection closed) could never be fed again.
    Instead, when the source ends this track sends nothing until the slot lets go of it
    (stop(), after the slot was freed or fed anew); a recv() pending at that moment returns one
    frame of silence, after which the sender reads its new track, or none."""

    kind = "audio"
    SAMPLES = 960

    def __init__(self, source):
        super().__init__()
        self.source = source  # None once it has ended
        self.pending = []
        self.next_pts = 0
        self.reading = None  # the source's recv() in progress
        self.released = asyncio.get_event_loop().create_future()

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if not self.pending:
            frame = await self._next_source_frame()
            if frame is None:
                return self._silence()
            if frame.samples <= self.SAMPLES or frame.format.is_planar:
                self._note_pts(frame)
                return frame
            channels = len(frame.layout.channels)
            width = frame.format.bytes * channels
            data = bytes(frame.planes[0])[: frame.samples * width]
            for start in range(0, frame.samples, self.SAMPLES):
                count = min(self.SAMPLES, frame.samples - start)
                piece = av.AudioFrame(format=frame.format.name, layout=frame.layout.name,
                                      samples=count)
                piece.planes[0].update(data[start * width:(start + count) * width]
                                       + bytes(piece.planes[0].buffer_size - count * width))
                piece.sample_rate = frame.sample_rate
                piece.time_base = frame.time_base
                piece.pts = None if frame.pts is None else frame.pts + start
                self.pending.append(piece)
        piece = self.pending.pop(0)
        self._note_pts(piece)
        return piece

    async def _next_source_frame(self):
        """The source's next frame, or None once the slot has let go of this track (after the
        source ended, only that is waited for)."""
        while not self.released.done():
            if self.source is not None and self.reading is None:
                self.reading = asyncio.ensure_future(self.source.recv())
            waiting = {self.released} if self.reading is None else {self.released, self.reading}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if self.reading is None or not self.reading.done():
                continue
            reading, self.reading = self.reading, None
            try:
                return reading.result()
            except MediaStreamError:
                self.source = None  # the owner's connection has ended
        return None

    def _note_pts(self, frame):
        if frame.pts is not None:
            self.next_pts = frame.pts + frame.samples

    def _silence(self):
        """20 ms of silence, stamped right after the last frame sent."""
        frame = av.AudioFrame(format="s16", layout="stereo", samples=self.SAMPLES)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate = 48000
        frame.time_base = fractions.Fraction(1, 48000)
        frame.pts = self.next_pts
        return frame

    def stop(self):
        super().stop()
        if not self.released.done():
            self.released.set_result(None)
        if self.reading is not None:
            self.reading.cancel()
            self.reading = None
        if self.source is not None:
            self.source.stop()
            self.source = None


def _rms(frame):
    samples = array.array("h")
    samples.frombytes(bytes(frame.planes[0])[: frame.samples * 2 * len(frame.layout.channels)])
    if not samples:
        return 0.0
    step = 4
    total = 0
    count = 0
    for i in range(0, len(samples), step):
        v = samples[i]
        total += v * v
        count += 1
    return (total / count) ** 0.5


class Endpoint:
    """The bridge side of one participant's session."""

    def __init__(self, bridge, endpoint_id, video, data):
        self.bridge = bridge
        self.id = endpoint_id
        self.video = video
        self.data = data
        self.pc = RTCPeerConnection(RTCConfiguration(
            iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.audio_main = self.pc.addTransceiver("audio", direction="sendrecv")
        self.slots = [self.pc.addTransceiver("audio", direction="sendonly") for _ in range(AUDIO_SLOTS)]
        self.slot_owner = [None] * AUDIO_SLOTS
        self.video_main = self.pc.addTransceiver("video", direction="sendrecv") if video else None
        self.video_bot = self.pc.addTransceiver("video", direction="sendonly") if video else None
        if data:
            # aiortc adds the SCTP section only for a channel of its own. JVB opens none, so this one
            # is pre-negotiated (no DCEP message is ever sent for it) on an odd stream id, which a
            # DTLS client never picks for its own channels. (aiortc's alwaysNegotiateDataChannels
            # would do it too, but then BUNDLE closes the shared ICE transport.)
            self.pc.createDataChannel("bridge-placeholder", negotiated=True, id=1)
        self.offer = None  # parsed media sections of our offer
        self.transport = None
        self.ssrc = {}
        self.audio_track = None  # what the participant sends us
        self.channel = None
        self.ws_password = secrets.token_hex(13)  # the colibri WebSocket's pwd, not ICE's
        self.websocket = None  # a colibri_ws.EndpointSocket while one is open
        self.last_n = -1
        self.max_height = 180
        self.video_enabled = False
        self.level = 0.0
        self.closed = False
        self.tasks = []
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_state)

    # -- offer / answer

    async def prepare(self):
        """Creates the offer (gathers candidates) and reads the parameters the Jingle needs."""
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        _, media = js.parse_sdp(self.pc.localDescription.sdp)
        self.offer = media
        self.transport = js.transport_from_sdp(media[0])
        if not self.transport["candidates"]:
            raise RuntimeError("the bridge gathered no ICE candidate on 127.0.0.1")

        def first(transceiver):
            for m in media:
                if m.value("mid") == transceiver.mid:
                    ssrcs, rtx = js.ssrcs_from_sdp(m)
                    return ssrcs[0], rtx.get(ssrcs[0])
            raise RuntimeError(f"no media section for mid {transceiver.mid}")

        self.ssrc["jvb-a0"] = first(self.audio_main)[0]
        self.ssrc["slots"] = [first(t)[0] for t in self.slots]
        if self.video:
            self.ssrc["jvb-v0"] = first(self.video_main)[0]
            self.ssrc["bot"] = first(self.video_bot)
        for m in media:
            if m.kind == "application":
                self.ssrc["data_mid"] = m.value("mid")

    async def accept(self, contents):
        """Turns the participant's session-accept into the answer SDP and applies it (only
        checks it when the connection was dropped by break-media: the focus does not know)."""
        by_name = {c.name: c for c in contents}
        audio = by_name.get("audio")
        if audio is None or audio.transport is None:
            raise ValueError("the session-accept has no audio content with a transport")
        transport = audio.transport
        for c in contents:
            if c.transport and c.transport.get("ufrag") and not transport.get("ufrag"):
                transport = c.transport
        if not transport.get("ufrag") or not transport.get("pwd") or not transport.get("fingerprint"):
            raise ValueError("the session-accept's transport lacks ICE credentials or a fingerprint")
        setup = transport.get("setup") or "active"
        if setup not in ("active", "passive"):
            raise ValueError(f"the session-accept's DTLS setup is {setup!r}, not active or passive")
        video = by_name.get("video")
        if video is not None and video.initial_last_n is not None:
            self.last_n = video.initial_last_n
        if video is None:
            self.last_n = 0
        mids = []
        lines = []
        for m in self.offer:
            mid = m.value("mid")
            mids.append(mid)
            if m.kind == "application":
                lines += js.data_media_lines(mid, transport, setup)
                continue
            c = audio if m.kind == "audio" else video
            main = mid in (self.audio_main.mid, self.video_main.mid if self.video_main else None)
            if c is None:
                pts, exts, sources, groups = _default_video_pts(), [], [], []
            else:
                pts, exts = c.payload_types, c.hdrexts
                sources = c.sources if main else []
                groups = [g for g in c.groups if main]
            direction = ("sendrecv" if sources else "recvonly") if main else "recvonly"
            lines += js.rtp_media_lines(m.kind, mid, direction, pts, exts, transport, setup,
                                        sources, groups)
        sdp = js.join_sdp(js.session_lines(mids) + lines)
        LOG.debug("answer SDP for %s:\n%s", self.id, sdp)
        if self.closed:
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        self.update_video()

    async def add_candidates(self, candidates):
        """Adds candidates from a transport-info (none once the connection is closed)."""
        if self.closed:
            return
        for c in candidates:
            cand = candidate_from_sdp(js.candidate_to_sdp(c))
            cand.sdpMid = self.audio_main.mid
            await self.pc.addIceCandidate(cand)

    # -- media

    def _on_track(self, track):
        if track.kind == "audio":
            self.audio_track = track
            self.bridge.audio_track_ready(self)
            self.tasks.append(asyncio.ensure_future(self._meter(self.bridge.relay.subscribe(track, buffered=False))))
        else:
            self.tasks.append(asyncio.ensure_future(self._drain(track)))

    async def _meter(self, track):
        try:
            while True:
                frame = await track.recv()
                self.level = 0.8 * self.level + 0.2 * _rms(frame)
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception as error:  # a decoder error must not end the bridge
            LOG.warning("audio meter of %s stopped: %s", self.id, error)

    async def _drain(self, track):
        """Decodes the participant's video (aiortc's own VP8 depacketizer and libvpx) and says how
        many pictures came, and their size: after the 1st, the 30th, then every 100th."""
        frames = 0
        try:
            while True:
                frame = await track.recv()
                frames += 1
                if frames in (1, 30) or frames % 100 == 0:
                    self.bridge.emit({"event": "video-decoded", "endpoint": self.id, "frames": frames,
                                      "width": frame.width, "height": frame.height})
        except (MediaStreamError, asyncio.CancelledError):
            pass
        except Exception as error:
            LOG.warning("video drain of %s stopped: %s", self.id, error)

    def free_slot_count(self):
        """How many audio slots are still free."""
        return self.slot_owner.count(None)

    def slot_for(self, owner):
        """The index of the slot given to `owner`, or None."""
        return self.slot_owner.index(owner) if owner in self.slot_owner else None

    def assign_slot(self, owner):
        """Gives a free audio slot to endpoint `owner`; returns its SSRC or None when full."""
        if owner in self.slot_owner:
            return self.ssrc["slots"][self.slot_owner.index(owner)]
        if None not in self.slot_owner:
            return None
        index = self.slot_owner.index(None)
        self.slot_owner[index] = owner
        return self.ssrc["slots"][index]

    def feed_slot(self, owner, track):
        """Starts relaying `track` (owner's decoded audio) into owner's slot."""
        index = self.slot_for(owner)
        if index is not None and track is not None:
            # Buffered: on a loaded machine the encoder may fall behind for a moment, and an
            # unbuffered relay would then drop audio frames.
            relayed = self.bridge.relay.subscribe(track, buffered=True)
            self._replace_slot_track(index, SlotTrack(relayed))

    def free_slot(self, owner):
        """Stops and frees owner's slot; returns its SSRC or None."""
        index = self.slot_for(owner)
        if index is None:
            return None
        self._replace_slot_track(index, None)
        self.slot_owner[index] = None
        return self.ssrc["slots"][index]

    def _replace_slot_track(self, index, track):
        """Gives slot `index` a new track (or none) and lets go of the old one: replaced first, so
        that the sender, woken by the old track's stop, reads the new one."""
        sender = self.slots[index].sender
        old = sender.track
        sender.replaceTrack(track)
        if old is not None:
            old.stop()

    def wants_video(self):
        """Whether this participant asked for video (lastN and maxHeight)."""
        return self.video and self.last_n != 0 and self.max_height != 0

    def update_video(self):
        """Attaches or detaches the camera bot's track as the constraints say."""
        if not self.video or self.closed:
            return
        want = self.bridge.video_bot and self.wants_video()
        if want and not self.video_enabled:
            self.video_bot.sender.replaceTrack(TestPatternTrack())
            self.video_enabled = True
        elif not want and self.video_enabled:
            self.video_bot.sender.replaceTrack(None)
            self.video_enabled = False

    # -- data channel

    def _on_datachannel(self, channel):
        LOG.debug("%s opened data channel %r", self.id, channel.label)
        if channel.label != "JVB data channel":
            self.bridge.emit({"event": "data-channel-ignored", "endpoint": self.id, "label": channel.label})
            return
        self.channel = channel
        self.bridge.emit({"event": "data-channel-open", "endpoint": self.id,
                          "protocol": channel.protocol})

        @channel.on("message")
        def on_message(message):
            self.on_bridge_message(message, "sctp")

    def on_bridge_message(self, message, transport):
        """Handles a message from the client on the bridge channel `transport` ("sctp" for the
        data channel, "websocket" for the colibri WebSocket); both are handled alike."""
        if isinstance(message, bytes):
            self.bridge.emit({"event": "bridge-message-binary", "endpoint": self.id, "bytes": len(message),
                              "transport": transport})
            return
        try:
            msg = json.loads(message)
        except ValueError:
            self.bridge.emit({"event": "bridge-message-invalid", "endpoint": self.id, "text": message[:200],
                              "transport": transport})
            return
        self.bridge.emit({"event": "bridge-message", "endpoint": self.id, "message": msg,
                          "transport": transport})
        if not isinstance(msg, dict):
            return
        kind = msg.get("colibriClass")
        if kind == "ClientHello":
            self.send({"colibriClass": "ServerHello", "version": BRIDGE_VERSION})
        elif kind == "ReceiverVideoConstraints":
            if isinstance(msg.get("lastN"), int):
                self.last_n = msg["lastN"]
            default = msg.get("defaultConstraints")
            if isinstance(default, dict) and isinstance(default.get("maxHeight"), int):
                self.max_height = default["maxHeight"]
            self.update_video()
        elif kind == "LastNChangedEvent" and isinstance(msg.get("lastN"), int):
            self.last_n = msg["lastN"]
            self.update_video()
        elif kind == "EndpointMessage":
            self.bridge.relay_endpoint_message(self, msg)

    def send(self, msg):
        """Sends a JSON message over the bridge channel: the colibri WebSocket when one is open,
        else the data channel if it is open. Returns whether a channel took it."""
        if self.websocket is not None:
            self.websocket.send(json.dumps(msg))
            return True
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(json.dumps(msg))
            return True
        return False

    # -- colibri WebSocket

    @property
    def web_socket_url(self):
        """The URL of this endpoint's colibri WebSocket, or None without --colibri-ws."""
        server = self.bridge.colibri_ws
        if server is None:
            return None
        return server.url(self.bridge.conference_ids[self.room], self.id, self.ws_password)

    def websocket_opened(self, socket):
        """A colibri WebSocket of this endpoint passed the handshake: it becomes the bridge
        channel (replacing an older one, which is closed) and gets ServerHello at once."""
        old, self.websocket = self.websocket, socket
        if old is not None:
            self.tasks.append(asyncio.ensure_future(
                old.close(1000, "replaced by a newer colibri WebSocket")))
        self.bridge.emit({"event": "colibri-ws-open", "endpoint": self.id})
        self.send({"colibriClass": "ServerHello", "version": BRIDGE_VERSION})

    def websocket_closed(self, socket, code):
        """A colibri WebSocket of this endpoint has closed (`code`: the close code, or None)."""
        if self.websocket is socket:
            self.websocket = None
        self.bridge.emit({"event": "colibri-ws-closed", "endpoint": self.id, "code": code})

    def _on_state(self):
        self.bridge.emit({"event": "connection-state", "endpoint": self.id,
                          "state": self.pc.connectionState})

    # -- stats and end

    async def stats(self):
        """RTP packets and bytes received from and sent to this participant, per media."""
        out = {"audio": {"packets_received": 0, "bytes_received": 0, "packets_sent": 0, "bytes_sent": 0},
               "video": {"packets_received": 0, "bytes_received": 0, "packets_sent": 0, "bytes_sent": 0}}
        if self.closed:
            return out
        for t in self.pc.getTransceivers():
            kind = t.kind
            try:
                for s in (await t.receiver.getStats()).values():
                    if s.type == "inbound-rtp":
                        out[kind]["packets_received"] += s.packetsReceived
                        out[kind]["bytes_received"] += s.bytesReceived
                for s in (await t.sender.getStats()).values():
                    if s.type == "outbound-rtp":
                        out[kind]["packets_sent"] += s.packetsSent
                        out[kind]["bytes_sent"] += s.bytesSent
            except Exception:  # a transceiver that never started has no statistics
                continue
        return out

    async def close(self, silently=False):
        """Ends the connection. `silently`: as if the bridge's network had vanished, nothing more
        reaches the client: ICE is stopped first, so that neither RTCP BYE, SCTP ABORT nor DTLS
        close_notify can go out, and the colibri WebSocket is dropped without a closing
        handshake. Otherwise the colibri WebSocket is closed with 1001 "endpoint expired"."""
        if self.closed:
            return
        self.closed = True
        for t in self.tasks:
            t.cancel()
        if self.websocket is not None:
            if silently:
                self.websocket.abort()
            else:
                await self.websocket.close(1001, "endpoint expired")
        if silently:
            # With BUNDLE every transceiver and the SCTP association share one ICE transport.
            dtls = {t.receiver.transport for t in self.pc.getTransceivers()}
            if self.pc.sctp is not None:
                dtls.add(self.pc.sctp.transport)
            for transport in dtls - {None}:
                await transport.transport.stop()
        await self.pc.close()


def _default_video_pts():
    pt = js.PayloadType(100, "VP8", 90000)
    return [pt]


class Bridge:
    """All endpoints of all rooms, the audio relay and the dominant speaker detection."""

    def __init__(self, emit, video_bot=False):
        self.emit = emit
        self.video_bot = video_bot
        self.relay = MediaRelay()
        self.rooms = {}  # room -> {endpoint id: Endpoint}
        self.conference_ids = {}  # room -> the conference id in colibri WebSocket URLs
        self.colibri_ws = None  # a colibri_ws.ColibriWebSocketServer with --colibri-ws
        self.on_audio_ready = None  # callback(room, endpoint)
        self.dominant = {}  # room -> endpoint id
        self.previous = {}  # room -> [endpoint ids]
        self.task = asyncio.ensure_future(self._speaker_loop())

    def endpoint(self, room, endpoint_id):
        """The endpoint of `endpoint_id` in `room`, or None."""
        return self.rooms.get(room, {}).get(endpoint_id)

    def endpoint_in_conference(self, conference_id, endpoint_id):
        """The endpoint of `endpoint_id` in the room whose conference id is `conference_id`, or None."""
        for room, known in self.conference_ids.items():
            if known == conference_id:
                return self.endpoint(room, endpoint_id)
        return None

    async def serve_colibri_ws(self):
        """Starts the colibri WebSocket server (--colibri-ws)."""
        # Imported here: without --colibri-ws the stand-in does not need the websockets package.
        from colibri_ws import ColibriWebSocketServer
        self.colibri_ws = ColibriWebSocketServer(self)
        await self.colibri_ws.start()

    async def create(self, room, endpoint_id, video, data):
        """A new connection for a participant, with its offer prepared."""
        old = self.endpoint(room, endpoint_id)
        if old is not None:
            await self.remove(room, endpoint_id)
        ep = Endpoint(self, endpoint_id, video, data)
        ep.room = room
        await ep.prepare()
        self.rooms.setdefault(room, {})[endpoint_id] = ep
        self.conference_ids.setdefault(room, secrets.token_hex(8))
        return ep

    async def remove(self, room, endpoint_id):
        """Closes a participant's connection."""
        ep = self._forget(room, endpoint_id)
        if ep is not None:
            await ep.close()

    async def break_media(self, endpoint_id):
        """Drops an endpoint's connection silently, as a bridge whose network vanished would
        (the break-media command): nothing is sent to the client, and the focus is not told.
        Relaying ends with the connection: the audio of the others no longer reaches it, and
        the slots that carried its audio to the others fall silent (they stay announced until
        the focus ends its session). Raises ValueError when no room has this endpoint."""
        room = next((r for r, eps in self.rooms.items() if endpoint_id in eps), None)
        if room is None:
            raise ValueError(f"the bridge has no media connection for endpoint {endpoint_id!r}")
        ep = self._forget(room, endpoint_id)
        await ep.close(silently=True)
        self.emit({"event": "media-broken", "room": room, "endpoint": endpoint_id})

    def _forget(self, room, endpoint_id):
        """Takes an endpoint out of its room; returns it, or None when it was not there."""
        ep = self.rooms.get(room, {}).pop(endpoint_id, None)
        if not self.rooms.get(room):
            # Like a JVB conference, the id lives as long as the room has endpoints.
            self.conference_ids.pop(room, None)
        return ep

    def audio_track_ready(self, ep):
        """Called when a participant's audio track exists: feed it to every slot given to it."""
        for other in self.rooms.get(ep.room, {}).values():
            if other is not ep:
                other.feed_slot(ep.id, ep.audio_track)
        if self.on_audio_ready:
            self.on_audio_ready(ep.room, ep.id)

    def relay_endpoint_message(self, sender, msg):
        """Relays an EndpointMessage to its addressee, or to everyone else when `to` is empty."""
        to = msg.get("to") or ""
        out = dict(msg)
        out["from"] = sender.id
        for ep in self.rooms.get(sender.room, {}).values():
            if ep is not sender and (not to or ep.id == to):
                ep.send(out)

    async def _speaker_loop(self):
        while True:
            await asyncio.sleep(0.3)
            for room, eps in list(self.rooms.items()):
                loud = [(ep.level, ep.id) for ep in eps.values() if ep.level > 300.0]
                if not loud:
                    continue
                level, speaker = max(loud)
                current = eps.get(self.dominant.get(room))
                if speaker == self.dominant.get(room):
                    continue
                if current is not None and level < 1.5 * current.level:
                    continue  # hysteresis: a new speaker must be clearly louder
                previous = self.previous.setdefault(room, [])
                if self.dominant.get(room):
                    previous.insert(0, self.dominant[room])
                del previous[4:]
                self.dominant[room] = speaker
                msg = {"colibriClass": "DominantSpeakerEndpointChangeEvent",
                       "dominantSpeakerEndpoint": speaker,
                       "previousSpeakers": [p for p in previous if p != speaker],
                       "silence": False}
                for ep in eps.values():
                    ep.send(msg)
                self.emit({"event": "dominant-speaker", "room": room, "endpoint": speaker})

    async def close(self):
        """Closes every connection (and the colibri WebSocket server)."""
        self.task.cancel()
        for room in list(self.rooms):
            for endpoint_id in list(self.rooms[room]):
                await self.remove(room, endpoint_id)
        if self.colibri_ws is not None:
            await self.colibri_ws.close()
