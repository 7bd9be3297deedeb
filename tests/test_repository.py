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
        assert f"git clone -q {url} " in setup and "github.com" not in setup.replace(url, "")
        setups.add(setup.rpartition("\nQUICK, ")[0])  # the same cell but for what `setup` gives
    assert len(setups) == 1  # the same setup cell in every notebook


def test_colab_setup_cell_runs_again_and_after_a_restart(tmp_path, monkeypatch):
    """The setup cell's install lines in a pretend Colab, through a shell with stand-ins for git and pip:
    the first run clones and installs; running it again, or in a restarted kernel, clones and installs
    nothing, and no command fails. (`colornet.notebook.setup` then moves to the clone's notebooks/:
    tests/test_notebook_setup.py.)"""
    import subprocess

    from IPython.core.inputtransformer2 import TransformerManager

    setup = next(c.source for c in notebooks()["01_alpha.ipynb"].cells if c.cell_type == "code")
    install = TransformerManager().transform_cell(setup.partition("from colornet.notebook")[0])
    clone_root = tmp_path / "content" / "colornet"
    install = install.replace("/content/colornet", str(clone_root))
    bin_dir, log, installed = tmp_path / "bin", tmp_path / "commands.log", tmp_path / "installed"
    bin_dir.mkdir()
    stand_ins = {
        # git clone -q URL DEST: into an existing folder it fails (exit 128), as git does
        "git": '[ -e "$4" ] && exit 128; mkdir -p "$4/.git" "$4/notebooks"',
        "pip": f'case "$1" in show) [ -e {installed} ];; install) touch {installed};; esac',
    }
    for name, body in stand_ins.items():
        (bin_dir / name).write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n{body}\n')
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    failed = []

    class Shell:  # IPython's `!command`: a shell runs it, and a failure does not stop the cell
        def system(self, command):
            if subprocess.run(command, shell=True, env=env).returncode:
                failed.append(command)

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    for _ in range(2):  # the cell run twice in one session
        exec(compile(install, "setup", "exec"), {"get_ipython": Shell})
    exec(compile(install, "setup", "exec"), {"get_ipython": Shell})  # "Restart session": the clone kept
    commands = log.read_text().splitlines()
    assert [c.split()[:2] for c in commands].count(["git", "clone"]) == 1
    assert [c.split()[:2] for c in commands].count(["pip", "install"]) == 1  # installed once
    assert f"pip install -q -e {clone_root}" in commands
    assert failed == [] and (clone_root / ".git").is_dir()
    assert sys.path.count(str(clone_root)) == 1  # importable now, once


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
