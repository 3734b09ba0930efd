"""Profile variants (suites.Profile.variants): plan expansion, ids, validation, the --variants selection, the
dry-run column, the trials table's `variant` column, and the stacked_mnist suite's plans (MD-GAN Table 3)."""
import textwrap

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.cli import main
from bench.errors import UserError
from bench.results import TRIALS_SCHEMA, merge_parts, read_table, write_trial_part
from bench.suites import build_plan, load_suite, stable_hash
from data.image_fixtures import write_idx_set
from handmade import trial_row

SUITE = """
name: tiny
datasets: [grid25, ring8_mgan]
methods: [gan, mdgan]
metrics: [modes]
profiles:
  smoke: {steps: 10, seeds: 1}
  default:
    steps: 100
    seeds: 2
    overrides:
      - params: {lr: 0.001}
        note: "all-method lr"
        protocol: base-proto
    variants:
      B: {params: {d_param_fraction: 1.0}, note: "full D"}
      S1/2: {params: {d_param_fraction: 0.5, lr: 0.003}, protocol: half-proto, note: "half D"}
      S1/4: {params: {d_param_fraction: 0.25}, protocol: quarter-proto}
  paper: {steps: 1000, seeds: 1}
"""


def write_suite(tmp_path, text: str, name: str = "s.yaml") -> str:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_suite(write_suite(tmp_path_factory.mktemp("variants"), SUITE))


def test_every_trial_runs_once_per_variant_with_its_params_notes_and_protocol(tiny):
    trials = build_plan(tiny, "default").trials
    # 2 datasets × 2 methods × 3 variants × 2 seeds, variants in the profile's order within each (dataset, method)
    assert len(trials) == 24
    assert [(t.variant, t.seed) for t in trials[:6]] == [("B", 0), ("B", 1), ("S1/2", 0), ("S1/2", 1),
                                                         ("S1/4", 0), ("S1/4", 1)]
    by = {(t.method, t.dataset, t.variant, t.seed): t for t in trials}
    frac = {v: by[("mdgan", "grid25", v, 0)].params["d_param_fraction"] for v in ("B", "S1/2", "S1/4")}
    assert frac == {"B": 1.0, "S1/2": 0.5, "S1/4": 0.25}
    # the variant's params come after the overrides: S1/2's lr wins over the all-method lr, the others keep it
    assert by[("gan", "ring8_mgan", "S1/2", 1)].params["lr"] == 0.003
    assert by[("gan", "ring8_mgan", "S1/4", 1)].params["lr"] == 0.001
    half = by[("gan", "grid25", "S1/2", 0)]
    assert half.protocols == ["base-proto", "half-proto"]
    assert half.overrides == ["all-method lr", "variant S1/2: half D"]
    assert by[("gan", "grid25", "B", 0)].protocols == ["base-proto"]  # B has no tag of its own
    # a variant without a note records its params
    assert by[("gan", "grid25", "S1/4", 0)].overrides[-1] == 'variant S1/4: {"d_param_fraction": 0.25}'
    ids = [t.trial_id for t in trials]
    assert len(set(ids)) == len(ids)


def test_variant_enters_the_trial_id_only_when_set():
    """Ids of profiles without variants are what they were before variants existed: the hash of the spec without
    the field (every trial of every profile of both existing suites)."""
    for suite in ("mode_collapse", "images"):
        cfg = load_suite(suite)
        for profile in cfg.profiles:
            for t in build_plan(cfg, profile).trials:
                old = {k: v for k, v in t.model_dump(mode="json").items() if k != "variant"}
                assert t.variant is None and t.trial_id == stable_hash(old)[:16]
    cfg = load_suite("stacked_mnist")
    t = build_plan(cfg, "smoke", methods="gan").trials[0]
    assert t.variant == "B" and t.trial_id == stable_hash(t.model_dump(mode="json"))[:16]
    assert t.trial_id != t.model_copy(update={"variant": None}).trial_id


def test_variants_selection_keeps_the_profiles_order_and_refuses_unknown_names(tiny):
    plan = build_plan(tiny, "default", methods="gan", datasets="grid25", seeds=1, variants="S1/4,B")
    assert [t.variant for t in plan.trials] == ["B", "S1/4"]
    with pytest.raises(UserError, match=r"--variants: 'S1/8': profile 'default' has variants B, S1/2, S1/4; give"):
        build_plan(tiny, "default", variants="S1/8")
    with pytest.raises(UserError, match="--variants: profile 'smoke' has no variants; drop --variants"):
        build_plan(tiny, "smoke", variants="B")


