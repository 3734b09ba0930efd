import textwrap

import pytest

from bench.errors import UserError
from bench.suites import build_plan, eval_schedule, load_suite

ALL_2D = ["ring8_mgan", "ring8_mdgan", "grid25", "gm9", "deligan_uni", "deligan_bimodal"]


def write_suite(tmp_path, text: str):
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(text))
    return str(p)


MINIMAL = """
name: tiny
datasets: [grid25]
methods: [gan, oracle]
metrics: [modes]
profiles:
  smoke: {steps: 10, seeds: 1}
  default: {steps: 100, seeds: 2, n_evals: 4}
  paper:
    steps: 1000
    seeds: 5
    eval_every: 300
    overrides:
      - methods: [gan]
        datasets: [grid25]
        steps: 50
        params: {lr: 0.001}
        note: "test override (cited section)"
"""


def test_mode_collapse_suite_has_every_2d_dataset_and_the_references():
    cfg = load_suite("mode_collapse")
    assert sorted(cfg.datasets) == sorted(ALL_2D)
    assert {"gan", "oracle", "collapsed"} <= set(cfg.methods)
    assert set(cfg.profiles) == {"smoke", "default", "paper", "full"}


def test_default_profile_is_the_converged_ring_and_full_keeps_the_whole_sweep():
    """Issue 16: the default run shows MGAN's ring at 8,000 steps (converged) for the field's methods and the
    references; `full` is every method on every dataset at the old 3,000 steps."""
    cfg = load_suite("mode_collapse")
    default = build_plan(cfg, "default").trials
    assert {t.dataset for t in default} == {"ring8_mgan"}
    assert {"gan", "mgan", "gmgan_static", "mdgan", "pcmgan", "deligan", "oracle", "collapsed"} <= {
        t.method for t in default}
    assert not {"acgan", "gmgan_supervised"} & {t.method for t in default}  # label-using methods: full / paper
    assert {t.steps for t in default} == {8000} and default[0].eval_steps == list(range(1000, 8001, 1000))
    assert len(default) == 12 * 3
    full = build_plan(cfg, "full").trials
    assert len(full) == len(cfg.methods) * len(cfg.datasets) * 3 and {t.steps for t in full} == {3000}


def test_plan_is_the_product_of_methods_datasets_seeds_with_stable_distinct_ids():
    cfg = load_suite("mode_collapse")
    plan = build_plan(cfg, "full", seeds=2)
    assert len(plan.trials) == len(cfg.methods) * len(cfg.datasets) * 2
    ids = [t.trial_id for t in plan.trials]
    assert len(set(ids)) == len(ids)
    again = build_plan(load_suite("mode_collapse"), "full", seeds=2)
    assert [t.trial_id for t in again.trials] == ids and again.config_hash == plan.config_hash
    assert build_plan(cfg, "full", seeds=3).config_hash != plan.config_hash


def test_unknown_profile_names_the_suites_own_profiles():
    cfg = load_suite("images")
    with pytest.raises(UserError, match="unknown profile 'full' of suite 'images'; available: smoke, default, paper"):
        build_plan(cfg, "full")


def test_cli_style_subsets_and_seed_count(tmp_path):
    cfg = load_suite(write_suite(tmp_path, MINIMAL))
    plan = build_plan(cfg, "default", methods="gan", datasets="grid25", seeds=3)
    assert [(t.method, t.dataset, t.seed) for t in plan.trials] == [("gan", "grid25", s) for s in range(3)]


def test_resolved_params_include_defaults_and_overrides(tmp_path):
    cfg = load_suite(write_suite(tmp_path, MINIMAL))
    default = build_plan(cfg, "default").trials[0]
    assert default.params["lr"] == pytest.approx(2e-4) and default.params["z_dim"] == 256
    assert default.eval_steps == [25, 50, 75, 100]
    paper = [t for t in build_plan(cfg, "paper").trials if t.method == "gan"][0]
    assert paper.params["lr"] == pytest.approx(1e-3)
    assert paper.steps == 50 and paper.eval_steps == [50]  # eval_every 300 > steps: final only
    assert paper.overrides == ["test override (cited section)"]
    oracle = [t for t in build_plan(cfg, "paper").trials if t.method == "oracle"][0]
    assert oracle.steps == 1000 and oracle.overrides == [] and oracle.eval_steps == [300, 600, 900, 1000]


@pytest.mark.parametrize("steps,n,every,expected", [
    (100, 4, None, [25, 50, 75, 100]),
    (10, 3, None, [3, 7, 10]),
    (5, 10, None, [1, 2, 3, 4, 5]),
    (1000, None, 300, [300, 600, 900, 1000]),
    (0, 5, None, [0]),
])
def test_eval_schedule_always_ends_at_the_final_step(steps, n, every, expected):
    assert eval_schedule(steps, n, every) == expected


