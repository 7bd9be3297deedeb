"""Video frames colored on the chroma grid (`colornet.frames420`): which frames take the path, the
color math against FFmpeg's, gray colors that leave a frame as it was, the lightness kept, and the
whole video against the RGB path at full resolution."""

import av
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colornet import frames420, fullres, grid_sizes
from colornet.color import lab_to_linear_planes, rgb_to_lab
from colornet.predict import load_colorizer

from conftest import bundled_photo


def yuv_frame(rgb, colorspace=None, full_range=False) -> av.VideoFrame:
    """uint8 RGB -> a yuv420p (or yuvj420p) frame converted by FFmpeg, tagged with its matrix."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    out = frame.reformat(
        format="yuvj420p" if full_range else "yuv420p",
        dst_colorspace=colorspace,
        dst_color_range=2 if full_range else None,
    )
    if colorspace:
        out.colorspace = colorspace
    return out


def gray_photo(name="chelsea", size=(128, 96)) -> np.ndarray:
    gray = np.asarray(Image.fromarray(bundled_photo(name)).convert("L").resize(size, Image.BILINEAR))
    return np.repeat(gray[..., None], 3, axis=-1)


def test_only_8_bit_420_frames_of_a_known_matrix_take_the_chroma_grid():
    rgb = np.zeros((6, 10, 3), np.uint8)
    assert frames420.matrix_of(yuv_frame(rgb)) == (0.299, 0.114, False)  # unspecified: BT.601
    assert frames420.matrix_of(yuv_frame(rgb, colorspace=1)) == (0.2126, 0.0722, False)  # BT.709
    assert frames420.matrix_of(yuv_frame(rgb, full_range=True)).full_range
    tagged = yuv_frame(rgb)
    tagged.color_range = 2
    assert frames420.matrix_of(tagged).full_range  # yuv420p tagged as full range
    assert frames420.supported(yuv_frame(rgb), "yuv420p")
    assert not frames420.supported(yuv_frame(rgb), "yuv444p")  # an output that keeps all the chroma
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    assert frames420.matrix_of(frame) is None
    assert frames420.matrix_of(frame.reformat(format="yuv444p")) is None
    assert frames420.matrix_of(frame.reformat(format="yuv420p10le")) is None
    odd = av.VideoFrame.from_ndarray(np.zeros((7, 11, 3), np.uint8), format="rgb24").reformat(
        format="yuv420p"
    )
    assert frames420.matrix_of(odd) is None
    constant_luminance = yuv_frame(rgb)
    constant_luminance.colorspace = 10  # BT.2020 constant luminance: not a plain matrix
    assert frames420.matrix_of(constant_luminance) is None


COLORS = [
    (200, 40, 30),
    (30, 160, 60),
    (40, 70, 200),
    (230, 200, 60),
    (128, 128, 128),
    (250, 250, 250),
    (5, 5, 5),
]


@pytest.mark.parametrize("colorspace, full_range", [(None, False), (1, False), (None, True)])
def test_the_color_math_agrees_with_ffmpeg(colorspace, full_range):
    for color in COLORS:
        frame = yuv_frame(np.full((4, 4, 3), color, np.uint8), colorspace, full_range)
        planes = frames420.planes_of(frame)
        k = planes.matrix.constants()
        cb, cr = (np.float32(c) for c in frame.to_ndarray()[4:].reshape(2, 2, 2)[:, 0, 0])
        ours = np.stack(frames420._to_rgb(planes.pooled, cb, cr, k), -1)[0, 0] * 255
        theirs = frame.to_ndarray(format="rgb24")[0, 0]  # FFmpeg's, truncated
        assert np.abs(ours - theirs).max() < 3.5, (color, ours, theirs)
        assert np.abs(ours - color).max() < 2.5, (color, ours)  # the color the frame was made of
        codes = np.float32([planes.pooled[0, 0], cb, cr])
        assert np.allclose(np.stack(frames420._to_codes(*(ours / 255), k)), codes, atol=0.02)  # both ways
        L = np.asarray(rgb_to_lab(np.float32(ours)[None] / 255))[0, 0]
        assert planes.L[0, 0] == pytest.approx(L, abs=1e-3)  # the L on the grid is the L of that color


def test_gray_colors_leave_a_frame_as_it_was():
    planes = frames420.planes_of(yuv_frame(gray_photo()))
    y, cb, cr, rgb = frames420.merge_420(planes, np.zeros((12, 16, 2), np.float32))
    assert np.array_equal(y, planes.y)
    assert np.all(cb == 128) and np.all(cr == 128)
    assert rgb.shape == (48, 64, 3) and np.all(rgb.max(-1) - rgb.min(-1) <= 1)


@pytest.mark.parametrize("colorspace, full_range", [(None, False), (1, True)])
def test_a_colored_frame_keeps_its_lightness_and_takes_the_colors(colorspace, full_range):
    gray = gray_photo()
    planes = frames420.planes_of(yuv_frame(gray, colorspace, full_range))
    ab = np.broadcast_to(np.float32([20.0, 30.0]), (12, 16, 2))  # an orange, everywhere
    y, cb, cr, _ = frames420.merge_420(planes, ab)
    out = frames420.to_frame(y, cb, cr, planes.matrix, colorspace or 2)
    assert (out.format.name, out.colorspace, out.color_range) == (
        "yuv420p",
        colorspace or 2,
        2 if full_range else 1,
    )
    lab = np.asarray(rgb_to_lab(out.to_ndarray(format="rgb24")))
    L_in = np.asarray(rgb_to_lab(gray))[..., 0]
    assert np.abs(lab[..., 0] - L_in).mean() < 1.0  # FFmpeg truncates on the way back: ~0.5 of it
    mid = (L_in > 35) & (L_in < 75)  # where an orange of chroma 36 fits in sRGB
    assert np.abs(lab[mid][:, 1:].mean(0) - [20, 30]).max() < 2.5


def test_colors_outside_the_gamut_are_fitted_as_the_rgb_path_fits_them():
    gray = gray_photo(size=(512, 384))  # a grid of 256 x 192: more colors outside than one chunk
    planes = frames420.planes_of(yuv_frame(gray))
    ab = np.zeros((12, 16, 2), np.float32)
    ab[:, :8], ab[:, 8:] = (90.0, -90.0), (-80.0, 90.0)  # a violet and a yellow-green sRGB cannot show
    y, cb, cr, rgb = frames420.merge_420(planes, ab)
    on_grid = tf.image.resize(ab[None], planes.L.shape)[0].numpy().reshape(-1, 2)
    L = planes.L.reshape(-1)
    linear = lab_to_linear_planes(L, on_grid[:, 0], on_grid[:, 1])
    outside = np.any([(np.asarray(c) <= 0) | (np.asarray(c) >= 1) for c in linear], axis=0)
    assert outside.sum() > frames420.FIT_SIZES[-1]
    # there the chroma is reduced, hue and L kept, as the RGB path at full resolution does
    expected = fullres.fit_in_gamut(L[outside], on_grid[outside], frames420.FIT_SIZES)  # compiled once
    got = rgb.reshape(-1, 3)[outside].astype(np.float32)
    assert np.abs(got - expected * 255).max() <= 1.0
    lab = np.asarray(rgb_to_lab(frames420.to_frame(y, cb, cr, planes.matrix, 2).to_ndarray(format="rgb24")))
    assert np.abs(lab[..., 0] - np.asarray(rgb_to_lab(gray))[..., 0]).mean() < 1.0


def test_a_photos_pixels_hold_its_planes_and_planes_made_by_hand_merge_alike():
    """`merge_420_pixels` (a JPEG's output) holds the planes `merge_420` gives, each chroma sample
    over its 2 x 2 block; planes without their tensors (made by hand) give the same output."""
    planes = frames420.planes_of(yuv_frame(gray_photo(), full_range=True))
    ab = np.zeros((12, 16, 2), np.float32)
    ab[:, :8], ab[:, 8:] = (70.0, 20.0), (-30.0, 60.0)  # a red partly outside the gamut, a green
    y, cb, cr, _ = frames420.merge_420(planes, ab)
    pixels = frames420.merge_420_pixels(planes, ab)
    assert pixels.shape == (96, 128, 4) and pixels.dtype == np.uint8
    assert np.array_equal(pixels[..., 0], y) and not pixels[..., 3].any()
    for channel, plane in ((1, cb), (2, cr)):
        for dy in (0, 1):
            for dx in (0, 1):
                assert np.array_equal(pixels[dy::2, dx::2, channel], plane)
    assert len(np.unique(cr)) > 2  # colors, not a gray
    by_hand = frames420.Planes(planes.y, planes.pooled, planes.L, planes.matrix)
    assert not by_hand.tensors
    again = frames420.merge_420(by_hand, ab)
    assert all(np.array_equal(a, b) for a, b in zip(again, (y, cb, cr)))
    assert np.array_equal(frames420.merge_420_pixels(by_hand, ab), pixels)


@pytest.mark.parametrize("size", [(130, 98), (318, 202), (36, 20)])  # grids 65x49, 159x101, 18x10
def test_planes_padded_for_the_merge_give_the_same_output(size, tmp_path, monkeypatch):
    """Planes padded to a larger grid (`planes_from(padded=True)`, photos of many sizes sharing the
    merge's compiled functions) give every output pixel as unpadded planes do, bit for bit, vivid
    colors outside the gamut included; the padded pixels are written as a JPEG as they are."""
    from colornet.images_save import save_ycbcr

    grid = (size[1] // 2, size[0] // 2)
    monkeypatch.setattr(grid_sizes, "_SIZES", {(grid[0] + 7, grid[1] + 5)})  # a size that holds it
    monkeypatch.setattr(grid_sizes, "_ASKED", {})
    gray = gray_photo("coffee", size)
    planes = frames420.planes_of(yuv_frame(gray, 1))
    y, cb, cr = (np.ascontiguousarray(p) for p in (planes.y, *frames420.planes_420(yuv_frame(gray, 1))[1:]))
    padded = frames420.planes_from(y, cb, cr, planes.matrix, padded=True)
    assert padded.tensors[0].shape == (2 * grid[0] + 14, 2 * grid[1] + 10) and padded.y.shape == y.shape
    assert np.array_equal(padded.L, planes.L) and np.array_equal(padded.pooled, planes.pooled)
    rng = np.random.default_rng(0)
    ab = rng.normal(0.0, 60.0, (9, 12, 2)).astype(np.float32)  # many colors outside the gamut
    for ours, theirs in zip(frames420.merge_420(padded, ab), frames420.merge_420(planes, ab)):
        assert np.array_equal(ours, theirs)
    pixels = frames420.merge_420_pixels(padded, ab)
    assert not pixels.flags.c_contiguous  # a view of the padded lines
    assert np.array_equal(pixels, frames420.merge_420_pixels(planes, ab))
    save_ycbcr(tmp_path / "view.jpg", pixels)
    save_ycbcr(tmp_path / "copy.jpg", np.ascontiguousarray(pixels))
    assert (tmp_path / "view.jpg").read_bytes() == (tmp_path / "copy.jpg").read_bytes()


def test_grids_of_many_sizes_share_a_few_padded_sizes(monkeypatch):
    """`padded_size`: a grid takes its own size when it is the first or was asked for
    `OWN_SIZE_AFTER` times, else a size handed out before that holds it with at most `MAX_PADDING`
    times its pixels, else a new one made to hold earlier ones too where it can."""
    monkeypatch.setattr(grid_sizes, "_SIZES", set())
    monkeypatch.setattr(grid_sizes, "_ASKED", {})
    monkeypatch.setattr(grid_sizes, "OWN_SIZE_AFTER", 4)
    assert grid_sizes.padded_size(432, 576) == (432, 576)  # the first: its own
    assert grid_sizes.padded_size(400, 500) == (432, 576)  # held with 1.2 times its pixels
    assert grid_sizes.padded_size(200, 300) == (208, 320)  # 4.1 times: too many, a new size (rounded)
    assert grid_sizes.padded_size(470, 560) == (480, 576)  # rounded, and holds (432, 576) as well
    assert grid_sizes.padded_size(440, 570) == (480, 576)
    assert grid_sizes.padded_size(432, 576) == (432, 576)  # handed out before
    sizes = [grid_sizes.padded_size(400, 500) for _ in range(3)]
    assert sizes == [(432, 576), (432, 576), (400, 500)]  # its own from the 4th time
    monkeypatch.setattr(grid_sizes, "_SIZES", set())
    monkeypatch.setattr(grid_sizes, "_ASKED", {})
    monkeypatch.setattr(grid_sizes, "OWN_SIZE_AFTER", 64)
    rng = np.random.default_rng(0)
    for _ in range(200):  # photos of 0.5 to 1.4 MP, either way up
        h, w = rng.integers(300, 500), rng.integers(400, 700)
        h, w = (h, w) if rng.random() < 0.6 else (w, h)
        ph, pw = grid_sizes.padded_size(int(h), int(w))
        assert ph >= h and pw >= w and ph * pw <= grid_sizes.MAX_PADDING * h * w
    assert len(grid_sizes._SIZES) <= 10  # (3 here, for 69 sizes once rounded)


BT601 = frames420.Matrix(0.299, 0.114, False)


def lab_of(y, cb, cr, matrix=BT601):
    """CIE Lab of 4:2:0 planes, each chroma sample held over its 2 x 2 pixels (exact math, no rounding)."""
    cb, cr = (np.repeat(np.repeat(c, 2, 0), 2, 1).astype(np.float32) for c in (cb, cr))
    rgb = frames420._to_rgb(y.astype(np.float32), cb, cr, matrix.constants())
    return np.asarray(rgb_to_lab(np.stack(rgb, axis=-1)))


def test_the_video_path_on_the_grid_gives_the_rgb_paths_colors_and_keeps_lightness_better(
    tmp_path, monkeypatch
):
    """The frames that reach the encoder through the chroma grid and through the RGB merge at full
    resolution (then FFmpeg's conversion to 4:2:0): the same colors within a fraction of a Lab unit,
    and the grid's lightness nearer the original's (FFmpeg's conversions truncate: the RGB path's
    luma is about one level low)."""
    from test_video import write_clip

    import colornet.video as video

    clip = tmp_path / "clip.mp4"
    original = write_clip(clip, frames=16, audio=False)
    colorizer = load_colorizer("beta")
    frames, to_frame, to_yuv = {True: [], False: []}, video.frames420.to_frame, video.to_yuv

    def spy_grid(y, cb, cr, matrix, colorspace):
        frames[True].append(lab_of(y, cb, cr, matrix))
        return to_frame(y, cb, cr, matrix, colorspace)

    def spy_rgb(rgb, stream, color):
        frame = to_yuv(rgb, stream, color)
        packed, h = frame.to_ndarray(), rgb.shape[0]
        cb, cr = packed[h : h + h // 4].reshape(h // 2, -1), packed[h + h // 4 :].reshape(h // 2, -1)
        frames[False].append(lab_of(packed[:h], cb, cr))
        return frame

    monkeypatch.setattr(video.frames420, "to_frame", spy_grid)
    monkeypatch.setattr(video, "to_yuv", spy_rgb)
    for grid in (True, False):
        monkeypatch.setattr(video, "CHROMA_GRID", grid)
        video.colorize_video(clip, tmp_path / f"out_{grid}.mp4", colorizer, overwrite=True)
    assert len(frames[True]) == len(frames[False]) == 16
    for grid, full, rgb in zip(frames[True], frames[False], original):
        L_true = np.asarray(rgb_to_lab(rgb))[..., 0]
        error_grid, error_full = (np.abs(lab[..., 0] - L_true).mean() for lab in (grid, full))
        assert error_grid < 0.7 and error_grid <= error_full + 0.05, (error_grid, error_full)
        assert np.abs(grid[..., 1:] - full[..., 1:]).mean() < 0.5  # the same colors (Lab units)
        assert np.abs(grid[..., 1:]).mean() > 2  # colored


@pytest.mark.parametrize(
    "pix_fmt, grid", [("yuvj420p", True), ("yuv422p", False), ("yuv444p", False), ("yuv420p10le", False)]
)
def test_frames_of_every_format_keep_their_lightness_on_their_path(pix_fmt, grid, tmp_path, monkeypatch):
    """Full-range 4:2:0 takes the chroma grid; 4:2:2, 4:4:4 and 10-bit frames the RGB merge; each keeps
    the frames' lightness and comes out as 4:2:0 H.264."""
    from test_video import FPS, H, W, read_frames, scene

    import colornet.video as video

    clip, original = tmp_path / "in.mkv", []
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        stream.options = {"crf": "12"}
        for i in range(8):
            original.append(scene("astronaut", i))
            frame = av.VideoFrame.from_ndarray(original[-1], format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    paths = {"grid": 0, "rgb": 0}
    merge_420, finish = video.frames420.merge_420, video.finish

    def on_grid(*args):
        paths["grid"] += 1
        return merge_420(*args)

    def in_rgb(*args):
        paths["rgb"] += 1
        return finish(*args)

    monkeypatch.setattr(video.frames420, "merge_420", on_grid)
    monkeypatch.setattr(video, "finish", in_rgb)
    video.colorize_video(clip, tmp_path / "out.mp4", "beta")
    assert paths == ({"grid": 8, "rgb": 0} if grid else {"grid": 0, "rgb": 8})
    with av.open(str(tmp_path / "out.mp4")) as container:
        first = next(container.decode(video=0))
        full_range = pix_fmt == "yuvj420p"  # kept full range: decoders call it yuvj420p
        assert first.format.name == ("yuvj420p" if full_range else "yuv420p")
        assert first.color_range == (2 if full_range else 0)
    frames, _ = read_frames(tmp_path / "out.mp4")
    L_in = np.asarray(rgb_to_lab(np.stack(original)))[..., 0]
    L_out = np.asarray(rgb_to_lab(np.stack(frames)))[..., 0]
    assert np.mean(np.abs(L_out - L_in)) < 2.5  # two lossy H.264 encodes between them
    assert np.linalg.norm(np.asarray(rgb_to_lab(np.stack(frames)))[..., 1:], axis=-1).mean() > 2  # colored
