"""Running: cache, run context, events, executors (interface, in-process, by name), the session,
the warm-model cache, device resolution. May import graph, api and files; never startup, cli,
server, ray or comfyui."""