@pytest.mark.parametrize("bad,fragment", [
    ("seedz: 3", "unknown key; did you mean 'seeds'?"),
    ("stepz: 3", "valid keys:"),
])
def test_misspelled_profile_key_names_the_valid_keys(tmp_path, bad, fragment):
    text = MINIMAL.replace("smoke: {steps: 10, seeds: 1}", "smoke: {steps: 10, seeds: 1, %s}" % bad)
    with pytest.raises(UserError) as e:
        load_suite(write_suite(tmp_path, text))
    assert "profiles.smoke." in str(e.value) and fragment in str(e.value)


def test_misspelled_top_level_key(tmp_path):
    with pytest.raises(UserError, match=r"metricz: unknown key; did you mean 'metrics'\?"):
        load_suite(write_suite(tmp_path, MINIMAL.replace("metrics: [modes]", "metrics: [modes]\nmetricz: [hq]")))


@pytest.mark.parametrize("old,new,fragment", [
    ("methods: [gan, oracle]", "methods: [gann, oracle]", "unknown method 'gann'; did you mean 'gan'?"),
    ("datasets: [grid25]", "datasets: [grid52]", "unknown dataset 'grid52'"),
    ("metrics: [modes]", "metrics: [mode]", "unknown metric 'mode'; did you mean 'modes'?"),
])
def test_unknown_names_in_yaml(tmp_path, old, new, fragment):
    with pytest.raises(UserError) as e:
        load_suite(write_suite(tmp_path, MINIMAL.replace(old, new)))
    assert fragment in str(e.value) and "available:" in str(e.value)


def test_bad_method_parameter_names_the_valid_ones(tmp_path):
    text = MINIMAL.replace("metrics: [modes]", "metrics: [modes]\nparams:\n  gan: {lrr: 0.1}")
    cfg = load_suite(write_suite(tmp_path, text))
    with pytest.raises(UserError) as e:
        build_plan(cfg, "default")
    assert "unknown parameter 'lrr' (did you mean 'lr'?)" in str(e.value)
    assert "Valid parameters:" in str(e.value) and "z_dim" in str(e.value)


def test_missing_profile_and_unknown_profile(tmp_path):
    with pytest.raises(UserError, match="missing: every suite defines smoke, default, paper"):
        load_suite(write_suite(tmp_path, MINIMAL.replace("  smoke: {steps: 10, seeds: 1}\n", "")))
    cfg = load_suite(write_suite(tmp_path, MINIMAL))
    with pytest.raises(UserError, match="unknown profile 'fast' of suite 'tiny'; available: smoke, default, paper"):
        build_plan(cfg, "fast")


def test_not_yaml_and_not_a_mapping(tmp_path):
    with pytest.raises(UserError, match="not valid YAML"):
        load_suite(write_suite(tmp_path, "name: [unclosed"))
    with pytest.raises(UserError, match="a suite is a YAML mapping"):
        load_suite(write_suite(tmp_path, "- a\n- b\n"))


def test_cli_subset_with_unknown_name():
    cfg = load_suite("mode_collapse")
    with pytest.raises(UserError, match=r"--methods: unknown method 'orcale'; did you mean 'oracle'\?"):
        build_plan(cfg, "smoke", methods="gan,orcale")
    with pytest.raises(UserError, match="--seeds 0"):
        build_plan(cfg, "smoke", seeds=0)


ALL_METHODS_OVERRIDE = MINIMAL.replace('''      - methods: [gan]
        datasets: [grid25]
        steps: 50''', '''      - datasets: [grid25]
        params: {%s}
      - methods: [gan]
        datasets: [grid25]
        steps: 50''')


def test_an_all_methods_override_sets_only_the_fields_each_method_has(tmp_path):
    cfg = load_suite(write_suite(tmp_path, ALL_METHODS_OVERRIDE % "z_dim: 2, batch_size: 100"))
    by_method = {t.method: t for t in build_plan(cfg, "paper").trials}
    assert by_method["gan"].params["z_dim"] == 2 and by_method["gan"].params["batch_size"] == 100
    assert "z_dim" not in by_method["oracle"].params and by_method["oracle"].params["batch_size"] == 100


def test_an_all_methods_override_key_no_method_has_is_an_error(tmp_path):
    cfg = load_suite(write_suite(tmp_path, ALL_METHODS_OVERRIDE % "z_dimm: 2"))
    with pytest.raises(UserError, match=r"no method of this run has a parameter 'z_dimm' \(did you mean 'z_dim'\?\)"):
        build_plan(cfg, "paper")