def test_a_variant_param_a_method_lacks_names_the_method_the_key_and_the_valid_keys(tmp_path):
    bad = SUITE.replace("S1/4: {params: {d_param_fraction: 0.25}", "S1/4: {params: {n_generators: 10}")
    cfg = load_suite(write_suite(tmp_path, bad))
    with pytest.raises(UserError) as e:
        build_plan(cfg, "default")
    msg = str(e.value)
    assert "suite 'tiny' profile 'default' variant 'S1/4': bad parameters for method 'gan'" in msg
    assert "unknown parameter 'n_generators'" in msg and "Valid parameters: " in msg and "d_param_fraction" in msg


@pytest.mark.parametrize("old,new,fragment", [
    ("      S1/4: {params", "      S¼: {params", "variants: name 'S¼' is not a short label; use 1-16 letters, "
                                                "digits and _ . / - starting with a letter or digit (e.g. B, S1/2"),
    ("      S1/4: {params", "      /x: {params", "name '/x' is not a short label"),
    ("S1/4: {params: {d_param_fraction: 0.25}, protocol", "S1/4: {param: {d_param_fraction: 0.25}, protocol",
     "variants.S1/4.param: unknown key; did you mean 'params'? valid keys: note, params, protocol"),
])
def test_bad_variant_names_and_keys_are_user_errors(tmp_path, old, new, fragment):
    assert old in SUITE
    with pytest.raises(UserError) as e:
        load_suite(write_suite(tmp_path, SUITE.replace(old, new)))
    assert fragment in str(e.value)


