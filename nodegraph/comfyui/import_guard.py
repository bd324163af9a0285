"""While a ComfyUI pack imports: nothing is installed and nothing is fetched on the user's behalf.

Many packs run ``pip install`` for what they miss, or download weights, as they import. For the
duration of one pack's import, in the thread importing it:

- starting a process that runs pip (``pip``, ``python -m pip``, ``uv pip``, ``ensurepip``,
  ``easy_install``) through ``subprocess`` (``run``, ``call``, ``check_call``, ``Popen``,
  ``os.popen``) raises ``InstallRefused`` (an ``OSError``, what a missing program raises), and
  ``os.system`` with such a command returns a failure status without running it;
- opening a network connection or resolving a host name raises ``NetworkRefused`` (an
  ``OSError``);

each attempt is noted, and the loader reports it ("tried to run: pip install ..."). Other
threads, and other commands, are not affected. Whatever the pack prints goes to stderr (stdout
may be carrying JSON events). A pack that runs pip some other way (``pip.main``, a thread it
starts) is not caught.
"""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
from typing import Any, Iterator


class InstallRefused(OSError):
    pass


class NetworkRefused(OSError):
    pass


def runs_pip(args: Any) -> bool:
    """Whether a command line (a string or a list of arguments) runs a package installer."""
    if isinstance(args, (str, bytes)):
        text = os.fsdecode(args)
        try:
            tokens = shlex.split(text)
        except ValueError:
            tokens = text.split()
    else:
        tokens = [os.fsdecode(a) if isinstance(a, (str, bytes, os.PathLike)) else str(a) for a in args]
    names = [os.path.basename(t).lower() for t in tokens]
    for i, name in enumerate(names):
        following = names[i + 1] if i + 1 < len(names) else ""
        if _PIP.match(name) or name in ("ensurepip", "easy_install"):
            return True
        if (name == "-m" and following in ("pip", "ensurepip")) or (name == "uv" and following == "pip"):
            return True
    return False


_PIP = re.compile(r"^pip[0-9.]*(\.exe)?$")  # pip, pip3, pip3.11


def _shown(args: Any) -> str:
    text = args if isinstance(args, str) else " ".join(str(a) for a in args)
    text = text.replace(sys.executable, "python")
    return text if len(text) < 200 else text[:197] + "..."


@contextlib.contextmanager
def guarded(attempts: list[str]) -> Iterator[None]:
    """The pack's import runs inside this block; ``attempts`` collects what was refused."""
    thread = threading.get_ident()
    mine = lambda: threading.get_ident() == thread  # noqa: E731 - only the importing thread is guarded
    original_popen, original_system = subprocess.Popen, os.system
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    class GuardedPopen(original_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            if mine() and runs_pip(args):
                attempts.append(f"tried to run: {_shown(args)} (refused: nodegraph never installs packages "
                                "for a pack; install what it needs yourself)")
                raise InstallRefused(f"running {_shown(args)!r} is refused while a ComfyUI pack loads")
            super().__init__(args, *rest, **kwargs)

    def system(command: Any) -> int:
        if mine() and runs_pip(command):
            attempts.append(f"tried to run: {_shown(command)} (refused: nodegraph never installs packages "
                            "for a pack; install what it needs yourself)")
            return 1 << 8  # exit status 1, as a failed command reports it
        return original_system(command)

    def refuse_network(where: str) -> None:
        attempts.append(f"tried to reach the network ({where}) while loading (refused)")
        raise NetworkRefused(f"network access ({where}) is refused while a ComfyUI pack loads")

    def connect(sock: socket.socket, address: Any) -> Any:
        if mine() and sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse_network(f"connect to {address}")
        return original_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> Any:
        if mine() and sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse_network(f"connect to {address}")
        return original_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if mine() and host not in (None, "localhost", "127.0.0.1", "::1"):
            refuse_network(f"look up {host}")
        return original_getaddrinfo(host, *args, **kwargs)

    subprocess.Popen, os.system = GuardedPopen, system
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        subprocess.Popen, os.system = original_popen, original_system
        socket.socket.connect, socket.socket.connect_ex = original_connect, original_connect_ex
        socket.getaddrinfo = original_getaddrinfo
