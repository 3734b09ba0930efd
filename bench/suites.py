"""Suite YAML -> validated, resolved run plan (defaults < suite YAML < profile overrides < CLI flags).

Validation happens here, once, before any trial starts: unknown names, misspelled keys and bad
hyper-parameters raise `UserError` naming the input, the valid choices and the fix. Downstream code
receives a `RunPlan` of typed `TrialSpec`s, never a raw dict.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from bench.errors import UserError
from bench.method_params import (mixture_k, paper_departures, resolve_layers,  # noqa: F401 (re-exported)
                                  resolve_method_params)
from bench.registry import DATASETS, METHODS, METRICS

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
PROFILES = ("smoke", "default", "paper")  # every suite defines these; it may add its own named profiles
PROFILE_NAME = r"^[a-z][a-z0-9_]*$"
# A variant's name: a short label the report shows as `method [name]` and the results store per trial; letters,
# digits and `_ . / -` (e.g. MD-GAN Table 3's D sizes `B`, `S1/2`, `S1/4`), at most 16 characters.
VARIANT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,15}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    """Training length and evaluation schedule. Evaluations: `eval_every` steps, else `n_evals` evenly
    spaced; the final step is always evaluated."""

    steps: int | None = Field(default=None, ge=0)
    n_evals: int | None = Field(default=None, ge=1)
    eval_every: int | None = Field(default=None, ge=1)
    checkpoint_every: int | None = Field(default=None, ge=1)


class Override(Schedule):
    """Profile override for some methods / datasets (None = all), e.g. a paper's own protocol."""

    methods: list[str] | None = None
    datasets: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    note: str = ""  # why: the paper section this override follows
    protocol: str | None = None  # a tag naming the source protocol (e.g. "mdgan-2d"); paper-vs-ours matches it

    def matches(self, method: str, dataset: str) -> bool:
        return ((self.methods is None or method in self.methods)
                and (self.datasets is None or dataset in self.datasets))


class Variant(_Strict):
    """One setting every (method, dataset, seed) of a profile runs under, e.g. MD-GAN Table 3's discriminator sizes:
    its params apply after the profile's overrides (to every method: a key a method lacks is an error), its note
    and protocol tag are recorded like an override's, and its name is stored on each trial (TrialSpec.variant)."""

    params: dict[str, Any] = Field(default_factory=dict)
    protocol: str | None = None  # e.g. "mdgan-stacked-S1/4": paper-vs-ours compares only trials that carry it
    note: str = ""  # why: the paper section this setting follows


class Profile(Schedule):
    steps: int = Field(ge=0)
    seeds: int = Field(ge=1)
    # The profile's own selection of the suite's datasets / methods (None: all of them); --datasets / --methods
    # still choose within the suite. E.g. an image suite's smoke profile runs only the offline `digits` sets.
    datasets: list[str] | None = None
    methods: list[str] | None = None
    metrics: list[str] | None = None  # e.g. the domain-classifier metrics only on a CPU profile (Inception: ~5 img/s)
    # Generated samples per metric for this profile, by metric name ("*": every metric not named), instead of each
    # metric's protocol count, e.g. an image smoke profile's seconds-long evaluations; recorded in the protocol.
    metric_samples: dict[str, int] = Field(default_factory=dict)
    n_evals: int | None = Field(default=5, ge=1)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per-method params for this profile
    overrides: list[Override] = Field(default_factory=list)
    # name -> Variant: each (method, dataset, seed) trial runs once per variant (none: once, variant None)
    variants: dict[str, Variant] = Field(default_factory=dict)  # names checked in _check_names (VARIANT_NAME)
    # Run only the (method, dataset) pairs that some override with a `protocol` tag covers (a paper profile whose
    # protocols each name their own methods and datasets; the rest of the cross product is no paper's experiment).
    protocol_pairs_only: bool = False
    description: str = ""


class Resources(_Strict):
    cpus_per_trial: float = Field(default=1.0, gt=0)
    gpus_per_trial: float = Field(default=0.0, ge=0)
    max_concurrent: int | None = Field(default=None, ge=1)
    max_failures: int = Field(default=1, ge=0)  # Ray retries of a trial whose worker died


