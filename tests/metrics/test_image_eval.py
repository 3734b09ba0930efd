"""The streamed image evaluation pass on a stand-in extractor (a tiny CNN on scikit-learn's digits): oracle
(held-out real digits) vs collapsed (one digit repeated), one pass per extractor, batch-size independence,
the trial's dispatch, and equality with torch-fidelity's own end-to-end calculation on the same images."""
import dataclasses
import sys
import types

import numpy as np
import pytest
import torch

import standin_extractor as si
from bench.metrics import get_metric
from bench.metrics.fidelity import PR_BLOCK
from bench.metrics.image_eval import evaluate_images

SIGMAS = (0.5, 1.0, 2.0)
# the pass at reduced counts (the registry's are the papers' 5k–50k): same code, test-sized
SMALL = {"fid_dom": 2000, "is_dom": 2000, "kid_dom": 1000, "precision_dom": 1000, "recall_dom": 1000,
         "density_dom": 1000, "coverage_dom": 1000, "m_is": 2000, "gm_quality": 1000, "gm_diversity_intra": 1000,
         "gm_diversity_inter": 1000, "gm_diversity": 1000, "gm_score": 1000, "cluster_acc": 1000,
         "cluster_nmi": 1000, "latent_purity": 1000, "latent_nmi": 1000}


def small(names=SMALL):
    out = []
    for name in names:
        m = get_metric(name)
        out.append(dataclasses.replace(m, n_samples=SMALL[name], sigmas=SIGMAS if m.sigmas else (),
                                       n_images=min(m.n_images, 300)))
    return out


@pytest.fixture(scope="module")
def ext():
    return si.train_standin()


def run(method, ext, metrics, seed=123, **kw):
    return evaluate_images(method, si.SPEC, metrics, seed, extractors={"dom": ext}, real_source=si.real_source,
                           real_images=si.real_images, **kw)


@pytest.fixture(scope="module")
def results(ext):
    metrics = small()
    oracle = si.StandinGenerator("oracle", classifier=ext.net)
    ext.seen = ext.calls = 0
    ev_o = run(oracle, ext, metrics)
    seen_oracle = ext.seen
    ev_c = run(si.StandinGenerator("collapsed"), ext, metrics)
    return ev_o, ev_c, seen_oracle


def v(ev, name, sigma=None, subset="all"):
    val = ev.values[(name, sigma)]
    return val[subset] if isinstance(val, dict) else val


def test_standin_is_a_good_classifier(ext):
    assert ext.protocol["heldout_accuracy"] > 0.93 and ext.name == "standin-digits-cnn"


def test_oracle_beats_collapsed_on_every_diversity_and_distance_metric(results):
    o, c, _ = results
    assert v(o, "is_dom") == pytest.approx(10, abs=1.5) and v(c, "is_dom") == pytest.approx(1.0, abs=1e-3)
    assert v(o, "fid_dom") * 20 < v(c, "fid_dom")
    assert v(o, "kid_dom") * 100 < v(c, "kid_dom")  # KID is in the features' (unnormalised) units
    assert v(o, "recall_dom") > 0.5 and v(c, "recall_dom") < 0.05  # oracle: 500 distinct test digits only
    assert v(o, "coverage_dom") > 0.7 and v(c, "coverage_dom") < 0.05
    assert v(o, "density_dom") == pytest.approx(1.0, abs=0.35)  # held-out digits: density near 1
    assert v(o, "m_is") > 1.2 and v(c, "m_is") == pytest.approx(1.0, abs=1e-9)  # one image: every KL is 0
    assert v(o, "gm_diversity_inter") > 0.95 and v(c, "gm_diversity_inter") == 0.0
    assert v(o, "gm_diversity_intra") > 0.3 and v(c, "gm_diversity_intra") == pytest.approx(0.0, abs=1e-5)
    assert v(o, "gm_diversity") > 0.5 and v(c, "gm_diversity") == pytest.approx(0.0, abs=3e-3)
    assert v(o, "gm_score") > 3 * v(c, "gm_score")
    assert v(o, "cluster_acc") > 0.9 and v(c, "cluster_acc") < 0.3
    assert v(o, "cluster_nmi") > 0.85 and v(c, "cluster_nmi") < 0.1
    assert v(o, "latent_nmi") > 0.85 and v(c, "latent_nmi") == pytest.approx(0.0, abs=1e-12)
    # purity is fooled by collapse (every component on one class is "pure"): read beside NMI (alignment.py)
    assert v(o, "latent_purity") > 0.9 and v(c, "latent_purity") == 1.0


