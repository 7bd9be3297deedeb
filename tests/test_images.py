"""Reading photos in every format users have, and one-line errors for bad files."""

import numpy as np
import pytest
from PIL import Image

from colornet.images import ImageError, as_photo, check_image, filter_readable, find_images, load_image

from conftest import bundled_photo


@pytest.fixture
def rgb8():
    return bundled_photo("chelsea")[:40, :60]


def test_find_images_recursive_sorted_and_globs(photo_folder):
    paths = find_images(photo_folder)
    assert len(paths) == 12 and paths == sorted(paths)
    assert find_images(photo_folder + "/group0/*.jpg") == [
        p for p in paths if "group0" in p and p.endswith(".jpg")
    ]
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        find_images(photo_folder + "/nothing-here")


def test_grayscale_palette_rgba_and_16bit_load_as_rgb(tmp_path, rgb8):
    gray = (rgb8.mean(-1)).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.fromarray(rgb8).convert("P", palette=Image.ADAPTIVE).save(tmp_path / "palette.png")
    rgba = np.dstack([rgb8, np.full(rgb8.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "gray16.png")
    Image.fromarray(rgb8).save(tmp_path / "anim.gif")
    for name in ["gray.png", "palette.png", "rgba.png", "gray16.png", "anim.gif"]:
        photo = load_image(tmp_path / name)
        assert photo.rgb.shape == (40, 60, 3) and photo.rgb.dtype == np.float32, name
        assert 0 <= photo.rgb.min() and photo.rgb.max() <= 1
    assert load_image(tmp_path / "gray.png").is_gray and load_image(tmp_path / "gray16.png").is_gray
    np.testing.assert_allclose(load_image(tmp_path / "gray16.png").rgb[..., 0], gray / 255.0, atol=1e-6)
    rgba_photo = load_image(tmp_path / "rgba.png")
    assert rgba_photo.alpha is not None and abs(float(rgba_photo.alpha.mean()) - 128 / 255) < 1e-6
    assert not load_image(tmp_path / "palette.png").is_gray


def test_exif_orientation_is_applied(tmp_path, rgb8):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.fromarray(rgb8).save(tmp_path / "rotated.jpg", exif=exif)
    assert load_image(tmp_path / "rotated.jpg").rgb.shape == (60, 40, 3)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"this is not an image", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "bad.png"),
    ],
)
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as err:
        load_image(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ImageError, match="bad.png"):
        check_image(path)


def test_truncated_jpeg_is_reported(tmp_path, rgb8):
    path = tmp_path / "cut.jpg"
    Image.fromarray(rgb8).save(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ImageError, match="cut.jpg"):
        load_image(path)


def test_filter_readable_skips_with_a_counted_warning(tmp_path, rgb8):
    Image.fromarray(rgb8).save(tmp_path / "good.png")
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    paths = [str(tmp_path / "good.png"), str(tmp_path / "bad.jpg")]
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable file\(s\) of 2.*bad.jpg"):
        assert filter_readable(paths, on_error="skip") == paths[:1]
    with pytest.raises(ImageError, match="bad.jpg"):
        filter_readable(paths)


def test_as_photo_accepts_arrays(rgb8):
    assert as_photo(rgb8).rgb.shape == (40, 60, 3)
    assert as_photo(rgb8[..., 0]).is_gray
    assert as_photo(np.dstack([rgb8, rgb8[..., :1]])).alpha.shape == (40, 60)
    with pytest.raises(ImageError, match="shape"):
        as_photo(np.zeros((4, 4, 2)))
