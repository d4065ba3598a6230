"""Load a recorded session for analysis: numpy arrays, an events table and an MNE Raw.

Run: ``python docs/examples/load_session.py --wearer alice --session 3`` (or ``--store
path/to/store.sqlite3``). It prints what the session holds and the RMS of each channel
in every minute, and computes the same on the MNE Raw object without the gaps.
"""

from __future__ import annotations

import argparse

import numpy as np

from host.research import load_session


def main() -> None:
    """Load, summarise, convert."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--session", type=int, required=True)
    parser.add_argument("--wearer", default="default")
    parser.add_argument("--data-dir")
    parser.add_argument("--store", help="a store file instead of --wearer/--data-dir")
    args = parser.parse_args()

    rec = load_session(args.session, wearer=args.wearer, data_dir=args.data_dir, store=args.store)
    n_missing = int(np.isnan(rec.data).any(axis=0).sum())
    print(  # noqa: T201
        f"session {rec.session_id}: {len(rec.ch_names)} EMG channels at {rec.sfreq:g} Hz, "
        f"{rec.n_times / rec.sfreq:.1f} s from {rec.meas_date.isoformat()}, "
        f"{n_missing} missing samples"
    )

    # RMS per channel per minute (NaN-aware: gaps do not count).
    per_min = int(60 * rec.sfreq)
    for start in range(0, rec.n_times, per_min):
        block = rec.data[:, start : start + per_min]
        rms_uv = np.sqrt(np.nanmean(block**2, axis=1)) * 1e6
        print(f"  minute {start // per_min}: RMS {np.round(rms_uv, 1)} uV")  # noqa: T201

    events = rec.events_table()
    episodes = events[events["category"] == "episode"]
    print(f"episodes: {len(episodes)}")  # noqa: T201
    for _, row in episodes.iterrows():
        print(  # noqa: T201
            f"  {row['onset_s']:.2f} s +{row['duration_s']:.2f} s {row['kind']} "
            f"{row['side']} labels={row['labels']}"
        )

    raw = rec.to_mne()  # needs MNE-Python
    good = raw.get_data(reject_by_annotation="omit")  # BAD_gap spans left out
    print(f"MNE: {raw.n_times} samples, {good.shape[1]} outside gaps")  # noqa: T201


if __name__ == "__main__":
    main()
