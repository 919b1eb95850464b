import pytest
from cryptography.fernet import Fernet

from plugin.store.secrets import SecretBox, load_key


def test_seal_and_open_round_trip_and_ciphertext_hides_the_value():
    box = SecretBox(Fernet.generate_key())
    token = box.seal("cs_supersecret")
    assert "supersecret" not in token
    assert box.open(token) == "cs_supersecret"
    assert box.open_json(box.seal_json({"a": "b"})) == {"a": "b"}
    assert "redacted" in repr(box)


def test_wrong_key_is_a_clear_error():
    token = SecretBox(Fernet.generate_key()).seal("x")
    with pytest.raises(ValueError, match="ORDERBRIDGE_SECRET_KEY"):
        SecretBox(Fernet.generate_key()).open(token)


def test_embedded_key_is_generated_once_with_private_mode(tmp_path):
    key = load_key(None, tmp_path, production=False)
    assert load_key(None, tmp_path, production=False) == key
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_production_requires_a_key(tmp_path):
    with pytest.raises(RuntimeError, match="must be set"):
        load_key(None, tmp_path, production=True)



STARTER = """
import sys, time
from pathlib import Path
from plugin.store.secrets import load_key
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))   # all at the same instant
print(load_key(None, Path(sys.argv[1]), production=False))
"""


def test_processes_starting_at_once_on_a_fresh_var_dir_all_end_with_the_one_key(tmp_path):
    """A web and a worker (or `make bench`'s several) started together on a fresh var/: none dies,
    none reads a half-written file, all use the same key, and it is the one kept."""
    import subprocess
    import sys
    import time
    var = tmp_path / "var"
    start = f"{time.time() + 1.2:.3f}"     # time enough for every interpreter to import first
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, str(var), start],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in results]
    keys = {out.strip() for out, _ in results}
    assert len(keys) == 1 and "" not in keys
    [key] = keys
    SecretBox(key)                           # a valid Fernet key
    assert (var / "secret.key").read_text() == key
    assert (var / "secret.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in var.iterdir()) == ["secret.key", "secret.key.lock"]   # no temporary left


def test_a_key_file_left_empty_is_replaced_by_a_working_key(tmp_path):
    (tmp_path / "secret.key").write_text("")
    key = load_key(None, tmp_path, production=False)
    SecretBox(key)
    assert load_key(None, tmp_path, production=False) == key == (tmp_path / "secret.key").read_text()
