"""Tests of host.analysis.result: AnalysisResult and the clinical summary, hand-built."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dsp.detector import Episode
from host.analysis import AnalysisResult, summarise

FS = 1000.0
START = dt.datetime(2024, 3, 5, 10, 50, 0, tzinfo=dt.UTC)


def episode(
    start_s: float,
    duration_s: float,
    *,
    kind: str = "tonic",
    side: str = "left",
    involuntary: bool = True,
    peak: float = 80.0,
    activity: str = "rest",
    activity_before: str = "still",
    posture_before: str = "upright",
    unit: str = "uV",
    median_freq_hz: float = 90.0,
) -> Episode:
    return Episode(
        start_sample=round(start_s * FS),
        end_sample=round((start_s + duration_s) * FS),
        sfreq=FS,
        side=side,
        involuntary=involuntary,
        kind=kind,
        activity=activity,
        confidence=0.9,
        unit=unit,
        peak=peak,
        mean=peak / 2,
        area=peak * duration_s / 2,
        peak_by_channel=(peak, peak / 10),
        median_freq_hz=median_freq_hz,
        posture_before=posture_before,
        activity_before=activity_before,
        quality_flags=(),
        reasons=("sustained (+1.0)",),
        features={"duty": 0.9, "rise_s": float("nan")},
    )


@pytest.fixture
def result() -> AnalysisResult:
    episodes = [
        episode(100.0, 6.0, side="left", peak=60.0),  # 10:51:40
        episode(
            200.0, 3.0, kind="voluntary", involuntary=False, side="bilateral", activity="walking"
        ),
        episode(700.0, 4.0, kind="clonic", side="right", peak=120.0, activity_before="walking"),
        episode(2000.0, 2.0, kind="voluntary", involuntary=False, activity="posture change"),
        episode(
            3000.0,
            10.0,
            kind="myoclonic",
            side="bilateral",
            peak=float("nan"),
            posture_before="supine",
            median_freq_hz=float("nan"),
        ),  # 11:40:00
        episode(6000.0, 2.0, side="left", peak=90.0),  # 12:30:00
    ]
    twitches = [episode(50.0, 0.3, kind="twitch"), episode(4000.0, 0.2, kind="twitch")]
    return AnalysisResult(
        episodes=episodes,
        twitches=twitches,
        duration_s=7200.0,
        sfreq=FS,
        start=START,
        source="night.edf",
        used_accelerometer=True,
        mains_hz=50.0,
        channels=("EMG L (left)", "EMG R (right)"),
        warnings=("a note",),
    )


def test_counts(result: AnalysisResult) -> None:
    s = summarise(result)
    assert s["n_episodes"] == 6
    assert s["n_involuntary"] == 4
    assert s["n_voluntary"] == 2
    assert s["n_twitches"] == 2
    assert s["involuntary_per_hour"] == pytest.approx(2.0)  # 4 in 2 h


def test_counts_by_kind_side_and_context(result: AnalysisResult) -> None:
    s = summarise(result)
    assert s["by_kind"] == {"tonic": 2, "clonic": 1, "myoclonic": 1}
    assert s["by_side"] == {"left": 2, "right": 1, "bilateral": 1}
    assert s["by_activity_before"] == {"still": 3, "walking": 1}
    assert s["by_posture_before"] == {"upright": 3, "supine": 1}
    assert s["voluntary_by_activity"] == {"walking": 1, "posture change": 1}


def test_counts_by_utc_hour(result: AnalysisResult) -> None:
    s = summarise(result)
    assert s["by_hour_utc"] == {"10": 1, "11": 2, "12": 1}
    assert list(s["by_hour_utc"]) == sorted(s["by_hour_utc"])


def test_durations_and_peaks(result: AnalysisResult) -> None:
    s = summarise(result)
    assert s["involuntary_duration_s"] == {"total": 22.0, "median": 5.0, "max": 10.0}
    # The NaN peak is left out.
    assert s["involuntary_peak"] == {"total": 270.0, "median": 90.0, "max": 120.0, "unit": "uV"}


def test_description_of_the_recording(result: AnalysisResult) -> None:
    s = summarise(result)
    assert s["source"] == "night.edf"
    assert s["start_utc"] == "2024-03-05T10:50:00.000+00:00"
    assert s["duration_s"] == 7200.0
    assert s["sfreq"] == FS
    assert s["channels"] == ["EMG L (left)", "EMG R (right)"]
    assert s["used_accelerometer"] is True
    assert s["mains_hz"] == 50.0
    assert s["warnings"] == ["a note"]


def test_involuntary_property(result: AnalysisResult) -> None:
    assert [e.start_s for e in result.involuntary] == [100.0, 700.0, 3000.0, 6000.0]


def test_utc_times(result: AnalysisResult) -> None:
    assert result.utc(0.0) == "2024-03-05T10:50:00.000+00:00"
    assert result.utc(100.25) == "2024-03-05T10:51:40.250+00:00"
    d = result.episode_dict(result.episodes[0])
    assert d["start_utc"] == "2024-03-05T10:51:40.000+00:00"
    assert d["end_utc"] == "2024-03-05T10:51:46.000+00:00"


def test_to_dict_is_strict_json(result: AnalysisResult) -> None:
    data = result.to_dict()
    assert set(data) == {"episodes", "twitches", "summary"}
    text = json.dumps(data, allow_nan=False)  # NaN must have become null
    back = json.loads(text)
    assert len(back["episodes"]) == 6
    assert len(back["twitches"]) == 2
    nan_episode = back["episodes"][4]
    assert nan_episode["peak"] is None
    assert nan_episode["median_freq_hz"] is None
    assert back["episodes"][0]["features"]["rise_s"] is None
    for ep in back["episodes"]:
        for name in ("start_s", "end_s", "side", "involuntary", "kind", "confidence", "peak"):
            assert name in ep
        assert ep["start_utc"] is not None
    assert back["summary"] == json.loads(json.dumps(summarise(result), allow_nan=False))


def test_without_a_start_time_there_are_no_clock_times(result: AnalysisResult) -> None:
    plain = AnalysisResult(
        episodes=result.episodes, twitches=result.twitches, duration_s=7200.0, sfreq=FS
    )
    s = summarise(plain)
    assert s["start_utc"] is None
    assert s["by_hour_utc"] == {}
    assert s["n_involuntary"] == 4
    assert plain.utc(10.0) is None
    assert plain.episode_dict(plain.episodes[0])["start_utc"] is None


def test_empty_result() -> None:
    empty = AnalysisResult(episodes=[], twitches=[], duration_s=3600.0, sfreq=FS, start=START)
    s = summarise(empty)
    assert s["n_episodes"] == s["n_involuntary"] == s["n_twitches"] == 0
    assert s["involuntary_per_hour"] == 0.0
    assert s["involuntary_duration_s"] == {"total": 0.0, "median": None, "max": None}
    assert s["involuntary_peak"]["unit"] == "uV"
    assert s["by_kind"] == {}
    assert s["by_hour_utc"] == {}


def test_zero_duration_has_no_rate() -> None:
    s = summarise(AnalysisResult(episodes=[], twitches=[], duration_s=0.0, sfreq=FS))
    assert s["involuntary_per_hour"] is None


def test_unit_follows_the_episodes() -> None:
    r = AnalysisResult(
        episodes=[episode(10.0, 5.0, unit="%MVC", peak=40.0)],
        twitches=[],
        duration_s=60.0,
        sfreq=FS,
    )
    assert summarise(r)["involuntary_peak"]["unit"] == "%MVC"
    only_voluntary = AnalysisResult(
        episodes=[episode(10.0, 5.0, unit="%MVC", involuntary=False, kind="voluntary")],
        twitches=[],
        duration_s=60.0,
        sfreq=FS,
    )
    assert summarise(only_voluntary)["involuntary_peak"]["unit"] == "%MVC"
