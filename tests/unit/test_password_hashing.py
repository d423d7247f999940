"""Passwords are hashed with argon2id at OWASP's parameters (19 MiB, t=2, p=1) in the portal; the
test processes use argon2's floor for speed (tests/conftest.py), so this checks the production ones."""

from __future__ import annotations

from argon2 import PasswordHasher

from app.services.accounts import users


def test_the_portal_hashes_with_argon2id_at_owasps_parameters(monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=users.TIME_COST, memory_cost=users.MEMORY_COST_KIB,
                                                         parallelism=users.PARALLELISM))
    hashed = users.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert users.verify_password(hashed, "correct horse battery")
    assert not users.verify_password(hashed, "correct horse battery ")
    assert not users.verify_password("not a hash", "correct horse battery")
