"""`veegan`: VEEGAN (Srivastava, Valkov, Russell, Gutmann, Sutton; NeurIPS 2017, §3, Eq. 8, Alg. 1).

Three players. The generator G_γ maps z ~ p0 = N(0, I) to x. The reconstructor F_θ maps x back to z: it
defines p_θ(z|x) = N(F_θ(x), s²·I). The discriminator D_ω scores (z, x) PAIRS: the input is cat(z, x), of
size z_dim + data dim, and the output is one logit. D is trained to tell generator pairs (z, G(z)) (label 1)
from reconstructor pairs (z_g ~ p_θ(·|x), x) on real x (label 0). Its logit then estimates the log density
ratio log q_γ(x|z)p0(z) / p_θ(z|x)p(x). G and F minimise Ô = E[D(z, G(z))] + E[d(z, F(G(z)))], with d the
squared ℓ2 in latent space. In Alg. 1, F's gradient is that of the reconstruction term only: D(z, G(z)) does
not depend on θ. All three gradients are taken at the same parameters and applied together (Alg. 1, last
line; the reference code runs both train ops in one `sess.run`).

On 2-D data the networks are the shared ones (`methods.nets`). G is gan's G. D is gan's D with z_dim + dim
inputs. F is G mirrored: dim → reversed(g_hidden) → z_dim, with G's hidden activation and a linear output.
With the defaults that is 2 → 128 ReLU → 128 ReLU → 256.

On images (`methods.nets.pair_discriminator`, `encoder`): D runs the shared DCGAN conv body on x and joins z at
its flat features (cat(z, features) → FC d_hidden Leaky ReLU → 1 logit), the ALI/BiGAN joint-discriminator form;
F is the conv body with a linear z_dim head. Both pair kinds go through D in one pass (one batch-norm batch). The authors' 2-D reconstructor (VEEGAN_2D_RING
notebook, `generative_network`) is 2 → 128 ReLU → 128 ReLU → 254 linear, the mean of N(·, I).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from bench.registry import register_method
from methods.base import Method, inference
from methods.nets import NetParams, adam, encoder, generator, pair_discriminator


class VEEGANParams(NetParams):
    # Everything else: NetParams = MGAN App. C.1 Table 3 (z 256 ~ N(0, I), G 128/128 ReLU, D 128 Leaky ReLU 0.2,
    # init N(0, 0.02), Adam(2e-4, 0.5, 0.999), 512 real / 128 fake per step).
    # F's hidden layers. The paper gives none. None: G's mirrored (reversed g_hidden). The authors' 2-D code uses
    # 128-128 ReLU for G and F alike (VEEGAN_2D_RING notebook: n_layer_inf = n_layer_gen = 2, 128 units).
    f_hidden: tuple[int, ...] | None = None
    # Weight of d(z, F(G(z))) = ‖z − F(G(z))‖² in Ô (Eq. 8; §3 "d … such as ℓ2"). 1: Eq. 8 as written. The
    # authors' code minimises −log N(z; F(G(z)), I) summed over z's dimensions = ½‖·‖² + const, so 0.5 is the code.
    recon_weight: float = Field(1.0, ge=0.0)
    # Std s of p_θ(z|x) = N(F_θ(x), s²I). D's reconstructor pairs draw z_g from it (Alg. 1 "z_g ~ p_θ(z_g|x)").
    # 1: the authors' code (`ds.Normal(F(x), 1)`, sampled). 0: deterministic (F(x), x) pairs.
    recon_noise_std: float = Field(1.0, ge=0.0)
    # Extra noise dimensions fed to G beside z. They make q_γ(x|z) stochastic (Alg. 1 "x_g ~ q_γ(x|z)") and are
    # not reconstructed. 0: G(z) deterministic, like gan. The authors' 2-D code uses 1 (`eps_dim`).
    eps_dim: int = Field(0, ge=0)
    # Alg. 1 computes g_ω, g_θ, g_γ at the same parameters, then updates all three. False: D's step first,
    # then G and F on the updated D with the same noise (the alternating order of `gan`).
    simultaneous: bool = True

    @model_validator(mode="after")
    def _prior_is_standard_normal(self):
        if self.z_dist != "normal":
            raise ValueError("z_dist does not apply to veegan: p0 is N(0, I) (§3; the ℓ2 reconstruction loss "
                             "assumes Gaussian noise); remove z_dist from its params")
        return self


# VEEGAN O_LR (§3, Alg. 1 g_ω): −E log σ(D(z, G(z))) − E log(1 − σ(D(z_g, x))).
def pair_d_loss(gen_logits: torch.Tensor, rec_logits: torch.Tensor) -> torch.Tensor:
    return (F.binary_cross_entropy_with_logits(gen_logits, torch.ones_like(gen_logits))
            + F.binary_cross_entropy_with_logits(rec_logits, torch.zeros_like(rec_logits)))


# VEEGAN Eq. 8, second term: (1/N) Σ_i d(z_i, F(x_g,i)), d = squared ℓ2 summed over the latent dimensions.
def reconstruction_loss(z: torch.Tensor, z_rec: torch.Tensor) -> torch.Tensor:
    return (z - z_rec).pow(2).sum(dim=1).mean()


# VEEGAN Eq. 8, first term: (1/N) Σ_i D(z_i, x_g,i), the raw logit (the log density-ratio estimate).
def adversarial_term(gen_logits: torch.Tensor) -> torch.Tensor:
    return gen_logits.mean()


@register_method("veegan")
class VEEGAN(Method):
    Params = VEEGANParams

    def __init__(self, spec, params: VEEGANParams, device="cpu"):
        super().__init__(spec, params, device)
        p = params
        self.G = generator(p, spec, in_dim=p.z_dim + p.eps_dim).to(self.device)  # (z, ε) -> x
        f_hidden = tuple(reversed(p.g_hidden)) if p.f_hidden is None else p.f_hidden
        # F: x -> z, linear output (the mean of p_θ(z|x)); points: G mirrored with G's hidden activation; images:
        # D's conv body and a linear head (methods.nets.encoder).
        self.F = encoder(p, spec, p.z_dim, f_hidden).to(self.device)
        # D(z, x) -> 1 logit: the MLP on cat(z, x) (points); images: conv body on x, z joined at its flat features.
        self.D = pair_discriminator(p, spec, p.z_dim).to(self.device)
        self.set_optimizers(G=adam(self.G.parameters(), p), F=adam(self.F.parameters(), p),
                            D=adam(self.D.parameters(), p, p.d_lr))

    def noise(self, n: int, scale: float = 1.0) -> torch.Tensor:
        """(n, z_dim + eps_dim): z ~ N(0, scale·I), then G's extra noise ε ~ N(0, scale·I)."""
        return torch.randn(n, self.params.z_dim + self.params.eps_dim, device=self.device) * scale**0.5

    def pair_logits(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """D(z, x) on (n, z_dim) and (n, *spec.shape): (n, 1) logits."""
        return self.D(z, x)

    def train_step(self, x, y=None):
        p = self.params
        u = self.noise(p.fake_batch_size)
        z = u[:, :p.z_dim]  # the part F reconstructs; ε (if any) is G's alone
        x_g = self.G(u)  # x_g ~ q_γ(x|z)
        with torch.no_grad():  # Alg. 1 g_θ has no O_LR term: D's loss never reaches F
            z_r = self.F(x)
            z_g = z_r + p.recon_noise_std * torch.randn_like(z_r) if p.recon_noise_std else z_r  # ~ p_θ(z|x)
        n = z.shape[0]
        # One D pass over both pair kinds: rows [:n] = (z, G(z)), rows [n:] = (z_g, x).
        logits = self.D.pairs((z, x_g), (z_g, x))
        loss_d = pair_d_loss(logits[:n], logits[n:])  # O_LR
        recon = reconstruction_loss(z, self.F(x_g))
        d_params = list(self.D.parameters())
        if p.simultaneous:
            g_d = torch.autograd.grad(loss_d, d_params, retain_graph=True)
            adv = adversarial_term(logits[:n])
        else:
            g_d = torch.autograd.grad(loss_d, d_params)
            self._apply(self.optimizers["D"], d_params, g_d)  # D first, then G and F see the new D
            adv = adversarial_term(self.pair_logits(z, x_g))
        # VEEGAN Eq. 8 / Alg. 1 g_γ and g_θ: Ô = E D(z, G(z)) + λ·E ‖z − F(G(z))‖²; F only gets the second term.
        loss_gf = adv + p.recon_weight * recon if p.recon_weight else adv
        gf_params = [*self.G.parameters(), *self.F.parameters()]
        g_gf = torch.autograd.grad(loss_gf, gf_params, allow_unused=True)  # λ = 0: F unused, grads None
        if p.simultaneous:
            self._apply(self.optimizers["D"], d_params, g_d)
        n_g = len(list(self.G.parameters()))
        self._apply(self.optimizers["G"], gf_params[:n_g], g_gf[:n_g])
        self._apply(self.optimizers["F"], gf_params[n_g:], g_gf[n_g:])
        self.step_schedulers()
        return {"loss_d": loss_d.item(), "loss_gf": loss_gf.item(), "adv": adv.item(), "recon": recon.item()}

    @staticmethod
    def _apply(opt: torch.optim.Optimizer, params: list, grads) -> None:
        """One optimiser step with the given gradients. A None gradient (unused parameter) leaves it unmoved."""
        for prm, g in zip(params, grads):
            prm.grad = g
        opt.step()
        opt.zero_grad(set_to_none=True)

    @inference
    def sample(self, n, *, scale=1.0, component=None):
        self.check_component(component)
        return self.G(self.noise(n, scale))
