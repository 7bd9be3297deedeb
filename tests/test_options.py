"""The options several commands share are declared once (`colornet.cli.options`): every command that
takes one has the same check, the same wording and the same one-line error."""

import argparse
import ast
from pathlib import Path

import pytest

from colornet import cli
from colornet.cli import arguments, options

CLI = Path(__file__).resolve().parents[1] / "colornet" / "cli"
SHARED = ("--model", "--work-size", "--batch-size", "--precision", "--temperature", "--undo-rebalancing")
# other options under a shared name: train's batch is per replica and has no upper bound, prior's is
# the photos of one counting step
OWN = {"train": {"--batch-size"}, "prior": {"--batch-size"}}
# each command's required arguments, so that parsing reaches the option under test
REQUIRED = {
    "colorize": [],
    "evaluate": ["--model", "beta", "--data", "photos"],
    "export": ["--out", "exported"],
    "video": ["in.mp4", "out.mp4"],
}


def command_options(command: str) -> dict[str, argparse.Action]:
    parser = cli.build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return {flag: action for action in sub._actions for flag in action.option_strings}


def test_no_command_declares_a_shared_option_itself():
    modules = sorted(p for p in CLI.glob("*.py") if p.stem != "options")
    assert {p.stem for p in modules} >= set(cli.COMMANDS) | {"lite0"}
    declared = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                flags = [a.value for a in node.args if isinstance(a, ast.Constant)]
                own = OWN.get(path.stem, set())
                declared += [
                    f"{path.stem}: {f}" for f in flags if f in (*SHARED, "--overwrite") and f not in own
                ]
    assert declared == []


@pytest.mark.parametrize("command", list(REQUIRED))
def test_every_command_checks_work_size_alike(command):
    found = command_options(command)
    assert found["--work-size"].type is arguments.work_size_argument
    assert found["--work-size"].help.startswith("longer side of the resolution the colors are predicted at")
    assert found["--temperature"].type is float and found["--undo-rebalancing"].type is float
    assert "annealed mean's temperature, above 0 and at most 10" in found["--temperature"].help
    assert found["--model"].help.startswith(options.model_sources())


@pytest.mark.parametrize("command", ["colorize", "evaluate", "video"])
def test_batch_size_and_precision_are_the_same_options(command):
    found = command_options(command)
    assert found["--batch-size"].type is options.batch_size_argument
    assert found["--precision"].default == "float32"
    assert found["--precision"].choices == command_options("colorize")["--precision"].choices


@pytest.mark.parametrize("command", list(REQUIRED))
def test_work_size_3_is_refused_in_the_same_one_line(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, *REQUIRED[command], "--work-size", "3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and "Traceback" not in "\n".join(err)
    assert err[-1] == (
        f"colornet {command}: error: argument --work-size: '3': use a whole number of pixels from 8 to 8192"
    )


@pytest.mark.parametrize("command", ["colorize", "evaluate", "video"])
def test_batch_size_0_is_refused_in_the_same_one_line(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, *REQUIRED[command], "--batch-size", "0"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"colornet {command}: error: argument --batch-size: '0': use a whole number from 1 to 1024"


def test_video_takes_temperature_and_undo_rebalancing():
    args = cli.build_parser("video").parse_args(
        ["video", "in.mp4", "out.mp4", "--temperature", "0.5", "--undo-rebalancing", "0.25"]
    )
    assert (args.temperature, args.undo_rebalancing) == (0.5, 0.25)
    args = cli.build_parser("video").parse_args(["video", "in.mp4", "out.mp4"])
    assert (args.temperature, args.undo_rebalancing) == (None, None)


def test_work_size_argument_accepts_the_range_only():
    assert arguments.work_size_argument("8") == 8 and arguments.work_size_argument("8192") == 8192
    for bad in ("7", "8193", "12.5", "big", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="whole number of pixels from 8 to 8192"):
            arguments.work_size_argument(bad)