def test_fidelity_metrics_do_not_punish_a_collapsed_real_image(results):
    """Precision, density and q measure fidelity: one real digit repeated is faithful, so they stay high —
    the reason each is read beside its diversity partner (recall, coverage, d)."""
    o, c, _ = results
    assert v(o, "precision_dom") > 0.7 and v(c, "precision_dom") > 0.7
    assert 0.2 < v(o, "gm_quality") < 0.8 and 0.05 < v(c, "gm_quality") < 0.95


def test_sigma_rows_and_subsets(results, ext):
    o, _, _ = results
    for name in ("gm_quality", "gm_diversity_intra", "gm_diversity_inter", "gm_diversity", "gm_score"):
        assert {s for (n, s) in o.values if n == name} == {None, *SIGMAS}
    # the stand-in's σ adds pixel noise |σ − 1|·0.3: quality falls away from σ = 1
    assert v(o, "gm_quality", 2.0) < v(o, "gm_quality", 1.0)
    m_is = o.values[("m_is", None)]
    assert {str(k) for k in range(10)} <= set(m_is) and "0:std" in m_is and "all:std" in m_is
    assert o.values[("is_dom", None)]["all:std"] > 0  # spread over the 10 splits
    # the method defines responsibilities (the stand-in classifier): our extension's subset is there
    assert o.values[("cluster_acc", None)]["responsibilities"] == pytest.approx(
        ext.protocol["heldout_accuracy"], abs=0.03)
    assert o.protocol["extractors"]["dom"] == ext.protocol and "gm_quality_log_a" in o.protocol


def test_each_sample_passes_through_the_extractor_once(results):
    _, _, seen = results
    ms = small()
    plain = max(m.n_samples for m in ms if not m.needs_components)
    comp = max(m.n_samples for m in ms if m.needs_components)
    sig = max(m.n_samples for m in ms if m.sigmas)
    # one plain draw, one per-component draw, one draw per σ: 17 metrics, one extractor pass per draw
    assert seen == plain + comp + len(SIGMAS) * sig


def test_metrics_do_not_depend_on_the_evaluation_batch_size(ext):
    names = ["fid_dom", "is_dom", "precision_dom", "density_dom", "m_is", "gm_diversity_inter", "latent_nmi"]
    ms = small(names)
    a = run(si.StandinGenerator("oracle"), ext, ms, batch_size=64, final=False)
    b = run(si.StandinGenerator("oracle"), ext, ms, batch_size=500, final=False)
    for key in a.values:
        va, vb = a.values[key], b.values[key]
        va, vb = (va, vb) if isinstance(va, dict) else ({"all": va}, {"all": vb})
        for s in va:
            # the same samples (fixed generation chunks); convolutions batched differently: float32 rounding
            assert va[s] == pytest.approx(vb[s], rel=1e-4, abs=1e-6), (key, s)


def test_metric_record_declares_what_the_pass_needs():
    fid = get_metric("fid_dom").describe()
    assert fid["extractors"] == ["dom"] and fid["n_samples"] == 10_000 and fid["n_real"] == 10_000
    assert get_metric("fid").describe()["extractors"] == ["inception"] and get_metric("is").n_samples == 50_000
    gm = get_metric("gm_score")
    assert gm.layer and gm.n_images == 1000 and len(gm.sigmas) == 16 and gm.describe()["n_images"] == 1000
    assert get_metric("cluster_acc").needs_components and get_metric("stacked_modes").n_samples == 25_000
    assert "extractors" not in get_metric("modes").describe()  # 2-D records unchanged


def test_not_applicable_reasons():
    assert "1,000 stacked classes" in get_metric("stacked_modes").not_applicable(si.SPEC)
    point_spec = dataclasses.replace(si.SPEC, kind="points")
    assert "measures image data" in get_metric("fid_dom").not_applicable(point_spec)
    assert get_metric("latent_nmi").not_applicable(si.SPEC) is None  # both kinds
    with pytest.raises(TypeError, match="evaluation pass"):
        get_metric("fid_dom")(np.zeros((3, 2)), si.SPEC)


