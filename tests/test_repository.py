"""One repository address for README, pyproject and every notebook, and a Colab setup cell that can
run again (twice in a row, or after "Restart session")."""

import glob
import os
import re
import sys
import types

import nbformat

from conftest import NOTEBOOKS

ROOT = os.path.dirname(NOTEBOOKS)


def repository() -> str:
    """`[project.urls] Repository` of pyproject.toml: the one place the address is written."""
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        return re.search(r'^Repository = "([^"]+)"', f.read(), re.MULTILINE)[1]


def notebooks():
    return {
        os.path.basename(p): nbformat.read(p, as_version=4) for p in sorted(glob.glob(f"{NOTEBOOKS}/*.ipynb"))
    }


def colab_links(text: str) -> list[str]:
    return re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", text)


def test_readme_and_every_notebook_use_the_one_repository_address():
    url = repository()
    owner_name = url.removeprefix("https://github.com/")
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    badges = colab_links(readme)
    assert badges == [
        f"https://colab.research.google.com/github/{owner_name}/blob/main/notebooks/{name}"
        for name in notebooks()
    ]  # one badge per notebook, in order
    assert f"git clone {url}" in readme
    setups = set()
    for name, nb in notebooks().items():
        assert colab_links(nb.cells[0].source) == [
            f"https://colab.research.google.com/github/{owner_name}/blob/main/notebooks/{name}"
        ]
        setup = next(c.source for c in nb.cells if c.cell_type == "code")
        assert f'REPOSITORY = "{url}"' in setup and "github.com" not in setup.replace(url, "")
        setups.add(setup)
    assert len(setups) == 1  # the same setup cell in every notebook


def test_colab_setup_cell_runs_again_and_after_a_restart(tmp_path, monkeypatch):
    """The setup cell in a pretend Colab: the first run clones and installs; running it again, or in a
    restarted kernel, clones nothing, and no command fails."""
    import importlib.metadata
    import subprocess

    from colornet.console import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow imported now, before subprocess.run is replaced below
    setup = next(c.source for c in notebooks()["01_alpha.ipynb"].cells if c.cell_type == "code")
    clone_root = tmp_path / "content" / "colornet"
    setup = setup.replace('"/content/colornet"', repr(str(clone_root)))
    commands, installed = [], []

    def fake_run(args, check=False, **kwargs):
        commands.append(args)
        if args[:2] == ["git", "clone"]:
            assert not os.path.exists(args[-1]), "git clone into an existing folder fails (exit 128)"
            os.makedirs(os.path.join(args[-1], ".git"))
            os.makedirs(os.path.join(args[-1], "notebooks"))
        elif "pip" in args:
            installed.append(args[-1])
        return subprocess.CompletedProcess(args, 0)

    def fake_version(name):
        if name == "colornet" and not installed:
            raise importlib.metadata.PackageNotFoundError(name)
        return "0.1.0"

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the cell run twice in one session
        exec(compile(setup, "setup", "exec"), {})
        assert os.getcwd() == str(clone_root / "notebooks")
    monkeypatch.chdir(tmp_path)  # "Restart session": a new kernel in the starting folder, the clone kept
    exec(compile(setup, "setup", "exec"), {})
    assert os.getcwd() == str(clone_root / "notebooks")
    assert [c[:2] for c in commands].count(["git", "clone"]) == 1
    assert installed == [str(clone_root)]  # installed once
    assert sys.path.count(str(clone_root)) == 1


def test_pyproject_declares_ranges_that_hold_the_pinned_versions():
    """pyproject.toml: ranges (a library installed next to Colab's TensorFlow keeps it); requirements.txt:
    exact pins for reproducible runs, inside those ranges."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        block = re.search(r"^dependencies = \[(.*?)^\]", f.read(), re.MULTILINE | re.DOTALL)[1]
    declared = {r.name: r.specifier for r in map(Requirement, re.findall(r'"([^"]+)"', block))}
    assert {"tensorflow", "keras"} <= set(declared)
    for name, specifier in declared.items():
        assert not any(s.operator in ("==", "~=") for s in specifier), f"{name} is pinned in pyproject.toml"
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        pinned = [Requirement(line.split("#")[0].strip()) for line in f if re.match(r"[a-z]", line)]
    for requirement in pinned:
        if requirement.name in declared:
            (spec,) = list(requirement.specifier)
            assert spec.operator == "~=", f"{requirement.name}: requirements.txt pins versions"
            assert Version(spec.version) in declared[requirement.name], requirement
