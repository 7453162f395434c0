"""The command line: exit codes, JSON shapes, and one-line errors that change nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from modelcycle import open_project
from modelcycle.cli import main

from tests.conftest import write_settings

SETTINGS = """
[project]
name = "demo"
[datasets.d]
url = "d.csv"
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A project with model m: versions 1-3, version 2 then 3 activated."""
    folder = tmp_path / "proj"
    write_settings(folder, SETTINGS)
    project = open_project(folder)
    for i in range(3):
        project.record_version(
            "m",
            f"a{i}".encode(),
            artifact_format="joblib",
            metadata={
                "metrics": {"roc_auc": 0.8 + i / 100},
                "dataset": {"name": "d", "url": "d.csv", "fingerprint": f"fp{i}", "rows": 100},
            },
        )
    project.activate("m", 2, reason="good")
    project.activate("m", 3)
    return folder


def test_versions_json_shape(capsys, project_dir: Path) -> None:
    code, out, err = run(capsys, "--project", str(project_dir), "versions", "m", "--json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert [r["version"] for r in rows] == [1, 2, 3]
    assert [r["active"] for r in rows] == [False, False, True]
    for row in rows:
        assert {"version", "created_at", "active", "metrics", "dataset"} <= set(row)
        assert set(row["dataset"]) >= {"name", "url", "fingerprint", "rows"}
    assert rows[0]["metrics"] == {"roc_auc": 0.8}


def test_versions_table(capsys, project_dir: Path, monkeypatch) -> None:
    monkeypatch.chdir(project_dir)
    code, out, _ = run(capsys, "versions", "m")
    assert code == 0
    assert "m: 3 versions" in out and "roc_auc=0.82" in out and "*" in out


def test_show_json_has_the_activation_log(capsys, project_dir: Path) -> None:
    code, out, _ = run(capsys, "--project", str(project_dir), "show", "m", "--json")
    assert code == 0
    meta = json.loads(out)
    assert meta["version"] == 3 and meta["active"] is True
    assert [(a["version"], a["previous"]) for a in meta["activations"]] == [(2, None), (3, 2)]
    assert meta["artifact"]["sha256"]
    code, out, _ = run(capsys, "--project", str(project_dir), "show", "m", "1")
    assert code == 0 and "m version 1\n" in out and "fingerprint  fp0  rows=100" in out


def test_activate_and_rollback(capsys, project_dir: Path) -> None:
    code, out, _ = run(capsys, "--project", str(project_dir), "activate", "m", "1", "--reason", "test", "--json")
    entry = json.loads(out)
    assert code == 0 and (entry["version"], entry["previous"], entry["reason"]) == (1, 3, "test")
    code, out, _ = run(capsys, "--project", str(project_dir), "rollback", "m")
    assert (code, out) == (0, "m: rolled back to version 3 (was 1)\n")
    code, out, _ = run(capsys, "--project", str(project_dir), "activate", "m", "2")
    assert (code, out) == (0, "m: version 2 is active (was 3)\n")
    code, out, _ = run(capsys, "--project", str(project_dir), "activate", "m", "2")
    assert (code, out) == (0, "m: version 2 is active (it already was; the activation log records this activation too)\n")


def test_plugins_json_shape(capsys, project_dir: Path) -> None:
    code, out, _ = run(capsys, "--project", str(project_dir), "plugins", "--json")
    assert code == 0
    plugins = json.loads(out)
    assert all({"name", "source", "hooks", "registers"} <= set(p) for p in plugins)
    assert {
        "name": "fsspec",
        "source": "built-in",
        "hooks": ["register_stores"],
        "registers": {"stores": ["local", "fsspec"]},
    } in plugins


def test_init_writes_a_template_that_loads(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "init", str(tmp_path / "new"))
    assert code == 0 and "wrote" in out
    project = open_project(tmp_path / "new")
    assert project.name == "new"
    code, _, err = run(capsys, "init", str(tmp_path / "new"))
    assert (
        code == 2
        and err == f"error: {tmp_path / 'new' / 'modelcycle.toml'} already exists: edit it, or choose another DIR\n"
    )


BAD = [
    (["versions", "../x"], "error: model name '../x' is not allowed"),
    (["versions", ""], "error: model name is empty"),
    (["versions", "a b"], "error: model name 'a b' is not allowed"),
    (["versions", "nope"], "error: unknown model 'nope': models in modelcycle.toml: none"),
    (["show", "m", "9"], "error: model 'm' has no version 9: versions are 1 to 3"),
    (["activate", "m", "0"], "error: model 'm' has no version 0: versions are 1 to 3"),
    (
        ["activate", "m", "x"],
        "error: invalid value for 'VERSION': 'x' is not a valid integer; see 'modelcycle activate --help'",
    ),
    (["activate", "m"], "error: missing argument 'VERSION'; see 'modelcycle activate --help'"),
    (["activate", "../../etc", "1"], "error: model name '../../etc' is not allowed"),
    (["rollback", "m", "--reason"], "error: option '--reason' requires an argument; see 'modelcycle rollback --help'"),
    (["frobnicate"], "error: no such command 'frobnicate'; see 'modelcycle --help'"),
    (
        ["versions", "m", "--jsn"],
        "error: no such option '--jsn'; did you mean '--json'?; see 'modelcycle versions --help'",
    ),
    (
        ["--project", "/nonexistent/x", "versions", "m"],
        "error: no settings file at /nonexistent/x: give a folder holding modelcycle.toml",
    ),
]


@pytest.mark.parametrize(("args", "expected"), BAD)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    capsys, project_dir: Path, monkeypatch, args, expected
) -> None:
    monkeypatch.chdir(project_dir)
    before = snapshot(project_dir)
    code, out, err = run(capsys, *args)
    assert code == 2
    assert err.startswith(expected), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert snapshot(project_dir) == before


def test_rollback_with_nothing_before_is_exit_2(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_settings(folder, SETTINGS)
    project = open_project(folder)
    project.record_version("m", b"x", artifact_format="joblib", metadata={})
    project.activate("m", 1)
    before = snapshot(folder)
    code, _, err = run(capsys, "--project", str(folder), "rollback", "m")
    assert code == 2 and err.startswith("error: model 'm': no version was active before version 1")
    assert snapshot(folder) == before


def test_settings_errors_are_one_line_and_verbose_shows_the_traceback(capsys, tmp_path: Path) -> None:
    write_settings(tmp_path, "[project]\nstorre = 'x'\n")
    code, _, err = run(capsys, "--project", str(tmp_path), "versions", "m")
    assert (code, err) == (2, "error: modelcycle.toml: project.storre: unknown key; did you mean 'store'?\n")
    code, _, err = run(capsys, "-v", "--project", str(tmp_path), "versions", "m")
    assert code == 2 and "Traceback" in err and err.endswith("did you mean 'store'?\n")


def test_errors_never_show_interpolated_values(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MC_SECRET_DIR", "supersecretvalue")
    write_settings(tmp_path, SETTINGS + '[models.m]\ndataset = "d"\ntarget = "y"\ntrainer = "${MC_SECRET_DIR}"\n')
    code, out, err = run(capsys, "--project", str(tmp_path), "versions", "m")
    assert code == 2 and "supersecretvalue" not in out + err and "${MC_SECRET_DIR}" in err


def test_no_arguments_prints_help(capsys) -> None:
    code, out, _ = run(capsys)
    assert code == 0 and "Usage: modelcycle" in out


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys; from modelcycle.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'sklearn', 'apprise', 'dask', 'pyarrow', 'scipy', 'rich', 'pydantic', 'fsspec') "
        "if m in sys.modules]\nprint('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("HEAVY []")


def test_the_console_script_exits_2_with_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("modelcycle")
    result = subprocess.run([str(exe), "--project", str(tmp_path), "versions", "m"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no settings file at ") and result.stderr.count("\n") == 1


def test_a_misbehaving_event_hook_is_one_warning_line(capsys, project_dir: Path) -> None:
    (project_dir / "noisy.py").write_text(
        "from modelcycle import hookimpl\n\n@hookimpl\ndef after_version_activated():\n    raise ValueError('bad')\n"
    )
    text = (
        (project_dir / "modelcycle.toml").read_text().replace('name = "demo"', 'name = "demo"\nplugins = ["noisy.py"]')
    )
    (project_dir / "modelcycle.toml").write_text(text)
    code, out, err = run(capsys, "--project", str(project_dir), "activate", "m", "1")
    assert code == 0 and out == "m: version 1 is active (was 3)\n"
    assert err == "warning: plugin 'noisy' failed in after_version_activated: ValueError: bad\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["history", "m", "--metric"], "error: option '--metric' requires an argument; see 'modelcycle history --help'"),
        (["dashboard", "serve", "--port"], "error: option '--port' requires an argument; see 'modelcycle dashboard serve --help'"),
        (["--log-level", "info", "--project"], "error: option '--project' requires an argument; see 'modelcycle --help'"),
    ],
)
def test_an_option_without_its_value_points_at_its_commands_help(capsys, args: list[str], expected: str) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out, err) == (2, "", expected + "\n")
