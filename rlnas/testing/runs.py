"""Small real runs for tests of what comes after a search (report, export, predict)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["CLASSES", "tiny_image_run", "write_image_folder"]

#: Class folders of :func:`write_image_folder`: where a bright band crosses the image.
CLASSES = ("bottom", "middle", "top")


def write_image_folder(root: str | Path, *, per_class: int = 20, size: int = 8) -> Path:
    """Write an RGB ``folder:`` data set of ``size`` x ``size`` PNGs, one sub-folder per class
    of :data:`CLASSES` (a bright horizontal band at the bottom, middle or top over noise),
    deterministic; returns ``root``."""
    from PIL import Image

    root = Path(root)
    rng = np.random.default_rng(0)
    band = max(size // 3, 1)
    for label, name in enumerate(CLASSES):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        start = (len(CLASSES) - 1 - label) * (size - band) // (len(CLASSES) - 1)
        for i in range(per_class):
            pixels = rng.integers(0, 90, size=(size, size, 3))
            pixels[start : start + band] += 150
            image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")
            image.save(folder / f"{name}-{i:03d}.png")
    return root


def tiny_image_run(root: str | Path) -> Path:
    """A finished 3-model search on :func:`write_image_folder`'s images, made once under
    ``root`` (later calls reuse it): the top 2 retrained with weights in ``RUN/models``.
    Takes a few seconds on a CPU."""
    from rlnas.config import SearchConfig
    from rlnas.search import run_search

    root = Path(root)
    run = root / "run"
    if (run / "models").is_dir():  # the search finished: its final training saved weights
        return run
    data = write_image_folder(root / "bands")
    config = SearchConfig(
        dataset=f"folder:{data}", budget=3, epochs=2, final_epochs=2, top_k=2, seed=0,
        device="cpu", threads=1, run_dir=str(run),
        space_settings={"filters": [4, 8], "max_depth": 3, "fc_units": [16]},
        # no restarts: a model that is still at chance after two tiny epochs is kept
        train_settings={"batch_size": 16, "restart_margin": -1.0},
    )  # fmt: skip
    run_search(config)
    return run
