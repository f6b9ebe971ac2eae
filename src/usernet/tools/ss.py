"""iproute2 ``ss`` (version 6.1.0) over the kernel's socket tables, per namespace.

What ss prints is assembled the way ``misc/ss.c`` assembles it, so the text
is the real program's byte for byte:

* **Rendering.**  Every field goes to a column (Netid, State, Recv-Q, Send-Q,
  local address, port, peer address, port, "Process", a last empty one);
  widths are the longest field of each column plus its one-space delimiter,
  computed over the whole output.  Local and peer addresses (with their
  ``:``) are right-aligned, the rest left-aligned; fields are padded on the
  right, so lines end in spaces.  Standard output is never a terminal here,
  which is ss's "compact" mode: no spreading over 80 columns.  One quirk is
  kept: the last row's "Process" field is never measured (ss measures a
  field when it moves past it, and it never moves past that one), so a long
  ``-o``/``-e``/``-i`` tail on the last row does not widen the column.
  Netid is hidden when one socket table is shown, State when one state is.
* **Selection.**  Options, the ``state``/``exclude`` words and the filter
  expression (``dst``, ``src``, ``dport``, ``sport`` with ``= != < > <= >=``,
  ``dev``, ``fwmark``, ``autobound``, ``and``/``or``/``not``/``!``, parentheses;
  left to right, as ss's grammar reads them) select what the kernel's
  ``inet_diag`` bytecode and ss's own ``run_ssfilter`` would both accept.
* **Per namespace.**  Only the sockets of the caller's namespace are listed
  (``-N NAME`` switches to a named one); the shared tables are keyed by
  namespace, so nothing of another namespace can show.
* **Tables.**  TCP: listeners first, then the connection table (established
  and closing sockets, ``TIME_WAIT`` sockets shown with their sub-state, SYN
  queue entries as ``SYN-RECV``).  UDP by port.  Raw sockets come, as on the
  oracle kernel (no ``raw_diag``), from the ``/proc/net/raw`` reading: no
  ``%dev``, no ``-e`` details.  Netlink: the kernel's own netlink sockets of
  a namespace and ss's ``sock_diag`` socket, as ``ss -a`` shows them.
  AF_UNIX, as ``unix_diag`` reports a namespace's sockets (those created
  there; an accepted one was created in the connecting socket's
  namespace), every one with an inode (not an embryo still in a listener's
  queue): ``u_str``/``u_dgr``/``u_seq``, the name (``*`` unnamed, an
  abstract one with ``@`` for each NUL), the inode as the port, the peer
  always as ``*`` with the peer's inode (0: none); the state filter is the
  kernel's, and ``src``/``dst`` patterns, ``autobound`` and the rest are
  run_ssfilter's (a unix pattern is glibc's ``fnmatch`` with
  ``FNM_CASEFOLD``; the peer has no name, so ``dst`` sees "").  ``-e`` adds
  the shutdown mask, the socket file's inode and device and a listener's
  queued peers; there is no ``uid:``/``ino:``/``sk:`` for them.  There are
  no packet or other sockets in usernet; DCCP is absent as on the oracle
  (ss reports "RTNETLINK answers: Invalid argument" when asked).
* **Queues.**  As Linux reports them: for a listener the accept queue and
  the backlog; for a TCP connection the bytes not yet read (``rcv_nxt -
  copied_seq``, a received FIN counting one) and those not yet acknowledged
  (``write_seq - snd_una``, a SYN or FIN counting one); for UDP and raw
  sockets the receive memory (the skb truesize of what is queued) and 0;
  for AF_UNIX the bytes queued (a datagram socket: its first datagram's)
  and the truesize of what the socket sent that is still unread.
* **Names.**  Without ``-n`` ports are named from netbase 6.4's
  ``/etc/services`` (outside the namespace's ephemeral port range) and raw
  sockets' protocols from ``/etc/protocols``, copied below so that output
  does not depend on the host.  Addresses are never resolved (``-r`` is
  accepted).  Inode numbers and socket cookies are small counters of the
  kernel, given when ss first shows a socket; there is no cgroup.  ``-e``
  shows ``uid:`` (the socket's sk_uid) unless it is 0, as ss does.
* ``-p`` shows the descriptors of usernet.socket's table.  That table is
  one per kernel ("one process's, as far as usernet knows"), so they are
  shown as held by ``python3``, pid 1 (:data:`KERNEL_FD_OWNER`), with the
  descriptor numbers a CPython program opening the same sockets gets.  A
  process with a table of its own (a ``files`` mapping) would be shown
  under its own name and pid.  Sockets without a descriptor (TIME_WAIT,
  orphaned, not yet accepted) have none, as in Linux.

``-i`` prints Linux's ``tcp_info`` computed from the TCP socket's state;
counters the TCP model does not keep are left out, as ss leaves out zeros.
Not supported: ``-s``, ``-m``, ``-E``, ``-K``, ``-D``, ``-F`` (an error says so).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import Proc, ToolExit

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..net import Net
    from ..unix.af_unix import UnixSock

VERSION = "ss utility, iproute2-6.1.0\n"

# -- states (SS_*), tables (*_DB), families ---------------------------------------------

SS_UNKNOWN, SS_ESTABLISHED, SS_SYN_SENT, SS_SYN_RECV, SS_FIN_WAIT1, SS_FIN_WAIT2 = range(6)
SS_TIME_WAIT, SS_CLOSE, SS_CLOSE_WAIT, SS_LAST_ACK, SS_LISTEN, SS_CLOSING, SS_MAX = range(6, 13)
SS_ALL = (1 << SS_MAX) - 1
SS_CONN = SS_ALL & ~((1 << SS_LISTEN) | (1 << SS_CLOSE) | (1 << SS_TIME_WAIT)
                     | (1 << SS_SYN_RECV))

STATE_NAMES = ("UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
               "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING")
_STATE_WORDS = ("UNKNOWN", "established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2",
                "time-wait", "unconnected", "close-wait", "last-ack", "listening", "closing")

(TCP_DB, MPTCP_DB, DCCP_DB, UDP_DB, RAW_DB, UNIX_DG_DB, UNIX_ST_DB, UNIX_SQ_DB, PACKET_DG_DB,
 PACKET_R_DB, NETLINK_DB, SCTP_DB, VSOCK_ST_DB, VSOCK_DG_DB, TIPC_DB, XDP_DB, MAX_DB) = range(17)
PACKET_DBM = (1 << PACKET_DG_DB) | (1 << PACKET_R_DB)
UNIX_DBM = (1 << UNIX_DG_DB) | (1 << UNIX_ST_DB) | (1 << UNIX_SQ_DB)
INET_L4_DBM = (1 << TCP_DB) | (1 << MPTCP_DB) | (1 << UDP_DB) | (1 << DCCP_DB) | (1 << SCTP_DB)
INET_DBM = INET_L4_DBM | (1 << RAW_DB)
VSOCK_DBM = (1 << VSOCK_ST_DB) | (1 << VSOCK_DG_DB)

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6 = 0, 1, 2, 10
AF_NETLINK, AF_PACKET, AF_TIPC, AF_VSOCK, AF_XDP = 16, 17, 30, 40, 44

TIPC_SS_CONN = (1 << SS_ESTABLISHED) | (1 << SS_LISTEN) | (1 << SS_CLOSE)
_INET_FAMS = (1 << AF_INET) | (1 << AF_INET6)
_ESTAB = 1 << SS_ESTABLISHED
_CLOSE = 1 << SS_CLOSE

# default_dbs[db] = (states, families)
DEFAULT_DBS: dict[int, tuple[int, int]] = {
    TCP_DB: (SS_CONN, _INET_FAMS), MPTCP_DB: (SS_CONN, _INET_FAMS),
    DCCP_DB: (SS_CONN, _INET_FAMS), UDP_DB: (_ESTAB, _INET_FAMS), RAW_DB: (_ESTAB, _INET_FAMS),
    UNIX_DG_DB: (_CLOSE, 1 << AF_UNIX), UNIX_ST_DB: (SS_CONN, 1 << AF_UNIX),
    UNIX_SQ_DB: (SS_CONN, 1 << AF_UNIX), PACKET_DG_DB: (_CLOSE, 1 << AF_PACKET),
    PACKET_R_DB: (_CLOSE, 1 << AF_PACKET), NETLINK_DB: (_CLOSE, 1 << AF_NETLINK),
    SCTP_DB: (SS_CONN, _INET_FAMS), VSOCK_ST_DB: (SS_CONN, 1 << AF_VSOCK),
    VSOCK_DG_DB: (SS_CONN, 1 << AF_VSOCK), TIPC_DB: (TIPC_SS_CONN, 1 << AF_TIPC),
    XDP_DB: (_CLOSE, 1 << AF_XDP),
}
# default_afs[af] = (dbs, states)
DEFAULT_AFS: dict[int, tuple[int, int]] = {
    AF_INET: (INET_DBM, SS_CONN), AF_INET6: (INET_DBM, SS_CONN), AF_UNIX: (UNIX_DBM, SS_CONN),
    AF_PACKET: (PACKET_DBM, _CLOSE), AF_NETLINK: (1 << NETLINK_DB, _CLOSE),
    AF_VSOCK: (VSOCK_DBM, SS_CONN), AF_TIPC: (1 << TIPC_DB, TIPC_SS_CONN),
    AF_XDP: (1 << XDP_DB, _CLOSE),
}
_DB_NAMES: dict[str, tuple[int, ...]] = {
    "all": (UDP_DB, DCCP_DB, TCP_DB, MPTCP_DB, RAW_DB, UNIX_ST_DB, UNIX_DG_DB, UNIX_SQ_DB,
            PACKET_R_DB, PACKET_DG_DB, NETLINK_DB, SCTP_DB, VSOCK_ST_DB, VSOCK_DG_DB, XDP_DB),
    "inet": (UDP_DB, DCCP_DB, TCP_DB, MPTCP_DB, SCTP_DB, RAW_DB),
    "udp": (UDP_DB,), "dccp": (DCCP_DB,), "tcp": (TCP_DB,), "mptcp": (MPTCP_DB,),
    "sctp": (SCTP_DB,), "raw": (RAW_DB,), "unix": (UNIX_ST_DB, UNIX_DG_DB, UNIX_SQ_DB),
    "unix_stream": (UNIX_ST_DB,), "u_str": (UNIX_ST_DB,), "unix_dgram": (UNIX_DG_DB,),
    "u_dgr": (UNIX_DG_DB,), "unix_seqpacket": (UNIX_SQ_DB,), "u_seq": (UNIX_SQ_DB,),
    "packet": (PACKET_R_DB, PACKET_DG_DB), "packet_raw": (PACKET_R_DB,),
    "p_raw": (PACKET_R_DB,), "packet_dgram": (PACKET_DG_DB,), "p_dgr": (PACKET_DG_DB,),
    "netlink": (NETLINK_DB,), "tipc": (TIPC_DB,), "vsock": (VSOCK_ST_DB, VSOCK_DG_DB),
    "vsock_stream": (VSOCK_ST_DB,), "v_str": (VSOCK_ST_DB,), "vsock_dgram": (VSOCK_DG_DB,),
    "v_dgr": (VSOCK_DG_DB,), "xdp": (XDP_DB,),
}
_FAMILY_WORDS = {"inet": AF_INET, "inet6": AF_INET6, "link": AF_PACKET, "unix": AF_UNIX,
                 "netlink": AF_NETLINK, "tipc": AF_TIPC, "vsock": AF_VSOCK, "xdp": AF_XDP}

# Linux's tcp_states.h numbers are the SS_* numbers; TCP_NEW_SYN_RECV shows as SYN-RECV.
TCP_NEW_SYN_RECV = 12
SOCK_BINDPORT_LOCK = 8

USAGE = """\
Usage: ss [ OPTIONS ]
       ss [ OPTIONS ] [ FILTER ]
   -h, --help          this message
   -V, --version       output version information
   -n, --numeric       don't resolve service names
   -r, --resolve       resolve host names
   -a, --all           display all sockets
   -l, --listening     display listening sockets
   -o, --options       show timer information
   -e, --extended      show detailed socket information
   -m, --memory        show socket memory usage
   -p, --processes     show process using socket
   -T, --threads       show thread using socket
   -i, --info          show internal TCP information
       --tipcinfo      show internal tipc socket information
   -s, --summary       show socket usage summary
       --tos           show tos and priority information
       --cgroup        show cgroup information
   -b, --bpf           show bpf filter socket information
   -E, --events        continually display sockets as they are destroyed
   -Z, --context       display task SELinux security contexts
   -z, --contexts      display task and socket SELinux security contexts
   -N, --net           switch to the specified network namespace name

   -4, --ipv4          display only IP version 4 sockets
   -6, --ipv6          display only IP version 6 sockets
   -0, --packet        display PACKET sockets
   -t, --tcp           display only TCP sockets
   -M, --mptcp         display only MPTCP sockets
   -S, --sctp          display only SCTP sockets
   -u, --udp           display only UDP sockets
   -d, --dccp          display only DCCP sockets
   -w, --raw           display only RAW sockets
   -x, --unix          display only Unix domain sockets
       --tipc          display only TIPC sockets
       --vsock         display only vsock sockets
       --xdp           display only XDP sockets
   -f, --family=FAMILY display sockets of type FAMILY
       FAMILY := {inet|inet6|link|unix|netlink|vsock|tipc|xdp|help}

   -K, --kill          forcibly close sockets, display what was closed
   -H, --no-header     Suppress header line
   -O, --oneline       socket's data printed on a single line
       --inet-sockopt  show various inet socket options

   -A, --query=QUERY, --socket=QUERY
       QUERY := {all|inet|tcp|mptcp|udp|raw|unix|unix_dgram|unix_stream|unix_seqpacket|\
packet|packet_raw|packet_dgram|netlink|dccp|sctp|vsock_stream|vsock_dgram|tipc|xdp}[,QUERY]

   -D, --diag=FILE     Dump raw information about TCP sockets to FILE
   -F, --filter=FILE   read filter information from FILE
       FILTER := [ state STATE-FILTER ] [ EXPRESSION ]
       STATE-FILTER := {all|connected|synchronized|bucket|big|TCP-STATES}
         TCP-STATES := {established|syn-sent|syn-recv|fin-wait-{1,2}|time-wait|closed|\
close-wait|last-ack|listening|closing}
          connected := {established|syn-sent|syn-recv|fin-wait-{1,2}|time-wait|close-wait|\
last-ack|closing}
       synchronized := {established|syn-recv|fin-wait-{1,2}|time-wait|close-wait|last-ack|\
closing}
             bucket := {syn-recv|time-wait}
                big := {established|syn-sent|fin-wait-{1,2}|closed|close-wait|last-ack|\
listening|closing}
"""

# getopt_long: "dhaletuwxnro460spTbEf:mMiA:D:F:vVzZN:KHSO" and long_opts
_SHORT = "dhaletuwxnro460spTbEf:mMiA:D:F:vVzZN:KHSO"
_LONG: tuple[tuple[str, bool, str], ...] = (
    ("numeric", False, "n"), ("resolve", False, "r"), ("options", False, "o"),
    ("extended", False, "e"), ("memory", False, "m"), ("info", False, "i"),
    ("processes", False, "p"), ("threads", False, "T"), ("bpf", False, "b"),
    ("events", False, "E"), ("dccp", False, "d"), ("tcp", False, "t"), ("sctp", False, "S"),
    ("udp", False, "u"), ("raw", False, "w"), ("unix", False, "x"), ("tipc", False, "tipc"),
    ("vsock", False, "vsock"), ("all", False, "a"), ("listening", False, "l"),
    ("ipv4", False, "4"), ("ipv6", False, "6"), ("packet", False, "0"), ("family", True, "f"),
    ("socket", True, "A"), ("query", True, "A"), ("summary", False, "s"), ("diag", True, "D"),
    ("filter", True, "F"), ("version", False, "V"), ("help", False, "h"),
    ("context", False, "Z"), ("contexts", False, "z"), ("net", True, "N"),
    ("tipcinfo", False, "tipcinfo"), ("tos", False, "tos"), ("cgroup", False, "cgroup"),
    ("kill", False, "K"), ("no-header", False, "H"), ("xdp", False, "xdp"),
    ("mptcp", False, "M"), ("oneline", False, "O"), ("inet-sockopt", False, "inet-sockopt"),
)

# -- /etc/services (netbase 6.4) and /etc/protocols ---------------------------------------
# "name port protos [aliases]": protos t(cp) u(dp) s(ctp) d(dp), in file order.
_SERVICES = (
    "tcpmux 1 t;echo 7 tu;discard 9 tu sink null;systat 11 t users;daytime 13 tu;netstat 15 t;"
    "qotd 17 t quote;chargen 19 tu ttytst source;ftp-data 20 t;ftp 21 t;fsp 21 u fspd;ssh 22 t;"
    "telnet 23 t;smtp 25 t mail;time 37 tu timserver;whois 43 t nicname;tacacs 49 tu;"
    "domain 53 tu;bootps 67 u;bootpc 68 u;tftp 69 u;gopher 70 t;finger 79 t;http 80 t www;"
    "kerberos 88 tu kerberos5 krb5 kerberos-sec;iso-tsap 102 t tsap;acr-nema 104 t dicom;"
    "pop3 110 t pop-3;sunrpc 111 tu portmapper;auth 113 t authentication tap ident;"
    "nntp 119 t readnews untp;ntp 123 u;epmap 135 t loc-srv;netbios-ns 137 u;netbios-dgm 138 u;"
    "netbios-ssn 139 t;imap2 143 t imap;snmp 161 tu;snmp-trap 162 tu snmptrap;cmip-man 163 tu;"
    "cmip-agent 164 tu;mailq 174 t;xdmcp 177 u;bgp 179 t;smux 199 t;qmtp 209 t;"
    "z3950 210 t wais;ipx 213 u;ptp-event 319 u;ptp-general 320 u;pawserv 345 t;zserv 346 t;"
    "rpc2portmap 369 tu;codaauth2 370 tu;clearcase 371 u Clearcase;ldap 389 tu;svrloc 427 tu;"
    "https 443 tu;snpp 444 t;microsoft-ds 445 t;kpasswd 464 tu;"
    "submissions 465 t ssmtp smtps urd;saft 487 t;isakmp 500 u;rtsp 554 tu;nqs 607 t;"
    "asf-rmcp 623 u;qmqp 628 t;ipp 631 t;ldp 646 tu;exec 512 t;biff 512 u comsat;login 513 t;"
    "who 513 u whod;shell 514 t cmd syslog;syslog 514 u;printer 515 t spooler;talk 517 u;"
    "ntalk 518 u;route 520 u router routed;gdomap 538 tu;uucp 540 t uucpd;klogin 543 t;"
    "kshell 544 t krcmd;dhcpv6-client 546 u;dhcpv6-server 547 u;afpovertcp 548 t;"
    "nntps 563 t snntp;submission 587 t;ldaps 636 tu;tinc 655 tu;silc 706 t;kerberos-adm 749 t;"
    "domain-s 853 tu;rsync 873 t;ftps-data 989 t;ftps 990 t;telnets 992 t;imaps 993 t;"
    "pop3s 995 t;socks 1080 t;proofd 1093 t;rootd 1094 t;openvpn 1194 tu;rmiregistry 1099 t;"
    "lotusnote 1352 t lotusnotes;ms-sql-s 1433 t;ms-sql-m 1434 u;ingreslock 1524 t;"
    "datametrics 1645 tu old-radius;sa-msg-port 1646 tu old-radacct;kermit 1649 t;"
    "groupwise 1677 t;l2f 1701 u l2tp;radius 1812 tu;radius-acct 1813 tu radacct;"
    "cisco-sccp 2000 t;nfs 2049 tu;gnunet 2086 tu;rtcm-sc104 2101 tu;gsigatekeeper 2119 t;"
    "gris 2135 t;cvspserver 2401 t;venus 2430 tu;venus-se 2431 tu;codasrv 2432 tu;"
    "codasrv-se 2433 tu;mon 2583 tu;dict 2628 t;f5-globalsite 2792 t;gsiftp 2811 t;gpsd 2947 t;"
    "gds-db 3050 t gds_db;icpv2 3130 u icp;isns 3205 tu;iscsi-target 3260 t;mysql 3306 t;"
    "ms-wbt-server 3389 t;nut 3493 tu;distcc 3632 t;daap 3689 t;svn 3690 t subversion;"
    "suucp 4031 t;sysrqd 4094 t;sieve 4190 t;epmd 4369 t;remctl 4373 t;f5-iquery 4353 t;"
    "ntske 4460 t;ipsec-nat-t 4500 u;iax 4569 u;mtn 4691 t;radmin-port 4899 t;sip 5060 tu;"
    "sip-tls 5061 tu;xmpp-client 5222 t jabber-client;xmpp-server 5269 t jabber-server;"
    "cfengine 5308 t;mdns 5353 u;postgresql 5432 t postgres;freeciv 5556 t rptp;amqps 5671 t;"
    "amqp 5672 t;amqp 5672 s;x11 6000 t x11-0;x11-1 6001 t;x11-2 6002 t;x11-3 6003 t;"
    "x11-4 6004 t;x11-5 6005 t;x11-6 6006 t;x11-7 6007 t;gnutella-svc 6346 tu;"
    "gnutella-rtr 6347 tu;redis 6379 t;sge-qmaster 6444 t sge_qmaster;"
    "sge-execd 6445 t sge_execd;mysql-proxy 6446 t;babel 6696 u;ircs-u 6697 t;bbs 7000 t;"
    "afs3-fileserver 7000 u;afs3-callback 7001 u;afs3-prserver 7002 u;afs3-vlserver 7003 u;"
    "afs3-kaserver 7004 u;afs3-volser 7005 u;afs3-bos 7007 u;afs3-update 7008 u;"
    "afs3-rmtsys 7009 u;font-service 7100 t xfs;http-alt 8080 t webcache;puppet 8140 t;"
    "bacula-dir 9101 t;bacula-fd 9102 t;bacula-sd 9103 t;xmms2 9667 t;nbd 10809 t;"
    "zabbix-agent 10050 t;zabbix-trapper 10051 t;amanda 10080 t;dicom 11112 t;hkp 11371 t;"
    "db-lsp 17500 t;dcap 22125 t;gsidcap 22128 t;wnn6 22273 t;rtmp 1 d;nbp 2 d;echo 4 d;"
    "zip 6 d;kerberos4 750 u kerberos-iv kdc;kerberos4 750 t kerberos-iv kdc;"
    "kerberos-master 751 u kerberos_master;kerberos-master 751 t;"
    "passwd-server 752 u passwd_server;krb-prop 754 t krb_prop krb5_prop hprop;"
    "zephyr-srv 2102 u;zephyr-clt 2103 u;zephyr-hm 2104 u;iprop 2121 t;supfilesrv 871 t;"
    "supfiledbg 1127 t;poppassd 106 t;moira-db 775 t moira_db;moira-update 777 t moira_update;"
    "moira-ureg 779 u moira_ureg;spamd 783 t;skkserv 1178 t;predict 1210 u;rmtcfg 1236 t;"
    "xtel 1313 t;xtelw 1314 t;zebrasrv 2600 t;zebra 2601 t;ripd 2602 t;ripngd 2603 t;"
    "ospfd 2604 t;bgpd 2605 t;ospf6d 2606 t;ospfapi 2607 t;isisd 2608 t;fax 4557 t;"
    "hylafax 4559 t;munin 4949 t lrrd;rplay 5555 u;nrpe 5666 t;nsca 5667 t;canna 5680 t;"
    "syslog-tls 6514 t;sane-port 6566 t sane saned;ircd 6667 t;zope-ftp 8021 t;tproxy 8081 t;"
    "omniorb 8088 t;clc-build-daemon 8990 t;xinetd 9098 t;git 9418 t;zope 9673 t;"
    "webmin 10000 t;kamanda 10081 t;amandaidx 10082 t;amidxtape 10083 t;sgi-cmsd 17001 u;"
    "sgi-crsd 17002 u;sgi-gcd 17003 u;sgi-cad 17004 t;binkp 24554 t;asp 27374 tu;"
    "csync2 30865 t;dircproxy 57000 t;tfido 60177 t;fido 60179 t;"
)
_PROTOCOLS = (
    "0 ip;0 hopopt;1 icmp;2 igmp;3 ggp;4 ipencap;5 st;6 tcp;8 egp;9 igp;12 pup;17 udp;20 hmp;"
    "22 xns-idp;27 rdp;29 iso-tp4;33 dccp;36 xtp;37 ddp;38 idpr-cmtp;41 ipv6;43 ipv6-route;"
    "44 ipv6-frag;45 idrp;46 rsvp;47 gre;50 esp;51 ah;57 skip;58 ipv6-icmp;59 ipv6-nonxt;"
    "60 ipv6-opts;73 rspf;81 vmtp;88 eigrp;89 ospf;93 ax.25;94 ipip;97 etherip;98 encap;"
    "103 pim;108 ipcomp;112 vrrp;115 l2tp;124 isis;132 sctp;133 fc;135 mobility-header;"
    "136 udplite;137 mpls-in-ip;138 manet;139 hip;140 shim6;141 wesp;142 rohc;143 ethernet;"
    "262 mptcp"
)


@dataclass(frozen=True)
class _Servent:
    name: str
    port: int
    proto: str
    aliases: tuple[str, ...]


def _services() -> list[_Servent]:
    global _SERVENTS
    if _SERVENTS is None:
        protos = {"t": "tcp", "u": "udp", "s": "sctp", "d": "ddp"}
        ents = []
        for item in _SERVICES.split(";"):
            if not item:
                continue
            name, port, kinds, *aliases = item.split()
            for k in kinds:
                ents.append(_Servent(name, int(port), protos[k], tuple(aliases)))
        _SERVENTS = ents
    return _SERVENTS


_SERVENTS: list[_Servent] | None = None


def getservbyport(port: int, proto: str) -> str | None:
    for s in _services():
        if s.port == port and s.proto == proto:
            return s.name
    return None


def getservbyname(name: str, proto: str) -> int | None:
    for s in _services():
        if s.proto == proto and (s.name == name or name in s.aliases):
            return s.port
    return None


def getprotobynumber(proto: int) -> str | None:
    for item in _PROTOCOLS.split(";"):
        num, name = item.split()
        if int(num) == proto:
            return name
    return None


# -- C number parsing ---------------------------------------------------------------------


def _strtol(text: str, base: int) -> tuple[int, int]:
    """strtol/strtoul: (value, characters used); 0 used means no digits."""
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\v\f\r":
        i += 1
    neg = False
    if i < n and text[i] in "+-":
        neg = text[i] == "-"
        i += 1
    if base == 0:
        if text[i:i + 2].lower() == "0x" and i + 2 < n and text[i + 2] in _HEX:
            base, i = 16, i + 2
        elif text[i:i + 1] == "0":
            base = 8
        else:
            base = 10
    elif base == 16 and text[i:i + 2].lower() == "0x" and i + 2 < n and text[i + 2] in _HEX:
        i += 2
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    start = i
    value = 0
    while i < n and text[i].lower() in digits:
        value = value * base + digits.index(text[i].lower())
        i += 1
    if i == start:
        return 0, 0
    return (-value if neg else value), i


_HEX = "0123456789abcdefABCDEF"


def get_integer(text: str) -> int | None:
    """iproute2's get_integer(base 0): the whole string, within int."""
    if not text:
        return None
    value, used = _strtol(text, 0)
    if used == 0 or used != len(text):
        return None
    if not -(2**31) <= value <= 2**31 - 1:
        return None
    return value


