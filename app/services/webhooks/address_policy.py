"""Where the portal may POST (server-side request forgery, docs/SECURITY.md "Callbacks in, webhooks
out"): webhook endpoints and disbursement ``notifyUrl`` receivers follow this one policy.

- Only absolute ``http``/``https`` URLs with a host and no credentials.
- The host must resolve only to public addresses: loopback, private, link-local, multicast,
  reserved, shared (CGNAT) and unspecified ones are refused, IPv4 embedded in IPv6 included.
- ``WEBHOOK_ALLOWED_HOSTS`` (a comma list of host names or addresses, compared case-insensitively;
  empty by default) lifts that refusal for those hosts only, for a deployment's own receivers: the
  run command lists its sandbox (127.0.0.1). Cloud metadata addresses are refused even then.
- The check runs when a URL is registered and again just before every send; the sender connects to
  the very address that was checked (``sender.route``), so a DNS answer that changes in between
  (DNS rebinding) cannot point a request inside.

Pure functions of their arguments, except ``configured_allowed_hosts`` (the app's setting), so
that the send-time check runs in worker threads without an app context.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpx
from flask import current_app

# Refused whatever the allow-list says: AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba Cloud.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254",
                                                                 "100.100.100.200"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(Exception):
    """The URL is not one the portal may POST to (scheme, credentials, or where it resolves)."""


def parse_allowed_hosts(value: str | Iterable[str] | None) -> frozenset[str]:
    """The allow-list as compared: lower case, IPv6 without brackets; blanks dropped."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return frozenset(item.strip().lower().removeprefix("[").removesuffix("]") for item in items if item.strip())


def configured_allowed_hosts() -> frozenset[str]:
    """``WEBHOOK_ALLOWED_HOSTS`` of the running app."""
    return parse_allowed_hosts(current_app.config.get("WEBHOOK_ALLOWED_HOSTS"))


def parse_url(url: str) -> httpx.URL:
    """The URL if it is absolute http(s) with a host and no credentials; raises UnsafeUrl."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeUrl("only http and https URLs can receive webhooks")
    if not parsed.host:
        raise UnsafeUrl("the URL has no host")
    if parsed.userinfo:
        raise UnsafeUrl("credentials in the URL are not accepted (they would be stored in clear)")
    return parsed


def host_of(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii").lower()


def address_refusal(ip: Address, allow_private: bool) -> str | None:
    """Why ``ip`` may not receive webhooks, or None if it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour  # ::ffff:a.b.c.d and 2002:AABB:CCDD:: reach an IPv4
        if embedded is not None:
            return address_refusal(embedded, allow_private)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if allow_private:
        return None
    for flag, why in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                      ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                      ("is_private", "private"), ("is_reserved", "reserved")):
        if getattr(ip, flag):
            return f"a {why} address"
    if not ip.is_global:
        return "not a public address"
    return None


def resolve(url: httpx.URL, allowed_hosts: frozenset[str]) -> list[str]:
    """Every address the URL's host resolves to, in resolver order; raises UnsafeUrl if there is
    none or if any of them is refused (a host with one bad address is refused as a whole)."""
    host = host_of(url)
    allow_private = host in allowed_hosts
    try:
        candidates = [ipaddress.ip_address(host)]
    except ValueError:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnsafeUrl(f"{host} does not resolve ({exc})") from None
        # An IP socket address starts with the host as text (the stubs also allow AF_PACKET's int).
        candidates = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    addresses: list[str] = []
    for ip in candidates:
        why = address_refusal(ip, allow_private)
        if why:
            hint = "" if allow_private or why == "a cloud metadata address" else " (not in WEBHOOK_ALLOWED_HOSTS)"
            raise UnsafeUrl(f"{host} resolves to {ip}, {why}{hint}")
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise UnsafeUrl(f"{host} does not resolve")
    return addresses


def check_url(url: str, allowed_hosts: frozenset[str]) -> None:
    """Registration's check: raises UnsafeUrl (with the reason) if the URL may not be used now."""
    resolve(parse_url(url), allowed_hosts)


def check_literal(url: str, allowed_hosts: frozenset[str]) -> None:
    """The check that needs no DNS (a URL given with a request, e.g. a disbursement's notifyUrl):
    the form, and a host that is itself a refused address. Names are resolved at send time."""
    parsed = parse_url(url)
    host = host_of(parsed)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return
    why = address_refusal(ip, host in allowed_hosts)
    if why:
        raise UnsafeUrl(f"{host} is {why}")
