"""Loader chatter stays off for the whole of an outer quiet block, however the loaders nest, and
the progress-bar settings found before it come back after it (whatever they were)."""
import pytest
from diffusers.utils import logging as dlog
from transformers.utils import logging as tlog

from nodegraph_nodes.sdxl.model_manager import quiet_loaders


def _set(library, enabled: bool) -> None:
    (library.enable_progress_bar if enabled else library.disable_progress_bar)()


@pytest.mark.parametrize("diffusers_on,transformers_on", [(True, True), (True, False), (False, True)])
def test_a_nested_quiet_block_leaves_the_progress_bars_off_for_the_outer_one(diffusers_on, transformers_on):
    # Other tests (and the loaders themselves) change these process-wide settings: set them here.
    found = dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled()
    _set(dlog, diffusers_on)
    _set(tlog, transformers_on)
    try:
        with quiet_loaders():
            with quiet_loaders():  # e.g. the pipeline class made while a pipeline loads
                assert not dlog.is_progress_bar_enabled()
            assert not dlog.is_progress_bar_enabled() and not tlog.is_progress_bar_enabled()  # still loading
        assert (dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled()) == (diffusers_on, transformers_on)
    finally:
        _set(dlog, found[0])
        _set(tlog, found[1])
