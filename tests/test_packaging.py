"""What the wheel and the sdist carry: the licence, the notice for ported code, py.typed, one version.

The distributions are built from a copy of the source tree with the setuptools of the test
environment (the `test` extra brings setuptools>=77), so nothing is fetched and the worktree
gets no build/ or egg-info folder.
"""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import modelcycle
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists()) + ["modelcycle"]
BUILD = (
    "from setuptools import build_meta as backend\n"
    "names = [backend.build_wheel('../dist'), backend.build_sdist('../dist')]\n"
    "open('../built.txt', 'w').write('\\n'.join(names))\n"
)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[zipfile.ZipFile, tarfile.TarFile]]:
    import setuptools

    major = int(setuptools.__version__.split(".")[0])
    assert major >= 77, (
        f"setuptools {setuptools.__version__} cannot build this project (License-Expression needs >= 77): "
        "pip install -e '.[all,test]' -c scripts/constraints.txt"
    )
    top = tmp_path_factory.mktemp("build")
    source = top / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "NOTICE"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("core", "plugins"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    run = subprocess.run([sys.executable, "-c", BUILD], cwd=source, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    wheel_name, sdist_name = (top / "built.txt").read_text().splitlines()
    wheel = zipfile.ZipFile(top / "dist" / wheel_name)
    sdist = tarfile.open(top / "dist" / sdist_name)
    yield wheel, sdist
    wheel.close()
    sdist.close()


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_the_wheel_carries_the_licence_and_the_notice(dists) -> None:
    wheel, _ = dists
    meta = _metadata(wheel)
    assert meta["License-Expression"] == "Apache-2.0"
    assert sorted(meta.get_all("License-File")) == ["LICENSE", "NOTICE"]
    names = wheel.namelist()
    [licence] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    [notice] = [n for n in names if n.endswith(".dist-info/licenses/NOTICE")]
    assert wheel.read(licence).decode().split()[:3] == ["Apache", "License", "Version"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in wheel.read(licence).decode()
    text = wheel.read(notice).decode()
    # the ported code is named, with SciPy's BSD-3-Clause text as its licence requires
    assert "plugins/modelcycle_metrics/drift.py" in text and "scipy/stats/_ksstats.py" in text
    assert "SciPy Developers" in text and "Neither the name of the copyright holder" in text


def test_the_notice_names_every_function_that_says_it_is_ported_from_scipy() -> None:
    source = (ROOT / "plugins" / "modelcycle_metrics" / "drift.py").read_text()
    notice = (ROOT / "NOTICE").read_text()
    assert "scipy/stats/_ksstats.py computes it (SciPy" in source
    for function in ("kolmogorov_sf", "smirnov_sf", "chi2_sf"):
        assert f"def {function}(" in source and function in notice


def test_every_package_ships_py_typed(dists) -> None:
    wheel, sdist = dists
    assert {n.split("/")[0] for n in wheel.namelist() if n.endswith("/py.typed")} == set(PACKAGES)
    in_sdist = {Path(n).parent.name for n in sdist.getnames() if n.endswith("/py.typed")}
    assert in_sdist == set(PACKAGES)
    assert {Path(n).name for n in sdist.getnames() if Path(n).parent.name.startswith("modelcycle-")} >= {
        "LICENSE",
        "NOTICE",
        "PKG-INFO",
    }


def test_the_version_is_written_once_in_the_package(dists) -> None:
    wheel, _ = dists
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert _metadata(wheel)["Version"] == modelcycle.__version__
    assert wheel.filename.endswith(f"modelcycle-{modelcycle.__version__}-py3-none-any.whl")


def test_no_extra_is_empty() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "serve" not in extras
    assert all(extras.values()), [name for name, needs in extras.items() if not needs]
