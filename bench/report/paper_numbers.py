"""The seed papers' reported numbers (`paper_numbers.yaml`, transcribed from shared/papers/paper-tables.md),
validated once with a typed schema, for the paper-vs-ours table."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

PAPER_NUMBERS = Path(__file__).with_name("paper_numbers.yaml")


class PaperNumber(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str  # unique, e.g. "mdgan-t1-deligan-modes"
    paper: Literal["deligan", "gm-gan", "md-gan", "pcm-gan", "mgan"]  # the paper that prints the number
    source: str  # where in that paper: "Table 1", "§5.1 text", …
    dataset: str  # our dataset name where we have one (grid25, ring8_mdgan, …), else the paper's (cifar10, …)
    method: str  # our method name where we have one (mdgan, deligan, gan, …), else the paper's label (ali, …)
    metric: str  # our metric name where we have one (modes, hq, …), else the paper's (fid, is, m_is, …)
    value: float
    pm: float | None = None  # the ± printed beside the value, if any
    pm_meaning: str  # what that ± is: "std over 5 runs", "standard error over 10 trainings", "10 splits", …
    runs: int | None = None  # trainings behind the value, where the paper says
    protocol: str  # the protocol tag a run must carry to be compared (suite overrides' `protocol:`)
    origin: Literal["measured", "quoted"]  # the paper ran it, or copied it from another paper
    quoted_from: str | None = None  # e.g. "VEEGAN [29]" when origin is quoted
    note: str = ""  # e.g. "[sic]: the row's classes give 2.10 ± 0.38"


@lru_cache(maxsize=4)
def load_paper_numbers(path: Path = PAPER_NUMBERS) -> tuple[PaperNumber, ...]:
    raw = yaml.safe_load(Path(path).read_text())
    try:
        numbers = tuple(PaperNumber.model_validate(r) for r in raw)
    except ValidationError as e:
        raise ValueError(f"{path}: {e}") from None
    ids = [n.id for n in numbers]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"{path}: duplicate ids {sorted(dup)}")
    return numbers
