"""xborder: the cross-border export pipeline, tracking sales against the targets in ``targets.yml``."""

__version__ = "0.1.0"
