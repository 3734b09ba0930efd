"""`mgan`: Mixture GAN (Hoang et al., ICLR 2018): K generators, a discriminator D and a classifier C.

The K generators share every layer but the input one (§3; App. C.1 Table 3: per generator FC 256→128 ReLU,
then shared FC 128 ReLU → FC 2 linear). C shares D's body (Table 3: one FC 128 Leaky ReLU 0.2 layer) and
differs only in its output layer: a K-logit softmax head (C) beside D's 1-logit sigmoid head. Training is
Alg. 2 (App. A): C and D descend L_C + L_D together; the generators minimise the non-saturating L_G, which
adds −β·log C_u(x') so each generator makes points the classifier can tell apart from the others'.

Each generator is sampled the same number of times per minibatch (§3, end): `fake_batch_size` is the count
PER GENERATOR (Table 3: 128), so one step draws K·128 fakes. The K input layers are one batched matmul on a
(K, z_dim, h) weight, so a step costs about one generator on K·128 samples.

Images (App. C.2 Tables 4–7): each generator's own layer is its FC z → first feature map; the transposed
convolutions are shared (`MixtureGenerator`); C and D share the DCGAN conv body. `image_arch: mgan` gives the
tables' 5×5 layers (with g_channels = d_channels = 128).
"""
from __future__ import annotations

import itertools
from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import nn

from bench.data.base import DataSpec
from bench.registry import register_method
from methods.base import Method, inference
from methods.losses import d_loss, g_loss_nonsaturating
from methods.nets import NetParams, adam, discriminator_body, generator_trunk, generator_width, head, latent
from methods.stacked import StackedMLP, StackedParams, StackedStep, elementwise, per_seed_loss, stackable_mlp


