"""Draw the spasm detector at work: docs/img/detector_examples.png and detector_timeline.png.

Run from the repository root with the project's virtual environment::

    .venv/bin/python docs/scripts/detector_figure.py

The recordings are those of the benchmark corpus (``benchmark_corpus("full")``), simulated
and analysed in corpus order until every example is found (now the first two recordings), so
the figures are the same on every run (about a minute). Each recording is fed to
:class:`host.analysis.engine.EpisodeAnalyzer` exactly as ``host.analysis.analyze_arrays``
feeds it, recording on the way the envelope the detector is given and its onset thresholds
(``--check`` also runs ``analyze_arrays`` and stops if the episodes differ). Trunk motion is
summarised by :class:`dsp.motion.MotionTracker`, as inside the detector. Detections are
scored as in the benchmark (:func:`host.evaluation.scoring.match_episodes`).

``detector_examples.png`` shows six chosen windows: a tonic and a clonic spasm at rest that
were found, a spasm that froze walking that was found, a lifting or bending set correctly
called voluntary, a voluntary contraction with the trunk still that was called a spasm (the
commonest false alarm) and a missed spasm. ``detector_timeline.png`` shows the whole first
``office`` recording. The script prints what it picked: recording, window, truth,
detections and the reasons of each decision.
"""

from __future__ import annotations

import argparse
import io
import textwrap
import time
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from numpy.typing import NDArray
from PIL import Image

from dsp.detector import Episode, SpasmDetector
from dsp.motion import ACTIVITIES, MotionFrames, MotionTracker
from host.analysis.engine import EpisodeAnalyzer
from host.analysis.run import BLOCK_S as ANALYSIS_BLOCK_S
from host.analysis.run import analyze_arrays
from host.evaluation.corpus import CorpusItem, Simulated, benchmark_corpus, load_item
from host.evaluation.scoring import (
    DetectionRecord,
    match_episodes,
    scored_truth,
)
from host.simulator.scenario import TruthEvent

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
SIDES = ("left", "right")
#: Step in which the onset threshold is read, s.
PROBE_S = 0.25
#: Rate at which the detector's envelope is kept for plotting, Hz.
ENV_RATE = 100.0
#: Voluntary contractions made with the trunk still (scripted in the corpus).
STILL_EFFORTS = ("bracing", "reaching for a shelf", "back extension on request")
#: Length of an example window, s, and the most it is stretched to show a long event.
WINDOW_S = 25.0
MAX_WINDOW_S = 30.0
DPI = 150

COLOUR_LEFT = "#1f4e79"
COLOUR_RIGHT = "#b9770e"
COLOUR_INVOLUNTARY = "#c0392b"
COLOUR_VOLUNTARY = "#2e86c1"
COLOUR_TWITCH = "0.45"
SHADE_SPASM = "#f5b7b1"
SHADE_VOLUNTARY = "#abebc6"
SHADE_TWITCH = "0.85"
ACTIVITY_COLOURS = {
    "sitting": "#e5e8e8",
    "standing": "#d5dbdb",
    "lying": "#d6eaf8",
    "walking": "#f9e79f",
    "lifting": "#f5cba7",
    "bending": "#fad7a0",
    "sit_to_stand": "#d7bde2",
    "turning_in_bed": "#a9cce3",
}
TRACKER_COLOURS = {
    "unknown": "white",
    "still": "#f2f3f4",
    "moving": "#f0b27a",
    "walking": "#f7dc6f",
}


# --------------------------------------------------------------------------- analysis


