"""The front end ships whole: vendored uPlot as published, modules, no build step."""

from __future__ import annotations

import hashlib
import re

from host.dashboard.app import STATIC_DIR


def test_vendored_files_match_their_recorded_checksums() -> None:
    readme = (STATIC_DIR / "vendor" / "README.md").read_text()
    rows = re.findall(r"\| `([^`]+)` \| `[^`]+` \| `([0-9a-f]{64})` \|", readme)
    assert {name for name, _ in rows} == {"uPlot.iife.min.js", "uPlot.min.css"}
    for name, digest in rows:
        data = (STATIC_DIR / "vendor" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert "MIT" in (STATIC_DIR / "vendor" / "uPlot.LICENSE").read_text()


def test_every_imported_module_exists_and_nothing_is_fetched_from_elsewhere() -> None:
    js = STATIC_DIR / "js"
    for module in js.glob("*.js"):
        text = module.read_text().replace("http://www.w3.org/2000/svg", "")  # SVG namespace
        for target in re.findall(r'from "\./([\w-]+\.js)"', text):
            assert (js / target).exists(), f"{module.name} imports {target}"
        assert "http://" not in text, module.name
        assert "https://" not in text, module.name
    index = (STATIC_DIR / "index.html").read_text().replace("http://www.w3.org/2000/svg", "")
    assert "http://" not in index
    assert "https://" not in index
    for page in ("live", "timeline", "episodes", "summary", "device", "calibration", "export"):
        assert (js / f"{page}.js").exists()
        assert f'href="#{page}"' in index
