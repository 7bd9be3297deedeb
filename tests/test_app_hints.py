"""The web page's "Color hints" tab: the function its Colorize button calls (strokes painted in the
image editor as hints), the tab with and without models that take hints, and the tab in a headless
Chromium with a stroke drawn with the mouse (skipped, with the reason, where none is installed)."""

import os
import re
import time

import numpy as np
import pytest
from PIL import Image

from conftest import bundled_photo, save_tiny_beta, save_tiny_hints

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no calls home
gradio = pytest.importorskip("gradio", reason="gradio is not installed (pip install gradio)")

from test_app import TIMEOUT, browser_or_skip, gradio_server, quiet_collect, serve  # noqa: E402

from colornet.app import build_app, model_controls  # noqa: E402
from colornet.app_hints import NO_HINTS_MODEL, colorize_with_hints  # noqa: E402
from colornet.app_results import ResultFolders  # noqa: E402
from colornet.color import to_uint8  # noqa: E402

WAIT = 300_000  # milliseconds the browser waits for the page at most (a bound for a machine under heavy load)
STROKE = (slice(25, 32), slice(10, 40))  # rows, columns of the stroke painted on the 60x90 photo


@pytest.fixture(scope="module", autouse=True)
def collect_gradio_leftovers():
    yield
    quiet_collect()  # what the server's threads left, without their ResourceWarnings


@pytest.fixture(scope="module")
def hints_weights(tmp_path_factory):
    """A weights folder that provides a tiny `features-hints` (hint channels) and a tiny `beta`."""
    from colornet.weights import sha256

    folder = tmp_path_factory.mktemp("weights")
    hints = save_tiny_hints(folder / "features-hints.weights.h5")
    beta = save_tiny_beta(folder / "beta.weights.h5")
    prior = folder / "tiny_prior.npy"
    lines = [f"{sha256(path)}  {os.path.basename(path)}" for path in (beta, hints, prior)]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return str(folder)


@pytest.fixture(scope="module")
def loaded():
    """The tests' loaded models (name -> `Colorizer`), each loaded once for the module."""
    return {}


@pytest.fixture(scope="module")
def photo():
    """A gray photo as the editor gives it: RGBA, opaque, (60, 90, 4) uint8."""
    gray = bundled_photo("chelsea")[:60, :90].mean(-1).astype(np.uint8)
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])


def editor(photo, *layers):
    """The image editor's value: the photo and the painted layers."""
    return {"background": photo, "layers": list(layers), "composite": photo}


def stroke_layer(shape=(60, 90), color=(46, 125, 50)) -> np.ndarray:
    layer = np.zeros((*shape, 4), np.uint8)
    layer[STROKE] = (*color, 255)
    return layer


# --- the function the button calls ----------------------------------------------------------


def test_a_painted_stroke_changes_the_colors_near_it_and_no_stroke_gives_the_automatic_colors(
    hints_weights, loaded, photo, tmp_path
):
    import colornet

    colorizers, kept = loaded, {}
    options = dict(weights_dir=hints_weights, colorizers=colorizers, automatic_kept=kept)
    plain = colorize_with_hints(editor(photo, np.zeros_like(photo)), "features-hints", **options)
    assert plain.message.startswith("no hints painted: these are the automatic colors")
    assert plain.hinted is plain.automatic and plain.files == []
    direct = colornet.colorize(photo[..., :3], colorizers["features-hints"])
    assert np.array_equal(plain.automatic, to_uint8(direct))  # the automatic colors, as colorize gives

    result = colorize_with_hints(
        editor(photo, np.zeros_like(photo), stroke_layer()), "features-hints", out_dir=tmp_path, **options
    )
    assert result.message.startswith("colorized with hints from 210 painted pixels")
    assert result.automatic is plain.automatic  # kept from the first click, not computed again
    assert result.hinted.shape == (60, 90, 3)
    change = np.abs(result.hinted.astype(int) - result.automatic.astype(int)).mean(-1)
    near = change[20:37, 5:45].mean()
    assert near > 1.0, f"the stroke changed the colors near it by {near:.2f} levels of 255 only"
    assert [os.path.basename(f) for f in result.files] == ["colorized-with-hints.png", "hints.png"]
    with Image.open(result.files[0]) as im:
        assert im.size == (90, 60) and np.array_equal(np.asarray(im), result.hinted)
    with Image.open(result.files[1]) as im:  # the strokes, for `colorize --hints hints.png`
        strokes = np.asarray(im)
    assert strokes.shape == (60, 90, 4) and (strokes[..., 3] > 0).sum() == 210
    assert tuple(strokes[28, 20]) == (46, 125, 50, 255)


