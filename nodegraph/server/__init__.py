"""``nodegraph serve``: the web canvas and the websocket API on one port.

Pure logic lives in modules without I/O (``protocol`` frames, ``handlers`` and their table,
``security``, ``static`` path rules, the job state machine in ``jobs``); ``ws`` and ``web`` are
the thin websockets/HTTP layers around them, ``worker`` runs jobs through the session API and
``app`` assembles the parts. Importing the core (``nodegraph``) never imports this package, so
the ``websockets`` dependency is only loaded by the server.
"""
