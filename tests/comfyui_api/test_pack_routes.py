"""HTTP routes a ComfyUI custom-node pack registers on ``PromptServer.instance.routes`` are
served, under ``/`` and ``/api/`` as ComfyUI serves them, behind the same token as every route;
nodegraph's own routes stay nodegraph's, and a failing pack route is a 500 naming the pack."""
from __future__ import annotations

import pytest

from comfykit import REPO, Http, ServerProcess, add_show, wait_until

ROUTE_PACKS = REPO / "tests" / "comfy_nodes" / "route_packs"
TOKEN = "pack-routes-token"


@pytest.fixture(scope="module")
def pack_server(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("pack-routes"), token=TOKEN,
                           extra=("--comfy-nodes", str(ROUTE_PACKS)), aliases=False).start()
    yield server
    server.stop()


def test_a_packs_get_and_post_routes_are_served_under_both_prefixes(pack_server):
    root = Http(pack_server.port, "", headers={"Authorization": f"Bearer {TOKEN}"})
    api = Http(pack_server.port, "/api", headers={"Authorization": f"Bearer {TOKEN}"})
    assert root.get("/web_routes/notes").json() == {"notes": [], "count": 0}
    assert root.post("/web_routes/notes", {"text": "first"}).json() == {"count": 1}
    assert api.post("/web_routes/notes", {"text": "second"}).json() == {"count": 2}
    # what one POST stored, both prefixes read back: the pack's handlers themselves run
    assert api.get("/web_routes/notes").json() == {"notes": ["first", "second"], "count": 2}
    assert root.get("/web_routes/notes").json()["notes"] == ["first", "second"]
    assert root.post("/web_routes/notes", {"nope": 1}).status == 400  # the pack's own answer


def test_pack_routes_need_the_token_like_every_route(pack_server):
    for prefix in ("", "/api"):
        anonymous = Http(pack_server.port, prefix)
        assert anonymous.get("/web_routes/notes").status == 401
        assert anonymous.post("/web_routes/notes", {"text": "sneaky"}).status == 401
    notes = Http(pack_server.port, headers={"Authorization": f"Bearer {TOKEN}"}).get("/web_routes/notes").json()
    assert "sneaky" not in notes["notes"]


def test_nodegraphs_routes_win_and_a_broken_pack_route_is_a_500_naming_the_pack(pack_server):
    http = Http(pack_server.port, headers={"Authorization": f"Bearer {TOKEN}"})
    assert "exec_info" in http.get("/prompt").json()  # the pack's GET /prompt was not mounted over ours
    broken = http.get("/web_routes/broken")
    assert broken.status == 500 and "comfy:web_routes" in broken.json()["error"]
    assert "KeyError" in broken.json()["error"]
    assert http.get("/web_routes/notes").status == 200  # the server goes on
    log = pack_server.server_log()
    assert "GET /prompt is nodegraph's own route" in log and "comfy:web_routes" in log


def test_a_packs_web_directory_is_listed_and_served_under_extensions(pack_server):
    http = Http(pack_server.port, "/api", headers={"Authorization": f"Bearer {TOKEN}"})
    listed = http.get("/extensions").json()
    assert "/extensions/web_routes/web_routes.js" in listed
    script = Http(pack_server.port, headers={"Authorization": f"Bearer {TOKEN}"}).get(
        "/extensions/web_routes/web_routes.js")
    assert script.status == 200 and b"registerExtension" in script.body
    assert Http(pack_server.port).get("/extensions/web_routes/web_routes.js").status == 401


def test_pack_nodes_in_object_info_carry_their_display_names_and_list_flags(pack_server):
    http = Http(pack_server.port, headers={"Authorization": f"Bearer {TOKEN}"})
    info = http.get("/object_info").json()
    words, join, echo = info["WebRoutesWords"], info["WebRoutesJoin"], info["WebRoutesEcho"]
    assert words["display_name"] == "Split Words (web routes)" and echo["display_name"] == "WebRoutesEcho"
    assert words["output_is_list"] == [True] and words["is_input_list"] is False
    assert join["output_is_list"] == [False] and join["is_input_list"] is True
    assert info["MathInt"]["is_input_list"] is False and info["MathInt"]["output_is_list"] == [False]
    assert http.get("/api/object_info/WebRoutesWords").json()["WebRoutesWords"] == words


