"""The ``usernet`` command: run scripts of commands, or an interactive shell."""

from __future__ import annotations

import argparse
import json
import sys

from .kernel import Kernel
from .tools import run_line, script_lines


def cmd_script(args: argparse.Namespace) -> int:
    try:
        with open(args.file, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        print(f"usernet: {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"usernet: {args.file}: not a UTF-8 text file", file=sys.stderr)
        return 2
    kernel = Kernel(seed=args.seed, link_delay_ns=args.link_delay_us * 1000)
    worst = 0
    for lineno, line in script_lines(text):
        res = run_line(kernel, line)
        if args.jsonl:
            rec = {"line": lineno, "cmd": line, "rc": res.rc, "stdout": res.stdout,
                   "stderr": res.stderr}
            sys.stdout.write(json.dumps(rec) + "\n")
        else:
            sys.stdout.write(f"$ {line}\n{res.stdout}")
            sys.stdout.flush()
            sys.stderr.write(res.stderr)
            sys.stderr.flush()
        if res.rc and not worst:
            worst = res.rc
    sys.stdout.flush()
    return 0 if args.jsonl or args.keep_going else (1 if worst else 0)


def cmd_shell(args: argparse.Namespace) -> int:
    from .shell import Shell

    kernel = Kernel(seed=args.seed, link_delay_ns=args.link_delay_us * 1000)
    # The prompt follows the wall clock: `ping -c 3` takes two seconds, as it
    # would on a real machine.  --virtual makes time jump instead.
    kernel.sched.set_realtime(not args.virtual)
    return Shell(kernel).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="usernet",
        description="Linux network namespaces in user space: run ip/sysctl/... commands "
                    "against an emulated kernel.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("script", help="run a file of commands in a fresh kernel")
    p.add_argument("--jsonl", action="store_true",
                   help="one JSON object per command: line, cmd, rc, stdout, stderr")
    p.add_argument("--seed", type=int, default=0, help="seed for MACs and other randomness")
    p.add_argument("-k", "--keep-going", action="store_true",
                   help="exit 0 even when a command failed")
    _delay_option(p)
    p.add_argument("file")
    p.set_defaults(func=cmd_script)
    p = sub.add_parser("shell", help="interactive prompt over one kernel")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--virtual", action="store_true",
                   help="virtual time: waits end at once instead of following the clock")
    _delay_option(p)
    p.set_defaults(func=cmd_shell)
    args = parser.parse_args(argv)
    try:
        rc: int = args.func(args)
    except BrokenPipeError:  # `usernet script F | head`: the reader left
        sys.stderr.close()
        return 141
    return rc


def _delay_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--link-delay-us", type=_non_negative, default=10, metavar="US",
                   help="one-way propagation delay of veth and lo links in microseconds "
                        "(default 10; 0 allowed)")


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
