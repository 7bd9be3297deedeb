"""Where the web page (`colornet.app`) puts each click's files, and when it removes them."""

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

from colornet.errors import ColornetError

RESULTS_CAP = 1 << 30  # bytes of colorized files kept on disk at most, all visitors together


class ResultFolders:
    """The page's results on disk: a folder per click under one `colornet-app-*` folder per page.

    A visitor's folders go when the visitor clicks again (the page already holds Gradio's copies
    of the files it shows), or leaves (`leave`); all of them go when the page stops (`close`, also
    run at exit); and the oldest go first once they pass `cap` bytes together."""

    def __init__(self, cap: int = RESULTS_CAP, parent=None):
        self.root = Path(tempfile.mkdtemp(prefix="colornet-app-", dir=parent))
        self.cap = cap
        self._lock = threading.Lock()
        self._folders = []  # (session, folder), oldest first
        atexit.register(self.close)

    def new(self, session: str = "") -> Path:
        """An empty folder for one click of `session`; that session's earlier folders are removed."""
        self.leave(session)
        with self._lock:
            if not self.root.is_dir():  # closed: a page that stopped does not colorize
                raise ColornetError("the page has stopped; start it again.")
            folder = Path(tempfile.mkdtemp(dir=self.root))
            self._folders.append((session, folder))
        return folder

    def trim(self, keep=None) -> None:
        """Remove the oldest folders, other than `keep`, while all of them pass `cap` bytes."""
        with self._lock:
            sizes = [(entry, folder_bytes(entry[1])) for entry in self._folders]
            total = sum(size for _, size in sizes)
            for entry, size in sizes:
                if total <= self.cap:
                    break
                if entry[1] != keep:
                    self._remove(entry)
                    total -= size

    def leave(self, session: str) -> None:
        """Remove every folder of `session` (a visitor who closed the page, or clicked again)."""
        with self._lock:
            for entry in [e for e in self._folders if e[0] == session]:
                self._remove(entry)

    def close(self) -> None:
        """Remove the page's folder and everything in it."""
        with self._lock:
            self._folders.clear()
            shutil.rmtree(self.root, ignore_errors=True)

    def total_bytes(self) -> int:
        return folder_bytes(self.root)

    def _remove(self, entry) -> None:
        self._folders.remove(entry)
        shutil.rmtree(entry[1], ignore_errors=True)


def folder_bytes(folder) -> int:
    """The bytes of the files under `folder` (0 for a folder that is gone)."""
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:  # removed meanwhile
                pass
    return total
