"""`nodegraph serve --warmup FILE`: the workflow runs once at start-up, so the first job finds its
models loaded; it leaves no files and no cache entries, and a bad file stops the server from
starting, naming the problem."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nodegraph.api.errors import WorkflowInvalid
from nodegraph.cli import main as cli
from nodegraph.server.app import Server, ServerConfig
from serverkit import Client

MAIN_JOB = Path(__file__).resolve().parents[2] / "workflows" / "lcm_lora_sdxl.json"


def main_job(width: int = 64) -> dict:
    data = json.loads(MAIN_JOB.read_text())
    data["nodes"]["sampler"]["inputs"].update(width=width, height=64)
    return data


def phases_of(events: list[dict]) -> set[str]:
    return {name for e in events if e["event"] == "executed" for name in e.get("phases", {})}


def warmed(handle, timeout: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not handle.server.worker.warmed:
        assert time.monotonic() < deadline, "the warm-up did not finish"
        time.sleep(0.05)
    return handle.server.worker.warmed


def test_the_first_job_finds_its_models_loaded(make_server, dirs, tmp_path):
    warmup = tmp_path / "warmup.json"
    warmup.write_text(json.dumps(main_job(width=72)))  # another size: the warm models serve it too
    server = make_server(warmups=(warmup,))
    (summary,) = warmed(server)
    assert summary["status"] == "success" and summary["executed"] == 6
    assert "load" in {name for by_node in summary["phases"].values() for name in by_node}
    assert list(dirs["output"].iterdir()) == []  # its image went into a folder removed after
    with Client(server.port) as client:
        events = client.events(client.queue(main_job())["job"], timeout=120)
    assert events[-1]["status"] == "success" and events[-1]["executed"] == 6  # nothing served from a cache
    assert "load" not in phases_of(events) and "imports" not in phases_of(events)
    assert len(list(dirs["output"].iterdir())) == 1

    # Without a warm-up, the same first job loads the model itself.
    cold = make_server(data_dir=tmp_path / "data-cold", output_dir=tmp_path / "out-cold")
    assert cold.server.worker.warmed == []
    with Client(cold.port) as client:
        events = client.events(client.queue(main_job())["job"], timeout=120)
    assert events[-1]["status"] == "success" and "load" in phases_of(events)


def test_a_warmup_that_fails_leaves_the_server_serving(make_server, dirs, tmp_path):
    import torch
    from safetensors.torch import save_file
    (dirs["models"] / "lora").mkdir()
    # A readable LoRA file (validation passes) for a layer with other shapes: fails when merged.
    save_file({"lora_unet_mid_block_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 7),
               "lora_unet_mid_block_attentions_0_proj_in.lora_up.weight": torch.zeros(7, 4)},
              str(dirs["models"] / "lora" / "broken.safetensors"))
    broken = main_job()
    broken["nodes"]["merge"]["inputs"]["style_lora"] = "broken.safetensors"
    warmup = tmp_path / "warmup.json"
    warmup.write_text(json.dumps(broken))
    server = make_server(warmups=(warmup,))
    (summary,) = warmed(server)
    assert summary["status"] == "failed" and "merge" in summary["error"], summary
    with Client(server.port) as client:
        events = client.events(client.queue(main_job())["job"], timeout=120)
    assert events[-1]["status"] == "success"


def test_an_invalid_warmup_stops_the_server_from_starting(dirs, tmp_path, capsys):
    bad = main_job()
    bad["nodes"]["sampler"]["inputs"]["steps"] = 99
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=dirs["data"], output_dir=dirs["output"],
                          input_dir=dirs["input"], models_dir=dirs["models"], device="cpu", warmups=(path,))
    with pytest.raises(WorkflowInvalid) as caught:
        Server(config)
    assert [(p.node, p.input) for p in caught.value.problems] == [("sampler", "steps")]
    code = cli.main(["serve", "--port", "0", "--device", "cpu", "--data-dir", str(dirs["data"]),
                     "--out", str(dirs["output"]), "--warmup", str(path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "--warmup: invalid" in err and "'sampler'" in err and "steps" in err
    code = cli.main(["serve", "--port", "0", "--device", "cpu", "--data-dir", str(dirs["data"]),
                     "--out", str(dirs["output"]), "--warmup", str(tmp_path / "missing.json")])
    assert code == 2 and "missing.json" in capsys.readouterr().err