def _get_unsigned(text: str) -> int | None:
    if not text:
        return None
    value, used = _strtol(text, 0)
    if used == 0 or used != len(text):
        return None
    if value < 0:
        value &= 2**64 - 1
    if value > 0xFFFFFFFF:
        return None
    return value


def get_addr_ipv4(text: str) -> int | None:
    """get_addr_ipv4: up to four dot-separated numbers (any base), the rest zero."""
    octets = [0, 0, 0, 0]
    cp = text
    for i in range(4):
        value, used = _strtol(cp, 0)
        if value < 0:
            value &= 2**64 - 1
        if value > 255 or used == 0:
            return None
        octets[i] = value
        rest = cp[used:]
        if rest == "":
            break
        if i == 3 or rest[0] != ".":
            return None
        cp = rest[1:]
    return int.from_bytes(bytes(octets), "big")


def _get_netmask(text: str) -> int | None:
    """get_netmask: a prefix length, or a dotted mask with contiguous ones."""
    plen = _get_unsigned(text)
    if plen is not None:
        return plen
    mask = get_addr_ipv4(text)
    if mask is None:
        return None
    inv = ~mask & 0xFFFFFFFF
    if inv & (inv + 1):
        return None
    return 32 - inv.bit_length()


@dataclass
class Prefix:
    """inet_prefix: family, address (as an int) and bit length."""

    family: int
    addr: int
    bitlen: int


