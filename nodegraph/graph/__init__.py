"""The graph: the workflow file, bypass and mute, overrides, validation into a graph, the plan.
May import ``nodegraph.api`` and ``nodegraph.files``; never run or anything above."""
