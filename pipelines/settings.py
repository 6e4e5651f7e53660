"""One settings object for the CLI, the DAGs and the tests.

Every field can be set by an environment variable with the ``XBORDER_`` prefix, e.g.
``XBORDER_HOME=/srv/xborder``. Paths under ``home`` are derived unless set explicitly.

What the pipeline reads but does not generate ships inside the package, in
``pipelines/resources/`` (:mod:`pipelines.package_files`), found the same way from a checkout
(``pip install -e .``) as from an installed wheel. A user's own contracts and targets live
outside the package: ``XBORDER_CONTRACTS_DIR`` and ``XBORDER_TARGETS_FILE``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.package_files import RESOURCES

__all__ = ["RESOURCES", "Settings", "get_settings", "reset_settings"]


class Settings(BaseSettings):
    """Runtime configuration (``XBORDER_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="XBORDER_", extra="ignore")

    home: Path = Field(Path("data"), description="Root of everything generated.")
    landing: Path | None = Field(None, description="Landing zone; default HOME/landing.")
    warehouse: Path | None = Field(None, description="DuckDB file; default HOME/warehouse.duckdb.")
    contracts_dir: Path = Field(
        RESOURCES / "contracts", description="Contracts (catalogues/, channels/, suppliers/); default: packaged."
    )
    targets_file: Path | None = Field(
        None, description="Targets; default HOME/targets.sample.yml if generated, else the packaged targets.yml."
    )
    reference_dir: Path = Field(RESOURCES / "reference", description="Reference data; default the packaged files.")
    sql_dir: Path = Field(RESOURCES / "sql", description="Migrations and models; default the packaged SQL.")
    gx_dir: Path = Field(RESOURCES / "great_expectations", description="GX project; default the packaged one.")
    lock_timeout_s: float = Field(30.0, description="How long to wait for the warehouse lock.")
    fx_lookback_days: int = 7
    wait_days: int = Field(
        30,
        ge=0,
        description="Days a sale waits for its product version, FX rate or order line before it is final "
        "(XBORDER_WAIT_DAYS; a channel contract's waiting.max_days overrides it; 0: never waits).",
    )
    stale_days: int = Field(
        7,
        ge=0,
        description="The report warns when the latest sales event or FX rate date is more than this many days "
        "before the run date (XBORDER_STALE_DAYS).",
    )
    forecast_sims: int = Field(
        500, ge=10, le=100_000, description="Monte Carlo simulations per target (XBORDER_FORECAST_SIMS)."
    )
    forecast_seed: int = Field(
        2026, ge=0, description="Seed of the forecast's hash-based draws: same seed, same forecast."
    )
    threads: int | None = Field(None, description="DuckDB threads; default all cores.")
    memory_limit: str | None = Field(
        "4GB",
        description="DuckDB memory_limit of the pipeline's connections (it spills to disk beyond it); '' for "
        "DuckDB's default of 80% of RAM. Keeps a 100M-line load under 8 GB with Polars beside it.",
    )

    @property
    def landing_dir(self) -> Path:
        return (self.landing or self.home / "landing").resolve()

    @property
    def warehouse_path(self) -> Path:
        return (self.warehouse or self.home / "warehouse.duckdb").resolve()

    @property
    def targets_path(self) -> Path:
        """The targets in force: explicit, else the generated sample's scaled copy, else the packaged ones."""
        if self.targets_file:
            return self.targets_file.resolve()
        sample = self.home / "targets.sample.yml"
        return sample.resolve() if sample.exists() else RESOURCES / "targets.yml"

    @property
    def snapshot_dir(self) -> Path:
        return (self.home / "snapshot").resolve()

    @property
    def reports_dir(self) -> Path:
        return (self.home / "reports").resolve()

    @property
    def quarantine_dir(self) -> Path:
        return (self.home / "quarantine").resolve()

    @property
    def gx_output_dir(self) -> Path:
        return (self.home / "quality").resolve()


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change ``XBORDER_*`` between cases)."""
    get_settings.cache_clear()
