"""Finding photos: the one list of formats, and files, folders (recursively) and globs expanded into
a sorted list of photos. Reading them is `colornet.images`."""

import glob
import os
import stat
import warnings
from pathlib import Path

from PIL import features

from colornet.errors import ImageWarning
from colornet.files import is_temporary

# The one list of formats read from folders, globs and named files, by every command.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp") + (
    (".avif",) if features.check("avif") else ()
)
FORMATS = ", ".join(
    dict.fromkeys(e.lstrip(".").replace("jpeg", "jpg").replace("tiff", "tif") for e in IMAGE_EXTENSIONS)
)


def is_image_file(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def find_images(inputs, recursive: bool = True) -> list[str]:
    """Expand files, folders and glob patterns into a sorted list of image paths.

    Args:
        inputs: a path or a list of paths, folders or glob patterns.
        recursive: walk folders recursively.

    Returns:
        Image paths (`IMAGE_EXTENSIONS`), sorted, without duplicates. A
        file named explicitly is kept whatever its extension, so that a bad file
        is reported rather than silently ignored (also in a folder that may not be searched).
        The project's own temporary files (`.name.partial...`, left by a killed run) are never
        listed from folders or globs. A folder that cannot be read: one `ImageWarning` naming it.

    Raises:
        FileNotFoundError: an input that does not exist and matches nothing.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found, unreadable = [], []
    for item in inputs:
        item = str(item)
        kind = path_kind(item)
        if kind == "folder":
            found += _walk(item, recursive, unreadable)
        elif kind == "file" or (kind == "denied" and not glob.has_magic(item)):
            found.append(item)
        else:
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise FileNotFoundError(f"{item}: no such file, folder or matching pattern.")
            found += [m for m in matches if path_kind(m) in ("file", "denied") and not is_temporary(m)]
    for folder in dict.fromkeys(unreadable):
        if not any(folder.startswith(os.path.join(other, "")) for other in unreadable):
            warnings.warn(
                f"{folder}: cannot read this folder (permission denied), so the photos in it are "
                "skipped; check its permissions.",
                ImageWarning,
                stacklevel=2,
            )
    return list(dict.fromkeys(found))


def path_kind(path) -> str | None:
    """What is at `path`: "folder", "file" (anything else that exists), "denied" (a folder on
    its way may not be searched) or None (nothing)."""
    try:
        return "folder" if stat.S_ISDIR(os.stat(path).st_mode) else "file"
    except PermissionError:
        return "denied"
    except (OSError, ValueError):
        return None


def _walk(folder: str, recursive: bool, unreadable: list) -> list[str]:
    """The image files in `folder` (and its subfolders), sorted as paths; the folders that
    cannot be read are added to `unreadable`."""
    paths = []
    for top, subfolders, names in os.walk(folder, onerror=lambda err: unreadable.append(str(err.filename))):
        for name in names:
            path = os.path.join(top, name)
            if not is_image_file(path) or is_temporary(path):
                continue
            try:
                if stat.S_ISREG(os.stat(path).st_mode):
                    paths.append(Path(path))
            except PermissionError:
                unreadable.append(str(Path(top)))
            except OSError:
                pass  # a broken link
        if not recursive:
            subfolders.clear()
    return [str(p) for p in sorted(paths)]
