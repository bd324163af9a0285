"""The stored catalogue (nodegraph/api/stored_catalogue.py): `nodegraph nodes` answers without
importing a pack, `nodegraph validate` imports only the packs its workflow needs, and both say
exactly what a full load says; a pack's edit makes a new key, so nothing stale is ever read."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from core_helpers import link, wf, write

from nodegraph.api import stored_catalogue

REPO = Path(__file__).resolve().parents[2]
MAIN_JOB = REPO / "workflows" / "lcm_lora_sdxl.json"
# The CLI, then one line naming the packs and libraries the process imported.
REPORTING = ("import sys\nfrom nodegraph.cli.main import main\nrc = main(sys.argv[1:])\n"
             "packs = sorted(m for m in sys.modules if m.count('.') == 1 and m.startswith('nodegraph_nodes.'))\n"
             "sys.stderr.write('IMPORTED ' + ','.join(packs + [m for m in ('pydantic',) if m in sys.modules]) + '\\n')\n"
             "sys.exit(rc)\n")


def command(cache: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    env = {k: v for k, v in os.environ.items() if not (k.startswith("NODEGRAPH_") and k.endswith(("_NODES", "_PLUGINS")))}
    env.update(NODEGRAPH_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", REPORTING, *args], capture_output=True, text=True, timeout=300,
                         env=env, cwd=cache.parent)
    line = [x for x in out.stderr.splitlines() if x.startswith("IMPORTED ")][-1]
    return out, [m for m in line[len("IMPORTED "):].split(",") if m]


def test_nodes_from_the_stored_catalogue_imports_no_pack_and_prints_the_same(tmp_path):
    cache = tmp_path / "cache"
    first, imported_first = command(cache, "nodes")
    assert first.returncode == 0 and "nodegraph_nodes.sdxl" in imported_first  # a full load, then stored
    assert len(list((cache / "catalogue").glob("*.json"))) == 1
    again, imported_again = command(cache, "nodes")
    assert again.stdout == first.stdout and imported_again == []  # no pack, not even pydantic
    as_json, _ = command(cache, "nodes", "--json")
    (cache / "catalogue").rename(tmp_path / "gone")
    fresh, _ = command(cache, "nodes", "--json")
    assert json.loads(as_json.stdout) == json.loads(fresh.stdout)


def test_validate_imports_only_the_packs_its_workflow_needs_and_finds_the_same_problems(tmp_path):
    cache = tmp_path / "cache"
    command(cache, "nodes")  # stores the catalogue
    ok, imported = command(cache, "validate", str(MAIN_JOB))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert set(imported) - {"pydantic"} <= {"nodegraph_nodes.basic", "nodegraph_nodes.sdxl"}
    data = json.loads(MAIN_JOB.read_text())
    data["nodes"]["sampler"]["inputs"]["steps"] = 0
    data["nodes"]["model"]["inputs"]["checkpoint"] = "demo:no-such-model"  # unknown demo: a full load lists them
    data["nodes"]["extra"] = {"type": "LCMSamplr", "inputs": {}}  # unknown type: a full load suggests one
    bad = write(tmp_path / "bad.json", data)
    partial = write(tmp_path / "partial.json", {**data, "nodes": {k: v for k, v in data["nodes"].items()
                                                                  if k not in ("extra",)} | {
        "model": {**data["nodes"]["model"], "inputs": {**data["nodes"]["model"]["inputs"], "checkpoint": "demo:tiny-sdxl"}}}})
    for path in (bad, partial):
        stored, _ = command(cache, "validate", str(path))
        (cache / "catalogue").rename(tmp_path / f"aside-{path.stem}")
        full, _ = command(cache, "validate", str(path))  # a full load (which stores the catalogue again)
        assert (cache / "catalogue").is_dir()
        assert stored.returncode == full.returncode == 2
        assert stored.stdout == full.stdout and stored.stdout  # the same problems, in the same words
    out, _ = command(cache, "validate", str(bad))
    assert "did you mean 'LCMSampler'" in out.stdout and "unknown demo 'demo:no-such-model'" in out.stdout


def test_a_plugin_folder_means_a_full_load(tmp_path, plugin_dir):
    cache = tmp_path / "cache"
    command(cache, "nodes")
    out, imported = command(cache, "nodes", "--plugins", str(plugin_dir))
    assert "Counter(" in out.stdout and "nodegraph_nodes.sdxl" in imported
    path = write(tmp_path / "w.json", wf(a=("Counter", {}), s=("Show", {"value": link("a")})))
    assert command(cache, "validate", str(path), "--plugins", str(plugin_dir))[0].returncode == 0


def test_the_key_follows_the_packs_files_and_entry_points(tmp_path, monkeypatch):
    pack = tmp_path / "site" / "keyprobe_pack"
    pack.mkdir(parents=True)
    (pack / "__init__.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    ep = SimpleNamespace(name="keyprobe", value="keyprobe_pack")
    key = stored_catalogue.catalogue_key([ep])
    assert key == stored_catalogue.catalogue_key([ep])
    (pack / "nodes.py").write_text("Y = 2\n")  # a file added
    added = stored_catalogue.catalogue_key([ep])
    os.utime(pack / "nodes.py", ns=(1, 1))  # a file edited (its mtime)
    edited = stored_catalogue.catalogue_key([ep])
    other = stored_catalogue.catalogue_key([ep, SimpleNamespace(name="more", value="keyprobe_pack.nodes")])
    assert len({key, added, edited, other}) == 4
    assert stored_catalogue.catalogue_key([SimpleNamespace(name="gone", value="no_such_module_here")]) is None


def test_a_load_with_failures_is_not_stored(tmp_path):
    registry = SimpleNamespace(failures=[object()], catalogue=lambda: {}, origin={}, declared_by={})
    stored_catalogue.store(tmp_path, "k", registry)
    assert not (tmp_path / "catalogue").exists()
    assert stored_catalogue.read(tmp_path, "k") is None
