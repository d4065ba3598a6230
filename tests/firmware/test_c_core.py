"""The firmware's portable C core: host-compiled tests and the Uno build's size."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"

#: ATmega328P: 32 KiB flash of which Optiboot keeps 512 bytes; 2 KiB SRAM.
UNO_FLASH_BYTES = 32 * 1024 - 512
UNO_RAM_BYTES = 2 * 1024
#: RAM the stack needs on top of the static data (ISRs nest on the main loop's frames).
UNO_STACK_RESERVE_BYTES = 512


def _require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"firmware toolchain incomplete: {', '.join(missing)} not found on PATH; install "
            "gcc, make, gcc-avr, avr-libc, binutils-avr and gcc-arm-none-eabi (see "
            "docs/firmware.md)"
        )


def _make(*targets: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(FIRMWARE), *targets],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_host_c_tests_pass() -> None:
    _require("make", "cc")
    result = _make("test")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make -C firmware test failed:\n{output}"
    match = re.search(r"(\d+) checks, (\d+) failed", output)
    assert match is not None, f"no summary line in the C tests' output:\n{output}"
    checks, failed = int(match.group(1)), int(match.group(2))
    assert failed == 0
    # The golden vectors alone hold thousands of sample values; a handful of checks means
    # the vectors file was not read.
    assert checks > 1000


def test_uno_elf_builds_with_werror_and_fits() -> None:
    _require("make", "avr-gcc", "avr-size", "avr-objcopy")
    result = _make("-B", "uno")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make -C firmware uno failed:\n{output}"
    assert "-Werror" in output
    assert "-pedantic" in output
    assert "warning" not in output.lower()
    elf = FIRMWARE / "build" / "uno" / "spasmwatch-uno.elf"
    sizes = subprocess.run(
        ["avr-size", "-A", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    section = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\.(\w+)\s+(\d+)", sizes, re.M)}
    flash = section["text"] + section.get("data", 0)
    ram = section.get("data", 0) + section.get("bss", 0) + section.get("noinit", 0)
    assert 0 < flash < UNO_FLASH_BYTES, f"flash {flash} bytes"
    assert 0 < ram < UNO_RAM_BYTES - UNO_STACK_RESERVE_BYTES, f"RAM {ram} bytes"
    assert (FIRMWARE / "build" / "uno" / "spasmwatch-uno.hex").stat().st_size > 0


def test_core_compiles_for_avr_and_cortex_m() -> None:
    _require("make", "cc", "avr-gcc", "arm-none-eabi-gcc")
    result = _make("core-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compiles cleanly" in result.stdout
