"""Small file helpers shared by every layer: checksums and writes that never leave half a file."""

import contextlib
import hashlib
import json
import os
from pathlib import Path


def sha256(path) -> str:
    """The sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def temporary_name(path) -> Path:
    """A temporary name beside `path`, unique to this process (two runs never share one)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def is_temporary(path) -> bool:
    """A temporary file this project writes (`temporary_name`), perhaps left by a killed run."""
    name = Path(path).name
    return name.startswith(".") and ".partial" in name


def atomic_write_text(path, text: str) -> None:
    """Write `text` to a temporary file and rename it: readers see the old file or the new one."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2))


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path beside `path`, with the same suffixes (`.weights.h5`), for a writer that
    takes a file name; renamed to `path` when the block ends without an error, removed otherwise.

        with atomic_path("weights/x.weights.h5") as tmp:
            model.save_weights(tmp)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem.split('.')[0]}.{os.getpid()}.partial{''.join(path.suffixes)}")
    try:
        yield str(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
