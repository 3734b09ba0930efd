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
                                          "available: images, mode_collapse"]),
    (["run", "--suite", "mode_collapse", "--methods", "gna"], ["unknown method 'gna'", "did you mean 'gan'?",
                                                               "available: ", "gan, "]),
    (["run", "--suite", "mode_collapse", "--datasets", "grid_25"], ["unknown dataset 'grid_25'",
                                                                    "did you mean 'grid25'?"]),
    (["run", "--suite", "mode_collapse", "--profile", "fast"], ["--profile 'fast'",
                                                                "has profiles smoke, default, full, paper"]),
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
    assert r.returncode == 0 and r.stdout.startswith("datasets: celeba64, cifar10, deligan_bimodal, deligan_uni")
    r = subprocess.run([sys.executable, "-m", "bench", "run", "--suite", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown suite 'nope'" in r.stderr


# -- bench data / missing data (issue 12) ------------------------------------------------------------------------
IMAGE_SUITE = """
name: tiny_images
datasets: [{dataset}]
methods: [oracle]
metrics: []
profiles:
  smoke: {{steps: 0, seeds: 1}}
  default: {{steps: 0, seeds: 1}}
  paper: {{steps: 0, seeds: 1}}
"""


def test_run_with_a_missing_image_set_exits_2_before_ray(capsys, tmp_path, monkeypatch):
    import time

    import bench.sweep

    def no_sweep(*a, **k):
        raise AssertionError("the sweep (Ray) must not start when data is missing")

    monkeypatch.setattr(bench.sweep, "run_sweep", no_sweep)
    suite = tmp_path / "s.yaml"
    suite.write_text(IMAGE_SUITE.format(dataset="cifar10"))
    empty = tmp_path / "data"
    t0 = time.perf_counter()
    rc, _, err = run_cli(capsys, "run", "--suite", str(suite), "--profile", "smoke", "--data-root", str(empty),
                         "--out", str(tmp_path / "out"))
    assert rc == 2 and time.perf_counter() - t0 < 10
    for frag in ["dataset 'cifar10'", str(empty / "cifar-10-batches-py"), "data_batch_1", "test_batch",
                 "batches.meta", f"bench data fetch cifar10 --data-root {empty}",
                 "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]:
        assert frag in err, frag
    assert not (tmp_path / "out").exists()


def test_run_with_a_corrupt_file_exits_2_naming_it(capsys, tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(IMAGE_SUITE.format(dataset="mnist"))
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, head in [("train-images-idx3-ubyte", "00000803 00000002 0000001c 0000001c"),
                       ("t10k-images-idx3-ubyte", "00000803 00000001 0000001c 0000001c"),
                       ("train-labels-idx1-ubyte", "00000801 00000002"),
                       ("t10k-labels-idx1-ubyte", "00000801 00000001")]:
        n = int(head.split()[1], 16) * (784 if "images" in name else 1)
        (raw / name).write_bytes(bytes.fromhex(head) + bytes(n - (5 if name.startswith("t10k-images") else 0)))
    rc, _, err = run_cli(capsys, "run", "--suite", str(suite), "--data-root", str(tmp_path / "data"),
                         "--out", str(tmp_path / "out"))
    assert rc == 2 and f"{raw / 't10k-images-idx3-ubyte'}: truncated or corrupt" in err


def test_data_check_and_list(capsys, tmp_path):
    assert run_cli(capsys, "data", "check", "digits")[0] == 0
    assert run_cli(capsys, "data", "check", "grid25")[0] == 0
    rc, _, err = run_cli(capsys, "data", "check", "mnist", "--data-root", str(tmp_path))
    assert rc == 2 and str(tmp_path / "MNIST" / "raw") in err and "bench data fetch mnist" in err
    rc, _, err = run_cli(capsys, "data", "check", "mnst")
    assert rc == 2 and "did you mean 'mnist'?" in err
    rc, out, _ = run_cli(capsys, "data", "list", "--data-root", str(tmp_path))
    assert rc == 0 and f"data root: {tmp_path} (--data-root)" in out
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line and not line.startswith(" ")}
    assert "missing" in rows["mnist"] and str(tmp_path / "MNIST" / "raw") in rows["mnist"]
    assert "present" in rows["digits"] and "built-in" in rows["grid25"]
    assert "CC BY-SA 3.0" in out and "celeba64" in rows


def test_data_fetch_bad_source_and_unknown_name_exit_2(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "data", "fetch", "cifar10", "--source", "pypi", "--data-root", str(tmp_path))
    assert rc == 2 and "can be fetched from torchvision" in err
    rc, _, err = run_cli(capsys, "data", "fetch", "celeba64", "--data-root", str(tmp_path))
    assert rc == 2 and "no automatic download" in err and str(tmp_path / "celeba") in err
    rc, _, err = run_cli(capsys, "data", "fetch", "nope", "--data-root", str(tmp_path))
    assert rc == 2 and "unknown dataset" in err


# -- bench run --dry-run -------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["run", "--suite", "mode_colapse"], ["run", "--suite", "mode_collapse", "--methods", "gna"],
    ["run", "--suite", "mode_collapse", "--profile", "fast"], ["run", "--suite", "mode_collapse", "--seeds", "0"],
    ["run", "--from", "/nonexistent/run"], ["run", "--suite", "mode_collapse", "--max-concurrent", "0"],
])
def test_dry_run_exits_2_on_the_same_bad_input_as_a_real_run(capsys, argv, tmp_path):
    real_rc, _, real_err = run_cli(capsys, *argv, "--out", str(tmp_path / "real"))
    rc, out, err = run_cli(capsys, *argv, "--out", str(tmp_path / "dry"), "--dry-run")
    assert rc == real_rc == 2 and err == real_err and out == ""
    assert not any(tmp_path.iterdir())


def test_dry_run_prints_one_line_per_trial_and_the_totals_and_writes_nothing(capsys, tmp_path):
    from bench.suites import build_plan, load_suite

    rc, out, err = run_cli(capsys, "run", "--suite", "mode_collapse", "--profile", "paper", "--methods",
                           "gan,wgan_gp", "--datasets", "ring8_mgan,grid25", "--seeds", "2", "--cpus-per-trial", "2",
                           "--max-concurrent", "3", "--out", str(tmp_path / "out"), "--dry-run")
    assert rc == 0, err
    assert not (tmp_path / "out").exists()  # no run folder, no run.json
    plan = build_plan(load_suite("mode_collapse"), "paper", methods="gan,wgan_gp", datasets="ring8_mgan,grid25",
                      seeds=2)
    lines = out.splitlines()
    assert lines[0].startswith(f"plan: suite mode_collapse, profile paper, config {plan.config_hash[:8]}: 8 trials")
    rows = [ln.split() for ln in lines[2:] if ln.split()[0] in ("gan", "wgan_gp")]
    assert [(r[0], r[1], int(r[2])) for r in rows] == [(t.method, t.dataset, t.seed) for t in plan.trials]
    by = {(r[0], r[1], r[2]): r for r in rows}
    # protocol tag, steps and evaluations as resolved: MGAN's 25k steps on the ring, MD-GAN's 40k on the grid
    assert by[("gan", "ring8_mgan", "0")][3:6] == ["mgan-2d", "25000", "25"]
    assert by[("gan", "grid25", "1")][3:6] == ["mdgan-2d", "40000", "20"]
    grid = " ".join(by[("gan", "grid25", "1")])
    assert "2 CPU, 0 GPU" in grid and "lr=0.001" in grid and "batch_size=500" in grid and "z_dist=uniform" in grid
    assert "lr=" not in " ".join(by[("wgan_gp", "grid25", "0")])  # wgan-gp's own Adam restored: its default
    assert any("md-gan §6.1 protocol" in ln for ln in lines)  # the override notes, in a numbered legend
    assert lines[-1] == ("totals: 8 trials (2 methods × 2 datasets × 2 seeds), 260,000 training steps, "
                         "180 evaluations; 2 CPU / 0 GPU per trial, at most 3 at once")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc (a folder nobody can create in)")
def test_out_that_cannot_be_created_exits_2_naming_the_folder_and_the_fix(capsys):
    # /proc passes a permission-bit check for root; only trying to create the folder tells
    rc, _, err = run_cli(capsys, "run", "--suite", "mode_collapse", "--profile", "smoke", "--methods", "gan",
                         "--datasets", "gm9", "--out", "/proc/nope", "--no-report")
    assert rc == 2, err
    assert "--out /proc/nope: is not a writable folder" in err and "pass --out with a folder you can write to" in err
    assert "Traceback" not in err
