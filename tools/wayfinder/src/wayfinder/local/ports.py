"""Before local mode starts anything: every port it needs is free, else one line per busy port.

The line names the port, what holds it where the system says (Linux: /proc/net/tcp* and the
owning process's /proc/PID/fd), and the variable that moves local mode off it.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PortNeed:
    """A loopback port one component of local mode listens on, and the variable that sets it."""

    component: str
    port: int
    variable: str


class PortsInUse(RuntimeError):
    """One or more ports local mode needs are taken; the message has one line per port."""


def in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listener already holds the port (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The servers themselves set SO_REUSEADDR, so a socket in TIME_WAIT does not stop them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def holder(port: int, proc: Path = Path("/proc")) -> str | None:
    """'pid N (command line)' of the process listening on the port, when /proc tells."""
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in proc.iterdir():
        if entry.name.isdigit() and wanted & _open_files(entry):
            return f"pid {entry.name} ({_command_line(entry)})"
    return None


def _open_files(entry: Path) -> set[str]:
    """What the process's file descriptors point at (empty when it is gone or not ours to read)."""
    try:
        fds = list((entry / "fd").iterdir())
    except OSError:
        return set()
    targets = set()
    for fd in fds:
        try:
            targets.add(os.readlink(fd))
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
    return targets


def _listening_inodes(port: int, proc: Path) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket inode.
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _command_line(entry: Path) -> str:
    try:
        words = (entry / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(w.decode(errors="replace") for w in words if w)
    return text if len(text) <= 80 else text[:77] + "..."


def check(needs: list[PortNeed], proc: Path = Path("/proc")) -> None:
    """Raise PortsInUse naming every busy port; return quietly when all are free."""
    lines = []
    for need in needs:
        if not in_use(need.port):
            continue
        who = holder(need.port, proc) or "another program (the system does not say which)"
        lines.append(
            f"port {need.port} ({need.component}) is in use by {who}: stop it, "
            f"or move {need.component} with {need.variable}=<another port>"
        )
    if lines:
        raise PortsInUse("\n".join(lines))
