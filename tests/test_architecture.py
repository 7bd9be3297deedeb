"""ARCHITECTURE.md names every module of the package in one layer, and the imports agree with it:
none points to a later layer, and none makes a circle. Read from the source, nothing imported."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "colornet"


def modules() -> dict[str, Path]:
    """Module name (`predict`, `models.unet`, `colornet` for the package itself) -> file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts) or "colornet"] = path
    return found


def imports(path: Path, names) -> set[str]:
    """The package's modules that `path` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "colornet":
            base = node.module.partition(".")[2]
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                found.add(full if full in names else base or "colornet")
        elif isinstance(node, ast.Import):
            found |= {
                a.name.partition(".")[2] or "colornet" for a in node.names if a.name.startswith("colornet")
            }
    return found & set(names)


def layers() -> dict[str, int]:
    """Module -> its layer's number, from the table in ARCHITECTURE.md."""
    layer_of = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text().splitlines():
        row = re.match(r"\| (\d+)\. [^|]+\| ([^|]+)\|", line)
        if row:
            for name in re.findall(r"`([\w.]+)`", row.group(2)):
                assert name not in layer_of, f"{name} is named in two layers"
                layer_of[name] = int(row.group(1))
    return layer_of


def layer(name: str, layer_of: dict[str, int]) -> int:
    return layer_of[name.split(".")[0] if name.startswith("models.") else name]


def test_every_module_is_in_one_layer_and_every_name_is_a_module():
    names = set(modules())
    layer_of = layers()
    named = {n for n in names if not n.startswith("models.")}
    assert len(layer_of) >= 6 and set(layer_of.values()) == set(range(1, 7))
    assert named - set(layer_of) == set(), "modules ARCHITECTURE.md does not name"
    assert set(layer_of) - named == set(), "names in ARCHITECTURE.md that are not modules"


def test_imports_point_only_to_the_same_or_an_earlier_layer():
    found = modules()
    layer_of = layers()
    upward = [
        f"{name} (layer {layer(name, layer_of)}) imports {other} (layer {layer(other, layer_of)})"
        for name, path in found.items()
        for other in sorted(imports(path, found))
        if other != name and layer(other, layer_of) > layer(name, layer_of)
    ]
    assert upward == []


def test_no_import_circles():
    found = modules()
    graph = {name: imports(path, found) - {name} for name, path in found.items()}
    # the package's own module imports its subpackage's members by name: `models` -> `models.unet`
    state, circles = {}, []

    def visit(name, trail):
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                circles.append(" -> ".join(trail[trail.index(other) :] + [other]))
            elif other not in state:
                visit(other, trail + [other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_only_the_command_line_parses_arguments():
    # argparse, flags and `run(args)` live in `colornet.cli`; the library takes Python values
    found = []
    for name, path in modules().items():
        if name == "cli" or name.startswith("cli."):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                found.append(f"{name} imports argparse")
            elif isinstance(node, ast.ImportFrom) and node.module == "argparse":
                found.append(f"{name} imports from argparse")
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                "add_argument",
                "parse_args",
            ):
                found.append(f"{name} calls {node.func.attr}")
        found += [
            f"{name} defines {node.name}()"
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name in ("add_arguments", "run")
        ]
    assert found == []


def test_the_check_sees_an_upward_import(tmp_path):
    # the parser finds imports inside functions, as `from colornet import x` and as `import colornet.x`
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from colornet import train\n    import colornet.video\n")
    assert imports(source, modules()) == {"train", "video"}
