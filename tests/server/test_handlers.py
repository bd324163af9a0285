"""The message handlers without a socket: request dict in, replies and effects out."""
from __future__ import annotations

import json

import pytest

from nodegraph.api.errors import Problem, WorkflowInvalid
from nodegraph.server import handlers, protocol
from nodegraph.server.handlers import Connection, Services
from nodegraph.server.jobs import JobStore
from nodegraph.server.protocol import ProtocolError
from serverkit import add_show


@pytest.fixture
def store(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    yield store
    store.close()


@pytest.fixture
def services(store):
    interrupted: list = []

    def validate(workflow):
        if "bad" in workflow.get("nodes", {}):
            raise WorkflowInvalid([Problem("unknown_type", "unknown node type 'Nope'", node="bad")])

    def interrupt(job_id):
        running = store.running_id()
        if running is None or job_id not in (None, running):
            return None
        interrupted.append(running)
        return running

    s = Services(store=store, catalogue={"nodes": [], "types": ["INT"], "file_kinds": [{"name": "image"}]},
                 file_extensions={"image": (".png",)},
                 validate=validate, list_files=lambda kind, ext: [f"{kind}{e}" for e in ext] + [".hidden.png"],
                 interrupt=interrupt, instance="inst", server="nodegraph test", token="t0k",
                 limits={"max_message": 10, "max_text": 5}, clock=lambda: 42.0)
    s.interrupted = interrupted
    return s


def request(services, conn, msg):
    return handlers.handle(services, conn, protocol.parse(json.dumps(msg), handlers.file_kinds(services)))


def test_the_table_covers_exactly_the_protocol():
    assert set(handlers.TABLE) == set(protocol.SCHEMAS)
    assert handlers.TABLE["queue"].prepare is handlers.check_workflow  # validation runs off the loop
    assert handlers.TABLE["files"].prepare is handlers.list_files


@pytest.mark.parametrize("msg", [{"type": "launch"}, {"type": "__init__"}, {"type": "_msg_hello"}, {"type": 3},
                                 {"id": 9}])
def test_dispatch_rejects_unknown_types_cleanly(services, msg):
    with pytest.raises(ProtocolError) as info:
        handlers.handle(services, Connection(), msg)
    assert info.value.code == "unknown_type" and info.value.id == msg.get("id")
    assert "hello" in info.value.message


def test_hello_ping_catalogue(services):
    conn = Connection()
    (hello,) = request(services, conn, {"type": "hello", "id": 1}).replies
    assert hello == {"type": "hello", "id": 1, "version": protocol.VERSION, "session": "inst",
                     "server": "nodegraph test", "token_required": True,
                     "limits": {"max_message": 10, "max_text": 5}, "running": None, "pending": 0}
    assert request(services, conn, {"type": "ping"}).replies == [{"type": "pong", "time": 42.0}]
    assert request(services, conn, {"type": "catalogue", "id": "c"}).replies == [
        {"type": "catalogue", "id": "c", **services.catalogue}]


def test_queue_subscribes_the_connection_and_asks_for_effects(services, store):
    conn = Connection()
    outcome = request(services, conn, {"type": "queue", "id": "q", "workflow": add_show(1, 2), "client_ref": "me"})
    (queued,) = outcome.replies
    assert queued["type"] == "queued" and queued["position"] == 1 and queued["client_ref"] == "me"
    assert conn.wants(queued["job"]) and not Connection().wants(queued["job"])
    assert outcome.wake_worker and outcome.status_changed
    assert store.pending_ids() == [queued["job"]]
    second = request(services, conn, {"type": "queue", "workflow": add_show(3, 4)}).replies[0]
    assert second["position"] == 2 and "client_ref" not in second
    assert handlers.status_message(services) == {"type": "status", "running": None, "pending": 2,
                                                 "queue": [queued["job"], second["job"]]}


def test_an_invalid_workflow_is_refused_with_its_problems_and_not_queued(services, store):
    with pytest.raises(ProtocolError) as info:
        request(services, Connection(), {"type": "queue", "id": 5, "workflow": {"nodes": {"bad": {}}}})
    message = info.value.to_message()
    assert message["code"] == "invalid_workflow" and message["id"] == 5
    assert message["problems"] == [{"code": "unknown_type", "message": "unknown node type 'Nope'", "node": "bad"}]
    assert store.pending_ids() == []


def test_cancel_interrupt_and_their_errors(services, store):
    conn = Connection()
    first = request(services, conn, {"type": "queue", "workflow": add_show(1, 1)}).replies[0]["job"]
    second = request(services, conn, {"type": "queue", "workflow": add_show(2, 2)}).replies[0]["job"]
    store.claim_next()  # the worker took the first one
    with pytest.raises(ProtocolError) as info:
        request(services, conn, {"type": "cancel", "job": first})
    assert info.value.code == "not_pending" and "interrupt" in info.value.message
    with pytest.raises(ProtocolError) as info:
        request(services, conn, {"type": "interrupt", "job": second})
    assert info.value.code == "not_running" and "cancel" in info.value.message
    for kind in ("cancel", "interrupt", "job"):
        with pytest.raises(ProtocolError) as info:
            request(services, conn, {"type": kind, "job": "ghost"})
        assert info.value.code == "not_found"
    cancelled = request(services, conn, {"type": "cancel", "job": second})
    assert cancelled.replies == [{"type": "cancelled", "job": second}] and cancelled.status_changed
    assert request(services, conn, {"type": "interrupt"}).replies == [{"type": "interrupting", "job": first}]
    assert services.interrupted == [first]
    assert request(services, conn, {"type": "queue_state"}).replies == [
        {"type": "queue_state", "running": first, "pending": []}]


def test_history_and_job_carry_the_token_in_urls(services, store):
    record = store.add(add_show(1, 1))
    store.claim_next()
    store.finish(record.id, "success", {"outputs": ["a.png"], "urls": ["/output/a.png"]})
    (history,) = request(services, Connection(), {"type": "history", "limit": 5}).replies
    assert history["jobs"][0]["urls"] == ["/output/a.png?token=t0k"] and history["jobs"][0]["seq"] == record.seq
    (job,) = request(services, Connection(), {"type": "job", "job": record.id}).replies
    assert job["workflow"] == add_show(1, 1) and job["status"] == "success"
    before = request(services, Connection(), {"type": "history", "before": record.seq}).replies[0]
    assert before["jobs"] == []


def test_files_lists_the_prepared_names_without_hidden_ones(services):
    (reply,) = request(services, Connection(), {"type": "files", "kind": "image"}).replies
    assert reply == {"type": "files", "kind": "image", "files": ["image.png"], "truncated": False}


def test_subscriptions(services):
    conn = Connection()
    assert request(services, conn, {"type": "subscribe", "job": "j1"}).replies == [{"type": "subscribed", "job": "j1"}]
    assert conn.wants("j1") and not conn.wants("j2")
    request(services, conn, {"type": "subscribe", "job": "all"})
    assert conn.wants("j2")
    request(services, conn, {"type": "unsubscribe", "job": "all"})
    request(services, conn, {"type": "unsubscribe", "job": "j1"})
    assert not conn.wants("j1") and not conn.wants("j2")


def test_upload_then_bytes_and_the_ways_it_goes_wrong(services):
    conn = Connection()
    assert request(services, conn, {"type": "upload", "id": "u", "name": "../My Cat.PNG"}).replies == []
    pending = handlers.take_upload(conn, b"\x89PNG\r\n\x1a\nrest")
    assert pending["name"] == "My_Cat.png" and conn.upload is None
    assert handlers.uploaded(pending, "My_Cat-1.png", 12) == {"type": "uploaded", "id": "u", "name": "My_Cat-1.png",
                                                             "kind": "image", "size": 12}
    with pytest.raises(ProtocolError) as info:  # bytes with no upload before them
        handlers.take_upload(conn, b"\x89PNG\r\n\x1a\n")
    assert info.value.code == "bad_upload"
    request(services, conn, {"type": "upload", "id": "v", "name": "x.png"})
    with pytest.raises(ProtocolError) as info:  # not a PNG
        handlers.take_upload(conn, b"GIF89a")
    assert info.value.code == "bad_upload" and info.value.id == "v"
    request(services, conn, {"type": "upload", "id": "w", "name": "x.png"})
    assert handlers.drop_upload(conn)[0] == {"type": "error", "code": "bad_upload", "id": "w",
                                             "message": "expected the upload's binary frame; upload dropped"}
    assert handlers.drop_upload(conn) == []
    with pytest.raises(ProtocolError) as info:
        request(services, conn, {"type": "upload", "id": "z", "name": "x.exe"})
    assert info.value.code == "bad_upload" and info.value.id == "z"


def test_read_text_limits_size():
    assert handlers.read_text('{"type":"ping"}', 100) == {"type": "ping"}
    with pytest.raises(ProtocolError) as info:
        handlers.read_text('{"type":"ping","pad":"' + "x" * 100 + '"}', 100)
    assert info.value.code == "too_large"


HOSTILE = {
    "5000-digit integer": '{"type": "ping", "n": 1' + "0" * 5000 + "}",
    "NaN": '{"type": "ping", "n": NaN}',
    "Infinity": '{"type": "ping", "n": Infinity}',
    "-Infinity": '{"type": "ping", "n": -Infinity}',
    "overflowing float": '{"type": "ping", "n": 1e999}',
    "100,000 levels deep": "[" * 100_000 + "]" * 100_000,
    "100,000 objects deep": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "65 levels deep": '{"type": "ping", "n": ' + "[" * 65 + "]" * 65 + "}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_json_is_bad_json(name):
    with pytest.raises(ProtocolError) as info:
        protocol.parse(HOSTILE[name])
    assert info.value.code == "bad_json" and info.value.message.startswith("not valid JSON")


def test_numbers_and_nesting_within_limits_are_accepted():
    msg = protocol.parse('{"type": "ping", "n": ' + "9" * 4000 + ', "f": 1.5e300, "deep": '
                         + "[" * 60 + "]" * 60 + "}")
    assert msg["n"] == int("9" * 4000) and msg["f"] == 1.5e300
    with pytest.raises(ProtocolError) as info:
        protocol.parse('{"type": "history", "before": ' + "9" * 30 + "}")
    assert info.value.code == "bad_message"
