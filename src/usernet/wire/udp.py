"""UDP (RFC 768)."""

from __future__ import annotations

import struct

UDP_HLEN = 8
UDP_HDR = struct.Struct("!HHHH")  # sport, dport, len, check
