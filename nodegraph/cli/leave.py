"""How the ``nodegraph`` command ends: without tearing the interpreter down once torch is in.

After a run that loaded models, Python's teardown (clearing every module, freeing about half a
million torch/diffusers objects, then the CUDA context) took 1.5 s on a 2-core CPU: a quarter of
a cold run of the demo main job, spent after its last event, with nothing left to do. So the
command flushes what is pending, runs the ``atexit`` handlers libraries registered (logging's
flush, temporary folders, Ray's shutdown) and ends the process with ``os._exit``.

It falls back to the ordinary exit while a non-daemon thread is still running (the ordinary
exit waits for it), when torch was never imported (nothing slow to skip), and with
``NODEGRAPH_FAST_EXIT=0``. Only the console command uses this: ``cli.main`` returns normally,
so code that calls it (tests, embedding programs) keeps its process.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading


def worth_skipping_teardown() -> bool:
    if os.environ.get("NODEGRAPH_FAST_EXIT", "1") == "0" or "torch" not in sys.modules:
        return False
    main = threading.main_thread()
    return not any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate())


def leave(code: int) -> None:
    """End the process with ``code``; see the module docstring for what is skipped."""
    if not worth_skipping_teardown():
        sys.exit(code)
    atexit._run_exitfuncs()  # noqa: SLF001 - the handlers an ordinary exit would run
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)
