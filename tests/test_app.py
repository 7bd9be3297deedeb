"""The web page (`python -m colornet app`): the function its button calls, the page over HTTP with
gradio_client, and the page in a headless Chromium (skipped, with the reason, where none is installed)."""

import gc
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from colornet.errors import ColornetError

from conftest import bundled_photo, save_tiny_beta

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no calls home
gradio = pytest.importorskip("gradio", reason="gradio is not installed (pip install gradio)")

from colornet.app import build_app, colorize_uploads, model_controls  # noqa: E402
from colornet.app_results import ResultFolders  # noqa: E402

TIMEOUT = (
    300  # seconds: every wait on the server ends (a bound for a machine under heavy load, not a speed target)
)


def gradio_server(test):
    """Gradio's server leaves event loops and sockets to the garbage collector (its own, not ours):
    their ResourceWarnings are not errors in the tests that start it."""
    test = pytest.mark.filterwarnings("ignore::ResourceWarning")(test)
    return pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")(test)


# --- files a person may drop -------------------------------------------------------


def huge_png(path, side: int = 20_000) -> str:
    """A PNG whose header claims side x side pixels (more than colornet reads), a few bytes long."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (side + 1))  # one row; the rest is missing
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return str(path)


@pytest.fixture
def uploads(tmp_path):
    """A gray photo, an RGBA photo, a 16-bit PNG, a text file and a huge PNG: (good, bad)."""
    photo = bundled_photo("chelsea")[:60, :90]  # (60, 90, 3) uint8
    gray = tmp_path / "gray.png"
    Image.fromarray(photo.mean(-1).astype(np.uint8)).save(gray)
    rgba = tmp_path / "rgba.png"
    alpha = np.full(photo.shape[:2] + (1,), 200, np.uint8)
    Image.fromarray(np.concatenate([photo, alpha], -1), "RGBA").save(rgba)
    deep = tmp_path / "deep.png"
    Image.fromarray((photo.mean(-1) * 257).astype(np.uint16)).save(deep)  # 16-bit gray
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    huge = huge_png(tmp_path / "huge.png")
    return [str(gray), str(rgba), str(deep)], [str(text), huge]


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A weights folder that provides a tiny Beta under the name `beta`."""
    folder = tmp_path_factory.mktemp("weights")
    path = save_tiny_beta(folder / "beta.weights.h5")
    from colornet.weights import sha256

    (folder / "SHA256SUMS").write_text(f"{sha256(path)}  beta.weights.h5\n")
    return str(folder)


# --- (a) the function the button calls -----------------------------------------------


def test_button_colorizes_good_photos_and_names_bad_ones(uploads, tiny_weights, tmp_path):
    good, bad = uploads
    result = colorize_uploads(
        [bad[0], *good, bad[1]], "beta", out_dir=tmp_path / "out", weights_dir=tiny_weights
    )
    assert [os.path.basename(f) for f in result.files] == ["gray.png", "rgba.png", "deep.png"]
    for file in result.files:
        with Image.open(file) as im:
            assert im.size == (90, 60)
    with Image.open(result.files[1]) as im:
        assert im.mode == "RGBA" and np.asarray(im)[..., 3].min() == 200  # alpha kept
    assert len(result.pairs) == 3 and result.pairs[0][1].shape == (60, 90, 3)
    with zipfile.ZipFile(result.zip_path) as archive:
        assert sorted(archive.namelist()) == ["deep.png", "gray.png", "rgba.png"]
    assert len(result.messages) == 2
    assert result.messages[0].startswith("notes.txt: not an image file")
    assert result.messages[1].startswith("huge.png: ") and "million" in result.messages[1]
    assert str(tmp_path) not in " ".join(result.messages)  # names as uploaded, no server paths
    assert "3 colorized, 2 failed." in result.report()


