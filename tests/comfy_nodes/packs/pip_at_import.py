"""A pack that tries to install what it misses, and to download something, as it imports."""
import os
import socket
import subprocess
import sys

ATTEMPTS = []
try:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--no-index", "nodegraph-test-absent-package"])
    ATTEMPTS.append("pip ran")
except Exception as exc:  # what such packs do: carry on without it
    ATTEMPTS.append(f"pip refused: {type(exc).__name__}")
ATTEMPTS.append(f"os.system -> {os.system('pip install --no-index nodegraph-test-absent-package')}")
try:
    socket.create_connection(("192.0.2.1", 9), timeout=0.2)  # TEST-NET-1: never routable
    ATTEMPTS.append("connected")
except OSError as exc:
    ATTEMPTS.append(f"network refused: {type(exc).__name__}")
ATTEMPTS.append(f"git ran: {subprocess.run(['true']).returncode == 0}")  # other programs still run
print("pip_at_import loaded")  # must not reach stdout (it may carry JSON events)


class Attempts:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "report"
    CATEGORY = "tests"

    def report(self):
        return ("; ".join(ATTEMPTS),)


NODE_CLASS_MAPPINGS = {"PipPackAttempts": Attempts}
