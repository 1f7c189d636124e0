"""PNG export of the views (issue 14, item 6), checked against independent computations.

The heatmap's pixels against the colour of each cell's exact cosine similarity (a double loop in
float64); the scatter's coloured pixels against discs around the points' projected positions
(computed here from the widget's positions); plotly figures either a valid PNG or the message
naming the alternatives; bad paths raise and leave no file behind.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from amumo_ng.widgets.colormap import viridis_lut
from amumo_ng.widgets.explorer import Explorer
from amumo_ng.widgets.export_png import ExportError
from amumo_ng.widgets.heatmap import SimilarityHeatmap
from amumo_ng.widgets.scatter import Scatter

from helpers_widgets import brute_stacked, make_embeddings, unit

IMAGE_RGB = np.array([0x1F, 0x77, 0xB4], float)  # the browser's image / text colours
TEXT_RGB = np.array([0xFF, 0x7F, 0x0E], float)


def read_rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def expected_colors(values: np.ndarray, vmin: float, vmax: float, lut=None) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) LUT colours (viridis by default) of each value: equal except where the value
    lies within 1e-3 of a rounding boundary between two colour indices (float32 vs float64 may
    round either way)."""
    lut = (viridis_lut() if lut is None else lut).astype(int)
    t = np.clip((values - vmin) * 255.0 / (vmax - vmin), 0, 255)
    nearest = np.clip(np.rint(t), 0, 255).astype(int)
    borderline = np.abs(t - np.floor(t) - 0.5) < 1e-3
    lo = np.where(borderline, np.floor(t), nearest).astype(int)
    hi = np.where(borderline, np.ceil(t), nearest).astype(int)
    return lut[lo], lut[np.clip(hi, 0, 255)]


def assert_cells(image: np.ndarray, values: np.ndarray, vmin: float, vmax: float, scale: int = 1) -> None:
    lo, hi = expected_colors(values, vmin, vmax)
    rows, cols = values.shape
    cells = image[: rows * scale: scale, : cols * scale: scale].astype(int)
    assert np.all((cells == lo).all(-1) | (cells == hi).all(-1))
    assert (cells == lo).all(-1).mean() > 0.95  # borderline cells are rare


# -- heatmap ------------------------------------------------------------------------------------
def test_heatmap_png_pixel_is_the_colour_of_the_exact_cell_value(tmp_path):
    emb = make_embeddings(n=7, d=6, seed=3)
    heat = SimilarityHeatmap(emb)
    path = heat.save_png(tmp_path / "heat.png", legend=False)
    image = read_rgb(path)
    truth = brute_stacked(emb.image, emb.text)  # 14 x 14, unclustered: rows in pair order
    assert image.shape == (14, 14, 3)  # one pixel per pair-cell
    assert_cells(image, truth, truth.min(), truth.max())


def test_heatmap_png_of_a_filtered_view_follows_its_order_and_scale(tmp_path):
    emb = make_embeddings(n=24, d=6, seed=1)
    heat = SimilarityHeatmap(emb)
    heat.session.filter_pattern = "red"  # pairs 0, 3, 4, 7, ... ("red circle", "red star")
    order = np.asarray(heat.session.order)
    assert 0 < order.size < 24
    image = read_rgb(heat.save_png(tmp_path / "red.png", scale=3, legend=True))
    truth = brute_stacked(emb.image[order], emb.text[order])
    k2 = 2 * order.size
    assert image.shape[0] > 3 * k2 and image.shape[1] >= 3 * k2  # the legend lies under the cells
    for dr in range(3):  # every pixel of a 3x3 block is its cell's colour
        for dc in range(3):
            assert_cells(image[dr:, dc:], truth, truth.min(), truth.max(), scale=3)