def test_button_without_photos_or_with_a_bad_style_says_so(uploads, tiny_weights, tmp_path):
    assert colorize_uploads([], "beta", weights_dir=tiny_weights).messages == [
        "no photo: drop one or more photos first."
    ]
    good, bad = uploads
    result = colorize_uploads(good, "beta", style=good[0], out_dir=tmp_path, weights_dir=tiny_weights)
    assert result.files == [] and "global features" in result.messages[0]
    assert "--style" not in result.messages[0]


def test_the_page_shows_style_only_for_models_that_take_one():
    assert model_controls("iizuka").style and not model_controls("beta").style
    assert not model_controls("beta").temperature  # no provided design decodes with a temperature yet


def test_an_unknown_model_is_refused_in_one_line(tiny_weights):
    with pytest.raises(ColornetError, match="not a provided model"):
        build_app("nope", weights_dir=tiny_weights)


def test_item24_the_temperature_slider_says_which_end_is_vivid(tiny_weights, tmp_path):
    app = build_app("beta", weights_dir=tiny_weights, results=ResultFolders(parent=tmp_path))
    (slider,) = [b for b in app.blocks.values() if isinstance(b, gradio.Slider)]
    assert slider.label == "Temperature (1: muted average colors; toward 0: vivid, riskier)"


def test_item21_results_go_at_the_next_click_when_the_visitor_leaves_past_the_cap_and_at_the_end(tmp_path):
    results = ResultFolders(cap=250, parent=tmp_path)
    (root,) = tmp_path.glob("colornet-app-*")
    assert results.root == root
    first = results.new("visitor-1")
    (first / "a.png").write_bytes(b"x" * 100)
    again = results.new("visitor-1")  # the page shows only the latest results (Gradio holds copies)
    assert not first.exists() and again.exists()
    (again / "b.png").write_bytes(b"x" * 100)
    other = results.new("visitor-2")
    (other / "c.png").write_bytes(b"x" * 100)
    results.trim(keep=other)
    assert again.exists() and results.total_bytes() == 200  # under the cap: kept
    latest = results.new("visitor-3")
    (latest / "d.png").write_bytes(b"x" * 100)
    results.trim(keep=latest)  # 300 bytes: the oldest folder goes
    assert not again.exists() and other.exists() and latest.exists()
    results.leave("visitor-2")
    assert not other.exists() and latest.exists()
    big = results.new("visitor-4")
    (big / "e.png").write_bytes(b"x" * 1000)
    results.trim(keep=big)  # the click that was just made is never removed under it
    assert big.exists() and not latest.exists()
    results.close()
    assert not root.exists()
    with pytest.raises(ColornetError, match="stopped"):
        results.new("visitor-5")


# --- (b) the page over HTTP ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(weights_dir, results=None, model="beta"):
    """The page served on a free loopback port in this process; closed afterwards."""
    app = build_app(model, weights_dir=weights_dir, results=results)
    app.queue()
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
        app.results.close()
        quiet_collect()


