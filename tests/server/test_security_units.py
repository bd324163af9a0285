"""Host/Origin parsing and token extraction, as a browser or script would send them."""
from __future__ import annotations

import pytest

from nodegraph.server import security


@pytest.mark.parametrize("value, expected", [
    ("localhost", ("localhost", None)), ("LocalHost:8188", ("localhost", 8188)),
    ("  127.0.0.1:80  ", ("127.0.0.1", 80)), ("[::1]", ("::1", None)), ("[::1]:8188", ("::1", 8188)),
    ("[FE80::1]:1", ("fe80::1", 1)), ("host:65535", ("host", 65535)),
])
def test_split_host(value, expected):
    assert security.split_host(value) == expected


@pytest.mark.parametrize("value", [
    "", None, "   ", "a/b", "a\\b", "user@host", "a b", "a\tb", "a?b", "a#b", "[::1", "[::1]x", "[::1]:",
    "::1", "::1:8188", "host:", "host:0", "host:65536", "host:-1", "host:x", "host:80:81",
])
def test_split_host_malformed(value):
    assert security.split_host(value) == ("", None)


@pytest.mark.parametrize("origin, host", [
    ("http://localhost:8188", "localhost:8188"), (" http://localhost:8188 ", "localhost:8188"),
    ("http://LOCALHOST:8188/", "LocalHost:8188"), ("http://localhost", "localhost:80"),
    ("http://localhost:80", "localhost"), ("https://localhost", "localhost:443"),
    ("https://localhost:443", "localhost"), ("http://[::1]:8188", "[::1]:8188"),
])
def test_origin_allowed(origin, host):
    assert security.origin_allowed(origin, host)


@pytest.mark.parametrize("origin, host", [
    ("", "localhost"), ("null", "localhost"), ("NULL", "localhost"), ("   ", "localhost"),
    ("http://localhost:8189", "localhost:8188"), ("http://localhost", "localhost:443"),
    ("https://localhost", "localhost:80"), ("https://localhost", "localhost:8188"),
    ("ws://localhost:8188", "localhost:8188"), ("file://localhost", "localhost"),
    ("http://localhost:8188/app", "localhost:8188"), ("http://u@localhost:8188", "localhost:8188"),
    ("http://u:p@localhost:8188", "localhost:8188"), ("http://localhost:8188?x=1", "localhost:8188"),
    ("http://localhost:8188#f", "localhost:8188"), ("http://localhost:99999", "localhost:99999"),
    ("http://:8188", "localhost:8188"), ("http://evil.com:8188", "localhost:8188"),
    ("http://localhost:8188", None), ("http://localhost:8188", "localhost:x"),
    ("http://127.0.0.1:8188", "localhost:8188"),
])
def test_origin_refused(origin, host):
    assert not security.origin_allowed(origin, host)


@pytest.mark.parametrize("path, authorization, expected", [
    ("/ws", "Bearer abc", "abc"), ("/ws", "bearer   abc  ", "abc"), ("/ws", "  BEARER abc", "abc"),
    ("/ws?token=q", "Bearer h", "h"),  # the header wins
    ("/ws?token=q", "Basic dXNlcg==", "q"), ("/ws?token=q", "Bearer ", "q"), ("/ws?token=q", "", "q"),
    ("/ws?token=q", None, "q"), ("/ws?token=", None, ""), ("/ws?token=a&token=b", None, "a"),
    ("/output/x.png?v=1&token=t%20u", None, "t u"),
    ("/ws", None, None), ("/ws?other=1", None, None), ("/ws", "Bearer", None), ("/ws", "Basic abc", None),
])
def test_request_token(path, authorization, expected):
    assert security.request_token(path, authorization) == expected


def test_token_ok():
    assert security.token_ok(None, None) and security.token_ok("", "x")
    assert security.token_ok("s3cret", "s3cret")
    assert not security.token_ok("s3cret", None)
    assert not security.token_ok("s3cret", "")
    assert not security.token_ok("s3cret", "s3cre")


def test_allowed_hosts_normalises_bound_and_extra_names():
    assert security.allowed_hosts("[::]") == {"localhost", "127.0.0.1", "::1"}
    assert security.allowed_hosts("*") == {"localhost", "127.0.0.1", "::1"}
    assert "nas.lan" in security.allowed_hosts(" NAS.lan ")
    assert "xserve.lan" in security.allowed_hosts("XSERVE.LAN")  # whatever letters it starts with
    extra = security.allowed_hosts("127.0.0.1", [" Box.Local:8188 ", "", "[fe80::2]", "fe80::3"])
    assert {"box.local", "fe80::2", "fe80::3"} <= extra
    assert "" not in extra


def test_is_loopback():
    for host in ("localhost", "LOCALHOST", " 127.0.0.1 ", "127.9.9.9", "[::1]", "::1"):
        assert security.is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "10.0.0.1", "localhost.evil.com", "example.com"):
        assert not security.is_loopback(host), host


def test_check_bind_message_names_the_host_and_the_fix():
    with pytest.raises(security.SecurityError) as info:
        security.check_bind("", None)
    assert str(info.value) == (
        "refusing to bind '0.0.0.0' without a token: anyone who can reach it could run workflows and read "
        "files. Pass --token T (or set NODEGRAPH_TOKEN), or bind 127.0.0.1.")
    with pytest.raises(security.SecurityError, match="'192.168.1.5'"):
        security.check_bind("192.168.1.5", None)
