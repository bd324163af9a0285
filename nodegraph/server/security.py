"""Security checks for the server, without I/O: bind policy, Host allowlist, Origin, token.

Rules (docs/protocol.md, "Security"):
- binding anything but a loopback address requires a token;
- every request's Host must name an allowed host (DNS-rebinding defence): localhost,
  127.0.0.1, [::1], the bound host (unless it is a wildcard) and ``--allow-host`` values;
- a websocket handshake that carries an Origin must come from the same host:port as the Host
  header (browsers always send Origin; ``null`` and foreign origins are refused);
- with a token, every route but the UI's own files needs it: ``?token=``, ``Authorization:
  Bearer``, HTTP Basic with the token as password, or the cookie ``GET /?token=T`` sets (web.py).
"""
from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from urllib.parse import parse_qs, urlsplit

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "*")


class SecurityError(ValueError):
    pass


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve a non-loopback address without a token."""
    if not is_loopback(host) and not token:
        raise SecurityError(f"refusing to bind {host or '0.0.0.0'!r} without a token: anyone who can reach "
                            "it could run workflows and read files. Pass --token T (or set NODEGRAPH_TOKEN), "
                            "or bind 127.0.0.1.")


def allowed_hosts(bound_host: str, extra: tuple[str, ...] | list[str] = ()) -> frozenset[str]:
    names = {"localhost", "127.0.0.1", "::1"}
    bound = bound_host.strip().strip("[]").lower()
    if bound not in WILDCARD_HOSTS:
        names.add(bound)
    for item in extra:
        item = item.strip().lower()
        if item:
            names.add(split_host(item)[0] or item.strip("[]"))
    return frozenset(names)


def split_host(value: str) -> tuple[str, int | None]:
    """'Host' header value -> (lower-case host name without brackets, port or None).

    Returns ('', None) when the value is malformed.
    """
    value = (value or "").strip().lower()
    if not value or any(c in value for c in "/\\@ \t?#"):
        return "", None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return "", None
        host, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            return "", None
        port_text = rest[1:] if rest else None
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    elif ":" in value:  # a bare IPv6 address is not a valid Host header
        return "", None
    else:
        host, port_text = value, None
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not (0 < int(port_text) < 65536):
        return "", None
    return host, int(port_text)


def host_allowed(host_header: str | None, allowed: frozenset[str]) -> bool:
    host, _ = split_host(host_header or "")
    return bool(host) and host in allowed


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin_allowed(origin: str | None, host_header: str | None) -> bool:
    """Same-origin check for websocket handshakes. No Origin (non-browser client) is allowed."""
    if origin is None:
        return True
    origin = origin.strip()
    if not origin or origin.lower() == "null":
        return False
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.username or parts.password or parts.query or parts.fragment:
        return False
    host, port = split_host(host_header or "")
    if not host:
        return False
    default = _DEFAULT_PORTS[parts.scheme]
    return parts.hostname.lower() == host and (origin_port or default) == (port or default)


def request_token(path: str, authorization: str | None) -> str | None:
    """The token a request presents: ``Authorization: Bearer T`` or the ``token`` query parameter."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    query = urlsplit(path).query
    if query:
        values = parse_qs(query, keep_blank_values=True).get("token")
        if values:
            return values[0]
    return None


def basic_password(authorization: str | None) -> str | None:
    """The password of ``Authorization: Basic base64(user:password)`` (any user name), or None.

    For clients that only know ``http://user:password@host`` URLs (several ComfyUI clients):
    the token goes in as the password.
    """
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon and password else None


def token_ok(expected: str | None, presented: str | None) -> bool:
    if not expected:
        return True
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