def get_prefix_1(text: str, family: int) -> Prefix | None:
    import ipaddress

    addr_text, slash, mask_text = text.partition("/")
    if addr_text in ("default", "all", "any"):
        if slash:
            return None
        return Prefix(family, 0, 0)
    if ":" in addr_text:
        if family not in (AF_UNSPEC, AF_INET6):
            return None
        try:
            value = int(ipaddress.IPv6Address(addr_text))
        except ValueError:
            return None
        fam, bits = AF_INET6, 128
    else:
        if family not in (AF_UNSPEC, AF_INET):
            return None
        v4 = get_addr_ipv4(addr_text)
        if v4 is None:
            return None
        value, fam, bits = v4, AF_INET, 32
    if slash:
        plen = _get_netmask(mask_text)
        if plen is None or plen > bits:
            return None
        bits = plen
    return Prefix(fam, value, bits)


# -- the filter ----------------------------------------------------------------------------


@dataclass
class HostCond:
    """struct aafilter: an address list (any matching) and a port (-1: any)."""

    addrs: list[Prefix] = field(default_factory=list)
    port: int = -1
    family: int = AF_UNSPEC  # the first address's family
    iface: int = 0
    mark: int = 0
    mask: int = 0
    pattern: str = ""  # an AF_UNIX name's shell pattern (unix_match)


@dataclass
class Node:
    """struct ssfilter."""

    kind: str  # dcond scond dge dle sge sle auto dev mark and or not
    pred: Any = None
    post: Any = None


@dataclass
class Filter:
    dbs: int = 0
    states: int = 0
    families: int = 0
    expr: Node | None = None


@dataclass
class Opts:
    numeric: bool = False
    show_options: bool = False
    show_details: int = 0
    show_mem: bool = False
    show_tcpinfo: bool = False
    show_processes: int = 0
    show_threads: int = 0
    show_header: bool = True
    show_tos: bool = False
    show_cgroup: bool = False  # there are no cgroups: nothing to show
    show_inet_sockopt: bool = False
    oneline: bool = False
    preferred_family: int = AF_UNSPEC
    do_default: bool = True


class _Ctx:
    """What one run of ss carries around: options, filter, namespace, output."""

    def __init__(self, proc: Proc) -> None:
        self.proc = proc
        self.kernel: Kernel = proc.kernel
        self.net: Net = proc.net
        self.opts = Opts()
        self.filter = Filter()
        self.out = Output()
        self.ephemeral: tuple[int, int] | None = None

    def is_ephemeral(self, port: int) -> bool:
        if self.ephemeral is None:
            from ..transport.udp import local_port_range

            self.ephemeral = local_port_range(self.net)
        lo, hi = self.ephemeral
        return lo <= port <= hi


def filter_db_set(ctx: _Ctx, db: int, enable: bool = True) -> None:
    f = ctx.filter
    if enable:
        f.states |= DEFAULT_DBS[db][0]
        f.dbs |= 1 << db
    else:
        f.dbs &= ~(1 << db)
    ctx.opts.do_default = False


def filter_db_parse(ctx: _Ctx, name: str) -> bool:
    enable = True
    if name.startswith("!"):
        enable, name = False, name[1:]
    dbs = _DB_NAMES.get(name)
    if dbs is None:
        return False
    for db in dbs:
        filter_db_set(ctx, db, enable)
    return True


def filter_af_set(ctx: _Ctx, af: int) -> None:
    f = ctx.filter
    f.states |= DEFAULT_AFS[af][1]
    f.families |= 1 << af
    ctx.opts.do_default = False
    ctx.opts.preferred_family = af


def filter_merge_defaults(f: Filter) -> None:
    for db in range(MAX_DB):
        if f.dbs & (1 << db) and not DEFAULT_DBS[db][1] & f.families:
            f.families |= DEFAULT_DBS[db][1]
    for af, (dbs, _states) in DEFAULT_AFS.items():
        if f.families & (1 << af) and not dbs & f.dbs:
            f.dbs |= dbs


def scan_state(word: str) -> int:
    w = word.lower()
    if w in ("close", "closed"):
        return 1 << SS_CLOSE
    if w == "syn-rcv":
        return 1 << SS_SYN_RECV
    if w == "established":
        return 1 << SS_ESTABLISHED
    if w == "all":
        return SS_ALL
    if w == "connected":
        return SS_ALL & ~((1 << SS_CLOSE) | (1 << SS_LISTEN))
    if w == "synchronized":
        return SS_ALL & ~((1 << SS_CLOSE) | (1 << SS_LISTEN) | (1 << SS_SYN_SENT))
    if w == "bucket":
        return (1 << SS_SYN_RECV) | (1 << SS_TIME_WAIT)
    if w == "big":
        return SS_ALL & ~((1 << SS_SYN_RECV) | (1 << SS_TIME_WAIT))
    for i, name in enumerate(_STATE_WORDS):
        if w == name.lower():
            return 1 << i
    raise ToolExit(255, f"ss: wrong state name: {word}")


# -- the filter expression (misc/ssfilter.y) ---------------------------------------------

_SYNTAX_ERROR = 'ss: bison bellows (while parsing filter): "syntax error!" Sorry.\n'


class _Lexer:
    """ssfilter.y's yylex over the remaining arguments (each may hold several
    blank-separated words; a backslash escapes the next character)."""

    KEYWORDS = {"!": "!", "not": "!", "&": "&", "&&": "&", "and": "&", "|": "|", "||": "|",
                "or": "|", "(": "(", ")": ")", ">=": "GEQ", "ge": "GEQ", "geq": "GEQ",
                "<=": "LEQ", "le": "LEQ", "leq": "LEQ", "!=": "NEQ", "ne": "NEQ",
                "neq": "NEQ", "=": "=", "==": "=", "eq": "=", ">": ">", "gt": ">", "<": "<",
                "lt": "<"}
    WORDS = {"dst": "DCOND", "src": "SCOND", "dport": "DPORT", "sport": "SPORT",
             "dev": "DEVNAME", "fwmark": "FWMARK", "cgroup": "CGROUPPATH"}

    def __init__(self, ctx: _Ctx, args: list[str]) -> None:
        self.ctx = ctx
        self.words: list[str] = []
        for arg in args:
            self.words.extend(_split_words(arg))
        self.pos = 0
        self.tok_type = ""
        self.peeked: tuple[str, Any] | None = None

    def peek(self) -> tuple[str, Any]:
        if self.peeked is None:
            self.peeked = self._lex()
        return self.peeked

    def next(self) -> tuple[str, Any]:
        tok = self.peek()
        self.peeked = None
        return tok

    def _lex(self) -> tuple[str, Any]:
        if self.pos >= len(self.words):
            return ("EOF", None)
        word = self.words[self.pos]
        self.pos += 1
        kw = self.KEYWORDS.get(word)
        if kw is not None:
            return (kw, None)
        kind = self.WORDS.get(word)
        if kind is not None:
            self.tok_type = kind
            return (kind, None)
        if word == "autobound":
            self.tok_type = "AUTOBOUND"
            return ("AUTOBOUND", None)
        if self.tok_type == "DEVNAME":
            return ("DEVCOND", parse_devcond(self.ctx, word))
        if self.tok_type == "FWMARK":
            return ("MARKMASK", parse_markmask(word))
        if self.tok_type == "CGROUPPATH":
            raise ToolExit(1, f"Cannot parse cgroup {word}.")
        return ("HOSTCOND",
                parse_hostcond(self.ctx, word, self.tok_type in ("SPORT", "DPORT")))


def _split_words(arg: str) -> Iterator[str]:
    """get_token_from_line: blank-separated words, backslash escaping."""
    i, n = 0, len(arg)
    while True:
        while i < n and arg[i] in " \t":
            i += 1
        if i >= n:
            return
        word = []
        while i < n and arg[i] not in " \t":
            if arg[i] == "\\":
                i += 1
                if i >= n:
                    break
            word.append(arg[i])
            i += 1
        yield "".join(word)


