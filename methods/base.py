"""The interface every method implements (DESIGN.md "Method interface").

A method is constructed from a `DataSpec` and its typed `Params` (defaults = the paper's, cited beside
each field), owns its players, optimisers and losses, and exposes `train_step`, `sample`,
`n_components`, `responsibilities` and `state_dict`/`load_state_dict` (modules *and* optimisers).
The harness never asks which method it runs.
"""
from __future__ import annotations

import copy
import functools
from abc import ABCMeta, abstractmethod
from typing import TYPE_CHECKING, Callable, ClassVar, TypeVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from bench.data.base import DataSpec

if TYPE_CHECKING:
    from methods.stacked import StackedStep

F = TypeVar("F", bound=Callable)


def inference(fn: F) -> F:
    """Decorator for a method's `sample` / `responsibilities`: no gradients, and the networks in eval mode for the
    call (restored after), so batch norm uses its running statistics and an output depends on its own input only,
    not on the batch it shares (per-component draws, streamed evaluation); sampling never updates those statistics.
    The 2-D MLPs have no such layers: there eval mode changes nothing."""

    @functools.wraps(fn)
    def wrapper(self: "Method", *args, **kwargs):
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                return fn(self, *args, **kwargs)
        finally:
            self.train(was)

    return wrapper  # type: ignore[return-value]


class Params(BaseModel):
    """Base of every method's hyper-parameters: unknown keys are errors; values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_size: int = 512  # real samples per training step


class Method(nn.Module, metaclass=ABCMeta):
    name: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = Params
    needs_labels: ClassVar[bool] = False  # train_step uses y (supervised methods)
    trainable: ClassVar[bool] = True  # False for the calibration references (oracle, collapsed)
    # Data kinds the method has networks for: the shared builders (methods.nets) make both.
    kinds: ClassVar[tuple[str, ...]] = ("points", "image")

    def __init__(self, spec: DataSpec, params: Params, device: torch.device | str = "cpu"):
        super().__init__()
        self.spec = spec
        self.params = params
        self.device = torch.device(device)
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}

    def set_optimizers(self, **optimizers: torch.optim.Optimizer) -> None:
        """Register the players' optimisers (checkpointed with the modules). With `lr_halve_every` in the
        params, each gets a StepLR(γ = 0.5) advanced by `step_schedulers()` at the end of every train_step."""
        self.optimizers = dict(optimizers)
        every = getattr(self.params, "lr_halve_every", None)
        self.schedulers = {k: torch.optim.lr_scheduler.StepLR(o, step_size=every, gamma=0.5)
                           for k, o in self.optimizers.items()} if every else {}

    def step_schedulers(self) -> None:
        for s in self.schedulers.values():
            s.step()

    def descend(self, player: str, loss: torch.Tensor, *, own_only: bool = False) -> None:
        """One step of `player`'s optimiser on `loss`: clear its gradients, backpropagate, step. With
        `own_only`, backpropagate into this optimiser's parameters only (autograd's `inputs=`): every other
        tensor's .grad is left as it was, and branches of the graph that lead only elsewhere are not walked."""
        opt = self.optimizers[player]
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=[p for g in opt.param_groups for p in g["params"]] if own_only else None)
        opt.step()

    # -- the interface ---------------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return self.params.batch_size

    @property
    def n_components(self) -> int:
        """Latent Gaussians / generators (1 for a plain GAN)."""
        return 1

    @abstractmethod
    def train_step(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, float]:
        """One optimisation step of all players on a real batch x (and labels y); returns the losses."""

    @abstractmethod
    def sample(self, n: int, *, scale: float = 1.0, component: int | None = None) -> torch.Tensor:
        """n samples. `scale` multiplies the latent covariance (z|k ~ N(mu_k, scale·Sigma_k); plain
        latents N(0, scale·I)); `component` draws from one latent Gaussian / generator only."""

    def responsibilities(self, x: torch.Tensor) -> torch.Tensor | None:
        """(N, K): p(k|x) where the method defines it, else None."""
        return None

    @classmethod
    def stack(cls, methods: list["Method"], streams: list) -> "StackedStep | None":
        """Several seeds of this method as one vectorised model (methods/stacked.py): a `StackedStep` over the seeds'
        `methods` (each built as its trial builds it) and their random `streams`, or None where the method does not
        support it (the default). A subclass that overrides a hook of its parent's step must not inherit support:
        implementations check `cls` exactly."""
        return None

    # -- checkpoints: modules and optimisers together ------------------------------------------------
    def state_dict(self, *args, **kwargs):  # type: ignore[override]
        return {"modules": super().state_dict(*args, **kwargs),
                "optimizers": {k: opt.state_dict() for k, opt in self.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()}}

    def load_state_dict(self, state, strict: bool = True):  # type: ignore[override]
        result = super().load_state_dict(state["modules"], strict=strict)
        for k, opt in self.optimizers.items():
            # Optimizer.load_state_dict keeps the given tensors: copy, so two methods never share Adam moments.
            opt.load_state_dict(copy.deepcopy(state["optimizers"][k]))
        for k, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
        return result

    def n_params(self) -> int:
        """Trainable parameters of all players (shared parameters counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def n_params_by_player(self) -> dict[str, int]:
        """Parameters each player's optimiser updates, by its name in `set_optimizers` (G, D, …): a body two players
        share counts for both. Makes D's size at MD-GAN's S1/2 and S1/4 checkable in every trial's hparams."""
        return {k: sum(p.numel() for p in {id(p): p for g in o.param_groups for p in g["params"]}.values())
                for k, o in self.optimizers.items()}

    def check_component(self, component: int | None) -> None:
        if component is not None and not 0 <= component < self.n_components:
            raise ValueError(f"component {component} out of range: {self.name} has {self.n_components}")
