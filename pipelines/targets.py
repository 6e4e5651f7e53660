"""Export targets (``targets.yml``): loaded safely and validated with clear messages.

A target is an EUR amount of goods of some origins shipped to some destinations within a
window, with a stretch and a final deadline (docs/design.md §4). Origins and destinations are each a
list of ISO alpha-2 codes or ``all`` (every country), and ``all`` may leave some out with
``origin_exclude`` / ``destination_exclude`` (``destination_countries: all`` +
``destination_exclude: [GB]``: every ship-to country but the UK). An empty or omitted
``origin_countries`` also means all goods. A fact counts for a target iff its country of origin
and its ship-to country are both in scope and its date is in the window.

The file is read with :func:`pipelines.yaml_safe.load_yaml` (safe, YAML 1.2 booleans), so an
unquoted ``NO`` is Norway; a boolean that still reaches a country list (``false``) is rejected
with the reason. Errors name the file, the target (index and id) and the field, e.g.
``targets.yml: targets[0] (uk_goods_to_cn).deadlines.final: ...``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipelines.errors import UserFacingError
from pipelines.yaml_safe import boolean_hint, load_yaml

ALL: Final = "all"


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
    origin_countries: list[str] | Literal["all"] = Field(ALL, description="all, or codes; empty: all goods.")
    origin_exclude: list[str] = Field(default_factory=list, description="Origins left out of all.")
    destination_countries: list[str] | Literal["all"] = Field(description="all, or ship-to codes (not empty).")
    destination_exclude: list[str] = Field(default_factory=list, description="Destinations left out of all.")
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
    def countries(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or value == []:
            if info.field_name == "origin_countries":
                return []  # empty or omitted: all goods (as before `all` existed)
            raise ValueError(
                "no ship-to country listed: list them ([CN, HK]), or write all for every destination "
                "(destination_exclude: [GB] then leaves some out)"
            )
        if value == ALL:
            return ALL
        if isinstance(value, str):
            raise ValueError(f"expected all or a list of ISO alpha-2 codes such as [CN, HK], got {value!r}")
        if isinstance(value, list) and ALL in value:
            raise ValueError(f"all stands alone ({info.field_name}: all), not inside a list")
        return _codes(value)

    @field_validator("origin_exclude", "destination_exclude", mode="before")
    @classmethod
    def excluded(cls, value: Any) -> Any:
        return [] if value is None else _codes(value)

    @model_validator(mode="after")
    def exclude_needs_all(self) -> Target:
        for side in ("origin", "destination"):
            countries, excluded = getattr(self, f"{side}_countries"), getattr(self, f"{side}_exclude")
            if excluded and countries not in (ALL, []):
                raise ValueError(
                    f"{side}_exclude {excluded} only goes with {side}_countries: all (every country but those); "
                    f"with a list ({countries}), leave them out of the list"
                )
        return self

    @property
    def origins(self) -> list[str]:
        """Origins counted, for the warehouse: empty = every origin (then ``origin_exclude`` applies)."""
        return [] if self.origin_countries == ALL else list(self.origin_countries)

    @property
    def destinations(self) -> list[str]:
        """Ship-to countries counted: empty = every destination (then ``destination_exclude`` applies)."""
        return [] if self.destination_countries == ALL else list(self.destination_countries)

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


def _codes(value: Any) -> Any:
    """A list of distinct ISO alpha-2 codes, sorted; a YAML boolean in it is named as the trap it is."""
    if not isinstance(value, list):
        if isinstance(value, bool):
            raise ValueError(boolean_hint(value))
        raise ValueError(f"expected a list of ISO alpha-2 codes such as [GB, FR], got {value!r}")
    booleans = [v for v in value if isinstance(v, bool)]
    if booleans:
        raise ValueError(boolean_hint(booleans[0]))
    bad = [
        v
        for v in value
        if not isinstance(v, str) or len(v) != 2 or not v.isascii() or not v.isalpha() or not v.isupper()
    ]
    if bad:
        raise ValueError(f"ISO 3166 alpha-2 codes in capitals expected (GB, CN, HK), got {bad}")
    return sorted(set(value))


def scope_label(countries: Sequence[str], excluded: Sequence[str], noun: str) -> str:
    """How a scope reads: ``GB``, ``CN, HK``, ``all destinations``, ``all destinations but GB``.

    ``countries`` as the warehouse stores them (empty: every country); ``noun``: origins or destinations.
    """
    if countries:
        return ", ".join(countries)
    return f"all {noun}" + (f" but {', '.join(excluded)}" if excluded else "")


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
        doc = load_yaml(path.read_text(encoding="utf-8"))
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