@dataclass
class Run:
    """One analysed recording with what the detector saw."""

    item: CorpusItem
    sim: Simulated
    episodes: list[Episode]
    twitches: list[Episode]
    env_t: NDArray[np.float64]
    env_uv: NDArray[np.float64]
    thr_t: NDArray[np.float64]
    thr_uv: NDArray[np.float64]
    motion: MotionFrames
    analyse_s: float

    @property
    def name(self) -> str:
        """Recording name."""
        return self.item.name

    def truth_contractions(self) -> list[TruthEvent]:
        """Every truth contraction (spasms, twitches, voluntary efforts), by onset."""
        return sorted(
            (e for e in self.sim.truth if e.category == "contraction"), key=lambda e: e.onset_s
        )

    def truth_activities(self) -> list[TruthEvent]:
        """The truth activity segments, by onset."""
        return sorted(
            (e for e in self.sim.truth if e.category == "activity"), key=lambda e: e.onset_s
        )

    def score(self) -> tuple[list[tuple[TruthEvent, Episode]], list[TruthEvent], list[Episode]]:
        """Match involuntary detections to scored truth as the benchmark does.

        Returns matched (truth, episode) pairs, missed truth and false alarms.
        """
        spasms = [e for e in self.episodes if e.involuntary]
        records = [DetectionRecord.from_detection(e) for e in spasms]
        matches, missed, unmatched = match_episodes(scored_truth(self.sim.truth), records)
        by_record = {id(r): e for r, e in zip(records, spasms, strict=True)}
        pairs = [(m.truth, by_record[id(m.detection)]) for m in matches]
        false_alarms = [by_record[id(r)] for r in unmatched]
        return pairs, missed, false_alarms


def analyse(item: CorpusItem, sim: Simulated) -> Run:
    """Run the detector over a simulated recording, recording its envelope and thresholds.

    The recording is fed exactly as :func:`host.analysis.analyze_arrays` feeds it (same
    blocks, accelerometer first), so the episodes are the same. Every block the detector is
    given is also run through a copy of it in :data:`PROBE_S` steps, only to read its onset
    threshold finely (the copy's episodes are dropped).
    """
    t_start = time.perf_counter()
    analyzer = EpisodeAnalyzer(sim.sfreq, 2, sides=SIDES, accel_sfreq=sim.accel_sfreq)
    detector = analyzer.detector
    step = max(round(sim.sfreq / ENV_RATE), 1)
    probe = max(round(PROBE_S * sim.sfreq), 1)
    env_idx: list[NDArray[np.int64]] = []
    env_parts: list[NDArray[np.float64]] = []
    thr_idx: list[int] = []
    thr_parts: list[NDArray[np.float64]] = []
    process = detector.process

    def watch(
        envelope: NDArray[np.float64],
        cleaned: NDArray[np.float64],
        usable: NDArray[np.bool_] | None = None,
        artefact: NDArray[np.bool_] | None = None,
    ) -> list[Episode]:
        """Keep every ``step``-th envelope sample and the onset threshold, then process."""
        first = detector.n_samples
        n = envelope.shape[1]
        idx = np.arange(first + (-first) % step, first + n, step)
        env_idx.append(idx)
        env_parts.append(envelope[:, idx - first])
        copy = deepcopy(detector)
        for a in range(0, n, probe):
            b = min(a + probe, n)
            SpasmDetector.process(
                copy,
                envelope[:, a:b],
                cleaned[:, a:b],
                None if usable is None else usable[:, a:b],
                None if artefact is None else artefact[:, a:b],
            )
            thr_idx.append(first + b)
            thr_parts.append(copy.state.on_threshold_v)
        return process(envelope, cleaned, usable, artefact)

    detector.process = watch  # type: ignore[method-assign]
    episodes: list[Episode] = []
    block = round(ANALYSIS_BLOCK_S * sim.sfreq)
    n = sim.emg_v.shape[1]
    for pos in range(0, n, block):
        stop = min(pos + block, n)
        a0 = round(pos / sim.sfreq * sim.accel_sfreq)
        a1 = sim.accel_g.shape[1] if stop == n else round(stop / sim.sfreq * sim.accel_sfreq)
        acc = sim.accel_g[:, a0:a1]
        if acc.shape[1]:
            episodes.extend(analyzer.feed_accel(acc))
        episodes.extend(analyzer.feed_emg(sim.emg_v[:, pos:stop]))
    episodes.extend(analyzer.finish())
    episodes.sort(key=lambda e: (e.start_sample, e.end_sample))
    # Episodes are timed back by the envelope's delay (half the RMS window): so is the plot.
    delay = round(analyzer.chain.rms.window_s / 2.0 * sim.sfreq)
    env_t = (np.concatenate(env_idx) - delay) / sim.sfreq
    env_uv = np.concatenate(env_parts, axis=1) * 1e6
    env_uv[env_uv <= 0] = np.nan  # gaps and pre-roll are fed as zeros
    thr_uv = np.stack(thr_parts, axis=1) * 1e6
    thr_uv[~np.isfinite(thr_uv)] = np.nan  # infinite while the baseline is learnt
    tracker = MotionTracker(sim.accel_sfreq)
    motion = MotionFrames.concatenate([tracker.process(sim.accel_g), tracker.flush()])
    return Run(
        item=item,
        sim=sim,
        episodes=[e for e in episodes if e.kind != "twitch"],
        twitches=[e for e in episodes if e.kind == "twitch"],
        env_t=env_t,
        env_uv=env_uv,
        thr_t=(np.asarray(thr_idx, dtype=np.float64) - delay) / sim.sfreq,
        thr_uv=thr_uv,
        motion=motion,
        analyse_s=time.perf_counter() - t_start,
    )


