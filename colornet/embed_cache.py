"""The embedding cache: each photo's embedding, computed once on its center crop and kept on disk
keyed by the file's bytes, so that later epochs and later runs read 4 KB instead of running the
classifier again."""

import os
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from colornet.data_augment import crop_square
from colornet.data_photos import decode_image, resize_shorter_side, to_model_io
from colornet.embed_classes import EMBED_DIM
from colornet.files import atomic_path, sha256

AUTOTUNE = tf.data.AUTOTUNE
DEFAULT_CACHE_DIR = os.path.join(".colornet_cache", "embeddings")


def center_crops(paths, size: int, batch_size: int) -> tf.data.Dataset:
    """Normalized L batches of the unaugmented center crops that `make_dataset` validates on."""
    ds = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    ds = ds.map(
        lambda p: crop_square(resize_shorter_side(decode_image(p), size), size), num_parallel_calls=AUTOTUNE
    )
    ds = ds.batch(batch_size).map(lambda images: to_model_io(images)[0], num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def embed_files(
    paths, embedder, size: int, *, cache_dir=None, write: bool = True, verbose: bool = True
) -> np.ndarray:
    """Embeddings `(n, 1000)` of photos' center crops of `size`, computed once and cached on disk.

    The key of each photo is the sha256 of its bytes, under a folder named by the
    embedder (`identity`) and the crop size: an edited file is embedded again, a
    renamed or copied one is not, and another run or another epoch reuses them.

    Args:
        paths: image files, already checked (see `colornet.data.list_images`).
        embedder: the `colornet.embed.Embedder` to run on photos not in the cache.
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
                with atomic_path(folder / f"{keys[i]}.npy") as tmp:  # readers never see half a file
                    np.save(tmp, row)
        bar.close()
    if verbose:
        print(
            f"embeddings ({embedder.weights_name}): {len(paths) - len(missing)} cached, {len(missing)} computed "
            f"with {getattr(embedder, 'title', 'Inception-ResNet-v2')} in {time.perf_counter() - start:.1f} s ({folder})"
        )
    return embeddings
