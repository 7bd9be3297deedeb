"""Global image embeddings for the Full model: an ImageNet classifier's 1000 class probabilities.

As in the article's Full version (and Baldassarre et al. 2017,
https://arxiv.org/abs/1712.03400), the grayscale photo goes through
Inception-ResNet-v2 trained on ImageNet, and its 1000 class probabilities tell
the colorization network what the picture shows. EfficientNet-Lite0 (`colornet.lite0`,
ImageNet weights committed in `weights/`, so it works offline) gives the same 1000
classes in the same order, for 1/30 of the work: `backbone="efficientnet-lite0"`.

    embedder = Embedder("imagenet")            # or a local .h5 path, or None (random)
    embedder = Embedder("imagenet", backbone="efficientnet-lite0")   # the committed weights
    embedding = embedder(l_norm)               # (b, h, w, 1) in [-1, 1] -> (b, 1000)
    ds = make_fusion_dataset("data/Train", 128, 16, embedder=embedder)   # ((L, emb), ab)

The article runs Inception inside the training generator, for every batch (twice,
in fact). `make_fusion_dataset` instead embeds each training photo once, on its
unaugmented center crop, and keeps the result on disk keyed by the file's bytes,
so later epochs and later runs read 4 KB instead of running a 55-million-parameter
classifier. `mode="per-batch"` keeps the article's way, for comparison.
"""

import hashlib
import os
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from colornet.codecs import LabTanhCodec
from colornet.color import denormalize_l, lab_to_rgb, normalize_l
from colornet.data import (
    AUTOTUNE,
    FEATURE_MODES,
    crop_square,
    decode_image,
    make_dataset,
    resize_shorter_side,
    to_model_io,
)
from colornet.errors import WeightsError
from colornet.files import sha256
from colornet.pretrained import BACKBONES, imagenet_weights_file, load_backbone
from colornet.pretrained import default_weights_dir as default_weights_dir

INPUT_SIZE = 299  # Inception-ResNet-v2's input side
EMBED_DIM = 1000  # ImageNet classes
MIN_INPUT_SIZE = 75  # the smallest input Keras' Inception-ResNet-v2 accepts

BACKBONE = "inception_resnet_v2"  # in colornet.pretrained, with its weights files
LITE0 = "efficientnet-lite0"  # colornet.lite0, its ImageNet weights committed in weights/
# The classifiers an Embedder can run (the Full model's `embedder` option): name -> title,
# input side, smallest input side. Both give the same 1000 ImageNet classes in the same order.
EMBEDDERS = {
    BACKBONE: ("Inception-ResNet-v2", INPUT_SIZE, MIN_INPUT_SIZE),
    LITE0: ("EfficientNet-Lite0", 224, 32),
}
DEFAULT_EMBEDDER = BACKBONE
# the classifier's weights (with its top), the hash Keras checks
IMAGENET_WEIGHTS_FILE, IMAGENET_WEIGHTS_URL, IMAGENET_WEIGHTS_MD5 = BACKBONES[BACKBONE].file(include_top=True)
CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/" + CLASS_INDEX_FILE
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
CLASSES_TSV = Path(__file__).resolve().parent / "resources" / "imagenet_classes.tsv"  # wnid<TAB>name

DEFAULT_CACHE_DIR = os.path.join(".colornet_cache", "embeddings")
MODES = FEATURE_MODES


class EmbedWeightsError(WeightsError):
    """Embedder weights that cannot be had; the message says where to put the file."""


def check_embedder(name: str) -> str:
    """`name` if it is one of `EMBEDDERS`, else a one-line `ValueError` naming them."""
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}.")
    return name


def to_gray_rgb(l_norm, size: int):
    """Normalized L `(b, h, w, 1)` -> a gray RGB image `(b, size, size, 3)` in [0, 255].

    L with a = b = 0 in RGB is a gray image (R = G = B) with the photo's
    lightness, as the article's `gray2rgb(rgb2gray(rgb))` up to the luminance
    formula; it is resized to the classifier's square input. EfficientNet-Lite0
    takes it as it is (it scales its input itself).
    """
    L = denormalize_l(tf.cast(l_norm, tf.float32))  # (b, h, w, 1) in [0, 100]
    rgb = lab_to_rgb(tf.concat([L, tf.zeros_like(L), tf.zeros_like(L)], axis=-1))  # R = G = B up to round-off
    gray = tf.repeat(tf.reduce_mean(rgb, axis=-1, keepdims=True), 3, axis=-1)  # (b, h, w, 3), exactly gray
    gray = tf.image.resize(gray, [size, size], method="bilinear", antialias=True)  # (b, size, size, 3)
    return gray * 255.0


