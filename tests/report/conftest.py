"""The report tests reuse the marts' hand-made warehouse."""

from tests.marts.conftest import fixture_warehouse  # noqa: F401
