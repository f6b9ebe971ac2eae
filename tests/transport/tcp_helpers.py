"""A tiny blocking socket API over TcpSock for the TCP tests (what
usernet.socket does for applications: wait on sk.wq until poll() allows)."""

from __future__ import annotations

import errno
from typing import Any

from usernet import Kernel
from usernet.errors import KernelError
from usernet.sock import POLLERR, POLLHUP, POLLIN, POLLOUT
from usernet.transport.tcp import TcpSock
from usernet.wait import wait_event
from usernet.wire.ipv4 import addr_int, addr_str


def ip(a: str) -> int:
    return addr_int(a)


class Blocking:
    """One socket, used from a task (kernel.spawn) or from the test itself."""

    def __init__(self, k: Kernel, sk: TcpSock | None = None, net: Any = None) -> None:
        self.k = k
        self.sk = sk if sk is not None else TcpSock(net if net is not None else k.current_net)

    def _wait(self, mask: int, timeout: float | None = None) -> bool:
        sk = self.sk
        ns = None if timeout is None else int(timeout * 1e9)
        return wait_event(self.k, [sk.wq], lambda: bool(sk.poll() & mask), ns,
                          what=f"poll {mask:#x} on {sk!r}")

    def setsockopt(self, level: int, name: int, value: Any) -> None:
        self.sk.setsockopt(level, name, value)

    def getsockopt(self, level: int, name: int) -> Any:
        return self.sk.getsockopt(level, name)

    def bind(self, addr: str, port: int) -> None:
        self.sk.bind((ip(addr), port))

    def listen(self, backlog: int = 128) -> None:
        self.sk.listen(backlog)

    def accept(self, timeout: float | None = None) -> Blocking:
        while True:
            try:
                return Blocking(self.k, self.sk.accept())  # type: ignore[arg-type]
            except KernelError as exc:
                if exc.errno != errno.EAGAIN:
                    raise
            if not self._wait(POLLIN | POLLERR, timeout):
                raise TimeoutError("accept")

    def connect(self, addr: str, port: int, timeout: float | None = None) -> None:
        try:
            self.sk.connect((ip(addr), port))
        except KernelError as exc:
            if exc.errno != errno.EINPROGRESS:
                raise
        if not self._wait(POLLOUT | POLLERR | POLLHUP, timeout):
            raise TimeoutError("connect")
        err = self.sk.sock_error()
        if err:
            raise KernelError(err)
        self.sk.connect((ip(addr), port))  # EISCONN-free second call settles ss_state

    def send(self, data: bytes) -> int:
        while True:
            try:
                return self.sk.sendmsg(data, None, 0)
            except KernelError as exc:
                if exc.errno != errno.EAGAIN:
                    raise
            self._wait(POLLOUT | POLLERR | POLLHUP)

    def sendall(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = self.send(view)  # type: ignore[arg-type]
            view = view[n:]

    def recv(self, n: int = 65536, timeout: float | None = None) -> bytes:
        while True:
            try:
                return self.sk.recvmsg(n, 0)[0]
            except KernelError as exc:
                if exc.errno != errno.EAGAIN:
                    raise
            if not self._wait(POLLIN | POLLERR | POLLHUP, timeout):
                raise TimeoutError("recv")

    def recv_exact(self, n: int) -> bytes:
        parts = []
        while n:
            chunk = self.recv(n)
            if not chunk:
                break
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def recv_all(self) -> bytes:
        parts = []
        while True:
            chunk = self.recv()
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    def shutdown(self, how: int) -> None:
        self.sk.shutdown(how)

    def close(self) -> None:
        self.sk.close()

    @property
    def state(self) -> str:
        from usernet.transport.tcp import STATE_NAMES

        return STATE_NAMES[self.sk.state]

    def peer(self) -> str:
        a, p = self.sk.getpeername()
        return f"{addr_str(a)}:{p}"


# -- packet surgery ---------------------------------------------------------------------


def tcp_frame(dst_mac: bytes, src: str, dst: str, sport: int, dport: int, seq: int, ack: int,
              flags: int, win: int = 65535, payload: bytes = b"", opts: bytes = b"",
              src_mac: bytes = b"\x02\x00\x00\x00\x00\x01", urg: int = 0) -> bytes:
    """An Ethernet frame carrying a TCP segment with correct checksums."""
    import struct

    from usernet.wire.checksum import csum_partial, ip_checksum, pseudo_header_sum
    from usernet.wire.ipv4 import ipv4_header

    s, d = ip(src), ip(dst)
    tcp_len = 20 + len(opts) + len(payload)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      ((20 + len(opts)) // 4) << 4, flags, win, 0, urg) + opts
    check = ~csum_partial(hdr + payload, pseudo_header_sum(s, d, 6, tcp_len)) & 0xFFFF
    seg = hdr[:16] + check.to_bytes(2, "big") + hdr[18:] + payload
    iph = bytearray(ipv4_header(0, 20 + tcp_len, 1, 0x4000, 64, 6, s, d))
    iph[10:12] = b"\0\0"
    iph[10:12] = ip_checksum(bytes(iph)).to_bytes(2, "big")
    return dst_mac + src_mac + b"\x08\x00" + bytes(iph) + seg


def inject(dev: Any, frame: bytes) -> None:
    """Hand ``frame`` to ``dev`` as if it arrived on the wire (checksums checked)."""
    from usernet.dev.datapath import netif_receive

    netif_receive(dev, frame)


def parse_tcp(frame: bytes) -> dict[str, Any] | None:
    """The TCP fields of an IPv4/TCP Ethernet frame (None for anything else)."""
    import struct

    from usernet.wire.tcp import parse_options

    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 15) * 4
    t = 14 + ihl
    sport, dport, seq, ack, doff, flags, win, _csum, urg = struct.unpack_from("!HHIIBBHHH",
                                                                             frame, t)
    doff = (doff >> 4) * 4
    tot = int.from_bytes(frame[16:18], "big")
    opts = parse_options(frame, t + 20, t + doff, bool(flags & 2))
    return {"src": addr_str(int.from_bytes(frame[26:30], "big")),
            "dst": addr_str(int.from_bytes(frame[30:34], "big")), "sport": sport,
            "dport": dport, "seq": seq, "ack": ack, "flags": flags, "win": win, "urg": urg,
            "len": tot - ihl - doff, "opts": opts, "ipid": int.from_bytes(frame[18:20], "big"),
            "ttl": frame[22]}


class Dropper:
    """Drop frames a veth sends when ``pred(frame)`` says so (a lossy link):
    installed on the Veth class for the test's duration (monkeypatch)."""

    def __init__(self, monkeypatch: Any) -> None:
        from usernet.dev.veth import Veth

        self.pred: Any = None
        self.dropped: list[bytes] = []
        self.times: list[int] = []
        orig = Veth.ndo_start_xmit
        dropper = self

        def xmit(dev: Veth, frame: bytes) -> None:
            if dropper.pred is not None and dropper.pred(dev, frame):
                dropper.dropped.append(frame)
                dropper.times.append(dev.net.kernel.sched.now)
                return
            orig(dev, frame)

        monkeypatch.setattr(Veth, "ndo_start_xmit", xmit)
        monkeypatch.setattr(Veth, "ndo_start_xmit_list",
                            lambda dev, frames: [xmit(dev, f) for f in frames] and None)
