"""Jingle (XEP-0166/0167/0176/0320/0339/0343) parsing and building, and SDP translation.

Shared by the Jitsi stand-in (focus and bridge) and by the independent Jitsi peer. Nothing here
comes from palabre. The Jingle side follows what jicofo sends and what lib-jitsi-meet answers
(see /work/shared/docs/jitsi-protocol.md section 4); the SDP side is what aiortc produces and
accepts.
"""

import xml.etree.ElementTree as ET

NS_JINGLE = "urn:xmpp:jingle:1"
NS_RTP = "urn:xmpp:jingle:apps:rtp:1"
NS_RTCP_FB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
NS_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
NS_GROUP = "urn:xmpp:jingle:apps:grouping:0"
NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"
NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1"
NS_SCTP = "urn:xmpp:jingle:transports:dtls-sctp:1"
NS_JITMEET = "http://jitsi.org/jitmeet"
NS_FOCUS = "http://jitsi.org/protocol/focus"
NS_COLIBRI2 = "jitsi:colibri2"
NS_COLIBRI = "http://jitsi.org/protocol/colibri"
NS_START_MUTED = "http://jitsi.org/jitmeet/start-muted"
NS_JINGLE_ERRORS = "urn:xmpp:jingle:errors:1"

URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_TCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_AV1_DD = "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"

# Codecs aiortc can encode and decode; anything else is left out of the SDP given to aiortc.
AIORTC_CODECS = {"opus", "vp8", "rtx", "h264", "pcmu", "pcma", "g722"}


def q(ns, tag):
    """The ElementTree name of `tag` in namespace `ns`."""
    return f"{{{ns}}}{tag}"


# ----------------------------------------------------------------------------------------------
# SDP


class Media:
    """One SDP media section: kind, port, protocol, formats and its attribute lines in order."""

    def __init__(self, kind, port, proto, fmts):
        self.kind = kind
        self.port = port
        self.proto = proto
        self.fmts = fmts
        self.attrs = []  # (name, value or None)

    def values(self, name):
        """Every value of attribute `name`, in order."""
        return [v for (n, v) in self.attrs if n == name]

    def value(self, name, default=None):
        """The first value of attribute `name`, or `default`."""
        found = self.values(name)
        return found[0] if found else default

    def has(self, name):
        """Whether the attribute `name` is present."""
        return any(n == name for (n, _) in self.attrs)


def parse_sdp(text):
    """Splits an SDP into its session attributes and its media sections."""
    session = []
    media = []
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, rest = line[0], line[2:]
        if kind == "m":
            parts = rest.split()
            if len(parts) < 3:
                raise ValueError(f"SDP media line too short: {line!r}")
            media.append(Media(parts[0], parts[1], parts[2], parts[3:]))
        elif kind == "a":
            name, sep, value = rest.partition(":")
            entry = (name, value if sep else None)
            (media[-1].attrs if media else session).append(entry)
    return session, media


def parse_candidate(value):
    """Parses an SDP `candidate:` value into the attributes of a Jingle <candidate>."""
    parts = value.split()
    if len(parts) < 8 or parts[6] != "typ":
        raise ValueError(f"malformed ICE candidate: {value!r}")
    cand = {
        "foundation": parts[0],
        "component": parts[1],
        "protocol": parts[2].lower(),
        "priority": parts[3],
        "ip": parts[4],
        "port": parts[5],
        "type": parts[7],
        "generation": "0",
        "network": "0",
    }
    rest = parts[8:]
    for i in range(0, len(rest) - 1, 2):
        key, val = rest[i], rest[i + 1]
        if key == "raddr":
            cand["rel-addr"] = val
        elif key == "rport":
            cand["rel-port"] = val
        elif key == "generation":
            cand["generation"] = val
        elif key == "tcptype":
            cand["tcptype"] = val
    return cand


def candidate_to_sdp(c):
    """The SDP `candidate:` value of a Jingle candidate attribute dictionary."""
    line = (
        f"{c.get('foundation', '1')} {c.get('component', '1')} {c.get('protocol', 'udp')} "
        f"{c.get('priority', '1')} {c['ip']} {c['port']} typ {c.get('type', 'host')}"
    )
    if c.get("rel-addr") and c.get("rel-port"):
        line += f" raddr {c['rel-addr']} rport {c['rel-port']}"
    if c.get("tcptype"):
        line += f" tcptype {c['tcptype']}"
    line += f" generation {c.get('generation', '0')}"
    return line