def to_inception_input(l_norm, size: int = INPUT_SIZE):
    """Normalized L `(b, h, w, 1)` -> Inception's input `(b, size, size, 3)` in [-1, 1]: the gray
    image of `to_gray_rgb`, scaled by `inception_resnet_v2.preprocess_input`."""
    return keras.applications.inception_resnet_v2.preprocess_input(to_gray_rgb(l_norm, size))


class Embedder:
    """An ImageNet classifier as a callable: normalized L batch -> 1000 class probabilities.

    Inception-ResNet-v2 (the article's) sees the gray image of `to_inception_input`;
    EfficientNet-Lite0 the same gray image at 224 px, in [0, 255] (`to_gray_rgb`).
    The classifier is built on the first call, once.

    Args:
        weights: "imagenet", a path to a local `.h5` file, or None / "none" for random
            weights (tests, timing; it warns, since the Full model then colors poorly).
            For Inception-ResNet-v2, "imagenet" is the file in `weights_dir` if it is there,
            otherwise Keras downloads it to ~/.keras/models; for EfficientNet-Lite0 it is
            the committed `weights/efficientnet_lite0.weights.h5` (checked against
            `weights/SHA256SUMS`; never downloaded), and a path is a Keras weights file
            written by `colornet.lite0.convert_pth`.
        backbone: "inception_resnet_v2" (the default, the article's) or "efficientnet-lite0"
            (`EMBEDDERS`).
        input_size: the classifier's input side; by default the one it was trained at on
            ImageNet (299 for Inception, 224 for Lite0); at least 75 for Inception, 32 for
            Lite0 (smaller sizes only make sense with random weights, for tests).
        batch_size: photos per classifier call.
        weights_dir: Inception only: where to look for
            `inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5` (default: the project's `weights/`).

    Attributes:
        calls: classifier forward passes so far (one per chunk of `batch_size`).
        images: photos embedded so far.

    Example:
        >>> embedder = Embedder("imagenet")
        >>> embedder(l_norm).shape          # l_norm (4, 128, 128, 1)
        (4, 1000)
    """

    def __init__(
        self,
        weights="imagenet",
        *,
        backbone: str = DEFAULT_EMBEDDER,
        input_size: int | None = None,
        batch_size: int = 16,
        weights_dir=None,
    ):
        self.backbone = check_embedder(backbone)
        title, default_size, min_size = EMBEDDERS[backbone]
        if isinstance(weights, str) and weights.lower() in ("none", "random"):
            weights = None
        input_size = default_size if input_size is None else input_size
        if input_size < min_size:
            raise ValueError(f"input_size must be at least {min_size} for {title}, got {input_size}.")
        self.weights_dir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
        if weights is not None and weights != "imagenet":
            weights = Path(weights)
        if weights is not None and (backbone == LITE0 or weights != "imagenet"):
            self._weights_file(weights)  # a missing file fails here, before any work
        if weights is None:
            warnings.warn(
                f"{title} has random weights (weights=None): its embedding says nothing about "
                "the picture, so the Full model will color poorly; use weights='imagenet' for real use.",
                UserWarning,
                stacklevel=2,
            )
        self.weights = weights
        self.input_size = int(input_size)
        self.batch_size = int(batch_size)
        self.calls = 0
        self.images = 0
        self._model = None
        self._forward = None
        self._identity = None

    def __repr__(self):
        backbone = "" if self.backbone == DEFAULT_EMBEDDER else f"backbone={self.backbone!r}, "
        return f"Embedder(weights={self.weights_name!r}, {backbone}input_size={self.input_size})"

    @property
    def title(self) -> str:
        """The classifier's name in messages (`EfficientNet-Lite0`)."""
        return EMBEDDERS[self.backbone][0]

    @property
    def weights_name(self) -> str:
        """'imagenet', 'random', or the weights file's name."""
        if self.weights is None:
            return "random"
        return "imagenet" if self.weights == "imagenet" else Path(self.weights).name

    def _weights_file(self, weights) -> str:
        """The local .h5 file of `weights` (`colornet.pretrained`, `colornet.lite0`), its errors as
        `EmbedWeightsError`."""
        try:
            if self.backbone == LITE0:
                from colornet.lite0 import weights_path

                return str(weights_path("imagenet" if weights == "imagenet" else str(weights)))
            return imagenet_weights_file(
                BACKBONE, weights, include_top=True, weights_dir=self.weights_dir, flag="--embed-weights"
            )
        except WeightsError as err:
            raise EmbedWeightsError(str(err)) from None

    def _weights_path(self) -> str:
        """The local .h5 file to load, downloading the ImageNet one through Keras if needed."""
        return self._weights_file(self.weights if self.weights == "imagenet" else str(self.weights))

    def build(self) -> keras.Model:
        """Build the classifier and load its weights (once); returns the Keras model."""
        if self._model is not None:
            return self._model
        path = self._weights_path() if self.weights is not None else None
        size = self.input_size
        try:
            if self.backbone == LITE0:
                from colornet.lite0 import efficientnet_lite0

                model = efficientnet_lite0(path, include_top=True, input_shape=(size, size, 3))
                to_input = to_gray_rgb  # Lite0 scales [0, 255] itself
            else:
                model = load_backbone(
                    BACKBONE,
                    path,
                    include_top=True,
                    input_shape=(size, size, 3),
                    weights_dir=self.weights_dir,
                    flag="--embed-weights",
                )
                to_input = to_inception_input
        except WeightsError as err:  # a truncated file, another model's weights
            raise EmbedWeightsError(str(err)) from None
        model.trainable = False

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)], autograph=False)
        def forward(l_norm):
            return tf.cast(model(to_input(l_norm, size), training=False), tf.float32)  # (b, 1000) softmax

        self._model, self._forward = model, forward
        return model

    @property
    def model(self) -> keras.Model:
        return self.build()

    @property
    def identity(self) -> str:
        """Names the classifier, its weights and input size in cache keys: ImageNet and files by
        their hash, random weights by a hash of their values (the same seed before the build, the
        same key). Inception's keys carry no backbone prefix (as before Lite0 came), Lite0's start
        with `efficientnet-lite0-`, so one's cached embeddings are never read for the other."""
        if self._identity is None:
            if self.weights == "imagenet":
                digest = IMAGENET_WEIGHTS_MD5 if self.backbone == BACKBONE else sha256(self._weights_path())
                tag = f"imagenet-{digest[:12]}"
            elif self.weights is None:
                digest = hashlib.sha256()
                for w in self.build().weights:
                    digest.update(np.asarray(w).tobytes())
                tag = f"random-{digest.hexdigest()[:12]}"
            else:
                tag = f"{Path(self.weights).stem[:40]}-{sha256(self.weights)[:12]}"
            prefix = "" if self.backbone == BACKBONE else f"{self.backbone}-"
            self._identity = f"{prefix}{tag}-{self.input_size}px"
        return self._identity

    def __call__(self, l_norm):
        """Normalized L `(b, h, w, 1)` in [-1, 1] -> float32 `(b, 1000)` class probabilities.

        A TensorFlow tensor gives a tensor (so that `[l_norm, embedding]` can go
        to a Keras model together), anything else a NumPy array.
        """
        as_tensor = tf.is_tensor(l_norm)
        self.build()
        l_norm = tf.cast(tf.convert_to_tensor(l_norm), tf.float32)
        if l_norm.shape.rank != 4 or l_norm.shape[-1] != 1:
            raise ValueError(
                f"expected a normalized L batch of shape (b, h, w, 1), got {tuple(l_norm.shape)}."
            )
        out = []
        for start in range(0, int(l_norm.shape[0]), self.batch_size):
            chunk = l_norm[start : start + self.batch_size]
            out.append(self._forward(chunk))
            self.calls += 1
            self.images += int(chunk.shape[0])
        embedding = tf.concat(out, axis=0) if out else tf.zeros((0, EMBED_DIM), tf.float32)
        return embedding if as_tensor else embedding.numpy()

    # The feature-source interface every design with extra inputs provides (see `Design.features`).

    def extras(self, L) -> dict:
        """L `(b, h, w, 1)` in [0, 100] -> `{"embedding": (b, 1000)}`, the Full model's extra input."""
        return {"embedding": self(normalize_l(tf.cast(L, tf.float32)))}

    def file_extras(
        self, paths, size: int, *, cache_dir=None, write: bool = True, verbose: bool = True
    ) -> dict:
        """`{"embedding": (n, 1000)}` for photos' center crops, computed once and cached (`embed_files`)."""
        return {
            "embedding": embed_files(paths, self, size, cache_dir=cache_dir, write=write, verbose=verbose)
        }


