"""``nodegraph serve``: the web canvas and the websocket API on one port.

Pure logic lives in modules without I/O (``protocol``, ``security``, ``static`` path rules,
the job state machine in ``jobs``); ``app`` is the thin websockets layer around them plus the
one worker thread. Importing the core (``nodegraph``) never imports this package, so the
``websockets`` dependency is only loaded by the server.
"""
