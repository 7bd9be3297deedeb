"""`InferenceOptions`: one checked, frozen value for the settings of colorizing, that gives every entry
point (colorize, colorize_files, evaluate, export, video, the page) the same results as its keywords,
and that the command line builds from its flags."""

import dataclasses

import numpy as np
import pytest
from PIL import Image
from test_zhang import colorful_photo, gray_heavy_prior, save_tiny_zhang

import colornet
from colornet import cli
from colornet.cli.options import inference_options
from colornet.errors import ColornetError, PrecisionError
from colornet.inference_options import InferenceOptions, merge_options

# settings that each change a tiny zhang's colors (its training size is 32, the photos 40x48)
CHOSEN = dict(work_size=24, temperature=0.6, undo_rebalancing=0.5)


@pytest.fixture(scope="module")
def zhang(tmp_path_factory):
    """A tiny zhang over ab bins with a known prior, so that every decoding option applies."""
    return save_tiny_zhang(tmp_path_factory.mktemp("zhang") / "z.weights.h5", prior=gray_heavy_prior())


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for i in range(2):
        colorful_photo(folder / f"{i}.png", seed=i)
    return folder


# --- the value ------------------------------------------------------------------------


def test_defaults_are_the_models_own_and_the_value_is_frozen():
    options = InferenceOptions()
    assert dataclasses.asdict(options) == {
        "work_size": None,
        "precision": "float32",
        "temperature": None,
        "undo_rebalancing": None,
    }
    assert merge_options() == options and merge_options(None, temperature=None) == options
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.temperature = 0.5
    changed = options.replace(work_size=np.int64(512), temperature=1)
    assert changed == InferenceOptions(work_size=512, temperature=1.0) and options.temperature is None
    assert type(changed.work_size) is int and type(changed.temperature) is float
    assert hash(changed) == hash(InferenceOptions(work_size=512, temperature=1.0))  # a key for caches


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"work_size": 3}, ColornetError, "work_size 3: use a whole number of pixels from 8 to 8192."),
        ({"work_size": 12.5}, ColornetError, "work_size 12.5: use a whole number of pixels from 8 to 8192."),
        (
            {"precision": "float64"},
            PrecisionError,
            "unknown precision 'float64'; use one of auto, float32, mixed_bfloat16, mixed_float16.",
        ),
        ({"temperature": 0}, ColornetError, "temperature must be above 0 and at most 10, got 0; use 0.38"),
        ({"temperature": float("nan")}, ColornetError, "temperature must be above 0 and at most 10, got nan"),
        ({"undo_rebalancing": 1.5}, ColornetError, "undo-rebalancing must be from 0 to 1, got 1.5; use 0"),
    ],
)
def test_a_value_out_of_range_is_refused_in_one_line(changes, error, message):
    for make in (lambda: InferenceOptions(**changes), lambda: InferenceOptions().replace(**changes)):
        with pytest.raises(error) as raised:
            make()
        assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_a_keyword_given_wins_over_the_options_field():
    options = InferenceOptions(work_size=64, temperature=0.5)
    merged = merge_options(options, work_size=None, temperature=1.0, precision=None)
    assert merged == InferenceOptions(work_size=64, temperature=1.0)
    assert merge_options(options, temperature=None) is options
    with pytest.raises(ColornetError, match=r"^options dict: use colornet.InferenceOptions\(...\)"):
        merge_options({"temperature": 0.5})
    assert colornet.InferenceOptions is InferenceOptions  # the short API


# --- the entry points -------------------------------------------------------------------


def test_colorize_gives_with_options_what_it_gives_with_keywords(zhang, photos):
    photo = str(photos / "0.png")
    options = InferenceOptions(**CHOSEN)
    with_options = colornet.colorize(photo, model=zhang, options=options)
    np.testing.assert_array_equal(with_options, colornet.colorize(photo, model=zhang, **CHOSEN))
    for field in CHOSEN:  # each option is used: without it the colors differ
        without = colornet.colorize(photo, model=zhang, options=options.replace(**{field: None}))
        assert not np.array_equal(without, with_options), field
    np.testing.assert_array_equal(  # a keyword wins over the object's field
        colornet.colorize(photo, model=zhang, options=options, temperature=1.0),
        colornet.colorize(photo, model=zhang, **{**CHOSEN, "temperature": 1.0}),
    )


def test_colorize_files_gives_with_options_what_it_gives_with_keywords(zhang, photos, tmp_path):
    from colornet.infer import colorize_files

    by_options = colorize_files(photos, tmp_path / "a", zhang, options=InferenceOptions(**CHOSEN))
    by_keywords = colorize_files(photos, tmp_path / "b", zhang, **CHOSEN)
    assert by_options.decoding == by_keywords.decoding == {"temperature": 0.6, "undo_rebalancing": 0.5}
    assert len(by_options.written) == 2 and not by_options.failed
    for a, b in zip(by_options.written, by_keywords.written):
        assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_evaluate_gives_with_options_what_it_gives_with_keywords(zhang, photos):
    from colornet.evaluate import evaluate

    settings = dict(size=32, semantic=False)
    by_options = evaluate({"z": zhang}, photos, options=InferenceOptions(**CHOSEN), **settings)
    by_keywords = evaluate({"z": zhang}, photos, **CHOSEN, **settings)
    for key in ("summary", "decoding", "work_sizes", "precisions", "notes"):
        assert by_options[key] == by_keywords[key], key
    assert by_options["work_sizes"] == {"z": 24}
    assert by_options["summary"] != evaluate({"z": zhang}, photos, **settings)["summary"]


