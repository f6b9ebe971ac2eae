"""Small traffic helpers the netfilter tests share (run as kernel tasks)."""

from __future__ import annotations

import usernet.socket as usock


def udp_knock(dst: str, port: int, sport: int = 0, payload: bytes = b"knock") -> str:
    """Send ``payload`` in one datagram to ``dst:port`` on a connected socket and say what
    came back within a second: "answered", or the error's class name
    (ConnectionRefusedError when a port unreachable got in)."""
    s = usock.socket(usock.AF_INET, usock.SOCK_DGRAM)
    if sport:
        s.bind(("0.0.0.0", sport))
    s.connect((dst, port))
    s.send(payload)
    s.settimeout(1)
    try:
        s.recv(10)
    except OSError as exc:
        return type(exc).__name__
    finally:
        s.close()
    return "answered"
