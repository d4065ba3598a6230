"""Scenario files: loading, validation errors, truth labels and their TSV round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.errors import ConfigError
from host.simulator import (
    ACTIVITIES,
    ARTEFACT_KINDS,
    EPISODE_KINDS,
    Scenario,
    ScenarioError,
    Segment,
    TruthEvent,
    Wearer,
    builtin_scenario,
    list_builtin_scenarios,
    load_scenario,
    loads_scenario,
    read_truth,
    write_truth,
)

MINIMAL = """
name = "mini"
[wearer]
seed = 3
[[segment]]
activity = "lying"
duration_s = 10.0
"""


def _with(extra: str) -> str:
    return MINIMAL + extra


def test_builtin_scenarios_load() -> None:
    names = list_builtin_scenarios()
    assert {"quick", "day", "night"} <= set(names)
    for name in names:
        scenario = builtin_scenario(name)
        assert scenario.name == name
        assert scenario.duration_s > 0
        assert scenario.mains_hz in (50.0, 60.0)


def test_quick_covers_every_activity_episode_and_artefact_kind() -> None:
    scenario = builtin_scenario("quick")
    assert 150.0 <= scenario.duration_s <= 240.0
    truth = scenario.truth()
    kinds = {e.kind for e in truth}
    assert set(ACTIVITIES) <= kinds
    assert set(EPISODE_KINDS) <= kinds
    assert set(ARTEFACT_KINDS) <= kinds


def test_day_and_night_are_plausible() -> None:
    day = builtin_scenario("day")
    assert day.duration_s == pytest.approx(24 * 3600.0)
    spasms = [e for e in day.episodes if e.involuntary and e.kind != "twitch"]
    assert 3 <= len(spasms) <= 20
    night = builtin_scenario("night")
    assert 6 * 3600.0 <= night.duration_s <= 9 * 3600.0
    assert {s.activity for s in night.segments} <= {"lying", "turning_in_bed"}


def test_truth_is_sorted_and_tiles_the_recording() -> None:
    scenario = builtin_scenario("quick")
    truth = scenario.truth()
    onsets = [e.onset_s for e in truth]
    assert onsets == sorted(onsets)
    activities = [e for e in truth if e.category == "activity"]
    assert len(activities) == len(scenario.segments)
    assert sum(e.duration_s for e in activities) == pytest.approx(scenario.duration_s)
    for a, b in zip(activities[:-1], activities[1:], strict=True):
        assert a.offset_s == pytest.approx(b.onset_s)
    for event in truth:
        assert event.category in ("activity", "contraction", "artefact")
        assert event.side in ("left", "right", "bilateral", "none")
        assert 0.0 <= event.peak_mvc <= 1.0
        assert event.duration_s > 0
        assert event.offset_s <= scenario.duration_s + 1e-9
        if event.category != "contraction":
            assert event.peak_mvc == 0.0
            assert not event.involuntary
        else:
            assert event.involuntary == (event.kind != "voluntary")


def test_truth_depends_on_scenario_seed_only_through_random_artefacts() -> None:
    text = _with("[[segment]]\nactivity = 'walking'\nduration_s = 3600.0\n").replace(
        "seed = 3", "seed = 3\nelectrode_pop_per_h = 6.0\nmotion_artefact_per_h = 6.0"
    )
    a = loads_scenario(text).truth()
    assert a == loads_scenario(text).truth()
    b = loads_scenario(text.replace("seed = 3", "seed = 4")).truth()
    assert [e for e in a if e.category == "activity"] == [e for e in b if e.category == "activity"]
    assert [e for e in a if e.category == "artefact"] != [e for e in b if e.category == "artefact"]
    assert any(e.description.startswith("random") for e in a)


def test_truth_tsv_round_trip(tmp_path: Path) -> None:
    truth = builtin_scenario("quick").truth()
    path = tmp_path / "sub-01_task-quick_events.tsv"
    write_truth(truth, path)
    header = path.read_text().splitlines()[0].split("\t")
    assert header[:6] == ["onset", "duration", "trial_type", "side", "involuntary", "peak_mvc"]
    again = read_truth(path)
    assert sorted(again, key=lambda e: (e.onset_s, e.kind)) == sorted(
        truth, key=lambda e: (e.onset_s, e.kind)
    )


def test_read_truth_minimal_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.tsv"
    path.write_text("onset\tduration\ttrial_type\n1.5\t2.0\ttonic\n3.0\t1.0\twalking\n")
    events = read_truth(path)
    assert events[0] == TruthEvent(1.5, 2.0, "contraction", "tonic")
    assert events[1].category == "activity"


def test_truth_event_to_dict() -> None:
    event = TruthEvent(1.0, 2.0, "contraction", "tonic", "left", True, 0.4, "x")
    assert event.to_dict() == {
        "onset_s": 1.0,
        "duration_s": 2.0,
        "category": "contraction",
        "kind": "tonic",
        "side": "left",
        "involuntary": True,
        "peak_mvc": 0.4,
        "description": "x",
    }


def test_scenario_error_is_a_value_error() -> None:
    assert issubclass(ScenarioError, ValueError)
    assert issubclass(ScenarioError, ConfigError)


def test_unknown_activity_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace('"lying"', '"jogging"'))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message
    assert "segment[0].activity" in message
    assert "'jogging'" in message
    for activity in ACTIVITIES:
        assert repr(activity) in message


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (MINIMAL.replace("10.0", "-5.0"), "segment[0].duration_s", "(0"),
        (MINIMAL.replace("10.0", '"ten"'), "segment[0].duration_s", "a number"),
        (MINIMAL.replace("seed = 3", "seed = 3\nmains_hz = 55.0"), "wearer.mains_hz", "50 or 60"),
        (MINIMAL.replace("seed = 3", "seed = -1"), "wearer.seed", "non-negative"),
        (MINIMAL.replace("seed = 3", "seed = 3\nmvc_uv = 300"), "wearer.mvc_uv", "allowed keys"),
        (
            MINIMAL.replace("duration_s = 10.0", "duration_s = 10.0\ncadence_hz = 1.8"),
            "segment[0].cadence_hz",
            "walking",
        ),
        (
            MINIMAL.replace('activity = "lying"', 'activity = "lying"\nposture = "upside_down"'),
            "segment[0].posture",
            "supine",
        ),
        ("speed = 3\n" + MINIMAL, "speed", "top-level"),
        (MINIMAL + "speed = 3\n", "segment[0].speed", "allowed keys"),
        (
            MINIMAL.replace('[[segment]]\nactivity = "lying"\nduration_s = 10.0\n', ""),
            "segment",
            "at least one",
        ),
        (MINIMAL.replace('activity = "lying"\n', ""), "segment[0].activity", "required"),
        (
            MINIMAL + "[[segment]]\nactivity = 'bending'\nduration_s = 10.0\nrepetitions = 9\n",
            "segment[1].repetitions",
            "at most 5",
        ),
    ],
)
def test_segment_and_wearer_validation(text: str, key: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, source="test.toml")
    assert info.value.key == key
    assert info.value.source == "test.toml"
    assert fragment in str(info.value)


def _episode(**fields: object) -> str:
    values = {"start_s": 2.0, "kind": "tonic", "side": "left", "duration_s": 3.0, "peak_mvc": 0.5}
    values.update(fields)
    body = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in values.items())
    return "\n[[episode]]\n" + body.replace("True", "true").replace("False", "false") + "\n"


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        (_episode(kind="sneeze"), "episode[0].kind", "'tonic'"),
        (_episode(side="middle"), "episode[0].side", "'bilateral'"),
        (_episode(peak_mvc=1.5), "episode[0].peak_mvc", "(0, 1]"),
        (_episode(duration_s=0.0), "episode[0].duration_s", "(0"),
        (_episode(start_s=9.0), "episode[0].duration_s", "ending by the end"),
        (_episode(kind="twitch", duration_s=2.0), "episode[0].duration_s", "(0, 1]"),
        (_episode(rate_hz=5.0), "episode[0].rate_hz", "only clonic"),
        (_episode(kind="clonic", rate_hz=50.0), "episode[0].rate_hz", "[2, 10]"),
        (_episode() + _episode(start_s=4.0), "episode[1].start_s", "must not overlap"),
        (_episode(start_s=5.0) + _episode(start_s=1.0), "episode[1].start_s", "onset order"),
        (_episode(freeze="yes"), "episode[0].freeze", "true or false"),
        (_episode(trunk_deg=10.0), "episode[0].trunk_deg", "only voluntary"),
        (_episode(kind="voluntary", trunk_deg=80.0), "episode[0].trunk_deg", "[-30, 60]"),
        (_episode(kind="voluntary", trunk_deg="far"), "episode[0].trunk_deg", "a number"),
        ("\n[[artefact]]\nstart_s = 1.0\nkind = 'static'\n", "artefact[0].kind", "electrode_pop"),
        ("\n[[artefact]]\nstart_s = 11.0\nkind = 'motion'\n", "artefact[0].start_s", "[0, 10]"),
    ],
)
def test_episode_and_artefact_validation(extra: str, key: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(_with(extra))
    assert info.value.key == key
    assert fragment in str(info.value)


def test_valid_episode_parses() -> None:
    scenario = loads_scenario(_with(_episode(kind="clonic", rate_hz=6.0, freeze=False)))
    (episode,) = scenario.episodes
    assert episode.rate_hz == 6.0
    assert not episode.freezes
    assert episode.involuntary


def test_voluntary_trunk_movement_parses() -> None:
    scenario = loads_scenario(_with(_episode(kind="voluntary", trunk_deg=-15.0)))
    (episode,) = scenario.episodes
    assert episode.trunk_deg == -15.0
    assert not episode.involuntary
    assert loads_scenario(_with(_episode(kind="voluntary"))).episodes[0].trunk_deg == 0.0


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[wearer\nseed = 1\n")
    with pytest.raises(ScenarioError, match="broken.toml"):
        load_scenario(path)


def test_missing_file_raises_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="readable"):
        load_scenario(tmp_path / "nope.toml")


def test_unknown_builtin() -> None:
    with pytest.raises(ScenarioError, match="'quick'"):
        builtin_scenario("marathon")


def test_python_construction_is_validated() -> None:
    with pytest.raises(ScenarioError, match=r"segment\[0\]\.duration_s"):
        Scenario("x", Wearer(), (Segment("sitting", 0.0),))
    scenario = Scenario("x", Wearer(mains_hz=60.0), (Segment("sitting", 5.0),))
    assert scenario.mains_hz == 60.0
    assert scenario.duration_s == 5.0
