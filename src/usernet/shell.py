"""``usernet shell``: an interactive prompt over one kernel.

Commands are the same as in scripts (``ip ...``, ``sysctl ...``, ``bridge
...``); ``netns NAME`` switches the namespace the prompt runs in (like
``ip netns exec NAME bash``), ``help`` lists what there is.  History and Tab
completion come from readline when the terminal has it.
"""

from __future__ import annotations

import cmd
import contextlib
import os
import shlex
import sys
from typing import IO

from .errors import KernelError
from .kernel import Kernel
from .net import Net
from .tools import run_argv, tools

HISTORY = os.path.expanduser("~/.usernet_history")

IP_WORDS = {
    "": ["address", "link", "route", "rule", "neighbour", "netns"],
    "link": ["add", "set", "delete", "show"],
    "address": ["add", "del", "flush", "show"],
    "route": ["add", "del", "replace", "show", "get", "flush"],
    "rule": ["add", "del", "show"],
    "neighbour": ["add", "del", "replace", "show", "flush"],
    "netns": ["add", "del", "list", "exec"],
}


class Shell(cmd.Cmd):
    intro = ("usernet shell: Linux network namespaces in user space.\n"
             "Type ip/sysctl/bridge commands; 'netns NAME' to enter a namespace, "
             "'netns' to go back, 'help' for more, Ctrl-D to leave.")

    def __init__(self, kernel: Kernel, stdin: IO[str] | None = None,
                 stdout: IO[str] | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        if stdin is not None:
            self.use_rawinput = False
        self.kernel = kernel
        self.net: Net = kernel.init_net
        self.ns_name = ""
        self.last_rc = 0
        self._set_prompt()

    def _set_prompt(self) -> None:
        where = self.ns_name or "init_net"
        self.prompt = f"usernet [{where}]# "

    def run(self) -> int:
        try:
            import readline

            readline.set_completer_delims(" ")
            if os.path.exists(HISTORY):
                readline.read_history_file(HISTORY)
        except (ImportError, OSError):
            readline = None  # type: ignore[assignment]
        try:
            self.cmdloop()
        except KeyboardInterrupt:
            self.stdout.write("\n")
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(HISTORY)
        return self.last_rc

    # -- commands ------------------------------------------------------------------

    def default(self, line: str) -> None:
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            self.stdout.write(f"usernet: syntax error: {exc}\n")
            self.last_rc = 2
            return
        if not self.net.alive:
            self.stdout.write("usernet: this namespace is gone; 'netns' returns to init_net\n")
            self.last_rc = 1
            return
        res = run_argv(self.kernel, argv, self.net)
        self.stdout.write(res.stdout)
        self.stdout.write(res.stderr)
        self.last_rc = res.rc

    def emptyline(self) -> bool:
        return False

    def do_netns(self, arg: str) -> None:
        """netns [NAME]: run the following commands in namespace NAME (none: init_net)."""
        name = arg.strip()
        if not name:
            self.net, self.ns_name = self.kernel.init_net, ""
        else:
            try:
                self.net = self.kernel.netns_get(name)
            except KernelError:
                self.stdout.write(f'Cannot open network namespace "{name}": '
                                  "No such file or directory\n")
                return
            self.ns_name = name
        self._set_prompt()

    def do_exit(self, arg: str) -> bool:
        """exit: leave the shell."""
        return True

    def do_EOF(self, arg: str) -> bool:
        self.stdout.write("\n")
        return True

    def do_help(self, arg: str) -> None:
        """help: what the shell understands."""
        names = ", ".join(sorted(tools()))
        self.stdout.write(
            f"Commands: {names}.\n"
            "  ip netns add NAME        make a namespace; 'netns NAME' enters it\n"
            "  ip -n NAME link ...      run one command in another namespace\n"
            "  netns [NAME]             switch the prompt's namespace\n"
            "  exit / Ctrl-D            leave\n")

    # -- completion ------------------------------------------------------------------

    def completenames(self, text: str, *ignored: object) -> list[str]:
        words = [*tools(), "netns", "exit", "help"]
        return [w for w in words if w.startswith(text)]

    def completedefault(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        words = line[:begidx].split()
        if not words or words[0] != "ip":
            return self._devices(text)
        objs = [w for w in words[1:] if not w.startswith("-")]
        if not objs:
            return [w for w in IP_WORDS[""] if w.startswith(text)]
        obj = next((o for o in IP_WORDS if o and o.startswith(objs[0])), "")
        if len(objs) == 1:
            return [w for w in IP_WORDS.get(obj, []) if w.startswith(text)]
        if obj == "netns" or (words[-1] in ("-n", "netns")):
            return [n for n in self.kernel.netns_names if n.startswith(text)]
        return self._devices(text)

    def complete_netns(self, text: str, line: str, begidx: int, endidx: int) -> list[str]:
        return [n for n in self.kernel.netns_names if n.startswith(text)]

    def _devices(self, text: str) -> list[str]:
        return [n for n in self.net.dev_by_name if n.startswith(text)]


def main() -> int:
    return Shell(Kernel()).run()


if __name__ == "__main__":
    sys.exit(main())
