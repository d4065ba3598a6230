from __future__ import annotations

import sys
from pathlib import Path

import pytest

from host.errors import ConfigError
from host.storage import RecordingStore, check_wearer, default_data_dir, store_path


def test_env_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPASMWATCH_DATA_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "mine"


def test_env_variable_expands_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SPASMWATCH_DATA_DIR", "~/records")
    assert default_data_dir() == tmp_path / "records"


@pytest.mark.parametrize(
    ("platform", "xdg", "expected"),
    [
        ("linux", "ABS/xdg", "ABS/xdg/spasmwatch"),
        ("linux", "relative/xdg", "HOME/.local/share/spasmwatch"),  # relative: ignored
        ("linux", "", "HOME/.local/share/spasmwatch"),
        ("darwin", "", "HOME/Library/Application Support/spasmwatch"),
    ],
)
def test_platform_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, platform: str, xdg: str, expected: str
) -> None:
    home = tmp_path / "home"
    monkeypatch.delenv("SPASMWATCH_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", xdg.replace("ABS", str(tmp_path)))
    monkeypatch.setattr(sys, "platform", platform)
    want = expected.replace("ABS", str(tmp_path)).replace("HOME", str(home))
    assert default_data_dir() == Path(want)


def test_windows_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SPASMWATCH_DATA_DIR", raising=False)
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    monkeypatch.setattr(sys, "platform", "win32")
    assert default_data_dir() == tmp_path / "Local" / "spasmwatch"


@pytest.mark.parametrize("name", ["alice", "patient-07", "A.B_c", "x" * 64, "0"])
def test_valid_wearer_names(name: str, tmp_path: Path) -> None:
    assert check_wearer(name) == name
    path = store_path(name, tmp_path)
    assert path.parent == tmp_path
    assert path.name == f"{name}.sqlite3"


@pytest.mark.parametrize(
    "name",
    ["", "../evil", "a/b", "a\\b", ".hidden", "-x", "x" * 65, "trailing.", "nul", "COM1.db", "é"],
)
def test_invalid_wearer_names(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Invalid wearer name") as info:
        store_path(name, tmp_path)
    assert repr(name) in str(info.value)


def test_store_path_uses_default_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPASMWATCH_DATA_DIR", str(tmp_path))
    assert store_path("bob") == tmp_path / "bob.sqlite3"
    assert not (tmp_path / "bob.sqlite3").exists()  # nothing is created


def test_for_wearer_creates_directory_and_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_dir = tmp_path / "a" / "b"
    monkeypatch.setenv("SPASMWATCH_DATA_DIR", str(data_dir))
    with RecordingStore.for_wearer("carol") as store:
        assert store.path == data_dir / "carol.sqlite3"
    assert (data_dir / "carol.sqlite3").is_file()
    with RecordingStore.for_wearer("carol", readonly=True) as reader:
        assert reader.list_sessions() == []