def transport_from_sdp(media):
    """ICE credentials, DTLS fingerprint and candidates of an SDP media section."""
    fp = media.value("fingerprint", "")
    hash_name, _, fp_value = fp.partition(" ")
    return {
        "ufrag": media.value("ice-ufrag"),
        "pwd": media.value("ice-pwd"),
        "hash": hash_name,
        "fingerprint": fp_value,
        "setup": media.value("setup"),
        "candidates": [parse_candidate(v) for v in media.values("candidate")],
    }


def ssrcs_from_sdp(media):
    """The SSRCs of an SDP media section in order, and the RTX partner of each one (FID)."""
    ssrcs = []
    for value in media.values("ssrc"):
        head = value.split(" ", 1)[0]
        if head.isdigit() and int(head) not in ssrcs:
            ssrcs.append(int(head))
    rtx = {}
    for value in media.values("ssrc-group"):
        parts = value.split()
        if parts and parts[0] == "FID" and len(parts) == 3:
            rtx[int(parts[1])] = int(parts[2])
    return ssrcs, rtx


# ----------------------------------------------------------------------------------------------
# Jingle parsing


class PayloadType:
    """A Jingle <payload-type>: id, name, clock rate, channels, parameters and rtcp-fb."""

    def __init__(self, pt, name, clockrate, channels=None):
        self.id = pt
        self.name = name
        self.clockrate = clockrate
        self.channels = channels
        self.params = []  # (name, value)
        self.rtcp_fb = []  # (type, subtype or None)


class Source:
    """A Jingle <source>: SSRC, source name, msid, owner and video type."""

    def __init__(self, ssrc, name=None, msid=None, owner=None, video_type=None):
        self.ssrc = ssrc
        self.name = name
        self.msid = msid
        self.owner = owner
        self.video_type = video_type

    def to_json(self):
        """A dictionary for event lines."""
        return {"ssrc": self.ssrc, "name": self.name, "owner": self.owner, "msid": self.msid}


class Content:
    """One Jingle <content> with its RTP description and ICE transport, if any."""

    def __init__(self, name):
        self.name = name
        self.creator = None
        self.senders = "both"
        self.media = None
        self.payload_types = []
        self.hdrexts = []  # (id, uri)
        self.sources = []
        self.groups = []  # (semantics, [ssrc])
        self.rtcp_mux = False
        self.transport = None
        self.sctp_port = None
        self.initial_last_n = None


def _int_attr(el, name, what):
    value = el.get(name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} has no valid '{name}' attribute (got {value!r})") from None
    if number < 0 or number > 0xFFFFFFFF:
        raise ValueError(f"{what} has an out-of-range '{name}' attribute ({number})")
    return number


def _parse_sources(parent, content):
    for src in parent.findall(q(NS_SSMA, "source")):
        s = Source(_int_attr(src, "ssrc", "a <source>"), src.get("name"), None, None, src.get("videoType"))
        for param in src:
            if param.tag.endswith("}parameter") and param.get("name") == "msid":
                s.msid = param.get("value")
        info = src.find(q(NS_JITMEET, "ssrc-info"))
        if info is not None:
            owner = info.get("owner") or ""
            s.owner = owner.rsplit("/", 1)[-1]
        content.sources.append(s)
    for grp in parent.findall(q(NS_SSMA, "ssrc-group")):
        members = [_int_attr(s, "ssrc", "an <ssrc-group> member") for s in grp.findall(q(NS_SSMA, "source"))]
        content.groups.append((grp.get("semantics", ""), members))


def parse_transport(tr):
    """ICE credentials, fingerprint, candidates, SCTP port and colibri WebSocket URLs of an
    ice-udp <transport>."""
    t = {"ufrag": tr.get("ufrag"), "pwd": tr.get("pwd"), "hash": None, "fingerprint": None,
         "setup": None, "candidates": [], "sctp_port": None, "rtcp_mux": False,
         "web_sockets": [ws.get("url") for ws in tr.findall(q(NS_COLIBRI, "web-socket"))]}
    fp = tr.find(q(NS_DTLS, "fingerprint"))
    if fp is not None:
        t["hash"] = fp.get("hash")
        t["setup"] = fp.get("setup")
        t["fingerprint"] = (fp.text or "").strip()
    for cand in tr.findall(q(NS_ICE, "candidate")):
        attrs = dict(cand.attrib)
        if not attrs.get("ip") or not attrs.get("port"):
            raise ValueError("an ICE <candidate> lacks its ip or port")
        t["candidates"].append(attrs)
    sctp = tr.find(q(NS_SCTP, "sctpmap"))
    if sctp is not None:
        t["sctp_port"] = _int_attr(sctp, "number", "the <sctpmap>")
    if tr.find(q(NS_ICE, "rtcp-mux")) is not None:
        t["rtcp_mux"] = True
    return t


