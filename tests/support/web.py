"""Screen test helpers: the people of every role (``PEOPLE``, one password), the rows the ``portal``
fixture makes, signing in through the real form with its CSRF token, and closing an answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.services.accounts.users import create_user
from app.services.platform.actor import Actor

from . import factories

PASSWORD = "correct horse battery staple"
ACTOR = Actor(type="system", id="tests")

# email -> (role, reseller code)
PEOPLE = {
    "operator@r1001.example": ("reseller_operator", "R1001"),
    "approver@r1001.example": ("reseller_approver", "R1001"),
    "operator@r1002.example": ("reseller_operator", "R1002"),
    "finance@example.com": ("finance", None),
    "finance2@example.com": ("finance", None),
    "admin@example.com": ("admin", None),
}

_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Portal:
    """Ids of what the ``portal`` fixture made."""

    r1001: int
    r1002: int


def create_portal(app) -> Portal:
    """Resellers R1001 (wallet ¥500,000, credit ¥1,000,000) and R1002, and one user per entry of PEOPLE."""
    with app.app_context():
        r1001 = factories.make_reseller("R1001", credit_limit="1000000.00", wallet="500000.00")
    with app.app_context():
        r1002 = factories.make_reseller("R1002", credit_limit="0.00", wallet="1000.00")
    with app.app_context():
        for email, (role, code) in PEOPLE.items():
            create_user(ACTOR, email, PASSWORD, role, code)
    return Portal(r1001=r1001, r1002=r1002)


def csrf_token(client, path: str = "/login") -> str:
    """The token the page carries for forms and HTMX (``<meta name="csrf-token">``)."""
    page = client.get(path)
    text = page.get_data(as_text=True)
    page.close()  # an open answer keeps its request's session, and on SQLite its lock
    match = _META_TOKEN.search(text)
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def done(response):
    """The answer read and closed: an open answer keeps its request's session (on SQLite, the lock)."""
    response.get_data()
    response.close()
    return response