class SuiteConfig(_Strict):
    name: str
    description: str = ""
    datasets: list[str]
    methods: list[str]
    metrics: list[str]
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per-method params, every profile
    resources: Resources = Resources()
    profiles: dict[Annotated[str, StringConstraints(pattern=PROFILE_NAME)], Profile]
    hparams_note: str = "Hyper-parameters are each paper's defaults, untuned."
    dataset_groups: dict[str, list[str]] = Field(default_factory=dict)  # report: leaderboards over groups

    @model_validator(mode="after")
    def _every_profile(self):
        missing = [p for p in PROFILES if p not in self.profiles]
        if missing:
            raise ValueError(f"profiles {missing} missing: every suite defines {', '.join(PROFILES)}")
        return self


class TrialSpec(_Strict):
    """One trial, fully resolved: everything `bench.trial.run_trial` needs, and what `trial_id` hashes."""

    suite: str
    profile: str
    method: str
    dataset: str
    seed: int
    steps: int
    eval_steps: list[int]
    checkpoint_every: int | None = None
    params: dict[str, Any]  # the method's full Params (defaults included)
    metrics: list[str]
    overrides: list[str] = Field(default_factory=list)  # notes of the profile overrides applied
    protocols: list[str] = Field(default_factory=list)  # protocol tags of the overrides applied
    metric_samples: dict[str, int] = Field(default_factory=dict)  # the profile's sample counts ("*": the rest)
    variant: str | None = None  # the profile variant this trial runs under (Profile.variants), if any

    @property
    def trial_id(self) -> str:
        # `variant` enters the hash only when set: trials of profiles without variants keep their ids.
        return stable_hash(self.model_dump(mode="json", exclude={"variant"} if self.variant is None else None))[:16]


class RunPlan(_Strict):
    suite: SuiteConfig
    profile: str
    trials: list[TrialSpec]

    @property
    def config_hash(self) -> str:
        return stable_hash({"suite": self.suite.name, "profile": self.profile,
                            "trials": sorted(t.trial_id for t in self.trials)})[:16]


def stable_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


