"""`ensemble_gan`: Ensemble-GAN, DeLiGAN's ensemble baseline (Gurumurthy et al. 2017, §5.2). Appears in the toy
experiment only (Fig. 3, qualitative); §5.4 calls it "prohibitively expensive" for CIFAR (seed-review B2).

"An ensemble-of-N-generators setting for DeLiGAN. During training, we randomly choose one of the generators
G_i for training and update its parameters along with μ_i, σ_i." So: N complete generators (each the shared G
of `gan`), generator i fed by its own latent Gaussian z = μ_i + σ_i ε, ε ~ N(0, I) (DeLiGAN Eq. 8; μ_i ~
U(−1, 1)^d, σ_i = 0.2 at the start, §4.1), and one shared D. Each train_step draws i uniformly, makes the
fakes with G_i alone, updates D on them and then G_i, μ_i, σ_i; the other N − 1 generators do not move
(seed-review B1; the authors' toy code instead feeds each batch slot's plain z to its own generator and
trains all 50 at once, which contradicts the text). `sample(n)` is the uniform mixture over generators;
`sample(component=i)` draws from G_i.

Layout: the N generators are stored one module each (the shared builder, so G_i is exactly gan's G) and one
Adam holds them all. torch's Adam skips a parameter whose .grad is None, so a step that back-propagates
through G_i only advances G_i's moments and step count: N independent Adams, exactly "update only G_i". With
the weights stacked into (N, …) tensors instead, Adam would keep moving every generator that has momentum from
an earlier step (its zero gradient does not stop it), and each step would allocate an N× dense gradient.
Sampling stacks the weights and runs all generators at once (one batched matmul per layer); convolutional
generators (images) run one after another.

Images: each G_i is the shared DCGAN G. DeLiGAN §5.4 calls Ensemble-GAN "prohibitively expensive" on CIFAR, so
images run `image_n_components` (5) generators instead of 50, recorded in the params.
"""
from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from bench.data.base import DataSpec
from bench.registry import register_method
from methods.base import Method, inference
from methods.losses import d_loss, g_loss_nonsaturating, g_loss_saturating
from methods.nets import NetParams, adam, discriminator, for_kind, generator


class EnsembleGANParams(NetParams):
    # Everything else: NetParams (MGAN App. C.1 Table 3 networks and optimiser); each G_i is gan's G.
    # N generators: deligan §5.2 "ensemble-of-N-generators"; N = 50, DeLiGAN's N here (methods/deligan.py
    # n_components; §5 "we use a N between 50 and 100").
    n_components: int = Field(50, ge=1)
    # N on images. DeLiGAN §5.4 calls Ensemble-GAN "prohibitively expensive" on CIFAR (50 DCGAN generators), so
    # images run a smaller ensemble; recorded here (methods.nets.for_kind picks N by the data kind).
    image_n_components: int = Field(5, ge=1)
    sigma_init: float = 0.2  # initial σ_i, as DeLiGAN: §4.1 "0.2 in our case"; μ_i ~ U(−1, 1)^d (§4.1)
    # λ of Eq. 10 for the one Gaussian trained per step: each (G_i, μ_i, σ_i) is a one-component DeLiGAN, so
    # its penalty is λ·‖1 − σ_i‖² (Eq. 10 with N = 1). That keeps DeLiGAN's balance on σ_i: there component i
    # gets ~1/N of the adversarial gradient and λ/N of the penalty; here all of the former and λ of the latter.
    # λ = 0.05: DeLiGAN's value here (methods/deligan.py `lam`: the authors' toy code at d = 2).
    lam: float = 0.05
    # As DeLiGAN here: the non-saturating G loss of the authors' code; "saturating" = Eq. 10 as printed.
    g_loss: Literal["nonsaturating", "saturating"] = "nonsaturating"

    @model_validator(mode="after")
    def _eps_is_normal(self):
        if self.z_dist != "normal":
            raise ValueError("z_dist does not apply to ensemble_gan: each generator's latent is its own Gaussian "
                             "N(μ_i, σ_i²) (DeLiGAN Eq. 8, ε ~ N(0, I)); remove z_dist from its params")
        return self


class Member(nn.Module):
    """Generator i with its latent Gaussian: x = G_i(μ_i + σ_i ε) (DeLiGAN Eq. 8, σ_i diagonal)."""

    def __init__(self, p: EnsembleGANParams, spec: DataSpec, mu: torch.Tensor):
        super().__init__()
        self.mu = nn.Parameter(mu.clone().float())  # (d,)
        self.sigma = nn.Parameter(torch.full((p.z_dim,), float(p.sigma_init)))  # (d,)
        self.G = generator(p, spec)

    def forward(self, eps: torch.Tensor) -> torch.Tensor:
        """eps (m, d) ~ N(0, I), already ×sqrt(scale) when sampling -> (m, *spec.shape)."""
        return self.G(self.mu + self.sigma * eps)


