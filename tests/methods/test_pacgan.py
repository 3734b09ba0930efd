
import numpy as np
import pydantic
import pytest
import torch

from method_checks import assert_round_trip, assert_short_trial, build, changed_groups
from methods.nets import latent
from methods.pacgan import pack


def _batch(m, data, seed=0):
    return data.batch(m.batch_size, torch.Generator().manual_seed(seed))


def _record_d_inputs(method) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    method.D.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach().clone()))
    return seen


def _np_log_sigmoid(a):
    return -np.log1p(np.exp(-a))


# -- packing -------------------------------------------------------------------------------------------------
def test_packing_concatenates_consecutive_points_in_order():
    x = torch.arange(12.0).reshape(6, 2)  # point i = (2i, 2i + 1)
    assert pack(x, 2).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]  # pack j = points 2j, 2j + 1
    assert pack(x, 3).tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert torch.equal(pack(x, 1), x)


@pytest.mark.parametrize("m", [1, 2, 4])
def test_d_input_width_is_m_times_the_data_dimension_and_sees_packs(m):
    method, data = build("pacgan", pack=m)
    assert method.D[0].in_features == 2 * m
    gan, _ = build("gan")
    # only the input layer differs from gan's D (PacGAN §3)
    assert [type(a) for a in method.D] == [type(a) for a in gan.D]
    assert [p.shape for p in list(method.D.parameters())[2:]] == [p.shape for p in list(gan.D.parameters())[2:]]
    seen = _record_d_inputs(method)
    x, y = _batch(method, data)
    torch.manual_seed(3)
    method.train_step(x, y)
    # D step: 512/m real packs, 128/m fake packs; G step: the fake packs again
    assert [tuple(s.shape) for s in seen] == [(512 // m, 2 * m), (128 // m, 2 * m), (128 // m, 2 * m)]
    assert torch.equal(seen[0], x.reshape(512 // m, 2 * m))  # the real batch, packed in order
    twin, _ = build("pacgan", pack=m)  # same init
    torch.manual_seed(3)  # same noise: the step's first draw is its fakes' latent
    with torch.no_grad():
        fakes = twin.G(latent(128, method.params, 1.0, "cpu"))
    assert torch.equal(seen[1], pack(fakes, m))  # the fakes, packed in order


def test_batch_counts_packs_draws_m_times_the_points():
    method, data = build("pacgan", pack=2, batch_counts="packs")
    assert method.batch_size == 1024 and method.n_fakes == 256
    seen = _record_d_inputs(method)
    method.train_step(*_batch(method, data))
    assert [tuple(s.shape) for s in seen] == [(512, 4), (128, 4), (128, 4)]  # 512 / 128 packs of 2 points


def test_batches_must_divide_into_packs():
    with pytest.raises(pydantic.ValidationError, match="multiple of pack"):
        build("pacgan", pack=3)  # 512 real points are not 3-packs
    build("pacgan", pack=3, batch_counts="packs")  # counting packs, any batch size is fine


# -- losses --------------------------------------------------------------------------------------------------
def test_losses_are_gans_losses_on_the_packed_tensors():
    method, data = build("pacgan")
    seen = _record_d_inputs(method)
    x, y = _batch(method, data)
    d_before = [p.detach().clone() for p in method.D.parameters()]
    losses = method.train_step(x, y)
    real_packs, fake_packs = seen[0].double().numpy(), seen[1].double().numpy()

    def np_d(params, a):  # D = Linear -> LeakyReLU(0.2) -> Linear, in numpy float64
        w1, b1, w2, b2 = (p.detach().double().numpy() for p in params)
        h = a @ w1.T + b1
        return (np.where(h > 0, h, 0.2 * h) @ w2.T + b2)[:, 0]

    # Goodfellow Eq. 1 on packs, with D before its update; log(1 − σ(a)) = log σ(−a)
    np_ld = -_np_log_sigmoid(np_d(d_before, real_packs)).mean() - _np_log_sigmoid(-np_d(d_before, fake_packs)).mean()
    # non-saturating G on the same fake packs, against the updated D
    np_lg = -_np_log_sigmoid(np_d(list(method.D.parameters()), fake_packs)).mean()
    # float32 network vs float64 numpy on the same inputs: 1e-5 relative is float32 rounding
    assert losses["loss_d"] == pytest.approx(np_ld, rel=1e-5)
    assert losses["loss_g"] == pytest.approx(np_lg, rel=1e-5)


def test_pack_1_is_exactly_gan():
    pac, data = build("pacgan", pack=1)
    gan, _ = build("gan")
    assert all(torch.equal(a, b) for a, b in zip(pac.parameters(), gan.parameters()))  # same init order
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    for step in range(3):
        torch.manual_seed(10 + step)
        lp = pac.train_step(*data.batch(pac.batch_size, g1))
        torch.manual_seed(10 + step)
        lg = gan.train_step(*data.batch(gan.batch_size, g2))
        assert lp == lg
    assert all(torch.equal(a, b) for a, b in zip(pac.parameters(), gan.parameters()))


def test_one_step_moves_g_and_d():
    method, data = build("pacgan")
    groups = {"G": list(method.G.parameters()), "D": list(method.D.parameters())}
    assert changed_groups(method, groups, *_batch(method, data)) == {"G", "D"}


# -- sampling, checkpoints, trial --------------------------------------------------------------------------
def test_sample_is_unpacked_and_scale_multiplies_the_latent_covariance():
    method, _ = build("pacgan", pack=4)
    torch.manual_seed(1)
    scaled = method.sample(10, scale=4.0)
    torch.manual_seed(1)
    z = latent(10, method.params, 1.0, "cpu")
    with torch.no_grad():
        assert scaled.shape == (10, 2)  # one 2-D point per z, whatever the packing
        assert torch.allclose(scaled, method.G(2 * z))  # covariance ×4 = std ×2
        assert not torch.allclose(scaled, method.G(z))
    assert method.n_components == 1
    assert method.sample(5, component=0).shape == (5, 2)
    with pytest.raises(ValueError, match="out of range"):
        method.sample(5, component=1)


def test_state_dict_round_trip_gives_identical_samples_and_steps():
    assert_round_trip("pacgan")


def test_short_trial_completes():
    assert_short_trial("pacgan", ["modes", "hq", "sym_kl"])  # the cheap metrics
