"""`python -m colornet train`'s flags are made from what they set: one per `TrainConfig` setting (its
help, default, check and choices), one per option the designs declare (`Option`), and map back to
the same settings and model options as the flags once written out by hand."""

import argparse
import dataclasses

import pytest

from colornet import cli
from colornet.cli.train import models_taking, train_arguments
from colornet.errors import ColornetError
from colornet.models import DESIGNS
from colornet.models.spec import Option, options_by_name
from colornet.train_args import API_ONLY, CHOICES, WHOLE
from colornet.train_config import MAX_SEED, TrainConfig, flag_of, setting

# `train beta --data photos`: what the command line asked of `train()` before its flags were made
DEFAULTS = {
    "data": ["photos"], "data_weights": None, "val": None, "size": 128, "epochs": 10, "batch_size": 16,
    "lr": None, "loss": None, "seed": 42, "init": None, "out": None, "val_split": 0.1, "limit": None,
    "steps_per_epoch": None, "schedule": "none", "early_stopping": None, "average_epochs": None, "augment": True, "on_error": "skip",
    "model_options": {}, "embed_weights": "imagenet", "encoder_weights": "imagenet", "embed_mode": "cached",
    "precision": "auto", "jit_compile": "auto", "strategy": "auto", "connect_timeout": 300, "classes": "auto",
    "prior": None, "verbose": 1,
}  # fmt: skip


@pytest.fixture(scope="module")
def parser():
    top = cli.build_parser("train")
    return next(a for a in top._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]


def flags(parser) -> dict:
    return {s: a for a in parser._actions for s in a.option_strings}


def asked(parser, *argv) -> dict:
    return train_arguments(parser.parse_args(list(argv)))


def test_every_setting_says_what_it_does_and_has_its_flag(parser):
    by_flag = flags(parser)
    for f in dataclasses.fields(TrainConfig):
        assert len(f.metadata.get("help", "")) > 10, f"{f.name} has no help"
        flag = flag_of(f)
        if flag is None:
            assert f.name in ("samples", "model_options")
        elif flag.startswith("-"):
            assert by_flag[flag].dest == f.name, flag
    assert by_flag["--no-augment"].help == "no rotation/zoom/shear (crops and flips stay)"  # its flag_help
    assert by_flag["--size"].help.endswith("(default: %(default)s)")  # added: the help does not say it
    assert "(default: %(default)s)" not in by_flag["--limit"].help  # it says it: (default: all)


def test_every_design_option_has_one_flag_that_names_the_models(parser):
    by_flag = flags(parser)
    declared = options_by_name()
    for design in DESIGNS.values():
        for name, option in design.declared_options.items():
            assert name in design.options and (option, design.name) in [
                (o, d) for o, takers in declared[name] for d in takers
            ]
    for name, declarations in declared.items():
        flag = "--" + name.replace("_", "-")
        actions = [a for a in parser._actions if flag in a.option_strings]
        assert len(actions) == 1 and actions[0].dest == name and actions[0].default in (None, False)
        for option, takers in declarations:
            assert f"{models_taking(takers)}: {option.help}" in actions[0].help
        kinds = {option.takes for option, _ in declarations}
        assert len(kinds) == 1, f"{flag}: its declarations take {kinds}"
    assert by_flag["--global-size"].help.startswith("iizuka: side of the global path's input")
    assert by_flag["--batch-norm"].help.startswith("beta, full: ")
    assert by_flag["--width"].help.startswith("every model but alpha: multiply")
    assert models_taking(["beta", "full"]) == "beta, full"
    assert models_taking([n for n in DESIGNS if n != "alpha"]) == "every model but alpha"
    assert models_taking(list(DESIGNS)) == "every model"
    assert by_flag["--perceptual"].metavar == "W"
    assert by_flag["--encoder"].choices == [
        "vgg16", "efficientnet-lite0", "mobilenetv2-0.35", "none", "mobilenetv2", "resnet50v2",
    ]  # fmt: skip


def test_the_defaults_are_the_same_as_before(parser):
    assert asked(parser, "beta", "--data", "photos") == DEFAULTS
    defaults = TrainConfig()
    for name, value in DEFAULTS.items():
        assert name == "data" or getattr(defaults, name) == value, name


