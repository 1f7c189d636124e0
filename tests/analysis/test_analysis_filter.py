"""Caption filtering: substring and regular-expression matching."""
from __future__ import annotations

import numpy as np
import pytest

from amumo_ng.analysis.filter import FilterError, filter_captions

CAPTIONS = ["A red Circle", "a blue square", None, "RED square", "green triangle", "circles: 3"]


def test_plain_pattern_is_a_case_insensitive_substring():
    result = filter_captions(CAPTIONS, "circle")
    assert result.dtype == np.int64
    assert result.tolist() == [0, 5]
    assert filter_captions(CAPTIONS, "red").tolist() == [0, 3]


def test_case_sensitive_plain_pattern():
    assert filter_captions(CAPTIONS, "RED", case_sensitive=True).tolist() == [3]


def test_plain_pattern_is_not_a_regex():
    assert filter_captions(CAPTIONS, "circles: 3").tolist() == [5]
    assert filter_captions(CAPTIONS, "c.rcle").tolist() == []


def test_regex_pattern():
    assert filter_captions(CAPTIONS, r"^(a|red) ", regex=True).tolist() == [0, 1, 3]
    assert filter_captions(CAPTIONS, r"square$", regex=True).tolist() == [1, 3]
    assert filter_captions(CAPTIONS, r"^a", regex=True, case_sensitive=True).tolist() == [1]


@pytest.mark.parametrize("pattern", ["", None])
def test_empty_pattern_keeps_everything(pattern):
    assert filter_captions(CAPTIONS, pattern).tolist() == list(range(len(CAPTIONS)))
    assert filter_captions(CAPTIONS, pattern, regex=True).tolist() == list(range(len(CAPTIONS)))


def test_no_captions():
    assert filter_captions([], "x").tolist() == []
    assert filter_captions([], "").tolist() == []


def test_invalid_regex_raises_filter_error_with_the_reason():
    with pytest.raises(FilterError, match="unterminated character set") as info:
        filter_captions(CAPTIONS, "[abc", regex=True)
    assert isinstance(info.value, ValueError)
    # the same text is fine as a plain substring
    assert filter_captions(CAPTIONS, "[abc").tolist() == []


def test_non_string_pattern_is_rejected():
    with pytest.raises(FilterError, match="string"):
        filter_captions(CAPTIONS, 3)
