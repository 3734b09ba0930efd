import torch

from method_checks import build, changed_groups


def test_one_step_moves_g_and_d():
    gan, data = build("gan")
    x, y = data.batch(gan.batch_size, torch.Generator().manual_seed(0))
    groups = {"G": list(gan.G.parameters()), "D": list(gan.D.parameters())}
    assert changed_groups(gan, groups, x, y) == {"G", "D"}


def test_sample_scale_multiplies_the_latent_covariance():
    from methods.nets import latent

    gan, _ = build("gan")
    torch.manual_seed(1)
    scaled = gan.sample(10, scale=4.0)
    torch.manual_seed(1)
    z = latent(10, gan.params, 1.0, "cpu")
    with torch.no_grad():
        assert torch.allclose(scaled, gan.G(2 * z))  # covariance ×4 = std ×2


def test_lr_halving_schedule_is_checkpointed():
    gan, data = build("gan", lr_halve_every=2)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        gan.train_step(*data.batch(gan.batch_size, g))
    assert gan.optimizers["G"].param_groups[0]["lr"] == 2e-4 / 4  # halved after steps 2 and 4
    state = gan.state_dict()
    fresh, _ = build("gan", lr_halve_every=2)
    fresh.load_state_dict(state)
    fresh.train_step(*data.batch(gan.batch_size, g))
    assert fresh.optimizers["G"].param_groups[0]["lr"] == 2e-4 / 8  # step 6 halves again


def test_loading_a_state_in_memory_does_not_share_optimiser_moments():
    gan, data = build("gan")
    g = torch.Generator().manual_seed(0)
    gan.train_step(*data.batch(gan.batch_size, g))
    twin, _ = build("gan", seed=1)
    twin.load_state_dict(gan.state_dict())
    gan.train_step(*data.batch(gan.batch_size, g))  # must not move twin's Adam moments
    a = gan.optimizers["G"].state_dict()["state"][0]["exp_avg"]
    b = twin.optimizers["G"].state_dict()["state"][0]["exp_avg"]
    assert not torch.equal(a, b)


def test_tanh_hidden_activation_switch_applies_to_g_and_d():
    gan, data = build("gan", hidden_act="tanh", z_dim=2, g_hidden=(32,), d_hidden=(32,))
    assert [type(layer).__name__ for layer in gan.G] == ["Linear", "Tanh", "Linear"]
    assert [type(layer).__name__ for layer in gan.D] == ["Linear", "Tanh", "Linear"]
    default, _ = build("gan")
    assert [type(layer).__name__ for layer in default.D] == ["Linear", "LeakyReLU", "Linear"]


def test_descend_own_only_steps_the_same_and_leaves_other_gradients_alone():
    """`descend(player, loss, own_only=True)` (gan's G step) gives the player's optimiser the same gradients as
    a full backward, and writes no other tensor's .grad (the unrolled GAN's copies of θ_D, here D itself)."""
    import copy

    m, data = build("gan")
    x, _ = data.batch(64, torch.Generator().manual_seed(0))
    full = copy.deepcopy(m)
    sentinel = [torch.full_like(p, 7.0) for p in m.D.parameters()]
    for p, s in zip(m.D.parameters(), sentinel):
        p.grad = s.clone()
    torch.manual_seed(1)
    m.descend("G", m.generator_loss(x, m.G(m.generator_input(32))), own_only=True)
    torch.manual_seed(1)
    full.descend("G", full.generator_loss(x, full.G(full.generator_input(32))))
    assert all(torch.equal(p.grad, s) for p, s in zip(m.D.parameters(), sentinel))
    assert all(p.grad is not None and not torch.equal(p.grad, torch.full_like(p, 7.0)) for p in full.D.parameters())
    assert all(torch.equal(a, b) for a, b in zip(m.G.parameters(), full.G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(m.G.parameters(), build("gan")[0].G.parameters()))  # G moved
