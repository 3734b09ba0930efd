import pytest

from bench.errors import UserError
from bench.registry import DATASETS, METHODS, METRICS, Registry


def test_registries_hold_the_foundation_entries():
    assert {"gan", "oracle", "collapsed"} <= set(METHODS.names())
    assert set(DATASETS.names()) >= {"ring8_mgan", "ring8_mdgan", "grid25", "gm9", "deligan_uni", "deligan_bimodal"}
    assert set(METRICS.names()) >= {"modes", "hq", "mode_kl", "nll", "sym_kl", "w1"}


def test_unknown_name_suggests_and_lists():
    with pytest.raises(UserError) as e:
        METHODS.get("gna")
    msg = str(e.value)
    assert "unknown method 'gna'" in msg and "did you mean 'gan'?" in msg
    assert msg.endswith("available: " + ", ".join(METHODS.names()))


def test_unknown_name_without_close_match_still_lists():
    with pytest.raises(UserError, match=r"unknown dataset 'zzzz' available: .*grid25"):
        DATASETS.get("zzzz")


def test_double_registration_of_a_different_object_is_refused():
    r = Registry("thing", ())
    r.register("a")(1)
    r.register("a")(1)  # the same object again is harmless (module re-import)
    with pytest.raises(ValueError, match="registered twice"):
        r.register("a")(2)


def test_metrics_declare_direction():
    assert METRICS.get("modes").higher_is_better and METRICS.get("hq").higher_is_better
    for name in ("mode_kl", "nll", "sym_kl", "w1"):
        assert METRICS.get(name).higher_is_better is False
