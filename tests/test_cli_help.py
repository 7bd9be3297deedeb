"""What the command line says about itself: its name, each option's default, the provided models,
and evaluate's column names."""

import argparse
import importlib
import json
import subprocess
import sys

import pytest

from colornet import cli
from colornet.evaluate import model_name
from colornet.models import DESIGNS
from colornet.weights import provided_names

from conftest import save_tiny_beta


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_option_states_its_default(command):
    parser = cli.build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    silent = []
    for action in sub._actions:
        if not action.option_strings or action.required:
            continue  # positional or required: no default to state
        if isinstance(action, (argparse._HelpAction, argparse._StoreTrueAction)):
            continue  # flags: off unless given
        if "default" not in (action.help or ""):
            silent.append(action.option_strings[0])
    assert not silent, f"{command}: options whose help states no default: {silent}"


def test_only_the_command_asked_for_is_imported(monkeypatch):
    # a command's module imports TensorFlow: the others stay unimported
    imported, real = [], importlib.import_module
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: imported.append(name) or real(name, *a))
    for command, (module, _) in cli.COMMANDS.items():
        assert module == f"colornet.cli.{module.rsplit('.', 1)[-1]}"  # one module of the cli package each
        imported.clear()
        cli.build_parser(command)
        assert imported == [module]
    script = "import sys; from colornet import cli; cli.build_parser(); print(sorted(sys.modules))"
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    loaded = shown.stdout.split("'")
    assert shown.returncode == 0 and "colornet.cli" in loaded and "tensorflow" not in loaded
    assert not [m for m in loaded if m.startswith("colornet.cli.")]


def test_colorize_model_help_lists_only_models_with_provided_weights():
    parser = cli.build_parser("colorize")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["colorize"]
    help_text = next(a for a in sub._actions if "--model" in a.option_strings).help
    provided = provided_names()  # weights/SHA256SUMS
    assert "beta" in provided
    assert f"({', '.join(provided)})" in help_text
    for name in set(DESIGNS) - set(provided):
        assert f" {name}," not in help_text and f"({name}" not in help_text and f" {name})" not in help_text


def test_usage_names_the_command_as_it_was_started(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])  # the `colornet` console script calls main()
    assert capsys.readouterr().out.startswith("usage: colornet ")
    shown = subprocess.run([sys.executable, "-m", "colornet", "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: python -m colornet ")


def test_item29_without_arguments_the_command_prints_its_help():
    shown = subprocess.run([sys.executable, "-m", "colornet"], capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stderr == ""
    assert shown.stdout.startswith("usage: python -m colornet ")
    text = " ".join(shown.stdout.split())  # argparse wraps long lines
    for command, (_, help_text) in cli.COMMANDS.items():
        assert f"{command} {help_text}" in text
    assert "python -m colornet COMMAND --help" in text


def test_item29_an_unknown_model_lists_only_the_models_with_provided_weights(capsys):
    provided = provided_names()
    assert set(DESIGNS) - set(provided), "every design has provided weights: nothing to check"
    for command in (["colorize", "photo.png"], ["evaluate", "--data", "photos"], ["export", "--out", "x"]):
        assert cli.main([*command, "--model", "betta"]) == 2
        err = capsys.readouterr().err.strip()
        assert f"pass {', '.join(provided)} or an existing path." in err, err
        assert len(err.splitlines()) == 1


def test_evaluate_names_columns_after_run_folders(tmp_path):
    assert model_name("beta") == "beta"
    assert model_name("runs/family/best.weights.h5") == "family"
    assert model_name("runs/family/last.keras") == "family"
    assert model_name("old/mine.weights.h5") == "mine"
    assert model_name("best.weights.h5") == "best"


@pytest.mark.slow
def test_evaluate_columns_from_run_folders_or_name_option(photo_folder, tmp_path, capsys):
    runs = {}
    for seed, run in enumerate(("family", "city")):
        (tmp_path / run).mkdir()
        runs[run] = save_tiny_beta(tmp_path / run / "best.weights.h5", seed=seed)
    out = tmp_path / "eval.json"
    args = ["evaluate", "--model", runs["family"], runs["city"], "--data", photo_folder, "--size", "32"]
    assert cli.main([*args, "--limit", "2", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["columns"] == ["gray", "family", "city"]
    assert (
        cli.main([*args, "--limit", "2", "--json", str(out), "--name", "mine", "theirs", "--overwrite"]) == 0
    )
    assert json.loads(out.read_text())["models"] == {"mine": runs["family"], "theirs": runs["city"]}
    capsys.readouterr()
    assert cli.main([*args, "--name", "only-one"]) == 2
    assert "one per model" in capsys.readouterr().err
