"""Several seeds of one method trained as ONE vectorised model (issue 16): the S seeds' networks are stacked on a
leading seed axis and every layer is one batched op over the seeds, while each seed keeps its own data stream,
its own random stream and its own optimiser state. Opt-in per method: `Method.stack(methods)` returns a
`StackedStep` (methods/gan.py, methods/mgan.py) or None (not supported); `bench.vectorised` drives it.

Why each seed's numbers are its own separate trial's, up to float rounding:
- Parameters: seed s's tensors are slice s of the stacked ones (`StackedParams`), initialised by copying the
  seed's own method, which was built after `seed_everything(seed)` exactly as `bench.trial.run_trial` builds it.
- Randomness: a separate trial draws its latents from the global torch RNG, which after construction is in a
  state that depends on the seed. Each seed's `RngStream` keeps that state and swaps it in around the seed's
  draws (`torch.set_rng_state` / `get_rng_state`), and the draws are made by the seed's own method code
  (`generator_input`, `latent`), so seed s sees exactly its separate trial's latents.
- Losses: the stacked loss is Σ_s L_s, each L_s the method's own loss function on seed s's slice, so seed s's
  gradient is ∂L_s/∂θ_s exactly (the seeds' parameters are disjoint).
- Optimiser: ONE Adam over the stacked tensors. Adam is elementwise (moments, bias correction, update), so with
  the same lr / betas / eps / step count it equals S separate Adams on the slices (the fused kernel: the same
  update at float rounding; `StackedStep.make_optimizer`).
Rounding: batched matmuls (bmm, and a multiply-sum for 1-output heads) block their sums differently from the
separate trial's addmm, so values differ at float32 rounding (~1e-7 relative per op) and that difference grows
slowly over training steps (GAN training is chaotic). Tolerance stated and tested in tests/test_vectorised.py.

Supported networks: the 2-D MLPs of methods.nets (nn.Linear and parameter-free elementwise activations). Image
networks (convolutions, batch norm) are not stacked: `Method.stack` returns None for them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Sequence

import torch
from torch import nn

from methods.nets import PerGenerator, ScaledTanh

# Parameter-free layers applied to every element on their own: the same module serves all seeds' stacked tensor.
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, ScaledTanh)


def elementwise(layer: nn.Module) -> bool:
    if isinstance(layer, PerGenerator):
        return elementwise(layer.layer)
    return type(layer) in ELEMENTWISE and not any(True for _ in layer.parameters())


def stackable_mlp(net: nn.Module) -> bool:
    """True for an nn.Sequential of nn.Linear and elementwise activations (the 2-D builders' MLPs)."""
    return isinstance(net, nn.Sequential) and all(
        type(layer) is nn.Linear or elementwise(layer) for layer in net)


class RngStream:
    """One seed's global-torch-RNG stream, kept between its draws: `draw(fn)` runs fn with the seed's state
    swapped in and keeps the advanced state, so the draws are exactly those the seed's separate trial makes.
    On a CUDA device the latents come from that device's generator: its state is kept and swapped too."""

    def __init__(self, state: torch.Tensor, cuda_state: torch.Tensor | None = None, device=None):
        self.state = state.clone()
        self.device = torch.device(device) if cuda_state is not None else None
        self.cuda_state = None if cuda_state is None else cuda_state.clone()

    @classmethod
    def capture(cls, device="cpu") -> "RngStream":
        """The global streams as they are now (right after a seed's method was built)."""
        device = torch.device(device)
        if device.type == "cuda":
            return cls(torch.get_rng_state(), torch.cuda.get_rng_state(device), device)
        return cls(torch.get_rng_state())

    def draw(self, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
        outer = torch.get_rng_state()
        outer_cuda = None if self.device is None else torch.cuda.get_rng_state(self.device)
        torch.set_rng_state(self.state)
        if self.device is not None:
            torch.cuda.set_rng_state(self.cuda_state, self.device)
        try:
            return fn()
        finally:
            self.state = torch.get_rng_state()
            torch.set_rng_state(outer)
            if self.device is not None:
                self.cuda_state = torch.cuda.get_rng_state(self.device)
                torch.cuda.set_rng_state(outer_cuda, self.device)


class StackedParams:
    """The parameters of S same-shaped modules (all, or those `names`) as stacked leaf tensors (S, *shape), by the
    modules' own names. `transposed` names are stored as (S, in, out) (each slice the transpose of the module's
    (out, in) weight), the layout the batched matmuls read fastest."""

    def __init__(self, modules: Sequence[nn.Module], transposed: frozenset[str] = frozenset(),
                 names: Sequence[str] | None = None):
        self.modules = list(modules)
        self.transposed = transposed
        self.tensors: dict[str, torch.Tensor] = {}
        for name in names if names is not None else [n for n, _ in modules[0].named_parameters()]:
            per_seed = [dict(m.named_parameters())[name].detach() for m in modules]
            if name in transposed:
                per_seed = [p.t() for p in per_seed]
            self.tensors[name] = torch.stack(per_seed).contiguous().requires_grad_(True)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]

    def parameters(self) -> list[torch.Tensor]:
        return list(self.tensors.values())

    def seed_slice(self, name: str, s: int) -> torch.Tensor:
        """Seed s's tensor in its module's own layout."""
        t = self.tensors[name][s]
        return t.t() if name in self.transposed else t

    @torch.no_grad()
    def write_back(self) -> None:
        """Copy every seed's slice into that seed's own module (for evaluation by the harness)."""
        for s, m in enumerate(self.modules):
            params = dict(m.named_parameters())
            for name in self.tensors:
                params[name].copy_(self.seed_slice(name, s))


class OneOutput(torch.autograd.Function):
    """A stacked Linear with one output (D's logit head): x (S, n, in), w (S, 1, in), b (S, 1) -> (S, n, 1).
    Forward: one baddbmm. Backward by hand, because autograd's bmm for ∂x is a K = 1 outer product (S, n, 1) @
    (S, 1, in) that the CPU BLAS runs ~10x slower than the broadcast product g·w it equals:
    ∂x = g·w (S, n, in), ∂w = gᵀx (S, 1, in), ∂b = Σ_n g (S, 1). First derivatives only (no gradient penalty
    in the methods that stack)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        return torch.baddbmm(b.unsqueeze(1), x, w.mT)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        x, w = ctx.saved_tensors
        gx = g * w if ctx.needs_input_grad[0] else None
        gw = torch.bmm(g.mT, x) if ctx.needs_input_grad[1] else None
        gb = g.sum(1) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


class StackedMLP:
    """S copies of one MLP (`stackable_mlp`), forward on x (S, n, in) -> (S, n, out), seed s with its own weights.
    A Linear with one output is `OneOutput`; the others are baddbmm on the (S, in, out) weight layout (the layout
    the CPU's batched GEMM runs fastest for these shapes, measured)."""

    def __init__(self, nets: Sequence[nn.Sequential]):
        if not all(stackable_mlp(n) for n in nets):
            raise ValueError("StackedMLP takes nn.Sequential MLPs of nn.Linear and elementwise activations only")
        template = nets[0]
        self.plan: list[tuple[str, str | None] | nn.Module] = []
        transposed = set()
        for i, layer in enumerate(template):
            if type(layer) is nn.Linear:
                if layer.out_features > 1:
                    transposed.add(f"{i}.weight")
                self.plan.append((f"{i}.weight", f"{i}.bias" if layer.bias is not None else None))
            else:
                self.plan.append(layer)
        self.params = StackedParams(nets, frozenset(transposed))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        p = self.params
        for item in self.plan:
            if isinstance(item, tuple):
                w_name, b_name = item
                w = p[w_name]
                bias = p[b_name].unsqueeze(1) if b_name else None  # (S, 1, out)
                if w_name in p.transposed:  # (S, in, out)
                    x = torch.bmm(x, w) if bias is None else torch.baddbmm(bias, x, w)
                else:  # one output: w (S, 1, in) -> (S, n, 1)
                    x = OneOutput.apply(x, w, p[b_name] if b_name else w.new_zeros(w.shape[0], 1))
            else:
                x = item(x)
        return x


class StackedStep(ABC):
    """The training step of S seeds of one method as one model. Subclasses (in the method's own file) build the
    stacked players from the seeds' methods and implement `step`, reusing the method's loss functions.

    `methods`: the S seeds' methods, each built as `run_trial` builds it; `streams`: each seed's RngStream (the
    global torch RNG state right after that seed's method was built). Optimisers: one per player, of the seed
    methods' optimiser class and hyper-parameters, over the stacked tensors (`make_optimizer`, replaceable)."""

    def __init__(self, methods: Sequence[nn.Module], streams: Sequence[RngStream]):
        if len(methods) != len(streams) or not methods:
            raise ValueError("one RngStream per method, at least one method")
        self.methods = list(methods)
        self.streams = list(streams)
        self.players: dict[str, list[StackedParams]] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}

    @property
    def n_seeds(self) -> int:
        return len(self.methods)

    def set_players(self, **players: list[StackedParams]) -> None:
        """Register each player's stacked parameters; its optimiser copies the seed methods' optimiser for that
        player (class, lr, betas, eps, …: checked equal across seeds), and its StepLR where the method has one."""
        self.players = players
        for name, parts in players.items():
            opts = [m.optimizers[name] for m in self.methods]
            groups = [{k: v for k, v in g.items() if k != "params"} for g in opts[0].param_groups]
            if len(groups) != 1 or any(type(o) is not type(opts[0]) for o in opts) or any(
                    [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups] != groups
                    for o in opts):
                raise ValueError(f"player {name}: the seeds' optimisers differ or have several param groups")
            tensors = [t for part in parts for t in part.parameters()]
            self.optimizers[name] = self.make_optimizer(type(opts[0]), tensors, groups[0])
            if name in self.methods[0].schedulers:
                sched = self.methods[0].schedulers[name]
                self.schedulers[name] = torch.optim.lr_scheduler.StepLR(
                    self.optimizers[name], step_size=sched.step_size, gamma=sched.gamma)

    @staticmethod
    def make_optimizer(cls: type, tensors: list[torch.Tensor], hparams: dict) -> torch.optim.Optimizer:
        """One optimiser over the stacked tensors: elementwise (Adam), so it is S separate ones. Adam runs as its fused
        kernel (one pass over the stacked moments instead of seven: the stacked tensors are S times larger, and the
        per-element passes cost more than the step's matmuls for MGAN's w_in); the update is Adam's, at float
        rounding from the separate trial's single-tensor Adam (inside the stated tolerance)."""
        hp = {k: v for k, v in hparams.items() if k not in ("initial_lr",)}
        if cls in (torch.optim.Adam, torch.optim.AdamW) and not hp.get("differentiable"):
            hp.update(foreach=None, fused=True)
        return cls(tensors, **hp)

    def descend(self, player: str, loss: torch.Tensor) -> None:
        """One step of `player`'s optimiser on Σ_s L_s, backpropagating into that player's tensors only (the
        separate trial's D step leaves G's gradients alone too: its fakes are detached)."""
        opt = self.optimizers[player]
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=[p for g in opt.param_groups for p in g["params"]])
        opt.step()

    def step_schedulers(self) -> None:
        for s in self.schedulers.values():
            s.step()

    def per_seed(self, fn: Callable[[nn.Module], torch.Tensor]) -> torch.Tensor:
        """(S, ...): fn(method_s) drawn in seed s's own random stream, stacked."""
        return torch.stack([st.draw(lambda m=m: fn(m)) for m, st in zip(self.methods, self.streams)])

    def write_back(self) -> None:
        for parts in self.players.values():
            for part in parts:
                part.write_back()

    @abstractmethod
    def step(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, list[float]]:
        """One training step of every seed on its real batch x[s] (x: (S, batch, d)); {loss name: [per seed]},
        the names and order of the method's `train_step`."""


def per_seed_loss(fn: Callable[..., torch.Tensor], *stacked: torch.Tensor, **kw) -> torch.Tensor:
    """(S,): the method's own loss function on each seed's slices (each seed's own mean, as its trial computes)."""
    return torch.stack([fn(*parts, **kw) for parts in zip(*stacked)])
