"""A tiny HTTP/1.1 responder that answers every request after a fixed delay.

The benchmark's latency mode puts it behind nginx's ``auth_request``: nginx asks it (over
keep-alive connections) before serving each request, waits for its empty 200 and then serves
the static file itself with ``sendfile``. Only headers pass through this process, never a
body, so it costs a fraction of what a forwarding proxy would. This machine's kernel has no
``netem`` queueing discipline, so ``tc``-based delay is not available.

Run as ``python bench/delay_server.py PORT DELAY_MS``; it serves on 127.0.0.1 until killed.
"""

from __future__ import annotations

import asyncio
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float
) -> None:
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(delay_s)
            writer.write(RESPONSE)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int, delay_ms: float) -> None:
    """Answer every request on 127.0.0.1:port after ``delay_ms`` milliseconds, forever."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_connection(reader, writer, delay_ms / 1000)

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), float(sys.argv[2])))
