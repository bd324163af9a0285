"""transformers' source scan served from the cache folder: the same structure, read back in a
new process instead of rescanned, and rescanned when a file under the folder changes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from nodegraph.startup.transformers_scan import import_structure_cached, stored_define

iu = pytest.importorskip("transformers.utils.import_utils")
scan = iu.define_import_structure.__wrapped__  # the scanner itself, without its in-process cache


def counting(calls):
    """The scanner as a new process runs it (transformers also caches each folder in-process)."""
    def define(module_path, prefix=None):
        calls.append(str(module_path))
        iu.create_import_structure_from_path.cache_clear()
        return scan(module_path, prefix=prefix)
    return define


def write_module(folder, name, exported):
    (folder / f"{name}.py").write_text(f"__all__ = {exported!r}\n" + "".join(f"{e} = 1\n" for e in exported))


@pytest.fixture
def package(tmp_path):
    """A folder the scanner reads: one module exporting AConfig."""
    folder = tmp_path / "pkg"
    folder.mkdir()
    write_module(folder, "configuration_a", ["AConfig"])
    return folder


def test_the_stored_structure_equals_the_scan_and_a_new_process_reads_it_back(tmp_path):
    clip = os.path.join(os.path.dirname(iu.__file__), "..", "models", "clip")
    clip = os.path.normpath(clip)
    calls = []
    first = stored_define(tmp_path, counting(calls), "k")(clip, prefix="models.clip")
    assert first == scan(clip, prefix="models.clip")
    assert any("CLIPTextModel" in names for modules in first.values() for names in modules.values())
    again = stored_define(tmp_path, counting(calls), "k")  # what the next process makes
    assert again(clip, prefix="models.clip") == first and len(calls) == 1
    # the same folder named by its __init__.py (as transformers.models does), another prefix: its own copy
    assert again(os.path.join(clip, "__init__.py")) == scan(clip) and len(calls) == 2
    third = stored_define(tmp_path, counting(calls), "k")
    assert third(os.path.join(clip, "__init__.py")) == scan(clip) and len(calls) == 2  # read back too


def test_a_file_changed_added_or_touched_under_the_folder_is_rescanned(tmp_path, package):
    store = tmp_path / "store"
    calls = []

    def exported():
        structure = stored_define(store, counting(calls), "k")(str(package))  # a new process each time
        return {name for modules in structure.values() for names in modules.values() for name in names}

    assert exported() == {"AConfig"} and len(calls) == 1
    assert exported() == {"AConfig"} and len(calls) == 1  # unchanged: read back
    write_module(package, "configuration_a", ["AConfig", "ABigConfig"])
    assert exported() == {"AConfig", "ABigConfig"} and len(calls) == 2
    (package / "sub").mkdir()
    write_module(package / "sub", "configuration_b", ["BConfig"])
    assert "BConfig" in exported() and len(calls) == 3
    path = package / "configuration_a.py"
    path.write_text(path.read_text().replace("ABigConfig", "AOtherCfg1"))  # same size
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert "AOtherCfg1" in exported() and len(calls) == 4
    assert len(list(store.glob("*.json"))) == 1  # only the folder's latest copy is kept


def test_a_corrupt_or_unwritable_store_still_answers(tmp_path, package):
    calls = []
    stored_define(tmp_path / "store", counting(calls), "k")(str(package))
    for n, damage in enumerate(("{not json", '{"a": 1}', "[[1, 2]]"), start=2):
        for stored in (tmp_path / "store").glob("*.json"):
            stored.write_text(damage)
        assert stored_define(tmp_path / "store", counting(calls), "k")(str(package)) == scan(str(package))
        assert len(calls) == n
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert stored_define(blocker / "store", counting(calls), "k")(str(package)) == scan(str(package))


def test_the_scanner_is_replaced_only_inside_the_block(tmp_path, package, monkeypatch):
    original = iu.define_import_structure
    with import_structure_cached(tmp_path / "store"):
        assert iu.define_import_structure is not original
        assert iu.define_import_structure(str(package)) == scan(str(package))
    assert iu.define_import_structure is original
    assert list((tmp_path / "store").glob("*.json"))
    monkeypatch.setenv("NODEGRAPH_STORED_SCANS", "0")
    with import_structure_cached(tmp_path / "store"):
        assert iu.define_import_structure is original
    with import_structure_cached(None):
        assert iu.define_import_structure is original


def test_a_new_process_imports_transformers_without_scanning(tmp_path):
    """The import hook: in a process that has not imported transformers, the store stands in
    for the scan from transformers' own __init__ on; the second process scans no folder."""
    script = textwrap.dedent(f"""
        import json, sys
        from nodegraph.startup.transformers_scan import import_structure_cached
        with import_structure_cached({str(tmp_path / "store")!r}):
            from transformers import CLIPTextConfig
            import transformers.utils.import_utils as iu
            inside = hasattr(iu.define_import_structure, "cache_info")
        print(json.dumps({{"scanned": iu.create_import_structure_from_path.cache_info().misses,
                          "original_inside": inside,
                          "original_after": hasattr(iu.define_import_structure, "cache_info"),
                          "config": CLIPTextConfig.__name__}}))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("NODEGRAPH_STORED_SCANS", None)
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                                      check=True).stdout.splitlines()[-1]) for _ in range(2)]
    assert runs[0]["scanned"] > 500 and runs[1]["scanned"] == 0  # transformers/models has ~560 folders
    for run in runs:
        assert run == {**run, "original_inside": False, "original_after": True, "config": "CLIPTextConfig"}


def test_bytecode_written_beside_the_files_is_not_a_change(tmp_path, package):
    calls = []
    stored_define(tmp_path / "store", counting(calls), "k")(str(package))
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "configuration_a.cpython-311.pyc").write_bytes(b"bytecode")
    stored_define(tmp_path / "store", counting(calls), "k")(str(package))
    assert len(calls) == 1


def test_a_folder_that_cannot_be_listed_is_left_to_the_scanner_as_asked(tmp_path):
    asked = []

    def define(module_path, prefix=None):
        asked.append((module_path, prefix))
        return {}

    missing = tmp_path / "missing"
    assert stored_define(tmp_path / "store", define, "k")(missing, prefix="models") == {}
    assert asked == [(missing, "models")] and not (tmp_path / "store").exists()


def test_the_import_hook_runs_its_callback_once_the_module_has_run(tmp_path, monkeypatch):
    from nodegraph.startup.transformers_scan import _AfterImport
    package = tmp_path / "ng_hook_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "target.py").write_text("VALUE = 41\n")
    (package / "other.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    def then(module):
        seen.append((module.__name__, module.VALUE))  # the module's own code has run
        module.VALUE += 1  # and what the callback changes is what importers get

    hook = _AfterImport("ng_hook_probe.target", then)
    monkeypatch.setattr(sys, "meta_path", [hook, *sys.meta_path])
    for name in ("ng_hook_probe.target", "ng_hook_probe.other", "ng_hook_probe"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import ng_hook_probe.other
    import ng_hook_probe.target
    assert seen == [("ng_hook_probe.target", 41)] and ng_hook_probe.target.VALUE == 42
    assert ng_hook_probe.other.VALUE == 1
    assert ng_hook_probe.target.__file__ == str(package / "target.py")
    absent = _AfterImport("ng_hook_probe.absent", then)
    assert absent.find_spec("ng_hook_probe.absent", [str(package)]) is None  # no such module: none made up
    assert seen == [("ng_hook_probe.target", 41)]
