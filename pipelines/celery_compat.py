"""Run ``airflow`` with the Celery provider working on Celery 5.7.

``apache-airflow-providers-celery`` 3.26.0 (the pinned provider) was written for Celery 5.6's
database result backend; Celery 5.7.0 (the pinned Celery) changed it twice:

1. it removed the decorator ``celery.backends.database.retry``, which the provider imports, so
   ``airflow celery worker`` and a scheduler with the ``CeleryExecutor`` fail at import;
2. it stores results as serialized bytes and decodes them when it reads a result itself, but the
   provider's bulk state fetcher (the scheduler, every heartbeat) reads the rows directly and
   hands the raw bytes to ``meta_from_decoded``: the first Celery task that failed (a worker
   that could not reach the API server, for instance) raises ``TypeError`` there and stops the
   scheduler.

:func:`install` puts Celery 5.6's decorator back (retry a database call up to three times on a
database error) and makes the backend's ``meta_from_decoded`` decode a stored result it is given
raw (a decoded JSON result is never ``bytes``). The production profile starts every Airflow
component as ``python -m pipelines.celery_compat <airflow args>``, which is
``python -m airflow <args>`` after :func:`install`. Remove once the provider supports Celery 5.7
(or Celery is pinned below 5.7).
"""

from __future__ import annotations

import functools
import logging
import runpy
import sys
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)


def retry(fun: F) -> F:
    """Celery 5.6's ``celery.backends.database.retry``: up to ``max_retries`` (3) tries on a database error."""
    from sqlalchemy.exc import DatabaseError, InvalidRequestError
    from sqlalchemy.orm.exc import StaleDataError

    @functools.wraps(fun)
    def _inner(*args: Any, **kwargs: Any) -> Any:
        max_retries = kwargs.pop("max_retries", 3)
        for retries in range(max_retries):
            try:
                return fun(*args, **kwargs)
            except (DatabaseError, InvalidRequestError, StaleDataError):
                log.warning("Failed operation %s. Retrying %s more times.", fun.__name__, max_retries - retries - 1)
                if retries + 1 >= max_retries:
                    raise
        return None

    return _inner  # type: ignore[return-value]


def install() -> bool:
    """Patch ``celery.backends.database`` for the provider (both fixes above); True if it was needed."""
    import celery.backends.database as database

    if hasattr(database, "retry"):  # Celery 5.6 or older: nothing to do
        return False
    database.retry = retry
    backend = database.DatabaseBackend
    if not getattr(backend.meta_from_decoded, "_xborder_compat", False):
        original = backend.meta_from_decoded

        @functools.wraps(original)
        def meta_from_decoded(self: Any, meta: dict[str, Any]) -> Any:
            if isinstance(meta.get("result"), bytes | bytearray | memoryview):
                meta = {**meta, "result": self._decode_stored_result(meta["result"])}
            return original(self, meta)

        meta_from_decoded._xborder_compat = True  # type: ignore[attr-defined]
        backend.meta_from_decoded = meta_from_decoded
    return True


def main(argv: list[str]) -> None:
    """``python -m airflow ARGV`` after :func:`install`."""
    install()
    sys.argv = ["airflow", *argv]
    runpy.run_module("airflow", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
