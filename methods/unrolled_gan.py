"""`unrolled_gan`: Unrolled GAN (Metz, Poole, Pfau, Sohl-Dickstein; ICLR 2017, §2).

G descends the surrogate f_K(θ_G, θ_D) = f(θ_G, θ_D^K) (Eq. 7), where θ_D^0 = θ_D and θ_D^{k+1} = θ_D^k +
η·∂f/∂θ_D^k (Eq. 4–5: K steps of D's own optimiser on the GAN value f). Its gradient has the usual term
∂f/∂θ_G plus one that flows back through the K unrolled steps (∂f/∂θ_D^K · dθ_D^K/dθ_G, §2.2–2.3), which is
what lets G anticipate D's reply; `backprop_unroll: false` drops it (the cheaper first-order variant, where
θ_D^K is a constant). D itself takes its normal single step on f (§2.2: only G's update uses f_K), exactly
`gan`'s D step.

A subclass of `gan`, like for like (shared networks and optimiser, MGAN App. C.1 Table 3): one D step, then
one G step on the same fakes; G's unrolling starts from the D that just stepped (so with K = 0 G's gradient is `gan`'s).
The unrolled steps reuse this step's real batch and fakes (the reference code, poolio/unrolled_gan, unrolls
the same minibatch loss), on a functional copy of D's parameters (torch.func.functional_call): D's modules
and optimiser state are read, never written.

Images: the image D has batch norm; the unrolled passes get copies of its running statistics, so they never
write D's buffers (torch.func.functional_call would otherwise update the module's own in train mode).

Unrolled optimiser: Adam by default (§2.1: the experiments unroll Adam rather than the plain gradient steps
of Eq. 5; the reference code unrolls Keras' Adam, moments and step count included), continued from D's own
Adam state (moments, step, current lr and betas), so unrolled step 1 is the step D's optimiser would take;
"sgd" is Eq. 5 as printed.
"""
from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch.func import functional_call

from bench.registry import register_method
from methods.gan import GAN
from methods.losses import d_loss, g_loss_nonsaturating, g_loss_saturating
from methods.nets import NetParams

# The Adam denominator's sqrt(v) is evaluated at max(v, V_FLOOR): a parameter whose gradient is exactly 0
# (v = 0) would otherwise give ∞·0 = NaN in the second-order term; 1e-30 moves sqrt(v) by ≤ 1e-15, far
# below Adam's ε = 1e-8, so values match torch.optim.Adam.
V_FLOOR = 1e-30

Params_ = dict[str, torch.Tensor]


class UnrolledGANParams(NetParams):
    # Everything else: NetParams = MGAN App. C.1 Table 3 (the like-for-like networks and optimiser).
    # K, §3.1: the 2-D experiment's unrolling (5 in the co-author's reference notebook poolio/unrolled_gan,
    # `unrolling_steps=5`); 10 is the paper's other common setting (e.g. its Stacked-MNIST runs).
    unroll_steps: int = Field(5, ge=0)
    # Eq. 8's second term (gradient through the K unrolled D steps): the paper's method. False: first order.
    backprop_unroll: bool = True
    # The report marks a trial whose value differs from the paper's (the field's default) with this text.
    paper_defining: ClassVar[dict[str, str]] = {"backprop_unroll": "first-order unrolling (Metz et al.: second order)"}
    # §2.1 / reference code: Adam (continuing D's Adam state); "sgd": Eq. 5's θ + η·∂f/∂θ as printed.
    unroll_optimizer: Literal["adam", "sgd"] = "adam"
    # η of the unrolled steps; None = D's current learning rate (Eq. 5 is D's own step; lr halvings apply).
    unroll_lr: float | None = Field(None, gt=0)
    # G's surrogate. "minimax": f_K itself, E log D_K(x) + E log(1 − D_K(G(z))) (Eq. 7; App. A's L_G and the
    # reference code's −unrolled_loss). "nonsaturating" (default, like `gan`): the same f_K with its fake
    # term swapped for −E log D_K(G(z)) (Goodfellow §3), so K = 0 is exactly `gan`'s G step; the real term
    # E log D_K(x) stays, since D_K depends on θ_G through the unrolling (zero gradient when K = 0).
    g_loss: Literal["nonsaturating", "minimax"] = "nonsaturating"


def sgd_step(params: Params_, grads: tuple[torch.Tensor, ...], lr: float) -> Params_:
    # Unrolled GAN Eq. 5 (D's loss is −f, so ascending f is descending it): θ^{k+1} = θ^k − η·∂(−f)/∂θ^k.
    return {k: p - lr * g for (k, p), g in zip(params.items(), grads)}


