"""The LOG target's output: one kernel log line per logged packet, as
``nf_log_syslog.c`` (``nf_log_ip_packet``) writes it.

    <prefix>IN=ra OUT=rb MAC=02:..:08:00 SRC=10.0.0.1 DST=10.0.0.2 LEN=84
    TOS=0x00 PREC=0x00 TTL=63 ID=51427 DF PROTO=ICMP TYPE=8 CODE=0 ID=15844 SEQ=1

(one line, with the kernel's trailing space).  ``MAC=`` (or the
``--log-macdecode`` form) appears only when the packet has an input device;
it is the link-layer header the packet arrived with, also at POSTROUTING of
a forwarded packet.  Bridged packets (br_netfilter) add ``PHYSIN=``/
``PHYSOUT=``.  ICMP errors show the packet they quote in brackets, once.
``--log-uid`` adds ``UID=u GID=g `` for a packet whose socket has a file
(:func:`sk_log_cred`).

The log is the kernel's (:mod:`usernet.printk`); only the initial namespace
may write to it unless ``net.netfilter.nf_log_all_netns`` is set
(``nf_log_allowed``), so LOG in other namespaces counts but prints nothing.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ..printk import KERN_SOH, printk
from ..sock import CtlSock, Sock

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net
    from .packet import LogRequest

# struct nf_loginfo logflags (xt_LOG.h)
NF_LOG_TCPSEQ = 0x01
NF_LOG_TCPOPT = 0x02
NF_LOG_IPOPT = 0x04
NF_LOG_UID = 0x08
NF_LOG_MACDECODE = 0x20

IP_CE = 0x8000
IP_DF = 0x4000
IP_MF = 0x2000
IP_OFFSET = 0x1FFF
ETH_HLEN = 14

# The frame the stack is receiving (the skb's MAC header): ip_rcv sets it in
# namespaces with rules.  Reception is synchronous, so while the hooks of a
# received packet run this is that packet's frame (a forwarded packet keeps
# it through FORWARD), as an skb keeps its link-layer header.
rx_frame: bytes | None = None

_IPHDR = struct.Struct("!BBHHHBBH4s4s")
_PORTS = struct.Struct("!HH")
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHH")

# ICMP types whose body must be present in full to be dumped (required_len)
_ICMP_REQUIRED = {0: 4, 3: 28, 4: 28, 5: 28, 8: 4, 11: 28, 12: 28, 13: 20, 14: 20,
                  17: 12, 18: 12}
NR_ICMP_TYPES = 18
_TCP_FLAGS = ((0x80, "CWR "), (0x40, "ECE "), (0x20, "URG "), (0x10, "ACK "),
              (0x08, "PSH "), (0x04, "RST "), (0x02, "SYN "), (0x01, "FIN "))


def nf_log_allowed(net: Net) -> bool:
    """init_net always logs; other namespaces only with nf_log_all_netns."""
    if net.is_init_net:
        return True
    from ..sysctl import core_global

    value = core_global(net.kernel.init_net).values["net.netfilter.nf_log_all_netns"]
    return int(value) != 0


def sk_log_cred(sk: Any) -> tuple[int, int] | None:
    """nf_log_dump_sk_uid_gid's (uid, gid): only a full socket that a file
    holds has them -- not a SYN-ACK's request socket, the kernel's control
    socket, an orphan or a child not yet accepted."""
    if not isinstance(sk, Sock | CtlSock):
        return None
    cred = sk.file_cred
    return None if cred is None else (cred.uid, cred.gid)


def nf_log_packet(net: Net, pkt: bytes, indev: NetDevice | None, outdev: NetDevice | None,
                  reqs: list[LogRequest], *, mac: bytes | None = None,
                  physin: NetDevice | None = None, physout: NetDevice | None = None,
                  mark: int = 0, uid: tuple[int, int] | None = None) -> None:
    """Write one line per LOG request for IPv4 packet ``pkt`` (header at 0).

    ``mac`` is the link-layer header the packet was received with (by
    default the frame being received, when there is an input device);
    ``uid`` the (uid, gid) of the local socket that sent it."""
    if not nf_log_allowed(net):
        return
    if mac is None and indev is not None:
        mac = rx_frame
    if physin is None:
        from ..dev.br_netfilter import bridge_info_for

        info = bridge_info_for(rx_frame)
        if info is not None and (indev is not None or info.post):
            physin, physout = info.physindev, info.physoutdev
    for req in reqs:
        line = format_log(req.prefix, req.flags, pkt, indev, outdev, mac=mac, physin=physin,
                          physout=physout, mark=mark, uid=uid)
        printk(net.kernel, f"{KERN_SOH}{req.level & 7}{line}")


def format_log(prefix: str, flags: int, pkt: bytes, indev: NetDevice | None,
               outdev: NetDevice | None, *, mac: bytes | None = None,
               physin: NetDevice | None = None, physout: NetDevice | None = None,
               mark: int = 0, uid: tuple[int, int] | None = None) -> str:
    """The text of one LOG line (nf_log_dump_packet_common + the IPv4 dump)."""
    m = [f"{prefix}IN={indev.name if indev else ''} OUT={outdev.name if outdev else ''} "]
    if physin is not None and physin is not indev:
        m.append(f"PHYSIN={physin.name} ")
    if physout is not None and physout is not outdev:
        m.append(f"PHYSOUT={physout.name} ")
    if indev is not None:
        _dump_mac(m, flags, indev, mac)
    if _dump_ipv4(m, pkt, 0, flags):
        if flags & NF_LOG_UID and uid is not None:
            m.append(f"UID={uid[0]} GID={uid[1]} ")
        if mark:
            m.append(f"MARK=0x{mark:x} ")
    return "".join(m)


def _dump_mac(m: list[str], flags: int, dev: NetDevice, mac: bytes | None) -> None:
    """dump_mac_header: decoded for Ethernet with --log-macdecode, else the
    header's bytes (hard_header_len of them)."""
    ether = dev.link_type == "ether"
    if flags & NF_LOG_MACDECODE and ether and mac is not None and len(mac) >= ETH_HLEN:
        m.append(f"MACSRC={_mac(mac[6:12])} MACDST={_mac(mac[0:6])} "
                 f"MACPROTO={(mac[12] << 8) | mac[13]:04x} ")
        return
    if mac is None or len(mac) < ETH_HLEN:
        m.append("MAC= ")
        return
    m.append(f"MAC={mac[:ETH_HLEN].hex(':')} ")