@pytest.mark.parametrize(
    "argv, changed",
    [
        (["beta", "--width", "0.5", "--batch-norm", "--head", "bins", "--prior", "p.npy"],
         {"model_options": {"width": 0.5, "batch_norm": True, "head": "bins"}, "prior": "p.npy"}),
        (["unet-gan", "--depth", "5", "--encoder", "mobilenetv2", "--l1-weight", "50", "--color-space", "ycrcb",
          "--encoder-weights", "none"],
         {"model_options": {"depth": 5, "encoder": "mobilenetv2", "l1_weight": 50.0, "color_space": "ycrcb"},
          "encoder_weights": "none"}),
        (["features", "--hints", "--train-encoder", "--width", "0.125"],
         {"model_options": {"hints": True, "train_encoder": True, "width": 0.125}}),
        (["features", "--perceptual", "2", "--encoder", "efficientnet-lite0"],
         {"model_options": {"perceptual": 2.0, "encoder": "efficientnet-lite0"}}),
        (["iizuka", "--global-size", "64", "--class-weight", "0.1", "--classes", "none"],
         {"model_options": {"global_size": 64, "class_weight": 0.1}, "classes": "none"}),
        (["dahl", "--variant", "hypercolumn"], {"model_options": {"variant": "hypercolumn"}}),
        (["full", "--embedder", "efficientnet-lite0", "--embed-mode", "per-batch", "--embed-weights", "none"],
         {"model_options": {"embedder": "efficientnet-lite0"}, "embed_mode": "per-batch", "embed_weights": "none"}),
        (["zhang", "--data-weights", "2", "1", "--val", "v", "--size", "64", "--epochs", "3", "--batch-size", "4",
          "--lr", "0.001", "--loss", "mae", "--init", "w.h5", "--out", "r", "--seed", "7", "--val-split", "0.2"],
         {"data_weights": [2.0, 1.0], "val": ["v"], "size": 64, "epochs": 3, "batch_size": 4, "lr": 0.001,
          "loss": "mae", "init": "w.h5", "out": "r", "seed": 7, "val_split": 0.2}),
        (["alpha", "--limit", "5", "--steps-per-epoch", "2", "--schedule", "cosine", "--early-stopping", "3",
          "--average-epochs", "2", "--no-augment", "--strict", "--precision", "float32", "--xla", "off", "--strategy", "one",
          "--connect-timeout", "10", "--verbose", "0"],
         {"limit": 5, "steps_per_epoch": 2, "schedule": "cosine", "early_stopping": 3, "average_epochs": 2, "augment": False,
          "on_error": "raise", "precision": "float32", "jit_compile": False, "strategy": "one",
          "connect_timeout": 10.0, "verbose": 0}),
        (["beta", "--xla", "on"], {"jit_compile": True}),
    ],
)  # fmt: skip
def test_flags_map_to_the_same_settings_as_before(parser, argv, changed):
    assert asked(parser, argv[0], "--data", "photos", *argv[1:]) == {**DEFAULTS, **changed}


@pytest.mark.parametrize(
    "argv, says",
    [
        (["beta", "--depth", "3"], "--depth does not apply to beta (it takes: width, batch_norm, head)."),
        (["alpha", "--width", "0.5"], "--width does not apply to alpha (it takes: none)."),
        (["unet", "--hints"],
         "--hints does not apply to unet (it takes: depth, width, color_space, encoder, train_encoder)."),
        (["iizuka", "--batch-norm"],
         "--batch-norm does not apply to iizuka (it takes: width, global_size, n_classes, class_weight)."),
        (["features", "--encoder", "none"],
         "--encoder none does not apply to features (its --encoder: efficientnet-lite0)."),
        (["features", "--encoder", "mobilenetv2-0.35"],
         "--encoder mobilenetv2-0.35 does not apply to features (its --encoder: efficientnet-lite0)."),
    ],
)  # fmt: skip
def test_an_option_the_model_does_not_take_is_refused_in_one_line(parser, argv, says):
    with pytest.raises(ColornetError) as err:
        asked(parser, argv[0], "--data", "photos", *argv[1:])
    assert str(err.value) == says


def test_the_command_refuses_another_models_option_before_any_work(tmp_path, capsys):
    code = cli.main(["train", "zhang", "--data", str(tmp_path / "missing"), "--head", "bins"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "colornet train: error: --head does not apply to zhang (it takes: width)."


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--width", "0"], "--width: '0': use a number above 0"),
        (["--global-size", "16"], "--global-size: '16': use a whole number of at least 32"),
        (["--head", "mean"], "--head: invalid choice: 'mean'"),
        (["--seed", str(MAX_SEED + 1)], f"--seed: '{MAX_SEED + 1}': use a whole number from 0 to {MAX_SEED}"),
        (["--val-split", "1"], "--val-split: '1': use a share between 0 and 1"),
        (["--out", ""], "--out: an empty path"),
        (["--verbose", "3"], "--verbose: invalid choice: 3"),
        (["--xla", "yes"], "--xla: invalid choice: 'yes'"),
    ],
)
def test_bad_values_end_in_argparses_one_line(parser, capsys, argv, says):
    with pytest.raises(SystemExit):
        parser.parse_args(["beta", "--data", "photos", *argv])
    assert says in capsys.readouterr().err.strip().splitlines()[-1]


def test_the_api_checks_come_from_the_same_declarations():
    assert WHOLE["size"] == (8, None) and WHOLE["seed"] == (0, MAX_SEED) and WHOLE["samples"] == (0, None)
    assert CHOICES["jit_compile"] == ("auto", True, False) and CHOICES["augment"] == (True, False)
    assert CHOICES["schedule"] == ("none", "plateau", "cosine") and "loss" not in CHOICES
    assert sorted(API_ONLY) == ["augment", "jit_compile", "model_options", "on_error", "samples"]


def test_full_names_the_embedders_of_colornet_embed():
    from colornet.embed import EMBEDDERS
    from colornet.models.fusion import EMBEDDERS as NAMES

    assert NAMES == tuple(EMBEDDERS)


def test_a_declaration_without_what_it_takes_is_refused():
    with pytest.raises(ValueError, match="needs `takes` or `choices`"):
        Option("depth", "encoder steps (default: 7)")
    with pytest.raises(ValueError, match="takes one of"):
        Option("depth", "encoder steps (default: 7)", "count")
    with pytest.raises(ValueError, match="unknown metvar"):
        setting(1, "progress bar", metvar="N")