# -- loading -------------------------------------------------------------------------------------------
def available_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def suite_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    candidate = SUITES_DIR / f"{name_or_path}.yaml"
    if candidate.exists():
        return candidate
    import difflib

    names = available_suites()
    close = difflib.get_close_matches(name_or_path, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UserError(f"unknown suite {name_or_path!r}{hint} available: {', '.join(names)} "
                    f"(or a path to a suite .yaml file)")


def load_suite(name_or_path: str) -> SuiteConfig:
    path = suite_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a suite is a YAML mapping; see suites/mode_collapse.yaml")
    return suite_from_dict(raw, str(path))


def suite_from_dict(raw: dict, where: str) -> SuiteConfig:
    """Validate a suite mapping (from YAML, or the resolved config a run.json recorded)."""
    try:
        cfg = SuiteConfig.model_validate(raw)
    except ValidationError as e:
        raise UserError(f"{where}: invalid suite:\n{_explain(e, SuiteConfig)}") from None
    _check_names(cfg, Path(where))
    return cfg


def _explain(err: ValidationError, model: type[BaseModel]) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(f"  {loc}: unknown key{_valid_keys_hint(model, e['loc'])}")
        elif e["type"] == "literal_error":
            lines.append(f"  {loc}: {e['msg']}")
        else:
            lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


def _valid_keys_hint(model: type[BaseModel], loc: tuple) -> str:
    """For an unknown key at `loc`, name the keys valid at that level (walks nested models)."""
    import difflib

    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                continue  # a dict key (e.g. the profile name): stay on the container's value model
            current = _inner_model(field.annotation)
        else:
            current = None
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return ""
    valid = sorted(current.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} valid keys: {', '.join(valid)}"


def _inner_model(annotation):
    """The BaseModel inside list[Model] / dict[str, Model] / Model | None, if any."""
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _check_names(cfg: SuiteConfig, path: Path) -> None:
    where = f"{path.name}"
    for name in cfg.datasets:
        _require(DATASETS, name, f"{where}: datasets")
    for name in cfg.methods:
        _require(METHODS, name, f"{where}: methods")
    for name in cfg.metrics:
        _require(METRICS, name, f"{where}: metrics")
    for name in cfg.params:
        _require(METHODS, name, f"{where}: params")
    for group, names in cfg.dataset_groups.items():
        for name in names:
            _require(DATASETS, name, f"{where}: dataset_groups.{group}")
    for pname, prof in cfg.profiles.items():
        for key, registry, listed in (("datasets", DATASETS, cfg.datasets), ("methods", METHODS, cfg.methods),
                                      ("metrics", METRICS, cfg.metrics)):
            for name in getattr(prof, key) or []:
                _require(registry, name, f"{where}: profiles.{pname}.{key}")
                if name not in listed:
                    raise UserError(f"{where}: profiles.{pname}.{key}: {name!r} is not one of the suite's {key} "
                                    f"({', '.join(listed)}); add it to the suite's {key} first")
        for name, n in prof.metric_samples.items():
            if name != "*":
                _require(METRICS, name, f"{where}: profiles.{pname}.metric_samples")
            if n < 1:
                raise UserError(f"{where}: profiles.{pname}.metric_samples.{name}: {n}; give a sample count >= 1")
        for name in prof.params:
            _require(METHODS, name, f"{where}: profiles.{pname}.params")
        for name in prof.variants:
            if not re.match(VARIANT_NAME, name):
                raise UserError(f"{where}: profiles.{pname}.variants: name {name!r} is not a short label; use 1-16 "
                                f"letters, digits and _ . / - starting with a letter or digit (e.g. B, S1/2, S1/4)")
        for i, ov in enumerate(prof.overrides):
            for name in ov.methods or []:
                _require(METHODS, name, f"{where}: profiles.{pname}.overrides[{i}].methods")
            for name in ov.datasets or []:
                _require(DATASETS, name, f"{where}: profiles.{pname}.overrides[{i}].datasets")


def _require(registry, name: str, where: str) -> None:
    if name not in registry:
        raise UserError(f"{where}: {registry.unknown_message(name)}")


# -- resolution ----------------------------------------------------------------------------------------
def _split_names(value: str | list[str] | None, registry, flag: str) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    names = [n for n in names if n]
    if not names:
        raise UserError(f"{flag}: give at least one name; available: {', '.join(registry.names())}")
    for n in names:
        _require(registry, n, flag)
    return names


def eval_schedule(steps: int, n_evals: int | None, eval_every: int | None) -> list[int]:
    """Steps at which to evaluate: every `eval_every` (else `n_evals` evenly spaced), final step included."""
    if steps == 0:
        return [0]
    if eval_every:
        points = set(range(eval_every, steps + 1, eval_every))
    else:
        n = min(n_evals or 1, steps)
        points = {round(steps * i / n) for i in range(1, n + 1)}
    return sorted(points | {steps})


def _check_all_method_overrides(prof: Profile, methods: list[str], where: str) -> None:
    """An override without `methods` applies each param to the methods that have it (e.g. network fields
    skip the oracle); a key that none of the run's methods has is a typo and an error."""
    fields = {m: set(METHODS.get(m).Params.model_fields) for m in methods}
    known = set().union(*fields.values())
    for i, ov in enumerate(prof.overrides):
        if ov.methods is not None:
            continue
        for key in ov.params:
            if key not in known:
                import difflib

                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UserError(f"{where}: overrides[{i}].params: no method of this run has a parameter {key!r}"
                                f"{hint}; valid parameters: {', '.join(sorted(known))}")


def _split_variants(value: str | list[str] | None, prof: Profile, profile: str) -> list[str | None]:
    """The variants to run: --variants' names (each one of the profile's), else all of them; [None] without any."""
    if not prof.variants:
        if value is not None:
            raise UserError(f"--variants: profile {profile!r} has no variants; drop --variants")
        return [None]
    if value is None:
        return list(prof.variants)
    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    names = [n for n in names if n]
    bad = [n for n in names if n not in prof.variants]
    if bad or not names:
        raise UserError(f"--variants: {', '.join(map(repr, bad)) or 'no name given'}: profile {profile!r} has "
                        f"variants {', '.join(prof.variants)}; give some of them, comma-separated")
    return [n for n in prof.variants if n in names]


def build_plan(cfg: SuiteConfig, profile: str = "default", *, methods=None, datasets=None,
               seeds: int | None = None, variants=None) -> RunPlan:
    if profile not in cfg.profiles:
        raise UserError(f"unknown profile {profile!r} of suite {cfg.name!r}; available: {', '.join(cfg.profiles)}")
    prof = cfg.profiles[profile]
    method_names = _split_names(methods, METHODS, "--methods") or prof.methods or cfg.methods
    dataset_names = _split_names(datasets, DATASETS, "--datasets") or prof.datasets or cfg.datasets
    variant_names = _split_variants(variants, prof, profile)
    if seeds is not None and seeds < 1:
        raise UserError(f"--seeds {seeds}: give a count of seeds >= 1 (seeds 0..N-1)")
    n_seeds = seeds if seeds is not None else prof.seeds
    _check_all_method_overrides(prof, method_names, f"suite {cfg.name!r} profile {profile!r}")
    trials = []
    from bench.data import get_spec

    where = f"suite {cfg.name!r} profile {profile!r}"
    for dataset in dataset_names:
        spec = get_spec(dataset)
        for method in method_names:
            if spec.kind not in METHODS.get(method).kinds:
                raise UserError(f"method {method!r} has no networks for {spec.kind} data ({dataset!r}); "
                                f"drop it with --methods or --datasets")
            schedule = {"steps": prof.steps, "n_evals": prof.n_evals, "eval_every": prof.eval_every,
                        "checkpoint_every": prof.checkpoint_every}
            base_layers: list[dict | Override] = [cfg.params.get(method, {}), prof.params.get(method, {})]
            base_notes, base_protocols = [], []
            for ov in prof.overrides:
                if ov.matches(method, dataset):
                    for key in ("steps", "n_evals", "eval_every", "checkpoint_every"):
                        if getattr(ov, key) is not None:
                            schedule[key] = getattr(ov, key)
                            if key == "eval_every":
                                schedule["n_evals"] = None
                            if key == "n_evals":
                                schedule["eval_every"] = None
                    base_layers.append(ov if ov.methods is None else ov.params)
                    base_notes.append(ov.note or json.dumps(ov.model_dump(exclude_defaults=True), sort_keys=True))
                    if ov.protocol and ov.protocol not in base_protocols:
                        base_protocols.append(ov.protocol)
            if prof.protocol_pairs_only and not base_protocols:
                continue
            evals = eval_schedule(schedule["steps"], schedule["n_evals"], schedule["eval_every"])
            for variant in variant_names:
                layers, notes, protocols = list(base_layers), list(base_notes), list(base_protocols)
                if variant is not None:
                    # A variant is a method-named layer after every override: it applies to every method, as given.
                    v = prof.variants[variant]
                    layers.append(v.params)
                    notes.append(f"variant {variant}: " + (v.note or json.dumps(v.params, sort_keys=True)))
                    if v.protocol and v.protocol not in protocols:
                        protocols.append(v.protocol)
                params, kept = resolve_layers(method, dataset, layers,
                                               where + (f" variant {variant!r}" if variant else ""))
                notes.extend(kept)
                for seed in range(n_seeds):
                    trials.append(TrialSpec(
                        suite=cfg.name, profile=profile, method=method, dataset=dataset, seed=seed,
                        steps=schedule["steps"], eval_steps=evals, checkpoint_every=schedule["checkpoint_every"],
                        params=params, metrics=list(prof.metrics or cfg.metrics), overrides=notes,
                        protocols=protocols, metric_samples=dict(prof.metric_samples), variant=variant))
    if not trials and prof.protocol_pairs_only:
        raise UserError(f"{where}: no (method, dataset) pair of --methods / --datasets is in one of the profile's "
                        f"protocols (its overrides with a `protocol:` tag); see suites/{cfg.name}.yaml")
    return RunPlan(suite=cfg, profile=profile, trials=trials)
