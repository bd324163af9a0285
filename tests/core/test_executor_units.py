"""Error events and value descriptions, as the CLI and canvas show them."""
from __future__ import annotations

import traceback

import numpy as np
import torch

from nodegraph.errors import NodeError
from nodegraph.executor import OutputMismatch, _describe, _error_event


def test_describe_names_type_and_shape():
    assert _describe(torch.zeros(2, 3)) == "Tensor of shape (2, 3)"
    assert _describe(np.zeros(4)) == "ndarray of shape (4,)"
    assert _describe(torch.tensor(1.0)) == "Tensor of shape ()"
    assert _describe(5) == "int"
    assert _describe("text") == "str"
    assert _describe(None) == "NoneType"


def raised(exc):
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - a real traceback to describe
        return caught


def test_node_error_event_names_node_type_and_input():
    exc = raised(NodeError("file 'x.png' is not an image", input="image"))
    event = _error_event("n7", "LoadImage", exc, {"job": "j1"})
    assert event["event"] == "error" and event["node"] == "n7" and event["node_type"] == "LoadImage"
    assert event["message"] == "file 'x.png' is not an image"
    assert event["exception"] == "NodeError" and event["input"] == "image" and event["job"] == "j1"
    assert event["traceback"] == "".join(traceback.format_exception(exc))
    assert event["traceback"].startswith("Traceback (most recent call last):\n")


def test_plain_exception_event():
    event = _error_event("n1", "Math", raised(ZeroDivisionError()), {})
    assert event["message"] == "ZeroDivisionError" and event["exception"] == "ZeroDivisionError"
    assert "input" not in event and "job" not in event
    assert "input" not in _error_event("n1", "Math", raised(NodeError("bad")), {})


def test_output_mismatch_message_names_the_node():
    exc = raised(OutputMismatch("output 'image' should be IMAGE but is int"))
    event = _error_event("n3", "MyNode", exc, {})
    assert event["message"] == "node 'n3' (MyNode): output 'image' should be IMAGE but is int"
    assert event["exception"] == "OutputMismatch"
