"""The benchmark corpus: fixed, valid, varied, and with well-separated spasms."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from host.errors import ConfigError
from host.evaluation.corpus import CorpusItem, benchmark_corpus, load_item
from host.evaluation.scoring import SCORED_KINDS, scored_truth
from host.simulator.scenario import loads_scenario

SIZES = ("full", "quick")
REST = ("lying", "sitting", "standing")


def digest(items: list[CorpusItem]) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(f"{item.name}|{item.sfreq}|{item.accel_sfreq}|{item.seed}|{item.tags}\n".encode())
        h.update(item.scenario_toml.encode())
    return h.hexdigest()


def test_the_same_corpus_in_a_fresh_interpreter() -> None:
    code = (
        "from host.evaluation.corpus import benchmark_corpus; import hashlib\n"
        "for size in ('full', 'quick'):\n"
        "    h = hashlib.sha256()\n"
        "    for i in benchmark_corpus(size):\n"
        "        h.update(f'{i.name}|{i.sfreq}|{i.accel_sfreq}|{i.seed}|{i.tags}\\n'.encode())\n"
        "        h.update(i.scenario_toml.encode())\n"
        "    print(h.hexdigest())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={
            **os.environ,
            "PYTHONHASHSEED": "12345",
        },  # a different str hash: no set-order dependence
    )
    assert result.stdout.split() == [digest(benchmark_corpus(s)) for s in SIZES]


@pytest.mark.parametrize("size", SIZES)
def test_items_are_repeatable_unique_and_valid(size: str) -> None:
    items = benchmark_corpus(size)
    again = benchmark_corpus(size)
    assert items == again
    assert items is not again  # a fresh list: callers may change it
    names = [i.name for i in items]
    assert len(set(names)) == len(names)
    for item in items:
        assert loads_scenario(item.scenario_toml) == item.scenario
        assert item.scenario.name == item.name
        assert item.tags.mains_hz == item.scenario.mains_hz
        assert item.accel_sfreq in (50.0, 100.0)
        assert item.sfreq in (500.0, 1000.0, 2000.0)


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ConfigError, match="'size'.*'full', 'quick'.*'huge'"):
        benchmark_corpus("huge")


@pytest.mark.parametrize("size", SIZES)
def test_every_kind_and_both_mains_are_present(size: str) -> None:
    items = benchmark_corpus(size)
    kinds = Counter(e.kind for i in items for e in i.scenario.episodes)
    assert set(SCORED_KINDS) <= set(kinds)
    assert kinds["twitch"] > 0
    assert kinds["voluntary"] > 0
    assert {i.tags.mains_hz for i in items} == {50.0, 60.0}
    assert {i.tags.style for i in items} == {"day", "night"}


def test_full_corpus_varies_rates_noise_and_electrodes() -> None:
    items = benchmark_corpus("full")
    assert {i.sfreq for i in items} == {500.0, 1000.0, 2000.0}
    assert Counter(i.sfreq for i in items).most_common(1)[0][0] == 1000.0
    assert {i.accel_sfreq for i in items} == {50.0, 100.0}
    assert {i.tags.snr for i in items} == {"high", "medium", "low"}
    assert {i.tags.electrode for i in items} == {"good", "pops", "lift_off", "motion"}
    noise = {
        snr: [i.scenario.wearer.noise_uv for i in items if i.tags.snr == snr]
        for snr in ("high", "medium", "low")
    }
    assert max(noise["high"]) < min(noise["medium"]) <= max(noise["medium"]) < min(noise["low"])
    pops = [i.scenario.wearer.electrode_pop_per_h for i in items if i.tags.electrode == "pops"]
    good = [i.scenario.wearer.electrode_pop_per_h for i in items if i.tags.electrode == "good"]
    assert min(pops) > max(good)
    for item in items:
        scripted = Counter(a.kind for a in item.scenario.artefacts)
        expected = {"pops": "electrode_pop", "lift_off": "lift_off", "motion": "motion"}
        if item.tags.electrode in expected:
            assert scripted[expected[item.tags.electrode]] > 0
        else:
            assert not scripted


def test_sizes_and_episode_counts() -> None:
    full = benchmark_corpus("full")
    assert 15 <= len(full) <= 25
    assert 8.0 <= sum(i.duration_s for i in full) / 3600.0 <= 10.0
    assert all(20 * 60 <= i.duration_s <= 40 * 60 for i in full)
    assert sum(len(scored_truth(i.truth())) for i in full) >= 120
    for item in full:
        per_30_min = len(scored_truth(item.truth())) / (item.duration_s / 1800.0)
        assert 4.0 <= per_30_min <= 10.0, item.name
    quick = benchmark_corpus("quick")
    assert 3 <= len(quick) <= 4
    assert 30 * 60 <= sum(i.duration_s for i in quick) <= 40 * 60


@pytest.mark.parametrize("size", SIZES)
def test_spasms_are_separate_and_well_inside_their_segment(size: str) -> None:
    for item in benchmark_corpus(size):
        scenario = item.scenario
        bounds = [*scenario.segment_onsets_s, scenario.duration_s]
        spasms = [e for e in scenario.episodes if e.kind in SCORED_KINDS]
        for a, b in zip(spasms, spasms[1:], strict=False):
            assert b.start_s - a.end_s >= 20.0 - 1e-9, (item.name, a, b)
        others = [e for e in scenario.episodes if e.kind not in SCORED_KINDS]
        for s in spasms:
            for o in others:
                assert o.end_s <= s.start_s - 10.0 + 1e-9 or o.start_s >= s.end_s + 10.0 - 1e-9
            k = int(np.searchsorted(bounds, s.start_s, side="right")) - 1
            segment = scenario.segments[k]
            assert s.start_s >= bounds[k] + 8.0 - 1e-9, (item.name, s)
            assert s.end_s <= bounds[k + 1] - 8.0 + 1e-9, (item.name, s)
            assert segment.activity in (*REST, "walking")


def test_spasm_parameters_stay_in_their_ranges() -> None:
    episodes = [e for i in benchmark_corpus("full") for e in i.scenario.episodes]
    spasms = [e for e in episodes if e.kind in SCORED_KINDS]
    ranges = {"tonic": (3, 40), "cramp": (10, 120), "clonic": (2, 10), "myoclonic": (1.5, 6)}
    for e in spasms:
        low, high = ranges[e.kind]
        assert low <= e.duration_s <= high, e
        assert 0.15 <= e.peak_mvc <= 0.8
        assert e.side in ("left", "right", "bilateral")
        if e.kind == "clonic":
            assert e.rate_hz is not None
            assert 4.0 <= e.rate_hz <= 7.0
        if e.kind == "myoclonic":
            assert e.rate_hz is not None
            assert 1.0 <= e.rate_hz <= 3.0
    assert {e.side for e in spasms} == {"left", "right", "bilateral"}
    assert all(e.peak_mvc <= 0.15 for e in episodes if e.kind == "twitch")
    items = benchmark_corpus("full")
    walking = 0
    for item in items:
        onsets = item.scenario.segment_onsets_s
        for e in item.scenario.episodes:
            if e.kind in SCORED_KINDS:
                k = int(np.searchsorted(onsets, e.start_s, side="right")) - 1
                walking += item.scenario.segments[k].activity == "walking"
    assert 0.05 * len(spasms) <= walking <= 0.3 * len(spasms)  # mostly at rest, some walking


def test_daily_life_activities_are_all_there() -> None:
    segments = [s for i in benchmark_corpus("full") for s in i.scenario.segments]
    activities = Counter(s.activity for s in segments)
    assert set(activities) == {
        "lying",
        "sitting",
        "standing",
        "walking",
        "lifting",
        "bending",
        "sit_to_stand",
        "turning_in_bed",
    }
    walks = [s for s in segments if s.activity == "walking"]
    assert all(s.cadence_hz is not None and 1.4 <= s.cadence_hz <= 2.1 for s in walks)
    assert all(s.duration_s >= 30.0 for s in walks)
    assert max(s.duration_s for s in walks) <= 300.0


def test_load_item_simulates_the_whole_recording(tiny_items: list[CorpusItem]) -> None:
    item = tiny_items[1]
    sim = load_item(item)
    n = round(item.duration_s * item.sfreq)
    assert sim.emg_v.shape == (2, n)
    assert sim.accel_g.shape == (3, round(item.duration_s * item.accel_sfreq))
    assert sim.duration_s == item.duration_s
    assert sim.truth == item.truth()
    assert (sim.sfreq, sim.accel_sfreq, sim.name) == (1000.0, 100.0, "tiny-b")
    rms_uv = np.sqrt(np.mean(sim.emg_v**2, axis=1)) * 1e6
    assert np.all((rms_uv > 0.5) & (rms_uv < 500.0))
    again = load_item(item)
    np.testing.assert_array_equal(sim.emg_v, again.emg_v)
    np.testing.assert_array_equal(sim.accel_g, again.accel_g)