def test_mode_collapse_paper_profile_follows_each_datasets_protocol():
    plan = {(t.method, t.dataset): t for t in build_plan(load_suite("mode_collapse"), "paper").trials if t.seed == 0}
    md = plan[("mdgan", "grid25")]
    assert md.steps == 40_000 and md.params["lr"] == pytest.approx(1e-3) and md.params["z_dist"] == "uniform"
    assert md.params["embed_out"] == "sigmoid_box" and md.params["lr_halve_every"] == 10_000
    assert plan[("deligan", "grid25")].params["z_dim"] == 2  # mixture latents keep their normal ε
    assert plan[("mgan", "ring8_mgan")].steps == 25_000 and plan[("mgan", "ring8_mgan")].protocols == ["mgan-2d"]
    assert md.protocols == ["mdgan-2d"] and plan[("gan", "gm9")].protocols == ["gmgan-toy"]
    assert plan[("oracle", "deligan_uni")].protocols == ["deligan-toy"]
    assert plan[("gmgan_static", "gm9")].params["n_gaussians"] == 9 and plan[("gan", "gm9")].params["z_dim"] == 100
    assert plan[("gan", "deligan_bimodal")].params["hidden_act"] == "tanh"
    assert plan[("pcmgan", "ring8_mgan")].params["cov"] == "full"


def test_dataset_groups_name_registered_datasets(tmp_path):
    cfg = load_suite("mode_collapse")
    assert set(cfg.dataset_groups["rings"]) == {"ring8_mgan", "ring8_mdgan"}
    bad = MINIMAL.replace("metrics: [modes]", "metrics: [modes]\ndataset_groups:\n  g: [grid25, ring8]")
    with pytest.raises(UserError, match=r"dataset_groups.g: unknown dataset 'ring8'"):
        load_suite(write_suite(tmp_path, bad))


SELECTING = """
name: sel
datasets: [grid25, ring8_mgan]
methods: [gan, mgan, oracle]
metrics: [modes, hq]
profiles:
  smoke: {steps: 10, seeds: 1, datasets: [ring8_mgan], methods: [gan, oracle], metrics: [hq]}
  default: {steps: 100, seeds: 1}
  paper: {steps: 100, seeds: 1}
"""


def test_a_profile_selects_its_own_datasets_and_methods_and_the_cli_still_chooses(tmp_path):
    cfg = load_suite(write_suite(tmp_path, SELECTING))
    smoke = build_plan(cfg, "smoke")
    assert {(t.method, t.dataset) for t in smoke.trials} == {("gan", "ring8_mgan"), ("oracle", "ring8_mgan")}
    assert all(t.metrics == ["hq"] for t in smoke.trials)
    default = build_plan(cfg, "default")
    assert len(default.trials) == 6  # no selection: the suite's 2 datasets × 3 methods, all its metrics
    assert all(t.metrics == ["modes", "hq"] for t in default.trials)
    cli = build_plan(cfg, "smoke", methods="mgan", datasets="grid25")
    assert [(t.method, t.dataset) for t in cli.trials] == [("mgan", "grid25")]


def test_a_profile_selection_outside_the_suite_is_an_error_naming_the_fix(tmp_path):
    text = SELECTING.replace("datasets: [ring8_mgan], methods", "datasets: [gm9], methods")
    with pytest.raises(UserError, match=r"profiles.smoke.datasets: 'gm9' is not one of the suite's datasets"):
        load_suite(write_suite(tmp_path, text))



# -- a method's own design, one K rule (issue 15) -----------------------------------------------------------
MIXTURE_LATENT = ("gmgan_static", "gmgan_dynamic", "gmgan_supervised", "pcmgan")


@pytest.fixture(scope="module")
def every_profile_plan():
    cfg = load_suite("mode_collapse")
    return {prof: build_plan(cfg, prof, seeds=1).trials for prof in cfg.profiles}


def test_gmgan_and_pcmgan_keep_their_own_latent_in_every_profile_and_dataset(every_profile_plan):
    from bench.registry import METHODS

    seen = 0
    for prof, trials in every_profile_plan.items():
        for t in trials:
            if t.method in MIXTURE_LATENT:
                # d = 100: GM-GAN §4; PCM-GAN's inferred D_z (seed-review P3); and a normal ε, on every dataset
                assert t.params["z_dim"] == 100 == METHODS.get(t.method).Params.model_fields["z_dim"].default, \
                    (prof, t.method, t.dataset)
                assert t.params["z_dist"] == "normal"
                if t.method != "pcmgan":
                    assert (t.params["c"], t.params["sigma"]) == (0.1, 0.15)
                seen += 1
    # every profile that runs them checked; smoke, paper and full run each on every dataset
    assert seen == sum(t.method in MIXTURE_LATENT for trials in every_profile_plan.values() for t in trials) \
        >= 3 * len(MIXTURE_LATENT) * len(ALL_2D)
    paper = {(t.method, t.dataset): t for t in every_profile_plan["paper"]}
    assert paper[("gan", "grid25")].params["z_dim"] == 2  # the protocol still sets gan's latent
    assert any("gmgan_static keeps its own z_dim" in n for n in paper[("gmgan_static", "grid25")].overrides)