class Ensemble(nn.Module):
    """The N members; `forward_all` runs all of them at once (on stacked weights where G is an MLP)."""

    def __init__(self, p: EnsembleGANParams, spec: DataSpec, n: int):
        super().__init__()
        means = torch.rand(n, p.z_dim) * 2 - 1  # (N, d): §4.1 μ_i ~ U(−1, 1), one draw as DeLiGAN's
        self.members = nn.ModuleList(Member(p, spec, means[i]) for i in range(n))
        # MLP generators (points) run as one batched matmul per layer; others (convolutional, with batch norm)
        # member by member.
        self.stackable = all(isinstance(m, nn.Linear) or not any(True for _ in m.parameters())
                             for m in self.members[0].G)

    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, i: int) -> Member:
        return self.members[i]

    def forward_all(self, eps: torch.Tensor) -> torch.Tensor:
        """eps (N, m, d) -> (N, m, *sample shape): block i through generator i, z_i = μ_i + σ_i eps_i."""
        if not self.stackable:
            return torch.stack([m(e) for m, e in zip(self.members, eps)])
        mu = torch.stack([m.mu for m in self.members])[:, None]  # (N, 1, d)
        sigma = torch.stack([m.sigma for m in self.members])[:, None]
        h = mu + sigma * eps
        for j, layer in enumerate(self.members[0].G):
            if isinstance(layer, nn.Linear):
                w = torch.stack([m.G[j].weight for m in self.members])  # (N, out, in)
                b = torch.stack([m.G[j].bias for m in self.members])[:, None]  # (N, 1, out)
                h = torch.baddbmm(b, h, w.transpose(1, 2))  # (N, m, out): one batched matmul for all
            else:
                h = layer(h)  # activations hold no parameters: generator 0's serve every generator
        return h


@register_method("ensemble_gan")
class EnsembleGAN(Method):
    Params = EnsembleGANParams

    def __init__(self, spec, params: EnsembleGANParams, device="cpu"):
        super().__init__(spec, params, device)
        # N generators: n_components on points, image_n_components on images (DeLiGAN §5.4: N = 50 prohibitive)
        self.n_gens = for_kind(spec, points=params.n_components, image=params.image_n_components)
        self.gens = Ensemble(params, spec, self.n_gens).to(self.device)
        self.D = discriminator(params, spec).to(self.device)  # one D shared by all generators
        # One Adam over every generator and its μ_i, σ_i: parameters without a gradient are skipped, so only the
        # chosen generator's moments and step count advance (§5.2 "update its parameters along with μ_i, σ_i").
        self.set_optimizers(G=adam(self.gens.parameters(), params),
                            D=adam(self.D.parameters(), params, params.d_lr))

    @property
    def n_components(self) -> int:
        return self.n_gens

    def pick_generator(self) -> int:
        """§5.2 "we randomly choose one of the generators": i ~ U{0, …, N−1} (CPU RNG: no device sync)."""
        return int(torch.randint(0, self.n_components, ()).item())

    def sigma_penalty(self, i: int) -> torch.Tensor:
        # DeLiGAN Eq. 10 for one Gaussian (N = 1): λ·‖1 − σ_i‖², summed over the d latent dimensions.
        return self.params.lam * (1 - self.gens[i].sigma).pow(2).sum()

    def adversarial_g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        if self.params.g_loss == "saturating":
            # DeLiGAN Eq. 10, first term (Eq. 3 form): minimise E log(1 − D(G_i(z))).
            return g_loss_saturating(fake_logits)
        # Authors' code / Goodfellow §3 (non-saturating): minimise −E log D(G_i(z)).
        return g_loss_nonsaturating(fake_logits)

    def train_step(self, x, y=None):
        p = self.params
        i = self.pick_generator()
        eps = torch.randn(p.fake_batch_size, p.z_dim, device=self.device)
        fake = self.gens[i](eps)  # (n, *spec.shape): all fakes from G_i
        # DeLiGAN Eq. 4 (Goodfellow Eq. 1, D side): −E log D(x) − E log(1 − D(G_i(z))).
        loss_d = d_loss(self.D(x), self.D(fake.detach()))
        self.descend("D", loss_d)
        penalty = self.sigma_penalty(i)
        # DeLiGAN Eq. 10 for generator i (N = 1): adversarial term + λ·‖1 − σ_i‖².
        loss_g = self.adversarial_g_loss(self.D(fake)) + penalty
        self.optimizers["G"].zero_grad(set_to_none=True)  # None grads: the other generators are skipped by Adam
        loss_g.backward()
        self.optimizers["G"].step()
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "sigma_penalty": penalty.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        return self.sample_with_generators(n, scale=scale, component=component)[0]

    @inference
    def sample_with_generators(self, n: int, *, scale: float = 1.0,
                               component: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x (n, dim), k (n,)): sample j from generator k_j, k_j ~ U{0, …, N−1} (the ensemble's uniform
        mixture), or all from `component`; z = μ_k + sqrt(scale)·σ_k ε (covariance ×scale)."""
        self.check_component(component)
        d, k_total = self.params.z_dim, self.n_components
        if component is not None:
            eps = torch.randn(n, d, device=self.device) * scale**0.5
            return self.gens[component](eps), torch.full((n,), int(component), dtype=torch.long, device=self.device)
        k = torch.randint(0, k_total, (n,), device=self.device)
        counts = torch.bincount(k, minlength=k_total)  # (N,)
        # One padded block per generator (N, m, d), m = the largest count, through all generators at once.
        m = int(counts.max().item()) if n else 0
        blocks = self.gens.forward_all(torch.randn(k_total, m, d, device=self.device) * scale**0.5)
        # Sample j takes row rank_j of block k_j, rank_j = how many earlier samples chose k_j.
        sorted_k, order = torch.sort(k, stable=True)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(k)
        rank[order] = torch.arange(n, device=self.device) - starts[sorted_k]
        return blocks[k, rank], k
