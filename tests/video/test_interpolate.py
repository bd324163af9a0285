"""Interpolate on a clip whose true in-between frames are known: a smooth texture translating at
a constant sub-pixel velocity, rendered analytically at every time."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nodegraph_nodes.video.interpolate import interpolate_frames

H, W = 96, 128
VELOCITY = (4.6, 2.3)  # pixels per input frame (x, y): not whole, and far enough for blend to ghost


def texture(t: float) -> np.ndarray:
    """An RGB frame at time t (in input frames): a sum of sinusoids shifted by VELOCITY * t."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    x, y = x - VELOCITY[0] * t, y - VELOCITY[1] * t
    channels = []
    for c in range(3):
        value = 0.5
        for k, (fx, fy, phase) in enumerate(((0.09, 0.03, 0.0), (0.05, -0.11, 1.0), (-0.13, 0.07, 2.0))):
            value += 0.15 * math.cos(c + k) * np.sin(2 * math.pi * (fx * x + fy * y) / (1 + 0.3 * c) + phase + c)
        channels.append(value)
    return np.clip(np.stack(channels, -1), 0, 1).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * math.log10(1.0 / max(float(np.mean((a.astype(np.float64) - b) ** 2)), 1e-12))


@pytest.fixture(scope="module")
def clip():
    return torch.from_numpy(np.stack([texture(t) for t in range(4)]))


@pytest.mark.parametrize("factor", [2, 4])
def test_flow_reaches_30db_on_true_middle_frames_and_beats_blend_by_6db(clip, factor):
    results = {}
    for method in ("flow", "blend"):
        out = interpolate_frames(clip, factor, method).numpy()
        assert out.shape[0] == clip.shape[0] * factor - (factor - 1)
        scores = [psnr(out[i], texture(i / factor)) for i in range(out.shape[0]) if i % factor]
        assert all(psnr(out[i], texture(i / factor)) > 60 for i in range(0, out.shape[0], factor))  # originals kept
        results[method] = min(scores)
    assert results["flow"] >= 30.0, results
    assert results["flow"] >= results["blend"] + 6.0, results


def test_occluded_side_is_taken_from_the_frame_that_sees_it():
    """A bar moves right over a static background: the background it uncovers exists only in the
    next frame, the background it covers only in the previous one. Flow with visibility keeps
    the background clean; blend leaves a half-transparent ghost of the bar."""
    background = texture(0.0) * 0.5
    frames = []
    for x0 in (20, 36):
        f = background.copy()
        f[30:70, x0:x0 + 16] = (0.95, 0.9, 0.1)
        frames.append(f)
    truth = background.copy()
    truth[30:70, 28:44] = (0.95, 0.9, 0.1)
    flow = interpolate_frames(torch.from_numpy(np.stack(frames)), 2, "flow").numpy()[1]
    blend = interpolate_frames(torch.from_numpy(np.stack(frames)), 2, "blend").numpy()[1]
    assert psnr(flow, truth) >= psnr(blend, truth) + 3.0
