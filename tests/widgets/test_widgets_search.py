"""Jump to a pair by index or caption text; selected pairs out as a DataFrame."""
from __future__ import annotations

import pytest

from amumo_ng.widgets import Explorer
from amumo_ng.widgets.search import find_pairs
from helpers_widgets import make_embeddings


def test_find_pairs_by_index_and_by_caption_text():
    caps = ["a red circle", "a Blue square", "red star", "green"]
    assert find_pairs(caps, "2", 4) == [2] and find_pairs(caps, " #3 ", 4) == [3]
    assert find_pairs(caps, "RED", 4) == [i for i, c in enumerate(caps) if "red" in c.lower()]
    assert find_pairs(caps, "purple", 4) == []
    with pytest.raises(ValueError, match="indices run from 0 to 3"):
        find_pairs(caps, "4", 4)
    with pytest.raises(ValueError, match="type a pair index"):
        find_pairs(caps, "  ", 4)


def test_jump_to_sets_the_focus_and_refuses_pairs_out_of_view():
    emb = make_embeddings(12)
    ex = Explorer(emb)
    assert ex.jump_to(5) == 5 and ex.focus_pair == 5 and ex.focus_seq == 1
    assert ex.jump_to(5) == 5 and ex.focus_seq == 2  # the same pair again is a new jump
    assert ex.jump_to("blue square") == 1
    ex.session.filter_pattern = "red"
    with pytest.raises(ValueError, match="not in view"):
        ex.jump_to(1)
    assert ex.focus_pair == 1  # nothing changed
    with pytest.raises(ValueError, match="no caption contains"):
        ex.jump_to("purple")


def test_find_request_lists_matches_in_view_and_counts_hidden_ones():
    emb = make_embeddings(16)
    ex = Explorer(emb, filter_pattern="number 1")  # pairs 1, 10..15
    reply, buffers = ex.handle_find({"type": "find", "req": 3, "query": "red"})
    reds = [i for i, c in enumerate(emb.captions) if "red" in c]
    visible = [i for i in reds if i in set(ex.session.indices.tolist())]
    assert reply["pairs"] == visible and reply["count"] == len(reds)
    assert reply["hidden"] == len(reds) - len(visible) and buffers == []
    assert ex.focus_pair == visible[0]
