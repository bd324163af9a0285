"""The command line contract of docs/cli.md: exit codes, --set, events, catalogue, schema."""
import json
import signal
import subprocess
import sys
from pathlib import Path

from core_helpers import cli, link, wf, write

ROOT = Path(__file__).resolve().parents[2]


def lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_exit_1_when_a_node_fails_with_a_clear_message(tmp_path, plugin_dir):
    path = write(tmp_path / "w.json", wf(a=("Counter", {}), f=("Fail", {"value": link("a")}),
                                         s=("Show", {"value": link("f")})))
    out = cli("run", str(path), "--no-cache", "--plugins", str(plugin_dir), "--events", "jsonl")
    assert out.returncode == 1
    error = [e for e in lines(out.stdout) if e["event"] == "error"][0]
    assert error["node"] == "f" and error["node_type"] == "Fail" and "boom" in error["message"]
    # One line: the exception's type and message; the traceback only in the log (or --traceback).
    assert "error: node 'f' (Fail): RuntimeError: boom from a node (traceback: --traceback" in out.stderr
    assert "Traceback" not in out.stderr
    assert lines(out.stdout)[-1]["event"] == "done"


def test_exit_130_on_ctrl_c_and_finished_nodes_stay_cached(tmp_path, plugin_dir):
    path = write(tmp_path / "w.json", wf(a=("Counter", {"value": 5}), x=("Slow", {"value": link("a"), "steps": 400, "delay": 0.05}),
                                         s=("Show", {"value": link("x")})))
    cmd = [sys.executable, "-m", "nodegraph.cli", "run", str(path), "--plugins", str(plugin_dir), "--events", "jsonl",
           "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stdout:  # wait until the slow node is mid-way
        seen.append(json.loads(line))
        if seen[-1]["event"] == "progress":
            break
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    events = seen + lines(rest)
    assert any(e["event"] == "interrupted" and e["node"] == "x" for e in events)
    assert events[-1]["event"] == "done" and events[-1]["status"] == "interrupted"
    again = subprocess.run(cmd + ["--set", "x.steps=1"], capture_output=True, text=True, timeout=60)
    assert {e["node"] for e in lines(again.stdout) if e["event"] == "cached"} == {"a"}


def test_set_parses_values_by_declared_type(tmp_path):
    path = write(tmp_path / "w.json", wf(a=("Float", {"value": 1.0}), b=("MathFloat", {"a": link("a"), "b": 2.0}),
                                         s=("Show", {"value": link("b")})))
    out = cli("run", str(path), "--no-cache", "--events", "jsonl", "--set", "a.value=2.5", "--set", "b.op=multiply")
    assert out.returncode == 0, out.stderr
    assert [e["ui"]["text"] for e in lines(out.stdout) if e.get("node") == "s" and "ui" in e] == ["5.0"]


def test_set_reports_bad_node_input_or_value(tmp_path):
    path = write(tmp_path / "w.json", wf(a=("Int", {}), s=("Show", {"value": link("a")})))
    cases = {
        "zz.value=1": "no node 'zz'",
        "a.nope=1": "Int has no input 'nope'",
        "a.value=abc": "'abc' is not a valid int for a.value",
        "a.value": "expected NODE.INPUT=VALUE",
        "s.value=3": "takes a link",
    }
    for arg, message in cases.items():
        out = cli("run", str(path), "--no-cache", "--set", arg)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, (arg, out.stderr)
    bad_enum = write(tmp_path / "e.json", wf(a=("MathInt", {}), s=("Show", {"value": link("a")})))
    out = cli("run", str(bad_enum), "--no-cache", "--set", "a.op=pow")
    assert out.returncode == 2 and "node 'a', input 'op'" in out.stderr


def test_usage_errors_exit_2():
    assert cli("run").returncode == 2
    assert cli("frobnicate").returncode == 2


def test_nodes_json_has_what_a_ui_needs_to_build_widgets():
    out = cli("nodes", "--json")
    catalogue = json.loads(out.stdout)
    by_type = {n["type"]: n for n in catalogue["nodes"]}
    resize = by_type["ResizeImage"]
    inputs = {i["name"]: i for i in resize["inputs"]}
    assert inputs["image"] == {"name": "image", "type": "IMAGE", "widget": None, "required": True, "description": ""}
    assert inputs["width"]["widget"] == "int" and inputs["width"]["minimum"] == 1 and inputs["width"]["maximum"] == 8192
    assert inputs["width"]["step"] == 8 and inputs["width"]["default"] == 512
    assert inputs["method"]["options"] == ["bilinear", "bicubic", "nearest", "area"]
    assert {i["name"]: i for i in by_type["String"]["inputs"]}["value"]["multiline"] is True
    assert {i["name"]: i for i in by_type["LoadImage"]["inputs"]}["image"]["file"]["kind"] == "image"
    assert by_type["SaveImage"]["output_node"] is True and resize["category"] == "image" and resize["description"]
    assert by_type["Seed"]["outputs"] == [{"name": "seed", "type": "INT", "description": ""}]
    assert {t["name"] for t in catalogue["types"]} >= {"INT", "IMAGE", "MODEL", "*"}
    human = cli("nodes")
    assert "ResizeImage(image:IMAGE" in human.stdout


def test_schema_is_the_json_schema_of_the_workflow_file():
    import jsonschema
    schema = json.loads(cli("schema").stdout)
    assert schema["properties"]["format"]["const"] == "nodegraph/workflow"
    link_def = schema["$defs"]["Link"]
    assert set(link_def["required"]) == {"from", "output"}
    validator = jsonschema.Draft202012Validator(schema)
    shipped = sorted((ROOT / "workflows").glob("*.json"))
    assert len(shipped) >= 5
    for path in shipped:  # every example, links and literals alike, is a valid document
        errors = [e.message for e in validator.iter_errors(json.loads(path.read_text()))]
        assert not errors, (path.name, errors[:3])
    bad = json.loads(shipped[0].read_text())
    node_id = next(iter(bad["nodes"]))
    bad["nodes"][node_id]["mode"] = "sometimes"
    assert not validator.is_valid(bad)
    bad["nodes"][node_id].pop("mode")
    bad["nodes"][node_id]["type"] = ""
    assert not validator.is_valid(bad)


def test_importing_the_core_and_the_catalogue_does_not_import_torch():
    code = ("import sys, nodegraph, nodegraph.cli.main, nodegraph.api.plugins;"
            "r = nodegraph.api.plugins.load_registry(use_env=False);"
            "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'websockets') if m in sys.modules];"
            "print(heavy, len(r.nodes))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.startswith("[]"), out.stdout + out.stderr


def test_jsonl_done_event_lists_outputs_and_human_summary_goes_to_stderr(tmp_path):
    path = write(tmp_path / "w.json", wf(i=("SolidImage", {"width": 8, "height": 8}),
                                         s=("SaveImage", {"images": link("i", "image"), "prefix": "t"})))
    out = cli("run", str(path), "--no-cache", "--events", "jsonl", "--out", str(tmp_path / "o"))
    done = lines(out.stdout)[-1]
    assert done["event"] == "done" and len(done["outputs"]) == 1 and done["outputs"][0].endswith(".png")
    assert "success: 2 executed, 0 cached" in out.stderr


def test_version_matches_the_installed_distribution():
    from importlib.metadata import version
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"nodegraph {version('nodegraph')}"


def test_executed_events_carry_seconds_and_profile_prints_a_table(tmp_path, plugin_dir):
    path = write(tmp_path / "w.json", wf(a=("Counter", {"value": 2}),
                                         x=("Slow", {"value": link("a"), "steps": 4, "delay": 0.1}),
                                         s=("Show", {"value": link("x")})))
    args = ("run", str(path), "--plugins", str(plugin_dir), "--events", "jsonl", "--profile",
            "--cache-dir", str(tmp_path / "cache"))
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    seconds = {e["node"]: e["seconds"] for e in lines(out.stdout) if e["event"] == "executed"}
    assert set(seconds) == {"a", "x", "s"} and seconds["x"] >= 0.4 > seconds["a"]
    table = out.stderr[out.stderr.index("time per node:"):].splitlines()
    assert table[1].split() == ["node", "seconds", "share"] and table[2].split()[0] == "x"  # slowest first
    again = cli(*args)
    assert all("seconds" not in e for e in lines(again.stdout) if e["event"] == "cached")
    again_table = again.stderr[again.stderr.index("time per node:"):].splitlines()
    assert [line.split() for line in again_table if line.strip().startswith("x ")] == [["x", "cached"]]
