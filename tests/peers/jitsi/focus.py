"""The focus of the Jitsi stand-in: what jicofo does, as far as a client can see.

A slixmpp client logged in as focus@auth.<domain>/focus (a global Prosody admin, so it alone may
create rooms) plus a slixmpp external component focus.<domain> (the default `hosts.focus` target):
both answer the conference IQ. The focus creates and configures the room before it answers
`ready='true'`, joins it with nick `focus`, asks every new occupant for its disco#info features,
and once two participants are in the room sends each a session-initiate in jicofo's form (brief
sections 3-4, 8.3), driving the aiortc bridge of bridge.py. Options of jitsi_env.py shape the
offer: --start-muted ROOM adds jicofo's <startmuted audio='true' video='true'/> for that room,
--colibri-ws puts the endpoint's colibri <web-socket> URL into every transport, --no-sctp leaves
the data content out.

A participant whose media connection failed may ask for a fresh session, as lib-jitsi-meet does:
a session-terminate carrying <bridge-session xmlns='http://jitsi.org/protocol/focus' id='…'
restart='true'/>. Like jicofo, the focus ends that session and invites the participant again, at
most --restart-limit times (default 5) per participant in any minute.
"""

import asyncio
import collections
import logging
import time
import uuid
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import jingle_sdp as js
from bridge import BOT_ENDPOINT
from jingle_sdp import q, sub

NS_MUC = "http://jabber.org/protocol/muc"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner"
NS_DATA = "jabber:x:data"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"
NS_NICK = "http://jabber.org/protocol/nick"
FEATURE_AUDIO = "urn:xmpp:jingle:apps:rtp:audio"
FEATURE_VIDEO = "urn:xmpp:jingle:apps:rtp:video"
FEATURE_SCTP = "urn:xmpp:jingle:transports:dtls-sctp:1"
FEATURE_RTX = "urn:ietf:rfc:4588"
FEATURE_TCC = "http://jitsi.org/tcc"
# jicofo's assumption when an occupant does not answer disco#info.
DEFAULT_FEATURES = {FEATURE_AUDIO, FEATURE_VIDEO, FEATURE_SCTP}
# jicofo's restart-request-rate-limits interval: --restart-limit restarts per participant in it.
RESTART_WINDOW = 60.0
LOG = logging.getLogger("focus")


class Participant:
    """One occupant of a room other than the focus."""

    def __init__(self, room, nick, real_jid):
        self.room = room
        self.id = nick
        self.real_jid = real_jid
        self.features = None
        self.sid = None
        self.state = None  # None, "pending", "active"
        self.ep = None
        self.sources = []  # audio sources from its session-accept
        self.other_sources = []  # what it added later with source-add
        self.lone_timer = None
        self.bridge_session = None  # the id in its current offer's <bridge-session>
        self.restarts = collections.deque()  # monotonic times of the restarts granted to it

    @property
    def occupant_jid(self):
        """room@conference/nick."""
        return f"{self.room}/{self.id}"


class Room:
    """A conference the focus created."""

    def __init__(self, jid):
        self.jid = jid
        self.participants = {}
        loop = asyncio.get_event_loop()
        self.ready = loop.create_future()
        self.joined = loop.create_future()
        self.bot_joined = loop.create_future()


def _conference_properties(parent, auth):
    for name, value in (("authentication", "true" if auth else "false"),
                        ("externalAuth", "false"), ("sipGatewayEnabled", "false")):
        sub(parent, js.NS_FOCUS, "property", {"name": name, "value": value})


def opus_payload_types(features):
    """jicofo's 2026 audio payload types."""
    opus = js.PayloadType(111, "opus", 48000, "2")
    opus.params = [("minptime", "10"), ("useinbandfec", "1")]
    if FEATURE_TCC in features:
        opus.rtcp_fb = [("transport-cc", None)]
    return [opus, js.PayloadType(126, "telephone-event", 8000)]


