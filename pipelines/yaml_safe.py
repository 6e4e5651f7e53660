"""YAML for the project's own files (targets, contracts): safe, and ``NO`` stays Norway.

PyYAML follows YAML 1.1, whose booleans include ``yes``/``no``/``on``/``off`` in any of three
spellings, so ``origin_countries: [GB, NO]`` reads Norway as ``False`` and
``defaults: {country_of_origin: NO}`` becomes the string ``"False"``. :class:`SafeLoader` here
is PyYAML's ``SafeLoader`` (no Python objects, no code) whose booleans are YAML 1.2's:
``true`` / ``false`` (also ``True``, ``TRUE``, ``False``, ``FALSE``) and nothing else;
``yes``, ``no``, ``on``, ``off`` are plain strings. Everything else (dates, numbers, null)
resolves as before.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

BOOL_TAG = "tag:yaml.org,2002:bool"
# what YAML 1.1 (PyYAML's safe_load) reads as a boolean: the words to quote in a country list
YAML11_BOOLEAN_WORDS = ("yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF")


class SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 booleans only (``NO``, ``yes``, ``on``... are strings)."""


# Own resolver lists (PyYAML's add_implicit_resolver would append to the lists SafeLoader shares).
SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SafeLoader.add_implicit_resolver(BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_yaml(text: str) -> Any:
    """Parse YAML text safely with YAML 1.2 booleans; raises ``yaml.YAMLError`` as ``safe_load`` does."""
    return yaml.load(text, Loader=SafeLoader)  # a SafeLoader subclass: as safe as safe_load


def boolean_hint(value: bool) -> str:
    """Why a boolean is where a country code should be, and what to write instead."""
    if value is False:
        return (
            "got false (a YAML boolean), not a country code: YAML 1.1 readers take an unquoted NO (Norway), "
            'no or off for false; quote it: "NO"'
        )
    return (
        "got true (a YAML boolean), not a country code: YAML 1.1 readers take unquoted YES, yes, ON, on "
        "for true; quote the code"
    )