# --------------------------------------------------------------------------- picking


@dataclass(frozen=True)
class Pick:
    """One example window."""

    key: str
    title: str
    run: Run
    t0: float
    t1: float
    truth: TruthEvent
    detection: Episode | None


def _overlapping(episodes: Sequence[Episode], t0: float, t1: float) -> list[Episode]:
    return [e for e in episodes if e.start_s < t1 and e.end_s > t0]


def _most_overlap(episodes: Sequence[Episode], t0: float, t1: float) -> Episode | None:
    hits = _overlapping(episodes, t0, t1)
    if not hits:
        return None
    return max(hits, key=lambda e: min(e.end_s, t1) - max(e.start_s, t0))


def _around(event: TruthEvent, before_s: float) -> tuple[float, float]:
    """Return a window of ``WINDOW_S`` (longer for a longer event, at most ``MAX_WINDOW_S``)."""
    t0 = max(event.onset_s - before_s, 0.0)
    return t0, min(max(t0 + WINDOW_S, event.offset_s + 6.0), t0 + MAX_WINDOW_S)


def _found_at_rest(kind: str) -> Callable[[Run], tuple[TruthEvent, Episode | None] | None]:
    def pick(run: Run) -> tuple[TruthEvent, Episode | None] | None:
        for truth, det in run.score()[0]:
            if truth.kind == kind and "at rest" in truth.description and truth.duration_s <= 15:
                return truth, det
        return None

    return pick


def _found_freeze(run: Run) -> tuple[TruthEvent, Episode | None] | None:
    for truth, det in run.score()[0]:
        if "while walking" in truth.description and any(
            r.startswith("walking stopped") for r in det.reasons
        ):
            return truth, det
    return None


def _voluntary_set(run: Run) -> tuple[TruthEvent, Episode | None] | None:
    for seg in run.truth_activities():
        if seg.kind not in ("lifting", "bending"):
            continue
        hits = _overlapping(run.episodes, seg.onset_s, seg.offset_s)
        if hits and not any(e.involuntary for e in hits):
            long = [e for e in hits if e.duration_s >= 2.0]
            return seg, (long or hits)[0]
    return None


def _still_effort_alarm(run: Run) -> tuple[TruthEvent, Episode | None] | None:
    _, _, false_alarms = run.score()
    for truth in run.truth_contractions():
        if truth.involuntary or truth.description not in STILL_EFFORTS:
            continue
        det = _most_overlap(false_alarms, truth.onset_s, truth.offset_s)
        if det is not None:
            return truth, det
    return None


def _missed(run: Run) -> tuple[TruthEvent, Episode | None] | None:
    missed = run.score()[1]
    if not missed:
        return None
    truth = missed[0]
    # The decision that came closest to calling it involuntary.
    hits = _overlapping(run.episodes, truth.onset_s, truth.offset_s)
    closest = max(hits, key=lambda e: float(e.features.get("log_odds", -np.inf)), default=None)
    return truth, closest


#: The examples, in the order drawn: key, title, picker, seconds shown before the truth.
EXAMPLES: tuple[
    tuple[str, str, Callable[[Run], tuple[TruthEvent, Episode | None] | None], float], ...
] = (
    ("tonic", "tonic spasm at rest: found", _found_at_rest("tonic"), 8.0),
    ("clonic", "clonic spasm at rest: found", _found_at_rest("clonic"), 8.0),
    ("freeze", "spasm that stops walking: found", _found_freeze, 14.0),
    ("lifting", "lifting/bending set: correctly voluntary", _voluntary_set, 4.0),
    ("effort", "voluntary effort, trunk still: false alarm", _still_effort_alarm, 10.0),
    ("missed", "spasm missed (text: the decision closest to involuntary)", _missed, 10.0),
)


