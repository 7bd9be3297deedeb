"""`colornet video` and `colorize_video`: frames, size, frame rate and audio kept, L kept, scene cuts
found, less flicker with smoothing, one-line errors, no half-written output."""

import os

import av
import numpy as np
import pytest
from PIL import Image

from colornet import cli
from colornet.color import rgb_to_lab
from colornet.errors import VideoError
from colornet.temporal import FlickerMeter, TemporalSmoother
from colornet.video import colorize_video

from conftest import bundled_photo

W, H, FPS, FRAMES, CUT = 64, 48, 12, 48, 24  # a 4-second clip, cut to another photo at frame 24
SAMPLE_RATE = 16000


def scene(name: str, i: int) -> np.ndarray:
    """Frame `i` of a shot: a bundled photo with a dark square and a light disc moving over it."""
    photo = np.asarray(Image.fromarray(bundled_photo(name)).resize((W, H), Image.BILINEAR)).copy()
    x = 4 + i % CUT
    photo[10:22, x : x + 12] = (40, 40, 40)
    yy, xx = np.mgrid[:H, :W]
    photo[(yy - 34) ** 2 + (xx - (60 - i % CUT * 2)) ** 2 < 36] = (230, 220, 200)
    return photo


def write_clip(
    path, frames: int = FRAMES, audio: bool = True, video: bool = True, bt709: bool = False
) -> list[np.ndarray]:
    """An H.264 clip of moving shapes over `astronaut`, then over `coffee` (a cut), with a 440 Hz
    AAC tone; returns the frames written. `bt709`: YUV by the BT.709 matrix, tagged so (HD video)."""
    written = []
    with av.open(str(path), "w") as out:
        if video:
            stream = out.add_stream("libx264", rate=FPS)
            stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
            stream.options = {"crf": "12"}
            if bt709:
                for name in ("colorspace", "color_primaries", "color_trc"):
                    setattr(stream.codec_context, name, 1)  # AVCOL_*_BT709
        if audio:
            sound = out.add_stream("aac", rate=SAMPLE_RATE)
        for i in range(frames if video else 0):
            rgb = scene("astronaut" if i < CUT else "coffee", i)
            written.append(rgb)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame = frame.reformat(format="yuv420p", dst_colorspace=1 if bt709 else None)
            frame.pts = i
            out.mux(stream.encode(frame))
        if video:
            out.mux(stream.encode(None))
        if audio:
            t = np.arange(SAMPLE_RATE * frames // FPS) / SAMPLE_RATE
            tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
            for k in range(0, len(tone), 1024):
                frame = av.AudioFrame.from_ndarray(tone[None, k : k + 1024], format="s16", layout="mono")
                frame.sample_rate, frame.pts = SAMPLE_RATE, k
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return written


def read_frames(path) -> tuple[list[np.ndarray], dict]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {
            "size": (stream.codec_context.width, stream.codec_context.height),
            "fps": float(stream.average_rate),
            "audio": [s.codec_context.name for s in container.streams.audio],
            "audio_seconds": [float(s.duration * s.time_base) for s in container.streams.audio if s.duration],
        }
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    return frames, info


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    frames = write_clip(path)
    return path, frames


@pytest.fixture(scope="module")
def colorized(clip, tmp_path_factory):
    """The clip colorized with the provided Beta, with and without smoothing."""
    folder = tmp_path_factory.mktemp("colorized")
    summaries = {
        s: colorize_video(clip[0], folder / f"smoothing_{s}.mp4", "beta", smoothing=s) for s in (0.0, 0.6)
    }
    return summaries


def test_output_keeps_frames_size_fps_and_audio(colorized):
    summary = colorized[0.6]
    frames, info = read_frames(summary.output)
    assert len(frames) == summary.frames == FRAMES
    assert info["size"] == (W, H) and info["fps"] == pytest.approx(FPS)
    assert info["audio"] == ["aac"] and summary.audio == "copied"
    assert info["audio_seconds"][0] == pytest.approx(FRAMES / FPS, abs=0.15)
    assert not [f for f in os.listdir(os.path.dirname(summary.output)) if f.endswith(".partial")]


def test_lightness_kept(clip, colorized):
    _, original = clip
    frames, _ = read_frames(colorized[0.6].output)
    L_in = np.asarray(rgb_to_lab(np.stack(original)))[..., 0]
    L_out = np.asarray(rgb_to_lab(np.stack(frames)))[..., 0]
    assert np.mean(np.abs(L_out - L_in)) < 2.5  # two lossy H.264 encodes between them
    chroma = np.linalg.norm(np.asarray(rgb_to_lab(np.stack(frames)))[..., 1:], axis=-1)
    assert chroma.mean() > 2  # colorized, not gray


def test_bt709_video_read_and_written_by_its_own_matrix(tmp_path):
    original = write_clip(tmp_path / "hd.mp4", frames=6, audio=False, bt709=True)
    colorize_video(tmp_path / "hd.mp4", tmp_path / "out.mkv", "beta")
    with av.open(str(tmp_path / "out.mkv")) as container:
        first = next(container.decode(video=0))
        assert (first.colorspace, first.color_primaries, first.color_trc) == (1, 1, 1)
    frames, _ = read_frames(tmp_path / "out.mkv")  # decoded by the tagged matrix
    L_in = np.asarray(rgb_to_lab(np.stack(original)))[..., 0]
    L_out = np.asarray(rgb_to_lab(np.stack(frames)))[..., 0]
    assert np.mean(np.abs(L_out - L_in)) < 2.5


def test_cut_found_and_smoothing_lowers_flicker(colorized):
    assert colorized[0.0].cuts == colorized[0.6].cuts == [CUT]
    off, on = colorized[0.0].flicker, colorized[0.6].flicker
    assert on < 0.8 * off, (off, on)
    # The measure of the written file agrees with the one printed (both after the cut is skipped).
    meter = FlickerMeter()
    for frame in read_frames(colorized[0.6].output)[0]:
        meter.add(frame)
    assert meter.value == pytest.approx(on, rel=0.35)


def test_smoother_restarts_at_cuts():
    smooth = TemporalSmoother(0.5)
    assert smooth(np.ones((2, 2, 2)))[0, 0, 0] == 1
    assert smooth(np.zeros((2, 2, 2)))[0, 0, 0] == 0.5
    assert smooth(np.full((2, 2, 2), 4.0), cut=True)[0, 0, 0] == 4


def test_start_and_duration_through_the_command_line(clip, tmp_path, capsys):
    out = tmp_path / "piece.mkv"
    args = ["video", str(clip[0]), str(out), "--model", "beta", "--start", "1", "--duration", "1.5"]
    assert cli.main(args) == 0
    frames, info = read_frames(out)
    assert len(frames) == 18 and info["size"] == (W, H)
    assert info["audio"] == ["aac"]
    assert "18 frames" in capsys.readouterr().out
    # An existing output is kept, as colorize does, unless --overwrite.
    stamp = out.stat().st_mtime_ns
    assert cli.main(args) == 0
    assert "already exists: kept (--overwrite replaces it)" in capsys.readouterr().out
    assert out.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "no such file"),
        ("text", "not a video FFmpeg can read"),
        ("audio only", "has no video stream"),
        ("photo", "is a photo"),
        ("output extension", "name the output"),
    ],
)
def test_bad_inputs_fail_in_one_line(case, expected, tmp_path, capsys):
    source, output = tmp_path / "in.mp4", tmp_path / "out.mp4"
    if case == "text":
        source.write_text("not a video\n")
    elif case == "audio only":
        source = tmp_path / "tone.m4a"
        write_clip(source, video=False)
    elif case == "photo":
        source = tmp_path / "photo.png"
        Image.fromarray(bundled_photo("coffee")).save(source)
    elif case == "output extension":
        write_clip(source, frames=2, audio=False)
        output = tmp_path / "out.txt"
    assert cli.main(["video", str(source), str(output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert err.startswith("colornet video: error: ") and (str(source) in err or str(output) in err)
    assert not output.exists()


@pytest.mark.parametrize(
    "option, expected",
    [
        (["--smoothing", "1"], "--smoothing 1: use a number from 0"),
        (["--smoothing", "-0.1"], "--smoothing -0.1:"),
        (["--duration", "-2"], "--duration -2: use a length in seconds, more than 0"),
        (["--start", "-1"], "--start -1:"),
        (["--start", "100"], "no frames from 100 s on"),
    ],
)
def test_bad_options_fail_in_one_line(clip, option, expected, tmp_path, capsys):
    assert cli.main(["video", str(clip[0]), str(tmp_path / "out.mp4"), *option]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: {clip[0]}: " in err and expected in err
    assert os.listdir(tmp_path) == []


def test_preset_reaches_the_encoder_and_a_bad_one_fails_in_one_line(clip, tmp_path, capsys):
    def x264_settings(path):  # x264 writes its settings into the stream ("... subme=7 ...")
        data = (tmp_path / path).read_bytes()
        return data[data.index(b"x264 - core") :][:2000]

    colorize_video(clip[0], tmp_path / "fast.mp4", "beta", duration=0.5)  # the default: veryfast
    assert cli.main(["video", str(clip[0]), str(tmp_path / "small.mp4"), "--model", "beta", "--duration", "0.5",
                     "--preset", "medium"]) == 0  # fmt: skip
    assert b" subme=2 " in x264_settings("fast.mp4") and b" subme=7 " in x264_settings("small.mp4")
    capsys.readouterr()
    assert cli.main(["video", str(clip[0]), str(tmp_path / "x.mp4"), "--preset", "quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: {clip[0]}: --preset quick: use one of ultrafast, " in err
    with pytest.raises(VideoError, match=r"clip.mp4: --preset quick: use one of ultrafast, .*, veryslow\.$"):
        colorize_video(clip[0], tmp_path / "x.mp4", "beta", preset="quick")
    assert not (tmp_path / "x.mp4").exists()


def test_audio_re_encoded_where_the_container_cannot_copy_it(clip, tmp_path):
    summary = colorize_video(clip[0], tmp_path / "out.webm", "beta", duration=1)
    frames, info = read_frames(tmp_path / "out.webm")
    assert summary.audio == "re-encoded" and info["audio"] == ["opus"]
    assert len(frames) == FPS and info["size"] == (W, H)


def test_no_partial_output_after_an_error(clip, tmp_path, monkeypatch):
    import colornet.video as video

    calls, original = [], video.frames420.merge_420

    def failing_merge(planes, ab):
        calls.append(1)
        if len(calls) > 10:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the film
        return original(planes, ab)

    monkeypatch.setattr(video.frames420, "merge_420", failing_merge)
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        colorize_video(clip[0], out, "beta", batch_size=4)
    assert os.listdir(tmp_path) == []
    with pytest.raises(VideoError, match="choose another output"):
        colorize_video(clip[0], clip[0], "beta", overwrite=True)


def test_temperature_and_undo_rebalancing_reach_the_decoding(tmp_path, capsys):
    from test_zhang import save_tiny_zhang

    from conftest import save_tiny_beta

    source = str(tmp_path / "in.mp4")
    write_clip(source, frames=4, audio=False)
    zhang = save_tiny_zhang(tmp_path / "z.weights.h5")
    chroma = {}
    for t in (1.0, 0.05):
        out = tmp_path / f"t{t}.mkv"
        assert cli.main(["video", source, str(out), "--model", zhang, "--temperature", str(t)]) == 0
        frames, _ = read_frames(out)
        chroma[t] = np.linalg.norm(np.asarray(rgb_to_lab(np.stack(frames)))[..., 1:], axis=-1).mean()
    assert chroma[0.05] > 1.5 * chroma[1.0], chroma  # toward the mode: more vivid than the mean
    capsys.readouterr()
    # undoing the rebalancing needs the prior the weights were trained with; none is named: one line
    out = tmp_path / "undone.mkv"
    assert cli.main(["video", source, str(out), "--model", zhang, "--undo-rebalancing", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--undo-rebalancing 0" in err and not out.exists()
    # a model that predicts colors directly: a note, and the video as without a temperature
    beta = save_tiny_beta(tmp_path / "b.weights.h5")
    colorize_video(source, tmp_path / "b.mkv", beta, temperature=0.5)
    assert "note: --temperature is ignored" in capsys.readouterr().err