class _Parser:
    """The grammar of ssfilter.y.  ``exprlist`` is left-recursive, so
    ``a or b and c`` is ``(a or b) and c``; two expressions side by side are
    joined with ``and``."""

    def __init__(self, lex: _Lexer) -> None:
        self.lex = lex

    def parse(self) -> Node | None:
        if self.lex.peek()[0] == "EOF":
            return None
        node = self.exprlist()
        if self.lex.peek()[0] != "EOF":
            raise _SyntaxError
        return node

    def exprlist(self) -> Node:
        left = self.expr()
        while True:
            kind = self.lex.peek()[0]
            if kind == "|":
                self.lex.next()
                left = Node("or", left, self.expr())
            elif kind == "&":
                self.lex.next()
                left = Node("and", left, self.expr())
            elif kind in ("EOF", ")"):
                return left
            else:
                left = Node("and", left, self.expr())

    def _hostcond(self) -> HostCond:
        kind, value = self.lex.next()
        if kind != "HOSTCOND":
            raise _SyntaxError
        assert isinstance(value, HostCond)
        return value

    def expr(self) -> Node:
        kind, _ = self.lex.next()
        if kind == "(":
            node = self.exprlist()
            if self.lex.next()[0] != ")":
                raise _SyntaxError
            return node
        if kind == "!":
            return Node("not", self.expr())
        if kind in ("DCOND", "SCOND"):
            if self.lex.peek()[0] == "=":
                self.lex.next()
            return Node("dcond" if kind == "DCOND" else "scond", self._hostcond())
        if kind in ("DPORT", "SPORT"):
            d = kind == "DPORT"
            op = self.lex.peek()[0]
            if op in ("GEQ", "LEQ", ">", "<", "=", "NEQ"):
                self.lex.next()
            else:
                op = "="
            cond = self._hostcond()
            ge, le, eq = ("dge", "dle", "dcond") if d else ("sge", "sle", "scond")
            if op == "GEQ":
                return Node(ge, cond)
            if op == "LEQ":
                return Node(le, cond)
            if op == ">":
                return Node("not", Node(le, cond))
            if op == "<":
                return Node("not", Node(ge, cond))
            if op == "NEQ":
                return Node("not", Node(eq, cond))
            return Node(eq, cond)
        if kind in ("DEVNAME", "FWMARK"):
            neg = False
            if self.lex.peek()[0] == "=":
                self.lex.next()
            elif self.lex.peek()[0] == "NEQ":
                self.lex.next()
                neg = True
            want = "DEVCOND" if kind == "DEVNAME" else "MARKMASK"
            tok, value = self.lex.next()
            if tok != want:
                raise _SyntaxError
            node = Node("dev" if kind == "DEVNAME" else "mark", value)
            return Node("not", node) if neg else node
        if kind == "AUTOBOUND":
            return Node("auto")
        raise _SyntaxError


class _SyntaxError(Exception):
    pass


def parse_devcond(ctx: _Ctx, name: str) -> HostCond:
    dev = ctx.net.dev_get_by_name(name)
    if dev is not None:
        return HostCond(iface=dev.ifindex)
    value, used = _strtol(name, 0)
    if used == 0 or used != len(name) or value < 0 or value > 0xFFFFFFFF:
        raise ToolExit(1, "Cannot parse device.")
    return HostCond(iface=value)


def parse_markmask(text: str) -> HostCond:
    def scan_i(s: str) -> int | None:  # sscanf %i: a prefix of digits is enough
        value, used = _strtol(s, 0)
        return value & 0xFFFFFFFF if used else None

    if "/" in text:
        a, _, b = text.partition("/")
        mark, mask = scan_i(a), scan_i(b)
        if mark is None or mask is None:
            raise ToolExit(1, f"Cannot parse mark {text}.")
        return HostCond(mark=mark, mask=mask)
    mark = scan_i(text)
    if mark is None:
        raise ToolExit(1, f"Cannot parse mark {text}.")
    return HostCond(mark=mark, mask=0xFFFFFFFF)


def parse_hostcond(ctx: _Ctx, text: str, is_port: bool) -> HostCond:
    """parse_hostcond for inet addresses: [ADDR[/PLEN]][:PORT], ``*``, ``[v6]``."""
    cond = HostCond()
    fam = ctx.opts.preferred_family
    addr = text
    for prefix, pfam in (("unix:", AF_UNIX), ("link:", AF_PACKET), ("netlink:", AF_NETLINK),
                         ("vsock:", AF_VSOCK), ("inet:", AF_INET), ("inet6:", AF_INET6)):
        if addr.startswith(prefix):
            fam, addr = pfam, addr[len(prefix):]
            break
    if fam == AF_UNIX:
        # the rest of the word, whatever it is, is a pattern for the name
        cond.family = fam
        cond.pattern = addr
        _set_family(ctx, fam)
        return cond
    if fam in (AF_PACKET, AF_NETLINK, AF_VSOCK):
        # no such sockets here: a condition on them matches nothing of ours
        cond.family = fam
        cond.addrs = [Prefix(fam, -1, 1)]
        _set_family(ctx, fam)
        return cond
    port: str | None
    if addr.startswith("["):
        addr, sep, rest = addr[1:].partition("]")
        if not sep:
            raise ToolExit(1, "Cannot parse dst/src address.")
        port = rest
    elif addr.startswith("*"):
        port, addr = addr[1:], "*"
    else:
        start = addr.find("/")
        colon = addr.rfind(":", start if start >= 0 else 0)
        if colon >= 0:
            addr, port = addr[:colon], addr[colon:]
        else:
            port = None
    if is_port:
        port, addr = text, ""
    if port:
        if port.startswith(":"):
            port = port[1:]
        if port and port != "*":
            value = get_integer(port)
            if value is None:
                value = _service_port(ctx, port)
            cond.port = value
    if not is_port and addr and addr != "*":
        pfx = get_prefix_1(addr, fam)
        if pfx is None:
            pfxs = _resolve_host(addr, fam)
            if not pfxs:
                raise ToolExit(1, f'Error: an inet prefix is expected rather than "{addr}".\n'
                                  "Cannot parse dst/src address.")
        else:
            pfxs = [pfx]
        cond.addrs = [p for p in pfxs if p.bitlen]
        cond.family = pfxs[0].family
    _set_family(ctx, fam)
    return cond


def _set_family(ctx: _Ctx, fam: int) -> None:
    if fam != AF_UNSPEC:
        f = ctx.filter
        states = f.states
        f.families = 0
        filter_af_set(ctx, fam)
        if states:
            f.states = states


def _service_port(ctx: _Ctx, name: str) -> int:
    dbs = ctx.filter.dbs
    p1 = getservbyname(name, "udp") if dbs & (1 << UDP_DB) else None
    p2 = getservbyname(name, "tcp") if dbs & (1 << TCP_DB) else None
    if p1 is not None and p2 is not None and p1 != p2:
        raise ToolExit(1, f'Error: ambiguous port "{name}".\nCannot parse dst/src address.')
    port = p1 if p1 is not None else p2
    if port is None:
        raise ToolExit(1, f'Error: "{name}" does not look like a port.\n'
                          "Cannot parse dst/src address.")
    return port


def _resolve_host(name: str, fam: int) -> list[Prefix]:
    """gethostbyname2 through /etc/hosts: only the loopback names exist here."""
    out = []
    if name == "localhost" and fam in (AF_UNSPEC, AF_INET):
        out.append(Prefix(AF_INET, 0x7F000001, 32))
    if name in ("localhost", "ip6-localhost", "ip6-loopback") and fam in (AF_UNSPEC,
                                                                          AF_INET6):
        out.append(Prefix(AF_INET6, 1, 128))
    return out


# -- socket records ---------------------------------------------------------------------


@dataclass
class SockStat:
    """struct sockstat plus what ss reads from the diag attributes."""

    netid: str
    state: int
    rq: int = 0
    wq: int = 0
    family: int = AF_INET
    laddr: int = 0
    lport: int = 0
    raddr: int = 0
    rport: int = 0
    iface: int = 0
    mark: int = 0
    userlocks: int = 0
    obj: Any = None  # the kernel object (for ino, cookie, users)
    uid: int = 0  # idiag_uid: sk_uid of a full socket, 0 for TIME_WAIT and requests
    has_ino: bool = True  # a struct socket exists (sock_i_ino != 0)
    shutdown: int | None = None  # INET_DIAG_SHUTDOWN, full sockets only
    timer: tuple[int, int, int] | None = None  # (idiag_timer, expires ms, retrans)
    info: Callable[[], dict[str, Any]] | None = None  # tcp_info, for -i
    cong: str | None = None  # INET_DIAG_CONG
    tos: int | None = None  # INET_DIAG_TOS (and class_id)
    priority: int = 0
    sockopt: str | None = None  # INET_DIAG_SOCKOPT, printed
    proc_path: bool = False  # read from /proc/net/*: no attributes, no details
    kernel_filter: bool = True  # the kernel's bytecode applies
    netlink: tuple[str, str] | None = None  # netlink (local, port) texts
    netlink_numeric: tuple[str, str] | None = None
    unix_name: str | None = None  # UNIX_DIAG_NAME as ss shows it ("@" for NULs)
    vfs: tuple[int, int] | None = None  # UNIX_DIAG_VFS: the socket file's (dev, inode)
    icons: list[int] | None = None  # UNIX_DIAG_ICONS: a listener's queued peers


class _Ids:
    """Inode numbers and socket cookies: given when first shown, per kernel."""

    def __init__(self) -> None:
        self.ino: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self.cookie: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self.cookie_by_key: dict[Any, int] = {}  # TIME_WAIT sockets keep their socket's
        self.next_ino = 1
        self.next_cookie = 1

    def inode(self, obj: Any) -> int:
        n = self.ino.get(obj)
        if n is None:
            n = self.ino[obj] = self.next_ino
            self.next_ino += 1
        return n

    def sk_cookie(self, obj: Any, key: Any = None) -> int:
        try:
            n = self.cookie.get(obj)
        except TypeError:  # not weakly referenceable: go by the connection's key
            n = self.cookie_by_key.get(key) if key is not None else None
            if n is None:
                n = self._new()
                if key is not None:
                    self.cookie_by_key[key] = n
            return n
        if n is None:
            n = self.cookie[obj] = self._new()
            if key is not None:
                self.cookie_by_key[key] = n
        return n

    def _new(self) -> int:
        if len(self.cookie_by_key) > 65536:  # forget the oldest connections
            for key in list(self.cookie_by_key)[:4096]:
                del self.cookie_by_key[key]
        n = self.next_cookie
        self.next_cookie += 1
        return n


_IDS: weakref.WeakKeyDictionary[Any, _Ids] = weakref.WeakKeyDictionary()


def _ids(kernel: Kernel) -> _Ids:
    ids = _IDS.get(kernel)
    if ids is None:
        ids = _IDS[kernel] = _Ids()
    return ids


# -- reading the kernel's tables (see the module doc) -------------------------------------


def raw_sockets(net: Net) -> list[Any]:
    """The namespace's raw sockets, by protocol, the newest first within one
    (raw_v4_hashinfo adds at the head of the protocol's chain)."""
    ipv4 = getattr(net, "ipv4", None)
    dp = getattr(ipv4, "dp", None) if ipv4 is not None else None
    socks = list(getattr(dp, "raw_socks", ()) or ())
    order = {id(sk): i for i, sk in enumerate(socks)}
    return sorted(socks, key=lambda sk: (int(getattr(sk, "protocol", 0)), -order[id(sk)]))


def udp_sockets(net: Net) -> list[Any]:
    """The namespace's UDP sockets by port (udp_table is keyed (net, port);
    within a port, the last bound first)."""
    from ..transport.udp import udp_table

    slots = sorted(((port, socks) for (n, port), socks in udp_table.items() if n is net),
                   key=lambda item: item[0])
    return [sk for _, socks in slots for sk in socks]


def tcp_listeners(net: Net) -> list[Any]:
    try:
        from ..transport.tcp_table import lhash
    except ImportError:  # pragma: no cover - TCP not built yet
        return []
    return [sk for (n, _port), socks in list(lhash.items()) if n is net for sk in socks]


def tcp_connections(net: Net) -> list[Any]:
    """ehash entries of ``net``: full sockets, TIME_WAIT sockets, request sockets."""
    try:
        from ..transport.tcp_table import ehash
    except ImportError:  # pragma: no cover
        return []
    return [obj for key, obj in list(ehash.items()) if key[0] is net]


def _ms_until(kernel: Kernel, when: int | None) -> int:
    """jiffies_to_msecs(expires - jiffies), HZ=250, never negative."""
    if when is None:
        return 0
    jiffy = 4_000_000
    delta = when // jiffy - kernel.sched.now // jiffy
    if when % jiffy:
        delta += 1
    return max(delta, 0) * 4


_TOS2PRIO = (0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4)


def _sock_opt(sk: Any, level: int, name: int, default: int = 0) -> int:
    opts = getattr(sk, "opts", None)
    if isinstance(opts, dict):
        value = opts.get((level, name), default)
        try:
            return int(value)
        except (TypeError, ValueError):
            return default
    return default


