"""Teardown and resets: FIN handshakes, TIME_WAIT, RST in every state,
RFC 5961 challenge ACKs, SO_LINGER, orphans."""

from __future__ import annotations

import errno
import socket as _s
import struct
from typing import Any

import pytest
from tcp_helpers import inject, ip, parse_tcp, tcp_frame

from usernet import Kernel
from usernet.errors import KernelError
from usernet.sock import POLLERR, POLLHUP, POLLIN
from usernet.testing import VETH_PAIR
from usernet.transport.tcp import STATE_NAMES, TcpSock
from usernet.transport.tcp_table import ehash, sockets_of, tcp_net
from usernet.wire.tcp import ACK, FIN, RST, SYN

PORT = 7200


def _pair(k: Kernel) -> tuple[TcpSock, TcpSock]:
    """(client in a, accepted socket in b), established, through the kernel API."""
    ls = TcpSock(k.netns_get("b"))
    ls.bind((0, PORT))
    ls.listen(4)
    c = TcpSock(k.netns_get("a"))
    with pytest.raises(KernelError):
        c.connect((ip("10.0.0.2"), PORT))
    k.sched.run_for(1_000_000)
    c.connect((ip("10.0.0.2"), PORT))
    a = ls.accept()
    ls.close()
    return c, a  # type: ignore[return-value]


def _state(sk: TcpSock) -> str:
    return STATE_NAMES[sk.state]


def _seg_out(cap: object, src: str) -> list[dict[str, object]]:
    return [s for s in (parse_tcp(f) for _, f in cap.packets)  # type: ignore[attr-defined]
            if s and s["src"] == src]


def _injection_setup() -> tuple[Kernel, Any, Any, Any, Any]:
    """An established pair over VETH_PAIR, b's v1 to inject frames into and
    a capture on it: the set-up of every hostile-segment test."""
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    return k, c, a, v1, k.capture("b", "v1")


def test_active_close_goes_through_time_wait_for_60_seconds() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    port = c.sport
    c.close()
    assert _state(c) == "FIN_WAIT1"
    k.sched.run_for(1_000_000)
    assert _state(c) == "FIN_WAIT1"  # the FIN's ACK is delayed (pingpong after a FIN)
    k.sched.run_for(40_000_000)
    assert _state(c) == "CLOSE"  # an orphan in FIN_WAIT2 became a timewait socket
    assert sockets_of(k.netns_get("a"))[0].substate == 5
    a.close()
    k.sched.run_for(1_000_000)
    tws = [s for s in sockets_of(k.netns_get("a"))]
    assert len(tws) == 1 and tws[0].state == 6 and tws[0].substate == 6
    assert tws[0].lport == port
    k.sched.run_for(59_000_000_000)
    assert sockets_of(k.netns_get("a"))
    k.sched.run_for(1_000_000_000)
    assert not sockets_of(k.netns_get("a"))
    assert tcp_net(k.netns_get("a")).mib["TW"] == 1
    assert not [key for key in ehash if key[0] in (k.netns_get("a"), k.netns_get("b"))]
    assert k.sched.next_time() is None or k.sched.next_time() > k.sched.now


def test_time_wait_reacks_a_retransmitted_fin() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    c.close()
    k.sched.run_for(1_000_000)
    a.close()
    k.sched.run_for(1_000_000)
    cap = k.capture("a", "v0")
    v0 = k.netns_get("a").dev_get_by_name("v0")
    assert v0 is not None
    fin = tcp_frame(v0.dev_addr, "10.0.0.2", "10.0.0.1", PORT, c.sport, a.snd_nxt - 1,
                    a.rcv_nxt, FIN | ACK)
    inject(v0, fin)
    k.sched.run_for(1_000_000)
    out = _seg_out(cap, "10.0.0.1")
    assert len(out) == 1 and out[0]["flags"] == ACK
    assert out[0]["ack"] == a.snd_nxt & 0xFFFFFFFF


def test_simultaneous_close() -> None:
    """Both FINs cross: FIN_WAIT1 -> CLOSING -> TIME_WAIT on both sides."""
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    c.shutdown(_s.SHUT_WR)
    a.shutdown(_s.SHUT_WR)
    k.sched.run_for(15_000)  # both FINs in flight, arrived
    assert _state(c) in ("CLOSING", "TIME_WAIT") and _state(a) in ("CLOSING", "TIME_WAIT")
    k.sched.run_for(1_000_000)
    assert _state(c) == _state(a) == "CLOSE"  # both made timewait sockets
    tw = [s for net in ("a", "b") for s in sockets_of(k.netns_get(net))]
    assert [t.state for t in tw] == [6, 6]


