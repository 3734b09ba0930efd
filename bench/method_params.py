"""A method's parameters for one trial: its defaults < the suite's and profile's layers < the variant, validated with
the method's typed Params; and what a method declares it owns (its own fields, its K, per-component counts, the
fields that define its paper), which decides how an override that does not name the method applies to it."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bench.errors import UserError
from bench.registry import METHODS

if TYPE_CHECKING:
    from bench.suites import Override


def resolve_method_params(method: str, *layers: dict[str, Any], where: str) -> dict[str, Any]:
    """Merge param layers over the method's defaults and validate them with its typed Params."""
    cls = METHODS.get(method)
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    try:
        params = cls.Params(**merged)
    except ValidationError as e:
        problems = []
        valid = sorted(cls.Params.model_fields)
        for err in e.errors():
            key = ".".join(str(x) for x in err["loc"])
            if err["type"] == "extra_forbidden":
                import difflib

                close = difflib.get_close_matches(key, valid, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"unknown parameter {key!r}{hint}")
            else:
                problems.append(f"{key}: {err['msg']}")
        raise UserError(f"{where}: bad parameters for method {method!r}: {'; '.join(problems)}. "
                        f"Valid parameters: {', '.join(valid)}") from None
    return params.model_dump(mode="json")


# -- what a method owns: declarations on its Params (read here, never a list in a suite) -------------------
# A method's Params class may declare (class attributes; absent = empty):
#   own_fields: frozenset[str]       its own design (e.g. a mixture latent's d, K, spread): an override that does
#                                    not name the method leaves these at the method's value;
#   k_field: str                     the field holding K, its number of mixture components / generators / codes:
#                                    unless a layer for the method sets it, K = the dataset's number of classes
#                                    (one rule for every mixture method; the Params default is K only where the
#                                    method is built directly), resolved here and recorded in the trial's params;
#   per_component_fields: frozenset  counts per component (MGAN's fakes per generator): a value an override that
#                                    does not name the method sets is a total per step, split over the K components;
#   paper_defining: dict[str, str]   fields whose default is the method's paper value, each with the text that
#                                    describes a departure (the report marks such rows; `paper_departures`).
def _declared(method: str, name: str, default):
    return getattr(METHODS.get(method).Params, name, default)


def mixture_k(method: str, params: dict[str, Any], dataset: str) -> int | None:
    """K of a method that declares `k_field`: `params[k_field]` if the method's own layers set it, else the
    dataset's number of classes; None for a method without one."""
    field = _declared(method, "k_field", None)
    if field is None:
        return None
    from bench.data import get_spec

    return params.get(field) or get_spec(dataset).n_classes


def paper_departures(method: str, params: dict[str, Any]) -> list[str]:
    """Texts of the method's paper-defining fields whose value here is not the paper's (the field's default)."""
    if method not in METHODS:
        return []
    cls = METHODS.get(method).Params
    out = []
    for field, text in _declared(method, "paper_defining", {}).items():
        paper = cls.model_fields[field].default
        value = params.get(field, paper)
        if isinstance(paper, tuple):
            paper = list(paper)
        if value != paper:
            out.append(text.format(value=value, paper=paper))
    return out


def all_methods_layer(method: str, ov: Override, k: int | None) -> tuple[dict, list[tuple[str, Any, str]]]:
    """The part of an override without `methods` that applies to `method`: only fields it has, none of its
    own_fields, per-component counts split over its K. Returns (layer, notes of what was kept or split, each as
    (key, the value it split to or None, text))."""
    fields = METHODS.get(method).Params.model_fields
    own = _declared(method, "own_fields", frozenset())
    per_comp = _declared(method, "per_component_fields", frozenset())
    layer, kept = {}, []
    for key, value in ov.params.items():
        if key not in fields:
            continue
        if key in own:
            what = ov.protocol or (ov.note[:60] + "…" if len(ov.note) > 60 else ov.note) or "an all-method override"
            kept.append((key, None, f"{method} keeps its own {key} (part of the method's design), not the {key} of {what}"))
            continue
        if key in per_comp and k and isinstance(value, int):
            split = -(-value // k)
            kept.append((key, split, f"{method}: {key} {value} per step is split over its K = {k} components: {split} each"))
            value = split
        layer[key] = value
    return layer, kept


def resolve_layers(method: str, dataset: str, layers: list[dict | Override], where: str) -> tuple[dict, list[str]]:
    """(the method's full params, notes of what all-method overrides kept or split) from its layers in order."""
    # K: what the method-named layers (and its defaults) say, else the dataset's classes (k_field None).
    named = {}
    for layer in layers:
        if isinstance(layer, dict):
            named.update(layer)
    k_field = _declared(method, "k_field", None)
    k = mixture_k(method, named, dataset) if k_field else None
    resolved, notes = [], []
    for layer in layers:
        if not isinstance(layer, dict):
            layer, kept = all_methods_layer(method, layer, k)
            notes.extend(kept)
        resolved.append(layer)
    if k_field:
        resolved.append({k_field: k})  # recorded per trial: K itself, never "None"
    params = resolve_method_params(method, *resolved, where=where)
    # a split that a later layer naming the method replaced (MGAN's paper: 12 fakes per generator) is not told
    return params, [text for key, split, text in notes if split is None or params.get(key) == split]