# --- embeddings of files, cached on disk --------------------------------------


def center_crops(paths, size: int, batch_size: int) -> tf.data.Dataset:
    """Normalized L batches of the unaugmented center crops that `make_dataset` validates on."""
    ds = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    ds = ds.map(
        lambda p: crop_square(resize_shorter_side(decode_image(p), size), size), num_parallel_calls=AUTOTUNE
    )
    ds = ds.batch(batch_size).map(lambda images: to_model_io(images)[0], num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def embed_files(
    paths, embedder: Embedder, size: int, *, cache_dir=None, write: bool = True, verbose: bool = True
) -> np.ndarray:
    """Embeddings `(n, 1000)` of photos' center crops of `size`, computed once and cached on disk.

    The key of each photo is the sha256 of its bytes, under a folder named by the
    embedder (`identity`) and the crop size: an edited file is embedded again, a
    renamed or copied one is not, and another run or another epoch reuses them.

    Args:
        paths: image files, already checked (see `colornet.data.list_images`).
        embedder: the `Embedder` to run on photos not in the cache.
        size: crop side, the training size.
        cache_dir: folder of the cache (default `.colornet_cache/embeddings` here).
        write: store new embeddings in the cache (False on a cluster's workers other than the chief).
        verbose: print one line saying how many were cached and how many computed.
    """
    start = time.perf_counter()
    folder = (
        Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR) / f"{embedder.identity}-crop{size}"
    )
    keys = [sha256(p) for p in paths]
    embeddings = np.zeros((len(paths), EMBED_DIM), np.float32)
    missing = []
    for i, key in enumerate(keys):
        entry = folder / f"{key}.npy"
        try:
            embeddings[i] = np.load(entry)
        except (OSError, ValueError):  # not there, or a partial write from an interrupted run
            missing.append(i)
    if missing:
        if write:
            folder.mkdir(parents=True, exist_ok=True)
        done = 0
        bar = tqdm(
            total=len(missing),
            desc="embedding",
            unit="photo",
            file=sys.stderr,
            disable=not verbose or len(missing) <= embedder.batch_size,
        )
        for l_norm in center_crops([paths[i] for i in missing], size, embedder.batch_size):
            batch = np.asarray(embedder(l_norm))  # (b, 1000)
            bar.update(len(batch))
            for row in batch:
                i = missing[done]
                embeddings[i] = row
                done += 1
                if not write:
                    continue
                tmp = folder / f"{keys[i]}.{os.getpid()}.tmp.npy"
                np.save(tmp, row)
                os.replace(tmp, folder / f"{keys[i]}.npy")  # atomic: readers never see half a file
        bar.close()
    if verbose:
        print(
            f"embeddings ({embedder.weights_name}): {len(paths) - len(missing)} cached, {len(missing)} computed "
            f"with {getattr(embedder, 'title', 'Inception-ResNet-v2')} in {time.perf_counter() - start:.1f} s ({folder})"
        )
    return embeddings


