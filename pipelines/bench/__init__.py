"""``xborder bench``: time the pipeline's stages against a plain-DuckDB reference on the same files.

``harness`` runs everything; ``stage`` and ``reference`` are the fresh processes it times;
``rss`` measures a process tree's wall time and peak memory; ``data`` caches generated samples;
``report`` renders the table and judges the targets. See docs/benchmark.md.
"""
