"""A contracts folder of the test's own: the repo's contracts plus the channel under test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelines.settings import RESOURCES, Settings, get_settings, reset_settings
from tests.ingest.conftest import landing, load, wh  # noqa: F401 - fixtures
from tests.ingest.test_sales import ready  # noqa: F401 - fixture: ECB rates and GB001's catalogue

CHANNEL_HEAD = """\
name: test_channel
feed: sales
channel: test_channel
format: csv
file_glob: "*.csv"
csv: {delimiter: ",", decimal: ".", encoding: utf-8}
timestamp: {format: "%Y-%m-%d %H:%M", timezone: UTC}
"""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose contracts folder is a copy of the repo's, under the test's own folder."""
    contracts = tmp_path / "contracts"
    shutil.copytree(RESOURCES / "contracts", contracts)
    monkeypatch.setenv("XBORDER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XBORDER_CONTRACTS_DIR", str(contracts))
    monkeypatch.setenv("XBORDER_LOCK_TIMEOUT_S", "2")
    reset_settings()
    yield get_settings()
    reset_settings()


@pytest.fixture
def channel(settings: Settings) -> Callable[[str], Path]:
    """Write contracts/channels/test_channel.yml: CHANNEL_HEAD + the given body."""

    def write(body: str, head: str = CHANNEL_HEAD) -> Path:
        path = settings.contracts_dir / "channels" / "test_channel.yml"
        path.write_text(head + body, encoding="utf-8")
        return path

    return write