def video_payload_types(features):
    """jicofo's 2026 video payload types (AV1, VP8, H264, VP9, each with RTX when supported)."""
    fb = [("ccm", "fir"), ("nack", None), ("nack", "pli")]
    if FEATURE_TCC in features:
        fb.append(("transport-cc", None))
    pts = []
    for pt_id, name, rtx in ((41, "AV1", 42), (100, "VP8", 96), (107, "H264", 99), (101, "VP9", 97)):
        pt = js.PayloadType(pt_id, name, 90000)
        pt.rtcp_fb = list(fb)
        if name == "H264":
            pt.params = [("profile-level-id", "42e01f;level-asymmetry-allowed=1;packetization-mode=1;")]
        pts.append(pt)
    if FEATURE_RTX in features:
        for pt_id, name, rtx in ((41, "AV1", 42), (100, "VP8", 96), (107, "H264", 99), (101, "VP9", 97)):
            r = js.PayloadType(rtx, "rtx", 90000)
            r.params = [("apt", str(pt_id))]
            if name != "H264":
                r.rtcp_fb = [("ccm", "fir"), ("nack", None), ("nack", "pli")]
            pts.append(r)
    return pts


class Focus(slixmpp.ClientXMPP):
    """The focus client (jicofo's XMPP side)."""

    def __init__(self, env, jid, password):
        super().__init__(jid, password)
        self.env = env
        self.rooms = {}
        self.conference_requests = 0
        self.bot = None  # a CameraBot when the camera bot is on
        self.plugin["feature_mechanisms"].unencrypted_plain = True
        self.plugin["feature_mechanisms"].unencrypted_scram = True
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.connected_event = asyncio.Event()
        self.add_event_handler("session_start", self._on_session_start)
        self.register_handler(Callback("conference", MatchXPath(
            f"{{jabber:client}}iq/{{{js.NS_FOCUS}}}conference"), self._on_conference_iq))
        self.register_handler(Callback("jingle", MatchXPath(
            f"{{jabber:client}}iq/{{{js.NS_JINGLE}}}jingle"), self._on_jingle_iq))
        self.register_handler(Callback("muc presence", MatchXPath("{jabber:client}presence"),
                                       self._on_presence))
        env.bridge.on_audio_ready = lambda room, endpoint: None

    async def _on_session_start(self, _event):
        for feature in ("http://jitsi.org/protocol/focus", "urn:xmpp:jingle:1"):
            self.plugin["xep_0030"].add_feature(feature)
        self.send_presence()
        self.connected_event.set()

    # -- conference IQ

    def _on_conference_iq(self, iq):
        if iq["type"] == "set":
            asyncio.ensure_future(self.handle_conference(iq, self))

    async def handle_conference(self, iq, via):
        """Answers a conference IQ (from the client or from the focus component `via`)."""
        conf = iq.xml.find(q(js.NS_FOCUS, "conference"))
        room_jid = (conf.get("room") or "").strip().lower() if conf is not None else ""
        env = self.env
        self.conference_requests += 1
        sender = iq["from"]
        env.emit({"event": "conference-request", "room": room_jid, "from": str(sender),
                  "machine_uid": conf.get("machine-uid") if conf is not None else None})
        node, _, domain = room_jid.partition("@")
        if not node or domain != env.muc:
            return self._iq_error(iq, "modify", "bad-request",
                                  f"the room must be a JID in {env.muc}, got {room_jid!r}")
        if env.auth_required and room_jid not in self.rooms and sender.domain == env.guest_domain:
            env.emit({"event": "conference-refused", "room": room_jid, "reason": "not-authorized"})
            return self._iq_error(iq, "auth", "not-authorized", "not authorized user domain")
        reply = iq.reply()
        answer = ET.Element(q(js.NS_FOCUS, "conference"),
                            {"room": room_jid, "focusjid": str(self.boundjid.bare)})
        if self.conference_requests <= env.not_ready:
            answer.set("ready", "false")
            _conference_properties(answer, env.auth_required)
            reply.append(answer)
            reply.send()
            env.emit({"event": "conference-answer", "room": room_jid, "ready": False})
            return
        try:
            await self.ensure_room(room_jid)
        except Exception as error:
            LOG.exception("room creation failed")
            return self._iq_error(iq, "wait", "internal-server-error", f"could not create the room: {error}")
        answer.set("ready", "true")
        _conference_properties(answer, env.auth_required)
        reply.append(answer)
        reply.send()
        env.emit({"event": "conference-answer", "room": room_jid, "ready": True})

    def _iq_error(self, iq, etype, condition, text, extra=None):
        reply = iq.reply()
        reply.error()
        reply["error"]["type"] = etype
        reply["error"]["condition"] = condition
        reply["error"]["text"] = text
        if extra is not None:
            reply["error"].xml.append(extra)
        reply.send()

    async def ensure_room(self, room_jid):
        """Creates, joins and configures the room once."""
        room = self.rooms.get(room_jid)
        if room is not None:
            await room.ready
            return room
        room = Room(room_jid)
        self.rooms[room_jid] = room
        try:
            pres = self.make_presence(pto=f"{room_jid}/focus")
            sub(pres.xml, NS_MUC, "x")
            pres.send()
            await asyncio.wait_for(asyncio.shield(room.joined), 10)
            await self._configure(room_jid)
            node = room_jid.split("@", 1)[0]
            if self.bot is not None and node not in self.env.lobby:
                self.bot.join(room_jid, self.env.passwords.get(node))
                await asyncio.wait_for(asyncio.shield(room.bot_joined), 10)
            room.ready.set_result(True)
            self.env.emit({"event": "room-created", "room": room_jid})
        except Exception as error:
            room.ready.set_exception(error)
            room.ready.exception()  # retrieved here, so asyncio does not warn about it
            del self.rooms[room_jid]
            raise
        return room

    async def _configure(self, room_jid):
        env = self.env
        node = room_jid.split("@", 1)[0]
        fields = [("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"),
                  ("muc#roomconfig_whois", "anyone"),
                  ("muc#roomconfig_persistentroom", "0"),
                  ("muc#roomconfig_publicroom", "1")]
        secret = env.passwords.get(node)
        if secret:
            fields += [("muc#roomconfig_passwordprotectedroom", "1"),
                       ("muc#roomconfig_roomsecret", secret)]
        if node in env.lobby:
            fields.append(("muc#roomconfig_membersonly", "1"))
        iq = self.make_iq_set(ito=room_jid)
        query = ET.SubElement(iq.xml, q(NS_MUC_OWNER, "query"))
        form = ET.SubElement(query, q(NS_DATA, "x"), {"type": "submit"})
        for var, value in fields:
            field = ET.SubElement(form, q(NS_DATA, "field"), {"var": var})
            ET.SubElement(field, q(NS_DATA, "value")).text = value
        await iq.send(timeout=10)

    # -- presence

    def _on_presence(self, pres):
        frm = pres["from"]
        room = self.rooms.get(str(frm.bare))
        if room is None or not frm.resource:
            return
        nick = frm.resource
        if nick == "focus":
            if not room.joined.done():
                if pres["type"] == "error":
                    room.joined.set_exception(RuntimeError(
                        f"the MUC refused the focus: {pres['error']['condition']}"))
                    room.joined.exception()
                else:
                    room.joined.set_result(True)
            return
        if pres["type"] == "error":
            return
        if nick == BOT_ENDPOINT:
            if pres["type"] != "unavailable" and not room.bot_joined.done():
                room.bot_joined.set_result(True)
                self.env.emit({"event": "bot-joined", "room": room.jid, "endpoint": nick})
            return
        if pres["type"] == "unavailable":
            p = room.participants.pop(nick, None)
            if p is not None:
                self.env.emit({"event": "participant-left", "room": room.jid, "endpoint": nick})
                asyncio.ensure_future(self.participant_gone(room, p))
            return
        if nick in room.participants:
            return
        real = None
        x = pres.xml.find(q(NS_MUC_USER, "x"))
        if x is not None:
            item = x.find(q(NS_MUC_USER, "item"))
            if item is not None:
                real = item.get("jid")
        p = Participant(room.jid, nick, real)
        room.participants[nick] = p
        display = pres.xml.find(q(NS_NICK, "nick"))
        self.env.emit({"event": "participant-joined", "room": room.jid, "endpoint": nick, "jid": real,
                       "nick": display.text if display is not None else None})
        asyncio.ensure_future(self._discover(room, p))

    async def _discover(self, room, p):
        try:
            info = await self.plugin["xep_0030"].get_info(jid=p.occupant_jid, cached=False, timeout=5)
            p.features = set(info["disco_info"]["features"])
        except Exception as error:
            LOG.info("disco#info of %s failed (%s); assuming audio, video and sctp", p.id, error)
            p.features = set(DEFAULT_FEATURES)
        self.env.emit({"event": "features", "room": room.jid, "endpoint": p.id,
                       "features": sorted(p.features)})
        await self.maybe_start(room)

    async def maybe_start(self, room):
        """Starts a session with every participant that has none, once two are present."""
        ready = [p for p in room.participants.values() if p.features is not None]
        if len(room.participants) < 2:
            return
        for p in ready:
            if p.lone_timer:
                p.lone_timer.cancel()
                p.lone_timer = None
        for p in ready:
            await self.invite(room, p)

    async def invite(self, room, p):
        """Sends participant `p` a session-initiate, unless it has a session (or one is being
        set up) or it has left the room."""
        if p.state is not None or room.participants.get(p.id) is not p:
            return
        p.state = "starting"
        try:
            await self.initiate(room, p)
        except Exception as error:
            LOG.exception("session-initiate to %s failed", p.id)
            self.env.error(f"session-initiate to {p.id} failed: {error}")
            p.state = None

    # -- Jingle towards the participant

    async def initiate(self, room, p):
        """Creates the participant's bridge connection and sends it a session-initiate."""
        env = self.env
        video = FEATURE_VIDEO in p.features
        data = FEATURE_SCTP in p.features and not env.no_sctp
        ep = await env.bridge.create(room.jid, p.id, video, data)
        if p.id not in room.participants:
            await env.bridge.remove(room.jid, p.id)
            return
        p.ep = ep
        web_socket = ep.web_socket_url
        p.sid = uuid.uuid4().hex[:13]
        p.bridge_session = str(uuid.uuid4())
        audio_sources = [js.Source(ep.ssrc["jvb-a0"], "jvb-a0", "mixedmslabel mixedlabelaudio0", "jvb")]
        fed = []
        for other in room.participants.values():
            if other is p or not other.sources:
                continue
            ssrc = ep.assign_slot(other.id)
            if ssrc is None:
                continue
            audio_sources.append(_slot_source(other.id, ssrc))
            fed.append(other)
        jingle = ET.Element(q(js.NS_JINGLE, "jingle"), {
            "action": "session-initiate", "initiator": str(self.boundjid), "sid": p.sid})
        names = ["audio"]
        self._rtp_content(jingle, "audio", opus_payload_types(p.features),
                          [(1, js.URI_AUDIO_LEVEL), (10, js.URI_MID)]
                          + ([(5, js.URI_TCC)] if FEATURE_TCC in p.features else []),
                          audio_sources, [], ep.transport, web_socket, {"maxptime": "60"})
        bot_sources = []
        if video:
            names.append("video")
            video_sources = [js.Source(ep.ssrc["jvb-v0"], "jvb-v0", "mixedmslabel mixedlabelvideo0", "jvb")]
            groups = []
            if env.bridge.video_bot:
                bot_ssrc, bot_rtx = ep.ssrc["bot"]
                msid = "camerabot-video-0 camerabot-v0-track"
                bot_sources.append(js.Source(bot_ssrc, "camerabot-v0", msid, "camerabot", "camera"))
                if bot_rtx and FEATURE_RTX in p.features:
                    bot_sources.append(js.Source(bot_rtx, "camerabot-v0", msid, "camerabot", "camera"))
                    groups.append(("FID", [bot_ssrc, bot_rtx]))
            self._rtp_content(jingle, "video", video_payload_types(p.features),
                              [(11, js.URI_AV1_DD), (10, js.URI_MID), (3, js.URI_ABS_SEND_TIME)]
                              + ([(5, js.URI_TCC)] if FEATURE_TCC in p.features else []),
                              video_sources + bot_sources, groups, ep.transport, web_socket, {})
        if data:
            names.append("data")
            content = sub(jingle, js.NS_JINGLE, "content",
                          {"creator": "initiator", "name": "data", "senders": "both"})
            sub(content, js.NS_RTP, "description", {"media": "application"})
            js.transport_element(content, ep.transport, "actpass", sctp_port=5000, sctp_streams=1024,
                                 web_socket=web_socket)
        group = sub(jingle, js.NS_GROUP, "group", {"semantics": "BUNDLE"})
        for name in names:
            sub(group, js.NS_GROUP, "content", {"name": name})
        sub(jingle, js.NS_FOCUS, "bridge-session", {"id": p.bridge_session, "region": "loopback"})
        start_muted = room.jid.split("@", 1)[0] in env.start_muted
        if start_muted:
            # jicofo's StartMutedPacketExtension, when the room's start-muted policy applies.
            sub(jingle, js.NS_START_MUTED, "startmuted", {"audio": "true", "video": "true"})
        iq = self.make_iq_set(ito=p.occupant_jid)
        iq.append(jingle)
        p.state = "pending"
        sources = [s.to_json() for s in audio_sources + bot_sources]
        event = {"event": "session-initiate-sent", "room": room.jid, "endpoint": p.id, "sid": p.sid,
                 "contents": names, "sources": sources}
        if start_muted:
            event["start_muted"] = True
        if web_socket is not None:
            event["colibri_ws"] = web_socket
        env.emit(event)
        for other in fed:
            other_ep = env.bridge.endpoint(room.jid, other.id)
            if other_ep is not None:
                ep.feed_slot(other.id, other_ep.audio_track)
        try:
            await iq.send(timeout=15)
        except slixmpp.exceptions.IqTimeout:
            pass  # jicofo treats a timeout as success
        except slixmpp.exceptions.IqError as error:
            env.emit({"event": "session-initiate-refused", "room": room.jid, "endpoint": p.id,
                      "condition": error.condition})
            await self.end_session(room, p)

    def _rtp_content(self, jingle, media, pts, exts, sources, groups, transport, web_socket, desc_attrs):
        content = sub(jingle, js.NS_JINGLE, "content", {"creator": "initiator", "name": media, "senders": "both"})
        desc = sub(content, js.NS_RTP, "description", dict({"media": media}, **desc_attrs))
        for pt in pts:
            js.payload_type_element(desc, pt)
        for ext_id, uri in exts:
            sub(desc, js.NS_HDREXT, "rtp-hdrext", {"id": ext_id, "uri": uri})
        sub(desc, js.NS_HDREXT, "extmap-allow-mixed")
        sub(desc, js.NS_RTP, "rtcp-mux")
        for s in sources:
            js.source_element(desc, s)
        for semantics, ssrcs in groups:
            js.group_element(desc, semantics, ssrcs)
        js.transport_element(content, transport, "actpass", web_socket=web_socket)

    async def send_jingle(self, p, action, build, timeout=10):
        """Sends a Jingle IQ of `action` to participant `p`; `build(jingle)` adds the children."""
        jingle = ET.Element(q(js.NS_JINGLE, "jingle"), {"action": action, "sid": p.sid or "",
                                                          "initiator": str(self.boundjid)})
        build(jingle)
        iq = self.make_iq_set(ito=p.occupant_jid)
        iq.append(jingle)
        try:
            await iq.send(timeout=timeout)
            return True
        except (slixmpp.exceptions.IqError, slixmpp.exceptions.IqTimeout) as error:
            self.env.emit({"event": f"{action}-failed", "endpoint": p.id, "error": str(error)})
            return False

    async def add_source_to(self, room, target, owner):
        """Gives `target` a slot for `owner`'s audio and announces it with source-add."""
        if target.ep is None or target.state not in ("pending", "active"):
            return
        if target.ep.slot_for(owner.id) is not None:
            return
        ssrc = target.ep.assign_slot(owner.id)
        if ssrc is None:
            self.env.error(f"no free audio slot for {owner.id} in {target.id}'s connection")
            return
        source = _slot_source(owner.id, ssrc)
        owner_ep = self.env.bridge.endpoint(room.jid, owner.id)
        if owner_ep is not None:
            target.ep.feed_slot(owner.id, owner_ep.audio_track)
        self.env.emit({"event": "source-add-sent", "room": room.jid, "endpoint": target.id,
                       "sources": [source.to_json()]})
        await self.send_jingle(target, "source-add", lambda j: js.sources_content(j, "audio", [source]))

    async def remove_source_from(self, room, target, owner_id):
        """Frees `target`'s slot for `owner_id` and announces it with source-remove."""
        if target.ep is None:
            return
        ssrc = target.ep.free_slot(owner_id)
        if ssrc is None:
            return
        source = _slot_source(owner_id, ssrc)
        self.env.emit({"event": "source-remove-sent", "room": room.jid, "endpoint": target.id,
                       "sources": [source.to_json()]})
        await self.send_jingle(target, "source-remove", lambda j: js.sources_content(j, "audio", [source]))

    async def end_session(self, room, p, reason=None, text=None, send=True):
        """Ends `p`'s session (sending session-terminate when `reason` is given)."""
        if p.state is None:
            return
        if reason and send and p.sid:
            def build(jingle):
                r = sub(jingle, js.NS_JINGLE, "reason")
                sub(r, js.NS_JINGLE, reason)
                if text:
                    sub(r, js.NS_JINGLE, "text", text=text)
            self.env.emit({"event": "session-terminate-sent", "room": room.jid, "endpoint": p.id,
                           "reason": reason})
            await self.send_jingle(p, "session-terminate", build)
        p.state = None
        p.sources = []
        p.ep = None
        await self.env.bridge.remove(room.jid, p.id)
        for other in list(room.participants.values()):
            if other is not p:
                await self.remove_source_from(room, other, p.id)

    async def participant_gone(self, room, p):
        """A participant left the room."""
        if p.lone_timer:
            p.lone_timer.cancel()
        await self.end_session(room, p, send=False)
        self._check_lone(room)
        if not room.participants and self.rooms.get(room.jid) is room:
            # Like jicofo when a conference ends: leave, so that Prosody destroys the room; the
            # next conference IQ creates it again.
            del self.rooms[room.jid]
            self.make_presence(pto=f"{room.jid}/focus", ptype="unavailable").send()
            if self.bot is not None and room.bot_joined.done():
                self.bot.make_presence(pto=f"{room.jid}/{BOT_ENDPOINT}", ptype="unavailable").send()
            self.env.emit({"event": "room-left", "room": room.jid})

    def _check_lone(self, room):
        if len(room.participants) != 1:
            return
        (lone,) = room.participants.values()
        if lone.state is None or lone.lone_timer is not None:
            return

        async def expire():
            await asyncio.sleep(self.env.lone_timeout)
            lone.lone_timer = None
            if len(room.participants) == 1 and lone.state is not None:
                await self.end_session(room, lone, "expired", "Idle session timeout")

        lone.lone_timer = asyncio.ensure_future(expire())

    # -- Jingle from the participant

    def _on_jingle_iq(self, iq):
        if iq["type"] == "set":
            asyncio.ensure_future(self._handle_jingle(iq))

    async def _handle_jingle(self, iq):
        frm = iq["from"]
        room = self.rooms.get(str(frm.bare))
        jingle = iq.xml.find(q(js.NS_JINGLE, "jingle"))
        action = jingle.get("action") if jingle is not None else None
        p = room.participants.get(frm.resource) if room else None
        if p is None or p.sid is None or jingle.get("sid") != p.sid:
            extra = ET.Element(q(js.NS_JINGLE_ERRORS, "unknown-session"))
            return self._iq_error(iq, "cancel", "item-not-found", "unknown Jingle session", extra)
        try:
            contents = js.parse_contents(jingle)
        except ValueError as error:
            self.env.emit({"event": "jingle-invalid", "endpoint": p.id, "action": action, "error": str(error)})
            return self._iq_error(iq, "modify", "bad-request", str(error))
        if action == "session-accept":
            if p.state != "pending":
                return self._iq_error(iq, "cancel", "unexpected-request", "the session is not pending")
            try:
                await p.ep.accept(contents)
            except Exception as error:
                self.env.emit({"event": "session-accept-invalid", "endpoint": p.id, "error": str(error)})
                return self._iq_error(iq, "modify", "bad-request", str(error))
            iq.reply().send()
            p.state = "active"
            p.sources = [s for c in contents if c.name == "audio" for s in c.sources]
            for s in p.sources:
                s.owner = s.owner or p.id
            video = [c for c in contents if c.name == "video"]
            all_sources = [dict(s.to_json(), media=c.name) for c in contents for s in c.sources]
            self.env.emit({"event": "session-accept", "room": room.jid, "endpoint": p.id,
                           "sources": all_sources, "contents": [c.name for c in contents],
                           "initial_last_n": video[0].initial_last_n if video else None,
                           "setup": next((c.transport["setup"] for c in contents if c.transport), None),
                           "candidates": sum(len(c.transport["candidates"]) for c in contents if c.transport)})
            if p.sources:
                for other in list(room.participants.values()):
                    if other is not p:
                        await self.add_source_to(room, other, p)
            # Give the newcomer the others' audio that appeared after its offer was built.
            for other in list(room.participants.values()):
                if other is not p and other.sources:
                    await self.add_source_to(room, p, other)
            self._check_lone(room)
        elif action == "transport-info":
            iq.reply().send()
            candidates = [c for content in contents if content.transport for c in content.transport["candidates"]]
            self.env.emit({"event": "transport-info", "endpoint": p.id, "candidates": len(candidates)})
            if p.ep is not None:
                await p.ep.add_candidates(candidates)
        elif action == "session-terminate":
            bridge_session = jingle.find(q(js.NS_FOCUS, "bridge-session"))
            if bridge_session is not None and (bridge_session.get("restart") or "").lower() == "true":
                return await self._restart(iq, room, p, jingle, bridge_session.get("id"))
            iq.reply().send()
            reason, _ = _reason(jingle)
            self.env.emit({"event": "session-terminate", "room": room.jid, "endpoint": p.id, "reason": reason})
            await self.end_session(room, p, send=False)
        elif action in ("source-add", "source-remove", "addsource", "removesource"):
            iq.reply().send()
            sources = [dict(s.to_json(), media=c.name) for c in contents for s in c.sources]
            self.env.emit({"event": f"client-{action}", "room": room.jid, "endpoint": p.id, "sources": sources})
        elif action == "session-info":
            iq.reply().send()
            self.env.emit({"event": "session-info", "endpoint": p.id, "xml": js.tostring(jingle)[:500]})
        else:
            self._iq_error(iq, "cancel", "feature-not-implemented", f"unsupported Jingle action {action!r}")

    async def _restart(self, iq, room, p, jingle, bridge_session):
        """A session-terminate asking for a fresh session (jicofo's Participant.onSessionTerminate
        with a restart request). It must name the bridge session of the participant's current
        session; otherwise it gets item-not-found and nothing changes. The session ends as on any
        session-terminate: its bridge connection is closed, the others get source-remove for its
        audio. Within the rate limit the IQ is acked and the participant is invited again at once
        (the others get source-add once it accepts); beyond it the IQ gets resource-constraint
        "rate-limited" and no new session is offered."""
        if p.state is None or bridge_session != p.bridge_session:
            self.env.emit({"event": "restart-refused", "room": room.jid, "endpoint": p.id,
                           "why": "unknown bridge session", "bridge_session": bridge_session})
            return self._iq_error(iq, "cancel", "item-not-found",
                                  f"{bridge_session} is not a currently active bridge session")
        granted = self._grant_restart(p)
        if granted:
            iq.reply().send()
        else:
            self._iq_error(iq, "wait", "resource-constraint", "rate-limited")
        reason, text = _reason(jingle)
        self.env.emit({"event": "session-terminate", "room": room.jid, "endpoint": p.id, "reason": reason,
                       "text": text, "restart": True, "bridge_session": bridge_session})
        await self.end_session(room, p, send=False)
        if not granted:
            self.env.emit({"event": "restart-refused", "room": room.jid, "endpoint": p.id,
                           "why": "rate limited"})
            return
        await self.invite(room, p)

    def _grant_restart(self, p):
        """Whether `p` may have another restart: fewer than --restart-limit in the last minute."""
        now = time.monotonic()
        while p.restarts and now - p.restarts[0] >= RESTART_WINDOW:
            p.restarts.popleft()
        if len(p.restarts) >= self.env.restart_limit:
            return False
        p.restarts.append(now)
        return True

    # -- commands

    def find(self, endpoint):
        """The participant with this endpoint id in any room, or None."""
        for room in self.rooms.values():
            if endpoint in room.participants:
                return room, room.participants[endpoint]
        return None, None

    async def command_terminate(self, endpoint, reason):
        """Sends session-terminate to a participant."""
        room, p = self.find(endpoint)
        if p is None or p.state is None:
            raise ValueError(f"no session with endpoint {endpoint!r}")
        await self.end_session(room, p, reason or "success")

    async def command_mute(self, endpoint, media):
        """Sends the focus's forced mute IQ to a participant."""
        room, p = self.find(endpoint)
        if p is None:
            raise ValueError(f"no participant {endpoint!r}")
        ns = {"audio": "http://jitsi.org/jitmeet/audio", "video": "http://jitsi.org/jitmeet/video"}[media]
        iq = self.make_iq_set(ito=p.occupant_jid)
        sub(iq.xml, ns, "mute", {"actor": f"{room.jid}/focus"}, "true")
        try:
            await iq.send(timeout=10)
            result = "result"
        except slixmpp.exceptions.IqError as error:
            result = error.condition
        except slixmpp.exceptions.IqTimeout:
            result = "timeout"
        self.env.emit({"event": "mute-sent", "endpoint": endpoint, "media": media, "answer": result})


