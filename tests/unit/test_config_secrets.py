"""Secrets of a deployment of several machines come from the environment (docs/ARCHITECTURE.md,
"No local state"): with SECRETS_FROM_ENV=1 nothing is generated into instance/."""

import pytest
from cryptography.fernet import Fernet

from app.config import load_config


def test_without_the_setting_missing_secrets_are_generated_once_and_kept(tmp_path):
    first = load_config(str(tmp_path), {})
    again = load_config(str(tmp_path), {})
    assert first["SECRET_KEY"] == again["SECRET_KEY"]
    assert first["ENCRYPTION_KEYS"] == again["ENCRYPTION_KEYS"]
    assert (tmp_path / "secret_key").exists() and (tmp_path / "encryption_keys").exists()


@pytest.mark.parametrize("given, named", [
    ({}, "SECRET_KEY and ENCRYPTION_KEYS"),
    ({"SECRET_KEY": "k" * 64}, "ENCRYPTION_KEYS"),
    ({"ENCRYPTION_KEYS": "placeholder"}, "SECRET_KEY"),
    ({"SECRET_KEY": "", "ENCRYPTION_KEYS": "placeholder"}, "SECRET_KEY"),
])
def test_required_from_the_environment_a_missing_secret_refuses_to_start(tmp_path, given, named):
    with pytest.raises(RuntimeError, match=f"but {named} not set"):
        load_config(str(tmp_path), {"SECRETS_FROM_ENV": "1", **given})
    assert not (tmp_path / "secret_key").exists(), "nothing generated into instance/"
    assert not (tmp_path / "encryption_keys").exists()


def test_required_from_the_environment_given_secrets_are_used(tmp_path):
    key = Fernet.generate_key().decode()
    cfg = load_config(str(tmp_path), {"SECRETS_FROM_ENV": "1", "SECRET_KEY": "s" * 64, "ENCRYPTION_KEYS": key})
    assert cfg["SECRET_KEY"] == "s" * 64 and cfg["ENCRYPTION_KEYS"] == [key]
    assert not (tmp_path / "secret_key").exists()