def _ip_tos(sk: Any) -> int:
    tos = getattr(sk, "tos", None)
    if isinstance(tos, int) and tos:
        return tos & 0xFF
    return _sock_opt(sk, 0, 1) & 0xFF  # IPPROTO_IP, IP_TOS


def _priority(sk: Any, tos: int) -> int:
    prio = _sock_opt(sk, 1, 12, -1)  # SOL_SOCKET, SO_PRIORITY
    if prio >= 0:
        return prio
    return _TOS2PRIO[(tos & 0x1E) >> 1] if tos else 0


def _inet_sockopt(sk: Any, icsk: bool) -> str:
    """INET_DIAG_SOCKOPT as ss prints it."""
    ip = 0  # IPPROTO_IP
    words = []
    if _sock_opt(sk, ip, 11):
        words.append("recverr")
    if icsk:
        words.append("is_icsk")
    if _sock_opt(sk, ip, 15):
        words.append("freebind")
    if _sock_opt(sk, ip, 3) or getattr(sk, "hdrincl", False):
        words.append("hdrincl")
    if _sock_opt(sk, ip, 34, 1):
        words.append("mc_loop")
    if _sock_opt(sk, ip, 19):
        words.append("transparent")
    if _sock_opt(sk, ip, 49, 1):
        words.append("mc_all")
    if _sock_opt(sk, ip, 22):
        words.append("nodefrag")
    if _sock_opt(sk, ip, 24):
        words.append("bind_addr_no_port")
    if _sock_opt(sk, ip, 26):
        words.append("recverr_rfc4884")
    return "".join(" " + w for w in words)


def _bound_ifindex(sk: Any) -> int:
    dev = getattr(sk, "bound_dev", None)
    return int(getattr(dev, "ifindex", 0)) if dev is not None else 0


def _raw_stats(net: Net) -> Iterator[SockStat]:
    for sk in raw_sockets(net):
        daddr = int(getattr(sk, "daddr", 0))
        yield SockStat("raw", SS_ESTABLISHED if daddr else SS_CLOSE,
                       rq=int(getattr(sk, "rmem_alloc", 0)), wq=0,
                       laddr=int(getattr(sk, "laddr", 0) or 0),
                       lport=int(getattr(sk, "protocol", 0)), raddr=daddr, rport=0,
                       obj=sk, proc_path=True, kernel_filter=False)


def _udp_stats(net: Net) -> Iterator[SockStat]:
    for sk in udp_sockets(net):
        dport = int(getattr(sk, "dport", 0))
        locks = SOCK_BINDPORT_LOCK if getattr(sk, "bind_port_locked", False) else 0
        tos = _ip_tos(sk)
        yield SockStat("udp", SS_ESTABLISHED if dport else SS_CLOSE,
                       rq=int(getattr(sk, "rmem_alloc", 0)), wq=0,
                       laddr=int(getattr(sk, "laddr", 0)), lport=int(getattr(sk, "lport", 0)),
                       raddr=int(getattr(sk, "daddr", 0)), rport=dport,
                       iface=_bound_ifindex(sk), mark=int(getattr(sk, "mark", 0)),
                       userlocks=locks, obj=sk, shutdown=int(getattr(sk, "sk_shutdown", 0)),
                       tos=tos, priority=_priority(sk, tos), sockopt=_inet_sockopt(sk, False),
                       uid=int(getattr(sk, "sk_uid", 0)))


def _tcp_state(sk: Any) -> int:
    return int(getattr(sk, "state", SS_CLOSE))


def _tcp_full_stat(kernel: Kernel, sk: Any) -> SockStat:
    state = _tcp_state(sk)
    if state == SS_LISTEN:
        acceptq = getattr(sk, "acceptq", None)
        rq = len(acceptq) if acceptq is not None else 0
        wq = int(getattr(sk, "max_ack_backlog", 0))
        laddr = int(getattr(sk, "rcv_saddr", 0))
    else:
        rq = max(int(getattr(sk, "rcv_nxt", 0)) - int(getattr(sk, "copied_seq", 0)), 0)
        wq = int(getattr(sk, "write_seq", 0)) - int(getattr(sk, "snd_una", 0))
        laddr = int(getattr(sk, "rcv_saddr", 0)) or int(getattr(sk, "saddr", 0))
    locks = SOCK_BINDPORT_LOCK if getattr(sk, "bind_port_locked", False) else 0
    tos = _ip_tos(sk)
    ca = getattr(sk, "ca", None)
    cong = getattr(ca, "name", None) or None
    orphan = bool(getattr(sk, "dead", False)) or getattr(sk, "parent", None) is not None
    return SockStat("tcp", state, rq=rq, wq=wq & 0xFFFFFFFF, laddr=laddr,
                    lport=int(getattr(sk, "sport", 0)), raddr=int(getattr(sk, "daddr", 0)),
                    rport=int(getattr(sk, "dport", 0)), iface=_bound_ifindex(sk),
                    mark=int(getattr(sk, "mark", 0)), userlocks=locks, obj=sk,
                    has_ino=not orphan, shutdown=int(getattr(sk, "sk_shutdown", 0)),
                    timer=_tcp_timer(kernel, sk), info=lambda: tcp_get_info(kernel, sk),
                    cong=cong, tos=tos, priority=_priority(sk, tos),
                    sockopt=_inet_sockopt(sk, True), uid=int(getattr(sk, "sk_uid", 0)))


def _tcp_timer(kernel: Kernel, sk: Any) -> tuple[int, int, int] | None:
    """idiag_timer: 1 retransmit (also TLP, RACK), 4 zero-window probe,
    2 keepalive (also the orphaned FIN_WAIT2 timer), as inet_sk_diag_fill."""
    rtx = getattr(sk, "rtx_timer", None)
    if rtx is not None and getattr(rtx, "deadline", None) is not None:
        kind = int(getattr(sk, "timer_kind", 0))
        if kind in (1, 5, 6):
            return (1, _ms_until(kernel, rtx.deadline), int(getattr(sk, "retransmits", 0)))
        if kind == 3:
            return (4, _ms_until(kernel, rtx.deadline), int(getattr(sk, "probes_out", 0)))
    ka = getattr(sk, "ka_timer", None)
    if ka is not None and getattr(ka, "deadline", None) is not None:
        return (2, _ms_until(kernel, ka.deadline), int(getattr(sk, "probes_out", 0)))
    return (0, 0, 0)


def _tcp_stats(kernel: Kernel, net: Net, states: int) -> Iterator[SockStat]:
    """inet_diag_dump_icsk: the listeners, then the connection table, whose
    TIME_WAIT sockets go by their sub-state and request sockets by SYN_RECV."""
    if states & (1 << SS_LISTEN):
        for sk in tcp_listeners(net):
            yield _tcp_full_stat(kernel, sk)
    if not states & ~(1 << SS_LISTEN):
        return
    for obj in tcp_connections(net):
        state = _tcp_state(obj)
        if state == TCP_NEW_SYN_RECV:
            if states & (1 << SS_SYN_RECV):
                yield _req_stat(kernel, obj)
        elif state == SS_TIME_WAIT and hasattr(obj, "substate"):
            if states & (1 << int(obj.substate)):
                yield _tw_stat(kernel, obj)
        elif state != SS_LISTEN and states & (1 << state):
            yield _tcp_full_stat(kernel, obj)


def _tw_stat(kernel: Kernel, tw: Any) -> SockStat:
    timer = getattr(tw, "timer", None)
    when = getattr(timer, "when", None) if timer is not None else None
    return SockStat("tcp", int(tw.substate),
                    laddr=int(getattr(tw, "rcv_saddr", 0)) or int(getattr(tw, "laddr", 0)),
                    lport=int(getattr(tw, "lport", 0)), raddr=int(getattr(tw, "raddr", 0)),
                    rport=int(getattr(tw, "rport", 0)), iface=_bound_ifindex(tw), obj=tw,
                    has_ino=False, timer=(3, _ms_until(kernel, when), 0))


def _req_stat(kernel: Kernel, req: Any) -> SockStat:
    timer = getattr(req, "timer", None)
    when = getattr(timer, "when", None) if timer is not None else None
    listener = getattr(req, "listener", None)
    return SockStat("tcp", SS_SYN_RECV, laddr=int(getattr(req, "laddr", 0)),
                    lport=int(getattr(req, "lport", 0)), raddr=int(getattr(req, "raddr", 0)),
                    rport=int(getattr(req, "rport", 0)),
                    iface=_bound_ifindex(listener) if listener is not None else 0,
                    mark=int(getattr(req, "ir_mark", 0) or 0), obj=req, has_ino=False,
                    timer=(1, _ms_until(kernel, when), int(getattr(req, "num_retrans", 0))))


# The kernel's netlink sockets of every namespace (protocol, name), as netlink_diag
# lists them, and where ss's own sock_diag socket comes.
_NETLINK_KERNEL = ((0, "rtnl"), (4, "tcpdiag"), (6, "xfrm"), (9, "audit"), (10, "fiblookup"),
                   (12, "nft"), (15, "uevent"), (16, "genl"))
_SS_NL_RQ = 4352  # the dump reply waiting in ss's socket (a 4 KiB skb)
_KERNEL_NL_RQ = 832  # the request the kernel's sock_diag socket is handling


def _netlink_stats(ctx: _Ctx) -> Iterator[SockStat]:
    ss_pid = ctx.kernel.last_pid + 1  # what the next process would be
    for prot, name in _NETLINK_KERNEL:
        if prot == 4:
            yield _nl_stat(prot, name, ss_pid, _SS_NL_RQ)
            yield _nl_stat(prot, name, 0, _KERNEL_NL_RQ)
        else:
            yield _nl_stat(prot, name, 0, 0)


def _nl_stat(prot: int, name: str, pid: int, rq: int) -> SockStat:
    procname = "kernel" if pid == 0 else f"ss/{pid}"
    # for the filter: st.lport = pid, st.rport = -1, st.local.data[0] = prot
    return SockStat("nl", SS_CLOSE, rq=rq, family=AF_NETLINK,
                    laddr=int.from_bytes(prot.to_bytes(4, "little"), "big"), lport=pid,
                    rport=-1, kernel_filter=False, netlink=(name, procname),
                    netlink_numeric=(str(prot), str(pid)))


# -- AF_UNIX (unix_diag) ---------------------------------------------------------------------

_UNIX_NETIDS = {1: "u_str", 2: "u_dgr", 5: "u_seq"}  # unix_netid_name
_UNIX_DBS = {1: UNIX_ST_DB, 2: UNIX_DG_DB, 5: UNIX_SQ_DB}


def unix_sockets(net: Net) -> list[UnixSock]:
    """The namespace's AF_UNIX sockets that have an inode (an embryo waiting
    in a listener's queue has none until accepted: sk_diag_dump skips it)."""
    from ..unix.names import unix_table

    return [sk for sk in list(unix_table(net.kernel).socks)
            if sk.net is net and sk.file_cred is not None]


def _unix_ino(ctx: _Ctx, sk: UnixSock | None) -> int:
    """sock_i_ino: 0 for no socket, an embryo or a released one."""
    if sk is None or sk.closed or sk.file_cred is None:
        return 0
    return _ids(ctx.kernel).inode(sk)


def unix_show_name(addr: bytes | None) -> str | None:
    """The name as unix_show_sock turns UNIX_DIAG_NAME into text: an
    abstract name with each NUL shown as "@", a path up to its NUL."""
    if addr is None:
        return None
    if addr[:1] == b"\0":
        text = addr.replace(b"\0", b"@")
    else:
        end = addr.find(b"\0")
        text = addr if end < 0 else addr[:end]
    return text.decode("utf-8", "replace")


def _kernel_dev(st_dev: int) -> tuple[int, int]:
    """udiag_vfs_dev is the kernel's own dev_t (major << 20 | minor), which
    ss splits with glibc's major()/minor() as if it were a user one."""
    dev = (os.major(st_dev) << 20) | os.minor(st_dev)
    return ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF), (dev & 0xFF) | ((dev >> 12) & ~0xFF)


def _unix_stats(ctx: _Ctx) -> Iterator[SockStat]:
    """unix_diag_dump with UDIAG_SHOW_NAME|PEER|RQLEN (and VFS|ICONS for -e),
    the sockets of a type ss does not want skipped (unix_type_skip)."""
    for sk in unix_sockets(ctx.net):
        if not ctx.filter.dbs & (1 << _UNIX_DBS.get(sk.type, UNIX_DG_DB)):
            continue
        rq, wq = sk.diag_rqlen()
        icons = None
        if sk.state == SS_LISTEN:
            icons = [_unix_ino(ctx, new.peer) for new in sk.acceptq]
        yield SockStat(_UNIX_NETIDS.get(sk.type, "u_dgr"), sk.state, rq=rq, wq=wq,
                       family=AF_UNIX, lport=_unix_ino(ctx, sk),
                       rport=_unix_ino(ctx, sk.peer), obj=sk, kernel_filter=False,
                       shutdown=sk.sk_shutdown, unix_name=unix_show_name(sk.addr),
                       vfs=sk.bsd_key, icons=icons)


