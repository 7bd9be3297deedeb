"""Shared fixtures: small photo folders made offline from scikit-image's bundled photos."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BUNDLED = ("astronaut", "chelsea", "coffee", "rocket")


def bundled_photo(name: str) -> np.ndarray:
    """A real color photo shipped with scikit-image, uint8 (h, w, 3)."""
    from skimage import data

    return getattr(data, name)()[..., :3]


def make_photo_folder(folder, n: int = 12, size: int = 48, seed: int = 0) -> list[str]:
    """Write `n` color photos of about `size` px: random crops of bundled photos,
    jpg and png, landscape and portrait, in two subfolders."""
    from colornet.samples import write_crops

    return write_crops(folder, [bundled_photo(name) for name in BUNDLED], n=n, size=size, seed=seed)


@pytest.fixture
def photo_folder(tmp_path):
    """A folder (with subfolders) of 12 small real-photo crops."""
    folder = tmp_path / "photos"
    make_photo_folder(folder)
    return str(folder)


NOTEBOOKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")


def run_notebook(name: str, env: dict, timeout: int = 600):
    """Execute `notebooks/<name>` top to bottom in quick mode, with `env` set; return the notebook.

    Fails with the failing cell's error if any cell raises.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    old = {k: os.environ.get(k) for k in [*env, "COLORNET_QUICK", "MPLBACKEND"]}
    os.environ.update({"COLORNET_QUICK": "1", "MPLBACKEND": "Agg", **{k: str(v) for k, v in env.items()}})
    try:
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}}
        ).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def save_tiny_beta(path, seed: int = 0, edit=None) -> str:
    """Save the weights of a tiny Beta (width 1/8) and its .json; `edit(model)` may change
    the weights first. Returns the path."""
    import keras

    from colornet.models import build_model
    from colornet.weights import save_config

    keras.utils.set_random_seed(seed)
    model = build_model("beta", width=0.125)
    if edit is not None:
        edit(model)
    model.save_weights(str(path))
    save_config(str(path), "beta", {"width": 0.125})
    return str(path)
