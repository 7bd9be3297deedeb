"""Streams of photos and frames in stages at once: reading and preparing ahead, the network in the
caller's thread, then finishing (the merge) and writing (the encoder, the file's compression) behind.

A film's frames are decoded in order and encoded in order, on one thread each (`colornet.video`):

    with behind() as writing, behind() as finishing, closing(ahead(read_and_prepare(paths))) as items:
        for item in items:                               # up to `depth` items read ahead
            ...                                          # batches through the network here
            finishing.submit(merge, batch, ab)           # runs in order, up to `depth` behind;
                                                         # it calls writing.submit(write, ...)

A folder's photos are independent (`colornet.infer_files`): two are read at a time (`mapped`, results in
order, bounded by items and by pixels) and two merged and written at a time (`workers`), so that both
cores work while the network waits for its first batch and after its last one:

    with workers(2, "finish") as finishing, closing(mapped(read, paths, depth, 2)) as items:
        for item in items:                               # in the order of `paths`
            ...                                          # batches through the network here
            futures.append(finishing.submit(merge_and_write, item, ab))   # taken in order after

The stages overlap: while the network colors one batch, the next photos are decoded and their L
computed, and the last ones are merged, encoded and written. NumPy, TensorFlow, FFmpeg, libjpeg and
zlib release the interpreter while they work, so on two cores the stages run side by side. Each stage
sees its items in the order they came; what a stage raises comes out in the caller's thread (a writing
error at the next `submit` of the stage that hands it work), and leaving early (an error, Ctrl-C)
stops the other threads before anything is closed.
"""

import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

DEPTH = 16  # items a stage may run ahead of (or behind) the network: bounds the memory in flight

_END = object()


def ahead(iterable, depth: int = DEPTH):
    """Iterate `iterable` on a thread of its own, at most `depth` items ahead of the loop, in order.

    What the iterable raises is raised by the loop, at that point of the sequence. Leaving the loop
    early (`break`, an exception) stops the thread and waits for it, once the generator is closed:
    `with contextlib.closing(ahead(...)) as items:` closes it on leaving the block, so whatever the
    iterable reads from (a video file) can be closed right after."""
    items = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                items.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in iterable:
                if not put((True, item)):
                    return
            put((True, _END))
        except BaseException as err:  # handed to the loop, raised there
            put((False, err))

    thread = threading.Thread(target=produce, name="colornet-read", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = items.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def mapped(fn, iterable, depth: int = DEPTH, workers: int = 2, weight=None, budget: float = 0):
    """`fn(item)` for each item of `iterable`, in order, computed on `workers` threads up to `depth`
    items ahead of the loop: files of a folder read and prepared on both cores while the network
    waits for its first batch, and kept ahead of it after.

    `weight(result)` and `budget` also bound the memory: no item is started while the results done
    and not yet taken weigh `budget` or more (the pixels of large photos). What `fn` raises is
    raised by the loop at that item. Leaving the loop early drops the calls not started and waits
    for the running ones, once the generator is closed (`with contextlib.closing(mapped(...))`)."""
    items, pending = iter(iterable), deque()
    held, changed, stop = [0], threading.Condition(), threading.Event()

    def run(item):
        if weight is None or not budget:
            return fn(item), 0
        with changed:  # items start in order: the loop's next one never waits on later ones
            while held[0] >= budget and not stop.is_set():
                changed.wait(0.05)
        if stop.is_set():
            return None, 0
        result = fn(item)
        load = weight(result)
        with changed:
            held[0] += load
        return result, load

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="colornet-read")
    try:
        while True:
            while len(pending) < depth:
                item = next(items, _END)
                if item is _END:
                    break
                pending.append(pool.submit(run, item))
            if not pending:
                return
            result, load = pending.popleft().result()
            with changed:
                held[0] -= load
                changed.notify_all()
            yield result
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def workers(count: int, name: str):
    """A pool of `count` threads for calls whose futures a later stage waits on (merges that the
    writing stage takes in order). Leaving the block drops the calls not started and waits for the
    running ones: leave the stages that wait on them first."""
    pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix=name)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class behind:
    """Calls run in order on a thread of their own, at most `depth` behind the caller.

    `submit(fn, *args)` waits only when `depth` calls are pending. What a call raises is raised by
    a later `submit` or on leaving the `with` block; leaving it with an error drops the calls not
    yet started and waits for the running one, so the caller may close what they write to."""

    def __init__(self, depth: int = DEPTH):
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colornet-write")
        self._pending = deque()

    def submit(self, fn, *args) -> None:
        self._collect(keep=self.depth - 1)
        self._pending.append(self._pool.submit(fn, *args))

    def _collect(self, keep: int) -> None:
        """Wait until at most `keep` calls are pending, and raise what a finished one raised."""
        while self._pending and (self._pending[0].done() or len(self._pending) > keep):
            self._pending.popleft().result()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        try:
            if kind is None:
                self._collect(keep=0)
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pending.clear()
        return False


def padded(batch, size: int):
    """`batch` (an array `(n, ...)`) repeated at its end to `size` items: a network compiled for one
    batch size is not traced again for a short last batch (items are colored one by one, so the
    repeats change nothing)."""
    n = len(batch)
    if n >= size:
        return batch
    return np.concatenate([batch, np.repeat(batch[-1:], size - n, axis=0)])
