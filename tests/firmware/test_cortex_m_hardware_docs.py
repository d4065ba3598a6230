"""The hardware folder: bill of materials, diagrams and links are consistent.

- ``hardware/bom.csv`` parses, every row is complete, and the totals printed in
  ``hardware/bom.md`` are the sums of the CSV; the wearable's device total stays under
  60 USD (laptop excluded, as the project promises).
- Every SVG in ``hardware/`` is well-formed XML with an ``<svg>`` root, a viewBox and a
  title, and is shown by one of the Markdown pages.
- Every relative link of the Markdown pages points to an existing file.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARDWARE = ROOT / "hardware"
COLUMNS = ["build", "item", "manufacturer", "part_number", "qty", "unit_usd", "category", "notes"]
BUILDS = {"uno", "wearable"}
CATEGORIES = {"device", "optional", "consumable"}
SVG_NS = "{http://www.w3.org/2000/svg}"


def _rows() -> list[dict[str, str]]:
    with (HARDWARE / "bom.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def _totals() -> dict[tuple[str, str], float]:
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for row in _rows():
        totals[row["build"], row["category"]] += int(row["qty"]) * float(row["unit_usd"])
    return {key: round(value, 2) for key, value in totals.items()}


def test_bom_rows_are_complete() -> None:
    rows = _rows()
    assert len(rows) >= 10
    for row in rows:
        assert row["build"] in BUILDS, row
        assert row["category"] in CATEGORIES, row
        assert row["item"].strip(), row
        assert row["part_number"].strip(), row
        assert int(row["qty"]) >= 1, row
        assert 0 < float(row["unit_usd"]) < 100, row


def test_each_build_has_two_front_ends_and_a_board() -> None:
    for build, board in (("uno", "A000066"), ("wearable", "102010469")):
        rows = [r for r in _rows() if r["build"] == build and r["category"] == "device"]
        front_ends = [r for r in rows if "BioAmp EXG Pill" in r["item"]]
        assert sum(int(r["qty"]) for r in front_ends) == 2
        assert any(r["part_number"] == board for r in rows)


def test_wearable_costs_under_60_usd() -> None:
    assert _totals()["wearable", "device"] < 60.0


def test_totals_in_bom_md_are_the_csv_sums() -> None:
    text = (HARDWARE / "bom.md").read_text(encoding="utf-8")
    stated = [
        float(v)
        for v in re.findall(r"\*\*(?:device total|first purchase)\*\*.*?\*\*([0-9.]+)\*\*", text)
    ]
    totals = _totals()
    expected = [
        totals["uno", "device"],
        totals["wearable", "device"],
        totals["wearable", "consumable"],
    ]
    assert stated == pytest.approx(expected, abs=0.005)
    assert totals["uno", "consumable"] == totals["wearable", "consumable"]


def test_every_csv_row_is_in_the_bom_tables() -> None:
    text = (HARDWARE / "bom.md").read_text(encoding="utf-8")
    for row in _rows():
        assert f"| {float(row['unit_usd']):.2f} |" in text, row["item"]


@pytest.mark.parametrize("svg", sorted(HARDWARE.glob("*.svg")), ids=lambda p: p.name)
def test_svg_is_well_formed_and_shown(svg: Path) -> None:
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG_NS}svg"
    assert len(root.get("viewBox", "").split()) == 4
    title = root.find(f"{SVG_NS}title")
    assert title is not None
    assert (title.text or "").strip()
    pages = " ".join(p.read_text(encoding="utf-8") for p in HARDWARE.glob("*.md"))
    assert f"]({svg.name})" in pages, f"{svg.name} is not shown on any page"


def test_there_are_the_three_figures() -> None:
    names = {p.name for p in HARDWARE.glob("*.svg")}
    assert {"wiring_uno.svg", "wiring_xiao.svg", "electrode_placement.svg"} <= names


@pytest.mark.parametrize("page", sorted(HARDWARE.glob("*.md")), ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_safety_is_stated_first() -> None:
    text = (HARDWARE / "README.md").read_text(encoding="utf-8")
    safety = text.index("Battery power only while electrodes are on the body")
    assert safety < text.index("## Two builds")
    assert "not a medical device" in text
    assert "USB isolator" in text
