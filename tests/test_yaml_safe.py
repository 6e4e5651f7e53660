"""The project's YAML loader: safe, and YAML 1.1's yes/no/on/off are strings (NO stays Norway)."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from pipelines.contracts import load_contract
from pipelines.settings import RESOURCES
from pipelines.yaml_safe import YAML11_BOOLEAN_WORDS, load_yaml


def test_only_true_and_false_are_booleans() -> None:
    words = ", ".join(YAML11_BOOLEAN_WORDS)
    assert yaml.safe_load(f"[{words}]") == [w.lower() in ("yes", "on") for w in YAML11_BOOLEAN_WORDS]  # the trap
    assert load_yaml(f"[{words}]") == list(YAML11_BOOLEAN_WORDS)
    assert load_yaml("[true, True, TRUE, false, False, FALSE]") == [True] * 3 + [False] * 3
    assert load_yaml("{NO: Norway, on: 1}") == {"NO": "Norway", "on": 1}  # keys too


def test_everything_else_reads_as_safe_load_reads_it() -> None:
    text = "a: 2018-07-01\nb: 12\nc: 1.5\nd: ~\ne: null\nf: '0012'\ng: [GB, CN]\nh: {x: 1}\n"
    assert load_yaml(text) == yaml.safe_load(text)
    assert load_yaml(text)["a"] == date(2018, 7, 1)


def test_python_objects_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")


def test_a_contract_default_of_no_is_norway(tmp_path) -> None:
    text = (RESOURCES / "contracts" / "catalogues" / "uk_csv_comma.yml").read_text(encoding="utf-8")
    text = text.replace("  country_of_origin: origin_country\n", "").replace(
        "units: {weight: kg}", "units: {weight: kg}\ndefaults: {country_of_origin: NO}"
    )
    path = tmp_path / "no_csv.yml"
    path.write_text(text, encoding="utf-8")
    assert yaml.safe_load(text)["defaults"] == {"country_of_origin": False}  # would have been "False"
    assert load_contract(path).defaults == {"country_of_origin": "NO"}
