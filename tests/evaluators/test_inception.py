"""The Inception slot without Inception's weights (they cannot be downloaded here): the weights check and its
message, `bench run --inception-weights` before any trial, and the input conversion through a stand-in
network in the same slot (never under Inception's name or file name)."""
from __future__ import annotations

import pytest
import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from bench.cli import main
from bench.data.base import DataSpec
from bench.errors import UserError
from bench.evaluators import INCEPTION_ENV, INCEPTION_WEIGHTS_FILE, check_inception_weights, extractors, get_extractor
from bench.evaluators.inception import check_plan_inception
from bench.registry import METRICS

DIGITS = DataSpec(name="digits", kind="image", shape=(1, 16, 16), n_classes=10)


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """An empty TORCH_HOME and no MODEBENCH_INCEPTION_WEIGHTS: the weights are nowhere."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    monkeypatch.setattr(extractors, "_MEMO", {})
    return tmp_path


def test_missing_weights_message_names_file_place_and_fix(no_weights):
    with pytest.raises(UserError) as e:
        check_inception_weights()
    msg = str(e.value)
    for part in (INCEPTION_WEIGHTS_FILE, "$TORCH_HOME/hub/checkpoints/",
                 str(no_weights / "torch" / "hub" / "checkpoints"), "--inception-weights PATH", INCEPTION_ENV, "the _dom metrics need no download"):
        assert part in msg


def test_weights_from_flag_then_environment(no_weights, monkeypatch):
    standin = no_weights / "standin-weights.pth"  # a stand-in file: never Inception's file name
    standin.write_bytes(b"x")
    assert check_inception_weights(standin) == standin.resolve()
    monkeypatch.setenv(INCEPTION_ENV, str(standin))
    assert check_inception_weights() == standin.resolve()
    with pytest.raises(UserError, match=r"--inception-weights .*nowhere\.pth is not a file"):
        check_inception_weights(no_weights / "nowhere.pth")  # an explicit path wins over the environment
    empty = no_weights / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="is empty"):
        check_inception_weights(empty)


def test_get_extractor_fails_before_building_any_network(no_weights, monkeypatch):
    monkeypatch.setattr(extractors, "_inception_net", lambda *a: pytest.fail("built a network without weights"))
    with pytest.raises(UserError, match=INCEPTION_WEIGHTS_FILE):
        get_extractor("inception", DIGITS, "cpu")
    with pytest.raises(UserError, match="unknown feature extractor 'incepton'; available: inception, dom"):
        get_extractor("incepton", DIGITS, "cpu")


class StandIn(FeatureExtractorBase):
    """Stand-in for inception-v3-compat with its interface: uint8 (n, 3, H, W) in; "2048" = per-channel pixel
    means (n, 3) and "logits_unbiased" = [mean, -mean] of channel 0 (n, 2), so the conversion can be read back."""

    seen: list = []

    def __init__(self, name="modebench-test-standin", features_list=("2048", "logits_unbiased")):
        super().__init__(name, list(features_list))

    @staticmethod
    def get_provided_features_list():
        return "2048", "logits_unbiased"

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        StandIn.seen.append(x)
        m = x.double().mean((2, 3))
        out = {"2048": m.float(), "logits_unbiased": torch.stack([m[:, 0], -m[:, 0]], 1).float()}
        return tuple(out[a] for a in self.features_list)


def test_standin_in_the_inception_slot_sees_exact_uint8_three_channels(no_weights, monkeypatch):
    standin = no_weights / "standin-weights.pth"
    standin.write_bytes(b"stand-in")
    monkeypatch.setenv(INCEPTION_ENV, str(standin))
    monkeypatch.setattr(extractors, "_inception_net", lambda weights, device: StandIn())
    ext = get_extractor("inception", DIGITS, "cpu")
    assert ext.name == "inception" and ext.protocol["weights_file"] == "standin-weights.pth"
    assert ext.protocol["features"] == "pool3 (2048)" and "logits_unbiased" in ext.protocol["logits"]
    u8 = torch.randint(0, 256, (70, 1, 16, 16), dtype=torch.uint8)  # 70 > batch 64: two batches
    StandIn.seen.clear()
    out = ext(u8.float() / 127.5 - 1)  # the data package's conversion
    seen = torch.cat(StandIn.seen)
    assert [len(s) for s in StandIn.seen] == [64, 6]
    assert torch.equal(seen, u8.expand(-1, 3, -1, -1))  # round((x + 1) * 127.5) inverts u8 / 127.5 - 1 exactly
    assert torch.allclose(out["features"], u8.double().mean((1, 2, 3))[:, None].expand(-1, 3).float())
    assert out["logits"].shape == (70, 2) and ext.layer_features(u8.float() / 127.5 - 1).shape == (70, 3)
    rgb = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    StandIn.seen.clear()
    ext(rgb.float() / 127.5 - 1)
    assert torch.equal(StandIn.seen[0], rgb)  # 3-channel images pass unchanged


SUITE = """name: needs_inception
description: a 2-D plan whose metric list includes a metric that needs Inception (test-only record)
datasets: [{dataset}]
methods: [oracle]
metrics: [modes, {metric}]
resources: {{cpus_per_trial: 1, gpus_per_trial: 0}}
profiles:
  smoke: {{description: tiny, steps: 2, n_evals: 1, seeds: 1}}
  default: {{description: tiny, steps: 2, n_evals: 1, seeds: 1}}
  paper: {{description: tiny, steps: 2, n_evals: 1, seeds: 1}}
