"""The --help texts of the extensions, as iptables v1.8.9 prints them
(recorded from ``iptables -m NAME -h`` / ``iptables -j NAME -h``)."""

from __future__ import annotations

EXT_HELP: dict[str, str] = {
    'tcp': (
        '\n'
        'tcp match options:\n'
        '[!] --tcp-flags mask comp\tmatch when TCP flags & mask == comp\n'
        '\t\t\t\t(Flags: SYN ACK FIN RST URG PSH ALL NONE)\n'
        '[!] --syn\t\t\tmatch when only SYN flag set\n'
        '\t\t\t\t(equivalent to --tcp-flags SYN,RST,ACK,FIN SYN)\n'
        '[!] --source-port port[:port]\n'
        ' --sport ...\n'
        '\t\t\t\tmatch source port(s)\n'
        '[!] --destination-port port[:port]\n'
        ' --dport ...\n'
        '\t\t\t\tmatch destination port(s)\n'
        '[!] --tcp-option number        match if TCP option set\n'
    ),
    'udp': (
        '\n'
        'udp match options:\n'
        '[!] --source-port port[:port]\n'
        ' --sport ...\n'
        '\t\t\t\tmatch source port(s)\n'
        '[!] --destination-port port[:port]\n'
        ' --dport ...\n'
        '\t\t\t\tmatch destination port(s)\n'
    ),
    'icmp': (
        '\n'
        'icmp match options:\n'
        '[!] --icmp-type typename\tmatch icmp type\n'
        '[!] --icmp-type type[/code]\t(or numeric type or type/code)\n'
        'Valid ICMP Types:\n'
        'any\n'
        'echo-reply (pong)\n'
        'destination-unreachable\n'
        '   network-unreachable\n'
        '   host-unreachable\n'
        '   protocol-unreachable\n'
        '   port-unreachable\n'
        '   fragmentation-needed\n'
        '   source-route-failed\n'
        '   network-unknown\n'
        '   host-unknown\n'
        '   network-prohibited\n'
        '   host-prohibited\n'
        '   TOS-network-unreachable\n'
        '   TOS-host-unreachable\n'
        '   communication-prohibited\n'
        '   host-precedence-violation\n'
        '   precedence-cutoff\n'
        'source-quench\n'
        'redirect\n'
        '   network-redirect\n'
        '   host-redirect\n'
        '   TOS-network-redirect\n'
        '   TOS-host-redirect\n'
        'echo-request (ping)\n'
        'router-advertisement\n'
        'router-solicitation\n'
        'time-exceeded (ttl-exceeded)\n'
        '   ttl-zero-during-transit\n'
        '   ttl-zero-during-reassembly\n'
        'parameter-problem\n'
        '   ip-header-bad\n'
        '   required-option-missing\n'
        'timestamp-request\n'
        'timestamp-reply\n'
        'address-mask-request\n'
        'address-mask-reply\n'
    ),
    'conntrack': (
        '\n'
        'conntrack match options:\n'
        '[!] --ctstate {INVALID|ESTABLISHED|NEW|RELATED|UNTRACKED|SNAT|DNAT}[,...]\n'
        '                               State(s) to match\n'
        '[!] --ctproto proto            Protocol to match; by number or name, e.g. "tcp"\n'
        '[!] --ctorigsrc address[/mask]\n'
        '[!] --ctorigdst address[/mask]\n'
        '[!] --ctreplsrc address[/mask]\n'
        '[!] --ctrepldst address[/mask]\n'
        '                               Original/Reply source/destination address\n'
        '[!] --ctorigsrcport port\n'
        '[!] --ctorigdstport port\n'
        '[!] --ctreplsrcport port\n'
        '[!] --ctrepldstport port\n'
        '                               TCP/UDP/SCTP orig./reply source/destination port\n'
        '[!] --ctstatus {NONE|EXPECTED|SEEN_REPLY|ASSURED|CONFIRMED}[,...]\n'
        '                               Status(es) to match\n'
        '[!] --ctexpire time[:time]     Match remaining lifetime in seconds against\n'
        '                               value or range of values (inclusive)\n'
        '    --ctdir {ORIGINAL|REPLY}   Flow direction of packet\n'
    ),
    'state': (
        '\n'
        'state match options:\n'
        ' [!] --state [INVALID|ESTABLISHED|NEW|RELATED|UNTRACKED][,...]\n'
        '\t\t\t\tState(s) to match\n'
    ),
    'multiport': (
        '\n'
        'multiport match options:\n'
        '[!] --source-ports port[,port:port,port...]\n'
        ' --sports ...\n'
        '\t\t\t\tmatch source port(s)\n'
        '[!] --destination-ports port[,port:port,port...]\n'
        ' --dports ...\n'
        '\t\t\t\tmatch destination port(s)\n'
        '[!] --ports port[,port:port,port]\n'
        '\t\t\t\tmatch both source and destination port(s)\n'
    ),
    'comment': (
        '\n'
        'comment match options:\n'
        '--comment COMMENT             Attach a comment to a rule\n'
    ),
    'limit': (
        '\n'
        'limit match options:\n'
        '--limit avg\t\t\tmax average match rate: default 3/hour\n'
        '                                [Packets per second unless followed by \n'
        '                                /sec /minute /hour /day postfixes]\n'
        '--limit-burst number\t\tnumber to match in a burst, default 5\n'
    ),
    'mark': (
        '\n'
        'mark match options:\n'
        '[!] --mark value[/mask]    Match nfmark value with optional mask\n'
    ),
    'length': (
        '\n'
        'length match options:\n'
        '[!] --length length[:length]    Match packet length against value or range\n'
        '                                of values (inclusive)\n'
    ),
    'ttl': (
        '\n'
        'ttl match options:\n'
        '[!] --ttl-eq value\tMatch time to live value\n'
        '  --ttl-lt value\tMatch TTL < value\n'
        '  --ttl-gt value\tMatch TTL > value\n'
    ),
    'addrtype': (
        '\n'
        'Address type match options:\n'
        ' [!] --src-type type[,...]      Match source address type\n'
        ' [!] --dst-type type[,...]      Match destination address type\n'
        "     --limit-iface-in           Match only on the packet's incoming device\n"
        "     --limit-iface-out          Match only on the packet's outgoing device\n"
        '\n'
        'Valid types:           \n'
        '                                UNSPEC\n'
        '                                UNICAST\n'
        '                                LOCAL\n'
        '                                BROADCAST\n'
        '                                ANYCAST\n'
        '                                MULTICAST\n'
        '                                BLACKHOLE\n'
        '                                UNREACHABLE\n'
        '                                PROHIBIT\n'
        '                                THROW\n'
        '                                NAT\n'
        '                                XRESOLVE\n'
    ),
    'iprange': (
        '\n'
        'iprange match options:\n'
        '[!] --src-range ip[-ip]    Match source IP in the specified range\n'
        '[!] --dst-range ip[-ip]    Match destination IP in the specified range\n'
    ),
    'owner': (
        '\n'
        'owner match options:\n'
        '[!] --uid-owner userid[-userid]      Match local UID\n'
        '[!] --gid-owner groupid[-groupid]    Match local GID\n'
        '[!] --socket-exists                  Match if socket exists\n'
        '    --suppl-groups                   Also match supplementary groups set with '
        '--gid-owner\n'
    ),
    'connmark': (
        '\n'
        'connmark match options:\n'
        '[!] --mark value[/mask]    Match ctmark value with optional mask\n'
    ),
    'REJECT': (
        '\n'
        'REJECT target options:\n'
        '--reject-with type              drop input packet and send back\n'
        '                                a reply packet according to type:\n'
        'Valid reject types:\n'
        '    icmp-net-unreachable     \tICMP network unreachable\n'
        '    net-unreach              \talias\n'
        '    icmp-host-unreachable    \tICMP host unreachable\n'
        '    host-unreach             \talias\n'
        '    icmp-proto-unreachable   \tICMP protocol unreachable\n'
        '    proto-unreach            \talias\n'
        '    icmp-port-unreachable    \tICMP port unreachable (default)\n'
        '    port-unreach             \talias\n'
        '    icmp-net-prohibited      \tICMP network prohibited\n'
        '    net-prohib               \talias\n'
        '    icmp-host-prohibited     \tICMP host prohibited\n'
        '    host-prohib              \talias\n'
        '    tcp-reset                \tTCP RST packet\n'
        '    tcp-rst                  \talias\n'
        '    icmp-admin-prohibited    \tICMP administratively prohibited (*)\n'
        '    admin-prohib             \talias\n'
        '\n'
        '(*) See man page or read the INCOMPATIBILITES file for compatibility issues.\n'
    ),
    'LOG': (
        '\n'
        'LOG target options:\n'
        ' --log-level level\t\tLevel of logging (numeric or see syslog.conf)\n'
        ' --log-prefix prefix\t\tPrefix log messages with this prefix.\n'
        ' --log-tcp-sequence\t\tLog TCP sequence numbers.\n'
        ' --log-tcp-options\t\tLog TCP options.\n'
        ' --log-ip-options\t\tLog IP options.\n'
        ' --log-uid\t\t\tLog UID owning the local socket.\n'
        ' --log-macdecode\t\tDecode MAC addresses and protocol.\n'
    ),
    'SNAT': (
        '\n'
        'SNAT target options:\n'
        ' --to-source [<ipaddr>[-<ipaddr>]][:port[-port]]\n'
        '\t\t\t\tAddress to map source to.\n'
        '[--random] [--random-fully] [--persistent]\n'
    ),
    'DNAT': (
        '\n'
        'DNAT target options:\n'
        ' --to-destination [<ipaddr>[-<ipaddr>]][:port[-port[/port]]]\n'
        '\t\t\t\tAddress to map destination to.\n'
        '[--random] [--persistent]\n'
    ),
    'MASQUERADE': (
        '\n'
        'MASQUERADE target options:\n'
        ' --to-ports <port>[-<port>]\n'
        '\t\t\t\tPort (range) to map to.\n'
        ' --random\n'
        '\t\t\t\tRandomize source port.\n'
        ' --random-fully\n'
        '\t\t\t\tFully randomize source port.\n'
    ),
    'REDIRECT': (
        '\n'
        'REDIRECT target options:\n'
        ' --to-ports <port>[-<port>]\n'
        '\t\t\t\tPort (range) to map to.\n'
        ' [--random]\n'
    ),
    'MARK': (
        '\n'
        'MARK target options:\n'
        '  --set-xmark value[/mask]  Clear bits in mask and XOR value into nfmark\n'
        '  --set-mark value[/mask]   Clear bits in mask and OR value into nfmark\n'
        '  --and-mark bits           Binary AND the nfmark with bits\n'
        '  --or-mark bits            Binary OR the nfmark with bits\n'
        '  --xor-mark bits           Binary XOR the nfmark with bits\n'
    ),
    'CONNMARK': (
        '\n'
        'CONNMARK target options:\n'
        '  --set-xmark value[/ctmask]    Zero mask bits and XOR ctmark with value\n'
        '  --save-mark [--ctmask mask] [--nfmask mask]\n'
        '                                Copy ctmark to nfmark using masks\n'
        '  --restore-mark [--ctmask mask] [--nfmask mask]\n'
        '                                Copy nfmark to ctmark using masks\n'
        '  --set-mark value[/mask]       Set conntrack mark value\n'
        '  --save-mark [--mask mask]     Save the packet nfmark in the connection\n'
        '  --restore-mark [--mask mask]  Restore saved nfmark value\n'
        '  --and-mark value              Binary AND the ctmark with bits\n'
        '  --or-mark value               Binary OR  the ctmark with bits\n'
        '  --xor-mark value              Binary XOR the ctmark with bits\n'
        '  --left-shift-mark value       Left shift the ctmark with bits\n'
        '  --right-shift-mark value      Right shift the ctmark with bits\n'
    ),
    'CT': (
        '\n'
        'CT target options:\n'
        " --notrack\t\t\tDon't track connection\n"
        " --helper name\t\t\tUse conntrack helper 'name' for connection\n"
        " --timeout name \t\tUse timeout policy 'name' for connection\n"
        ' --ctevents event[,event...]\tGenerate specified conntrack events for connection\n'
        ' --expevents event[,event...]\tGenerate specified expectation events for connection\n'
        ' --zone {ID|mark}\t\tAssign/Lookup connection in zone ID/packet nfmark\n'
        " --zone-orig {ID|mark}\t\tSame as 'zone' option, but only applies to ORIGINAL direction\n"
        " --zone-reply {ID|mark} \tSame as 'zone' option, but only applies to REPLY direction\n"
    ),
    'NOTRACK': (
        '\n'
        'NOTRACK does not take any options\n'
    ),
    'TTL': (
        '\n'
        'TTL target options\n'
        '  --ttl-set value\t\tSet TTL to <value 0-255>\n'
        '  --ttl-dec value\t\tDecrement TTL by <value 1-255>\n'
        '  --ttl-inc value\t\tIncrement TTL by <value 1-255>\n'
    ),
    'standard': (
        '\n'
        'standard match options:\n'
        '(If target is DROP, ACCEPT, RETURN or nothing)\n'
    ),
}
