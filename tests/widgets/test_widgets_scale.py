"""Widget defaults at scale: pair lines on by default up to 100,000 pairs."""
import numpy as np


def test_pair_lines_default_on_up_to_100k_pairs():
    import amumo_ng
    from amumo_ng.store.embeddings import Embeddings
    from amumo_ng.widgets.scatter import LINES_DEFAULT_LIMIT, Scatter

    assert LINES_DEFAULT_LIMIT == 100_000
    rng = np.random.default_rng(0)
    for n, on in ((LINES_DEFAULT_LIMIT, True), (LINES_DEFAULT_LIMIT + 1, False)):
        x = rng.normal(size=(n, 2)).astype(np.float32)
        sc = Scatter(Embeddings.from_arrays(x + 2, x - 2, captions=["p"] * n))
        assert sc.show_lines is on