def _print_unix(ctx: _Ctx, s: SockStat, users: dict[int, list[tuple[str, int, int]]]) -> None:
    """unix_stats_print and unix_show_sock's -e details: the peer is always
    shown as "*" (the dump does not name it), with its inode as the port."""
    o = ctx.out
    o.out(f"{s.unix_name or '*'} ")
    o.field_next()
    o.out(str(s.lport))
    o.field_next()
    o.out("* ")
    o.field_next()
    o.out(str(s.rport))
    o.field_next()
    _print_users(ctx, s, users)
    if not ctx.opts.show_details:
        return
    mask = s.shutdown or 0
    o.out(" " + ("-" if mask & 1 else "<") + "-" + ("-" if mask & 2 else ">"))
    if s.vfs is not None:
        major, minor = _kernel_dev(s.vfs[0])
        o.out(f" ino:{s.vfs[1]} dev:{major}/{minor}")
    if s.icons is not None:
        o.out(" peers:" + "".join(f" {ino}" for ino in s.icons))


_FNM_CLASSES: dict[str, Callable[[str], bool]] = {
    "alnum": str.isalnum, "alpha": str.isalpha, "blank": lambda c: c in " \t",
    "cntrl": lambda c: ord(c) < 32 or ord(c) == 127, "digit": str.isdigit,
    "graph": lambda c: 32 < ord(c) < 127, "lower": str.islower,
    "print": lambda c: 32 <= ord(c) < 127,
    "punct": lambda c: 32 < ord(c) < 127 and not c.isalnum(), "space": str.isspace,
    "upper": str.isupper, "xdigit": lambda c: c in "0123456789abcdefABCDEF",
}
# a pattern item: _FNM_STAR, _FNM_ANY, a (lower-case) character, or a bracket
# (negated, ranges, classes)
_FnmItem = int | str | tuple[bool, list[tuple[str, str]], list[str]]
_FNM_STAR, _FNM_ANY = 0, 1


def fnmatch_casefold(pattern: str, name: str) -> bool:
    """glibc's fnmatch(pattern, name, FNM_CASEFOLD): ``*`` and ``?`` match
    any character, "/" and a leading "." too; brackets with ``!`` or ``^``,
    ranges and classes; a backslash quotes the next character (a pattern
    ending in one matches nothing).  Characters and ranges compare in lower
    case, classes test the name's character as it is."""
    items = _fnm_items(pattern)
    if items is None:
        return False
    # the usual glob walk: on a mismatch, let the last "*" take one more char
    p = n = 0
    star, star_n = -1, 0
    while n < len(name):
        if p < len(items) and items[p] == _FNM_STAR:
            star, star_n = p, n
            p += 1
        elif p < len(items) and _fnm_one(items[p], name[n]):
            p += 1
            n += 1
        elif star >= 0:
            star_n += 1
            p, n = star + 1, star_n
        else:
            return False
    return all(item == _FNM_STAR for item in items[p:])


def _fnm_one(item: _FnmItem, ch: str) -> bool:
    if isinstance(item, int):
        return item == _FNM_ANY
    if isinstance(item, str):
        return item == ch.lower()
    negate, ranges, classes = item
    low = ch.lower()
    hit = any(lo <= low <= hi for lo, hi in ranges) or any(
        _FNM_CLASSES[c](ch) for c in classes)
    return hit != negate


def _fnm_items(pattern: str) -> list[_FnmItem] | None:
    """The pattern as items; "\\x" is the character x (None: a trailing "\\")."""
    items: list[_FnmItem] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "\\":
            if i >= n:
                return None
            items.append(pattern[i].lower())
            i += 1
        elif ch == "[" and (bracket := _fnm_bracket(pattern, i)) is not None:
            item, i = bracket
            items.append(item)
        else:
            items.append(_FNM_STAR if ch == "*" else _FNM_ANY if ch == "?" else ch.lower())
    return items


def _fnm_bracket(pattern: str, i: int) -> tuple[_FnmItem, int] | None:
    """A bracket from just after its "[": (item, index past its "]"), or
    None when it is not closed (then "[" is an ordinary character)."""
    n = len(pattern)
    negate = i < n and pattern[i] in "!^"
    i += negate
    ranges: list[tuple[str, str]] = []
    classes: list[str] = []
    first = True
    while i < n:
        ch = pattern[i]
        if ch == "]" and not first:
            return (negate, ranges, classes), i + 1
        first = False
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            if end >= 0 and pattern[i + 2:end] in _FNM_CLASSES:
                classes.append(pattern[i + 2:end])
                i = end + 2
                continue
        if ch == "\\" and i + 1 < n:
            i += 1
            ch = pattern[i]
        if pattern[i + 1:i + 2] == "-" and i + 2 < n and pattern[i + 2] != "]":
            ranges.append((ch.lower(), pattern[i + 2].lower()))
            i += 3
            continue
        ranges.append((ch.lower(), ch.lower()))
        i += 1
    return None


def _unix_cond_match(cond: HostCond, s: SockStat, local: bool) -> bool:
    """run_ssfilter's src/dst for an AF_UNIX socket: a unix pattern against
    the name ("" when unnamed; the peer has no name in the dump); an inet
    condition sees the address bytes zero when there is no name (ss keeps a
    pointer to the name there: it never matches a prefix)."""
    name = s.unix_name if local else None
    if cond.family == AF_UNIX:
        return fnmatch_casefold(cond.pattern, name or "")
    if cond.family in (AF_PACKET, AF_NETLINK, AF_VSOCK):
        return False
    if cond.port != -1 and cond.port != (s.lport if local else s.rport):
        return False
    if not cond.addrs:
        return True
    return name is None and any(_addr_match(p.family, 0, p) for p in cond.addrs)


def _unix_autobound(name: str | None) -> bool:
    """Unnamed, or named by autobind: "@" and five lowercase hex digits."""
    return name is None or (len(name) == 6 and name[0] == "@"
                            and all(c in "0123456789abcdef" for c in name[1:]))


# -- tcp_info (tcp_get_info) ----------------------------------------------------------------


def tcp_get_info(kernel: Kernel, sk: Any) -> dict[str, Any]:
    """struct tcp_info of a TCP socket, as tcp_get_info fills it, from the
    socket's fields; what the model does not keep reads 0."""

    def g(name: str, default: Any = 0) -> Any:
        value = getattr(sk, name, default)
        return default if value is None else value

    state = _tcp_state(sk)
    info: dict[str, Any] = {
        "state": state, "reordering": int(g("reordering", 3)), "snd_cwnd": int(g("snd_cwnd")),
        "pacing_rate": int(g("pacing_rate", 0)), "max_pacing_rate": int(g("max_pacing_rate",
                                                                          0)),
    }
    if state == SS_LISTEN:
        acceptq = getattr(sk, "acceptq", None)
        info["unacked"] = len(acceptq) if acceptq is not None else 0
        info["sacked"] = int(g("max_ack_backlog"))
        return info
    jiffy = 4_000_000
    now_j = kernel.sched.now // jiffy
    opts = 0
    if g("ts_ok", False):
        opts |= 1
    if g("sack_ok", False):
        opts |= 2
    if g("wscale_ok", False):
        opts |= 4
    ato = min(int(g("ack_ato")), 200_000_000)

    def since(stamp: Any) -> int:
        return max((now_j - int(stamp)) * 4, 0) & 0xFFFFFFFF

    info.update({
        "options": opts, "snd_wscale": int(g("snd_wscale")), "rcv_wscale": int(g("rcv_wscale")),
        "rto": int(g("rto")) // 1000, "ato": ato // 1000, "backoff": int(g("backoff")),
        "snd_mss": int(g("mss_cache")), "rcv_mss": int(g("rcv_mss")),
        "unacked": int(g("packets_out")), "sacked": int(g("sacked_out")),
        "lost": int(g("lost_out")), "retrans": int(g("retrans_out")),
        "last_data_sent": since(g("lsndtime")), "last_data_recv": since(g("ack_lrcvtime")),
        "last_ack_recv": since(g("rcv_tstamp")), "pmtu": int(g("pmtu")),
        "rcv_ssthresh": int(g("rcv_ssthresh")), "rtt": int(g("srtt_us")) >> 3,
        "rttvar": int(g("mdev_us")) >> 2, "snd_ssthresh": int(g("snd_ssthresh")),
        "advmss": int(g("advmss")), "rcv_rtt": int(g("rcv_rtt_us")) >> 3,
        "rcv_space": int(g("rcvq_space")), "total_retrans": int(g("total_retrans")),
        "bytes_acked": int(g("bytes_acked")), "bytes_received": int(g("bytes_received")),
        "notsent_bytes": max(int(g("write_seq")) - int(g("snd_nxt")), 0),
        "segs_out": int(g("segs_out")), "segs_in": int(g("segs_in")),
        "data_segs_out": int(g("data_segs_out")), "data_segs_in": int(g("data_segs_in")),
        "min_rtt": int(g("min_rtt_us")) or 0xFFFFFFFF,
        "delivery_rate_app_limited": bool(g("rate_app_limited", False)),
        "delivery_rate": int(g("delivery_rate")), "delivered": int(g("delivered")),
        "delivered_ce": int(g("delivered_ce")), "bytes_sent": int(g("bytes_sent")),
        "bytes_retrans": int(g("bytes_retrans")), "dsack_dups": int(g("dsack_dups")),
        "reord_seen": int(g("reord_seen")), "rcv_ooopack": int(g("rcv_ooopack")),
        "snd_wnd": int(g("snd_wnd")), "busy_time": int(g("busy_time")),
        "rwnd_limited": int(g("rwnd_limited")), "sndbuf_limited": int(g("sndbuf_limited")),
    })
    return info


def sprint_bw(bw: float, numeric: bool) -> str:
    if numeric:
        return f"{bw:.0f}"
    if bw >= 1e12:
        return f"{bw / 1e12:.3g}T"
    if bw >= 1e9:
        return f"{bw / 1e9:.3g}G"
    if bw >= 1e6:
        return f"{bw / 1e6:.3g}M"
    if bw >= 1e3:
        return f"{bw / 1e3:.3g}k"
    return f"{bw:g}"


