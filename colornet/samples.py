"""Sample photos for a first run: `data/Test` filled offline from the installed dependencies.

The repository ships no third-party photos. When `python -m colornet colorize`
runs without inputs and `data/Test` has no images, it is filled with six real
photos that come with scikit-image and matplotlib, desaturated, so that there is
something to colorize (and compare with the original colors) without a download.

>>> fill_samples()          # data/Test/astronaut.jpg, ..., data/Test/README.md
"""

import re
from pathlib import Path

import numpy as np
from PIL import Image

from colornet.images import find_images

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "Test"


def _skimage(name):
    from skimage import data

    return lambda: getattr(data, name)()


def _motorcycle():
    from skimage import data

    return data.stereo_motorcycle()[0]  # the left image of the stereo pair


def _grace_hopper():
    from matplotlib import cbook

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        return np.asarray(im.convert("RGB"))


HELD_OUT = ("motorcycle", "grace_hopper")  # never cut into training crops: photos left unseen

# file stem -> (loader returning uint8 RGB, credit line for the README)
SAMPLES = {
    "astronaut": (_skimage("astronaut"), "Eileen Collins, NASA; public domain (scikit-image)"),
    "chelsea": (_skimage("chelsea"), "Chelsea the cat, Stefan van der Walt; CC0 (scikit-image)"),
    "coffee": (_skimage("coffee"), "coffee cup, Rachel Michetti; CC0 (scikit-image)"),
    "rocket": (_skimage("rocket"), "DSCOVR launch on Falcon 9, SpaceX; public domain (scikit-image)"),
    "motorcycle": (_motorcycle, "motorcycle, Middlebury 2014 stereo benchmark (scikit-image)"),
    "grace_hopper": (_grace_hopper, "Grace Hopper, U.S. Navy; public domain (matplotlib)"),
}

README = """# Test photos

Drop your own photos here (jpg, png, bmp or gif; subfolders are fine), then run

    python -m colornet colorize

and find the color versions in `results/`. Color photos are desaturated before
they are colorized; black-and-white photos are used as they are.

When this folder has no photos, that command fills it with these desaturated
sample photos, which come with the installed scikit-image and matplotlib:

{credits}

Everything here except this README is ignored by git.
"""


def sample_photos() -> dict[str, np.ndarray]:
    """The six sample photos in color, stem -> uint8 `(h, w, 3)`."""
    return {stem: np.asarray(load())[..., :3] for stem, (load, _) in SAMPLES.items()}


def desaturate(rgb) -> np.ndarray:
    """uint8 RGB -> uint8 gray with the photo's CIE L (a = b = 0), `(h, w)`."""
    from colornet.color import rgb_to_gray, to_uint8

    return to_uint8(rgb_to_gray(np.asarray(rgb))[..., 0])


def has_images(folder) -> bool:
    folder = Path(folder)
    return folder.is_dir() and bool(find_images(folder))


def fill_samples(folder=SAMPLES_DIR, quality: int = 95) -> list[str]:
    """Fill `folder` with the desaturated sample photos, when it has no images yet.

    Also writes `folder/README.md` (telling users to drop their own photos
    there) when it is missing. Existing files are never replaced.

    Args:
        folder: where to put them; `data/Test` in the repository by default.
        quality: JPEG quality of the written photos.

    Returns:
        The paths of the photos written; empty when the folder already had images.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    readme = folder / "README.md"
    if not readme.exists():
        credits = "\n".join(f"- `{stem}.jpg`: {credit}" for stem, (_, credit) in SAMPLES.items())
        readme.write_text(README.format(credits=credits))
    if has_images(folder):
        return []
    written = []
    for stem, rgb in sample_photos().items():
        path = folder / f"{stem}.jpg"
        Image.fromarray(desaturate(rgb)).save(path, quality=quality)
        written.append(str(path))
    return written


def write_crops(folder, photos, n: int = 48, size: int = 128, seed: int = 0) -> list[str]:
    """Write `n` random crops of `photos` (uint8 RGB arrays) of about `size` px, in color.

    The crops vary in scale and shape (landscape and portrait), alternate jpg and
    png, and go into two subfolders, like a real photo folder. With `photos` a dict
    name -> array, each crop's file name starts with its photo's name
    (`group0/astronaut_crop000.png`), so that `sources_of_crops` can tell them.
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    names = list(photos) if isinstance(photos, dict) else None
    photos = list(photos.values()) if isinstance(photos, dict) else list(photos)
    paths = []
    for i in range(n):
        photo = photos[i % len(photos)]
        h, w = size + int(rng.integers(0, size // 2)), size + int(rng.integers(0, size // 2))
        scale = int(rng.integers(2, 5))
        ch, cw = min(h * scale, photo.shape[0]), min(w * scale, photo.shape[1])
        top = int(rng.integers(0, photo.shape[0] - ch + 1))
        left = int(rng.integers(0, photo.shape[1] - cw + 1))
        crop = Image.fromarray(photo[top : top + ch, left : left + cw]).resize((w, h), Image.BILINEAR)
        prefix = f"{names[i % len(names)]}_" if names else ""
        path = folder / f"group{i % 2}" / f"{prefix}crop{i:03d}.{'jpg' if i % 3 else 'png'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        crop.save(path)
        paths.append(str(path))
    return sorted(paths)


def fill_training_folder(folder, n: int = 48, size: int = 128, seed: int = 0) -> list[str]:
    """Fill an empty training folder with color crops of the sample photos, so that a
    notebook runs without a dataset (a network learns little from them: use real photos).

    The photos in `HELD_OUT` are left out, so that a notebook has sample photos its
    network never trained on; `sources_of_crops` tells which ones it did.

    Returns:
        The paths written; empty when the folder already had images.
    """
    if has_images(folder):
        return []
    photos = {stem: rgb for stem, rgb in sample_photos().items() if stem not in HELD_OUT}
    return write_crops(folder, photos, n=n, size=size, seed=seed)


def sources_of_crops(folder) -> set[str]:
    """The names of the photos that `write_crops` cut the crops in `folder` from (from the
    file names: `astronaut_crop000.png` -> `astronaut`); empty for a folder of other photos."""
    if not Path(folder).is_dir():
        return set()
    return {m[1] for p in find_images(folder) if (m := re.fullmatch(r"(.+)_crop\d+", Path(p).stem))}


def unseen_photos(paths, train_folder) -> list[str]:
    """`paths` without the photos whose crops are in `train_folder`: photos a network trained
    on that folder has never seen (by name: sample photos and the crops cut from them)."""
    seen = sources_of_crops(train_folder)
    return [str(p) for p in paths if Path(p).stem not in seen]
