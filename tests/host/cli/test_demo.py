"""``spasmwatch demo``: the simulated wearable through the pty, the pipeline and the store."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from host.cli import main
from host.cli.demo import compare_with_script, format_comparison
from host.evaluation.scoring import scored_truth
from host.simulator.scenario import TruthEvent, builtin_scenario
from host.storage import RecordingStore, store_path

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


def test_once_through_the_pty_records_the_scenario_and_finds_its_spasms(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
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
            "--data-dir",
            str(tmp_path),
            "--wearer",
            "alice",
            "--port",
            "0",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = records(out)  # every line is strict JSON
    kinds = [r["type"] for r in lines]
    (dashboard,) = (r for r in lines if r["type"] == "dashboard")
    assert dashboard["url"].startswith("http://127.0.0.1:")
    assert kinds[-3:] == ["summary", "demo_summary", "stored"]
    summary, result, stored = lines[-3:]
    episodes = [r for r in lines if r["type"] == "episode"]
    assert summary["episodes"] == len(episodes)
    assert summary["disconnects"] >= 2  # cable pulls at 50 and 100 s, maybe 150 s
    assert summary["gaps"] >= 2
    assert summary["items_dropped"] == 0
    (announced,) = (r for r in lines if r["type"] == "device_info")
    assert announced["session_id"] == summary["session_id"]
    statuses = [r for r in lines if r["type"] == "status"]
    assert len(statuses) >= 5
    assert all(isinstance(t["detector"], dict) for t in statuses if t["envelope_uv"])
    assert any(t["rms"] and t["frames_per_s"] > 0 for t in statuses)
    assert [t["samples"] for t in statuses] == sorted(t["samples"] for t in statuses)

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

    # Everything went into alice's store: the whole scenario, less the gaps.
    path = store_path("alice", tmp_path)
    assert stored["store"] == str(path)
    assert stored["kept"] is True
    with RecordingStore.open(path, readonly=True) as store:
        (session,) = store.list_sessions()
        assert session.id == summary["session_id"] == stored["session_id"]
        assert session.status == "stopped"
        gaps = store.gaps(session.id)
        missing = sum(g.n_samples for g in gaps)
        assert len(gaps) == summary["gaps"] == stored["gaps"]
        assert session.n_emg_samples == summary["samples"] == stored["samples"]
        assert missing == summary["missing_samples"] == stored["missing_samples"] > 0
        assert session.n_emg_samples + missing == round(QUICK.duration_s * session.sfreq)
        segment = store.read_emg(session.id)
        assert segment.n_missing == missing
        # Sample times follow the device (a sped-up run still spans the scenario's time).
        span_s = (segment.times_us()[-1] - segment.times_us()[0]) / 1e6
        assert span_s == pytest.approx(QUICK.duration_s, abs=1.0)

        kept = store.episodes(session_id=session.id)
        assert len(kept) == len(episodes) == stored["episodes"]
        assert sum(e.involuntary for e in kept) == stored["involuntary"] == summary["involuntary"]
        starts = sorted((e.start_sample / session.sfreq, e.kind, e.side) for e in kept)
        shown = sorted((e["start_s"], e["kind"], e["side"]) for e in episodes)
        for (t_kept, *what_kept), (t_shown, *what_shown) in zip(starts, shown, strict=True):
            assert t_kept == pytest.approx(t_shown, abs=2e-3)
            assert what_kept == what_shown


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_live_view_dashboard_and_temporary_store(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    seen: dict[str, Any] = {}

    def browse() -> None:
        # What a browser asks the demo's dashboard while the recording runs.
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and "device" not in seen:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/live", timeout=2) as r:
                    seen["live"] = json.load(r)
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/device", timeout=2) as r:
                    seen["device"] = json.load(r)
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    seen["page"] = r.read().decode()
            except OSError:
                time.sleep(0.1)

    browser = threading.Thread(target=browse)
    browser.start()
    status = main(["demo", "--duration", "3", "--speed", "20", "--clean", "--port", str(port)])
    browser.join(timeout=30.0)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "live" in seen, seen
    assert "device" in seen, seen
    assert "spasmwatch" in seen["page"]
    lines = out.splitlines()
    assert (
        f"dashboard: open http://127.0.0.1:{port}/ (live view, timeline, episodes, summary)"
        in lines
    )
    (where,) = (line for line in lines if line.startswith("recording session "))
    path = Path(where.split(" into ", 1)[1])
    assert path.name.endswith(".sqlite3")
    ticks = [line for line in lines if " fr/s " in line]
    assert len(ticks) >= 2
    assert any("RMS uV  EMG L" in t and "clean " in t for t in ticks)
    # 60 s of the quick scenario: the tonic spasm of 5-13 s is found and narrated.
    assert any(line.startswith("episode ") and "INVOLUNTARY" in line for line in lines)
    assert any("INVOLUNTARY tonic contraction, left" in line for line in lines)
    assert any(line.startswith("detector vs script (quick,") for line in lines)
    (stored,) = (line for line in lines if line.startswith("stored: session "))
    n_samples = int(stored.split("): ", 1)[1].split(" samples", 1)[0])
    assert n_samples > 30 * 1000  # at least half of the minute, at 1000 Hz
    assert "removed now" in stored
    assert not path.parent.exists()  # the temporary store and the pty link are gone


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