def quiet_collect():
    """Collect what Gradio's server threads left (event loops, sockets) without their ResourceWarnings,
    which pytest would otherwise report at the end of the session."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        for _ in range(3):
            gc.collect()


@pytest.fixture(scope="module", autouse=True)
def collect_gradio_leftovers():
    yield
    time.sleep(0.5)  # the server's threads end after close()
    quiet_collect()


@pytest.fixture
def page(tiny_weights):
    """The page with a tiny Beta."""
    yield from serve(tiny_weights)


@pytest.fixture
def provided_page():
    """The page with the provided weights (its screenshot is README's picture)."""
    from colornet.weights import WEIGHTS_DIR

    yield from serve(WEIGHTS_DIR)


@gradio_server
def test_page_over_http_colorizes_and_reports_bad_files(page, uploads):
    from gradio_client import Client, handle_file

    good, bad = uploads
    client = Client(page, verbose=False, download_files=False)
    slider, gallery, downloads, report = client.predict(
        [handle_file(good[0]), handle_file(bad[0])], "beta", None, 0.38, api_name="/colorize"
    )
    assert "1 colorized, 1 failed." in report and "notes.txt: not an image file" in report
    (file,) = [d for d in downloads if d["path"].endswith("gray.png")]
    with Image.open(file["path"]) as im:
        assert im.size == (90, 60)
    assert len(gallery) == 1 and slider is not None
    report = client.predict([handle_file(bad[1])], "beta", None, 0.38, api_name="/colorize")[3]
    assert "huge.png" in report and "0 colorized, 1 failed." in report
    report = client.predict([handle_file(good[2])], "beta", None, 0.38, api_name="/colorize")[3]
    assert "1 colorized, 0 failed." in report  # the server still answers after bad files


def wait_until(condition, what: str):
    """Poll `condition()` until it holds; fail after TIMEOUT seconds."""
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, f"still not {what} after {TIMEOUT} s"
        time.sleep(0.1)


@gradio_server
def test_item21_a_visitor_who_leaves_takes_their_results_along(tiny_weights, uploads, tmp_path, monkeypatch):
    from gradio_client import Client, handle_file

    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.2")  # the page notices a closed tab sooner
    results = ResultFolders(parent=tmp_path)
    page = serve(tiny_weights, results)
    try:
        client = Client(next(page), verbose=False, download_files=False)
        *_, downloads, report = client.predict(
            [handle_file(uploads[0][0])], "beta", None, 0.38, api_name="/colorize"
        )
        assert "1 colorized" in report
        (click,) = list(results.root.iterdir())
        assert (click / "gray.png").exists()
        assert not any(d["path"].startswith(str(results.root)) for d in downloads)  # the page serves copies
        client.close()  # the visitor closes the tab
        wait_until(lambda: not click.exists(), "removed when the visitor left")
        assert results.root.exists()  # the page goes on for the others
    finally:
        page.close()
    assert not results.root.exists()


def start_command(weights_dir, port: int, env: dict | None = None) -> subprocess.Popen:
    """`python -m colornet app --port PORT` with `weights_dir` as the provided weights."""
    code = (
        "import sys; from colornet import app, cli; "
        "build = app.build_app; "
        f"app.build_app = lambda model, **kw: build(model, weights_dir={weights_dir!r}, **kw); "
        f"sys.exit(cli.main(['app', '--model', 'beta', '--port', '{port}']))"  # the one model weights_dir has
    )
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )  # fmt: skip


