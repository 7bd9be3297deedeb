"""Ending cleanly when killed: `kill` (SIGTERM) ends a command as Ctrl-C does, and the temporary
files of a process that was killed with kill -9 are removed by the next run.

    @sigterm_as_interrupt()
    def run(args): ...                              # SIGTERM raises KeyboardInterrupt inside

    remove_stale_temporaries("runs/beta")           # last.<pid>.tmp.keras of dead processes
"""

import contextlib
import os
import re
import signal
import threading
from pathlib import Path

# Temporary names this project writes, with the id of the process that writes them:
# `.name.<pid>.partial[.suffixes]` (colornet.files), and `<sha256>.<pid>.tmp.npy` (the embeddings cache)
# and `last.<pid>.tmp.keras`, `best.<pid>.tmp.weights.h5` (checkpoints of earlier versions).
TEMPORARY = re.compile(
    r"^\..+\.(?P<pid>\d+)\.partial(\..*)?$"
    r"|^(last|best|[0-9a-f]{64})\.(?P<tmp>\d+)\.tmp\.(keras|weights\.h5|npy)$"
)


def _interrupted(signum, frame):
    raise KeyboardInterrupt  # as Ctrl-C: writes in progress remove their temporary files


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block (or the function it decorates), SIGTERM raises `KeyboardInterrupt` as
    Ctrl-C does: the command line then prints one line and exits with 130, and nothing is left
    half written. Signals go to the main thread only; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (where that cannot be told: True)."""
    if pid == os.getpid():
        return True
    if pid <= 0 or os.name != "posix":
        return pid > 0  # os.kill(pid, 0) would signal a group (0, -1) or, on Windows, end the process
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's process
        return True
    except (OSError, OverflowError):  # none has that id (or none can)
        return False
    return True


def remove_stale_temporaries(folder, recursive: bool = False) -> list[Path]:
    """Remove the temporary files in `folder` (and its subfolders) written by processes that no
    longer run, left by a kill -9 or a crash; those of running processes are kept. Returns them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.rglob("*") if recursive else folder.iterdir():
        match = TEMPORARY.match(path.name)
        if match is None or not path.is_file():
            continue
        if not process_alive(int(match.group("pid") or match.group("tmp"))):
            with contextlib.suppress(FileNotFoundError):  # another run removed it first
                path.unlink()
                removed.append(path)
    return removed