def test_passive_close_last_ack() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    c.shutdown(_s.SHUT_WR)
    k.sched.run_for(1_000_000)
    assert _state(a) == "CLOSE_WAIT" and a.poll() & POLLIN
    assert a.recvmsg(10, 0)[0] == b""
    a.sendmsg(b"bye", None, 0)
    a.close()
    assert _state(a) == "LAST_ACK"
    k.sched.run_for(1_000_000)
    assert _state(a) == "CLOSE"
    assert c.recvmsg(10, 0)[0] == b"bye"
    assert c.recvmsg(10, 0)[0] == b""


def test_rst_with_the_expected_sequence_resets() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT, a.rcv_nxt, 0, RST))
    assert _state(a) == "CLOSE" and a.poll() & (POLLERR | POLLHUP)
    with pytest.raises(KernelError) as ei:
        a.recvmsg(10, 0)
    assert ei.value.errno == errno.ECONNRESET
    assert a.recvmsg(10, 0)[0] == b""
    with pytest.raises(KernelError) as ei:
        a.sendmsg(b"x", None, 0)
    assert ei.value.errno == errno.EPIPE
    assert tcp_net(k.netns_get("b")).mib["EstabResets"] == 1


@pytest.mark.parametrize("offset", [1, 1000, 60000])
def test_in_window_rst_gets_a_challenge_ack(offset: int) -> None:
    """RFC 5961 3.2: a RST inside the window but not at RCV.NXT is answered
    by an ACK; the connection lives on."""
    k, c, a, v1, cap = _injection_setup()
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT,
                         a.rcv_nxt + offset, 0, RST))
    assert _state(a) == "ESTABLISHED"
    out = _seg_out(cap, "10.0.0.2")
    assert len(out) == 1 and out[0]["flags"] == ACK and out[0]["ack"] == a.rcv_nxt & 0xFFFFFFFF
    assert tcp_net(k.netns_get("b")).mib["TCPChallengeACK"] == 1
    k.sched.run_for(1_000_000)
    assert _state(c) == "ESTABLISHED"  # the challenge ACK is a duplicate for c


def test_out_of_window_rst_is_ignored() -> None:
    _k, c, a, v1, cap = _injection_setup()
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT,
                         a.rcv_nxt + 10_000_000, 0, RST))
    assert _state(a) == "ESTABLISHED" and not _seg_out(cap, "10.0.0.2")


def test_syn_on_an_established_connection_gets_a_challenge_ack() -> None:
    """RFC 5961 4.2, including a SYN with the very sequence number expected."""
    k, c, a, v1, cap = _injection_setup()
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT, a.rcv_nxt, 0, SYN))
    assert _state(a) == "ESTABLISHED"
    out = _seg_out(cap, "10.0.0.2")
    assert len(out) == 1 and out[0]["flags"] == ACK
    mib = tcp_net(k.netns_get("b")).mib
    assert mib["TCPSYNChallenge"] == 1 and mib["TCPChallengeACK"] == 1
    # a second one within net.ipv4.tcp_invalid_ratelimit (500 ms) is not answered
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT, a.rcv_nxt, 0, SYN))
    assert len(_seg_out(cap, "10.0.0.2")) == 1
    assert mib["TCPACKSkippedChallenge"] == 1


def test_blind_data_injection_with_an_old_ack_is_challenged() -> None:
    """RFC 5961 5.2: data whose ACK is far below SND.UNA is dropped with a
    challenge ACK; data acknowledging what was never sent is dropped."""
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    a.sendmsg(b"z" * 100, None, 0)
    k.sched.run_for(1_000_000)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT, a.rcv_nxt,
                         a.snd_una - 1_000_000, ACK, payload=b"evil"))
    assert not a.rcvq_bytes
    assert tcp_net(k.netns_get("b")).mib["TCPChallengeACK"] == 1
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT, a.rcv_nxt,
                         a.snd_nxt + 5000, ACK, payload=b"evil"))
    assert not a.rcvq_bytes


def test_out_of_window_data_is_dropped_with_a_duplicate_ack() -> None:
    _k, c, a, v1, cap = _injection_setup()
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT,
                         a.rcv_nxt + 10_000_000, a.snd_nxt, ACK, payload=b"far away"))
    assert not a.rcvq_bytes
    out = _seg_out(cap, "10.0.0.2")
    assert len(out) == 1 and out[0]["ack"] == a.rcv_nxt & 0xFFFFFFFF


