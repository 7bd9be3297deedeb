"""Shared fixtures: small photo folders made offline from scikit-image's bundled photos."""

import os

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BUNDLED = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "hubble_deep_field")


def bundled_photo(name: str) -> np.ndarray:
    """A real color photo shipped with scikit-image, uint8 (h, w, 3)."""
    from skimage import data

    return getattr(data, name)()[..., :3]


def make_photo_folder(folder, n: int = 12, size: int = 48, seed: int = 0) -> list[str]:
    """Write `n` color photos of about `size` px: random crops of bundled photos,
    in varied formats and shapes (jpg and png, landscape and portrait)."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    photos = [bundled_photo(name) for name in BUNDLED[:4]]
    paths = []
    for i in range(n):
        photo = photos[i % len(photos)]
        h, w = size + int(rng.integers(0, size // 2)), size + int(rng.integers(0, size // 2))
        crop_scale = int(rng.integers(2, 5))
        ch, cw = min(h * crop_scale, photo.shape[0]), min(w * crop_scale, photo.shape[1])
        top = int(rng.integers(0, photo.shape[0] - ch + 1))
        left = int(rng.integers(0, photo.shape[1] - cw + 1))
        im = Image.fromarray(photo[top : top + ch, left : left + cw]).resize((w, h), Image.BILINEAR)
        sub = os.path.join(folder, f"group{i % 2}")
        os.makedirs(sub, exist_ok=True)
        path = os.path.join(sub, f"photo{i:02d}.{'jpg' if i % 3 else 'png'}")
        im.save(path)
        paths.append(path)
    return sorted(paths)


@pytest.fixture
def photo_folder(tmp_path):
    """A folder (with subfolders) of 12 small real-photo crops."""
    folder = tmp_path / "photos"
    make_photo_folder(folder)
    return str(folder)