def _mac(b: bytes) -> str:
    return b.hex(":")


def _dump_ipv4(m: list[str], pkt: bytes, off: int, flags: int) -> bool:
    """dump_ipv4_packet from offset ``off``; False where the kernel stops
    early (a truncated header), so the caller adds nothing after it."""
    if len(pkt) - off < 20:
        m.append("TRUNCATED")
        return False
    _vihl, tos, tot_len, ident, frag, ttl, proto, _csum, src, dst = _IPHDR.unpack_from(pkt, off)
    ihl = (pkt[off] & 15) << 2
    m.append(f"SRC={_ip(src)} DST={_ip(dst)} LEN={tot_len} TOS=0x{tos & 0x1E:02X} "
             f"PREC=0x{tos & 0xE0:02X} TTL={ttl} ID={ident} ")
    if frag & IP_CE:
        m.append("CE ")
    if frag & IP_DF:
        m.append("DF ")
    if frag & IP_MF:
        m.append("MF ")
    fragment = frag & IP_OFFSET
    if fragment:
        m.append(f"FRAG:{fragment} ")
    if flags & NF_LOG_IPOPT and ihl > 20:
        if len(pkt) < off + ihl:
            m.append("TRUNCATED")
            return False
        m.append(f"OPT ({pkt[off + 20:off + ihl].hex().upper()}) ")
    body = off + ihl
    if proto == 6:
        return _dump_tcp(m, pkt, body, fragment, flags)
    if proto in (17, 136):
        return _dump_udp(m, pkt, body, fragment, proto)
    if proto == 1:
        _dump_icmp(m, pkt, off, body, fragment, flags)
    elif proto in (50, 51):
        m.append("PROTO=ESP " if proto == 50 else "PROTO=AH ")
        if not fragment:
            spi_at = body + (0 if proto == 50 else 4)
            if len(pkt) - body < (8 if proto == 50 else 12):  # ip_esp_hdr / ip_auth_hdr
                m.append(f"INCOMPLETE [{max(len(pkt) - body, 0)} bytes] ")
            else:
                m.append(f"SPI=0x{int.from_bytes(pkt[spi_at:spi_at + 4], 'big'):x} ")
    else:
        m.append(f"PROTO={proto} ")
    return True


