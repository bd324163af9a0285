"""canonicalise_safetensors_header: equal tensors and metadata give equal file bytes (safetensors
writes metadata in HashMap order), and the file still loads to the same tensors and metadata."""
from __future__ import annotations

import hashlib

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from nodegraph.files.roots import canonicalise_safetensors_header


def test_equal_content_gives_equal_bytes_and_still_loads(tmp_path):
    tensors = {"b.weight": torch.arange(6.0).reshape(2, 3), "a.bias": torch.ones(3)}
    metadata = {f"key{i}": f"value {i} é" for i in range(6)}
    digests = set()
    for i in range(6):
        path = tmp_path / f"{i}.safetensors"
        save_file(tensors, str(path), metadata=metadata)
        canonicalise_safetensors_header(path)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
        loaded = load_file(str(path))
        assert loaded.keys() == tensors.keys() and all(torch.equal(loaded[k], tensors[k]) for k in tensors)
        with safe_open(str(path), "pt") as fh:
            assert fh.metadata() == metadata
    assert len(digests) == 1  # six saves with six keys: safetensors alone wrote them in random orders