def test_the_page_colorizes_uploads_with_the_options(zhang, photos, tmp_path):
    from colornet.app import colorize_uploads
    from colornet.color import to_uint8

    photo = str(photos / "0.png")
    options = InferenceOptions(**CHOSEN)
    result = colorize_uploads([photo], zhang, out_dir=tmp_path, options=options)
    expected = to_uint8(colornet.colorize(photo, model=zhang, **CHOSEN))
    assert result.messages == [] and np.array_equal(np.asarray(Image.open(result.files[0])), expected)
    slider = colorize_uploads([photo], zhang, temperature=1.0, out_dir=tmp_path / "t", options=options)
    expected = to_uint8(colornet.colorize(photo, model=zhang, **{**CHOSEN, "temperature": 1.0}))
    assert np.array_equal(np.asarray(Image.open(slider.files[0])), expected)  # the page's slider wins


@pytest.mark.slow
def test_export_gives_with_options_what_it_gives_with_keywords(zhang, tmp_path):
    import tensorflow as tf

    from colornet.export import export_model

    options = InferenceOptions(**CHOSEN)
    by_options = export_model(zhang, "saved_model", tmp_path / "a", options=options)
    by_keywords = export_model(zhang, "saved_model", tmp_path / "b", **CHOSEN)
    assert {k: v for k, v in by_options.items() if k != "bytes"} == {
        k: v for k, v in by_keywords.items() if k != "bytes"
    }
    assert (by_options["work_size"], by_options["temperature"], by_options["undo_rebalancing"]) == (
        24,
        0.6,
        0.5,
    )
    gray = tf.constant(np.asarray(Image.open(colorful_photo(tmp_path / "p.png")).convert("L"))[..., None])
    a, b = (tf.saved_model.load(str(tmp_path / k)).signatures["serving_default"] for k in "ab")
    np.testing.assert_array_equal(a(gray=gray)["rgb"].numpy(), b(gray=gray)["rgb"].numpy())
    with pytest.warns(UserWarning, match="precision auto is ignored: an export computes in float32"):
        export_model(zhang, "saved_model", tmp_path / "c", options=options.replace(precision="auto"))


def test_video_gives_with_options_what_it_gives_with_keywords(zhang, tmp_path):
    from test_video import read_frames, write_clip

    from colornet.video import colorize_video

    source = tmp_path / "in.mp4"
    write_clip(source, frames=4, audio=False)
    colorize_video(source, tmp_path / "a.mkv", zhang, options=InferenceOptions(**CHOSEN))
    colorize_video(source, tmp_path / "b.mkv", zhang, **CHOSEN)
    (a, _), (b, _) = read_frames(tmp_path / "a.mkv"), read_frames(tmp_path / "b.mkv")
    assert len(a) == 4 and all(np.array_equal(x, y) for x, y in zip(a, b))


# --- the command line -------------------------------------------------------------------

FLAGS = ["--work-size", "64", "--temperature", "0.5", "--undo-rebalancing", "0.25"]
# each command's required arguments, and whether it has --precision
COMMANDS = {
    "colorize": (["photo.png"], True),
    "video": (["in.mp4", "out.mp4"], True),
    "evaluate": (["--model", "beta", "--data", "photos"], True),
    "export": (["--out", "exported"], False),
    "app": ([], True),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_command_line_builds_the_options_from_its_flags(command):
    required, has_precision = COMMANDS[command]
    parser = cli.build_parser(command)
    assert inference_options(parser.parse_args([command, *required])) == InferenceOptions()
    precision = ["--precision", "mixed_bfloat16"] if has_precision else []
    args = parser.parse_args([command, *required, *FLAGS, *precision])
    expected = InferenceOptions(work_size=64, temperature=0.5, undo_rebalancing=0.25)
    expected = expected.replace(precision="mixed_bfloat16") if has_precision else expected
    assert inference_options(args) == expected


class Called(Exception):
    """Raised by a stand-in for the library function a command calls, once it has its arguments."""


@pytest.mark.parametrize(
    "command, module, function",
    [
        ("colorize", "colornet.infer", "colorize_files"),
        ("video", "colornet.video", "colorize_video"),
        ("evaluate", "colornet.evaluate", "evaluate"),
        ("export", "colornet.export", "export_model"),
        ("app", "colornet.app", "build_app"),
    ],
)
def test_every_command_passes_one_options_object(command, module, function, monkeypatch):
    import importlib

    calls = []

    def called(*args, **kwargs):
        calls.append(kwargs)
        raise Called

    target = importlib.import_module(module)
    monkeypatch.setattr(target, function, called)
    if command == "evaluate":  # the models load before evaluate is called
        monkeypatch.setattr(target, "load_models", lambda specs, precision: {"beta": None})
    required, _ = COMMANDS[command]
    with pytest.raises(Called):
        cli.main([command, *required, *FLAGS])
    (kwargs,) = calls
    assert kwargs["options"] == InferenceOptions(work_size=64, temperature=0.5, undo_rebalancing=0.25)
    assert not {"work_size", "precision", "temperature", "undo_rebalancing"} & set(kwargs)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_bad_value_on_the_command_line_is_one_line_before_any_work(command, capsys, monkeypatch):
    required, _ = COMMANDS[command]
    assert cli.main([command, *required, "--temperature", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "temperature must be above 0 and at most 10" in err