def _ip(b: bytes) -> str:
    return f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"


def _dump_tcp(m: list[str], pkt: bytes, off: int, fragment: int, flags: int) -> bool:
    """nf_log_dump_tcp_header."""
    m.append("PROTO=TCP ")
    if fragment:
        return True
    if len(pkt) - off < 20:
        m.append(f"INCOMPLETE [{max(len(pkt) - off, 0)} bytes] ")
        return False
    sport, dport, seq, ack, doff, tflags, window, _csum, urg = _TCP.unpack_from(pkt, off)
    m.append(f"SPT={sport} DPT={dport} ")
    if flags & NF_LOG_TCPSEQ:
        m.append(f"SEQ={seq} ACK={ack} ")
    m.append(f"WINDOW={window} RES=0x{(doff & 0x0F) << 2:02x} ")
    m.extend(name for bit, name in _TCP_FLAGS if tflags & bit)
    m.append(f"URGP={urg} ")
    optlen = ((doff >> 4) << 2) - 20
    if flags & NF_LOG_TCPOPT and optlen > 0:
        if len(pkt) < off + 20 + optlen:
            m.append("OPT (TRUNCATED)")
            return False
        m.append(f"OPT ({pkt[off + 20:off + 20 + optlen].hex().upper()}) ")
    return True


def _dump_udp(m: list[str], pkt: bytes, off: int, fragment: int, proto: int) -> bool:
    """nf_log_dump_udp_header (UDP and UDP-Lite)."""
    m.append("PROTO=UDP " if proto == 17 else "PROTO=UDPLITE ")
    if fragment:
        return True
    if len(pkt) - off < 8:
        m.append(f"INCOMPLETE [{max(len(pkt) - off, 0)} bytes] ")
        return False
    sport, dport, ulen = _UDP.unpack_from(pkt, off)
    m.append(f"SPT={sport} DPT={dport} LEN={ulen} ")
    return True


def _dump_icmp(m: list[str], pkt: bytes, off: int, body: int, fragment: int,
               flags: int) -> None:
    m.append("PROTO=ICMP ")
    if fragment:
        return
    left = len(pkt) - body
    if left < 8:
        m.append(f"INCOMPLETE [{max(left, 0)} bytes] ")
        return
    itype, code = pkt[body], pkt[body + 1]
    m.append(f"TYPE={itype} CODE={code} ")
    need = _ICMP_REQUIRED.get(itype, 0) if itype <= NR_ICMP_TYPES else 0
    if need and left < need:
        m.append(f"INCOMPLETE [{left} bytes] ")
        return
    if itype in (0, 8):
        ident, seq = _PORTS.unpack_from(pkt, body + 4)
        m.append(f"ID={ident} SEQ={seq} ")
    elif itype == 12:
        m.append(f"PARAMETER={pkt[body + 4]} ")
    elif itype in (3, 4, 5, 11):
        if itype == 5:
            m.append(f"GATEWAY={_ip(pkt[body + 4:body + 8])} ")
        if off == 0:  # only recurse once
            m.append("[")
            _dump_ipv4(m, pkt, body + 8, flags)
            m.append("] ")
        if itype == 3 and code == 4:
            m.append(f"MTU={(pkt[body + 6] << 8) | pkt[body + 7]} ")