def test_heatmap_png_region_on_a_fixed_scale(tmp_path):
    emb = make_embeddings(n=10, d=5, seed=2)
    heat = SimilarityHeatmap(emb, grid=8)  # the view itself is block means (20 rows > 8 cells)
    heat.color_scale = "fixed"
    image = read_rgb(heat.save_png(tmp_path / "it.png", region=(0, 10, 10, 20), grid=16, legend=False))
    truth = brute_stacked(emb.image, emb.text)[:10, 10:]  # image rows x text cols, exact
    assert image.shape == (10, 10, 3)
    assert_cells(image, truth, -1.0, 1.0)


def test_heatmap_png_full_resolution_of_a_block_mean_view(tmp_path):
    emb = make_embeddings(n=30, d=6, seed=5)
    heat = SimilarityHeatmap(emb, grid=16)  # 60 rows shown as 16 x 16 block means
    assert heat.heat_rows == 16 and not heat.heat_exact
    assert read_rgb(heat.save_png(tmp_path / "shown.png", legend=False)).shape == (16, 16, 3)
    image = read_rgb(heat.save_png(tmp_path / "full.png", grid="full", legend=False))
    truth = brute_stacked(emb.image, emb.text)
    assert image.shape == (60, 60, 3)
    lo, hi = min(heat.vmin, truth.min()), max(heat.vmax, truth.max())  # a zoom's range: widened to its values
    assert_cells(image, truth, lo, hi)
    with pytest.raises(ExportError, match="grid"):
        heat.save_png(tmp_path / "bad.png", grid="half")


def test_heatmap_png_in_difference_mode_uses_the_diverging_map(tmp_path):
    from amumo_ng.widgets.colormap import diverging_lut

    emb = make_embeddings(n=9, d=6, seed=4)
    heat = SimilarityHeatmap(emb, heat_mode="difference")
    image = read_rgb(heat.save_png(tmp_path / "diff.png", legend=False))
    ui, ut = unit(emb.image), unit(emb.text)
    truth = np.array([[ui[r] @ ui[c] - ut[r] @ ut[c] for c in range(9)] for r in range(9)])
    m = np.abs(truth).max()  # a range symmetric about 0: white is D = 0
    lo, hi = expected_colors(truth, -m, m, diverging_lut())
    assert image.shape == (9, 9, 3)
    assert np.all((image == lo).all(-1) | (image == hi).all(-1))
    centre = [diverging_lut()[i].tolist() for i in (127, 128)]  # D = 0 is index 127.5: the centre colours
    assert all(image[i, i].tolist() in centre for i in range(9))


def test_heatmap_png_of_an_empty_view_says_so(tmp_path):
    heat = SimilarityHeatmap(make_embeddings(n=6))
    heat.session.filter_pattern = "no such caption"
    with pytest.raises(ExportError, match="no pairs"):
        heat.save_png(tmp_path / "empty.png")
    assert not list(tmp_path.iterdir())


# -- scatter ------------------------------------------------------------------------------------
def positions(xy: np.ndarray, size: int) -> np.ndarray:
    """Canvas positions (px from the left, px from the top) of points in [-1, 1]^2 (y up), float64."""
    xy = np.asarray(xy, dtype=np.float64)
    return np.stack([(xy[:, 0] + 1) / 2 * size, (1 - xy[:, 1]) / 2 * size], 1)


def pixels_of(pos: np.ndarray, size: int) -> np.ndarray:
    """The (col, row) pixel holding each position."""
    return np.clip(np.floor(pos), 0, size - 1).astype(int)


def blended(rgb, opacity=0.85) -> np.ndarray:
    return np.rint(opacity * np.asarray(rgb, float) + (1 - opacity) * 255).astype(int)


def disc_mask(pos: np.ndarray, size: int, radius: float) -> np.ndarray:
    """Brute force: True where a pixel's centre lies within ``radius`` px of a point's position,
    or the pixel holds the point."""
    rows, cols = np.mgrid[0:size, 0:size]
    mask = np.zeros((size, size), bool)
    for (x, y), (c, r) in zip(pos, pixels_of(pos, size)):
        mask |= (cols + 0.5 - x) ** 2 + (rows + 0.5 - y) ** 2 <= radius ** 2
        if 0 <= x < size and 0 <= y < size:  # off the canvas (out of view, not clamped): not drawn
            mask[r, c] = True
    return mask