def tcp_stats_text(info: dict[str, Any], cong: str | None, show_options: bool,
                   numeric: bool) -> str:
    """tcp_show_info + tcp_stats_print."""

    def g(key: str, default: Any = 0) -> Any:
        return info.get(key, default)

    out: list[str] = []
    if info["state"] != SS_LISTEN and show_options:
        opts = g("options", 0)
        if opts & 1:
            out.append(" ts")
        if opts & 2:
            out.append(" sack")
    if cong:
        out.append(f" {cong}")
    if g("options", 0) & 4:
        out.append(f" wscale:{g('snd_wscale', 0)},{g('rcv_wscale', 0)}")
    rto = g("rto", 0)
    if rto and rto != 3_000_000:
        out.append(f" rto:{rto / 1000:g}")
    if g("backoff", 0):
        out.append(f" backoff:{g('backoff')}")
    rtt = g("rtt", 0)
    if rtt:
        out.append(f" rtt:{rtt / 1000:g}/{g('rttvar', 0) / 1000:g}")
    if g("ato", 0):
        out.append(f" ato:{g('ato') / 1000:g}")
    for key, name in (("snd_mss", "mss"), ("pmtu", "pmtu"), ("rcv_mss", "rcvmss"),
                      ("advmss", "advmss"), ("snd_cwnd", "cwnd")):
        if g(key, 0):
            out.append(f" {name}:{g(key)}")
    ssthresh = g("snd_ssthresh", 0xFFFFFFFF)
    if ssthresh < 0xFFFF and ssthresh:
        out.append(f" ssthresh:{ssthresh}")
    for key in ("bytes_sent", "bytes_retrans", "bytes_acked", "bytes_received", "segs_out",
                "segs_in", "data_segs_out", "data_segs_in"):
        if g(key, 0):
            out.append(f" {key}:{g(key)}")
    mss, cwnd = g("snd_mss", 0), g("snd_cwnd", 0)
    if rtt > 0 and mss and cwnd:
        out.append(f" send {sprint_bw(cwnd * mss * 8000000.0 / rtt, numeric)}bps")
    for key, name in (("last_data_sent", "lastsnd"), ("last_data_recv", "lastrcv"),
                      ("last_ack_recv", "lastack")):
        if g(key, 0):
            out.append(f" {name}:{g(key)}")
    pacing = g("pacing_rate", 0)
    if pacing and pacing != 2**64 - 1:
        out.append(f" pacing_rate {sprint_bw(pacing * 8.0, numeric)}bps")
        pmax = g("max_pacing_rate", 0)
        if pmax and pmax != 2**64 - 1:
            out.append(f"/{sprint_bw(pmax * 8.0, numeric)}bps")
    if g("delivery_rate", 0):
        out.append(f" delivery_rate {sprint_bw(g('delivery_rate') * 8.0, numeric)}bps")
    if g("delivered", 0):
        out.append(f" delivered:{g('delivered')}")
    if g("delivered_ce", 0):
        out.append(f" delivered_ce:{g('delivered_ce')}")
    if g("delivery_rate_app_limited", False):
        out.append(" app_limited")
    busy = g("busy_time", 0)
    if busy:
        out.append(f" busy:{busy // 1000}ms")
        if g("rwnd_limited", 0):
            out.append(f" rwnd_limited:{g('rwnd_limited') // 1000}ms"
                       f"({100.0 * g('rwnd_limited') / busy:.1f}%)")
        if g("sndbuf_limited", 0):
            out.append(f" sndbuf_limited:{g('sndbuf_limited') // 1000}ms"
                       f"({100.0 * g('sndbuf_limited') / busy:.1f}%)")
    if g("unacked", 0):
        out.append(f" unacked:{g('unacked')}")
    if g("retrans", 0) or g("total_retrans", 0):
        out.append(f" retrans:{g('retrans', 0)}/{g('total_retrans', 0)}")
    if g("lost", 0):
        out.append(f" lost:{g('lost')}")
    if g("sacked", 0) and info["state"] != SS_LISTEN:
        out.append(f" sacked:{g('sacked')}")
    if g("dsack_dups", 0):
        out.append(f" dsack_dups:{g('dsack_dups')}")
    if g("reordering", 3) != 3:
        out.append(f" reordering:{g('reordering')}")
    if g("reord_seen", 0):
        out.append(f" reord_seen:{g('reord_seen')}")
    if g("rcv_rtt", 0):
        out.append(f" rcv_rtt:{g('rcv_rtt') / 1000:g}")
    if g("rcv_space", 0):
        out.append(f" rcv_space:{g('rcv_space')}")
    if g("rcv_ssthresh", 0):
        out.append(f" rcv_ssthresh:{g('rcv_ssthresh')}")
    if g("notsent_bytes", 0):
        out.append(f" notsent:{g('notsent_bytes')}")
    min_rtt = g("min_rtt", 0)
    if min_rtt and min_rtt != 0xFFFFFFFF:
        out.append(f" minrtt:{min_rtt / 1000:g}")
    if g("rcv_ooopack", 0):
        out.append(f" rcv_ooopack:{g('rcv_ooopack')}")
    if g("snd_wnd", 0):
        out.append(f" snd_wnd:{g('snd_wnd')}")
    return "".join(out)


def print_ms_timer(timeout: int) -> str:
    secs = timeout // 1000
    minutes = secs // 60
    secs %= 60
    msecs = timeout % 1000
    buf = ""
    if minutes:
        msecs = 0
        buf = f"{minutes}min"
        if minutes > 9:
            secs = 0
    if secs:
        if secs > 9:
            msecs = 0
        buf += f"{secs}{'.' if msecs else 'sec'}"
    if msecs:
        buf += f"{msecs:03d}ms"
    return buf


_TIMER_NAMES = ("off", "on", "keepalive", "timewait", "persist", "unknown")

# -- the filter run -------------------------------------------------------------------


def _addr_match(fam: int, addr: int, pfx: Prefix) -> bool:
    """inet_addr_match / bitstring_match on the prefix's bits."""
    if pfx.bitlen == 0:
        return True
    if fam != pfx.family:
        return False
    width = 128 if fam == AF_INET6 else 32
    shift = width - pfx.bitlen
    return (addr >> shift) == (pfx.addr >> shift)


def _hostcond_match(cond: HostCond, fam: int, addr: int, port: int, kernel: bool) -> bool:
    if cond.family in (AF_UNIX, AF_PACKET, AF_NETLINK, AF_VSOCK):
        return False
    if cond.port != -1 and cond.port != port:
        return False
    if not cond.addrs:
        return not (kernel and cond.family not in (AF_UNSPEC, fam))
    return any(_addr_match(fam, addr, p) for p in cond.addrs)


def run_filter(ctx: _Ctx, node: Node, s: SockStat, kernel: bool) -> bool:
    """run_ssfilter (kernel=False) or the kernel's inet_diag_bc_run of the
    compiled expression (kernel=True; ``dev`` compiles to nothing)."""
    kind = node.kind
    if kind == "and":
        return run_filter(ctx, node.pred, s, kernel) and run_filter(ctx, node.post, s, kernel)
    if kind == "or":
        return run_filter(ctx, node.pred, s, kernel) or run_filter(ctx, node.post, s, kernel)
    if kind == "not":
        return not run_filter(ctx, node.pred, s, kernel)
    cond: HostCond = node.pred
    if s.family == AF_UNIX and kind in ("auto", "dcond", "scond"):
        if kind == "auto":
            return _unix_autobound(s.unix_name)
        return _unix_cond_match(cond, s, kind == "scond")
    if kind == "auto":
        if kernel:
            return not s.userlocks & SOCK_BINDPORT_LOCK
        if s.family == AF_NETLINK:
            return s.lport < 0
        return ctx.is_ephemeral(s.lport)
    if kind == "dcond":
        return _hostcond_match(cond, s.family, s.raddr, s.rport, kernel)
    if kind == "scond":
        return _hostcond_match(cond, s.family, s.laddr, s.lport, kernel)
    if kind == "dge":
        return s.rport >= cond.port
    if kind == "dle":
        return s.rport <= cond.port
    if kind == "sge":
        return s.lport >= cond.port
    if kind == "sle":
        return s.lport <= cond.port
    if kind == "dev":
        return s.iface == cond.iface
    if kind == "mark":
        return (s.mark & cond.mask) == cond.mark
    raise AssertionError(kind)


def _compiles(node: Node | None) -> bool:
    """ssfilter_bytecompile gives nothing when a ``dev`` condition is inside."""
    if node is None:
        return False
    if node.kind == "dev":
        return False
    if node.kind in ("and", "or"):
        return _compiles(node.pred) and _compiles(node.post)
    if node.kind == "not":
        return _compiles(node.pred)
    return True


# -- the output buffer and its rendering ------------------------------------------------

COL_NETID, COL_STATE, COL_RECVQ, COL_SENDQ, COL_ADDR, COL_SERV, COL_RADDR, COL_RSERV = range(8)
COL_EXT, COL_PROC, COL_MAX = 8, 9, 10
ALIGN_LEFT, ALIGN_RIGHT = 0, 2


@dataclass
class Column:
    align: int
    header: str
    ldelim: str
    disabled: bool = False
    width: int = 0
    max_len: int = 0


def _columns() -> list[Column]:
    return [Column(ALIGN_LEFT, "Netid", ""), Column(ALIGN_LEFT, "State", " "),
            Column(ALIGN_LEFT, "Recv-Q", " "), Column(ALIGN_LEFT, "Send-Q", " "),
            Column(ALIGN_RIGHT, "Local Address:", " "), Column(ALIGN_LEFT, "Port", ""),
            Column(ALIGN_RIGHT, "Peer Address:", " "), Column(ALIGN_LEFT, "Port", ""),
            Column(ALIGN_LEFT, "Process", ""), Column(ALIGN_LEFT, "", "")]


def _blen(text: str) -> int:
    return len(text.encode())


class Output:
    """ss's token buffer: ``out`` appends to the current field, ``field_next``
    closes it (and measures it); ``render`` lays the tokens out."""

    def __init__(self) -> None:
        self.columns = _columns()
        self.cur = 0  # index of the current field
        self.text: list[str] = []  # the current field's text
        self.tokens: list[str] = []
        self.started = False  # whether any token exists (buffer.head)

    def out(self, text: str) -> None:
        if self.columns[self.cur].disabled:
            return
        self.started = True
        self.text.append(text)

    def _flush(self) -> None:
        col = self.columns[self.cur]
        if col.disabled:
            return
        self.started = True
        token = "".join(self.text)
        self.text = []
        col.max_len = max(col.max_len, _blen(token))
        self.tokens.append(token)

    def field_next(self) -> None:
        self._flush()
        self.cur = 0 if self.cur == COL_MAX - 1 else self.cur + 1

    def field_set(self, col: int) -> None:
        while self.cur != col:
            self.field_next()

    def header(self) -> None:
        while self.cur != COL_MAX - 1:
            if not self.columns[self.cur].disabled:
                self.out(self.columns[self.cur].header)
            self.field_next()

    def render(self) -> str:
        if not self.started:
            return ""
        tokens = [*self.tokens, "".join(self.text)]  # the last one is never measured
        cols = self.columns
        first = True
        for c in cols:
            if c.disabled:
                continue
            c.width = c.max_len + len(c.ldelim) if not first and c.max_len else c.max_len
            if c.width:
                first = False
        out: list[str] = []
        f = 0
        while f < COL_MAX and not cols[f].width:
            f += 1
        line_started = False
        for token in tokens:
            col = cols[min(f, COL_MAX - 1)]
            printed = 0
            if line_started:
                out.append(col.ldelim)
                printed = len(col.ldelim)
            line_started = True
            n = _blen(token)
            if col.width and col.align != ALIGN_LEFT:
                s = col.width - n - printed
                if s > 0:
                    out.append(" " * s)
                    printed += s
            out.append(token)
            printed += n
            if col.width and col.align != ALIGN_RIGHT:
                s = col.width - printed
                if s > 0:
                    out.append(" " * s)
            while True:
                if f >= COL_MAX - 1:
                    out.append("\n")
                    f = 0
                    line_started = False
                else:
                    f += 1
                if not cols[f].disabled:
                    break
        if line_started:
            out.append("\n")
        return "".join(out)


# -- printing one socket --------------------------------------------------------------------


def _port_name(ctx: _Ctx, port: int, proto: str) -> str:
    """resolve_service."""
    if port == 0:
        return "*"
    if ctx.opts.numeric:
        return str(port)
    if proto == "raw":
        name = getprotobynumber(port)
        return name if name is not None else f"ipproto-{port}"
    if not ctx.is_ephemeral(port):
        name = getservbyport(port, proto)
        if name is not None:
            return name
    return str(port)


def _addr_text(addr: int) -> str:
    return ".".join(str(b) for b in addr.to_bytes(4, "big"))


def _print_sock(ctx: _Ctx, s: SockStat, users: dict[int, list[tuple[str, int, int]]]) -> None:
    o, opts = ctx.out, ctx.opts
    o.field_set(COL_NETID)
    o.out(s.netid)
    o.field_set(COL_STATE)
    o.out(STATE_NAMES[s.state])
    o.field_set(COL_RECVQ)
    o.out(f"{s.rq:<6d}")
    o.field_set(COL_SENDQ)
    o.out(f"{s.wq:<6d}")
    o.field_set(COL_ADDR)
    if s.family == AF_UNIX:
        _print_unix(ctx, s, users)
        return
    if s.netlink is not None:
        assert s.netlink_numeric is not None
        prot, who = s.netlink_numeric if opts.numeric else s.netlink
        o.out(f"{prot}:")
        o.field_next()
        o.out(who)
        o.field_next()
        o.out("*")
        o.field_next()
        o.field_next()
        if opts.show_details:
            o.out(" sk=0 cb=0 groups=0x00000000")
        return
    proto = s.netid
    ifname = ""
    if s.iface and not s.proc_path:
        dev = ctx.net.dev_by_index.get(s.iface)
        ifname = "%" + (dev.name if dev is not None else f"if{s.iface}")
    o.out(f"{_addr_text(s.laddr)}{ifname}:")
    o.field_next()
    o.out(_port_name(ctx, s.lport, proto))
    o.field_next()
    o.out(f"{_addr_text(s.raddr)}:")
    o.field_next()
    o.out(_port_name(ctx, s.rport, proto))
    o.field_next()
    ino = _ids(ctx.kernel).inode(s.obj) if s.has_ino and s.obj is not None else 0
    if ino:
        _print_users(ctx, s, users)
    if s.proc_path:
        return
    if opts.show_options and s.timer is not None and s.timer[0]:
        code, expires, retrans = s.timer
        o.out(f" timer:({_TIMER_NAMES[min(code, 5)]},{print_ms_timer(expires)},{retrans})")
    if opts.show_details:
        if s.uid:  # sock_details_print leaves root out
            o.out(f" uid:{s.uid}")
        o.out(f" ino:{ino} sk:{_cookie(ctx, s):x}")
        if s.mark:
            o.out(f" fwmark:0x{s.mark:x}")
        if s.shutdown is not None:
            o.out(" " + ("-" if s.shutdown & 1 else "<") + "-" + ("-" if s.shutdown & 2 else ">"))
    if opts.show_tos and s.tos is not None:
        o.out(f" tos:{_c_hash_x(s.tos)}")
        o.out(f" class_id:{_c_hash_x(s.priority)}")
    if opts.show_inet_sockopt and s.sockopt is not None:
        o.out(" inet-sockopt: (" if opts.oneline else "\n\tinet-sockopt: (")
        o.out(s.sockopt + ")")
    if opts.show_mem or (opts.show_tcpinfo and s.netid != "udp"):
        if not opts.oneline:
            o.out("\n\t")
        if opts.show_tcpinfo and s.info is not None:
            o.out(tcp_stats_text(s.info(), s.cong, opts.show_options, opts.numeric))


