"""Run ``airflow`` with the Celery provider working on Celery 5.7.

``apache-airflow-providers-celery`` 3.26.0 (the pinned provider) imports ``retry`` from
``celery.backends.database``; Celery 5.7.0 (the pinned Celery) removed that decorator (its
database backend retries by itself now), so ``airflow celery worker`` and a scheduler with the
``CeleryExecutor`` fail at import. :func:`install` puts Celery 5.6's decorator back (retry a
database call up to three times on a database error) before Airflow is imported; the production
profile starts every Airflow component as ``python -m pipelines.celery_compat <airflow args>``,
which is ``python -m airflow <args>`` after :func:`install`. Remove once the provider no longer
imports it (or Celery is pinned below 5.7).
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
    """Give ``celery.backends.database`` its ``retry`` when it lacks one; True if it was added."""
    import celery.backends.database as database

    if hasattr(database, "retry"):
        return False
    database.retry = retry
    return True


def main(argv: list[str]) -> None:
    """``python -m airflow ARGV`` after :func:`install`."""
    install()
    sys.argv = ["airflow", *argv]
    runpy.run_module("airflow", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
