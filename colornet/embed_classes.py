"""ImageNet's 1000 classes, which an embedding gives the probabilities of: their names, and the
most probable classes of an embedding (what the classifier makes of a photo)."""

import json
from pathlib import Path

import keras
import numpy as np

from colornet.pretrained import default_weights_dir

EMBED_DIM = 1000  # ImageNet classes
CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/" + CLASS_INDEX_FILE
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
CLASSES_TSV = Path(__file__).resolve().parent / "resources" / "imagenet_classes.tsv"  # wnid<TAB>name


def imagenet_class_names(weights_dir=None) -> list[str] | None:
    """The 1000 ImageNet class names (the same for Inception-ResNet-v2 and EfficientNet-Lite0),
    from `weights/imagenet_class_index.json`, else the package's `resources/imagenet_classes.tsv`
    (`wnid<TAB>name` in class order; offline), else a Keras download; None when none can be had."""
    local = Path(weights_dir if weights_dir is not None else default_weights_dir()) / CLASS_INDEX_FILE
    if not local.is_file():
        try:
            with open(CLASSES_TSV, encoding="utf-8") as f:
                names = [line.rstrip("\n").split("\t")[1] for line in f if line.strip()]
            if len(names) == EMBED_DIM:
                return names
        except (OSError, IndexError):
            pass
    try:
        path = (
            str(local)
            if local.is_file()
            else keras.utils.get_file(
                CLASS_INDEX_FILE, CLASS_INDEX_URL, cache_subdir="models", file_hash=CLASS_INDEX_MD5
            )
        )
        with open(path) as f:
            index = json.load(f)
        return [index[str(i)][1] for i in range(EMBED_DIM)]
    except Exception:  # offline, or a broken file: callers fall back to class numbers
        return None


def top_classes(
    embeddings, top: int = 5, class_names: list[str] | None = None
) -> list[list[tuple[str, float]]]:
    """The `top` most probable ImageNet classes of each embedding, as (name, probability).

    Names are "class 123" when `class_names` is None (see `imagenet_class_names`).
    """
    embeddings = np.asarray(embeddings)
    result = []
    for row in embeddings:
        best = np.argsort(row)[::-1][:top]
        result.append([(class_names[i] if class_names else f"class {i}", float(row[i])) for i in best])
    return result