def _reason(jingle):
    """(condition, text) of a Jingle <reason>; None for what is missing."""
    r = jingle.find(q(js.NS_JINGLE, "reason"))
    if r is None:
        return None, None
    text = r.find(q(js.NS_JINGLE, "text"))
    condition = next((child.tag.split("}")[-1] for child in r if child.tag != q(js.NS_JINGLE, "text")), None)
    return condition, text.text if text is not None else None


def _slot_source(owner, ssrc):
    return js.Source(ssrc, f"{owner}-a0", f"{owner}-audio-0 {owner}-a0-track", owner)


class FocusComponent(slixmpp.ComponentXMPP):
    """The focus.<domain> component: answers the conference IQ like jicofo's client_proxy target."""

    def __init__(self, focus, jid, secret):
        super().__init__(jid, secret)
        self.focus = focus
        self.register_plugin("xep_0030")
        self.plugin["xep_0030"].add_feature("http://jitsi.org/protocol/focus")
        self.connected_event = asyncio.Event()
        self.add_event_handler("session_start", lambda _e: self.connected_event.set())
        self.register_handler(Callback("conference", MatchXPath(
            f"{{jabber:component:accept}}iq/{{{js.NS_FOCUS}}}conference"), self._on_conference_iq))

    def _on_conference_iq(self, iq):
        if iq["type"] == "set":
            asyncio.ensure_future(self.focus.handle_conference(iq, self))


