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

