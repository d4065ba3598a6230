"""``spasmwatch demo``: the simulated wearable through the pty, the stream and the detector."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from host.cli import main
from host.cli.demo import compare_with_script, format_comparison
from host.evaluation.scoring import scored_truth
from host.simulator.scenario import TruthEvent, builtin_scenario

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")

QUICK = builtin_scenario("quick")
#: Simulated seconds between cable pulls in the end-to-end run (the first one falls inside
#: a scripted spasm of the quick scenario, see below).
UNPLUG_EVERY_S = 50.0


def _no_nan(token: str) -> float:
    raise AssertionError(f"non-JSON number {token} in the output")


def records(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line, parse_constant=_no_nan) for line in stdout.splitlines()]


def overlapping(episodes: list[dict[str, Any]], event: TruthEvent) -> list[dict[str, Any]]:
    """Involuntary episodes (twitches aside) that overlap a scripted one."""
    return [
        e
        for e in episodes
        if e["involuntary"]
        and e["kind"] != "twitch"
        and e["start_s"] < event.offset_s
        and e["end_s"] > event.onset_s
    ]


def test_once_through_the_pty_finds_the_scripted_spasms_across_cable_pulls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(
        [
            "demo",
            "--once",
            "--json",
            "--speed",
            "20",
            "--drop",
            "0",
            "--corrupt",
            "0",
            "--unplug-every",
            str(UNPLUG_EVERY_S),
            "--unplug-for",
            "1",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = records(out)  # every line is strict JSON
    kinds = [r["type"] for r in lines]
    assert kinds[-2:] == ["summary", "demo_summary"]
    summary, result = lines[-2], lines[-1]
    episodes = [r for r in lines if r["type"] == "episode"]
    assert summary["episodes"] == len(episodes)
    assert summary["reconnects"] >= 2  # cable pulls at 50 and 100 s, maybe 150 s
    assert summary["gaps"] >= summary["reconnects"]
    ticks = [r for r in lines if r["type"] == "tick"]
    assert all(isinstance(t["detector"], dict) for t in ticks if t["envelope_uv"])

    truth = scored_truth(QUICK.truth())
    assert len(truth) == 4
    found = [t for t in truth if any(e["side"] == t.side for e in overlapping(episodes, t))]
    assert len(found) >= 3
    # The first pull lands inside a spasm: it is still reported, on its side.
    (cut,) = (t for t in truth if t.onset_s < UNPLUG_EVERY_S < t.offset_s)
    assert any(e["side"] == cut.side for e in overlapping(episodes, cut))
    # The next scripted spasm is on the device's time line to within 0.5 s.
    later = min((t for t in truth if t.onset_s > cut.offset_s), key=lambda t: t.onset_s)
    (first, *_) = overlapping(episodes, later)
    assert abs(first["start_s"] - later.onset_s) < 0.5

    # The demo's own comparison agrees.
    assert result["streamed_s"] == pytest.approx(QUICK.duration_s, abs=0.5)
    assert len(result["scripted"]) == 4
    assert result["side_ok"] >= 3
    assert result["found"] >= result["side_ok"]


def detection(event: TruthEvent, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "start_s": event.onset_s + 0.2,
        "end_s": event.offset_s - 0.2,
        "side": event.side,
        "involuntary": True,
        "kind": "tonic",
        "confidence": 0.9,
    }
    return record | changes


def test_comparison_counts_found_spasms_sides_and_other_detections() -> None:
    truth = scored_truth(QUICK.truth())
    wrong = {"left": "right", "right": "left", "bilateral": "left"}
    episodes = [detection(truth[0]), detection(truth[1], side=wrong[truth[1].side])]
    episodes += [
        detection(truth[2], involuntary=False, kind="voluntary"),  # does not compete
        detection(truth[3], kind="twitch"),  # neither
        {**detection(truth[0]), "start_s": truth[0].offset_s + 1.0, "end_s": truth[0].offset_s + 2},
    ]
    result = compare_with_script(QUICK, episodes, QUICK.duration_s)
    assert [s["detected"] is not None for s in result["scripted"]] == [True, True, False, False]
    assert [s["side_ok"] for s in result["scripted"]] == [True, False, False, False]
    assert (result["found"], result["side_ok"]) == (2, 1)
    assert [d["start_s"] for d in result["other"]] == [truth[0].offset_s + 1.0]
    json.dumps(result, allow_nan=False)

    text = format_comparison(QUICK, result)
    assert "found 2 of 4 scripted involuntary episodes (1 on the right side)" in text
    assert text.count("MISSED") == 2
    assert f"(side: {wrong[truth[1].side]})" in text


def test_comparison_follows_the_looped_script_and_leaves_out_what_has_not_ended() -> None:
    truth = scored_truth(QUICK.truth())
    period = QUICK.duration_s
    streamed = period + truth[1].offset_s + 0.1  # a second lap, stopped after its 2nd spasm
    second_lap = [
        {**detection(t), "start_s": t.onset_s + period, "end_s": t.offset_s + period}
        for t in truth[:2]
    ]
    result = compare_with_script(QUICK, second_lap, streamed)
    assert len(result["scripted"]) == len(truth) + 2
    onsets = [s["onset_s"] for s in result["scripted"] if s["detected"] is not None]
    assert onsets == [pytest.approx(t.onset_s + period) for t in truth[:2]]
    assert result["other"] == []
