"""`wgan_gp`: Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein
GANs", Alg. 1, Eq. 3) on the shared 2-D networks.

The critic is the shared discriminator with its logit used raw (no sigmoid; no batch norm, which §4 forbids in
the critic). One `train_step` is one generator iteration of Alg. 1: `n_critic` critic updates on
L = E[D(x̃)] − E[D(x)] + λ E[(‖∇_x̂ D(x̂)‖₂ − 1)²], x̂ = εx + (1 − ε)x̃, ε ~ U[0, 1] per sample (Eq. 3), then one
generator update on −E[D(G(z))] (line 11). WGAN-GP's optimiser is part of the method (Alg. 1's defaults
α = 1e-4, β1 = 0, β2 = 0.9 for both players), so its Params override the shared MGAN Adam(2e-4, 0.5, 0.999).

Images: the critic is the shared DCGAN body without batch norm (§4: batch norm changes the problem the penalty
is defined on); `d_norm` "layer" (default) is §4's recommended drop-in, layer normalisation, or "none".

Real batches: Alg. 1 (line 3) draws fresh reals for every critic iteration, and the trial hands train_step one
batch of `method.batch_size` points. With `critic_reals="fresh"` (default) `batch_size` is n_critic × the
per-critic-step batch, and the batch is split into n_critic consecutive chunks, one per critic step: each critic
update sees `params.batch_size` reals it has not seen this iteration, exactly as Alg. 1. `"reuse"` hands one
batch of `params.batch_size` and reuses it for every critic step (cheaper data, correlated critic steps).
"""
from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from bench.registry import register_method
from methods.base import Method, inference
from methods.nets import NetParams, adam, discriminator, generator, latent


class WGANGPParams(NetParams):
    # Networks, latent, init, batch sizes: the shared NetParams (MGAN App. C.1 Table 3), like for like.
    # Optimiser: WGAN-GP Alg. 1 defaults, which OVERRIDE the shared Adam(2e-4, 0.5, 0.999) — part of the method.
    lr: float = 1e-4  # Alg. 1: α = 0.0001 (G and critic)
    betas: tuple[float, float] = (0.0, 0.9)  # Alg. 1: β1 = 0, β2 = 0.9
    # The critic has no batch norm (§4: it would break the per-sample gradient penalty); on images "layer" = §4's
    # recommended drop-in, layer normalisation (their code's per-sample (C, H, W) layer norm); "none" also allowed.
    d_norm: Literal["layer", "none"] = "layer"
    lam: float = Field(10.0, ge=0.0)  # λ, Alg. 1 / §4 ("λ = 10 ... in all experiments"; gan_toy.py uses 0.1)
    n_critic: int = Field(5, ge=1)  # Alg. 1: n_critic = 5 critic iterations per generator iteration
    # Open choice (the trial hands one real batch per step): "fresh" = n_critic × batch_size reals split into
    # one fresh chunk per critic step (Alg. 1 line 3); "reuse" = one batch reused by every critic step.
    critic_reals: Literal["fresh", "reuse"] = "fresh"


# WGAN-GP Eq. 3, first two terms (critic minimises): E_x̃[D(x̃)] − E_x[D(x)].
def critic_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    return d_fake.mean() - d_real.mean()


# WGAN-GP Alg. 1 line 11: the generator minimises −E_z[D(G(z))].
def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    return -d_fake.mean()


# WGAN-GP Eq. 3, last term: λ E_x̂[(‖∇_x̂ D(x̂)‖₂ − 1)²], x̂ = ε x + (1 − ε) x̃ (Alg. 1 line 6).
def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor, lam: float) -> torch.Tensor:
    """real, fake (P, …) paired row by row, eps (P, 1, …) ~ U[0, 1]. create_graph=True so the penalty's gradient
    reaches the critic's parameters (a double backward)."""
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)  # (P, …): ∇_x̂ D per row
    return lam * (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def pair_up(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Alg. 1 pairs one real with one fake per sample; our real (M) and fake (N) batches may differ in size
    (Table 3: 512 reals, 128 fakes). We make P = max(M, N) pairs, row i = (real[i mod M], fake[i mod N]), so
    every real and every fake enters the penalty (x̂ still lies on a line between a real and a fake point)."""
    m, n = real.shape[0], fake.shape[0]
    i = torch.arange(max(m, n), device=real.device)
    return real[i % m], fake[i % n]


@register_method("wgan_gp")
class WGANGP(Method):
    Params = WGANGPParams

    def __init__(self, spec, params: WGANGPParams, device="cpu"):
        super().__init__(spec, params, device)
        self.G = generator(params, spec).to(self.device)
        self.D = discriminator(params, spec).to(self.device)  # the critic: the shared D's raw logit
        self.set_optimizers(G=adam(self.G.parameters(), params),
                            D=adam(self.D.parameters(), params, params.d_lr))

    @property
    def batch_size(self) -> int:
        """Reals the trial draws per step: one fresh chunk of params.batch_size per critic step ("fresh")."""
        p = self.params
        return p.batch_size * (p.n_critic if p.critic_reals == "fresh" else 1)

    def critic_step(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One critic update (Alg. 1 lines 3–9) on reals x; returns (loss, penalty, E D(x) − E D(x̃))."""
        p = self.params
        with torch.no_grad():
            fake = self.G(latent(p.fake_batch_size, p, 1.0, self.device))  # line 4: z ~ p(z), x̃ = G(z)
        d_real, d_fake = self.D(x), self.D(fake)
        real_pairs, fake_pairs = pair_up(x, fake)
        # line 4: ε ~ U[0, 1], one per sample, broadcast over its features (or pixels)
        eps = torch.rand(real_pairs.shape[0], *[1] * (x.dim() - 1), device=self.device)
        penalty = gradient_penalty(self.D, real_pairs, fake_pairs, eps, p.lam)
        loss = critic_loss(d_real, d_fake) + penalty  # Eq. 3 / line 7
        self.optimizers["D"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["D"].step()  # line 9: Adam(α, β1, β2)
        return loss.detach(), penalty.detach(), (d_real.mean() - d_fake.mean()).detach()

    def train_step(self, x, y=None):
        p = self.params
        n = p.n_critic
        chunks = torch.tensor_split(x, n) if p.critic_reals == "fresh" else (x,) * n
        w = torch.zeros((), device=self.device)
        for chunk in chunks:  # Alg. 1 line 2: for t = 1, ..., n_critic
            loss_d, penalty, w_t = self.critic_step(chunk)
            w = w + w_t / n
        fake = self.G(latent(p.fake_batch_size, p, 1.0, self.device))  # line 10: a fresh batch of latents
        loss_g = generator_loss(self.D(fake))  # line 11
        self.descend("G", loss_g)
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "gp": penalty.item(), "w_estimate": w.item(), "loss_g": loss_g.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(latent(n, self.params, scale, self.device))
