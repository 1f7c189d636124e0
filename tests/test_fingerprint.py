"""amumo_ng.fingerprint: content digests of arrays, files and strings."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from amumo_ng.fingerprint import array_digest, file_digest, text_digest


def test_equal_content_gives_equal_array_digests():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert array_digest(x) == array_digest(x.copy())
    assert array_digest(np.asfortranarray(x)) == array_digest(x)  # layout is not content
    assert array_digest(x[:, ::2]) == array_digest(np.ascontiguousarray(x[:, ::2]))
    assert len(array_digest(x)) == 32 and len(array_digest(x, digest_size=8)) == 16


def test_array_digest_changes_with_dtype_shape_and_content():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    changed = x.copy()
    changed[2, 3] += 1e-3
    digests = {array_digest(v) for v in (x, changed, x.reshape(4, 3), x.reshape(12), x.astype(np.float64),
                                         x.view(np.int32))}
    assert len(digests) == 6
    assert array_digest(np.zeros((0, 3))) != array_digest(np.zeros((0, 4)))


def test_array_digest_is_blake2b_of_dtype_shape_and_bytes():
    x = np.array([[1.5, -2.0]], dtype="<f4")
    expected = hashlib.blake2b(b"<f4(1, 2)" + x.tobytes(), digest_size=16).hexdigest()
    assert array_digest(x) == expected


@pytest.mark.parametrize("size", [0, 5, (1 << 22) + 3])  # empty, small, more than one read chunk
def test_file_digest_is_sha256_of_the_bytes(tmp_path, size):
    data = np.random.default_rng(size).integers(0, 256, size=size, dtype=np.uint8).tobytes()
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert file_digest(path) == hashlib.sha256(data).hexdigest()
    assert file_digest(str(path), chunk=7) == hashlib.sha256(data).hexdigest()


def test_file_digest_parts_follow_the_bytes(tmp_path):
    path = tmp_path / "captions.csv"
    path.write_bytes(b"image,caption\na.png,a cat\n")
    expected = hashlib.sha256(b"image,caption\na.png,a cat\n" + b"\0/images" + b"\0caption").hexdigest()
    assert file_digest(path, "/images", "caption") == expected
    assert file_digest(path, "/images") != file_digest(path, "/other")


def test_text_digest():
    assert text_digest("héllo") == hashlib.sha256("héllo".encode("utf-8")).hexdigest()
    assert text_digest(["a", "b"]) == hashlib.sha256(b"a\nb").hexdigest()
    assert text_digest(["a", "b"], sep="|") == hashlib.sha256(b"a|b").hexdigest()