def test_the_upper_layer_wins_where_strokes_overlap(hints_weights, photo):
    from colornet.app_hints import editor_scribble

    lower, upper = stroke_layer(color=(200, 0, 0)), np.zeros_like(photo)
    upper[28, 10:20] = (0, 0, 200, 255)
    scribble = editor_scribble(editor(photo, lower, upper), (60, 90))
    assert tuple(scribble[28, 15]) == (0, 0, 200, 255) and tuple(scribble[28, 30]) == (200, 0, 0, 255)
    assert (scribble[..., 3] > 0).sum() == 210


def test_hints_for_a_model_without_hint_channels_are_one_line(hints_weights, loaded, photo):
    result = colorize_with_hints(
        editor(photo, stroke_layer()), "beta", weights_dir=hints_weights, colorizers=loaded
    )
    assert result.automatic is None and result.hinted is None
    assert result.message.startswith("beta was trained without hint channels, so it cannot take color hints")
    assert "features-hints" in result.message and "\n" not in result.message


def test_a_layer_of_another_size_is_one_line(hints_weights, loaded, photo):
    layer = stroke_layer(shape=(20, 30))
    result = colorize_with_hints(
        editor(photo, layer), "features-hints", weights_dir=hints_weights, colorizers=loaded
    )
    assert result.hinted is None
    assert result.message == (
        "the painted layer 1 is 30x20 pixels, the photo 90x60; paint on the photo as uploaded "
        "(clear the layer, or upload the photo again)."
    )


def test_no_photo_and_a_photo_too_small_are_one_line(hints_weights, loaded, photo):
    options = dict(weights_dir=hints_weights, colorizers=loaded)
    empty = colorize_with_hints(None, "features-hints", **options)
    assert empty.message == "no photo: upload a photo to the editor first, then paint on it."
    tiny = colorize_with_hints(editor(photo[:2, :3]), "features-hints", **options)
    assert tiny.hinted is None and "too small to colorize" in tiny.message and "\n" not in tiny.message


# --- the tab ---------------------------------------------------------------------------------


def test_the_tab_offers_the_models_trained_with_hints_and_says_plainly_when_none_is(hints_weights, tmp_path):
    assert model_controls("features-hints", hints_weights).hints
    assert not model_controls("beta", hints_weights).hints
    app = build_app("beta", weights_dir=hints_weights, results=ResultFolders(parent=tmp_path))
    (editor_,) = [b for b in app.blocks.values() if isinstance(b, gradio.ImageEditor)]
    assert editor_.type == "numpy" and editor_.brush.color_mode == "defaults"  # a color picker too
    dropdowns = [b for b in app.blocks.values() if isinstance(b, gradio.Dropdown)]
    assert [[c[0] for c in d.choices] for d in dropdowns] == [["beta", "features-hints"], ["features-hints"]]
    assert dropdowns[1].value == "features-hints"

    folder = tmp_path / "plain"
    folder.mkdir()
    from colornet.weights import sha256

    beta = save_tiny_beta(folder / "beta.weights.h5")
    (folder / "SHA256SUMS").write_text(f"{sha256(beta)}  beta.weights.h5\n")
    app = build_app("beta", weights_dir=str(folder), results=ResultFolders(parent=tmp_path))
    assert not [b for b in app.blocks.values() if isinstance(b, gradio.ImageEditor)]
    (line,) = [b for b in app.blocks.values() if getattr(b, "elem_id", None) == "hints-none"]
    assert line.value == NO_HINTS_MODEL and NO_HINTS_MODEL.startswith("No provided model takes color hints")