def _check(run: Run) -> None:
    """Stop unless ``analyze_arrays`` finds the same episodes as :func:`analyse`."""
    sim = run.sim
    result = analyze_arrays(sim.emg_v, sim.sfreq, accel_g=sim.accel_g, accel_sfreq=sim.accel_sfreq)
    for mine, theirs, what in (
        (run.episodes, result.episodes, "episodes"),
        (run.twitches, result.twitches, "twitches"),
    ):
        if [e.to_dict() for e in mine] != [e.to_dict() for e in theirs]:
            raise SystemExit(f"{run.name}: {what} differ from analyze_arrays")
    print(f"{run.name}: same episodes as analyze_arrays")


def pick_examples(max_items: int, *, check: bool = False) -> tuple[list[Pick], list[Run]]:
    """Analyse corpus items in order until every example is found; return picks and runs."""
    items = benchmark_corpus("full")[:max_items]
    picks: dict[str, Pick] = {}
    runs: list[Run] = []
    for item in items:
        t_start = time.perf_counter()
        sim = load_item(item)
        sim_s = time.perf_counter() - t_start
        run = analyse(item, sim)
        runs.append(run)
        print(
            f"{item.name}: simulated in {sim_s:.0f} s, analysed in {run.analyse_s:.0f} s, "
            f"{len(run.episodes)} episodes"
        )
        if check:
            _check(run)
        for key, title, picker, before_s in EXAMPLES:
            if key in picks:
                continue
            found = picker(run)
            if found is None:
                continue
            truth, det = found
            t0, t1 = _around(truth, before_s)
            picks[key] = Pick(key, title, run, t0, t1, truth, det)
        if len(picks) == len(EXAMPLES):
            break
    missing = [key for key, *_ in EXAMPLES if key not in picks]
    if missing:
        raise SystemExit(f"no example found for {missing} in the first {max_items} recordings")
    return [picks[key] for key, *_ in EXAMPLES], runs


# --------------------------------------------------------------------------- drawing


def _describe(e: Episode) -> str:
    verdict = "INVOLUNTARY" if e.involuntary else "voluntary"
    kind = f" {e.kind}" if e.involuntary else ""
    log_odds = e.features.get("log_odds", float("nan"))
    return (
        f"{e.start_s:.1f}-{e.end_s:.1f} s: {verdict}{kind} ({e.side}, {e.activity}), "
        f"confidence {e.confidence:.2f}, log-odds {log_odds:+.1f}"
    )


def _truth_text(ev: TruthEvent) -> str:
    span = f"{ev.onset_s:.1f}-{ev.offset_s:.1f} s"
    if ev.category == "activity":
        return f"{ev.kind.replace('_', ' ')} ({ev.description}), {span}"
    if ev.involuntary:
        return f"{ev.description} ({ev.side}), {span}"
    return f"voluntary contraction, {ev.description} ({ev.side}), {span}"