def isolated(pix: np.ndarray, reach: int) -> np.ndarray:
    """Points whose pixel is farther than ``reach`` px (either axis) from every other point's."""
    d = np.abs(pix[:, None, :] - pix[None, :, :]).max(-1)
    np.fill_diagonal(d, 10 ** 6)
    return d.min(1) > reach


def test_scatter_png_colours_exactly_the_discs_around_the_projected_points(tmp_path):
    emb = make_embeddings(n=30, d=8, seed=4)
    sc = Scatter(emb, view_size=200)
    image = read_rgb(sc.save_png(tmp_path / "sc.png", legend=False, lines=False))
    assert image.shape == (200, 200, 3)
    xy = np.frombuffer(sc.points, np.float32).reshape(-1, 2)
    pos = positions(xy, 200)
    pix = pixels_of(pos, 200)
    coloured = (image != 255).any(-1)
    assert np.array_equal(coloured, disc_mask(pos, 200, 2.0))  # 60 points are drawn 4 px wide
    alone = isolated(pix, 4)
    assert alone.sum() >= 5
    for p in np.flatnonzero(alone):
        c, r = pix[p]
        want = blended(IMAGE_RGB if p < 30 else TEXT_RGB)
        assert image[r, c].tolist() == want.tolist(), p


def test_scatter_png_scale_and_pair_lines(tmp_path):
    emb = make_embeddings(n=12, d=8, seed=5)
    sc = Scatter(emb, view_size=100)
    image = read_rgb(sc.save_png(tmp_path / "lines.png", scale=2, legend=False, lines=True))
    assert image.shape == (200, 200, 3)
    xy = np.frombuffer(sc.points, np.float32).reshape(-1, 2)
    pos = positions(xy, 200)
    pix = pixels_of(pos, 200)
    points = disc_mask(pos, 200, 4.0)  # 4 px dots at scale 2
    grey = np.rint(0.35 * 0.5 * 255 + 0.65 * 255)  # the browser's line: 50 % grey at 0.35 over white
    checked = 0
    for i in range(12):
        a, b = pos[i], pos[12 + i]
        if np.abs(a - b).max() < 12:
            continue
        c, r = np.floor((a + b) / 2).astype(int)
        if points[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2].any():
            continue
        near = image[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2].reshape(-1, 3)
        assert (near == grey).all(-1).any(), i  # the segment passes by its midpoint
        checked += 1
    assert checked >= 3
    assert not (image[~disc_mask(pos, 200, 4.0)] == blended(IMAGE_RGB)).all(-1).any()


def test_scatter_png_lines_coloured_by_pair_cosine(tmp_path):
    emb = make_embeddings(n=12, d=8, seed=8)
    sc = Scatter(emb, view_size=200)
    sc.line_color = "cosine"
    image = read_rgb(sc.save_png(tmp_path / "cos.png", legend=False, lines=True))
    cos = (unit(emb.image) * unit(emb.text)).sum(1)  # numpy cosines; fewer than 100 pairs: min..max
    codes = np.clip(np.floor((cos - cos.min()) * 255 / (cos.max() - cos.min()) + 0.5), 0, 255).astype(int)
    lut = np.frombuffer(sc.line_colormap, np.uint8).reshape(256, 3).astype(float)
    xy = np.frombuffer(sc.points, np.float32).reshape(-1, 2)
    pos = positions(xy, 200)
    pix = pixels_of(pos, 200)
    points = disc_mask(pos, 200, 2.0)
    checked = 0
    for i in range(12):
        a, b = pos[i], pos[12 + i]
        c, r = np.floor((a + b) / 2).astype(int)
        if np.abs(a - b).max() < 12 or points[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2].any():
            continue
        near = image[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2].reshape(-1, 3)
        assert (near == blended(lut[codes[i]], 0.8)).all(-1).any(), i  # the map colour at 0.8 over white
        checked += 1
    assert checked >= 3