def test_segment_without_ack_flag_is_dropped() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT, a.rcv_nxt, 0,
                         0, payload=b"no ack"))
    inject(v1, tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT, a.rcv_nxt, 0,
                         FIN, payload=b"fin, no ack"))
    assert not a.rcvq_bytes and _state(a) == "ESTABLISHED"


def test_bad_checksum_is_counted_and_dropped() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    v1 = k.netns_get("b").dev_get_by_name("v1")
    assert v1 is not None
    frame = bytearray(tcp_frame(v1.dev_addr, "10.0.0.1", "10.0.0.2", c.sport, PORT, a.rcv_nxt,
                                a.snd_nxt, ACK, payload=b"data"))
    frame[-1] ^= 0xFF
    inject(v1, bytes(frame))
    assert not a.rcvq_bytes
    mib = tcp_net(k.netns_get("b")).mib
    assert mib["InCsumErrors"] == 1 and mib["InErrs"] == 1


def test_rst_in_syn_sent_needs_an_acceptable_ack() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c = TcpSock(k.netns_get("a"))
    c.bind((ip("10.0.0.1"), 4444))
    with pytest.raises(KernelError):
        c.connect((ip("10.0.0.99"), 80))  # nobody answers
    v0 = k.netns_get("a").dev_get_by_name("v0")
    assert v0 is not None
    inject(v0, tcp_frame(v0.dev_addr, "10.0.0.99", "10.0.0.1", 80, 4444, 0, c.iss + 5, RST | ACK))
    assert _state(c) == "SYN_SENT"  # unacceptable ACK: ignored
    inject(v0, tcp_frame(v0.dev_addr, "10.0.0.99", "10.0.0.1", 80, 4444, 0, 0, RST))
    assert _state(c) == "SYN_SENT"  # RST without ACK: ignored
    inject(v0, tcp_frame(v0.dev_addr, "10.0.0.99", "10.0.0.1", 80, 4444, 0, c.iss + 1, RST | ACK))
    assert _state(c) == "CLOSE" and c.sock_error() == errno.ECONNREFUSED


def test_close_with_unread_data_sends_rst() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    c.sendmsg(b"unread", None, 0)
    k.sched.run_for(1_000_000)
    cap = k.capture("b", "v1")
    a.close()
    out = _seg_out(cap, "10.0.0.2")
    assert [s["flags"] for s in out] == [RST | ACK]
    k.sched.run_for(1_000_000)
    with pytest.raises(KernelError) as ei:
        c.recvmsg(10, 0)
    assert ei.value.errno == errno.ECONNRESET
    assert tcp_net(k.netns_get("b")).mib["TCPAbortOnClose"] == 1


def test_so_linger_zero_aborts() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    a.setsockopt(_s.SOL_SOCKET, _s.SO_LINGER, struct.pack("ii", 1, 0))
    assert struct.unpack("ii", a.getsockopt(_s.SOL_SOCKET, _s.SO_LINGER)) == (1, 0)
    cap = k.capture("b", "v1")
    a.close()
    assert [s["flags"] for s in _seg_out(cap, "10.0.0.2")] == [RST | ACK]
    k.sched.run_for(1_000_000)
    assert _state(c) == "CLOSE"
    assert not sockets_of(k.netns_get("b"))  # no TIME_WAIT after an abort


def test_data_after_close_resets_the_orphan() -> None:
    """Data for a socket the application closed: RST (TCPAbortOnData)."""
    k = Kernel()
    k.script(VETH_PAIR)
    c, a = _pair(k)
    a.shutdown(_s.SHUT_RD)
    a.close()
    k.sched.run_for(1_000_000)  # a: FIN_WAIT2 (orphan, now a timewait socket)
    cap = k.capture("b", "v1")
    c.sendmsg(b"too late", None, 0)
    k.sched.run_for(1_000_000)
    assert [s["flags"] for s in _seg_out(cap, "10.0.0.2")] == [RST]
    assert _state(c) == "CLOSE"


def test_shutdown_states_and_errors() -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    sk = TcpSock(k.netns_get("a"))
    with pytest.raises(KernelError) as ei:
        sk.shutdown(_s.SHUT_RDWR)
    assert ei.value.errno == errno.ENOTCONN
    with pytest.raises(KernelError) as ei:
        sk.shutdown(7)
    assert ei.value.errno == errno.EINVAL
    c, _a = _pair(k)
    c.shutdown(_s.SHUT_RD)
    assert c.poll() & POLLIN and c.recvmsg(10, 0)[0] == b""
    c.shutdown(_s.SHUT_WR)
    with pytest.raises(KernelError) as ei:
        c.sendmsg(b"x", None, 0)
    assert ei.value.errno == errno.EPIPE
