"""Secrets at rest: Fernet (AES-128-CBC + HMAC) with a key from ORDERBRIDGE_SECRET_KEY. Only the
embedded run generates a key, into var/secret.key (mode 0600); production must provide one."""

from __future__ import annotations

import json
import os
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
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
