"""The colibri WebSocket of the stand-in's bridge: JVB's legacy bridge channel (brief section 5.1).

With --colibri-ws the bridge serves WebSockets on a free loopback port, one URL per endpoint:

  ws://127.0.0.1:PORT/colibri-ws/default-id/<conference id>/<endpoint id>?pwd=<password>

The conference id is the bridge's id of the room, the password a random secret of the endpoint
(not its ICE password). The focus puts the URL into every transport of the offer. A handshake
whose path names no current endpoint, or whose pwd is missing or wrong, is refused with HTTP 403
(404 for a path outside /colibri-ws/default-id/). Once open, the socket is the endpoint's bridge
channel (bridge.Endpoint.websocket_opened): JVB sends ServerHello at once on it, without waiting
for a ClientHello.
"""

import asyncio
import http
import secrets
import urllib.parse

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

SERVER_ID = "default-id"


class EndpointSocket:
    """One open colibri WebSocket: text messages go out in the order they are sent."""

    def __init__(self, connection):
        self.connection = connection
        self.outbox = asyncio.Queue()
        self.writer = asyncio.ensure_future(self._write())

    def send(self, text):
        """Queues a text message."""
        self.outbox.put_nowait(text)

    async def _write(self):
        try:
            while True:
                await self.connection.send(await self.outbox.get())
        except ConnectionClosed:
            pass  # the reading side sees the close and reports it

    async def close(self, code, reason):
        """Closes the socket (closing handshake, at most the server's close timeout)."""
        self.writer.cancel()
        await self.connection.close(code, reason)

    def abort(self):
        """Drops the TCP connection without a closing handshake, as a vanished network would
        (the client sees an abnormal closure, 1006)."""
        self.writer.cancel()
        self.connection.transport.abort()


class ColibriWebSocketServer:
    """The WebSocket server of the bridge `bridge` (a bridge.Bridge)."""

    def __init__(self, bridge):
        self.bridge = bridge
        self.server = None
        self.port = None

    async def start(self):
        """Listens on a free port of 127.0.0.1."""
        self.server = await serve(self._serve, "127.0.0.1", 0, process_request=self._check,
                                  close_timeout=2, compression=None)
        self.port = self.server.sockets[0].getsockname()[1]

    @property
    def prefix(self):
        """What every endpoint's URL starts with (before /<conference id>/<endpoint id>)."""
        return f"ws://127.0.0.1:{self.port}/colibri-ws/{SERVER_ID}"

    def url(self, conference_id, endpoint_id, password):
        """The URL of one endpoint's socket, as announced in the offer."""
        return f"{self.prefix}/{conference_id}/{endpoint_id}?pwd={urllib.parse.quote(password)}"

    def _endpoint_for(self, path):
        """(endpoint, None) when `path` opens an endpoint's socket, else (None, why) with the
        HTTP status to refuse it with."""
        parts = urllib.parse.urlsplit(path)
        segments = parts.path.split("/")
        if len(segments) != 5 or segments[:3] != ["", "colibri-ws", SERVER_ID] or not all(segments[3:]):
            return None, (http.HTTPStatus.NOT_FOUND,
                          f"not a colibri WebSocket path (/colibri-ws/{SERVER_ID}/<conference>/<endpoint>)")
        conference_id, endpoint_id = segments[3:]
        ep = self.bridge.endpoint_in_conference(conference_id, endpoint_id)
        if ep is None:
            return None, (http.HTTPStatus.FORBIDDEN, "no such endpoint in this conference")
        passwords = urllib.parse.parse_qs(parts.query).get("pwd", [])
        if not passwords:
            return None, (http.HTTPStatus.FORBIDDEN, "no pwd in the query")
        if not secrets.compare_digest(passwords[0].encode(), ep.ws_password.encode()):
            return None, (http.HTTPStatus.FORBIDDEN, "wrong pwd")
        return ep, None

    def _check(self, connection, request):
        """The handshake check: refuses a request that does not open a current endpoint's socket."""
        ep, refusal = self._endpoint_for(request.path)
        if ep is not None:
            return None
        status, why = refusal
        self.bridge.emit({"event": "colibri-ws-rejected", "path": request.path, "why": why,
                          "status": int(status)})
        return connection.respond(status, why + "\n")

    async def _serve(self, connection):
        ep, refusal = self._endpoint_for(connection.request.path)
        if ep is None:  # the endpoint went away during the handshake
            self.bridge.emit({"event": "colibri-ws-rejected", "path": connection.request.path,
                              "why": refusal[1], "status": None})
            await connection.close(CloseCode.POLICY_VIOLATION, refusal[1])
            return
        socket = EndpointSocket(connection)
        ep.websocket_opened(socket)
        try:
            async for message in connection:
                ep.on_bridge_message(message, "websocket")
        except ConnectionClosed:
            pass  # closed with an error code; reported below like any close
        finally:
            socket.writer.cancel()
            ep.websocket_closed(socket, connection.close_code)

    async def close(self):
        """Stops listening and closes every socket still open."""
        self.server.close()
        await self.server.wait_closed()
