"""The domain classifiers as torch-fidelity feature extractors, so FID/IS/KID/PR also run through
torch-fidelity's own `calculate_metrics`:

    register()                                   # idempotent; name "modebench-dom"
    torch_fidelity.calculate_metrics(input1=..., input2=..., fid=True, isc=True, **fidelity_kwargs(ext))

Inputs follow torch-fidelity's convention: uint8 (n, C, H, W) at the dataset's native size; the extractor maps
them to [-1, 1] (u8 / 127.5 - 1) exactly as the data package does, so its features equal `ext(to_float(u8))`.
One registered name serves every family: the checkpoint given as `feature_extractor_weights_path` (the cache
entry's model.pt) carries the architecture, and a classifier under its required accuracy is refused here too.
"""
from __future__ import annotations

import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.helpers import vassert

from bench.evaluators import nets
from bench.evaluators.classifier import check_accuracy, to_float

FIDELITY_NAME = "modebench-dom"


class DomainFeatureExtractor(FeatureExtractorBase):
    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__(name, features_list)
        vassert(feature_extractor_weights_path is not None,
                f"{name}: pass feature_extractor_weights_path= (the domain classifier's model.pt; "
                "bench.evaluators.fidelity_kwargs(extractor) gives it)")
        ck = torch.load(feature_extractor_weights_path, map_location="cpu", weights_only=True)
        check_accuracy(ck["heldout_accuracy"], ck["threshold"], ck["family"], "see bench/evaluators/families.py",
                       feature_extractor_weights_path)
        self.net = nets.build_net(ck["arch"])
        self.net.load_state_dict(ck["state_dict"])
        self.requires_grad_(False)
        self.eval()

    def forward(self, x):
        vassert(torch.is_tensor(x) and x.dtype == torch.uint8, "Expecting image as torch.Tensor with dtype=torch.uint8")
        f, logits = self.net(to_float(x))
        out = {"features": f, "logits": logits}
        return tuple(out[a].float() for a in self.features_list)

    @staticmethod
    def get_provided_features_list():
        return "features", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits", "fid": "features", "kid": "features", "prc": "features"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 1, 16, 16, dtype=torch.uint8)


def register() -> None:
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if FEATURE_EXTRACTORS_REGISTRY.get(FIDELITY_NAME) is not DomainFeatureExtractor:
        register_feature_extractor(FIDELITY_NAME, DomainFeatureExtractor)


def fidelity_kwargs(extractor) -> dict:
    """calculate_metrics keyword arguments that run `extractor`'s network inside torch-fidelity (cuda= explicit:
    torch-fidelity defaults to CUDA)."""
    cuda = extractor.device.type == "cuda"
    if extractor.name == "dom":
        register()
        return {"feature_extractor": FIDELITY_NAME, "feature_extractor_weights_path": str(extractor.model_path),
                "cuda": cuda}
    if extractor.name == "inception":
        return {"feature_extractor": "inception-v3-compat", "feature_extractor_weights_path":
                str(extractor.weights_path), "cuda": cuda}
    raise ValueError(f"no torch-fidelity counterpart for extractor {extractor.name!r}")