def test_cli_bad_variants_exit_2_and_the_dry_run_shows_the_variant_column(capsys, tmp_path):
    rc = main(["run", "--suite", "stacked_mnist", "--profile", "smoke", "--variants", "S1/8", "--dry-run",
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "profile 'smoke' has variants B, S1/2, S1/4" in err
    write_idx_set(tmp_path / "data", "MNIST/raw", n_train=20, n_test=10)  # a dry run checks the data as a run does
    rc = main(["run", "--suite", "stacked_mnist", "--profile", "paper", "--methods", "gan,mdgan", "--variants",
               "S1/2,S1/4", "--seeds", "2", "--dry-run", "--out", str(tmp_path / "o"),
               "--data-root", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert rc == 0 and not (tmp_path / "o").exists()
    lines = out.splitlines()
    assert lines[1].split()[:5] == ["method", "dataset", "seed", "variant", "protocol"]
    rows = [ln.split() for ln in lines[2:] if ln.split()[0] in ("gan", "mdgan")]
    assert [(r[0], r[2], r[3], r[4]) for r in rows[:4]] == [
        ("gan", "0", "S1/2", "mdgan-stacked-S1/2"), ("gan", "1", "S1/2", "mdgan-stacked-S1/2"),
        ("gan", "0", "S1/4", "mdgan-stacked-S1/4"), ("gan", "1", "S1/4", "mdgan-stacked-S1/4")]
    assert "d_param_fraction=0.25" in " ".join(rows[2]) and "d_param_fraction" not in " ".join(rows[0]).replace(
        "d_param_fraction=0.5", "")
    assert lines[-1].startswith("totals: 8 trials (2 methods × 1 datasets × 2 seeds × 2 variants), 800,000 training")


# -- results: the variant column ----------------------------------------------------------------------------


def _trial(tid, **extra):
    return trial_row(tid, "gan", steps=1, **extra)


def test_the_variant_column_round_trips_and_older_tables_read_it_as_null(tmp_path):
    run = tmp_path / "run"
    write_trial_part(run, _trial("a", variant="S1/4"), [], [])
    write_trial_part(run, _trial("b"), [], [])  # a writer that does not know the column (bench/trial.py's row)
    merge_parts(run)
    t = read_table(run, "trials").set_index("trial_id")
    assert t.loc["a", "variant"] == "S1/4" and pd.isna(t.loc["b", "variant"])
    assert TRIALS_SCHEMA.field("variant").type == pa.string() and TRIALS_SCHEMA.field("variant").nullable
    # a trials.parquet written before the column existed
    old = tmp_path / "old"
    old.mkdir()
    legacy = pa.schema([f for f in TRIALS_SCHEMA if f.name != "variant"])
    pq.write_table(pa.Table.from_pylist([{n: _trial("c")[n] for n in legacy.names}], schema=legacy),
                   old / "trials.parquet")
    assert read_table(old, "trials")["variant"].isna().tolist() == [True]


# -- the stacked_mnist suite -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stacked():
    cfg = load_suite("stacked_mnist")
    return cfg, {p: build_plan(cfg, p).trials for p in ("smoke", "default", "paper")}


FRACTION = {"B": 1.0, "S1/2": 0.5, "S1/4": 0.25}


def test_stacked_suite_runs_every_trainable_method_at_three_d_sizes(stacked):
    from bench.registry import METHODS

    cfg, plans = stacked
    trainable = {n for n in METHODS.names() if METHODS.get(n).trainable}
    assert set(cfg.methods) == trainable
    for profile, trials in plans.items():
        assert {t.variant for t in trials} == set(FRACTION)
        for t in trials:
            assert t.params["d_param_fraction"] == FRACTION[t.variant], (profile, t.method, t.variant)
            assert {"stacked_modes", "stacked_kl"} <= set(t.metrics) and t.metric_samples["stacked_modes"] == 25000
    assert {t.dataset for t in plans["smoke"]} == {"stacked_digits"} and {t.steps for t in plans["smoke"]} == {20}
    default = plans["default"]
    assert {"gan", "mdgan", "mgan", "gmgan_static", "pcmgan", "deligan"} <= {t.method for t in default}
    assert "measured" in cfg.profiles["default"].description.lower()  # its wall time, timed once
    paper = plans["paper"]
    assert len(paper) == len(trainable) * 3 * 5 and {t.seed for t in paper} == set(range(5))
    assert {t.dataset for t in paper} == {"stacked_mnist"}


def test_stacked_paper_and_default_overrides_resolve_to_known_parameters(stacked):
    """Each profile override and variant sets known parameters to the values it states (K = 10 for the
    unsupervised mixture methods on stacked sets, z 100 / batch 64), and paper trials carry Table 3's tags."""
    from bench.registry import METHODS

    cfg, plans = stacked
    for profile in ("default", "paper"):
        prof = cfg.profiles[profile]
        for t in plans[profile]:
            fields = METHODS.get(t.method).Params.model_fields
            assert set(t.params) == set(fields)
            for ov in prof.overrides:
                if not ov.matches(t.method, t.dataset):
                    continue
                own = getattr(METHODS.get(t.method).Params, "own_fields", frozenset())
                for key, value in ov.params.items():
                    assert key in fields or ov.methods is None, (profile, t.method, key)
                    if key in fields and (ov.methods is not None or key not in own) and key != "fake_batch_size":
                        want = list(value) if isinstance(value, (list, tuple)) else value
                        assert t.params[key] == want, (profile, t.method, key)
            for key, value in prof.variants[t.variant].params.items():
                assert t.params[key] == value
        k = {t.method: t.params for t in plans[profile]}
        for method, field in (("mgan", "n_generators"), ("gmgan_static", "n_gaussians"), ("pcmgan", "n_gaussians")):
            assert k[method][field] == 10
    for t in plans["paper"]:
        assert f"mdgan-stacked-{t.variant}" in t.protocols and t.steps == 100000
    assert all(t.protocols == [] for t in plans["smoke"] + plans["default"])  # only paper is compared
    assert {t.params["unroll_steps"] for t in plans["paper"] if t.method == "unrolled_gan"} == {10}


def test_stacked_d_sizes_build_discriminators_of_the_stated_parameter_fraction():
    """d_param_fraction on Stacked MNIST's shape: the conv_nets count of S1/2 and S1/4 is within a few per cent of
    half and a quarter of B's (integer base widths: exact fractions are not reachable)."""
    from bench.registry import METHODS
    from methods.conv_nets import d_base_width, d_param_count

    cfg = load_suite("stacked_mnist")
    trials = {t.variant: t for t in build_plan(cfg, "paper", methods="gan", seeds=1).trials}
    shape = (3, 28, 28)
    P = METHODS.get("gan").Params
    count = {v: d_param_count(P(**t.params), shape, d_base_width(P(**t.params), shape)) for v, t in trials.items()}
    assert count["S1/2"] / count["B"] == pytest.approx(0.5, abs=0.03)  # width steps of 1 channel: ~±3 %
    assert count["S1/4"] / count["B"] == pytest.approx(0.25, abs=0.03)
