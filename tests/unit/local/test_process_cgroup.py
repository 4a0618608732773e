"""A process given a cgroup joins it before exec: its own pid is written first, then its command runs."""

from __future__ import annotations

import sys
from pathlib import Path

from wayfinder.local.processes import ProcessSpec, ProcessTable

from tests.support import poll_until


def test_a_process_writes_its_pid_to_the_cgroup_before_its_command_runs(tmp_path: Path):
    # A plain folder stands in for the cgroup: the join is the same write to cgroup.procs.
    group = tmp_path / "group"
    group.mkdir()
    marker = tmp_path / "ran"
    table = ProcessTable(tmp_path / "run", tmp_path / "logs")
    command = [
        sys.executable,
        "-c",
        f"import os, pathlib; pathlib.Path({str(marker)!r}).write_text(str(os.getpid()))",
    ]
    pid = table.start(ProcessSpec("joiner", command, {}, cgroup=group))
    ran_as = poll_until(lambda: marker.exists() and marker.read_text(), "the command to run")
    # Same pid: the shell joined the group and then exec'd the command, no extra process.
    assert (group / "cgroup.procs").read_text().strip() == str(pid) == ran_as


def test_without_a_cgroup_the_command_runs_as_given(tmp_path: Path):
    marker = tmp_path / "ran"
    table = ProcessTable(tmp_path / "run", tmp_path / "logs")
    command = [sys.executable, "-c", f"import pathlib; pathlib.Path({str(marker)!r}).write_text('yes')"]
    table.start(ProcessSpec("plain", command, {}))
    assert poll_until(lambda: marker.exists() and marker.read_text(), "the command to run") == "yes"
    assert list(tmp_path.rglob("cgroup.procs")) == []