def make_fusion_dataset(
    source,
    size: int = 128,
    batch_size: int = 16,
    *,
    training: bool = True,
    augment: bool = True,
    seed: int = 42,
    cache: bool | str = True,
    on_error: str = "raise",
    embedder: Embedder | None = None,
    mode: str = "cached",
    cache_dir=None,
    paths: list[str] | None = None,
    drop_remainder: bool = False,
    verbose: bool = True,
) -> tf.data.Dataset:
    """A dataset of `((L, embedding), ab)` batches for the Full model.

    Args:
        source, size, batch_size, training, augment, seed, cache, on_error,
            paths, drop_remainder: as in `colornet.data.make_dataset`.
        embedder: an `Embedder` (default: ImageNet weights).
        mode: "cached" embeds each photo once (its unaugmented center crop), reusing
            the disk cache in `cache_dir`; "per-batch" runs the classifier on every
            augmented batch, as the article's generator does (slow; for comparison).
        cache_dir: the embedding cache folder (default `.colornet_cache/embeddings`).
        verbose: print what the cache did.

    Returns:
        A `tf.data.Dataset` of `((L (b, s, s, 1), embedding (b, 1000)), ab (b, s, s, 2))`.

    Example:
        >>> ds = make_fusion_dataset("data/Train", 128, 16, embedder=Embedder("imagenet"))
        >>> (l, emb), ab = next(iter(ds))
    """
    if embedder is None:
        embedder = Embedder()
    return make_dataset(
        source,
        size,
        batch_size,
        training=training,
        augment=augment,
        seed=seed,
        cache=cache,
        on_error=on_error,
        paths=paths,
        drop_remainder=drop_remainder,
        codec=LabTanhCodec(extra_inputs=("embedding",)),
        features=embedder,
        features_mode=mode,
        cache_dir=cache_dir,
        verbose=verbose,
    )


# --- what the classifier sees ----------------------------------------------------------


def imagenet_class_names(weights_dir=None) -> list[str] | None:
    """The 1000 ImageNet class names (the same for Inception-ResNet-v2 and EfficientNet-Lite0),
    from `weights/imagenet_class_index.json`, else the package's `resources/imagenet_classes.tsv`
    (`wnid<TAB>name` in class order; offline), else a Keras download; None when none can be had."""
    import json

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
