"""Fixture builders for the dataset loader tests: tiny solid-colour JPEGs written to tmp_path."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def write_jpeg(path, rgb, size=(16, 12)):
    """Write a solid-colour JPEG (``rgb`` 0-255 triple, ``size`` (w, h)) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, tuple(rgb)).save(path, format="JPEG", quality=95)
    return path


def mean_rgb(img):
    """Mean colour of a PIL image as a float array [3]."""
    return np.asarray(img, dtype=np.float64).reshape(-1, 3).mean(axis=0)


@pytest.fixture
def jpeg():
    return write_jpeg


@pytest.fixture
def rgb_of():
    return mean_rgb
