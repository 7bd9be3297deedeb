"""JPEG photos into JPEG outputs, colored on their chroma grid (`colornet.jpeg420`): which photos take
the path, the same colors as the RGB path at full resolution with the lightness kept, EXIF rotation,
odd sizes, other outputs, and a bad file among good ones."""

import numpy as np
import pytest
from PIL import Image

import colornet.infer_files as infer
from colornet import jpeg420
from colornet.color import rgb_to_lab
from colornet.images import load_image
from colornet.predict import load_colorizer

from conftest import bundled_photo

NAMES = ("chelsea", "coffee", "astronaut")


def write_jpeg(path, name="chelsea", size=(384, 256), exif_orientation=None) -> None:
    """A bundled photo resized to `size`, as a quality 95 JPEG (with an EXIF orientation if given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(bundled_photo(name)).convert("RGB").resize(size, Image.BILINEAR)
    exif = Image.Exif()
    if exif_orientation:
        exif[0x0112] = exif_orientation
    image.save(path, quality=95, exif=exif.tobytes())


def lab(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(rgb_to_lab(np.asarray(image.convert("RGB"))))


def colorize(folder, out, fmt="jpg", grid=True, monkeypatch=None, **options):
    """`colorize_files` on `folder` with beta, the grid on or off; returns the summary and the files
    read in RGB."""
    read_rgb = []
    monkeypatch.setattr(infer, "load_image", lambda path, *a, **k: read_rgb.append(path) or load_image(path))
    monkeypatch.setattr(infer, "CHROMA_GRID", grid)
    summary = infer.colorize_files(str(folder), out, load_colorizer("beta"), image_format=fmt, **options)
    return summary, read_rgb


def test_which_photos_take_the_chroma_grid(tmp_path, monkeypatch):
    write_jpeg(tmp_path / "even.jpg")
    planes = jpeg420.read_planes(tmp_path / "even.jpg")
    assert planes.y.shape == (256, 384) and planes.L.shape == planes.pooled.shape == (128, 192)
    assert planes.matrix == jpeg420.JFIF
    write_jpeg(tmp_path / "odd.jpg", size=(383, 256))
    assert jpeg420.read_planes(tmp_path / "odd.jpg") is None  # odd width: the RGB path
    Image.fromarray(bundled_photo("chelsea")).convert("L").save(tmp_path / "gray.jpg")
    assert jpeg420.read_planes(tmp_path / "gray.jpg") is None  # one channel, no chroma
    Image.fromarray(bundled_photo("chelsea")).save(tmp_path / "photo.png")
    assert jpeg420.read_planes(tmp_path / "photo.png") is None
    write_jpeg(tmp_path / "small" / "small.jpg", size=(192, 128))  # a grid of 96 x 64: beta sees 128 x 85
    _, read_rgb = colorize(tmp_path / "small", tmp_path / "out", monkeypatch=monkeypatch)
    assert len(read_rgb) == 1  # L is not enlarged for the network: the RGB path


def test_jpegs_on_the_grid_get_the_rgb_paths_colors_and_keep_their_lightness(tmp_path, monkeypatch):
    """The same folder colorized into JPEGs on the chroma grid and through the RGB merge at full
    resolution: the same colors within a fraction of a Lab unit, the lightness as near the original."""
    for name in NAMES:
        write_jpeg(tmp_path / "in" / f"{name}.jpg", name)
    for grid in (True, False):
        summary, read_rgb = colorize(
            tmp_path / "in", tmp_path / f"out_{grid}", grid=grid, monkeypatch=monkeypatch
        )
        assert not summary.failed and len(summary.written) == 3
        assert len(read_rgb) == (0 if grid else 3)  # on the grid no photo is read in RGB
    for name in NAMES:
        truth = lab(tmp_path / "in" / f"{name}.jpg")
        on_grid, full = (
            lab(tmp_path / "out_True" / f"{name}.jpg"),
            lab(tmp_path / "out_False" / f"{name}.jpg"),
        )
        error_grid, error_full = (np.abs(x[..., 0] - truth[..., 0]).mean() for x in (on_grid, full))
        assert error_grid < 0.6 and error_grid <= error_full + 0.1, (name, error_grid, error_full)
        assert np.abs(on_grid[..., 1:] - full[..., 1:]).mean() < 0.6, name  # the same colors (Lab units)
        assert np.abs(on_grid[..., 1:]).mean() > 2, name  # colored


def test_rotated_odd_and_bad_files_and_other_outputs(tmp_path, monkeypatch):
    """An EXIF-rotated JPEG is colored upright on the grid; an odd-sized one, and every photo of a
    PNG output or a --compare run, takes the RGB path; a corrupt file fails in one line, the others
    are written."""
    write_jpeg(tmp_path / "in" / "rotated.jpg", exif_orientation=6)  # 90 degrees: 256 wide, 384 high
    write_jpeg(tmp_path / "in" / "odd.jpg", size=(383, 255))
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a photo")
    summary, read_rgb = colorize(tmp_path / "in", tmp_path / "out", monkeypatch=monkeypatch)
    assert len(summary.failed) == 1 and "broken.jpg" in summary.failed[0] and "\n" not in summary.failed[0]
    assert [p.split("/")[-1] for p in read_rgb] == ["odd.jpg"]
    for name, size in (("rotated", (256, 384)), ("odd", (383, 255))):
        with Image.open(tmp_path / "out" / f"{name}.jpg") as written:
            assert written.size == size
    upright = lab(tmp_path / "out" / "rotated.jpg")[..., 0]
    truth = np.asarray(rgb_to_lab(np.asarray(load_image(tmp_path / "in" / "rotated.jpg").rgb)))[..., 0]
    assert np.abs(upright - truth).mean() < 0.6  # the photo's own lightness, upright

    for fmt, compare in (("png", False), ("jpg", True)):
        summary, read_rgb = colorize(
            tmp_path / "in", tmp_path / f"out_{fmt}_{compare}", fmt, monkeypatch=monkeypatch, compare=compare
        )
        assert len(read_rgb) == 3 and len(summary.failed) == 1  # every photo in RGB (the broken one too)


def test_jpegs_of_420_are_read_as_they_hold_their_planes(tmp_path, monkeypatch):
    """A 4:2:0 JPEG's chroma is read as the file holds it (FFmpeg's decoder, upright for every EXIF
    orientation) and gives the planes Pillow's YCbCr, averaged over each block, gives; a 4:4:4 JPEG
    takes Pillow's way; a truncated one is refused in one line as `load_image` refuses it."""
    from colornet.errors import ImageError
    from colornet.images import load_ycbcr

    write_jpeg(tmp_path / "photo.jpg", size=(386, 258))  # 258 = 2 mod 4: the chroma planes' rows split
    y, cb, cr = jpeg420.stored_planes(tmp_path / "photo.jpg")
    assert y.shape == (258, 386) and cb.shape == cr.shape == (129, 193)
    fast = jpeg420.read_planes(tmp_path / "photo.jpg")
    monkeypatch.setattr(jpeg420, "stored_planes", lambda path: None)  # Pillow's decoder instead
    slow = jpeg420.read_planes(tmp_path / "photo.jpg")
    assert np.abs(fast.y.astype(int) - slow.y).mean() < 0.1  # two decoders' rounding
    assert np.abs(fast.L - slow.L).mean() < 0.3 and np.abs(fast.pooled - slow.pooled).max() < 1.0
    monkeypatch.undo()

    for orientation in range(1, 9):
        path = tmp_path / f"turned_{orientation}.jpg"
        write_jpeg(path, size=(384, 256), exif_orientation=orientation)
        upright = load_ycbcr(path)[..., 0]  # Pillow turns it as `load_image` does
        planes = jpeg420.read_planes(path)
        assert planes.y.shape == upright.shape, orientation
        assert np.abs(planes.y.astype(int) - upright).mean() < 0.1, orientation

    Image.open(tmp_path / "photo.jpg").save(tmp_path / "full.jpg", quality=95, subsampling=0)
    assert jpeg420.stored_planes(tmp_path / "full.jpg") is None  # 4:4:4: Pillow's YCbCr, averaged
    assert jpeg420.read_planes(tmp_path / "full.jpg").L.shape == (129, 193)

    data = (tmp_path / "photo.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    assert jpeg420.stored_planes(tmp_path / "cut.jpg") is None  # damaged: not concealed
    with pytest.raises(ImageError) as refused:
        jpeg420.read_planes(tmp_path / "cut.jpg")
    assert "cut.jpg" in str(refused.value) and "\n" not in str(refused.value)


def test_a_folder_read_and_merged_on_two_threads_gives_what_one_thread_gives(tmp_path, monkeypatch):
    """Photos read two at a time and merged two at a time (`colorize_files`' stages) come out as
    with one thread each: the same bytes, the same summary in the same order, a bad file named."""
    for i in range(10):
        write_jpeg(tmp_path / "in" / f"p{i:02d}.jpg", NAMES[i % 3], size=(256 + 32 * (i % 2), 192))
    (tmp_path / "in" / "p04.jpg").write_bytes(b"not a photo")
    colorizer = load_colorizer("beta")
    runs = {}
    for threads in (1, 2):
        monkeypatch.setattr(infer, "READ_WORKERS", threads)
        monkeypatch.setattr(infer, "FINISH_WORKERS", threads)
        out = tmp_path / f"out{threads}"
        summary = infer.colorize_files(tmp_path / "in", out, colorizer, image_format="jpg", batch_size=3)
        runs[threads] = summary, {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    (one, files_one), (two, files_two) = runs[1], runs[2]
    assert files_one == files_two and len(files_two) == 9
    names = [[p.rsplit("/", 1)[-1] for p in run.written] for run in (one, two)]
    assert (one.colorized, one.failed, names[0]) == (two.colorized, two.failed, names[1])
    assert sorted(p.rsplit("/", 1)[-1] for p in two.colorized) == [
        f"p{i:02d}.jpg" for i in range(10) if i != 4
    ]
    assert len(two.failed) == 1 and "p04.jpg" in two.failed[0]


def test_ycbcr_pixels_are_written_as_a_420_jpeg_of_those_codes(tmp_path):
    """`save_ycbcr` writes YCbCr pixels (chroma repeated over 2 x 2 blocks) as a 4:2:0 JPEG that
    decodes to the same codes (within JPEG's loss), and refuses pixels of another shape."""
    from colornet.images_save import save_ycbcr

    luma = np.asarray(Image.fromarray(bundled_photo("chelsea")).convert("L").resize((128, 96)))
    rows, cols = np.mgrid[0:48, 0:64]
    chroma = np.stack([90 + cols, 170 - rows], axis=-1).astype(np.uint8).repeat(2, 0).repeat(2, 1)
    pixels = np.concatenate([luma[..., None], chroma, np.zeros_like(luma)[..., None]], axis=-1)
    save_ycbcr(tmp_path / "photo.jpg", pixels, quality=95)
    y, cb, cr = jpeg420.stored_planes(tmp_path / "photo.jpg")  # 4:2:0, as FFmpeg reads it
    assert np.abs(y.astype(int) - luma).mean() < 2.0  # JPEG at quality 95: about 1 level
    assert np.abs(cb.astype(int) - chroma[::2, ::2, 0]).mean() < 3.0
    assert np.abs(cr.astype(int) - chroma[::2, ::2, 1]).mean() < 3.0
    assert [p.name for p in tmp_path.iterdir()] == ["photo.jpg"]  # no temporary file left
    with pytest.raises(ValueError, match=r"\(H, W, 4\)"):
        save_ycbcr(tmp_path / "bad.jpg", pixels[..., :3])
    assert not (tmp_path / "bad.jpg").exists()