def test_explorer_png_fades_pairs_out_of_view_and_colours_numeric_values(tmp_path):
    emb = make_embeddings(n=40, d=8, seed=6)
    ex = Explorer(emb, view_size=480, filter_pattern="number 1")  # pairs 1, 10..19: every cluster
    ex.color_by = "pair-cosine"
    ex.show_lines = False  # each point ends its pair's line: without them it lies over white
    paths = ex.save_png(tmp_path / "ex.png", legend=False)
    assert sorted(paths) == ["heatmap", "scatter"]
    assert paths["scatter"].name == "ex-scatter.png" and paths["heatmap"].name == "ex-heatmap.png"
    image = read_rgb(paths["scatter"])
    xy = np.frombuffer(ex.points, np.float32).reshape(-1, 2)
    pos = positions(xy, 480)
    pix = pixels_of(pos, 480)
    codes = np.frombuffer(ex.point_colors, np.uint8)
    lut = np.frombuffer(ex.colormap, np.uint8).reshape(256, 3).astype(float)
    in_view = np.zeros(40, bool)
    in_view[np.asarray(ex.session.order)] = True
    in_view = np.concatenate([in_view, in_view])
    on_canvas = ((pos >= 2) & (pos < 478)).all(1)  # faded pairs may lie outside the box fitted to the view
    alone = isolated(pix, 4) & on_canvas
    seen = {True: 0, False: 0}
    for p in np.flatnonzero(alone):
        c, r = pix[p]
        rgb = lut[codes[p]]
        if not in_view[p]:
            rgb = np.rint(255 - 0.22 * (255 - rgb))  # faded: 22 % of its colour over white
        assert image[r, c].tolist() == blended(rgb).tolist(), p
        seen[bool(in_view[p])] += 1
    assert seen[True] >= 3 and seen[False] >= 3


def test_scatter_png_leaves_out_pairs_out_of_view_when_reprojected(tmp_path):
    emb = make_embeddings(n=40, d=8, seed=7)
    ex = Explorer(emb, view_size=200, filter_pattern="green", projection_scope="view")
    ex.show_lines = False
    xy = np.frombuffer(ex.points, np.float32).reshape(-1, 2)
    pos = positions(xy, 200)
    pix = pixels_of(pos, 200)
    in_view = np.zeros(40, bool)
    in_view[np.asarray(ex.session.order)] = True
    shown = np.concatenate([in_view, in_view])
    image = read_rgb(ex.save_png(tmp_path / "v.png", views="scatter", legend=False)["scatter"])
    assert np.array_equal((image != 255).any(-1), disc_mask(pos[shown], 200, 2.0))


def test_comparison_png_names_both_sides(tmp_path):
    from amumo_ng.widgets.comparison import Comparison

    a, b = make_embeddings(n=10, seed=1), make_embeddings(n=10, seed=2)
    cmp = Comparison({"a": a, "b": b})
    paths = cmp.save_png(tmp_path / "cmp.png", views="heatmap")
    assert sorted(p.name for p in paths.values()) == ["cmp-left-heatmap.png", "cmp-right-heatmap.png"]
    for side, emb in (("left", a), ("right", b)):
        truth = brute_stacked(emb.image, emb.text)
        image = read_rgb(paths[f"{side}-heatmap"])
        assert_cells(image, truth, cmp.left.vmin, cmp.left.vmax)  # one shared (locked) scale


