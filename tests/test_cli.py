"""CLI exit codes and messages for bad input (exit 2 before any trial starts)."""
import os
import subprocess
import sys

import pytest

from bench.cli import main


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("argv,fragments", [
    (["run", "--suite", "mode_colapse"], ["unknown suite 'mode_colapse'", "did you mean 'mode_collapse'?",
                                          "available: mode_collapse"]),
    (["run", "--suite", "mode_collapse", "--methods", "gna"], ["unknown method 'gna'", "did you mean 'gan'?",
                                                               "available: ", "gan, "]),
    (["run", "--suite", "mode_collapse", "--datasets", "grid_25"], ["unknown dataset 'grid_25'",
                                                                    "did you mean 'grid25'?"]),
    (["run", "--suite", "mode_collapse", "--profile", "fast"], ["--profile 'fast'",
                                                                "choose one of smoke, default, paper"]),
    (["run", "--suite", "mode_collapse", "--seeds", "0"], ["--seeds 0"]),
    (["run", "--suite", "mode_collapse", "--resume", "--force"], ["--resume and --force together"]),
    (["run"], ["give --suite NAME", "or --from RUN_DIR"]),
    (["run", "--from", "/nonexistent/run"], ["no readable run.json"]),
    (["run", "--from", "/nonexistent/run", "--seeds", "2"], ["--from replays what the run recorded; drop --seeds"]),
    (["list", "sweets"], ["choose one of suites, methods, datasets, metrics"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
])
def test_bad_input_exits_2_and_names_the_valid_choices(capsys, argv, fragments, tmp_path):
    rc, out, err = run_cli(capsys, *argv, *(["--out", str(tmp_path)] if argv[:1] == ["run"] and len(argv) > 1 else []))
    assert rc == 2, err
    for f in fragments:
        assert f in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_misspelled_yaml_key_exits_2(capsys, tmp_path):
    suite = tmp_path / "s.yaml"
    text = open(os.path.join(os.path.dirname(__file__), "..", "suites", "mode_collapse.yaml")).read()
    suite.write_text(text.replace("hparams_note:", "hparam_note:"))
    rc, _, err = run_cli(capsys, "run", "--suite", str(suite), "--out", str(tmp_path / "out"))
    assert rc == 2 and "hparam_note: unknown key; did you mean 'hparams_note'?" in err
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_exits_2(capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    rc, _, err = run_cli(capsys, "run", "--suite", "mode_collapse", "--out", str(f / "sub"))
    assert rc == 2 and "is not a writable folder" in err


def test_list_prints_every_registry(capsys):
    rc, out, _ = run_cli(capsys, "list")
    assert rc == 0
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    assert "mode_collapse" in lines["suites"]
    assert {"gan", "oracle", "collapsed"} <= {m.strip() for m in lines["methods"].split(",")}
    assert "grid25" in out and "modes (↑)" in out and "w1 (↓)" in out


def test_python_dash_m_bench_is_the_cli():
    r = subprocess.run([sys.executable, "-m", "bench", "list", "datasets"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("datasets: deligan_bimodal, deligan_uni, gm9")
    r = subprocess.run([sys.executable, "-m", "bench", "run", "--suite", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown suite 'nope'" in r.stderr


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc (a folder nobody can create in)")
def test_out_that_cannot_be_created_exits_2_naming_the_folder_and_the_fix(capsys):
    # /proc passes a permission-bit check for root; only trying to create the folder tells
    rc, _, err = run_cli(capsys, "run", "--suite", "mode_collapse", "--profile", "smoke", "--methods", "gan",
                         "--datasets", "gm9", "--out", "/proc/nope", "--no-report")
    assert rc == 2, err
    assert "--out /proc/nope: is not a writable folder" in err and "pass --out with a folder you can write to" in err
    assert "Traceback" not in err
