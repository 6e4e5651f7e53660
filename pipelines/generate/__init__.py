"""Deterministic, realistic sample landing data (``xborder generate``).

Same seed and arguments give byte-identical files. Work is chunked by channel and day with
``numpy.random.SeedSequence`` children keyed by (seed, stream, day), so output does not depend
on chunking and memory stays bounded whatever ``order_lines`` is.
"""

from pipelines.generate.run import GenerateSummary, generate

__all__ = ["GenerateSummary", "generate"]
