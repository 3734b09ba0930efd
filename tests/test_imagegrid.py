"""Image grids (bench/imagegrid.py): lossless PNG round trip, layout, and their rows in the run tables."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from bench import imagegrid
from bench.results import IMAGES_SCHEMA, merge_parts, read_table, write_trial_part


def test_to_uint8_maps_minus_one_to_zero_and_one_to_255_and_clips():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0, -7.0]).view(5, 1, 1, 1)
    assert imagegrid.to_uint8(x).flatten().tolist() == [0, 128, 255, 255, 0]  # (0 + 1)·127.5 = 127.5 rounds to 128


@pytest.mark.parametrize("channels", [1, 3])
def test_grid_round_trip_is_lossless_and_laid_out_eight_a_row(channels):
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (10, channels, 5, 7), generator=g, dtype=torch.uint8)
    grid = imagegrid.decode(imagegrid.encode(imgs, per_row=8))
    # 8 images a row, 2 rows; 2-pixel padding around every image: H = 2·(5 + 2) + 2, W = 8·(7 + 2) + 2
    assert grid.shape == (2 * 7 + 2, 8 * 9 + 2, 3) and grid.dtype == np.uint8
    for i in range(10):
        r, c = divmod(i, 8)
        tile = grid[2 + r * 7: 2 + r * 7 + 5, 2 + c * 9: 2 + c * 9 + 7]  # (5, 7, 3)
        want = imgs[i].permute(1, 2, 0).numpy()
        assert np.array_equal(tile, np.broadcast_to(want, tile.shape))  # grey images are repeated over RGB
    assert (grid[0] == 255).all()  # white padding


def test_encode_refuses_float_images():
    with pytest.raises(ValueError, match="uint8"):
        imagegrid.encode(torch.zeros(2, 1, 4, 4))


def test_image_rows_merge_per_trial(tmp_path):
    from test_results import trial_row

    png = imagegrid.encode(torch.zeros(4, 1, 3, 3, dtype=torch.uint8))
    row = {"trial_id": "a", "dataset": "d", "method": "gan", "seed": 0, "step": 5, "kind": "generated",
           "component": None, "n_images": 4, "png": png}
    write_trial_part(tmp_path, trial_row("a"), [], [], [row, {**row, "kind": "real"}])
    write_trial_part(tmp_path, trial_row("b"), [], [])  # a trial with no images (2-D)
    assert merge_parts(tmp_path)["images"] == 2
    back = read_table(tmp_path, "images")
    assert list(back.columns) == IMAGES_SCHEMA.names and back["png"].iloc[0] == png
    assert pq.read_table(tmp_path / "images.parquet").schema.equals(IMAGES_SCHEMA)