# -- bad paths ----------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["missing-folder", "is-a-folder", "under-a-file", "not-png"])
def test_unwritable_paths_raise_and_write_nothing(tmp_path, where):
    heat = SimilarityHeatmap(make_embeddings(n=5))
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.png").mkdir()
    target = {"missing-folder": tmp_path / "no" / "such" / "h.png", "is-a-folder": tmp_path / "adir.png",
              "under-a-file": tmp_path / "afile" / "h.png", "not-png": tmp_path / "h.jpg"}[where]
    message = {"missing-folder": "does not exist", "is-a-folder": "is a folder",
               "under-a-file": "not a folder", "not-png": r"\.png"}[where]
    with pytest.raises(ExportError, match=message):
        heat.save_png(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.png", "afile"]
    assert not any((tmp_path / "adir.png").iterdir())


def test_a_failing_write_leaves_no_partial_file(tmp_path, monkeypatch):
    heat = SimilarityHeatmap(make_embeddings(n=5))
    target = tmp_path / "h.png"
    original = Image.Image.save

    def half_then_fail(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG\r\n\x1a\n partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", half_then_fail)
    with pytest.raises(ExportError, match="disk full"):
        heat.save_png(target)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(Image.Image, "save", original)
    target.write_bytes(b"old")  # an existing file is replaced whole, never truncated in place
    monkeypatch.setattr(Image.Image, "save", half_then_fail)
    with pytest.raises(ExportError):
        heat.save_png(target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["h.png"]


def test_explorer_checks_every_path_before_writing_any(tmp_path):
    ex = Explorer(make_embeddings(n=8))
    (tmp_path / "ex-scatter.png").mkdir()  # the second file cannot be written
    with pytest.raises(ExportError, match="is a folder"):
        ex.save_png(tmp_path / "ex.png")
    assert not (tmp_path / "ex-heatmap.png").exists()
    with pytest.raises(ExportError, match="unknown view"):
        ex.save_png(tmp_path / "ex.png", views=("heatmap", "lasso"))
    with pytest.raises(ExportError, match="scale"):
        ex.save_png(tmp_path / "other.png", scale=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex-scatter.png"]


# -- plotly figures ------------------------------------------------------------------------------
def test_plotly_figure_png_is_valid_or_says_what_to_install(tmp_path):
    import plotly.graph_objects as go

    from amumo_ng.widgets.export_figure import save_figure_png

    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[2, 0, 1]))
    target = tmp_path / "fig.png"
    try:
        path = save_figure_png(fig, target, width=320, height=200, scale=1)
    except ExportError as exc:  # no kaleido or no browser here: the message names the way out
        assert "kaleido" in str(exc) and "write_html" in str(exc)
        assert not target.exists()
        return
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (320, 200)
        rgb = np.asarray(im.convert("RGB"))
    assert (rgb != 255).any()  # something is drawn


def test_plotly_export_without_kaleido_names_the_alternatives(tmp_path, monkeypatch):
    import plotly.graph_objects as go
    import plotly.io as pio

    from amumo_ng.widgets.export_figure import save_figure_png

    def no_kaleido(*args, **kwargs):
        raise RuntimeError("Image export using the \"kaleido\" engine requires the Kaleido package")

    monkeypatch.setattr(pio, "to_image", no_kaleido)
    with pytest.raises(ExportError, match="pip install kaleido") as err:
        save_figure_png(go.Figure(), tmp_path / "f.png")
    assert "write_html" in str(err.value) and "BROWSER_PATH" in str(err.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="plotly figure"):
        save_figure_png(object(), tmp_path / "f.png")


def test_geometry_panel_saves_named_figures(tmp_path):
    from amumo_ng.widgets.geometry_panel import GeometryPanel

    panel = GeometryPanel(Explorer(make_embeddings(n=30, d=6)), max_points=100)
    with pytest.raises(ExportError, match="unknown figure"):
        panel.save_png(tmp_path / "geo.png", figures=["nope"])
    try:
        paths = panel.save_png(tmp_path / "geo.png", figures=["norms"], width=500, height=300)
    except ExportError as exc:
        assert "kaleido" in str(exc) and not list(tmp_path.iterdir())
        return
    assert list(paths) == ["norms"] and paths["norms"].name == "geo-norms.png"
    with Image.open(paths["norms"]) as im:
        assert im.format == "PNG" and im.size == (500, 300)