class CameraBot(slixmpp.ClientXMPP):
    """The camera bot's presence: an anonymous occupant with nick `camerabot` in every room.

    Its video (a test pattern) is produced by the bridge (bridge.TestPatternTrack) and announced
    in each participant's session-initiate as the source `camerabot-v0` owned by `camerabot`. The
    focus gives the bot no Jingle session and does not count it as a participant.
    """

    def __init__(self, guest_domain):
        super().__init__(guest_domain, "")
        self.connected_event = asyncio.Event()
        self.add_event_handler("session_start", self._on_session_start)

    async def _on_session_start(self, _event):
        self.send_presence()
        self.connected_event.set()

    def join(self, room_jid, password=None):
        """Sends the MUC join presence."""
        pres = self.make_presence(pto=f"{room_jid}/{BOT_ENDPOINT}")
        x = sub(pres.xml, NS_MUC, "x")
        if password:
            sub(x, NS_MUC, "password", text=password)
        sub(pres.xml, NS_NICK, "nick", text="Camera bot")
        ET.SubElement(pres.xml, "{jabber:client}SourceInfo").text = (
            '{"%s-v0": {"muted": false, "videoType": "camera"}}' % BOT_ENDPOINT)
        ET.SubElement(pres.xml, "{jabber:client}jitsi_participant_codecList").text = "vp8"
        pres.send()