def _save(fig: Figure, path: Path) -> None:
    """Save as a 256-colour PNG: the figures are flat colours and lines, a third the size."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=256).save(path, optimize=True)


def _shade_truth(ax: Axes, run: Run, t0: float, t1: float) -> None:
    for ev in run.truth_contractions():
        if ev.offset_s <= t0 or ev.onset_s >= t1:
            continue
        if ev.kind == "twitch":
            colour = SHADE_TWITCH
        elif ev.involuntary:
            colour = SHADE_SPASM
        else:
            colour = SHADE_VOLUNTARY
        ax.axvspan(max(ev.onset_s, t0), min(ev.offset_s, t1), color=colour, lw=0, zorder=0)


def _detection_bars(ax: Axes, run: Run, t0: float, t1: float, y: float, h: float) -> None:
    """Bars in axes-fraction y for every detection in the window, labelled kind/confidence."""
    trans = ax.get_xaxis_transform()
    for e in _overlapping(run.episodes, t0, t1):
        a, b = max(e.start_s, t0), min(e.end_s, t1)
        colour = COLOUR_INVOLUNTARY if e.involuntary else COLOUR_VOLUNTARY
        ax.add_patch(Rectangle((a, y), b - a, h, transform=trans, color=colour, lw=0, zorder=5))
        label = f"{e.kind if e.involuntary else 'vol.'} {e.confidence:.2f}"
        if b - a >= 0.11 * (t1 - t0):
            ax.text(
                (a + b) / 2,
                y + h / 2,
                label,
                transform=trans,
                ha="center",
                va="center",
                fontsize=6,
                color="white",
                zorder=6,
                clip_on=True,
            )
    for e in _overlapping(run.twitches, t0, t1):
        ax.add_patch(
            Rectangle(
                (e.start_s, y), max(e.duration_s, 0.15), h, transform=trans, color=COLOUR_TWITCH
            )
        )


def _emg_axes(ax: Axes, run: Run, t0: float, t1: float) -> None:
    _shade_truth(ax, run, t0, t1)
    sel = (run.env_t >= t0) & (run.env_t <= t1)
    thr_sel = (run.thr_t >= t0) & (run.thr_t <= t1 + PROBE_S)
    for ch, (side, colour) in enumerate(zip(SIDES, (COLOUR_LEFT, COLOUR_RIGHT), strict=True)):
        ax.plot(run.env_t[sel], run.env_uv[ch, sel], color=colour, lw=0.8, label=f"{side} EMG")
        ax.step(
            run.thr_t[thr_sel],
            run.thr_uv[ch, thr_sel],
            where="pre",
            color=colour,
            lw=0.8,
            ls="--",
            alpha=0.8,
        )
    ax.set_yscale("log")
    lo = np.nanpercentile(run.env_uv[:, sel], 1) if sel.any() else 1.0
    hi = np.nanmax(run.env_uv[:, sel]) if sel.any() else 10.0
    ax.set_ylim(max(lo / 2.0, 0.3), hi * 4.0)
    ax.set_xlim(t0, t1)
    ax.set_ylabel("envelope (µV)", fontsize=7)
    ax.tick_params(labelsize=7, labelbottom=False)
    _detection_bars(ax, run, t0, t1, 0.86, 0.12)


def _motion_axes(ax: Axes, run: Run, t0: float, t1: float) -> None:
    m = run.motion
    t = m.time_s()
    sel = (t >= t0) & (t <= t1)
    act = m.activity[sel]
    ts = t[sel]
    frame = m.frame_s
    # The tracker's activity as a strip along the bottom.
    trans = ax.get_xaxis_transform()
    if ts.size:
        change = np.flatnonzero(np.diff(act)) + 1
        for a, b in zip(np.r_[0, change], np.r_[change, act.size], strict=True):
            name = ACTIVITIES[int(act[a])]
            ax.add_patch(
                Rectangle(
                    (ts[a] - frame, 0.0),
                    ts[b - 1] - ts[a] + frame,
                    0.14,
                    transform=trans,
                    color=TRACKER_COLOURS[name],
                    lw=0,
                )
            )
    ax.plot(ts, m.dynamic_g[sel], color="0.1", lw=0.8)
    ax.set_ylim(0.0, max(0.12, float(np.nanmax(m.dynamic_g[sel])) * 1.25) if ts.size else 0.5)
    ax.set_ylabel("trunk (g)", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.set_xlim(t0, t1)
    twin = ax.twinx()
    twin.plot(ts, m.inclination_deg[sel], color="#7d3c98", lw=0.8, ls=":")
    twin.set_ylim(-5, 100)
    twin.set_yticks([0, 45, 90])
    twin.tick_params(labelsize=6, colors="#7d3c98")
    twin.set_ylabel("tilt (deg)", fontsize=6, color="#7d3c98")
    # Truth activities named along the top.
    for seg in run.truth_activities():
        if seg.offset_s <= t0 or seg.onset_s >= t1:
            continue
        a, b = max(seg.onset_s, t0), min(seg.offset_s, t1)
        if b - a < 0.08 * (t1 - t0):
            continue
        ax.text(
            (a + b) / 2,
            0.93,
            seg.kind.replace("_", " "),
            transform=trans,
            ha="center",
            va="top",
            fontsize=6,
            color="0.25",
        )
        if seg.onset_s > t0:
            ax.axvline(seg.onset_s, color="0.6", lw=0.6, ls="-")


def draw_examples(picks: Sequence[Pick], path: Path) -> None:
    """Draw the example grid."""
    n_cols = 2
    n_rows = (len(picks) + n_cols - 1) // n_cols
    fig = plt.figure(figsize=(13.0, 3.7 * n_rows + 0.5))
    outer = fig.add_gridspec(
        n_rows,
        n_cols,
        hspace=0.12,
        wspace=0.16,
        left=0.055,
        right=0.96,
        top=1.0 - 0.75 / fig.get_figheight(),
        bottom=0.0,
    )
    for i, p in enumerate(picks):
        inner = outer[i // n_cols, i % n_cols].subgridspec(
            4, 1, height_ratios=(3.0, 1.3, 0.52, 0.7), hspace=0.05
        )
        ax = fig.add_subplot(inner[0])
        ax_m = fig.add_subplot(inner[1], sharex=ax)
        ax_t = fig.add_subplot(inner[3])
        _emg_axes(ax, p.run, p.t0, p.t1)
        _motion_axes(ax_m, p.run, p.t0, p.t1)
        ax_m.set_xlabel(f"time in {p.run.name} (s)", fontsize=7, labelpad=1)
        ax.set_title(
            f"({'abcdefgh'[i]}) {p.title}\ntruth: {_truth_text(p.truth)}", fontsize=8, loc="left"
        )
        ax_t.axis("off")
        if p.detection is None:
            text = "no detection overlaps it"
        else:
            reasons = " · ".join(p.detection.reasons)
            text = f"detector {_describe(p.detection)}. Reasons:\n" + textwrap.fill(reasons, 125)
        ax_t.text(0.0, 0.98, text, fontsize=6.3, va="top", ha="left", family="DejaVu Sans")
    handles = [
        Line2D([], [], color=COLOUR_LEFT, lw=1.2, label="left EMG envelope"),
        Line2D([], [], color=COLOUR_RIGHT, lw=1.2, label="right EMG envelope"),
        Line2D([], [], color="0.3", lw=1.0, ls="--", label="onset threshold"),
        Patch(color=SHADE_SPASM, label="truth: spasm"),
        Patch(color=SHADE_VOLUNTARY, label="truth: voluntary contraction"),
        Patch(color=COLOUR_INVOLUNTARY, label="detected involuntary"),
        Patch(color=COLOUR_VOLUNTARY, label="detected voluntary"),
        Line2D([], [], color="0.1", lw=1.0, label="trunk body acceleration (g)"),
        Line2D([], [], color="#7d3c98", lw=1.0, ls=":", label="trunk tilt (deg)"),
        Patch(color=TRACKER_COLOURS["moving"], label="tracker: moving"),
        Patch(color=TRACKER_COLOURS["walking"], label="tracker: walking"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=6, fontsize=7, frameon=False)
    _save(fig, path)


def draw_timeline(run: Run, picks: Sequence[Pick], path: Path) -> None:
    """Draw one whole recording: envelope overview, activities, truth and detections.

    The windows of the examples taken from this recording are marked with their letters.
    """
    pairs, missed, false_alarms = run.score()
    fig, (ax_e, ax) = plt.subplots(
        2, 1, figsize=(13.0, 5.6), sharex=True, gridspec_kw={"height_ratios": (1.6, 2.0)}
    )
    minutes = 60.0
    # Envelope overview: the largest envelope in each second.
    n_per = int(round(ENV_RATE))
    n_sec = run.env_uv.shape[1] // n_per
    peak = np.nanmax(run.env_uv[:, : n_sec * n_per].reshape(2, n_sec, n_per), axis=2)
    t_sec = run.env_t[: n_sec * n_per : n_per] + 0.5
    for ch, (side, colour) in enumerate(zip(SIDES, (COLOUR_LEFT, COLOUR_RIGHT), strict=True)):
        ax_e.plot(t_sec / minutes, peak[ch], color=colour, lw=0.5, label=f"{side} EMG (max/s)")
        ax_e.plot(run.thr_t / minutes, run.thr_uv[ch], color=colour, lw=0.7, ls="--", alpha=0.8)
    ax_e.plot([], [], color="0.3", lw=0.7, ls="--", label="onset threshold")
    ax_e.set_yscale("log")
    ax_e.set_ylabel("envelope (µV)", fontsize=8)
    ax_e.legend(loc="upper right", fontsize=7, ncol=3, frameon=False)
    ax_e.tick_params(labelsize=7)
    for i, p in enumerate(picks):
        if p.run is not run:
            continue
        ax_e.axvspan(p.t0 / minutes, p.t1 / minutes, color="0.85", lw=0, zorder=0)
        ax_e.text(
            (p.t0 + p.t1) / 2 / minutes,
            1.0,
            f"({'abcdefgh'[i]})",
            transform=ax_e.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    n_fa = len(false_alarms)
    ax_e.set_title(
        f"{run.name} ({run.item.tags.routine} routine, {run.sim.duration_s / 60:.0f} min, "
        f"{run.item.tags.snr} SNR, electrodes {run.item.tags.electrode}): "
        f"{len(pairs)} of {len(pairs) + len(missed)} spasms found, "
        f"{n_fa} false alarm{'' if n_fa == 1 else 's'}",
        fontsize=9,
        loc="left",
        pad=12,
    )
    rows = {
        "activity (truth)": 4.0,
        "tracker": 3.0,
        "contractions (truth)": 2.0,
        "detected involuntary": 1.0,
        "detected voluntary": 0.0,
    }
    h = 0.7
    for seg in run.truth_activities():
        ax.add_patch(
            Rectangle(
                (seg.onset_s / minutes, rows["activity (truth)"] - h / 2),
                seg.duration_s / minutes,
                h,
                color=ACTIVITY_COLOURS.get(seg.kind, "0.8"),
                lw=0,
            )
        )
    m = run.motion
    tm = m.time_s()
    change = np.flatnonzero(np.diff(m.activity)) + 1
    for a, b in zip(np.r_[0, change], np.r_[change, m.activity.size], strict=True):
        name = ACTIVITIES[int(m.activity[a])]
        ax.add_patch(
            Rectangle(
                ((tm[a] - m.frame_s) / minutes, rows["tracker"] - h / 2),
                (tm[b - 1] - tm[a] + m.frame_s) / minutes,
                h,
                color=TRACKER_COLOURS[name],
                lw=0,
            )
        )
    for ev in run.truth_contractions():
        y = rows["contractions (truth)"]
        if ev.kind == "twitch":
            colour, hh = SHADE_TWITCH, h / 2
        elif ev.involuntary:
            colour, hh = COLOUR_INVOLUNTARY, h
        else:
            colour, hh = "#27ae60", h / 2
        ax.add_patch(
            Rectangle(
                (ev.onset_s / minutes, y - hh / 2),
                max(ev.duration_s, 2.0) / minutes,
                hh,
                color=colour,
                lw=0,
            )
        )
    for e in run.episodes:
        y = rows["detected involuntary" if e.involuntary else "detected voluntary"]
        colour = COLOUR_INVOLUNTARY if e.involuntary else COLOUR_VOLUNTARY
        ax.add_patch(
            Rectangle(
                (e.start_s / minutes, y - h / 2),
                max(e.duration_s, 2.0) / minutes,
                h,
                color=colour,
                lw=0,
            )
        )
    for e in run.twitches:
        ax.add_patch(
            Rectangle(
                (e.start_s / minutes, rows["detected involuntary"] - h / 4),
                2.0 / minutes,
                h / 2,
                color=COLOUR_TWITCH,
                lw=0,
            )
        )
    # Scoring marks above the truth row and the detection row.
    y_mark = rows["contractions (truth)"] + 0.55
    for truth, _ in pairs:
        ax.plot(truth.onset_s / minutes, y_mark, marker="v", color="#1e8449", ms=5, ls="")
    for truth in missed:
        ax.plot(truth.onset_s / minutes, y_mark, marker="x", color="k", ms=6, mew=1.6, ls="")
    for e in false_alarms:
        ax.plot(
            e.start_s / minutes,
            rows["detected involuntary"] + 0.55,
            marker="x",
            color=COLOUR_INVOLUNTARY,
            ms=6,
            mew=1.6,
            ls="",
        )
    ax.set_yticks(list(rows.values()), list(rows.keys()), fontsize=7)
    ax.set_ylim(-0.7, 4.8)
    ax.set_xlim(0, run.sim.duration_s / minutes)
    ax.set_xlabel("time (min)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    present = [k for k in ACTIVITY_COLOURS if any(s.kind == k for s in run.truth_activities())]
    first = [Patch(color=ACTIVITY_COLOURS[k], label=k.replace("_", " ")) for k in present]
    first += [
        Patch(color=TRACKER_COLOURS["still"], label="tracker: still"),
        Patch(color=TRACKER_COLOURS["moving"], label="tracker: moving"),
        Patch(color=TRACKER_COLOURS["walking"], label="tracker: walking"),
    ]
    second = [
        Patch(color=COLOUR_INVOLUNTARY, label="spasm / involuntary"),
        Patch(color="#27ae60", label="voluntary effort (truth)"),
        Patch(color=COLOUR_VOLUNTARY, label="detected voluntary"),
        Patch(color=SHADE_TWITCH, label="twitch"),
        Line2D([], [], marker="v", color="#1e8449", ls="", label="found"),
        Line2D([], [], marker="x", color="k", mew=1.6, ls="", label="missed"),
        Line2D([], [], marker="x", color=COLOUR_INVOLUNTARY, mew=1.6, ls="", label="false alarm"),
    ]
    n_col = max(len(first), len(second))
    first += [Patch(color="none", label="")] * (n_col - len(first))
    second += [Patch(color="none", label="")] * (n_col - len(second))
    # Legends fill column by column: interleave so that each list reads as one row.
    handles = [h for pair in zip(first, second, strict=True) for h in pair]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=n_col,
        fontsize=7,
        frameon=False,
    )
    fig.tight_layout()
    _save(fig, path)


# --------------------------------------------------------------------------- report


def report(picks: Sequence[Pick], timeline: Run) -> None:
    """Print what was picked, with every decision's reasons."""
    for i, p in enumerate(picks):
        t = p.truth
        print(f"\n({'abcdefgh'[i]}) {p.title}: {p.run.name}, window {p.t0:.1f}-{p.t1:.1f} s")
        print(
            f"    truth: {t.kind} {t.side} {t.onset_s:.1f}-{t.offset_s:.1f} s "
            f"({t.duration_s:.1f} s) {t.description!r}"
        )
        for ev in p.run.truth_contractions():
            if ev is not t and ev.onset_s < p.t1 and ev.offset_s > p.t0:
                print(f"    other truth: {ev.kind} {ev.onset_s:.1f}-{ev.offset_s:.1f} s")
        for e in _overlapping(p.run.episodes, p.t0, p.t1):
            mark = "*" if e is p.detection else " "
            print(f"  {mark} {_describe(e)}")
            print(f"        reasons: {' | '.join(e.reasons)}")
    pairs, missed, false_alarms = timeline.score()
    print(f"\ntimeline: {timeline.name}, {timeline.sim.duration_s:.0f} s")
    for truth, det in pairs:
        print(f"    found  {truth.kind} {truth.onset_s:.1f} s {truth.description!r} -> {det.kind}")
    for truth in missed:
        print(f"    missed {truth.kind} {truth.onset_s:.1f} s {truth.description!r}")
    for e in false_alarms:
        print(f"    false alarm {_describe(e)}")


def main() -> None:
    """Pick, draw and report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=IMG, help="folder for the PNGs")
    parser.add_argument(
        "--max-items", type=int, default=20, help="corpus recordings searched at most"
    )
    parser.add_argument(
        "--check", action="store_true", help="also run analyze_arrays and compare episodes"
    )
    args = parser.parse_args()
    t_start = time.perf_counter()
    picks, runs = pick_examples(args.max_items, check=args.check)
    timeline = next(r for r in runs if r.item.tags.routine == "office")
    args.out.mkdir(parents=True, exist_ok=True)
    draw_examples(picks, args.out / "detector_examples.png")
    draw_timeline(timeline, picks, args.out / "detector_timeline.png")
    report(picks, timeline)
    print(f"\ndone in {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
