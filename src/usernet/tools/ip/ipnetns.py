"""``ip netns``: named namespaces (ip/ipnetns.c)."""

from __future__ import annotations

from ...errors import KernelError
from .. import Proc, ToolExit, run_argv
from .utils import IpOpts, matches, resolve_netns

NETNS_RUN_DIR = "/run/netns"


def _invalid_name(name: str) -> bool:
    return "/" in name or name in ("", ".", "..")


def do_netns(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    if not argv:
        return netns_list(proc, opts)
    cmd = argv[0]
    if len(argv) > 1 and _invalid_name(argv[1]):
        raise ToolExit(255, f'Invalid netns name "{argv[1]}"')
    if matches(cmd, "list") or matches(cmd, "show") or matches(cmd, "lst"):
        return netns_list(proc, opts)
    if matches(cmd, "add"):
        return netns_add(proc, argv[1:])
    if matches(cmd, "delete"):
        return netns_delete(proc, opts, argv[1:])
    if matches(cmd, "exec"):
        return netns_exec(proc, argv[1:])
    if matches(cmd, "identify"):
        return netns_identify(proc)
    if matches(cmd, "help"):
        raise ToolExit(255, "Usage: ip netns list\n       ip netns add NAME\n"
                            "       ip netns delete [NAME]\n"
                            "       ip [-all] netns exec [NAME] cmd ...")
    raise ToolExit(255, f'Command "{cmd}" is unknown, try "ip netns help".')


def netns_list(proc: Proc, opts: IpOpts) -> int:
    rows = []
    for name, net in reversed(list(proc.kernel.netns_names.items())):
        row: dict[str, object] = {"name": name}
        nsid = proc.net.peernet2id(net)
        if nsid >= 0:
            row["id"] = nsid
        rows.append(row)
    if opts.json:
        from . import print_json

        print_json(proc, opts, rows)
        return 0
    for row in rows:
        suffix = f" (id: {row['id']})" if "id" in row else ""
        proc.out(f"{row['name']}{suffix}\n")
    return 0


def netns_add(proc: Proc, argv: list[str]) -> int:
    if not argv:
        raise ToolExit(255, "No netns name specified")
    name = argv[0]
    try:
        proc.kernel.netns_add(name)
    except KernelError as exc:
        raise ToolExit(1, f'Cannot create namespace file "{NETNS_RUN_DIR}/{name}": '
                          f"{exc.strerror}") from None
    return 0


def netns_delete(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    if not argv:
        if opts.all:
            for name in list(proc.kernel.netns_names):
                proc.kernel.netns_del(name)
            return 0
        raise ToolExit(255, "No netns name specified")
    name = argv[0]
    try:
        proc.kernel.netns_del(name)
    except KernelError as exc:
        raise ToolExit(1, f'Cannot remove namespace file "{NETNS_RUN_DIR}/{name}": '
                          f"{exc.strerror}") from None
    return 0


def netns_exec(proc: Proc, argv: list[str]) -> int:
    if not argv:
        raise ToolExit(255, "No netns name specified")
    net = resolve_netns(proc, argv[0])
    if len(argv) < 2:
        raise ToolExit(255, "No command specified")
    with proc.kernel.netns(net):
        res = run_argv(proc.kernel, argv[1:], net)
    if res.rc == 127:
        raise ToolExit(255, f'exec of "{argv[1]}" failed: No such file or directory')
    proc.out(res.stdout)
    proc.err(res.stderr)
    return res.rc


def netns_identify(proc: Proc) -> int:
    for name, net in proc.kernel.netns_names.items():
        if net is proc.net:
            proc.out(f"{name}\n")
    return 0