class MGANParams(NetParams):
    # Everything else: NetParams = App. C.1 Table 3 (z 256 ~ N(0, I), G 128/128, D/C 128 Leaky ReLU 0.2,
    # init N(0, 0.02), Adam(2e-4, 0.5, 0.999), real batch 512).
    # K rule of the plan (bench.suites, `k_field`): in a run K = the dataset's number of classes unless the suite
    # names a K for mgan, as the paper matches K to the data (8 on its 8-mode ring, 10 on CIFAR-10); the default
    # 8 (App. C.1 text and Fig. 2; Table 3 misprints "1") is K when MGAN is built directly.
    k_field: ClassVar[str] = "n_generators"
    own_fields: ClassVar[frozenset[str]] = frozenset({"n_generators"})
    # A fake batch that a dataset protocol sets for every method is a total per step; MGAN's is per generator,
    # so the plan splits it: ceil(total / K) each (as App. C.2 on CIFAR-10: 12 per generator ≈ 128 / 10). Its
    # own value, 128 per generator (Table 3 in 2-D: a GAN is MGAN with K = 1), holds where no protocol sets one.
    per_component_fields: ClassVar[frozenset[str]] = frozenset({"fake_batch_size"})
    n_generators: int = Field(8, ge=1)
    beta: float = Field(0.125, ge=0.0)  # diversity weight β, App. C.1 Table 3 (2-D)
    fake_batch_size: int = Field(128, ge=1)  # fakes PER GENERATOR per step, App. C.1 Table 3
    # Alg. 2 line 7 draws a fresh fake minibatch for the G update (default). The authors' code
    # (qhoangdl/MGAN models.py `fit`) and methods.gan reuse the D-step noise instead: False does that.
    fresh_fakes_for_g: bool = True

    @field_validator("g_hidden")
    @classmethod
    def _one_hidden_at_least(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if len(v) < 1:
            raise ValueError("MGAN needs at least one generator hidden layer (the per-generator input layer)")
        return v


class MixtureGenerator(nn.Module):
    """K generators: per-generator input layer (K batched affine maps), then shared layers (the shared builder's
    G after its input layer: `methods.nets.generator_trunk`).

    Images (MGAN App. C.2 Tables 4–7): generator k's own layer is the FC z → first feature map (c₀·s₀²,
    "Shared? ×") with its own batch norm (Table 4: the input layer's BN is not shared either), the transposed
    convolutions are shared ("Shared? √")."""

    def __init__(self, p: NetParams, k: int, spec: DataSpec):
        super().__init__()
        h = generator_width(p, spec)
        # (K, z_dim, h) and (K, 1, h): generator k's input layer is z @ w_in[k] + b_in[k]; N(0, 0.02), bias 0.
        self.w_in = nn.Parameter(torch.empty(k, p.z_dim, h).normal_(0.0, p.init_std))
        self.b_in = nn.Parameter(torch.zeros(k, 1, h))
        # Table 3 "shared": FC 128 ReLU -> FC 2 linear (or s·tanh where a profile sets g_out_scale); images:
        # generator k's own BN, then shared ReLU -> transposed convs -> tanh (Tables 4–7).
        self.act, self.shared = generator_trunk(p, spec, k)

    def forward(self, z: torch.Tensor, gens: torch.Tensor | None = None) -> torch.Tensor:
        """z (G, m, z_dim): block g goes through generator gens[g] (default: block k -> generator k).
        Returns (G, m, *sample shape)."""
        w, b = (self.w_in, self.b_in) if gens is None else (self.w_in[gens], self.b_in[gens])
        hidden = self.act(torch.baddbmm(b, z, w), gens)  # (G, m, h): one batched matmul for all generators
        g, m, h = hidden.shape
        out = self.shared(hidden.reshape(g * m, h))
        return out.reshape(g, m, *out.shape[1:])


# MGAN Alg. 2 line 4: L_C = −(1/N) Σ_n log C_{u_n}(x'_n)  (softmax cross-entropy, no β).
def classifier_loss(c_logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(c_logits, u)


# MGAN Alg. 2 line 8: L_G = −(1/N) Σ_n log D(x'_n) − (β/N) Σ_n log C_{u_n}(x'_n)  (minimised; "ascending"
# in line 9 is a sign slip: the non-saturating heuristic of §3's last paragraph maximises log D(G(z))).
def generator_loss(d_fake_logits: torch.Tensor, c_logits: torch.Tensor, u: torch.Tensor, beta: float) -> torch.Tensor:
    return g_loss_nonsaturating(d_fake_logits) + beta * classifier_loss(c_logits, u)


@register_method("mgan")
class MGAN(Method):
    Params = MGANParams

    def __init__(self, spec, params: MGANParams, device="cpu"):
        super().__init__(spec, params, device)
        k = params.n_generators
        self.G = MixtureGenerator(params, k, spec).to(self.device)
        # The shared D/C body is gan's D body builder (the same body at B); two heads on its features. D's size
        # counts both (1 + K outputs), so below B the body is a little narrower than gan's.
        self.body, width = discriminator_body(params, spec, head_outputs=1 + k)
        self.body = self.body.to(self.device)
        self.d_head = head(params, width, 1).to(self.device)  # D: 1 logit (sigmoid)
        self.c_head = head(params, width, k).to(self.device)  # C: K logits (softmax)
        # Alg. 2 line 6: C and D descend ∇(L_C + L_D) together: one optimiser over body + both heads.
        cd_params = itertools.chain(self.body.parameters(), self.d_head.parameters(), self.c_head.parameters())
        self.set_optimizers(G=adam(self.G.parameters(), params), CD=adam(cd_params, params, params.d_lr))

    @property
    def n_components(self) -> int:
        return self.params.n_generators

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(D logits (N, 1), C logits (N, K)) from one pass through the shared body."""
        f = self.body(x)
        return self.d_head(f), self.c_head(f)

    def fakes(self, per_gen: int, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(x' (K·per_gen, d), u (K·per_gen,)): `per_gen` fakes from EVERY generator (§3, end), in blocks
        (generator 0's first); z ~ the prior with covariance ×scale."""
        x = self.G(self.fake_latents(per_gen, scale)).flatten(0, 1)
        u = torch.arange(self.n_components, device=self.device).repeat_interleave(per_gen)
        return x, u

    def fake_latents(self, per_gen: int, scale: float = 1.0) -> torch.Tensor:
        """z (K, per_gen, z_dim) of `fakes`: block k is generator k's input."""
        k, p = self.n_components, self.params
        return latent(k * per_gen, p, scale, self.device).view(k, per_gen, p.z_dim)

    def train_step(self, x, y=None):
        p = self.params
        with torch.set_grad_enabled(not p.fresh_fakes_for_g):  # G's graph is kept only if G reuses these
            fake, u = self.fakes(p.fake_batch_size)
        d_real, _ = self.heads(x)  # (M, 1)
        d_fake, c_fake = self.heads(fake.detach())  # (N, 1), (N, K); N = K·fake_batch_size
        loss_c = classifier_loss(c_fake, u)  # Alg. 2 line 4 (no β)
        # MGAN Alg. 2 line 5: L_D = −(1/M) Σ_m log D(x_m) − (1/N) Σ_n log(1 − D(x'_n)).
        loss_d = d_loss(d_real, d_fake)
        # Alg. 2 line 6: one step of C and D together on L_C + L_D (shared body gets both gradients).
        self.descend("CD", (loss_c + loss_d))
        # Alg. 2 line 7: a fresh fake minibatch for the G update (or the same noise: fresh_fakes_for_g=False).
        if p.fresh_fakes_for_g:
            fake, u = self.fakes(p.fake_batch_size)
        d_fake, c_fake = self.heads(fake)
        loss_g = generator_loss(d_fake, c_fake, u, p.beta)  # Alg. 2 line 8, minimised (line 9's sign slip)
        self.descend("G", loss_g)
        self.step_schedulers()
        return {"loss_c": loss_c.item(), "loss_d": loss_d.item(), "loss_g": loss_g.item()}

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        return self.sample_with_generators(n, scale=scale, component=component)[0]

    @inference
    def sample_with_generators(self, n: int, *, scale: float = 1.0,
                               component: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(x (n, d), u (n,)). With `component`, all n from generator `component`. Otherwise the mixture with
        π_k = 1/K and equal counts (§3, end): sample i comes from generator i mod K, so generator k gives
        n // K + (k < n mod K) points (the first n mod K generators one extra) and every prefix of the output
        is balanced too (the trial keeps the first 512 for figures)."""
        self.check_component(component)
        p, k = self.params, self.n_components
        if component is not None:
            z = latent(n, p, scale, self.device).view(1, n, p.z_dim)
            gens = torch.tensor([component], device=self.device)
            return self.G(z, gens).flatten(0, 1), gens.expand(n).clone()
        per_gen = -(-n // k)  # ceil: one block of per_gen from each generator, then the first n interleaved
        z = latent(k * per_gen, p, scale, self.device).view(k, per_gen, p.z_dim)
        x = self.G(z).transpose(0, 1).flatten(0, 1)[:n]  # row i = generator i mod K
        u = torch.arange(k, device=self.device).repeat(per_gen)[:n]
        return x, u

    @inference
    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        """(N, K): C(x), the classifier's p(generator k | x) (Prop. 1: C*_k = π_k p_Gk / Σ_j π_j p_Gj)."""
        return torch.softmax(self.heads(x)[1], dim=1)

    @classmethod
    def stack(cls, methods, streams):
        """Exact `mgan` on points only (methods/stacked.py); subclasses and image networks: None."""
        if cls is not MGAN or any(type(m) is not MGAN or m.spec.kind != "points" for m in methods):
            return None
        if not all(elementwise(m.G.act) and stackable_mlp(m.G.shared) and stackable_mlp(m.body) for m in methods):
            return None
        return StackedMGAN(methods, streams)


class StackedMGAN(StackedStep):
    """`MGAN.train_step` (Alg. 2) for S seeds at once: the same draws, losses and updates in the same order, each
    seed on its own slice of the stacked players."""

    def __init__(self, methods, streams):
        super().__init__(methods, streams)
        gs = [m.G for m in methods]
        self.g_in = StackedParams(gs, names=("w_in", "b_in"))  # (S, K, z_dim, h), (S, K, 1, h)
        self.g_act = gs[0].act
        self.g_shared = StackedMLP([g.shared for g in gs])
        self.body = StackedMLP([m.body for m in methods])
        self.d_head = StackedMLP([nn.Sequential(m.d_head) for m in methods])  # same Parameters as m.d_head
        self.c_head = StackedMLP([nn.Sequential(m.c_head) for m in methods])
        # Alg. 2 line 6: C and D descend together (as MGAN's CD optimiser); G alone.
        self.set_players(G=[self.g_in, self.g_shared.params],
                         CD=[self.body.params, self.d_head.params, self.c_head.params])

    def fakes(self, per_gen: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(x' (S, K·per_gen, d), u (K·per_gen,)) as `MGAN.fakes`, seed s's z from its own stream."""
        z = self.per_seed(lambda m: m.fake_latents(per_gen))  # (S, K, per_gen, z_dim)
        s, k, m, zd = z.shape
        w, b = self.g_in["w_in"].flatten(0, 1), self.g_in["b_in"].flatten(0, 1)  # (S·K, z_dim, h), (S·K, 1, h)
        hidden = self.g_act(torch.baddbmm(b, z.reshape(s * k, m, zd), w))  # (S·K, m, h)
        x = self.g_shared(hidden.reshape(s, k * m, -1))
        return x, torch.arange(k, device=z.device).repeat_interleave(per_gen)

    def step(self, x, y=None):
        p = self.methods[0].params
        with torch.set_grad_enabled(not p.fresh_fakes_for_g):
            fake, u = self.fakes(p.fake_batch_size)
        d_real = self.d_head(self.body(x))  # (S, M, 1) (C's logits on reals are unused in Alg. 2)
        f_fake = self.body(fake.detach())
        d_fake, c_fake = self.d_head(f_fake), self.c_head(f_fake)
        loss_c = per_seed_loss(classifier_loss, c_fake, u=u)  # Alg. 2 line 4, per seed
        loss_d = per_seed_loss(d_loss, d_real, d_fake)  # Alg. 2 line 5
        self.descend("CD", (loss_c + loss_d).sum())  # Alg. 2 line 6; Σ_s: each seed's gradient is its own
        if p.fresh_fakes_for_g:  # Alg. 2 line 7
            fake, u = self.fakes(p.fake_batch_size)
        f_fake = self.body(fake)
        loss_g = per_seed_loss(generator_loss, self.d_head(f_fake), self.c_head(f_fake), u=u, beta=p.beta)
        self.descend("G", loss_g.sum())  # Alg. 2 line 8, minimised
        self.step_schedulers()
        return {"loss_c": loss_c.tolist(), "loss_d": loss_d.tolist(), "loss_g": loss_g.tolist()}
