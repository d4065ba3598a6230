"""Scenarios of the simulated wearable: who wears it, what they do, what goes wrong.

A scenario is a TOML file (read with the standard-library :mod:`tomllib`) with a ``[wearer]``
table, an ordered list of ``[[segment]]`` activities that tile the recording, and optional
``[[episode]]`` (muscle contractions, voluntary or not) and ``[[artefact]]`` entries placed at
absolute times. The format is documented with an example in ``docs/simulator.md``.

:meth:`Scenario.truth` turns the script into ground-truth labels (:class:`TruthEvent`), which
:func:`write_truth` stores as a BIDS-style ``events.tsv``.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Final

from host.errors import ConfigError

__all__ = [
    "ACTIVITIES",
    "ARTEFACT_KINDS",
    "CONTRACTION_KINDS",
    "EPISODE_KINDS",
    "INVOLUNTARY_KINDS",
    "LYING_POSTURES",
    "SIDES",
    "Artefact",
    "Episode",
    "Scenario",
    "ScenarioError",
    "Segment",
    "TruthEvent",
    "Wearer",
    "builtin_scenario",
    "list_builtin_scenarios",
    "load_scenario",
    "loads_scenario",
    "read_truth",
    "write_truth",
]

#: Activities a segment can script.
ACTIVITIES: Final = (
    "lying",
    "sitting",
    "standing",
    "walking",
    "lifting",
    "bending",
    "sit_to_stand",
    "turning_in_bed",
)
#: Involuntary contraction kinds an ``[[episode]]`` can script.
INVOLUNTARY_KINDS: Final = ("tonic", "clonic", "myoclonic", "cramp", "twitch")
#: Every ``[[episode]]`` kind (involuntary ones plus a scripted voluntary contraction).
EPISODE_KINDS: Final = (*INVOLUNTARY_KINDS, "voluntary")
#: Contraction kinds that appear in truth labels.
CONTRACTION_KINDS: Final = EPISODE_KINDS
#: Artefact kinds.
ARTEFACT_KINDS: Final = ("electrode_pop", "lift_off", "motion", "saturation")
#: Sides of a contraction or artefact.
SIDES: Final = ("left", "right", "bilateral", "none")
#: Lying postures (``posture`` of ``lying`` and ``turning_in_bed`` segments).
LYING_POSTURES: Final = ("supine", "prone", "left_side", "right_side")
#: Truth-label categories.
CATEGORIES: Final = ("activity", "contraction", "artefact")

_SCENARIO_PACKAGE: Final = "host.simulator"
_SCENARIO_DIR: Final = "scenarios"


class ScenarioError(ConfigError):
    """A scenario file or object is malformed.

    The message names the file, the key (``segment[3].duration_s``), the bad value and what
    was expected.

    Parameters
    ----------
    source : str
        File path, or ``"<string>"`` / ``"<python>"``.
    key : str
        Dotted key path of the offending entry (empty for whole-file problems).
    value : object
        The offending value.
    expected : str
        What would have been accepted.
    """

    def __init__(self, source: str, key: str, value: object, expected: str) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: invalid value {value!r}; expected {expected}.")
        self.source = source
        self.key = key
        self.value = value
        self.expected = expected


# --------------------------------------------------------------------------- truth labels


@dataclass(frozen=True)
class TruthEvent:
    """One ground-truth label of a simulated recording.

    Parameters
    ----------
    onset_s : float
        Start in seconds from the beginning of the recording.
    duration_s : float
        Length in seconds.
    category : str
        ``"activity"``, ``"contraction"`` or ``"artefact"``.
    kind : str
        Activity name (:data:`ACTIVITIES`), contraction kind (:data:`CONTRACTION_KINDS`) or
        artefact kind (:data:`ARTEFACT_KINDS`).
    side : str
        ``"left"``, ``"right"``, ``"bilateral"`` or ``"none"``.
    involuntary : bool
        True for spasms, cramps and twitches.
    peak_mvc : float
        Peak activation as a fraction of maximal voluntary contraction (0 for activities
        and artefacts).
    description : str
        Free text (lying posture, what a voluntary contraction belongs to, artefact size).
    """

    onset_s: float
    duration_s: float
    category: str
    kind: str
    side: str = "none"
    involuntary: bool = False
    peak_mvc: float = 0.0
    description: str = ""

    @property
    def offset_s(self) -> float:
        """End of the event in seconds."""
        return self.onset_s + self.duration_s

    def to_dict(self) -> dict[str, Any]:
        """Return the event as a plain dictionary (JSON-serialisable)."""
        return asdict(self)


_TSV_COLUMNS: Final = (
    "onset",
    "duration",
    "trial_type",
    "side",
    "involuntary",
    "peak_mvc",
    "category",
    "description",
)


def write_truth(events: Iterable[TruthEvent], path: str | Path) -> None:
    """Write truth labels as a BIDS-style ``events.tsv``.

    Parameters
    ----------
    events : iterable of TruthEvent
        Labels, written in onset order.
    path : str | Path
        Output file.

    Notes
    -----
    Columns: ``onset`` and ``duration`` (seconds), ``trial_type`` (the event kind), ``side``,
    ``involuntary`` (``true``/``false``), ``peak_mvc``, then the extra columns ``category`` and
    ``description`` that BIDS allows. Floats are written with :func:`repr`, so
    :func:`read_truth` restores them exactly.
    """
    ordered = sorted(events, key=lambda e: (e.onset_s, CATEGORIES.index(e.category)))
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(_TSV_COLUMNS)
        for event in ordered:
            writer.writerow(
                (
                    repr(float(event.onset_s)),
                    repr(float(event.duration_s)),
                    event.kind,
                    event.side,
                    "true" if event.involuntary else "false",
                    repr(float(event.peak_mvc)),
                    event.category,
                    event.description or "n/a",
                )
            )


def _category_of(kind: str) -> str:
    if kind in ACTIVITIES:
        return "activity"
    if kind in CONTRACTION_KINDS:
        return "contraction"
    return "artefact"


def read_truth(path: str | Path) -> list[TruthEvent]:
    """Read labels written by :func:`write_truth`.

    Parameters
    ----------
    path : str | Path
        A BIDS-style ``events.tsv``. Only ``onset``, ``duration`` and ``trial_type`` are
        required; missing columns take the :class:`TruthEvent` defaults and a missing
        ``category`` is inferred from the kind.

    Returns
    -------
    events : list of TruthEvent
        In file order.
    """
    src = str(path)
    with Path(path).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    events: list[TruthEvent] = []
    for i, row in enumerate(rows):
        for column in ("onset", "duration", "trial_type"):
            if row.get(column) in (None, "", "n/a"):
                raise ScenarioError(src, f"row[{i}].{column}", row.get(column), "a value")
        try:
            onset = float(row["onset"])
            duration = float(row["duration"])
            peak = float(row.get("peak_mvc") or 0.0)
        except ValueError as exc:
            raise ScenarioError(src, f"row[{i}]", dict(row), "numeric onset/duration") from exc
        kind = row["trial_type"]
        description = row.get("description") or ""
        events.append(
            TruthEvent(
                onset_s=onset,
                duration_s=duration,
                category=row.get("category") or _category_of(kind),
                kind=kind,
                side=row.get("side") or "none",
                involuntary=(row.get("involuntary") or "false").lower() == "true",
                peak_mvc=peak,
                description="" if description == "n/a" else description,
            )
        )
    return events


# --------------------------------------------------------------------------- scenario types


@dataclass(frozen=True)
class Wearer:
    """The person and the electrodes: fixed for a whole scenario.

    Parameters
    ----------
    seed : int
        Seed of the *script*: which random artefacts happen when, waxing and waning of
        spasms, clonic burst jitter. The noise realisation is seeded separately by
        :class:`~host.simulator.BodySimulator`.
    mvc_uv_left, mvc_uv_right : float
        Surface-EMG RMS in microvolts at maximal voluntary contraction, per side.
    rest_mvc : float
        Resting tone as a fraction of MVC (0.008 of 350 uV is 2.8 uV RMS).
    heart_rate_bpm : float
        Resting heart rate in beats per minute.
    respiration_rate_bpm : float
        Resting breathing rate in breaths per minute (drives respiratory sinus arrhythmia).
    ecg_uv_left, ecg_uv_right : float
        R-wave amplitude of the ECG picked up by each bipolar pair, microvolts.
    mains_hz : float
        Mains frequency, 50 or 60 Hz.
    mains_uv : float
        Typical differential mains amplitude in microvolts (varies slowly around it).
    noise_uv : float
        Electrode and amplifier noise, microvolts RMS over the sampled band.
    drift_uv : float
        Baseline drift (below 0.5 Hz), microvolts RMS at rest.
    median_freq_hz : float
        Median frequency of the fresh erector-spinae EMG spectrum in Hz.
    cramp_median_ratio : float
        Factor applied to the median frequency at the height of a cramp (spectral
        compression).
    crosstalk : float
        Fraction of each side's EMG that reaches the other side's electrodes.
    motion_artefact_uv : float
        Size of movement-coupled artefacts (heel strikes, trunk motion) in microvolts.
    electrode_pop_per_h, lift_off_per_h, motion_artefact_per_h, saturation_per_h : float
        Rates of randomly placed artefacts, events per hour of recording.
    """

    seed: int = 0
    mvc_uv_left: float = 350.0
    mvc_uv_right: float = 320.0
    rest_mvc: float = 0.008
    heart_rate_bpm: float = 66.0
    respiration_rate_bpm: float = 14.0
    ecg_uv_left: float = 40.0
    ecg_uv_right: float = 15.0
    mains_hz: float = 50.0
    mains_uv: float = 3.0
    noise_uv: float = 1.5
    drift_uv: float = 15.0
    median_freq_hz: float = 85.0
    cramp_median_ratio: float = 0.6
    crosstalk: float = 0.08
    motion_artefact_uv: float = 12.0
    electrode_pop_per_h: float = 0.5
    lift_off_per_h: float = 0.05
    motion_artefact_per_h: float = 2.0
    saturation_per_h: float = 0.1

    @property
    def mvc_uv(self) -> tuple[float, float]:
        """MVC RMS in microvolts, (left, right)."""
        return (self.mvc_uv_left, self.mvc_uv_right)


#: Activity parameters and the activities they apply to.
_SEGMENT_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "posture": ("lying", "turning_in_bed"),
    "from_posture": ("turning_in_bed",),
    "cadence_hz": ("walking",),
    "flexion_deg": ("sitting", "bending", "lifting", "sit_to_stand"),
    "repetitions": ("bending", "lifting"),
    "hold_s": ("bending", "lifting"),
    "load_kg": ("lifting",),
    "tone_mvc": ACTIVITIES,
}


@dataclass(frozen=True)
class Segment:
    """One scripted activity. Segments follow each other without gaps.

    Parameters
    ----------
    activity : str
        One of :data:`ACTIVITIES`.
    duration_s : float
        Length in seconds (> 0).
    posture : str | None
        ``lying``: the posture held; ``turning_in_bed``: the posture turned to. One of
        :data:`LYING_POSTURES`; default ``"supine"``.
    from_posture : str | None
        ``turning_in_bed``: the posture turned from (default: the previous lying posture).
    cadence_hz : float | None
        ``walking``: steps per second (default 1.8, allowed 1.0-2.5).
    flexion_deg : float | None
        Trunk flexion in degrees: ``sitting`` posture (default 10), deepest point of each
        ``bending`` (default 80) or ``lifting`` (default 65) repetition, deepest lean of
        ``sit_to_stand`` (default 35).
    repetitions : int | None
        ``bending``/``lifting``: number of repetitions (default one every 6 s).
    hold_s : float | None
        ``bending``/``lifting``: time held at the deepest point (default 1.0 / 0.6 s).
    load_kg : float | None
        ``lifting``: mass lifted (default 10 kg).
    tone_mvc : float | None
        Background erector-spinae activation as a fraction of MVC, overriding the
        activity's default.
    """

    activity: str
    duration_s: float
    posture: str | None = None
    from_posture: str | None = None
    cadence_hz: float | None = None
    flexion_deg: float | None = None
    repetitions: int | None = None
    hold_s: float | None = None
    load_kg: float | None = None
    tone_mvc: float | None = None


@dataclass(frozen=True)
class Episode:
    """A scripted muscle contraction at an absolute time.

    Parameters
    ----------
    start_s : float
        Onset in seconds from the start of the recording.
    kind : str
        One of :data:`EPISODE_KINDS`.
    side : str
        ``"left"``, ``"right"`` or ``"bilateral"``.
    duration_s : float
        Length in seconds.
    peak_mvc : float
        Peak activation as a fraction of MVC, in (0, 1].
    rate_hz : float | None
        ``clonic``: burst rate (default 5 Hz, 2-10); ``myoclonic``: mean jerk rate (default
        2 Hz, 0.2-10).
    freeze : bool | None
        Whether the wearer stops moving during the episode (default: True for tonic,
        clonic, myoclonic and cramp, False for twitch and voluntary).
    description : str
        Free text, copied into the truth label.
    trunk_deg : float
        ``voluntary`` only: how far the contraction moves the trunk, degrees of flexion
        (negative: extension). The trunk moves there with a minimum-jerk profile while the
        contraction builds up, holds, and returns as it ends, as in reaching forward or a
        back extension. 0 (the default) is an isometric contraction such as bracing.
    """

    start_s: float
    kind: str
    side: str
    duration_s: float
    peak_mvc: float
    rate_hz: float | None = None
    freeze: bool | None = None
    description: str = ""
    trunk_deg: float = 0.0

    @property
    def end_s(self) -> float:
        """End of the episode in seconds."""
        return self.start_s + self.duration_s

    @property
    def involuntary(self) -> bool:
        """True unless the kind is ``"voluntary"``."""
        return self.kind != "voluntary"

    @property
    def freezes(self) -> bool:
        """Whether the wearer freezes (``freeze`` or its default for the kind)."""
        if self.freeze is not None:
            return self.freeze
        return self.kind in ("tonic", "clonic", "myoclonic", "cramp")


@dataclass(frozen=True)
class Artefact:
    """A scripted artefact at an absolute time (random ones come from the wearer's rates).

    Parameters
    ----------
    start_s : float
        Onset in seconds.
    kind : str
        One of :data:`ARTEFACT_KINDS`.
    side : str
        ``"left"``, ``"right"`` or ``"bilateral"`` (``saturation`` is always bilateral).
    duration_s : float | None
        Length in seconds. ``electrode_pop``: the decay lasts a fifth of it (default 1.5 s);
        ``lift_off``: time without contact (default 5 s, plus 1.5 s of recovery);
        ``motion``: default 1.5 s; ``saturation``: default 0.5 s.
    amplitude_uv : float | None
        Size in microvolts: pop step (default 800), motion artefact (default 300), saturating
        deflection (default 5000), mains amplitude with the electrode off (default 20000).
    """

    start_s: float
    kind: str
    side: str = "left"
    duration_s: float | None = None
    amplitude_uv: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A complete script: wearer, activities, episodes and artefacts.

    Parameters
    ----------
    name : str
        Short name.
    wearer : Wearer
        The person and electrode set-up.
    segments : tuple of Segment
        Activities in order; their durations add up to :attr:`duration_s`.
    episodes : tuple of Episode
        Contractions at absolute times, sorted by onset, not overlapping each other.
    artefacts : tuple of Artefact
        Scripted artefacts at absolute times.
    description : str
        Free text.
    source : str
        Where the scenario came from (file path), used in error messages.

    Raises
    ------
    ScenarioError
        If any field is out of range (the message names the offending key).
    """

    name: str
    wearer: Wearer
    segments: tuple[Segment, ...]
    episodes: tuple[Episode, ...] = ()
    artefacts: tuple[Artefact, ...] = ()
    description: str = ""
    source: str = field(default="<python>", compare=False)

    def __post_init__(self) -> None:
        _validate_scenario(self)

    @property
    def duration_s(self) -> float:
        """Total length in seconds (sum of the segment durations)."""
        return math.fsum(s.duration_s for s in self.segments)

    @property
    def mains_hz(self) -> float:
        """Mains frequency in Hz (50 or 60)."""
        return self.wearer.mains_hz

    @property
    def segment_onsets_s(self) -> tuple[float, ...]:
        """Onset of each segment in seconds."""
        onsets: list[float] = []
        total = 0.0
        for segment in self.segments:
            onsets.append(total)
            total += segment.duration_s
        return tuple(onsets)

    def truth(self) -> list[TruthEvent]:
        """Return the ground-truth labels of this scenario, sorted by onset.

        Returns
        -------
        events : list of TruthEvent
            One ``activity`` label per segment; ``contraction`` labels for every voluntary
            repetition (bending, lifting, standing up, turning in bed, large posture
            changes), every scripted episode (voluntary or not); ``artefact`` labels for the
            scripted and the randomly placed artefacts.

        Notes
        -----
        Labels depend on the scenario only (including :attr:`Wearer.seed`), never on the
        simulator's noise seed.
        """
        from host.simulator.script import Script

        return Script(self).truth()


# --------------------------------------------------------------------------- validation


def _fail(source: str, key: str, value: object, expected: str) -> ScenarioError:
    return ScenarioError(source, key, value, expected)


def _check_range(
    source: str,
    key: str,
    value: float,
    low: float,
    high: float,
    *,
    low_open: bool = False,
) -> None:
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise _fail(source, key, value, f"a number in {bracket}{low:g}, {high:g}]")


def _check_choice(source: str, key: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise _fail(source, key, value, "one of " + ", ".join(repr(a) for a in allowed))


_WEARER_RANGES: Final[dict[str, tuple[float, float]]] = {
    "mvc_uv_left": (20.0, 5000.0),
    "mvc_uv_right": (20.0, 5000.0),
    "rest_mvc": (0.0, 0.1),
    "heart_rate_bpm": (30.0, 150.0),
    "respiration_rate_bpm": (4.0, 40.0),
    "ecg_uv_left": (0.0, 2000.0),
    "ecg_uv_right": (0.0, 2000.0),
    "mains_uv": (0.0, 100000.0),
    "noise_uv": (0.0, 100.0),
    "drift_uv": (0.0, 1000.0),
    "median_freq_hz": (20.0, 250.0),
    "cramp_median_ratio": (0.3, 1.0),
    "crosstalk": (0.0, 0.5),
    "motion_artefact_uv": (0.0, 1000.0),
    "electrode_pop_per_h": (0.0, 3600.0),
    "lift_off_per_h": (0.0, 60.0),
    "motion_artefact_per_h": (0.0, 3600.0),
    "saturation_per_h": (0.0, 3600.0),
}

_POSITIVE_INT_PARAMS: Final = ("repetitions",)


def _validate_wearer(wearer: Wearer, source: str) -> None:
    if isinstance(wearer.seed, bool) or not isinstance(wearer.seed, int) or wearer.seed < 0:
        raise _fail(source, "wearer.seed", wearer.seed, "a non-negative integer")
    if wearer.mains_hz not in (50.0, 60.0):
        raise _fail(source, "wearer.mains_hz", wearer.mains_hz, "50 or 60")
    for name, (low, high) in _WEARER_RANGES.items():
        _check_range(source, f"wearer.{name}", float(getattr(wearer, name)), low, high)


_SEGMENT_RANGES: Final[dict[str, tuple[float, float]]] = {
    "cadence_hz": (1.0, 2.5),
    "flexion_deg": (-30.0, 120.0),
    "hold_s": (0.0, 60.0),
    "load_kg": (0.0, 50.0),
    "tone_mvc": (0.0, 1.0),
}


def _validate_segment(segment: Segment, index: int, source: str) -> None:
    key = f"segment[{index}]"
    _check_choice(source, f"{key}.activity", segment.activity, ACTIVITIES)
    _check_range(source, f"{key}.duration_s", segment.duration_s, 0.0, 7.0 * 86400.0, low_open=True)
    for name, applies_to in _SEGMENT_PARAMS.items():
        value = getattr(segment, name)
        if value is None:
            continue
        if segment.activity not in applies_to:
            raise _fail(
                source,
                f"{key}.{name}",
                value,
                f"no {name!r} for activity {segment.activity!r} (it applies to: "
                + ", ".join(applies_to)
                + ")",
            )
        if name in ("posture", "from_posture"):
            _check_choice(source, f"{key}.{name}", value, LYING_POSTURES)
        elif name in _POSITIVE_INT_PARAMS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _fail(source, f"{key}.{name}", value, "a positive integer")
        else:
            low, high = _SEGMENT_RANGES[name]
            _check_range(source, f"{key}.{name}", float(value), low, high)
    if segment.activity in ("bending", "lifting") and segment.repetitions is not None:
        per_rep = segment.duration_s / segment.repetitions
        if per_rep < 2.0:
            raise _fail(
                source,
                f"{key}.repetitions",
                segment.repetitions,
                f"at most {int(segment.duration_s // 2.0)} (one repetition needs >= 2 s)",
            )
    if segment.activity == "sit_to_stand" and segment.duration_s < 2.5:
        raise _fail(source, f"{key}.duration_s", segment.duration_s, ">= 2.5 s for sit_to_stand")
    if segment.activity == "turning_in_bed" and segment.duration_s < 3.0:
        raise _fail(source, f"{key}.duration_s", segment.duration_s, ">= 3 s for turning_in_bed")


def _validate_episode(episode: Episode, index: int, source: str, total_s: float) -> None:
    key = f"episode[{index}]"
    _check_choice(source, f"{key}.kind", episode.kind, EPISODE_KINDS)
    _check_choice(source, f"{key}.side", episode.side, ("left", "right", "bilateral"))
    _check_range(source, f"{key}.start_s", episode.start_s, 0.0, total_s)
    max_duration = 1.0 if episode.kind == "twitch" else 3600.0
    _check_range(source, f"{key}.duration_s", episode.duration_s, 0.0, max_duration, low_open=True)
    if episode.kind == "twitch" and episode.duration_s < 0.03:
        raise _fail(source, f"{key}.duration_s", episode.duration_s, ">= 0.03 s for a twitch")
    if episode.end_s > total_s + 1e-9:
        raise _fail(
            source,
            f"{key}.duration_s",
            episode.duration_s,
            f"an episode ending by the end of the scenario ({total_s:g} s); "
            f"it would end at {episode.end_s:g} s",
        )
    _check_range(source, f"{key}.peak_mvc", episode.peak_mvc, 0.0, 1.0, low_open=True)
    if episode.rate_hz is not None:
        if episode.kind == "clonic":
            _check_range(source, f"{key}.rate_hz", episode.rate_hz, 2.0, 10.0)
        elif episode.kind == "myoclonic":
            _check_range(source, f"{key}.rate_hz", episode.rate_hz, 0.2, 10.0)
        else:
            raise _fail(
                source, f"{key}.rate_hz", episode.rate_hz, "no rate_hz (only clonic, myoclonic)"
            )
    if episode.freeze is not None and not isinstance(episode.freeze, bool):
        raise _fail(source, f"{key}.freeze", episode.freeze, "true or false")
    if episode.trunk_deg != 0.0:
        if episode.kind != "voluntary":
            raise _fail(
                source, f"{key}.trunk_deg", episode.trunk_deg, "no trunk_deg (only voluntary)"
            )
        _check_range(source, f"{key}.trunk_deg", episode.trunk_deg, -30.0, 60.0)


def _validate_artefact(artefact: Artefact, index: int, source: str, total_s: float) -> None:
    key = f"artefact[{index}]"
    _check_choice(source, f"{key}.kind", artefact.kind, ARTEFACT_KINDS)
    _check_choice(source, f"{key}.side", artefact.side, ("left", "right", "bilateral"))
    _check_range(source, f"{key}.start_s", artefact.start_s, 0.0, total_s)
    if artefact.duration_s is not None:
        _check_range(source, f"{key}.duration_s", artefact.duration_s, 0.0, 600.0, low_open=True)
    if artefact.amplitude_uv is not None:
        _check_range(source, f"{key}.amplitude_uv", artefact.amplitude_uv, 0.0, 1e6, low_open=True)


def _validate_scenario(scenario: Scenario) -> None:
    source = scenario.source
    if not isinstance(scenario.name, str) or not scenario.name:
        raise _fail(source, "name", scenario.name, "a non-empty string")
    _validate_wearer(scenario.wearer, source)
    if len(scenario.segments) == 0:
        raise _fail(source, "segment", [], "at least one [[segment]]")
    for i, segment in enumerate(scenario.segments):
        _validate_segment(segment, i, source)
    total_s = scenario.duration_s
    previous: Episode | None = None
    for i, episode in enumerate(scenario.episodes):
        _validate_episode(episode, i, source, total_s)
        if previous is not None:
            if episode.start_s < previous.start_s:
                raise _fail(
                    source,
                    f"episode[{i}].start_s",
                    episode.start_s,
                    f"episodes in onset order (episode[{i - 1}] starts at {previous.start_s:g} s)",
                )
            if episode.start_s < previous.end_s - 1e-9:
                raise _fail(
                    source,
                    f"episode[{i}].start_s",
                    episode.start_s,
                    f">= {previous.end_s:g} s: episodes must not overlap "
                    f"(episode[{i - 1}] runs until then)",
                )
        previous = episode
    for i, artefact in enumerate(scenario.artefacts):
        _validate_artefact(artefact, i, source, total_s)


# --------------------------------------------------------------------------- TOML parsing

_TOP_KEYS: Final = ("name", "description", "wearer", "segment", "episode", "artefact")


def _field_types(cls: type) -> dict[str, str]:
    return {f.name: str(f.type) for f in fields(cls)}


def _coerce(source: str, key: str, value: object, type_name: str) -> object:
    """Check a TOML value against a dataclass field's declared type."""
    optional = "None" in type_name
    base = type_name.replace(" | None", "")
    if value is None and optional:
        return None
    if base == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(source, key, value, "a number")
        return float(value)
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(source, key, value, "an integer")
        return value
    if base == "bool":
        if not isinstance(value, bool):
            raise _fail(source, key, value, "true or false")
        return value
    if base == "str":
        if not isinstance(value, str):
            raise _fail(source, key, value, "a string")
        return value
    raise AssertionError(f"unhandled field type {type_name}")  # pragma: no cover


def _build(cls: type[Any], table: object, source: str, key: str, required: Sequence[str]) -> Any:
    if not isinstance(table, Mapping):
        raise _fail(source, key, table, "a table")
    types = _field_types(cls)
    unknown = sorted(set(table) - set(types))
    if unknown:
        raise _fail(
            source,
            f"{key}.{unknown[0]}",
            table[unknown[0]],
            "no such key; allowed keys are " + ", ".join(types),
        )
    for name in required:
        if name not in table:
            raise _fail(source, f"{key}.{name}", None, "this required key to be present")
    kwargs = {name: _coerce(source, f"{key}.{name}", v, types[name]) for name, v in table.items()}
    return cls(**kwargs)


def _array_of_tables(data: Mapping[str, object], name: str, source: str) -> list[object]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise _fail(source, name, value, f"an array of tables ([[{name}]])")
    return value


def loads_scenario(text: str, *, source: str = "<string>") -> Scenario:
    """Parse a scenario from TOML text.

    Parameters
    ----------
    text : str
        TOML document (format in ``docs/simulator.md``).
    source : str
        Name used in error messages.

    Returns
    -------
    scenario : Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        On a TOML syntax error or any invalid key or value.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, "", str(exc), "valid TOML") from exc
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise _fail(
            source,
            unknown[0],
            data[unknown[0]],
            "no such top-level key; allowed are " + ", ".join(_TOP_KEYS),
        )
    name = data.get("name", Path(source).stem if source.endswith(".toml") else "scenario")
    if not isinstance(name, str):
        raise _fail(source, "name", name, "a string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(source, "description", description, "a string")
    wearer = _build(Wearer, data.get("wearer", {}), source, "wearer", ())
    segments = tuple(
        _build(Segment, table, source, f"segment[{i}]", ("activity", "duration_s"))
        for i, table in enumerate(_array_of_tables(data, "segment", source))
    )
    episodes = tuple(
        _build(
            Episode,
            table,
            source,
            f"episode[{i}]",
            ("start_s", "kind", "side", "duration_s", "peak_mvc"),
        )
        for i, table in enumerate(_array_of_tables(data, "episode", source))
    )
    artefacts = tuple(
        _build(Artefact, table, source, f"artefact[{i}]", ("start_s", "kind"))
        for i, table in enumerate(_array_of_tables(data, "artefact", source))
    )
    return Scenario(
        name=name,
        wearer=wearer,
        segments=segments,
        episodes=episodes,
        artefacts=artefacts,
        description=description,
        source=source,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario TOML file.

    Parameters
    ----------
    path : str | Path
        The file.

    Returns
    -------
    scenario : Scenario
        The validated scenario (its ``name`` defaults to the file stem).

    Raises
    ------
    ScenarioError
        If the file cannot be read or is invalid; the message names the file and key.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, "", str(exc), "a readable UTF-8 TOML file") from exc
    return loads_scenario(text, source=source)


def list_builtin_scenarios() -> list[str]:
    """Return the names of the scenarios shipped with spasmwatch, sorted."""
    folder = resources.files(_SCENARIO_PACKAGE).joinpath(_SCENARIO_DIR)
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )


def resolve_scenario(name_or_path: str) -> Scenario:
    """Load a built-in scenario by name, or a scenario file by path.

    Parameters
    ----------
    name_or_path : str
        One of :func:`list_builtin_scenarios`, or a path to a ``.toml`` scenario.

    Returns
    -------
    scenario : Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        If the name is not a built-in scenario, or the file is missing or invalid.
    """
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load_scenario(path)
    return builtin_scenario(name_or_path)


def builtin_scenario(name: str) -> Scenario:
    """Load a scenario shipped with spasmwatch.

    Parameters
    ----------
    name : str
        One of :func:`list_builtin_scenarios` (``"quick"``, ``"day"``, ``"night"``, ...).

    Returns
    -------
    scenario : Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        If there is no built-in scenario of that name.
    """
    available = list_builtin_scenarios()
    if name not in available:
        raise ScenarioError(
            "builtin", "name", name, "one of " + ", ".join(repr(a) for a in available)
        )
    resource = resources.files(_SCENARIO_PACKAGE).joinpath(_SCENARIO_DIR, f"{name}.toml")
    return loads_scenario(resource.read_text(encoding="utf-8"), source=f"builtin:{name}.toml")
