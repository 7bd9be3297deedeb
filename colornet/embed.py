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

The cache is `colornet.embed_cache`, the 1000 classes' names `colornet.embed_classes`; their names
are importable from here too.
"""

import hashlib
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from colornet.codecs import LabTanhCodec
from colornet.color import denormalize_l, lab_to_rgb, normalize_l
from colornet.data import FEATURE_MODES, make_dataset

# names marked F401 are not used here: they stay importable from `colornet.embed`, as before
from colornet.embed_cache import (
    DEFAULT_CACHE_DIR,  # noqa: F401
    center_crops,  # noqa: F401
    embed_files,
)
from colornet.embed_classes import (
    CLASS_INDEX_FILE,  # noqa: F401
    CLASS_INDEX_MD5,  # noqa: F401
    CLASS_INDEX_URL,  # noqa: F401
    CLASSES_TSV,  # noqa: F401
    EMBED_DIM,
    imagenet_class_names,  # noqa: F401
    top_classes,  # noqa: F401
)
from colornet.errors import EmbedWeightsError, WeightsError
from colornet.files import sha256
from colornet.pretrained import BACKBONES, imagenet_weights_file, load_backbone
from colornet.pretrained import default_weights_dir as default_weights_dir

INPUT_SIZE = 299  # Inception-ResNet-v2's input side
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
MODES = FEATURE_MODES


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
