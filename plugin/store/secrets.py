"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with a key from ORDERBRIDGE_SECRET_KEY. Only the
embedded run generates a key, into var/secret.key (mode 0600); production must provide one."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: str | bytes):
        self._fernet = Fernet(key if isinstance(key, bytes) else key.encode())

    def __repr__(self) -> str:
        return "SecretBox(<redacted>)"

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with the configured ORDERBRIDGE_SECRET_KEY") from exc

    def seal_json(self, value: dict) -> str:
        return self.seal(json.dumps(value, sort_keys=True))

    def open_json(self, token: str) -> dict:
        return json.loads(self.open(token))


def load_key(secret_key: str | None, var_dir: Path, *, production: bool) -> str:
    if secret_key:
        return secret_key
    if production:
        raise RuntimeError("ORDERBRIDGE_SECRET_KEY must be set in production")
    path = var_dir / "secret.key"
    key = _read_key(path)
    return key if key else _create_key(path)


def _read_key(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _create_key(path: Path) -> str:
    """The first start on a fresh var/ creates the key; a web and a worker often start at once.
    Under an exclusive lock of its own, whoever comes first writes the key to a temporary file and
    renames it into place, so the key file only ever appears whole; the others wait, then read
    it. A key file left empty (a start killed mid-write before this) is replaced: no secret can
    have been sealed with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = _read_key(path)
        if key:
            return key
        key = Fernet.generate_key().decode()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret.key.")   # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(key)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key
