"""A DNS server on 127.0.0.1 for the tests (dnslib): fixed answers, some of them slow.

``answers`` maps a name to its addresses (IPv4 as A records, IPv6 as AAAA);
``delays`` maps a name to seconds to wait before answering. Every query is
counted per name, and the most queries it was answering at once is kept, so
tests can tell that lookups were cached and made concurrently. Names it does
not know get NXDOMAIN. Nothing is forwarded anywhere.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer


@dataclass
class FakeZone(BaseResolver):  # type: ignore[misc]
    answers: Mapping[str, tuple[str, ...]]
    delays: Mapping[str, float] = field(default_factory=dict)
    queries: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        name = str(request.q.qname).rstrip(".").lower()
        with self._lock:
            self.queries[name] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self.delays.get(name, 0.0)
            if delay:
                time.sleep(delay)  # the slow server under test, not a synchronisation
            return self._reply(request, name)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _reply(self, request: DNSRecord, name: str) -> DNSRecord:
        reply = request.reply()
        if name not in self.answers:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for address in self.answers[name]:
            ip = ipaddress.ip_address(address)
            if ip.version == 4 and request.q.qtype in (QTYPE.A, QTYPE.ANY):
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=60))
            elif ip.version == 6 and request.q.qtype in (QTYPE.AAAA, QTYPE.ANY):
                reply.add_answer(RR(request.q.qname, QTYPE.AAAA, rdata=AAAA(address), ttl=60))
        return reply


@contextmanager
def serve_dns(
    answers: Mapping[str, tuple[str, ...]], delays: Mapping[str, float] | None = None
) -> Iterator[tuple[str, FakeZone]]:
    """Serve ``answers`` on 127.0.0.1 (UDP); yields ("127.0.0.1:port", the zone)."""
    zone = FakeZone(answers, delays or {})
    server = DNSServer(
        zone,
        address="127.0.0.1",
        port=0,
        logger=DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data"),
    )
    # a slow answer still being written when the test ends is not an error worth printing
    server.server.handle_error = lambda request, address: None
    server.start_thread()
    try:
        yield f"127.0.0.1:{server.server.server_address[1]}", zone
    finally:
        server.stop()
        server.server.server_close()
