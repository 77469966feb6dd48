"""evpose's packages form layers, and every import points down (or stays in its package).

The layers, lowest first (a package may import its own modules and any package of a lower
layer; packages of one layer are independent of each other)::

    0  types, errors, _version, paths,  plain values: event dtype, joint names, error bases,
       resources                        the version, where the checkout lies, package data
                                        (no evpose imports)
    1  geometry, metrics                cameras and projection; pure metric functions
    2  io                               event files, dataset manifests and splits (torch-free)
    3  representations, synth           TORE (and the tensor kernels under the graph code);
                                        the synthetic data generator (writes through io)
    4  graph                            radius/knn, voxel pooling, event graphs (on TORE features)
    5  data, viz                        windows, datasets, transforms, the datamodule (which may
                                        generate the synthetic demo); plots of plain arrays
    6  models                           backbone, heads, losses
    7  tasks                            the task contract (encoder: data; head: models) and the
                                        pose tasks (2D joints, 3D joints, parts); the network of
                                        a task list
    8  pretext                          pretext tasks: a corruption (data) and a head (models)
    9  modules, evaluation              the LightningModule; scoring and reports (plots from viz)
    10 estimator                        a checkpoint as a predictor (builds through modules)
    11 cli, evpose (the package root)   Hydra entry points; the public face (load_estimator)

This is the design card's order (ARCHITECTURE.md) with the ties broken by the code: geometry sits below io
(recordings carry cameras), synth below data (the datamodule can make the demo), viz below
modules and evaluation (they plot), models below tasks (a task owns its head), tasks below
pretext (the pretext tasks follow the contract the pose tasks share), and estimator above
modules. The test reads every module of the package with :mod:`ast` (imports at
the top, inside functions and under ``if``, relative and absolute) and fails on an upward one,
naming the file, the line and both layers. Nothing is exempt: a value needed below moves down.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "evpose"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("types", "errors", "_version", "paths", "resources"),
    ("geometry", "metrics"),
    ("io",),
    ("representations", "synth"),
    ("graph",),
    ("data", "viz"),
    ("models",),
    ("tasks",),
    ("pretext",),
    ("modules", "evaluation"),
    ("estimator",),
    ("cli", "evpose"),
)
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    """``evpose/io/dhp19/converter.py`` -> ``evpose.io.dhp19.converter``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def component(module: str) -> str:
    """The package (layer member) a module belongs to: ``evpose.io.manifest`` -> ``io``;
    the package root ``evpose`` -> ``evpose``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imported_modules(tree: ast.AST, module: str, is_package: bool):
    """``(line, module)`` for every evpose module imported anywhere in ``tree``."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "evpose":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "evpose":
                continue
            if target == "evpose":  # `from evpose import io` imports evpose.io; `__version__` the root
                for alias in node.names:
                    sub = PACKAGE / alias.name
                    is_module = sub.is_dir() or sub.with_suffix(".py").is_file()
                    yield node.lineno, f"evpose.{alias.name}" if is_module else "evpose"
            else:
                yield node.lineno, target


def upward_imports(path: Path, source: str | None = None) -> list[str]:
    """One message per import of ``path`` (or of ``source`` read as that file) that reaches
    a higher layer or a sibling package of the same layer."""
    module = module_name(path)
    source = path.read_text() if source is None else source
    tree = ast.parse(source, filename=str(path))
    own = component(module)
    if own not in LAYER_OF:
        return [f"{path.relative_to(PACKAGE.parent)}: package {own!r} has no layer; add it to LAYERS"]
    out = []
    for line, target in imported_modules(tree, module, path.name == "__init__.py"):
        other = component(target)
        if other == own:
            continue
        if other not in LAYER_OF:
            out.append(f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}, whose package {other!r} has no layer")
        elif LAYER_OF[other] >= LAYER_OF[own]:
            how = "a higher layer" if LAYER_OF[other] > LAYER_OF[own] else "a sibling of the same layer"
            out.append(
                f"{path.relative_to(PACKAGE.parent)}:{line}: {own} (layer {LAYER_OF[own]}) imports {target}, "
                f"{how} ({other}, layer {LAYER_OF[other]})"
            )
    return out


def test_every_import_points_down():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 100
    problems = [msg for f in files for msg in upward_imports(f)]
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    assert packages | modules | {"evpose"} == set(LAYER_OF)


@pytest.mark.parametrize(
    "where, source, expected",
    [
        # an upward import hidden in a function, relative
        ("synth/generate.py", "def f():\n    from ..cli._hydra import project_root\n",
         "evpose/synth/generate.py:2: synth (layer 3) imports evpose.cli._hydra, a higher layer (cli, layer 11)"),
        # absolute, at the top
        ("io/dhp19/converter.py", "import evpose.data.manifest as m\n",
         "evpose/io/dhp19/converter.py:1: io (layer 2) imports evpose.data.manifest, a higher layer (data, layer 5)"),
        # `from evpose import <subpackage>`
        ("graph/ops.py", "x = 1\nif x:\n    from evpose import models\n",
         "evpose/graph/ops.py:3: graph (layer 4) imports evpose.models, a higher layer (models, layer 6)"),
        # the package root's own values count as the top layer
        ("io/recording.py", "from .. import __version__\n",
         "evpose/io/recording.py:1: io (layer 2) imports evpose, a higher layer (evpose, layer 11)"),
        # a sibling of the same layer
        ("viz/events.py", "from ..data import windows\n",
         "evpose/viz/events.py:1: viz (layer 5) imports evpose.data, a sibling of the same layer (data, layer 5)"),
    ],
)
def test_an_upward_import_fails(where, source, expected):
    assert upward_imports(PACKAGE / where, source) == [expected]


def test_downward_and_own_package_imports_pass():
    source = "from ..representations.events import on_numpy\nfrom .ops import take\nimport evpose.types\n"
    assert upward_imports(PACKAGE / "graph" / "knn.py", source) == []
    assert upward_imports(PACKAGE / "__init__.py", "from . import estimator\nfrom ._version import __version__\n") == []


def test_manifest_and_splits_are_torch_free():
    """Dataset folders and their splits are read without torch (the converter and the
    generator write them in processes that never load it)."""
    code = textwrap.dedent("""
        import sys
        from evpose.io.manifest import SPLITS, load_manifest, write_manifest
        from evpose.synth.presets import SPLITS as PRESET_SPLITS
        assert PRESET_SPLITS is SPLITS
        assert "torch" not in sys.modules, "torch was imported"
    """)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)