def parse_contents(jingle):
    """The <content> children of a <jingle> element, in order, parsed into Content objects."""
    contents = []
    for el in jingle.findall(q(NS_JINGLE, "content")):
        c = Content(el.get("name") or "")
        c.creator = el.get("creator")
        c.senders = el.get("senders", "both")
        desc = el.find(q(NS_RTP, "description"))
        if desc is not None:
            c.media = desc.get("media")
            for pt_el in desc.findall(q(NS_RTP, "payload-type")):
                pt = PayloadType(
                    _int_attr(pt_el, "id", "a <payload-type>"),
                    pt_el.get("name", ""),
                    int(pt_el.get("clockrate", "0") or 0),
                    pt_el.get("channels"),
                )
                for child in pt_el:
                    if child.tag.endswith("}parameter"):
                        pt.params.append((child.get("name"), child.get("value", "")))
                    elif child.tag == q(NS_RTCP_FB, "rtcp-fb"):
                        pt.rtcp_fb.append((child.get("type"), child.get("subtype")))
                c.payload_types.append(pt)
            for ext in desc.findall(q(NS_HDREXT, "rtp-hdrext")):
                c.hdrexts.append((_int_attr(ext, "id", "an <rtp-hdrext>"), ext.get("uri", "")))
            c.rtcp_mux = desc.find(q(NS_RTP, "rtcp-mux")) is not None
            _parse_sources(desc, c)
        # Sources may also come directly in the content (some source-add forms).
        tr = el.find(q(NS_ICE, "transport"))
        if tr is not None:
            c.transport = parse_transport(tr)
            c.sctp_port = c.transport["sctp_port"]
        iln = el.find(q(NS_COLIBRI2, "initial-last-n"))
        if iln is not None:
            try:
                c.initial_last_n = int(iln.get("value", ""))
            except ValueError:
                raise ValueError("<initial-last-n> has no valid value") from None
        contents.append(c)
    return contents


# ----------------------------------------------------------------------------------------------
# Jingle building


def sub(parent, ns, tag, attrs=None, text=None):
    """Appends a child element and returns it."""
    el = ET.SubElement(parent, q(ns, tag), {k: str(v) for k, v in (attrs or {}).items()})
    if text is not None:
        el.text = text
    return el


def transport_element(parent, t, setup, sctp_port=None, sctp_streams=None, rtcp_mux=True,
                      web_socket=None):
    """Appends an ice-udp <transport> built from a transport dictionary; `web_socket` is a
    colibri WebSocket URL, put first as JVB does."""
    tr = sub(parent, NS_ICE, "transport", {"ufrag": t["ufrag"], "pwd": t["pwd"]})
    if web_socket is not None:
        sub(tr, NS_COLIBRI, "web-socket", {"url": web_socket})
    if sctp_port is not None:
        sub(tr, NS_SCTP, "sctpmap", {"number": sctp_port, "protocol": "webrtc-datachannel",
                                      "streams": sctp_streams if sctp_streams is not None else 1024})
    if rtcp_mux:
        sub(tr, NS_ICE, "rtcp-mux")
    sub(tr, NS_DTLS, "fingerprint", {"hash": t["hash"], "setup": setup}, t["fingerprint"])
    for i, c in enumerate(t["candidates"]):
        attrs = {k: v for k, v in c.items()}
        attrs.setdefault("id", f"c{i}{c['port']}")
        sub(tr, NS_ICE, "candidate", attrs)
    return tr


def payload_type_element(parent, pt):
    """Appends a <payload-type> built from a PayloadType."""
    attrs = {"id": pt.id, "name": pt.name, "clockrate": pt.clockrate}
    if pt.channels:
        attrs["channels"] = pt.channels
    el = sub(parent, NS_RTP, "payload-type", attrs)
    for name, value in pt.params:
        sub(el, NS_RTP, "parameter", {"name": name, "value": value})
    for fb_type, subtype in pt.rtcp_fb:
        a = {"type": fb_type}
        if subtype:
            a["subtype"] = subtype
        sub(el, NS_RTCP_FB, "rtcp-fb", a)
    return el


