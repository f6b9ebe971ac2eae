"""Names in scripts: ``hosts`` edits the namespace's hosts table, ``getent``
(glibc's, for the ``hosts``/``ahosts``/``ahostsv4`` databases) and
``hostname`` read it, all through :mod:`usernet.socket`.

``hosts`` is usernet's own (there is no /etc/hosts file to edit)::

    hosts                      print the table as /etc/hosts holds it
    hosts add ADDR NAME...     append a line
    hosts del ADDR|NAME        drop an address's lines, or a name
"""

from __future__ import annotations

import socket as _s

from ..socket import _netdb
from . import Proc, ToolExit

GETENT_TRY = "Try `getent --help' or `getent --usage' for more information.\n"
HOSTS_USAGE = "usage: hosts [show] | hosts add ADDR NAME... | hosts del ADDR|NAME"


def hosts(proc: Proc, argv: list[str]) -> int:
    table = _netdb.hosts(proc.kernel, proc.net)
    if not argv or argv == ["show"]:
        proc.out(table.text())
        return 0
    if argv[0] == "add" and len(argv) >= 3:
        try:
            table.add(argv[1], *argv[2:])
        except ValueError as exc:
            raise ToolExit(1, f"hosts: {exc}") from None
        return 0
    if argv[0] in ("del", "delete") and len(argv) == 2:
        if not table.remove(argv[1]):
            raise ToolExit(1, f"hosts: {argv[1]}: not in the table")
        return 0
    raise ToolExit(2, HOSTS_USAGE)


def _line(addr: str, names: str) -> str:
    return f"{addr:<15} {names}\n"


def _getent_hosts(proc: Proc, keys: list[str]) -> int:
    """gethostbyaddr for addresses, gethostbyname for names; one line each."""
    table = _netdb.hosts(proc.kernel, proc.net)
    if not keys:
        proc.out("".join(_line(a, " ".join(ns)) for a, ns in table.entries))
        return 0
    rc = 0
    for key in keys:
        try:
            if _netdb.inet_aton_exact(key) is not None:
                name, aliases, addrs = _netdb.gethostbyaddr(key, kernel=proc.kernel)
            else:
                name, aliases, addrs = _netdb.gethostbyname_ex(key, kernel=proc.kernel)
        except OSError:
            rc = 2
            continue
        proc.out("".join(_line(a, " ".join([name, *aliases])) for a in addrs))
    return rc


def _getent_ahosts(proc: Proc, keys: list[str]) -> int:
    """getaddrinfo with AI_CANONNAME: every address and socket type."""
    if not keys:
        raise ToolExit(1, "Enumeration not supported on ahosts\n" + GETENT_TRY)
    rc = 0
    names = {_s.SOCK_STREAM: "STREAM", _s.SOCK_DGRAM: "DGRAM ", _s.SOCK_RAW: "RAW   "}
    for key in keys:
        try:
            infos = _netdb.getaddrinfo(key, None, _s.AF_INET, 0, 0, _s.AI_CANONNAME,
                                       kernel=proc.kernel)
        except OSError:
            rc = 2
            continue
        for _, kind, _, canon, (addr, _) in infos:
            proc.out(f"{addr:<15} {names[kind]} {canon}\n")
    return rc


def getent(proc: Proc, argv: list[str]) -> int:
    if not argv:
        proc.err("getent: wrong number of arguments\n")
        proc.out(GETENT_TRY)
        return 1
    db, keys = argv[0], argv[1:]
    if db == "hosts":
        return _getent_hosts(proc, keys)
    if db in ("ahosts", "ahostsv4"):
        return _getent_ahosts(proc, keys)
    proc.err(f"Unknown database: {db}\n")
    proc.out(GETENT_TRY)
    return 1


def hostname(proc: Proc, argv: list[str]) -> int:
    """net-tools hostname: print it, set it, or -f/-i/-s."""
    table = _netdb.hosts(proc.kernel, proc.net)
    if not argv:
        proc.out(table.hostname + "\n")
    elif argv == ["-f"] or argv == ["--fqdn"]:
        proc.out(_netdb.getfqdn(kernel=proc.kernel) + "\n")
    elif argv == ["-s"] or argv == ["--short"]:
        proc.out(table.hostname.split(".")[0] + "\n")
    elif argv == ["-i"] or argv == ["--ip-address"]:
        addrs = table.addresses(table.hostname)
        if not addrs:
            raise ToolExit(1, "hostname: Name or service not known")
        proc.out(" ".join(addrs) + " \n")
    elif len(argv) == 1 and not argv[0].startswith("-"):
        table.hostname = argv[0]
    else:
        raise ToolExit(1, "Usage: hostname [-f|-i|-s] | hostname NAME")
    return 0
