"""The Uno port on the Arduino core: the sketch built with plain avr-gcc, its size and layout.

``make -C firmware uno-arduino`` assembles the sketch folder as the Arduino IDE gets it and
compiles it against Debian's Arduino AVR core (package arduino-core-avr). Running it in the
emulator is in test_firmware_in_the_loop.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
SKETCH_SRC = FIRMWARE / "boards" / "uno" / "spasmwatch_uno"
BUILD = FIRMWARE / "build" / "uno-arduino"
ELF = BUILD / "spasmwatch-uno-arduino.elf"
SKETCH = BUILD / "sketch" / "spasmwatch_uno"
ARDUINO_AVR = Path("/usr/share/arduino/hardware/arduino/avr")

#: ATmega328P: 32 KiB flash of which Optiboot keeps 512 bytes; 2 KiB SRAM.
UNO_FLASH_BYTES = 32 * 1024 - 512
UNO_RAM_BYTES = 2 * 1024
#: RAM the stack needs on top of the static data (ISRs nest on the main loop's frames).
UNO_STACK_RESERVE_BYTES = 512
#: Interrupt vectors of the ATmega328P (datasheet, table 12-6, numbered from 0 = reset).
VECTORS = {"TIMER1_COMPA": 11, "TIMER0_OVF": 16, "USART_RX": 18, "USART_UDRE": 19, "ADC": 21}


def _require() -> None:
    missing = [
        tool
        for tool in ("make", "avr-gcc", "avr-g++", "avr-ar", "avr-size", "avr-objcopy", "avr-nm")
        if shutil.which(tool) is None
    ]
    if missing:
        pytest.fail(
            f"firmware toolchain incomplete: {', '.join(missing)} not found on PATH; install "
            "make, gcc-avr, avr-libc and binutils-avr (see docs/firmware.md)"
        )
    if not (ARDUINO_AVR / "cores" / "arduino" / "Arduino.h").exists():
        pytest.fail(f"the Arduino AVR core is not in {ARDUINO_AVR}: install arduino-core-avr")


@pytest.fixture(scope="module")
def build_output() -> str:
    """Rebuild the Arduino-core image from scratch and return make's output."""
    _require()
    result = subprocess.run(
        ["make", "-B", "-C", str(FIRMWARE), "uno-arduino"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make -C firmware uno-arduino failed:\n{output}"
    return output


def test_our_sources_build_with_werror(build_output: str) -> None:
    lines = build_output.splitlines()
    sources = [p.name for p in SKETCH_SRC.iterdir() if p.suffix in (".ino", ".c", ".cpp")]
    assert "spasmwatch_uno.ino" in sources
    for name in sources:  # each compiled from the assembled sketch folder, -Werror
        compiled = [line for line in lines if f" -c {SKETCH.relative_to(FIRMWARE)}/{name} " in line]
        assert len(compiled) == 1, f"{name} not compiled once"
        assert "-Werror" in compiled[0]
        assert "-Wextra" in compiled[0]
    assert "-include Arduino.h" in build_output
    # the vendor core: every source file, and WString.cpp with gcc-avr 5.4's DECIMAL_DIG fix
    wstring = [line for line in lines if "WString.cpp" in line and " -c " in line]
    assert wstring
    assert "-DDECIMAL_DIG=__DECIMAL_DIG__" in wstring[0]
    for flag in ("-mmcu=atmega328p", "-DF_CPU=16000000L", "-DARDUINO_AVR_UNO", "-DARDUINO=10819"):
        assert flag in wstring[0]
    vendor = [p.name for p in (ARDUINO_AVR / "cores" / "arduino").iterdir()]
    vendor_src = [name for name in vendor if Path(name).suffix in (".c", ".cpp", ".S")]
    for name in vendor_src:
        assert f"arduino-core/{name}.o" in build_output, f"{name} not compiled"
    assert "--gc-sections" in build_output
    assert "warning" not in build_output.lower()


def test_fits_the_uno_with_stack_headroom(build_output: str) -> None:
    sizes = subprocess.run(
        ["avr-size", "-A", str(ELF)], capture_output=True, text=True, check=True
    ).stdout
    section = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\.(\w+)\s+(\d+)", sizes, re.M)}
    flash = section["text"] + section.get("data", 0)
    ram = section.get("data", 0) + section.get("bss", 0) + section.get("noinit", 0)
    assert 0 < flash < UNO_FLASH_BYTES, f"flash {flash} bytes"
    assert 0 < ram < UNO_RAM_BYTES - UNO_STACK_RESERVE_BYTES, f"RAM {ram} bytes"
    assert (BUILD / "spasmwatch-uno-arduino.hex").stat().st_size > 0
    assert "Program:" in build_output  # make printed avr-size


def test_interrupts_shared_with_the_arduino_core(build_output: str) -> None:
    """Timer1 and the ADC are the board's; Timer0 (millis) and USART0 (Serial) the core's."""
    symbols = subprocess.run(
        ["avr-nm", str(ELF)], capture_output=True, text=True, check=True
    ).stdout
    defined = set(re.findall(r"^\w+ [Tt] (\w+)$", symbols, re.M))
    for name, number in VECTORS.items():
        assert f"__vector_{number}" in defined, f"{name} (vector {number}) has no handler"
    # the sketch's entry points and the shared board logic are linked in
    assert {"setup", "loop", "uno_board_begin", "uno_board_poll", "uno_board_rx"} <= defined


def test_sketch_folder_is_complete_for_the_ide(build_output: str) -> None:
    """What the IDE opens: the .ino named after its folder, a wrapper per core file, core/."""
    assert (SKETCH / "spasmwatch_uno.ino").is_file()
    core_c = sorted(p.name for p in (FIRMWARE / "core").glob("*.c"))
    core_h = sorted(p.name for p in (FIRMWARE / "core").glob("*.h"))
    assert core_c
    wrappers = sorted(p.name for p in SKETCH_SRC.glob("core_*.c"))
    assert wrappers == [f"core_{name}" for name in core_c]
    for name in core_c:
        text = (SKETCH_SRC / f"core_{name}").read_text()
        assert f'#include "core/{name}"' in text
        assert text.index('#include "uno_config.h"') < text.index(f'#include "core/{name}"')
    assert sorted(p.name for p in (SKETCH / "core").iterdir()) == sorted(core_c + core_h)
    for name in core_c + core_h:
        assert (SKETCH / "core" / name).read_bytes() == (FIRMWARE / "core" / name).read_bytes()
    for path in SKETCH_SRC.iterdir():
        if path.is_file() and path.suffix in (".ino", ".c", ".cpp", ".h"):
            assert (SKETCH / path.name).read_bytes() == path.read_bytes()