def ctrl_c_as_in_a_terminal():
    """In the child: SIGINT at its default, as for a command typed in a terminal. A test run started in
    the background of a shell without job control inherits SIGINT ignored, and Python then keeps
    ignoring it, so that Ctrl-C (the SIGINT the tests send) would not reach the command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(server: subprocess.Popen, sig=signal.SIGINT) -> int:
    server.send_signal(sig)
    try:
        return server.wait(timeout=TIMEOUT)  # a busy machine may take a while to stop it
    except subprocess.TimeoutExpired:
        server.kill()
        return server.wait()
    finally:
        server.stdout.close()
        server.stderr.close()


@pytest.mark.slow
def test_command_serves_on_loopback_and_says_the_address(tiny_weights):
    """`python -m colornet app` prints its address in one line once it serves; Ctrl-C ends it."""
    port = free_port()
    server = start_command(tiny_weights, port)
    try:
        line = server.stdout.readline()  # printed once the server listens
        assert line.strip() == f"colornet app: open http://127.0.0.1:{port} in a browser (Ctrl-C stops it)."
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
            pass
    finally:
        assert stop(server) == 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_item21_the_command_leaves_no_files_behind_when_it_stops(tiny_weights, uploads, tmp_path, sig):
    from gradio_client import Client, handle_file

    temp = tmp_path / "temp"  # the command's temporary folder: everything it writes lands here
    temp.mkdir()
    port = free_port()
    server = start_command(
        tiny_weights, port, env={"TMPDIR": str(temp), "GRADIO_TEMP_DIR": str(temp / "gradio")}
    )
    try:
        assert server.stdout.readline().startswith("colornet app: open")
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        report = client.predict([handle_file(uploads[0][0])], "beta", None, 0.38, api_name="/colorize")[3]
        assert "1 colorized" in report
        (root,) = temp.glob("colornet-app-*")
        assert list(root.rglob("*.png")) and list((temp / "gradio").rglob("*.png"))
        client.close()
    finally:
        assert stop(server, sig) == 0
    assert not list(temp.glob("colornet-app-*"))
    assert not [p for p in temp.rglob("*") if p.is_file()], "files left in the temporary folder"


@pytest.mark.slow
def test_command_on_a_taken_port_says_so_in_one_line(tiny_weights):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_command(tiny_weights, port)
        try:
            assert server.wait(timeout=TIMEOUT) == 2
            err = server.stderr.read().strip().splitlines()[-1]
            assert server.stdout.read() == ""  # no address printed for a page that does not run
        finally:
            stop(server, signal.SIGTERM)
    assert (
        err
        == f"colornet app: error: port {port} on 127.0.0.1 is taken or cannot be used; pass another --port."
    )


# --- (c) the page in a real browser ---------------------------------------------------------


def find_chromium() -> str | None:
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    for path in ("/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium"):
        if os.path.exists(path):
            return path
    return None


def browser_or_skip():
    """`(playwright.sync_api, the Chromium to launch)`, or the test is skipped saying what is missing."""
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    browser_path = find_chromium()
    if browser_path is None:
        pytest.skip("no Chromium installed (apt-get install chromium-headless-shell, or playwright install)")
    return playwright, browser_path


@gradio_server
def test_page_in_a_headless_browser(provided_page, tmp_path):
    playwright, browser_path = browser_or_skip()
    page = provided_page
    photo = tmp_path / "chelsea.png"
    Image.fromarray(bundled_photo("chelsea").mean(-1).astype(np.uint8)).save(photo)  # (300, 451) gray
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")  # dropped with it: named on the page, the photo still colorized
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, headless=True, timeout=TIMEOUT * 1000)
        tab = None
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.set_default_timeout(TIMEOUT * 1000)
            tab.goto(page)
            tab.locator("input[type=file]").first.set_input_files([str(photo), str(text)])
            playwright.expect(tab.locator("#photos")).to_contain_text(
                re.compile(r"notes\W{0,3}txt\W*11"),
                timeout=TIMEOUT * 1000,  # both uploaded (Gradio spaces the extension)
            )
            tab.get_by_role("button", name="Colorize").click()
            playwright.expect(tab.locator("#report textarea")).to_have_value(
                re.compile(r"1 colorized, 1 failed\.\n- notes\.txt: not an image file"),
                timeout=TIMEOUT * 1000,
            )
            link = tab.locator("#downloads a[href*='chelsea.png']").first
            href = link.get_attribute("href")
            response = tab.request.get(href if href.startswith("http") else page.rstrip("/") + href)
            (tmp_path / "result.png").write_bytes(response.body())
            with Image.open(tmp_path / "result.png") as im:
                assert im.size == (451, 300)
            shot = os.environ.get("COLORNET_APP_SCREENSHOT")  # README's picture: set it to a path
            if shot:
                tab.screenshot(path=shot, full_page=True)
        except Exception:
            if tab is not None:
                tab.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
                print(f"the page when it failed: {tmp_path / 'failed.png'}")
            raise
        finally:
            browser.close()


def test_without_gradio_the_command_says_how_to_install_it(monkeypatch, capsys):
    from colornet import cli

    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` fails
    assert cli.main(["app"]) == 2
    assert capsys.readouterr().err.strip() == (
        "colornet app: error: the web page needs Gradio: pip install 'gradio~=6.31' "
        "(or pip install 'colornet[app]')."
    )