def source_element(parent, s):
    """Appends a <source> with its msid parameter and <ssrc-info owner>."""
    attrs = {"ssrc": s.ssrc}
    if s.name:
        attrs["name"] = s.name
    if s.video_type:
        attrs["videoType"] = s.video_type
    el = sub(parent, NS_SSMA, "source", attrs)
    if s.owner:
        sub(el, NS_JITMEET, "ssrc-info", {"owner": s.owner})
    if s.msid:
        sub(el, NS_RTP, "parameter", {"name": "msid", "value": s.msid})
    return el


def group_element(parent, semantics, ssrcs):
    """Appends an <ssrc-group>."""
    g = sub(parent, NS_SSMA, "ssrc-group", {"semantics": semantics})
    for s in ssrcs:
        sub(g, NS_SSMA, "source", {"ssrc": s})
    return g


def sources_content(jingle, media, sources, groups=()):
    """Appends a <content name=media> that only lists sources (source-add / source-remove)."""
    content = sub(jingle, NS_JINGLE, "content", {"name": media, "creator": "initiator", "senders": "both"})
    desc = sub(content, NS_RTP, "description", {"media": media})
    for s in sources:
        source_element(desc, s)
    for semantics, ssrcs in groups:
        group_element(desc, semantics, ssrcs)
    return content


# ----------------------------------------------------------------------------------------------
# Jingle -> SDP


def _fmtp(pt):
    parts = []
    for name, value in pt.params:
        parts.append(value if not name else f"{name}={value}")
    return ";".join(parts)


def rtp_media_lines(kind, mid, direction, payload_types, hdrexts, transport, setup, sources=(),
                    groups=(), keep=AIORTC_CODECS):
    """SDP lines of one bundled RTP media section built from Jingle data."""
    pts = [pt for pt in payload_types if pt.name.lower() in keep]
    lines = [f"m={kind} 9 UDP/TLS/RTP/SAVPF {' '.join(str(pt.id) for pt in pts) or '0'}",
             "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0"]
    lines += transport_lines(transport, setup)
    lines.append(f"a=mid:{mid}")
    for ext_id, uri in hdrexts:
        lines.append(f"a=extmap:{ext_id} {uri}")
    lines.append(f"a={direction}")
    lines.append("a=rtcp-mux")
    for pt in pts:
        name = pt.name
        rtpmap = f"a=rtpmap:{pt.id} {name}/{pt.clockrate}"
        if pt.channels and pt.channels != "1":
            rtpmap += f"/{pt.channels}"
        lines.append(rtpmap)
        for fb_type, subtype in pt.rtcp_fb:
            lines.append(f"a=rtcp-fb:{pt.id} {fb_type}{(' ' + subtype) if subtype else ''}")
        if pt.params:
            lines.append(f"a=fmtp:{pt.id} {_fmtp(pt)}")
    for semantics, ssrcs in groups:
        lines.append(f"a=ssrc-group:{semantics} {' '.join(str(s) for s in ssrcs)}")
    for s in sources:
        lines.append(f"a=ssrc:{s.ssrc} cname:{s.owner or 'jitsi'}")
        if s.msid:
            lines.append(f"a=ssrc:{s.ssrc} msid:{s.msid}")
    return lines


def transport_lines(t, setup):
    """The ICE/DTLS SDP attribute lines of a transport dictionary."""
    lines = [f"a=ice-ufrag:{t['ufrag']}", f"a=ice-pwd:{t['pwd']}",
             f"a=fingerprint:{t['hash']} {t['fingerprint']}", f"a=setup:{setup}"]
    for c in t["candidates"]:
        lines.append(f"a=candidate:{candidate_to_sdp(c)}")
    return lines


def data_media_lines(mid, transport, setup, port=5000):
    """SDP lines of the bundled SCTP data channel section."""
    return (["m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0"]
            + transport_lines(transport, setup)
            + [f"a=mid:{mid}", f"a=sctp-port:{port}", "a=max-message-size:262144"])


def session_lines(mids):
    """The session part of a bundled SDP."""
    return ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
            f"a=group:BUNDLE {' '.join(mids)}", "a=msid-semantic: WMS *"]


def join_sdp(lines):
    """Joins SDP lines with CRLF."""
    return "\r\n".join(lines) + "\r\n"


def tostring(el):
    """Serialises an element (for logs and errors)."""
    return ET.tostring(el, encoding="unicode")
