"""The switched-on faults as one sealed file: written by the fault control, read by every service.

Why a file and not an endpoint per service: reading it is an `os.stat` and, when it changed, a
read: no HTTP, SQL or Redis call, so no instrumentation can turn it into a span, and the
workers (Celery, the relay) need no server. Why sealed: the file is encrypted and authenticated
with the installation's token (HMAC-SHA256 keystream, encrypt-then-MAC, stdlib only), so a
trainee who opens it learns nothing, and a file written without the token is ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wayfinder_common.faulthooks import HOOKS, FaultEntry

MAGIC = b"WFS1"
# Owner read-write, group read: in the compose stack the services (another uid) read the token and
# the state as members of the host user's group (docker-compose.yml, group_add). Nobody else.
SHARED_MODE = 0o640
PRIVATE_MODE = 0o600


class FaultSettings(BaseSettings):
    """FAULT_STATE_FILE / FAULT_TOKEN_FILE, set by whoever starts the services; unset = no faults."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    fault_state_file: Path | None = None
    fault_token_file: Path | None = None


class FaultState(BaseModel):
    """Every switched-on (hook, scope): nothing else is kept."""

    entries: list[FaultEntry] = Field(default_factory=list, max_length=64)

    def find(self, hook: str, scope: str) -> FaultEntry | None:
        for entry in self.entries:
            if entry.hook == hook and entry.scope == scope:
                return entry
        return None

    def with_entry(self, entry: FaultEntry) -> FaultState:
        rest = [e for e in self.entries if (e.hook, e.scope) != (entry.hook, entry.scope)]
        return FaultState(entries=[*rest, entry])

    def without(self, hook: str, scope: str) -> FaultState:
        return FaultState(entries=[e for e in self.entries if (e.hook, e.scope) != (hook, scope)])


def new_token() -> str:
    return secrets.token_urlsafe(32)


def ensure_token(path: Path) -> str:
    """The installation's token, created (mode 0640) on first use; never committed (.wayfinder/)."""
    if not path.exists():
        path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SHARED_MODE)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_token())
        # The umask may have taken the group's read bit away.
        os.chmod(path, SHARED_MODE)
    return path.read_text().strip()


def _key(token: str, purpose: bytes) -> bytes:
    return hmac.new(token.encode(), purpose, hashlib.sha256).digest()


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    return b"".join(
        hmac.new(key, nonce + i.to_bytes(8, "big"), hashlib.sha256).digest() for i in range(blocks)
    )


def seal(token: str, document: dict[str, Any]) -> bytes:
    """Encrypt then MAC a JSON document with keys derived from the token."""
    plain = json.dumps(document, separators=(",", ":")).encode()
    nonce = secrets.token_bytes(16)
    stream = _keystream(_key(token, b"encrypt"), nonce, len(plain))
    cipher = bytes(a ^ b for a, b in zip(plain, stream, strict=False))
    tag = hmac.new(_key(token, b"authenticate"), nonce + cipher, hashlib.sha256).digest()
    return MAGIC + base64.b64encode(nonce + cipher + tag)


def unseal(token: str, blob: bytes) -> dict[str, Any]:
    """The document, or ValueError when it was not sealed with this token."""
    if not blob.startswith(MAGIC):
        raise ValueError("not a sealed Wayfinder file")
    raw = base64.b64decode(blob[len(MAGIC) :])
    nonce, cipher, tag = raw[:16], raw[16:-32], raw[-32:]
    expected = hmac.new(_key(token, b"authenticate"), nonce + cipher, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise ValueError("sealed with another token")
    stream = _keystream(_key(token, b"encrypt"), nonce, len(cipher))
    document: dict[str, Any] = json.loads(bytes(a ^ b for a, b in zip(cipher, stream, strict=False)))
    return document


def write_sealed(path: Path, token: str, document: dict[str, Any], mode: int = PRIVATE_MODE) -> None:
    """Atomic replace, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(seal(token, document))
    os.chmod(partial, mode)
    os.replace(partial, path)


def read_state(path: Path, token: str) -> FaultState:
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return FaultState()
    return FaultState.model_validate(unseal(token, blob))


def write_state(path: Path, token: str, state: FaultState) -> None:
    write_sealed(path, token, state.model_dump(mode="json"), SHARED_MODE)


class FaultReader:
    """Cached view of the state file for hot paths; a missing, foreign or broken file = no faults."""

    def __init__(self, state_file: Path | None, token_file: Path | None) -> None:
        self._state_file = state_file
        self._token_file = token_file
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._state = FaultState()

    def state(self) -> FaultState:
        if self._state_file is None or self._token_file is None:
            return self._state
        # A stat per call (microseconds) makes a switch visible to the very next request; the
        # file is re-read only when it was replaced (every write is a new inode).
        with self._lock:
            self._refresh(self._state_file, self._token_file)
            return self._state

    def _refresh(self, state_file: Path, token_file: Path) -> None:
        try:
            info = state_file.stat()
        except FileNotFoundError:
            self._stamp, self._state = None, FaultState()
            return
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._state = read_state(state_file, token_file.read_text().strip())
        except (OSError, ValueError):
            # Unreadable or not ours: healthy beats guessing (and beats crashing the shop).
            self._state = FaultState()

    def params(self, hook: str, scope: str) -> BaseModel | None:
        """The parameters of a switched-on (hook, scope), validated by the hook's model."""
        entry = self.state().find(hook, scope)
        if entry is None:
            return None
        return HOOKS[hook].params.model_validate(entry.params)


_reader: FaultReader | None = None
_reader_lock = threading.Lock()


def fault_reader() -> FaultReader:
    """The process-wide reader, configured once from FaultSettings."""
    global _reader
    with _reader_lock:
        if _reader is None:
            settings = FaultSettings()
            _reader = FaultReader(settings.fault_state_file, settings.fault_token_file)
        return _reader
