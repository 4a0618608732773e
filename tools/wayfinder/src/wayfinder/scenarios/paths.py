"""Where the fault control and the scenario runner keep their state, inside the state folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StatePaths:
    home: Path

    @property
    def faults(self) -> Path:
        """What the shop's processes read, and all they read: the compose stack mounts this folder."""
        return self.home / "faults"

    @property
    def token(self) -> Path:
        """The installation's fault-control token (0640, the owner's group; never committed)."""
        return self.faults / "token"

    @property
    def fault_state(self) -> Path:
        return self.faults / "state"

    @property
    def run(self) -> Path:
        """The running scenario's spec and timeline, sealed with the token."""
        return self.home / "drill" / "run"

    @property
    def timeline(self) -> Path:
        return self.home / "drill" / "timeline"

    @property
    def annotated(self) -> Path:
        """How many of the run's switches are Grafana annotations already (sealed; compose mode)."""
        return self.home / "drill" / "annotated"

    @property
    def runner_pid(self) -> Path:
        return self.home / "drill" / "runner.pid"

    @property
    def rules_back(self) -> Path:
        """When the real-speed alert rules come back after a training-speed run (rulesback)."""
        return self.home / "drill" / "rules-back"

    @property
    def runner_log(self) -> Path:
        return self.home / "logs" / "drill-runner.log"

    def service_env(self) -> dict[str, str]:
        """What every shop process needs to read the fault state (see wayfinder_common.faultstate)."""
        return {"FAULT_STATE_FILE": str(self.fault_state), "FAULT_TOKEN_FILE": str(self.token)}
