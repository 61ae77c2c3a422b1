"""The relay behind jitsi_env.py's --ws-proxy: a loopback TCP port in front of Prosody's HTTP port.

Clients are given the relay's XMPP WebSocket URL instead of Prosody's. Every connection accepted
on the relay is forwarded byte for byte to Prosody; the HTTP upgrade and the WebSocket frames pass
through untouched (nothing here parses them). What the relay adds is `cut()`: it drops every
relayed connection at once, both halves, without a WebSocket closing handshake, the way a network
drop or a crashed server would end them.
"""

import asyncio

CHUNK = 1 << 16


def _abort(writer):
    """Closes a stream's socket at once, discarding whatever it has not sent yet."""
    if writer is not None:
        writer.transport.abort()


class WsProxy:
    """Relays each connection on a free 127.0.0.1 port to 127.0.0.1:`target_port`.

    `emit` is called with a {"event": "ws-proxy-connection", "peer": "HOST:PORT"} dict for every
    accepted connection."""

    def __init__(self, target_port, emit):
        self.target_port = target_port
        self.emit = emit
        self.server = None
        self.port = None
        # client-side writer -> Prosody-side writer (None until that connection is made)
        self.links = {}

    async def start(self):
        """Starts listening; the port is then in `self.port`."""
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _relay(self, client_reader, client_writer):
        """Serves one accepted connection until either side ends it or it is cut."""
        host, port = client_writer.get_extra_info("peername")[:2]
        self.emit({"event": "ws-proxy-connection", "peer": f"{host}:{port}"})
        self.links[client_writer] = None
        try:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            except OSError:
                # Prosody is gone: the client sees its connection closed, as it would without relay.
                _abort(client_writer)
                return
            if client_writer not in self.links:
                # Cut while the connection to Prosody was being made.
                _abort(upstream_writer)
                return
            self.links[client_writer] = upstream_writer
            await asyncio.gather(self._pipe(client_reader, upstream_writer, client_writer),
                                 self._pipe(upstream_reader, client_writer, client_writer))
            client_writer.close()
            upstream_writer.close()
        finally:
            self.links.pop(client_writer, None)

    async def _pipe(self, reader, writer, key):
        """Copies `reader` to `writer` until end of stream, which it passes on as a half-close.
        A connection error on either side drops both sides of the link `key`."""
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            if not writer.is_closing() and writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            _abort(key)
            _abort(self.links.get(key))

    def cut(self):
        """Drops every relayed connection, client and Prosody side, without any closing handshake:
        the client sees its TCP connection end, Prosody sees its client's connection end. Returns
        how many client connections were cut. The relay keeps accepting new connections."""
        links = list(self.links.items())
        self.links.clear()
        for client_writer, upstream_writer in links:
            _abort(client_writer)
            _abort(upstream_writer)
        return len(links)

    def close(self):
        """Stops listening and drops the relayed connections."""
        if self.server is not None:
            self.server.close()
        self.cut()