def _print_users(ctx: _Ctx, s: SockStat, users: dict[int, list[tuple[str, int, int]]]) -> None:
    """proc_ctx_print: -p's (and -T's) " users:(...)" of a socket with an inode."""
    opts = ctx.opts
    if not (opts.show_processes or opts.show_threads):
        return
    owners = users.get(id(s.obj))
    if owners:
        tid = opts.show_threads > 0
        ctx.out.out(" users:(" + ",".join(
            f'("{name}",pid={pid},{f"tid={pid}," if tid else ""}fd={fd})'
            for name, pid, fd in owners) + ")")


def _c_hash_x(value: int) -> str:
    """printf("%#x")."""
    return f"{value:#x}" if value else "0"


def _cookie(ctx: _Ctx, s: SockStat) -> int:
    key = (s.laddr, s.lport, s.raddr, s.rport) if s.netid == "tcp" else None
    return _ids(ctx.kernel).sk_cookie(s.obj, key)


# -- -p: who holds which socket ----------------------------------------------------------------


KERNEL_FD_OWNER = ("python3", 1)  # who holds the kernel-wide descriptor table


def socket_users(kernel: Kernel) -> dict[int, list[tuple[str, int, int]]]:
    """id(socket) -> [(process name, pid, fd)], in the order ss prints them
    (ss scans /proc/PID/fd/* and adds each find at the head of a list).

    usernet.socket keeps one descriptor table per kernel ("one process's, as
    far as usernet knows"): its descriptors are shown as held by
    :data:`KERNEL_FD_OWNER`, the program that runs the simulation.  A
    process with a table of its own (``files``/``fds``: fd -> an open file
    with ``sk``, or a socket) is shown under its name and pid."""
    found: dict[int, list[tuple[str, int, int]]] = {}

    def scan(name: str, pid: int, table: Any) -> None:
        for fd in sorted(table):
            obj = table[fd]
            sk = getattr(obj, "sk", None) or obj
            found.setdefault(id(sk), []).insert(0, (name[:15], pid, int(fd)))

    try:
        from ..socket._context import _tables

        shared = _tables.get(kernel)
    except ImportError:  # pragma: no cover - no socket layer
        shared = None
    if shared is not None:
        scan(KERNEL_FD_OWNER[0], KERNEL_FD_OWNER[1], shared.files)
    for pid in sorted(kernel.processes):
        p = kernel.processes[pid]
        table = getattr(p, "files", None) or getattr(p, "fds", None)
        if isinstance(table, dict):
            scan(p.name, pid, table)
    return found


# -- main -----------------------------------------------------------------------------------


def _getopt(argv: list[str], rest: list[str]) -> Iterator[tuple[str, str | None]]:
    """GNU getopt_long, permuting: options anywhere until ``--``; the other
    arguments are appended to ``rest``.  Options come one at a time, so an
    error is reported only when parsing reaches it, as getopt does."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            exact = [o for o in _LONG if o[0] == name]
            matches = exact or [o for o in _LONG if o[0].startswith(name)]
            if len({(m[1], m[2]) for m in matches}) > 1:
                names = " ".join(f"'--{m[0]}'" for m in matches)
                raise ToolExit(255, f"ss: option '--{name}' is ambiguous; possibilities: "
                                    f"{names}\n{USAGE}")
            if not matches:
                raise ToolExit(255, f"ss: unrecognized option '{arg}'\n{USAGE}")
            lname, has_arg, key = matches[0]
            if has_arg:
                if not eq:
                    if i >= len(argv):
                        raise ToolExit(255, f"ss: option '--{lname}' requires an argument\n"
                                            f"{USAGE}")
                    value = argv[i]
                    i += 1
                yield (key, value)
            else:
                if eq:
                    raise ToolExit(255, f"ss: option '--{lname}' doesn't allow an argument\n"
                                        f"{USAGE}")
                yield (key, None)
            continue
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                ch = arg[j]
                j += 1
                pos = _SHORT.find(ch)
                if pos < 0 or ch == ":":
                    raise ToolExit(255, f"ss: invalid option -- '{ch}'\n{USAGE}")
                if _SHORT[pos + 1:pos + 2] == ":":
                    if j < len(arg):
                        value = arg[j:]
                    elif i < len(argv):
                        value = argv[i]
                        i += 1
                    else:
                        raise ToolExit(255, f"ss: option requires an argument -- '{ch}'\n"
                                            f"{USAGE}")
                    yield (ch, value)
                    break
                yield (ch, None)
            continue
        rest.append(arg)


def main(proc: Proc, argv: list[str]) -> int:
    ctx = _Ctx(proc)
    o, f = ctx.opts, ctx.filter
    saw_states = saw_query = False
    state_filter = 0
    args: list[str] = []
    for ch, value in _getopt(argv, args):
        if ch == "n":
            o.numeric = True
        elif ch == "r":
            pass  # addresses are never resolved here
        elif ch in ("o", "b"):
            o.show_options = True
        elif ch == "e":
            o.show_options = True
            o.show_details += 1
        elif ch == "m":
            raise ToolExit(1, "ss: -m (socket memory) is not supported by usernet")
        elif ch == "i":
            o.show_tcpinfo = True
        elif ch == "p":
            o.show_processes += 1
        elif ch == "T":
            o.show_threads += 1
        elif ch == "E":
            raise ToolExit(1, "ss: -E (events) is not supported by usernet")
        elif ch in "dtSuwM":
            db = {"d": DCCP_DB, "t": TCP_DB, "S": SCTP_DB, "u": UDP_DB, "w": RAW_DB,
                  "M": MPTCP_DB}[ch]
            filter_db_set(ctx, db)
        elif ch == "x":
            filter_af_set(ctx, AF_UNIX)
        elif ch == "vsock":
            filter_af_set(ctx, AF_VSOCK)
        elif ch == "tipc":
            filter_af_set(ctx, AF_TIPC)
        elif ch == "a":
            state_filter = SS_ALL
        elif ch == "l":
            state_filter = (1 << SS_LISTEN) | (1 << SS_CLOSE)
        elif ch == "4":
            filter_af_set(ctx, AF_INET)
        elif ch == "6":
            filter_af_set(ctx, AF_INET6)
        elif ch == "0":
            filter_af_set(ctx, AF_PACKET)
        elif ch == "xdp":
            filter_af_set(ctx, AF_XDP)
        elif ch == "f":
            assert value is not None
            if value == "help":
                proc.out(USAGE)
                return 0
            af = _FAMILY_WORDS.get(value)
            if af is None:
                raise ToolExit(255, f'ss: "{value}" is invalid family\n{USAGE}')
            filter_af_set(ctx, af)
        elif ch == "A":
            assert value is not None
            if not saw_query:
                f.dbs = 0
                state_filter = state_filter or SS_CONN
                saw_query = True
                o.do_default = False
            for name in value.split(","):
                if not filter_db_parse(ctx, name):
                    raise ToolExit(255, f'ss: "{name}" is illegal socket table id\n{USAGE}')
        elif ch == "s":
            raise ToolExit(1, "ss: -s (summary) is not supported by usernet")
        elif ch in "DF":
            raise ToolExit(1, f"ss: -{ch} (files) is not supported by usernet")
        elif ch in "vV":
            proc.out(VERSION)
            return 0
        elif ch in "zZ":
            raise ToolExit(1, "ss: SELinux is not enabled.")
        elif ch == "N":
            assert value is not None
            net = proc.kernel.netns_names.get(value)
            if net is None:
                raise ToolExit(1, f'Cannot open network namespace "{value}": '
                                  "No such file or directory")
            ctx.net = net
        elif ch == "tipcinfo":
            pass
        elif ch == "tos":
            o.show_tos = True
        elif ch == "cgroup":
            o.show_cgroup = True
        elif ch == "K":
            raise ToolExit(1, "ss: -K (kill) is not supported by usernet")
        elif ch == "H":
            o.show_header = False
        elif ch == "O":
            o.oneline = True
        elif ch == "inet-sockopt":
            o.show_inet_sockopt = True
        elif ch == "h":
            proc.out(USAGE)
            return 0
    while args:
        word = args[0]
        if word == "state" or word in ("exclude", "excl"):
            if len(args) < 2:
                raise ToolExit(255, 'Command line is not complete. Try option "help"')
            mask = scan_state(args[1])
            if word == "state":
                if not saw_states:
                    state_filter = 0
                state_filter |= mask
            else:
                if not saw_states:
                    state_filter = SS_ALL
                state_filter &= ~mask
            saw_states = True
            args = args[2:]
        else:
            break
    if o.do_default:
        state_filter = state_filter or SS_CONN
        filter_db_parse(ctx, "all")
    if state_filter:
        f.states = state_filter
    filter_merge_defaults(f)
    if f.dbs == 0:
        proc.err("ss: no socket tables to show with such filter.\n")
        return 0
    if f.families == 0:
        proc.err("ss: no families to show with such filter.\n")
        return 0
    if f.states == 0:
        proc.err("ss: no socket states to show with such filter.\n")
        return 0
    try:
        f.expr = _Parser(_Lexer(ctx, args)).parse()
    except _SyntaxError:
        raise ToolExit(255, _SYNTAX_ERROR + USAGE) from None
    if not f.dbs & (f.dbs - 1):
        ctx.out.columns[COL_NETID].disabled = True
    if not f.states & (f.states - 1):
        ctx.out.columns[COL_STATE].disabled = True
    if o.show_header:
        ctx.out.header()
    users = socket_users(ctx.kernel) if o.show_processes or o.show_threads else {}
    for s in _collect(ctx):
        _print_sock(ctx, s, users)
    proc.out(ctx.out.render())
    return 0


def _collect(ctx: _Ctx) -> Iterator[SockStat]:
    """The sockets to show, in ss's order: netlink, packet, unix, raw, udp, tcp,
    dccp, ... (packet and the others have none here)."""
    f = ctx.filter
    inet = bool(f.families & _INET_FAMS)
    v4 = bool(f.families & (1 << AF_INET)) and ctx.opts.preferred_family != AF_INET6
    if f.dbs & (1 << NETLINK_DB) and f.families & (1 << AF_NETLINK) and f.states & _CLOSE:
        yield from _select(ctx, _netlink_stats(ctx))
    if f.dbs & UNIX_DBM and f.families & (1 << AF_UNIX):
        yield from _select(ctx, _unix_stats(ctx))
    if f.dbs & (1 << RAW_DB) and f.families & (1 << AF_INET):
        yield from _select(ctx, _raw_stats(ctx.net))
    if f.dbs & (1 << UDP_DB) and inet and v4:
        yield from _select(ctx, _udp_stats(ctx.net))
    if f.dbs & (1 << TCP_DB) and inet and v4:
        yield from _select(ctx, _tcp_stats(ctx.kernel, ctx.net, f.states))
    if f.dbs & (1 << DCCP_DB) and inet:
        ctx.proc.err("RTNETLINK answers: Invalid argument\n")


def _select(ctx: _Ctx, stats: Iterable[SockStat]) -> Iterator[SockStat]:
    f = ctx.filter
    compiled = _compiles(f.expr)
    for s in stats:
        if not f.states & (1 << s.state):
            continue
        if f.expr is not None:
            if s.kernel_filter and compiled and not run_filter(ctx, f.expr, s, kernel=True):
                continue
            if not run_filter(ctx, f.expr, s, kernel=False):
                continue
        yield s