"""


@pytest.fixture
def inception_metric():
    """(metric, dataset): `fid` on digits once the metrics and data branches register them; until then a
    test-only record, under its own name, that declares it reads Inception features (protocol["extractor"])."""
    from bench.registry import DATASETS

    if "fid" in METRICS and "digits" in DATASETS:
        yield "fid", "digits"
        return
    from bench.metrics import Metric, register

    name = "test_reads_inception"
    register(Metric(name, lambda s, spec: 0.0, higher_is_better=True, kind="points", n_samples=10,
                    source="test", protocol={"extractor": "inception"}))
    yield name, "ring8_mgan"
    METRICS._entries.pop(name)


def test_bench_run_exits_2_before_any_trial_without_weights(no_weights, inception_metric, capsys):
    suite = no_weights / "suite.yaml"
    metric, dataset = inception_metric
    suite.write_text(SUITE.format(metric=metric, dataset=dataset))
    out = no_weights / "out"
    rc = main(["run", "--suite", str(suite), "--profile", "smoke", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert INCEPTION_WEIGHTS_FILE in err and f"needed by {metric}" in err and "--inception-weights" in err
    assert not out.exists()  # no run folder: nothing ran


def test_bench_run_flag_with_a_missing_file_exits_2(no_weights, capsys):
    out = no_weights / "out"
    rc = main(["run", "--suite", "mode_collapse", "--profile", "smoke", "--out", str(out),
               "--inception-weights", str(no_weights / "nowhere.pth")])
    err = capsys.readouterr().err
    assert rc == 2 and "--inception-weights" in err and "nowhere.pth is not a file" in err
    assert not out.exists()


def test_plan_check_resolves_the_flag_and_skips_plans_without_inception(no_weights, inception_metric):
    metric, dataset = inception_metric
    assert check_plan_inception(["modes", "hq"]) is None  # 2-D metrics: no weights needed, none looked for
    with pytest.raises(UserError, match=f"needed by {metric}"):
        check_plan_inception([("modes", "ring8_mgan"), (metric, dataset)])
    standin = no_weights / "standin-weights.pth"
    standin.write_bytes(b"x")
    assert check_plan_inception([("modes", "ring8_mgan"), (metric, dataset)], str(standin)) == standin.resolve()


def test_an_inception_metric_that_does_not_apply_needs_no_weights(no_weights):
    from bench.metrics import Metric, register

    name = "test_reads_inception_images"  # test-only record: an image metric reading Inception features
    register(Metric(name, lambda s, spec: 0.0, higher_is_better=True, kind="image", n_samples=10, source="test",
                    protocol={"extractor": "inception"}))
    try:
        assert check_plan_inception([(name, "ring8_mgan")]) is None  # skipped on 2-D data: nothing to load
        with pytest.raises(UserError, match=f"needed by {name}"):
            check_plan_inception([name])  # no dataset given: assumed needed
    finally:
        METRICS._entries.pop(name)
