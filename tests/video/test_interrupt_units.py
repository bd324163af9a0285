"""An interrupt lands within the unit of work it arrives in, in every phase of the video
workflow: the image encoder, the VAE encoder, a denoising step, a temporal-decoder chunk, an
interpolation pair. Counted in units, not seconds: each unit's model part is wrapped to log when
it starts and ends, the interrupt is raised while a chosen unit runs, and nothing may start
after it (the UNet and the decoder stop inside the unit, between their blocks)."""
from __future__ import annotations

import pytest

from nodegraph.run.context import InterruptToken
from nodegraph.run.events import CollectingSink

from .conftest import workflow

# 4 frames, 3 steps, 2 decode chunks of 2 frames, 3 interpolation pairs.
SIZE = dict(svd__frames=4, svd__steps=3, svd__decode_chunk_size=2, interpolate__factor=2)


def unit_classes():
    from diffusers import UNetSpatioTemporalConditionModel
    from diffusers.models.autoencoders.autoencoder_kl_temporal_decoder import TemporalDecoder
    from diffusers.models.autoencoders.vae import Encoder
    from transformers import CLIPVisionModelWithProjection

    from nodegraph_nodes.video.interpolate import FlowInterpolator
    return {"image encoder": (CLIPVisionModelWithProjection, "forward"), "VAE encoder": (Encoder, "forward"),
            "step": (UNetSpatioTemporalConditionModel, "forward"), "decode chunk": (TemporalDecoder, "forward"),
            "pair": (FlowInterpolator, "between")}


@pytest.fixture
def units(monkeypatch):
    """Logs ("start"|"end", phase, index) per unit; ``units.stop_at = (phase, index)`` sets the
    interrupt while that unit runs."""
    class Units(list):
        token = InterruptToken()
        stop_at: tuple[str, int] | None = None

        def started(self, phase: str) -> list[tuple]:
            return [e for e in self if e[0] == "start" and e[1] == phase]

    log = Units()
    for phase, (cls, name) in unit_classes().items():
        original = getattr(cls, name)

        def wrapped(self, *args, __original=original, __phase=phase, **kwargs):
            index = len(log.started(__phase))
            log.append(("start", __phase, index))
            if log.stop_at == (__phase, index):
                log.token.set()  # the interrupt arrives while this unit runs
            result = __original(self, *args, **kwargs)
            log.append(("end", __phase, index))
            return result
        monkeypatch.setattr(cls, name, wrapped)
    return log


def test_an_uninterrupted_run_has_the_units_the_test_counts(make_session, units):
    result = make_session().run(workflow(**SIZE), sink=CollectingSink())
    assert result.ok, result.error
    assert [len(units.started(p)) for p in unit_classes()] == [1, 1, 3, 2, 3]


@pytest.mark.parametrize("phase, index, finishes", [
    ("image encoder", 0, True), ("VAE encoder", 0, True),  # no blocks of their own: the unit ends
    ("step", 0, False), ("step", 1, False),  # the UNet stops between its blocks
    ("decode chunk", 0, False),  # ... and the decoder too
    ("pair", 1, True),
])
def test_interrupt_stops_within_the_unit_it_arrives_in(make_session, units, phase, index, finishes):
    units.stop_at = (phase, index)
    sink = CollectingSink()
    result = make_session().run(workflow(**SIZE), sink=sink, interrupt=units.token)
    assert result.status == "interrupted"
    starts = [e for e in units if e[0] == "start"]
    assert starts[-1] == ("start", phase, index)  # no unit of any phase started after it
    assert (("end", phase, index) in units) is finishes
    assert "save" not in sink.nodes("executed") and result.outputs == []
