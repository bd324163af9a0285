"""torch._dynamo imported only once something compiles (nodegraph.startup.deferred_dynamo).

Each case runs in a new process: whether torch._dynamo is imported is per process, and the test
process may have imported it already."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from nodegraph.startup.deferred_dynamo import LEAVES, _standalone

pytest.importorskip("torch")

# Inside the block: what diffusers' and transformers' modules do while they import.
PRELUDE = textwrap.dedent("""
    import json, sys, torch
    from nodegraph.startup.deferred_dynamo import dynamo_deferred, deferred
    report = {}
    with dynamo_deferred():
        import torch._dynamo
        from torch._dynamo import allow_in_graph

        @allow_in_graph
        def allowed(x):
            return x + 1

        @torch._dynamo.assume_constant_result
        def constant():
            return 3

        seen = []  # torch.compiler.is_compiling() inside each call

        @torch.compiler.disable
        def eager_only(x):
            seen.append(torch.compiler.is_compiling())
            return x * 2

        @torch.compiler.disable(recursive=False)
        def eager_shallow(x):
            seen.append(torch.compiler.is_compiling())
            return x * 3

        eval_frame = torch._dynamo.eval_frame  # held, as a library may hold it
        plain = torch.nn.Linear(2, 2)
        report["deferred in block"] = deferred()
        report["real imported in block"] = "torch._dynamo.eval_frame" in sys.modules
        report["eager calls"] = [eager_only(torch.ones(1)).item(), eager_shallow(torch.ones(1)).item()]
        report["plain is compiled"] = isinstance(plain, eval_frame.OptimizedModule)
    report["deferred after block"] = deferred()
""")


def probe(body: str = "", first: str = "", **env: str) -> dict:
    code = first + PRELUDE + textwrap.dedent(body) + "\nprint('REPORT ' + json.dumps(report))\n"
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Overriding a previously registered kernel" not in proc.stderr  # nothing of torch ran twice
    return json.loads([line for line in proc.stdout.splitlines() if line.startswith("REPORT ")][-1][7:])


def test_imports_get_a_stand_in_and_compiling_gets_the_real_module_with_every_mark():
    report = probe("""
        report["seen before compiling"] = list(seen)
        compiled = torch.compile(lambda x: eager_only(x) + eager_shallow(x) + allowed(x), backend="eager")
        report["compiled result"] = compiled(torch.ones(1)).item()
        report["seen inside compiled"] = seen[-2:]  # the disabled functions ran eagerly
        report["deferred after compile"] = deferred()
        report["real module"] = type(sys.modules["torch._dynamo"]).__name__
        report["allowed in graph"] = torch._dynamo.trace_rules.is_callable_allowed(allowed)
        report["constant marked"] = getattr(constant, "_dynamo_marked_constant", False)
        module = torch.compile(plain, backend="eager")
        report["held check: compiled"] = isinstance(module, eval_frame.OptimizedModule)
        report["held check: plain"] = isinstance(plain, eval_frame.OptimizedModule)
    """)
    assert report["deferred in block"] and not report["real imported in block"]
    assert report["eager calls"] == [2.0, 3.0] and report["seen before compiling"] == [False, False]
    assert report["plain is compiled"] is False
    assert report["deferred after block"]  # the stand-in stays until something compiles
    assert report["compiled result"] == 2.0 + 3.0 + 2.0
    assert report["seen inside compiled"] == [False, False]
    assert not report["deferred after compile"] and report["real module"] == "module"
    assert report["allowed in graph"] and report["constant marked"]
    assert report["held check: compiled"] and not report["held check: plain"]


def test_a_submodule_import_brings_in_the_real_package_once():
    report = probe("""
        with dynamo_deferred():
            from torch._dynamo.eval_frame import OptimizedModule
        real = sys.modules["torch._dynamo.eval_frame"]
        report["same class"] = OptimizedModule is torch._dynamo.eval_frame.OptimizedModule is real.OptimizedModule
        report["compiled is one"] = isinstance(torch.compile(plain, backend="eager"), OptimizedModule)
        report["spec origin"] = real.__spec__.origin
        report["deferred"] = deferred()
        report["compiles"] = torch.compile(lambda x: eager_only(x) * 5, backend="eager")(torch.ones(1)).item()
        report["seen"] = seen[-1]
    """)
    assert report["same class"] and report["spec origin"].endswith("eval_frame.py")
    assert report["compiled is one"]  # the module ran once: torch.compile made the class imported here
    assert report["deferred"] is False
    assert report["compiles"] == 10.0 and report["seen"] is False


def test_the_leaf_transformers_imports_stays_deferred_and_joins_the_real_package():
    leaf = sorted(LEAVES)[0]
    report = probe(f"""
        with dynamo_deferred():
            import {leaf} as leaf
        report["deferred with leaf"] = deferred()
        torch.compile(lambda x: x + 1, backend="eager")(torch.ones(1))
        report["package holds leaf"] = torch._dynamo.{leaf.rpartition('.')[2]} is leaf is sys.modules["{leaf}"]
    """)
    assert report["deferred with leaf"] and report["package holds leaf"]


@pytest.mark.parametrize("off", ["NODEGRAPH_DEFER_DYNAMO=0", "already imported"])
def test_off_or_already_imported_means_the_real_module(off):
    if off == "already imported":
        report = probe(first="import torch._dynamo\n")
    else:
        report = probe(NODEGRAPH_DEFER_DYNAMO="0")
    assert report["real imported in block"] and not report["deferred in block"]
    assert report["eager calls"] == [2.0, 3.0]


def test_standalone_only_for_modules_whose_imports_are_all_in_already(tmp_path):
    def module(text: str):
        path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.py"
        path.write_text(textwrap.dedent(text))
        return str(path)

    assert _standalone(module("import os\nfrom sys import argv\ntry:\n    import json\nexcept ImportError:\n    pass\n"))
    assert not _standalone(module("import os\nif True:\n    import a_module_nobody_imported\n"))
    assert not _standalone(module("from . import sibling\n"))
    assert not _standalone(module("from torch._dynamo import config\n"))
    assert not _standalone(module("import torch._dynamo.utils\n"))
    assert _standalone(module("import os\ndef later():\n    import a_module_nobody_imported\n"))  # not at import
    assert not _standalone(str(tmp_path / "missing.py")) and not _standalone(module("def (:\n"))
