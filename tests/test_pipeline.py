"""Stages on threads (`colornet.pipeline`): order kept, errors raised in the caller, threads stopped
when the loop is left; and the pipelined video path gives the frames the frame-by-frame path gave."""

import itertools
import threading
import time

import av
import numpy as np
import pytest
from test_video import write_clip

from colornet.images import Photo
from colornet.pipeline import ahead, behind, mapped, padded, workers
from colornet.predict import finish, load_colorizer, prepare_for
from colornet.temporal import CUT_THRESHOLD, SMOOTHING, CutDetector, TemporalSmoother
from colornet.video import colorize_video


def test_ahead_keeps_the_order_and_reads_ahead():
    read = []

    def items():
        for i in range(50):
            read.append(i)
            yield i

    seen = []
    for i in ahead(items(), depth=4):
        if i == 0:
            deadline = time.monotonic() + 10
            while len(read) < 5 and time.monotonic() < deadline:  # the thread fills the queue
                time.sleep(0.01)
            assert 5 <= len(read) <= 6  # 4 queued + 1 taken, and at most one more being put
        seen.append(i)
    assert seen == list(range(50))


def test_ahead_raises_the_iterables_error_at_its_place():
    def items():
        yield 1
        yield 2
        raise ValueError("bad frame")

    seen = []
    with pytest.raises(ValueError, match="bad frame"):
        for i in ahead(items()):
            seen.append(i)
    assert seen == [1, 2]


def test_leaving_ahead_early_stops_its_thread():
    def items():
        yield from itertools.count()

    before = threading.active_count()
    loop = ahead(items(), depth=2)
    for i in loop:
        if i == 3:
            break
    loop.close()  # as a `for` loop's generator is closed when it is dropped
    assert threading.active_count() == before
    assert not any(t.name == "colornet-read" for t in threading.enumerate())


def test_mapped_keeps_the_order_on_two_threads_and_reads_ahead():
    started, threads = [], set()

    def slow_square(i):
        started.append(i)
        threads.add(threading.current_thread().name)
        time.sleep(0.002 * (i % 3))  # later items often finish first
        return i * i

    seen = []
    for value in mapped(slow_square, range(40), depth=5, workers=2):
        if not seen:
            deadline = time.monotonic() + 10
            while len(started) < 5 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(started) == 5  # the first 5 started, no more before the loop takes the next
        seen.append(value)
    assert seen == [i * i for i in range(40)]
    assert len(threads) == 2 and all(name.startswith("colornet-read") for name in threads)


def test_mapped_stops_reading_ahead_at_its_budget():
    started = []

    def read(i):
        started.append(i)
        return i

    loop = mapped(read, range(20), depth=10, workers=1, weight=lambda item: 100, budget=250)
    assert next(loop) == 0
    deadline = time.monotonic() + 10
    while len(started) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    # items 1 to 3 done and not taken weigh 300 >= 250: the fifth is not started
    assert started == [0, 1, 2, 3]
    assert list(loop) == list(range(1, 20))


def test_mapped_raises_at_the_item_and_leaving_early_stops_its_threads():
    def read(i):
        if i == 3:
            raise ValueError(f"bad photo {i}")
        return i

    seen = []
    with pytest.raises(ValueError, match="bad photo 3"):
        for i in mapped(read, range(10), depth=4):
            seen.append(i)
    assert seen == [0, 1, 2]

    before = threading.active_count()
    loop = mapped(lambda i: i, itertools.count(), depth=3)
    for i in loop:
        if i == 5:
            break
    loop.close()
    assert threading.active_count() == before
    assert not any(t.name.startswith("colornet-read") for t in threading.enumerate())


def test_behind_runs_calls_in_order_and_raises_their_errors():
    done = []
    with behind(depth=3) as stage:
        for i in range(20):
            stage.submit(done.append, i)
    assert done == list(range(20))

    def failing(i):
        if i == 2:
            raise OSError("disk full")
        done.append(i)

    done.clear()
    with pytest.raises(OSError, match="disk full"):
        with behind(depth=2) as stage:
            for i in range(100):
                stage.submit(failing, i)
    assert done[:2] == [0, 1] and 2 not in done
    assert len(done) < 100  # the calls after the error were dropped


def test_workers_run_calls_at_once_and_leaving_drops_those_not_started():
    gate, started = threading.Event(), []

    def call(i):
        started.append(i)
        gate.wait(10)
        return i

    with workers(2, "colornet-finish") as pool:
        futures = [pool.submit(call, i) for i in range(6)]
        deadline = time.monotonic() + 10
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(started) == [0, 1]  # two at once
        gate.set()
        assert [f.result() for f in futures] == list(range(6))

    gate.clear()
    started.clear()
    with pytest.raises(KeyboardInterrupt):
        with workers(1, "colornet-finish") as pool:
            futures = [pool.submit(call, i) for i in range(5)]
            threading.Timer(0.2, gate.set).start()
            raise KeyboardInterrupt
    assert started == [0] and all(f.cancelled() for f in futures[1:])


def test_padded_repeats_the_last_item():
    batch = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = padded(batch, 5)
    assert out.shape == (5, 2) and np.array_equal(out[:3], batch) and np.array_equal(out[3], batch[2])
    assert padded(batch, 3) is batch


def frame_by_frame(path, colorizer, smoothing=SMOOTHING):
    """The video path frame by frame, as it was before the stages: one frame at a time through the
    network called layer by layer, cuts and smoothing, the full-resolution merge."""
    cuts, smoother, frames = CutDetector(CUT_THRESHOLD), TemporalSmoother(smoothing), []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
            prepared = prepare_for(colorizer, Photo(rgb=rgb))
            ab = colorizer.predict_ab(prepared.canvas[None])[0]
            h, w = prepared.content
            frames.append(finish(prepared, smoother(ab, cuts(prepared.canvas[:h, :w, 0])), np.uint8))
    return frames


def test_pipelined_video_gives_the_frame_by_frame_colors(tmp_path, monkeypatch):
    import colornet.video as video

    clip = tmp_path / "clip.mp4"
    write_clip(clip, frames=30)
    monkeypatch.setattr(video, "CHROMA_GRID", False)  # every frame merged in RGB at full resolution
    written, to_yuv = [], video.to_yuv

    def spy(rgb, stream, color):  # the colored frames, as they go to the encoder
        written.append(rgb.copy())
        return to_yuv(rgb, stream, color)

    monkeypatch.setattr(video, "to_yuv", spy)
    colorizer = load_colorizer("beta")
    summary = colorize_video(clip, tmp_path / "out.mp4", colorizer, batch_size=8)  # 8 + 8 + 8 + 6
    expected = frame_by_frame(clip, colorizer)
    assert summary.frames == len(written) == len(expected) == 30
    assert summary.cuts == [24]
    for got, want in zip(written, expected):
        difference = np.abs(got.astype(int) - want.astype(int))
        assert difference.max() <= 1  # the compiled graph rounds a few colors the other way at most
        assert difference.mean() < 0.01