def test_one_k_rule_for_every_mixture_method_on_every_dataset(every_profile_plan):
    from bench.data import get_spec
    from bench.registry import METHODS

    k_fields = {m: getattr(METHODS.get(m).Params, "k_field", None) for m in METHODS.names()}
    mixture = {m for m, f in k_fields.items() if f}
    assert mixture == {"gmgan_static", "gmgan_dynamic", "gmgan_supervised", "pcmgan", "mgan", "infogan"}
    for prof, trials in every_profile_plan.items():
        for t in trials:
            if t.method in mixture:  # K recorded as a number: the dataset's classes
                assert t.params[k_fields[t.method]] == get_spec(t.dataset).n_classes, (prof, t.method, t.dataset)
    # MGAN's fakes are per generator: its own 128 where no protocol sets a fake batch, else the protocol's total
    # split over the K generators (ceil)
    paper = {(t.method, t.dataset): t for t in every_profile_plan["paper"]}
    expect = {"ring8_mgan": 128, "grid25": 20, "ring8_mdgan": 63, "gm9": 15, "deligan_uni": 50, "deligan_bimodal": 25}
    for dataset, per_gen in expect.items():
        mgan, gan = paper[("mgan", dataset)].params, paper[("gan", dataset)].params
        assert mgan["fake_batch_size"] == per_gen
        if dataset != "ring8_mgan":
            assert per_gen == -(-gan["fake_batch_size"] // mgan["n_generators"])
    default = {(t.method, t.dataset): t for t in every_profile_plan["full"]}
    assert default[("mgan", "grid25")].params["fake_batch_size"] == 128  # Table 3: 128 per generator


OWN_SUITE = MINIMAL.replace("methods: [gan, oracle]", "methods: [gan, gmgan_static, mgan, oracle]").replace(
    '''      - methods: [gan]
        datasets: [grid25]
        steps: 50''', '''      - datasets: [grid25]
        params: {z_dim: 2, fake_batch_size: 100}
        note: "a dataset protocol"
      - methods: [gmgan_static]
        params: {z_dim: 7, n_gaussians: 4}
        note: "names gmgan"
      - methods: [gan]
        datasets: [grid25]
        steps: 50''')


def test_an_override_naming_the_method_still_sets_its_own_fields(tmp_path):
    by = {t.method: t for t in build_plan(load_suite(write_suite(tmp_path, OWN_SUITE)), "paper").trials}
    assert by["gan"].params["z_dim"] == 2 and by["gan"].params["fake_batch_size"] == 100
    assert by["gmgan_static"].params["z_dim"] == 7 and by["gmgan_static"].params["n_gaussians"] == 4
    assert by["gmgan_static"].params["fake_batch_size"] == 100  # batches are the protocol's
    assert by["mgan"].params["n_generators"] == 25 and by["mgan"].params["fake_batch_size"] == 4  # ceil(100/25)
    assert any("keeps its own z_dim" in n for n in by["gmgan_static"].overrides)
    assert any("split over its K = 25 components: 4 each" in n for n in by["mgan"].overrides)
    default = {t.method: t for t in build_plan(load_suite(write_suite(tmp_path, OWN_SUITE)), "default").trials}
    assert default["gmgan_static"].params["z_dim"] == 100 and default["gmgan_static"].params["n_gaussians"] == 25


def test_a_split_that_a_later_layer_naming_the_method_replaces_is_not_told(tmp_path):
    named = OWN_SUITE.replace("""      - methods: [gan]
        datasets: [grid25]
        steps: 50""", """      - methods: [mgan]
        params: {fake_batch_size: 12}
        note: "MGAN's own fakes per generator"
      - methods: [gan]
        datasets: [grid25]
        steps: 50""")
    assert named != OWN_SUITE
    by = {t.method: t for t in build_plan(load_suite(write_suite(tmp_path, named)), "paper").trials}
    assert by["mgan"].params["fake_batch_size"] == 12
    assert not any("split over its K" in n for n in by["mgan"].overrides)
    assert "MGAN's own fakes per generator" in by["mgan"].overrides