def adam_step(params: Params_, grads: tuple[torch.Tensor, ...], state: dict, lr: float,
              betas: tuple[float, float], eps: float) -> tuple[Params_, dict]:
    """One differentiable step of torch.optim.Adam's update (bias-corrected, ε outside the square root, no
    weight decay, no amsgrad); state = {"step": int, "m": {name: tensor}, "v": {name: tensor}}."""
    b1, b2 = betas
    t = state["step"] + 1
    bc1, bc2 = 1 - b1**t, 1 - b2**t
    new_p, new_m, new_v = {}, {}, {}
    for (k, p), g in zip(params.items(), grads):
        m = b1 * state["m"][k] + (1 - b1) * g
        v = b2 * state["v"][k] + (1 - b2) * g * g
        denom = v.clamp_min(V_FLOOR).sqrt() / bc2**0.5 + eps
        new_p[k] = p - (lr / bc1) * m / denom
        new_m[k], new_v[k] = m, v
    return new_p, {"step": t, "m": new_m, "v": new_v}


@register_method("unrolled_gan")
class UnrolledGAN(GAN):
    """`gan` whose G descends the unrolled surrogate (`generator_loss`); D's step, the networks (built in gan's
    order, so the same seed gives gan's initial weights) and the optimisers are gan's."""

    Params = UnrolledGANParams

    # -- the unrolled discriminator ----------------------------------------------------------------------
    def d_logits(self, params: Params_, x: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D with parameters `params` on reals (B, …) and fakes (n, …), in one pass; ((B, 1), (n, 1)). D's buffers
        (batch norm's running statistics on images) are passed as copies, so the unrolled passes never write
        D's own state (in train mode batch norm updates the buffers it is given)."""
        buffers = {k: b.clone() for k, b in self.D.named_buffers()}
        out = functional_call(self.D, {**params, **buffers}, (torch.cat([x, fake]),))
        return out[: len(x)], out[len(x):]

    def _adam_state(self, names: list[str]) -> dict:
        """D's Adam state now (after its real step): moments and step count, zeros before any step."""
        opt = self.optimizers["D"]
        m, v, step = {}, {}, 0
        for k, p in zip(names, self.D.parameters()):
            s = opt.state.get(p, {})
            m[k] = s["exp_avg"] if s else torch.zeros_like(p)
            v[k] = s["exp_avg_sq"] if s else torch.zeros_like(p)
            step = int(s["step"]) if s else 0
        return {"step": step, "m": m, "v": v}

    def unroll(self, x: torch.Tensor, fake: torch.Tensor, steps: int | None = None,
               create_graph: bool | None = None) -> Params_:
        """θ_D^K: `steps` (default K) steps of D's optimiser on the GAN loss with reals x (B, d) and fakes
        (n, d), from D's current parameters (and Adam state), on copies. With create_graph (default:
        backprop_unroll) the result stays a differentiable function of the fakes (hence of θ_G); otherwise
        the fakes are detached and θ_D^K is a constant."""
        p = self.params
        steps = p.unroll_steps if steps is None else steps
        create_graph = p.backprop_unroll if create_graph is None else create_graph
        if not create_graph:
            fake = fake.detach()
        group = self.optimizers["D"].param_groups[0]
        lr = p.unroll_lr if p.unroll_lr is not None else group["lr"]
        params = {k: v.detach().requires_grad_() for k, v in self.D.named_parameters()}
        state = self._adam_state(list(params))
        for _ in range(steps):
            # Unrolled GAN Eq. 5 on D's loss −f (Goodfellow Eq. 1, D side), the same minibatch at every step.
            loss = d_loss(*self.d_logits(params, x, fake))
            grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
            if p.unroll_optimizer == "adam":
                params, state = adam_step(params, grads, state, lr, group["betas"], group["eps"])
            else:
                params = sgd_step(params, grads, lr)
            if not create_graph:
                params = {k: v.detach().requires_grad_() for k, v in params.items()}
        return params

    def surrogate(self, params: Params_, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """G's loss against D with parameters `params` (θ_D^K), minimised by G."""
        real_logits, fake_logits = self.d_logits(params, x, fake)
        # Unrolled GAN Eq. 7: f_K = E log D_K(x) + E log(1 − D_K(G(z))); log D = −BCE(logit, 1).
        real_term = -F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        if self.params.g_loss == "minimax":
            return real_term + g_loss_saturating(fake_logits)
        # f_K with Goodfellow §3's non-saturating fake term: E log D_K(x) − E log D_K(G(z)).
        return real_term + g_loss_nonsaturating(fake_logits)

    # Unrolled GAN Eq. 7 / §2.2: G descends f_K, through the K unrolled D steps when backprop_unroll (gan's
    # train_step backpropagates it into G's parameters only, not into the unrolled copies of θ_D).
    def generator_loss(self, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The unrolled surrogate f_K for reals x and fakes still attached to G."""
        return self.surrogate(self.unroll(x, fake), x, fake)
