"""xborder: the cross-border export pipeline (UK/EU goods to consumers in China)."""

__version__ = "0.1.0"
