"""Export targets (``targets.yml``): loaded with ``yaml.safe_load`` and validated with clear messages.

A target is an EUR amount of goods of some origins (empty: all goods) shipped to some
destinations within a window, with a stretch and a final deadline (DESIGN §4). Errors name the
file, the target (index and id) and the field, e.g.
``targets.yml: targets[0] (uk_goods_to_cn).deadlines.final: ...``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import UserFacingError


class TargetsError(UserFacingError):
    """targets.yml is missing or invalid."""


class Deadlines(BaseModel):
    """The stretch deadline (``on_track`` if projected by it) and the final one (``at_risk``)."""

    model_config = ConfigDict(extra="forbid")

    stretch: date
    final: date


class Target(BaseModel):
    """One target: EUR amount of goods of some origins shipped to some destinations in a window."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    name: str = Field(min_length=1)
    amount: Decimal | None = Field(None, gt=0, max_digits=16, decimal_places=2, description="None: tracking only.")
    currency: str = "EUR"
    origin_countries: list[str] = Field(default_factory=list, description="Empty: all goods.")
    destination_countries: list[str] = Field(min_length=1)
    window_start: date
    window_end: date
    deadlines: Deadlines
    scaled_from: Decimal | None = Field(None, gt=0, max_digits=16, decimal_places=2)
    scale_note: str | None = None

    @field_validator("currency")
    @classmethod
    def eur_only(cls, value: str) -> str:
        if value != "EUR":
            raise ValueError(f"targets are tracked in EUR (the warehouse's money), got {value!r}; convert the amount")
        return value

    @field_validator("origin_countries", "destination_countries", mode="before")
    @classmethod
    def none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("origin_countries", "destination_countries")
    @classmethod
    def alpha2(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if len(v) != 2 or not v.isascii() or not v.isalpha() or not v.isupper()]
        if bad:
            raise ValueError(f"ISO 3166 alpha-2 codes in capitals expected (GB, CN, HK), got {bad}")
        return sorted(set(values))

    @model_validator(mode="after")
    def dates_in_order(self) -> Target:
        if self.window_end < self.window_start:
            raise ValueError(f"window_end {self.window_end} is before window_start {self.window_start}")
        if not self.window_start <= self.deadlines.stretch <= self.deadlines.final <= self.window_end:
            raise ValueError(
                "need window_start <= deadlines.stretch <= deadlines.final <= window_end "
                f"(got {self.window_start}, {self.deadlines.stretch}, {self.deadlines.final}, {self.window_end}); "
                "sales after the window do not count"
            )
        return self


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def unique_ids(self) -> Targets:
        ids = [t.id for t in self.targets]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"target ids must be unique; repeated: {twice}")
        return self


def _where(doc: Any, loc: tuple[int | str, ...]) -> str:
    """``targets[0] (uk_goods_to_cn).deadlines.final`` for a pydantic error location."""
    parts: list[str] = []
    for i, step in enumerate(loc):
        if isinstance(step, int) and i > 0 and loc[i - 1] == "targets":
            parts[-1] += f"[{step}]"
            try:
                target_id = doc["targets"][step].get("id")
            except (KeyError, IndexError, TypeError, AttributeError):
                target_id = None
            if target_id:
                parts[-1] += f" ({target_id})"
        elif isinstance(step, int):
            parts[-1] += f"[{step}]"
        else:
            parts.append(str(step))
    return ".".join(parts) or "file"


def load_targets(path: Path) -> list[Target]:
    """Parse and validate a targets file; errors name the file, the target and the field."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TargetsError(f"targets file {path} not found (set XBORDER_TARGETS_FILE or add targets.yml)") from exc
    except yaml.YAMLError as exc:
        raise TargetsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise TargetsError(f"{path}: expected a mapping with a 'targets' list, got {type(doc).__name__}")
    try:
        return Targets.model_validate(doc).targets
    except ValidationError as exc:
        problems = "; ".join(f"{_where(doc, e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise TargetsError(f"{path}: {problems}") from exc
