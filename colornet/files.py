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


def recorded_checksum(path) -> str | None:
    """The sha256 that the `SHA256SUMS` (the `sha256sum` format) beside `path` records for it, as the
    provided weights and priors in `weights/` have; None where none is recorded."""
    sums = Path(path).parent / "SHA256SUMS"
    if not sums.is_file():
        return None
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == Path(path).name:
            return parts[0]
    return None


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


# --- outputs that replace nothing of the user's ------------------------------------------


def can_create(path) -> bool:
    """Whether `path` can be created: its nearest existing folder is a folder this process may write
    to (a read-only disk says no here, also to root)."""
    existing = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    return os.path.isdir(existing) and os.access(existing, os.W_OK)


def check_replaceable_folder(
    out, overwrite: bool, marker: str, parts=(), what: str = "earlier result", flag: str = "--out"
) -> None:
    """Before any work, refuse to write the folder `out` where it would replace something of the
    user's: the current folder or one holding it, a file or a link, or an existing folder, unless
    `overwrite` and it holds an earlier result of ours, `marker` (e.g. `colornet_export.json`), and
    nothing but the names in `parts` beside it.

    Raises:
        ColornetError: in one line that names `out` and what to do.
    """
    from colornet.errors import ColornetError

    text = str(out)
    if not text.strip():
        raise ColornetError(f"{flag} is empty; name a new folder.")
    folder, here = Path(os.path.realpath(text)), Path(os.path.realpath(os.getcwd()))
    if folder == here or folder in here.parents:
        raise ColornetError(f"{flag} {text}: is the current folder or holds it; name a new folder.")
    if os.path.lexists(text):
        problem = None
        if os.path.islink(text) or not os.path.isdir(text):
            problem = f"is a file or a link, not an {what}; name a new folder"
        elif marker not in (names := set(os.listdir(text))):
            problem = (
                f"has no {marker}, so it is not an {what} that --overwrite may replace; name a new folder"
            )
        elif other := sorted(names - {marker, *parts}):
            problem = f"holds {other[0]}, which is no part of an {what}; move it out or name a new folder"
        if problem:
            raise ColornetError(f"{flag} {text}: {problem}.")
        if not overwrite:
            raise ColornetError(f"{flag} {text}: already exists; choose another folder or pass --overwrite.")
    if not can_create(text):
        raise ColornetError(f"{flag} {text}: its folder cannot be written; choose another place.")


def replace_folder(tmp, out) -> None:
    """Move the complete folder `tmp` to `out`; an earlier `out` is removed only once the new one is
    in place (put back if the move fails)."""
    import shutil

    tmp, out = Path(tmp), Path(out)
    old = out.with_name(f".{out.name}.{os.getpid()}.partial.old") if out.exists() else None
    if old is not None:
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old)
