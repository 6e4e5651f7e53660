"""targets.yml: the `all` / exclude shapes, the YAML 1.1 boolean trap, and the validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.settings import RESOURCES
from pipelines.targets import ALL, Target, Targets, TargetsError, load_targets, scope_label

WINDOW = """    window_start: 2020-01-01
    window_end: 2020-12-31
    deadlines: {stretch: 2020-06-30, final: 2020-12-31}
"""


def targets_file(tmp_path: Path, scope: str, tid: str = "t1") -> Path:
    path = tmp_path / "targets.yml"
    path.write_text(f"targets:\n  - id: {tid}\n    name: A target\n    amount: 1000\n{scope}{WINDOW}", encoding="utf-8")
    return path


def one(tmp_path: Path, scope: str) -> Target:
    (target,) = load_targets(targets_file(tmp_path, scope))
    return target


def error(tmp_path: Path, scope: str) -> str:
    with pytest.raises(TargetsError) as caught:
        load_targets(targets_file(tmp_path, scope))
    return str(caught.value)


def test_every_destination_but_gb(tmp_path) -> None:
    t = one(tmp_path, "    origin_countries: [GB]\n    destination_countries: all\n    destination_exclude: [GB]\n")
    assert (t.origin_countries, t.destination_countries, t.destination_exclude) == (["GB"], ALL, ["GB"])
    assert (t.origins, t.destinations) == (["GB"], [])  # the warehouse's lists: empty = every country


def test_every_origin_spelled_all_empty_or_omitted(tmp_path) -> None:
    for scope in ("    origin_countries: all\n", "    origin_countries: []\n", "    origin_countries:\n", ""):
        t = one(tmp_path, scope + "    destination_countries: [CN]\n")
        assert (t.origins, t.origin_exclude, t.destinations) == ([], [], ["CN"]), scope
    t = one(tmp_path, "    origin_countries: all\n    origin_exclude: [GB, FR, GB]\n    destination_countries: [CN]\n")
    assert t.origin_exclude == ["FR", "GB"]  # sorted, once each


def test_unquoted_no_is_norway_and_other_yaml11_words_are_strings(tmp_path) -> None:
    t = one(tmp_path, "    origin_countries: [NO, GB]\n    destination_countries: all\n    destination_exclude: [NO]\n")
    assert (t.origins, t.destination_exclude) == (["GB", "NO"], ["NO"])
    # ON is a string too (the build then rejects it as no ISO code), not true
    assert one(tmp_path, "    destination_countries: [ON]\n").destinations == ["ON"]
    assert "got ['YES']" in error(tmp_path, "    destination_countries: [YES]\n")


def test_a_boolean_where_a_code_belongs_says_why(tmp_path) -> None:
    message = error(tmp_path, "    origin_countries: [GB, false]\n    destination_countries: [CN]\n")
    assert "targets[0] (t1).origin_countries: " in message
    assert "got false (a YAML boolean), not a country code" in message and 'quote it: "NO"' in message
    # a document read elsewhere with yaml.safe_load, where NO became False, is told the same
    doc = {
        "id": "t1",
        "name": "n",
        "origin_countries": [False],
        "destination_countries": ["CN"],
        "window_start": "2020-01-01",
        "window_end": "2020-12-31",
        "deadlines": {"stretch": "2020-06-30", "final": "2020-12-31"},
    }
    with pytest.raises(ValueError, match='unquoted NO \\(Norway\\), no or off for false; quote it: "NO"'):
        Targets.model_validate({"targets": [doc]})
    with pytest.raises(ValueError, match="got true \\(a YAML boolean\\)"):
        Targets.model_validate({"targets": [{**doc, "origin_countries": "all", "destination_exclude": [True]}]})


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (
            "    destination_countries: []\n",
            "targets[0] (t1).destination_countries: Value error, no ship-to country listed: list them ([CN, HK]), "
            "or write all for every destination (destination_exclude: [GB] then leaves some out)",
        ),
        ("", "targets[0] (t1).destination_countries: Field required"),
        (
            "    destination_countries: CN\n",
            "targets[0] (t1).destination_countries: Value error, expected all or a list of ISO alpha-2 codes "
            "such as [CN, HK], got 'CN'",
        ),
        (
            "    destination_countries: ALL\n",
            "expected all or a list of ISO alpha-2 codes such as [CN, HK], got 'ALL'",
        ),
        (
            "    destination_countries: [all]\n",
            "targets[0] (t1).destination_countries: Value error, all stands alone (destination_countries: all), "
            "not inside a list",
        ),
        (
            "    destination_countries: [CN, HK]\n    destination_exclude: [HK]\n",
            "targets[0] (t1): Value error, destination_exclude ['HK'] only goes with destination_countries: all "
            "(every country but those); with a list (['CN', 'HK']), leave them out of the list",
        ),
        (
            "    origin_countries: [GB]\n    origin_exclude: [FR]\n    destination_countries: all\n",
            "origin_exclude ['FR'] only goes with origin_countries: all",
        ),
        (
            "    destination_countries: all\n    destination_exclude: gb\n",
            "targets[0] (t1).destination_exclude: Value error, expected a list of ISO alpha-2 codes such as "
            "[GB, FR], got 'gb'",
        ),
        (
            "    destination_countries: [cn, CHN]\n",
            "ISO 3166 alpha-2 codes in capitals expected (GB, CN, HK), got ['cn', 'CHN']",
        ),
        (
            "    destination_countries: all\n    destination_excludes: [GB]\n",
            "targets[0] (t1).destination_excludes: Extra inputs are not permitted",
        ),
    ],
)
def test_validation_messages_name_the_field_and_the_fix(tmp_path, scope: str, expected: str) -> None:
    message = error(tmp_path, scope)
    assert message.startswith(f"{tmp_path / 'targets.yml'}: ")
    assert expected in message


def test_scope_labels() -> None:
    assert scope_label(["GB"], [], "origins") == "GB"
    assert scope_label(["CN", "HK"], [], "destinations") == "CN, HK"
    assert scope_label([], [], "origins") == "all origins"
    assert scope_label([], ["GB", "IE"], "destinations") == "all destinations but GB, IE"


def test_the_repository_targets_file_loads() -> None:
    targets = load_targets(RESOURCES / "targets.yml")
    assert targets[0].id == "uk_goods_to_cn" and targets[0].origins == ["GB"] and targets[0].destinations == ["CN"]
    assert all(t.origins == [] for t in targets[1:])  # the France procurement centre's views: any origin


def test_the_commented_all_but_gb_example_in_targets_yml_loads(tmp_path) -> None:
    lines = (RESOURCES / "targets.yml").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  # - id: exports_outside_the_uk"))
    uncommented = [line.replace("  # ", "  ", 1) for line in lines[start:]]
    path = tmp_path / "targets.yml"
    path.write_text("\n".join(["targets:", *uncommented]) + "\n", encoding="utf-8")
    (example,) = load_targets(path)
    assert (example.origins, example.destinations, example.destination_exclude) == ([], [], ["GB"])
