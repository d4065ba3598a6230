"""The XIAO nRF52840 Sense port: its vendor-independent part built for the Cortex-M4F, and
its board logic checked against the protocol's BLE layout.

``make -C firmware/boards/xiao_nrf52840`` compiles the portable core (through the sketch's
own wrapper files) and ``xiao_board.c`` with ``arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb
-mfloat-abi=hard -mfpu=fpv4-sp-d16 -Wall -Wextra -Werror``, links them and prints the size.
``make selftest`` builds a host probe of ``xiao_board.c`` whose output is compared with
docs/protocol.md section 12 and ``host.protocol.gatt``. The sketch itself needs the vendor
core and is not built here. The tests fail (never skip) when a tool is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from host.protocol import gatt

ROOT = Path(__file__).resolve().parents[2]
XIAO_DIR = ROOT / "firmware" / "boards" / "xiao_nrf52840"
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
DEVICE_ID = 0x0123456789AB1A2B


def _make(*targets: str) -> str:
    missing = [t for t in ("make", "arm-none-eabi-gcc", "cc") if shutil.which(t) is None]
    if missing:
        pytest.fail(
            f"building the XIAO port needs {', '.join(missing)} on PATH; install the Debian "
            "packages build-essential, gcc-arm-none-eabi and libnewlib-arm-none-eabi"
        )
    result = subprocess.run(
        ["make", "-C", str(XIAO_DIR), *targets],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"make {' '.join(targets)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="module")
def probe() -> dict[str, list[str]]:
    """Lines of the host self-test, keyed by their first word (repeated keys kept in order)."""
    _make("selftest")
    out = subprocess.run(
        [str(XIAO_DIR / "build" / "xiao_selftest")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    lines: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, rest = line.partition(" ")
        lines.setdefault(key, []).append(rest)
    return lines


def _doc_hex(label: str) -> bytes:
    """The bytes of the advertising example of docs/protocol.md section 12.3."""
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    match = re.search(rf"^{label}\s+(.*)$", text, re.M)
    assert match, f"no '{label}' example in docs/protocol.md"
    tokens = []
    for token in match.group(1).split():
        if not re.fullmatch(r"[0-9a-f]{2}", token):
            break
        tokens.append(token)
    return bytes.fromhex("".join(tokens))


def test_cortex_m4_build_links_and_fits() -> None:
    out = _make("-B")  # rebuild, so the compiler lines (and their flags) are in the output
    assert "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16" in out
    assert "-Werror" in out
    match = re.search(
        r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+\S+xiao_link_check\.elf$", out, re.M
    )
    assert match, f"no size line in:\n{out}"
    text, data, bss = (int(g) for g in match.groups())
    # The application flash after the SoftDevice is 820 KiB and RAM about 232 KiB; the
    # sketch's own part must leave nearly all of it to the vendor core and BLE stack.
    assert 2_000 < text + data < 32 * 1024
    # The 2 s sample ring (2048 slots of 8 bytes) dominates RAM.
    assert 2048 * 8 <= bss < 32 * 1024


def test_advertising_matches_the_protocol_example(probe: dict[str, list[str]]) -> None:
    assert bytes.fromhex(probe["adv"][0].replace(" ", "")) == _doc_hex("advertising data")
    assert bytes.fromhex(probe["scan"][0].replace(" ", "")) == _doc_hex("scan response")
    assert probe["name"] == [gatt.advertised_name(DEVICE_ID)]


def test_uuids_match_the_host(probe: dict[str, list[str]]) -> None:
    for line, expected in zip(
        probe["uuid0"] + probe["uuid1"] + probe["uuid2"],
        (gatt.SERVICE_UUID, gatt.DATA_CHAR_UUID, gatt.COMMAND_CHAR_UUID),
        strict=True,
    ):
        # Least significant byte first, as Bluetooth sends 128-bit UUIDs.
        assert bytes.fromhex(line.replace(" ", ""))[::-1] == uuid.UUID(expected).bytes


def test_device_information_strings(probe: dict[str, list[str]]) -> None:
    assert probe["serial"] == [f"{DEVICE_ID:016X}"]
    assert probe["firmware"] == ["0.1.0"]
    board, channels, bits, vref, gain, rate = probe["board"][0].split()
    assert (board, int(channels), int(bits), int(rate)) == ("xiao-nrf52840-sense", 2, 12, 1_000_000)
    assert float(vref) == pytest.approx(3.0)
    assert float(gain) == pytest.approx(2420 * 10 / 16.8, rel=1e-5)


def test_adc_codes_become_signed_counts(probe: dict[str, list[str]]) -> None:
    pairs = {int(a): int(b) for a, b in (line.split() for line in probe["counts"])}
    assert pairs == {-8: -2048, 0: -2048, 2048: 0, 4095: 2047, 4100: 2047}


def test_battery_voltage_and_charge(probe: dict[str, list[str]]) -> None:
    for line in probe["vbat"]:
        raw, mv = (int(v) for v in line.split())
        assert mv == round(raw * 3000 / 4096 * 1510 / 510)
    pairs = [line.split() for line in probe["pct"]]
    pct = {int(mv): int(p) for mv, p in pairs}
    values = [pct[mv] for mv in sorted(pct)]
    assert values == sorted(values), "state of charge must not fall as the voltage rises"
    assert pct[3300] == 0
    assert pct[4200] == 100


def test_imu_axes_map_to_the_body_frame(probe: dict[str, list[str]]) -> None:
    # IMU (X, Y, Z) = (16, -32768, 32767) -> body (X, -Y, -Z), negation saturating.
    assert probe["imu"] == ["16 32767 -32767"]


def test_frames_split_into_notifications(probe: dict[str, list[str]]) -> None:
    chunks = {int(v.split()[0]): [int(c) for c in v.split()[1:]] for v in probe["chunks"]}
    assert chunks[247] == [227]
    assert sum(chunks[23]) == 227
    assert all(c == 20 for c in chunks[23][:-1])


def test_command_queue_keeps_order_and_counts_drops(probe: dict[str, list[str]]) -> None:
    got, dropped, same = (int(v) for v in probe["rxq"][0].split())
    assert (got, dropped, same) == (256, 300 - 256, 1)
