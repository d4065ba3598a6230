"""The dashboard in a real headless Chromium, on a real recording of the simulated wearable.

One server (the pipeline over ``sim://quick?speed=1`` and uvicorn on 127.0.0.1, in a
thread of their own) and one browser serve the whole module, in the order a wearer uses
it: live data arrives and is drawn, the banner shows during the scripted spasm (a tonic
spasm at 5-13 s), the timeline shows the stored episode, a label survives a reload, and
exports download. Debian's Chromium is driven by Playwright (no browser is downloaded).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from host.dashboard.testing import LiveDashboard

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.timeout(240)


class _Server:
    """LiveDashboard in a thread with its own event loop."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported to the test
            self.error = exc
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with LiveDashboard(self.store, "sim://quick?speed=1") as live:
            self.url = live.url
            self._ready.set()
            await self._stop.wait()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(30), "the dashboard did not start"
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    s = _Server(tmp_path_factory.mktemp("dash") / "w.sqlite3")
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser: Browser, server: _Server) -> Iterator[Page]:
    p = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(server.url + "#live")
    yield p
    assert errors == [], errors
    p.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _live(page: Page) -> dict[str, Any]:
    out: dict[str, Any] = page.evaluate(
        "() => { const s = window.__swLive || {}; return {draws: s.draws || 0, fps: s.fps || 0,"
        " batches: s.batches || 0, latencies: s.latencies || [], bannerSeen: !!s.bannerSeen}; }"
    )
    return out


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def test_live_data_arrives_and_is_drawn(page: Page, shots: Path) -> None:
    page.wait_for_function("() => window.__swLive && window.__swLive.draws > 120", timeout=20_000)
    expect(page.locator("canvas")).to_have_count(3)  # EMG L, EMG R, accelerometer
    time.sleep(2.0)
    # Latencies need the browser's clock offset to the server (a ping round trip), which
    # a busy machine can delay: wait for them rather than for a fixed time.
    page.wait_for_function(
        "() => window.__swLive.latencies.length > 20 && window.__swLive.batches > 40",
        timeout=30_000,
    )
    stats = _live(page)
    assert stats["batches"] > 40
    # Headless Chromium paces animation frames at 60 Hz; on a busy 2-core machine its
    # software rendering gets less (docs/dashboard.md has the measured rates).
    assert stats["fps"] >= 20
    lat = stats["latencies"]
    assert len(lat) > 20
    assert _pct(lat, 99) < 250  # the 100 ms target is measured in the benchmark, unloaded
    # Pixels: the EMG canvas is not blank.
    inked = page.evaluate(
        "() => { const c = document.querySelector('canvas'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0;"
        " for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 2] < 200) n++; return n; }"
    )
    assert inked > 2000
    page.screenshot(path=str(shots / "live.png"))
    (shots / "live_stats.json").write_text(
        json.dumps({"fps": stats["fps"], "p50": _pct(lat, 50), "p99": _pct(lat, 99), "n": len(lat)})
    )


def test_banner_during_the_simulated_spasm(page: Page, shots: Path) -> None:
    banner = page.locator("#banner.show:not(.soft)")
    banner.wait_for(state="visible", timeout=30_000)
    expect(banner).to_contain_text("Involuntary episode in progress")
    expect(banner).to_contain_text("left side")
    page.screenshot(path=str(shots / "live_banner.png"))
    expect(page.locator("#banner")).to_contain_text("Spasm recorded", timeout=20_000)


def _stored_spasm(server: _Server) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = httpx.get(server.url + "api/episodes", params={"involuntary": "true"}).json()
        if rows["total"]:
            return dict(rows["episodes"][-1])
        time.sleep(0.5)
    raise AssertionError("no spasm was stored")


def test_the_timeline_shows_the_episode(page: Page, server: _Server, shots: Path) -> None:
    spasm = _stored_spasm(server)
    assert spasm["kind"] == "tonic"
    assert spasm["side"] == "left"
    page.goto(server.url + "#timeline")
    mark = page.locator(f'.episode-mark[data-episode="{spasm["id"]}"]')
    mark.wait_for(timeout=10_000)
    mark.click()
    detail = page.locator("#episode-detail")
    expect(detail).to_contain_text("Spasm at")
    expect(detail.locator("canvas")).to_have_count(2, timeout=10_000)
    page.screenshot(path=str(shots / "timeline.png"), full_page=True)


def test_a_label_persists_across_a_reload(page: Page, server: _Server, shots: Path) -> None:
    spasm = _stored_spasm(server)
    page.goto(server.url + "#episodes")
    row = page.locator(f'tbody tr[data-id="{spasm["id"]}"]')
    row.click()
    page.select_option("#label-trigger", "stress")
    page.fill("#label-note", "after a long meeting")
    page.click("#btn-confirm")
    expect(row.locator(".label-cell")).to_have_text("spasm · stress", timeout=10_000)
    page.reload()
    row = page.locator(f'tbody tr[data-id="{spasm["id"]}"]')
    expect(row.locator(".label-cell")).to_have_text("spasm · stress", timeout=10_000)
    row.click()
    expect(page.locator("#current-label")).to_contain_text("after a long meeting")
    page.screenshot(path=str(shots / "episodes.png"), full_page=True)


@pytest.mark.parametrize(("fmt", "suffix"), [("labels-csv", ".csv"), ("edf", ".edf")])
def test_exports_download(page: Page, server: _Server, fmt: str, suffix: str) -> None:
    page.goto(server.url + "#export")
    page.check(f'input[name=format][value="{fmt}"]')
    with page.expect_download(timeout=30_000) as info:
        page.click("#exp-download")
    download = info.value
    path = download.path()
    assert download.suggested_filename.endswith((suffix, ".zip"))
    data = Path(path).read_bytes()
    if fmt == "labels-csv":
        assert b"stress" in data
        assert data.startswith(b"episode_id,")
    elif download.suggested_filename.endswith(".edf"):
        assert data[:8] == b"0       "  # the EDF version field


def test_other_pages_render_without_errors(page: Page, server: _Server, shots: Path) -> None:
    for name, text in (
        ("summary", "Spasms per day"),
        ("device", "What to do"),
        ("calibration", "Start calibration"),
    ):
        page.goto(server.url + f"#{name}")
        expect(page.locator("main")).to_contain_text(text, timeout=10_000)
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