def test_a_packs_example_workflows_and_translations_reach_the_frontend(pack_server):
    http = Http(pack_server.port, "/api", headers={"Authorization": f"Bearer {TOKEN}"})
    assert http.get("/workflow_templates").json() == {"web_routes": ["split_and_join"]}
    template = http.get("/workflow_templates/web_routes/split_and_join.json")
    assert template.status == 200
    reply = http.prompt(template.json())  # the pack's example runs as it is
    assert reply.status == 200, reply
    pid = reply.json()["prompt_id"]
    item = wait_until(lambda: http.get(f"/history/{pid}").json().get(pid))
    assert item["outputs"]["3"] == {"text": ["one+two+three"]}
    i18n = http.get("/i18n").json()
    assert i18n["en"]["web_routes"] == {"title": "Web routes"}
    assert i18n["en"]["nodeDefs"]["WebRoutesWords"]["display_name"] == "Split Words"
    assert i18n["fr"] == {"nodeDefs": {"WebRoutesWords": {"display_name": "Couper en mots"}}}
    assert Http(pack_server.port, "/api").get("/workflow_templates/web_routes/split_and_join.json").status == 401


def test_packs_prompt_hooks_rewrite_the_prompt_before_validation_and_a_broken_one_is_skipped(pack_server):
    http = Http(pack_server.port, headers={"Authorization": f"Bearer {TOKEN}"})

    def shown(reply):
        assert reply.status == 200, reply
        pid = reply.json()["prompt_id"]
        item = wait_until(lambda: http.get(f"/history/{pid}").json().get(pid))
        return item["outputs"]["3"]["text"], item["prompt"]

    plain, _ = shown(http.prompt(add_show(2, 3)))
    assert plain == ["5"]  # no request: the hook leaves the prompt alone
    doubled, queued = shown(http.prompt(add_show(2, 3), extra_data={"prompt_hooks": "double"}))
    assert doubled == ["8"]  # b: 3 -> 6 before validation and the run
    assert queued[2]["2"]["inputs"]["b"] == 6 and queued[3]["prompt_hooks_seen"] is True  # what was queued
    seeded, _ = shown(http.post("/api/prompt", {"prompt": add_show(2, 3),
                                                "extra_data": {"prompt_hooks": "fixed_seed"}}))
    assert seeded == ["1002"]
    kept, _ = shown(http.prompt(add_show(2, 3), extra_data={"prompt_hooks": "not_json"}))
    assert kept == ["5"]  # a hook returning what is not JSON is skipped: the prompt as it was sent
    assert "prompt handler rewrite failed" in pack_server.server_log()
    # the broken pack's hook raised each time (after spoiling extra_data in place): logged, skipped
    log = pack_server.server_log()
    assert "pack comfy:prompt_hook_broken: prompt handler broken_hook failed" in log
    assert "prompt_hook_broken always fails" in log


def test_object_info_carries_a_packs_search_aliases_and_its_deprecated_experimental_and_api_flags(pack_server):
    http = Http(pack_server.port, headers={"Authorization": f"Bearer {TOKEN}"})
    info = http.get("/object_info").json()
    old, trial, live = info["FlaggedOldUpper"], info["FlaggedTryOut"], info["FlaggedLivePreview"]
    assert old["search_aliases"] == ["shout", "capitals"] and old["deprecated"] is True
    assert "experimental" not in old and "api_node" not in old and old["has_intermediate_output"] is False
    assert trial["experimental"] is True and trial["api_node"] is False and "deprecated" not in trial
    assert live["has_intermediate_output"] is True and live["api_node"] is True and live["search_aliases"] == []
    for plain in ("WebRoutesEcho", "MathInt", "SaveImage", "KSampler"):  # a pack's, ours, an alias of ComfyUI's
        if plain in info:
            entry = info[plain]
            assert entry["has_intermediate_output"] is False and entry["search_aliases"] == [], plain
            assert not {"deprecated", "experimental", "dev_only", "api_node"} & set(entry), plain
    assert http.get("/api/object_info/FlaggedOldUpper").json()["FlaggedOldUpper"] == old
