"""The image reproduction targets of the Makefile (`make repro-images`, `make repro-images-cpu`): `make -n` prints
their commands without running them; every `bench run` they issue must name a suite profile whose plan builds, pass
the cluster flags through, and the report line must read the runs those commands write."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.suites import build_plan, load_suite

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _dry(target: str, *assign: str) -> list[str]:
    out = subprocess.run(["make", "-n", target, *assign], cwd=ROOT, capture_output=True, text=True, check=True)
    text = out.stdout.replace("\\\n", " ")  # a recipe's continued lines as one command
    return [line for line in text.splitlines() if "-m bench " in line]


def _runs(lines: list[str]) -> list[dict[str, str]]:
    runs = []
    for line in lines:
        if " -m bench run " not in line:
            continue
        argv = shlex.split(line.lstrip("-"))
        opts = {a: argv[i + 1] for i, a in enumerate(argv[:-1]) if a.startswith("--") and not argv[i + 1].startswith("--")}
        runs.append(opts | {"flags": " ".join(a for a in argv if a.startswith("--"))})
    return runs


@pytest.mark.parametrize("profile, expected", [
    ("paper", [("stacked_mnist", "paper"), ("images", "paper"), ("images", "paper_gmgan_k20"),
               ("images", "paper_gmgan_k30")]),
    ("smoke", [("stacked_mnist", "smoke"), ("images", "smoke")]),
])
def test_repro_images_runs_each_papers_profile_and_every_plan_builds(profile, expected):
    runs = _runs(_dry("repro-images", f"REPRO_PROFILE={profile}", "OUT=/tmp/mb_out"))
    assert [(r["--suite"], r["--profile"]) for r in runs] == expected
    for r in runs:
        assert r["--out"] == "/tmp/mb_out" and "--no-report" in r["flags"]
        assert len(build_plan(load_suite(r["--suite"]), r["--profile"]).trials) > 0


def test_repro_images_passes_the_cluster_address_and_gpu_fraction():
    runs = _runs(_dry("repro-images", "ADDRESS=ray://head:10001", "GPUS=0.25"))
    assert runs and all(r["--address"] == "ray://head:10001" and r["--gpus-per-trial"] == "0.25" for r in runs)
    plain = _runs(_dry("repro-images"))
    assert all("--address" not in r and "--gpus-per-trial" not in r for r in plain)


@pytest.mark.parametrize("target", ["repro-images", "repro-images-cpu"])
def test_the_report_reads_only_the_runs_this_invocation_wrote(target, tmp_path):
    """A run refused before it starts writes no folder: an older run under OUT must not stand in for it."""
    import os
    import time

    lines = _dry(target, f"OUT={tmp_path}")
    (report,) = [line for line in lines if " -m bench report " in line]
    mark = re.search(r"touch (\S+)", subprocess.run(["make", "-n", target, f"OUT={tmp_path}"], cwd=ROOT,
                                                   capture_output=True, text=True, check=True).stdout).group(1)
    old = tmp_path / "images" / "20260101-000000-old"
    old.mkdir(parents=True)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    Path(mark).touch()
    new = [tmp_path / "stacked_mnist" / "20261202-000000-new", tmp_path / "images" / "20261202-000001-new"]
    for d in new:
        d.mkdir(parents=True)
        os.utime(d, (time.time() + 5, time.time() + 5))
    find = re.search(r"\$\((find .*?)\) --out", report).group(1)
    found = subprocess.run(["bash", "-c", find], capture_output=True, text=True, check=True).stdout.split()
    assert sorted(found) == sorted(map(str, new))  # the old images run is left out
    assert report.rstrip().endswith(f"--out {tmp_path}/{'report_images' if target == 'repro-images' else 'report_images_cpu'}")


def test_extra_flags_reach_every_run():
    runs = _runs(_dry("repro-images", "ARGS=--inception-weights /w/pt_inception.pth"))
    assert runs and all(r["--inception-weights"] == "/w/pt_inception.pth" and "--fetch" in r["flags"] for r in runs)


def test_repro_images_cpu_runs_the_cpu_reproductions():
    runs = _runs(_dry("repro-images-cpu"))
    assert [(r["--suite"], r["--profile"]) for r in runs] == [("stacked_mnist", "cpu_s14"), ("images", "qd_cpu")]
    s14 = build_plan(load_suite("stacked_mnist"), "cpu_s14").trials
    assert {t.method for t in s14} == {"gan", "deligan", "infogan", "sngan", "unrolled_gan", "mdgan", "mgan",
                                       "gmgan_static", "pcmgan"}
    assert {t.variant for t in s14} == {"S1/4"} and {t.seed for t in s14} == {0, 1, 2}
    assert {t.params["d_param_fraction"] for t in s14} == {0.25}
    qd = build_plan(load_suite("images"), "qd_cpu").trials
    assert {(t.method, t.dataset) for t in qd} == {(m, d) for m in ("gan", "gmgan_static") for d in ("digits", "mnist")}