def test_trial_evaluate_dispatches_image_data_to_the_streamed_pass(ext, monkeypatch):
    """bench.trial.evaluate on image data runs evaluate_images with the default wiring: the evaluators'
    get_extractor / real_features and the data contract's load_split (stand-ins here, in their slots)."""
    from bench.trial import evaluate

    fake_eval = types.SimpleNamespace(get_extractor=lambda name, spec, device, data_root=None: ext,
                                      real_features=lambda e, ds, split, data_root=None: si.real_source(e, split))
    fake_images = types.SimpleNamespace(load_split=lambda name, split, data_root=None: si.real_images(split))
    monkeypatch.setitem(sys.modules, "bench.evaluators", fake_eval)
    monkeypatch.setitem(sys.modules, "bench.data.images", fake_images)
    ms = small(["is_dom", "cluster_acc"])
    got = evaluate(si.StandinGenerator("oracle"), si.SPEC, ms, 7, final=False)
    want = run(si.StandinGenerator("oracle"), ext, ms, seed=7, final=False)
    assert got.values == want.values and got.points.dtype == np.uint8 and got.points.shape[1:] == (1, 16, 16)


def test_equals_torch_fidelity_end_to_end_on_the_same_images(ext):
    """FID, IS, KID and PR of our pass equal torch-fidelity's calculate_metrics on the same images through the
    same network registered as a torch-fidelity feature extractor (cuda=False, no cache)."""
    import torch_fidelity
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    class TF(FeatureExtractorBase):
        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)
            self.net = ext.net

        @staticmethod
        def get_provided_features_list():
            return ("features", "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return "logits" if metric == "isc" else "features"

        @staticmethod
        def can_be_compiled():
            return False

        def forward(self, x):  # torch-fidelity feeds uint8
            f, logits = self.net(x.float() / 127.5 - 1.0)
            return tuple({"features": f, "logits": logits}[k] for k in self.features_list)

    if "standin-digits-cnn-tf" not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor("standin-digits-cnn-tf", TF)
    n = 1200
    ms = [dataclasses.replace(get_metric(k), n_samples=n) for k in ("fid_dom", "is_dom", "kid_dom",
                                                                    "precision_dom", "recall_dom")]
    gen = si.StandinGenerator("oracle")
    ev = run(gen, ext, ms, final=False, n_keep=n, batch_size=100)
    real = si.real_images("train")[0]  # 1,297 ≤ the 10k real subset: all of it, in permutation-sorted order

    class DS(torch.utils.data.Dataset):
        def __init__(self, x):
            self.x = x

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i]

    gen_u8 = torch.from_numpy(ev.points)  # the first n generated images (exactly [-1,1] grid values: lossless)
    tf = torch_fidelity.calculate_metrics(input1=DS(gen_u8), input2=DS(real), cuda=False, fid=True, isc=True,
                                          kid=True, prc=True, feature_extractor="standin-digits-cnn-tf",
                                          kid_subset_size=1000, verbose=False, cache=False, save_cpu_ram=True,
                                          batch_size=100, prc_batch_size=PR_BLOCK)
    # the same images through the same network (features equal to float32 rounding): FID/IS/KID to 1e-5 / 1e-4
    assert v(ev, "fid_dom") == pytest.approx(tf["frechet_inception_distance"], rel=1e-5)
    assert v(ev, "is_dom") == pytest.approx(tf["inception_score_mean"], rel=1e-5)
    assert v(ev, "kid_dom") == pytest.approx(tf["kernel_inception_distance_mean"], rel=1e-4)
    # PR compares equal-sized sets (the balls' radii depend on the set sizes): the pass takes the first n of its
    # fixed permutation of the real split, so torch-fidelity gets those same n real images.
    from bench.metrics.image_eval import REAL_SUBSET_SEED

    same_n = real[np.sort(np.random.default_rng(REAL_SUBSET_SEED).permutation(len(real))[:n])]
    tf_pr = torch_fidelity.calculate_metrics(input1=DS(gen_u8), input2=DS(same_n), cuda=False, prc=True,
                                             feature_extractor="standin-digits-cnn-tf", verbose=False, cache=False,
                                             save_cpu_ram=True, batch_size=100, prc_batch_size=PR_BLOCK)
    # PR counts points inside k-NN balls: features equal to ~1e-5 (a conv on a slice of a chunk vs a fresh
    # batch rounds differently) can flip a point on a ball's edge: a few samples out of 1,200
    assert v(ev, "precision_dom") == pytest.approx(tf_pr["precision"], abs=3 / n)
    assert v(ev, "recall_dom") == pytest.approx(tf_pr["recall"], abs=3 / n)
