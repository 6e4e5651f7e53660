"""Fingerprint of the data a build publishes, so a gate's pass can be tied to exactly that data."""

from __future__ import annotations

import duckdb


def data_state(con: duckdb.DuckDBPyConnection) -> str:
    """md5 over every ledger row (file, content, status, batch), every mart part and batch, every pending pass.

    A quality gate records it when it runs; publishing requires the core and marts gates to have
    passed on the state being published (``pipelines.runner.publish_allowed``).
    """
    ((state,),) = con.execute(
        """SELECT md5(concat_ws('#',
               (SELECT string_agg(concat_ws(':', sha256, path, status, batch_id), ',' ORDER BY sha256, path)
                FROM audit.load_ledger),
               (SELECT string_agg(part || ':' || fingerprint, ',' ORDER BY part) FROM audit.mart_state),
               (SELECT string_agg(batch_id || ':' || events || ':' || eur_amount, ',' ORDER BY batch_id)
                FROM audit.mart_batches),
               (SELECT string_agg(batch_id, ',' ORDER BY batch_id) FROM audit.pending_passes)))"""
    ).fetchall()
    return str(state)
