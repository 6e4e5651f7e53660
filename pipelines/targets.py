"""Export targets (``targets.yml``): loaded with ``yaml.safe_load`` and validated with clear messages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from pipelines.errors import UserFacingError


class TargetsError(UserFacingError):
    """targets.yml is missing or invalid."""


class Deadlines(BaseModel):
    stretch: date
    final: date


class Target(BaseModel):
    """One target: EUR amount of goods of some origins shipped to some destinations in a window."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    amount: Decimal | None = Field(None, gt=0, description="None: tracking only (no % or status).")
    currency: str = "EUR"
    origin_countries: list[str] = Field(default_factory=list, description="Empty: all goods.")
    destination_countries: list[str] = Field(min_length=1)
    window_start: date
    window_end: date
    deadlines: Deadlines
    scaled_from: Decimal | None = None
    scale_note: str | None = None

    @field_validator("currency")
    @classmethod
    def eur_only(cls, value: str) -> str:
        if value != "EUR":
            raise ValueError("targets are tracked in EUR (the warehouse's money); convert the amount")
        return value

    @field_validator("origin_countries", "destination_countries")
    @classmethod
    def alpha2(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if len(v) != 2 or not v.isalpha() or not v.isupper()]
        if bad:
            raise ValueError(f"ISO 3166 alpha-2 codes expected, got {bad}")
        return values

    @model_validator(mode="after")
    def dates_in_order(self) -> Target:
        if not self.window_start <= self.deadlines.stretch <= self.deadlines.final:
            raise ValueError("need window_start <= deadlines.stretch <= deadlines.final")
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self


class Targets(BaseModel):
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def unique_ids(self) -> Targets:
        ids = [t.id for t in self.targets]
        if len(ids) != len(set(ids)):
            raise ValueError(f"target ids must be unique: {ids}")
        return self


def load_targets(path: Path) -> list[Target]:
    """Parse and validate a targets file; errors name the file, the target and the field."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TargetsError(f"targets file {path} not found") from exc
    except yaml.YAMLError as exc:
        raise TargetsError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return Targets.model_validate(doc).targets
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise TargetsError(f"{path}: {problems}") from exc
