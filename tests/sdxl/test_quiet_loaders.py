"""Loader chatter stays off for the whole of an outer quiet block, however the loaders nest."""
from diffusers.utils import logging as dlog
from transformers.utils import logging as tlog

from nodegraph_nodes.sdxl.model_manager import quiet_loaders


def test_a_nested_quiet_block_leaves_the_progress_bars_off_for_the_outer_one():
    assert dlog.is_progress_bar_enabled() and tlog.is_progress_bar_enabled()
    with quiet_loaders():
        with quiet_loaders():  # e.g. the pipeline class made while a pipeline loads
            assert not dlog.is_progress_bar_enabled()
        assert not dlog.is_progress_bar_enabled() and not tlog.is_progress_bar_enabled()  # still loading
    assert dlog.is_progress_bar_enabled() and tlog.is_progress_bar_enabled()  # the user's settings back