# --- the tab in a real browser -------------------------------------------------------------


@pytest.fixture
def hints_page(hints_weights):
    yield from serve(hints_weights, model="features-hints")


def upload_to_the_editor(tab, photo, expect) -> None:
    """Give the image editor the photo as a person does, clicking its upload area and choosing the
    file, and again while it still asks for one: a choice made before the page has wired the editor
    up is dropped on a loaded machine, and setting the same file on its input again fires no change.
    The whole wait stays bounded by WAIT."""
    prompt = tab.locator("#hints-editor").get_by_text("Upload an image")
    deadline = time.monotonic() + WAIT / 1000
    while True:
        try:
            with tab.expect_file_chooser(timeout=30_000) as chooser:
                prompt.click(timeout=30_000)
            chooser.value.set_files(str(photo))
        except Exception:  # no file chooser opened (yet): set the file on the input itself
            tab.locator("#hints-editor input[type=file]").set_input_files(str(photo))
        try:
            expect(prompt).to_be_hidden(timeout=30_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


@pytest.mark.slow
@gradio_server
def test_a_stroke_drawn_in_the_browser_colors_the_photo(hints_page, tmp_path):
    playwright, browser_path = browser_or_skip()
    page = hints_page
    photo = tmp_path / "chelsea.png"
    Image.fromarray(bundled_photo("chelsea").mean(-1).astype(np.uint8)).save(photo)  # (300, 451) gray
    expect = playwright.expect

    def image_of(tab, elem_id) -> np.ndarray:
        src = tab.locator(f"#{elem_id} img").first.get_attribute("src")
        response = tab.request.get(src if src.startswith("http") else page.rstrip("/") + src)
        path = tmp_path / f"{elem_id}.png"
        path.write_bytes(response.body())
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB")).astype(int)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, headless=True, timeout=TIMEOUT * 1000)
        tab = None
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 1000})
            tab.set_default_timeout(WAIT)
            tab.goto(page)
            tab.get_by_role("tab", name="Color hints").click()
            upload_to_the_editor(tab, photo, expect)
            canvas = tab.locator("#hints-editor canvas").first
            tab.wait_for_timeout(500)  # the editor zooms to fit the photo
            box = canvas.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2  # the photo is centered
            tab.mouse.move(x - 60, y)
            tab.mouse.down()
            tab.mouse.move(x + 60, y, steps=12)
            tab.mouse.up()
            report = tab.locator("#hints-report textarea")
            tab.locator("#hints-colorize").click()
            expect(report).to_have_value(
                re.compile(r"^colorized with hints from \d+ painted pixels"), timeout=WAIT
            )
            automatic, hinted = image_of(tab, "hints-automatic"), image_of(tab, "hints-hinted")
            assert automatic.shape == hinted.shape == (300, 451, 3)
            assert np.abs(hinted - automatic).mean() > 0.5, "the drawn stroke did not change the colors"
            link = tab.locator("#hints-downloads a[href*='colorized-with-hints.png']").first
            expect(link).to_be_visible(timeout=WAIT)

            tab.locator("#hints-editor button[aria-label=Undo]").click()  # the stroke taken back
            tab.locator("#hints-colorize").click()
            expect(report).to_have_value(re.compile(r"^no hints painted"), timeout=WAIT)
            expect(tab.locator("#hints-hinted img")).to_be_visible(timeout=WAIT)
            assert np.array_equal(image_of(tab, "hints-hinted"), automatic)
        except Exception:
            if tab is not None:
                tab.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
                print(f"the page when it failed: {tmp_path / 'failed.png'}")
            raise
        finally:
            browser.close()
