"""The dashboard's API with FastAPI's TestClient: data, bad input, labels, errors."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from host.dashboard import create_app
from host.dashboard.deps import read_store
from host.errors import StorageError
from host.storage import RecordingStore

from .conftest import DURATION_S, GAP, T0_US, VOLTS_PER_COUNT, Recorded  # noqa: TID252

END_US = T0_US + DURATION_S * 1_000_000


def test_index_and_modules_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "<nav" in page.text
    assert 'type="module"' in page.text
    for path in ("/static/js/app.js", "/static/js/live.js", "/static/css/print.css"):
        assert client.get(path).status_code == 200, path


def test_extent_and_sessions(client: TestClient, recorded: Recorded) -> None:
    extent = client.get("/api/extent").json()
    assert extent["start_us"] == T0_US
    assert extent["end_us"] >= END_US
    sessions = client.get("/api/sessions").json()["sessions"]
    assert [s["id"] for s in sessions] == [recorded.session_id]
    assert sessions[0]["channels"] == ["EMG L", "EMG R"]


def test_episodes_sort_and_filter(client: TestClient) -> None:
    rows = client.get("/api/episodes", params={"sort": "duration", "order": "asc"}).json()
    assert [r["duration_s"] for r in rows["episodes"]] == [3.0, 8.0, 70.0]
    assert rows["total"] == 3
    spasms = client.get("/api/episodes", params={"involuntary": "true"}).json()["episodes"]
    assert {r["kind"] for r in spasms} == {"tonic", "cramp"}
    left = client.get("/api/episodes", params={"side": "left"}).json()["episodes"]
    assert [r["kind"] for r in left] == ["tonic"]
    by_severity = client.get("/api/episodes", params={"sort": "severity"}).json()["episodes"]
    assert by_severity[0]["severity"] == "severe"  # the 70 s cramp, descending
    one = client.get("/api/episodes", params={"start": T0_US + 30_000_000, "end": T0_US + 60e6})
    assert [r["kind"] for r in one.json()["episodes"]] == ["voluntary"]


@pytest.mark.parametrize(
    ("path", "params", "word"),
    [
        ("/api/episodes", {"start": "yesterday-ish"}, "'start'"),
        ("/api/episodes", {"start": str(T0_US), "end": str(T0_US - 1)}, "must be after"),
        ("/api/episodes", {"limit": "0"}, "limit"),
        ("/api/episodes", {"sort": "colour"}, "sort"),
        ("/api/episodes", {"side": "middle"}, "side"),
        ("/api/timeline", {"start": str(T0_US)}, "both 'start' and 'end'"),
        ("/api/timeline", {"start": "0", "end": str(10**18)}, "days"),
        ("/api/signal", {"start": str(T0_US), "end": str(END_US), "points": "5"}, "points"),
        (
            "/api/summary",
            {"start": "2024-03-04", "end": "2024-03-05", "tz_offset_min": "9999"},
            "tz_offset_min",
        ),
        ("/api/episodes/0", {}, "episode_id"),
        ("/api/episodes/abc", {}, "episode_id"),
    ],
)
def test_invalid_parameters_are_400_with_a_message(
    client: TestClient, path: str, params: dict[str, str], word: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert word in body["detail"]
    assert "Traceback" not in response.text


def test_unknown_ids_and_paths_are_404(client: TestClient) -> None:
    response = client.get("/api/episodes/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "there is no episode 999", "code": "not_found"}
    assert client.get("/api/nothing").status_code == 404
    posted = client.post("/api/episodes/999/labels", json={"label": "spasm"})
    assert posted.status_code == 404


def test_a_range_without_data(client: TestClient) -> None:
    midnight = T0_US - 8 * 3_600_000_000  # T0 is 08:00 UTC
    later = {"start": midnight + 86_400_000_000, "end": midnight + 2 * 86_400_000_000}
    signal = client.get("/api/signal", params=later)
    assert signal.status_code == 404
    assert signal.json()["code"] == "no_data"
    timeline = client.get("/api/timeline", params=later).json()
    assert timeline["episodes"] == []
    assert timeline["sessions"] == []
    assert timeline["bands"] is None
    summary = client.get("/api/summary", params=later).json()
    assert summary["n_spasms"] == 0
    assert [d["count"] for d in summary["per_day"]] == [0]
    exported = client.get("/api/export", params={**later, "format": "labels-csv"})
    assert exported.status_code == 404
    assert "no episodes" in exported.json()["detail"]


def test_missing_store_is_an_empty_state_not_an_error_page(tmp_path: Path) -> None:
    with TestClient(create_app(store_path=tmp_path / "nobody.sqlite3")) as c:
        for path in ("/api/extent", "/api/episodes", "/api/sessions"):
            response = c.get(path)
            assert response.status_code == 404
            assert response.json()["code"] == "no_store"
            assert "Record a session first" in response.json()["detail"]
        device = c.get("/api/device").json()
        assert device["state"] == "no recordings"
        assert c.get("/api/calibration").json()["calibrations"] == []
        assert c.get("/").status_code == 200


def test_a_busy_store_is_503_with_retry_after(recorded: Recorded) -> None:
    app = create_app(store_path=recorded.path)

    def busy() -> None:
        raise StorageError("database is locked (another process holds it)")

    app.dependency_overrides[read_store] = busy
    with TestClient(app) as c:
        response = c.get("/api/episodes")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert "cannot be read just now" in response.json()["detail"]


def test_a_file_that_is_not_a_store_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite3"
    path.write_text("not a database\n" * 200)
    with TestClient(create_app(store_path=path)) as c:
        response = c.get("/api/episodes")
    assert response.status_code == 503
    assert "not a spasmwatch store" in response.json()["detail"]


def test_timeline_has_gaps_and_bands(client: TestClient) -> None:
    data = client.get("/api/timeline", params={"start": T0_US, "end": END_US, "bins": 120}).json()
    (gap,) = data["gaps"]
    assert gap["n_samples"] == GAP[1]
    assert gap["start_us"] == pytest.approx(T0_US + GAP[0] * 1000, abs=2000)
    bands = data["bands"]
    assert len(bands["activity"]) == len(bands["quality"]) == 120
    assert bands["quality"][61]["state"] == "no data"  # the probe at 61.5 s is in the gap
    assert bands["quality"][30]["state"] == "ok"
    assert set(bands["activity"]) == {"still"}
    assert [e["kind"] for e in data["episodes"]] == ["tonic", "voluntary", "cramp"]


def test_signal_is_min_max_of_the_stored_samples(client: TestClient, recorded: Recorded) -> None:
    data = client.get("/api/signal", params={"start": T0_US, "end": END_US, "points": 120}).json()
    assert data["channels"] == ["EMG L", "EMG R"]
    raw_min = np.array(data["raw"]["min"], dtype=float)
    raw_max = np.array(data["raw"]["max"], dtype=float)
    volts_uv = recorded.emg_counts * VOLTS_PER_COUNT * 1e6
    for k in (0, 12, 100):  # 1 s bins
        block = volts_uv[:, k * 1000 : (k + 1) * 1000]
        np.testing.assert_allclose(raw_min[:, k], block.min(axis=1), atol=0.01)
        np.testing.assert_allclose(raw_max[:, k], block.max(axis=1), atol=0.01)
    assert np.isnan(raw_min[:, 61]).all()  # the gap stays empty
    assert data["filtered"] is not None
    assert data["envelope"] is not None
    envelope = np.array(data["envelope"], dtype=float)
    assert np.nanmean(envelope[0, 11:17]) > 20 * np.nanmean(envelope[0, 30:40])  # the burst


def test_labels_persist_with_trigger_and_count_in_the_summary(
    writable_client: TestClient, fresh: Recorded
) -> None:
    tonic, voluntary, _ = fresh.episode_ids
    posted = writable_client.post(
        f"/api/episodes/{voluntary}/labels",
        json={"label": "spasm", "trigger": "lifting", "note": "picked up a box"},
    )
    assert posted.status_code == 201
    assert posted.json()["label"]["trigger"] == "lifting"
    rejected = writable_client.post(f"/api/episodes/{tonic}/labels", json={"label": "artefact"})
    assert rejected.status_code == 201
    with RecordingStore.open(fresh.path, readonly=True) as store:
        (label,) = store.labels(episode_id=voluntary)
    assert (label.label, label.trigger, label.note) == ("spasm", "lifting", "picked up a box")
    detail = writable_client.get(f"/api/episodes/{voluntary}").json()
    assert detail["reviewed_involuntary"] is True
    assert [x["label"] for x in detail["labels"]] == ["spasm"]
    unreviewed = writable_client.get("/api/episodes", params={"review": "unreviewed"}).json()
    assert unreviewed["total"] == 1
    summary = writable_client.get(
        "/api/summary", params={"start": T0_US, "end": T0_US + 86_400_000_000}
    ).json()
    assert summary["n_spasms"] == 2  # the cramp and the relabelled contraction
    assert summary["labels"] == {"relabelled": 1, "rejected": 1, "unreviewed": 1}
    assert summary["triggers"] == {"lifting": 1}


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"label": "maybe"}, "invalid label"),
        ({"label": "spasm", "trigger": "moon phase"}, "invalid trigger"),
        ({"note": "no label"}, "label"),
    ],
)
def test_bad_labels_are_refused(
    writable_client: TestClient, fresh: Recorded, body: dict[str, str], word: str
) -> None:
    response = writable_client.post(f"/api/episodes/{fresh.episode_ids[0]}/labels", json=body)
    assert response.status_code == 400
    assert word in response.json()["detail"]
    with RecordingStore.open(fresh.path, readonly=True) as store:
        assert store.labels() == []


def test_summary_for_the_clinician(client: TestClient) -> None:
    s = client.get(
        "/api/summary", params={"start": "2024-03-01T00:00:00Z", "end": "2024-03-08T00:00:00Z"}
    ).json()
    assert s["n_spasms"] == 2
    assert [d["count"] for d in s["per_day"]] == [0, 0, 0, 2, 0, 0, 0]
    assert s["hour_of_day"][8] == 2
    assert sum(s["hour_of_day"]) == 2
    assert s["side"] == {"left": 1, "right": 1}
    assert s["severity"] == {"mild": 1, "severe": 1}
    assert s["median_s"] == pytest.approx(39.0)
    assert s["total_s"] == pytest.approx(78.0)
    assert s["activity_before"] == {"still": 2}
    assert s["per_week"] == [{"week": "2024-W10", "count": 2, "median_s": 39.0}]
    shifted = client.get(
        "/api/summary",
        params={
            "start": "2024-03-01T00:00:00Z",
            "end": "2024-03-08T00:00:00Z",
            "tz_offset_min": 600,
        },
    ).json()
    assert shifted["hour_of_day"][18] == 2  # 08:00 UTC is 18:00 at UTC+10


def test_device_page_without_a_live_recording(client: TestClient) -> None:
    d = client.get("/api/device").json()
    assert d["live"] is False
    assert d["state"] == "not live"
    assert d["sfreq"] == 1000.0
    assert d["loss_pct"] == pytest.approx(100 * 3000 / 120_000, rel=1e-3)
    assert [c["name"] for c in d["channels"]] == ["EMG L", "EMG R"]
    assert any("last recorded session" in a["text"] for a in d["advice"])


def test_export_labels_csv(writable_client: TestClient, fresh: Recorded) -> None:
    writable_client.post(
        f"/api/episodes/{fresh.episode_ids[0]}/labels", json={"label": "spasm", "trigger": "stress"}
    )
    formats = [f["name"] for f in writable_client.get("/api/export/formats").json()["formats"]]
    assert "labels-csv" in formats
    response = writable_client.get(
        "/api/export", params={"start": T0_US, "end": END_US, "format": "labels-csv"}
    )
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("episode_id,session_id,start_utc")
    assert len(lines) == 4
    assert ",spasm,stress," in lines[1]
    bad = writable_client.get(
        "/api/export", params={"start": T0_US, "end": END_US, "format": "xls"}
    )
    assert bad.status_code == 400
    assert "labels-csv" in bad.json()["detail"]


def test_export_research_formats(client: TestClient) -> None:
    formats = [f["name"] for f in client.get("/api/export/formats").json()["formats"]]
    assert {"edf", "csv"} <= set(formats)
    response = client.get("/api/export", params={"start": T0_US, "end": END_US, "format": "csv"})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        names = zf.namelist()
    assert any(n.endswith(".csv") for n in names)
    edf = client.get("/api/export", params={"start": T0_US, "end": END_US, "format": "edf"})
    assert edf.status_code == 200, edf.text
    assert edf.content[:8] == b"0       " or edf.content[:2] == b"PK"  # a file, or parts zipped
