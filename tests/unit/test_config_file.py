"""The config file: where it is found, how it is read, what it sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from inngestd import config_file
from inngestd.config_file import ConfigError

FLAGS = {
    "event-key": ("event_keys", True),
    "sdk-url": ("sdk_urls", True),
    "signing-key": ("signing_key", False),
    "port": ("port", False),
    "no-ui": ("no_ui", False),
}


def test_found_in_the_directory_or_a_parent_before_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config" / "inngest").mkdir(parents=True)
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    assert config_file.find(work, home) is None

    in_home = home / ".config" / "inngest" / "inngest.yml"
    in_home.write_text("port: 1\n")
    assert config_file.find(work, home) == in_home

    in_parent = tmp_path / "a" / "inngest.yaml"
    in_parent.write_text("port: 2\n")
    assert config_file.find(work, home) == in_parent

    # Nearest directory first; within one directory, .json before .yaml before .yml.
    (work / "inngest.yml").write_text("port: 3\n")
    (work / "inngest.json").write_text('{"port": 4}')
    assert config_file.find(work, home) == work / "inngest.json"
    assert config_file.find(work, None) == work / "inngest.json"


def test_json_and_yaml_are_read(tmp_path: Path) -> None:
    yml = tmp_path / "inngest.yaml"
    yml.write_text("event-key:\n  - a\n  - b\nport: 9000\nno-ui: true\n")
    assert config_file.load(yml) == {
        "event-key": ["a", "b"],
        "port": 9000,
        "no-ui": True,
    }
    js = tmp_path / "inngest.json"
    js.write_text('{"signing-key": "signkey-prod-00ff"}')
    assert config_file.load(js) == {"signing-key": "signkey-prod-00ff"}
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    assert config_file.load(empty) == {}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("inngest.json", "{port: 1", "not valid JSON/YAML"),
        ("inngest.yaml", "port: [1\n", "not valid JSON/YAML"),
        ("inngest.yaml", "- a\n- b\n", "must hold a mapping"),
    ],
)
def test_bad_files_are_refused_with_their_name(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        config_file.load(path)
    assert str(path) in str(info.value)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        config_file.load(tmp_path / "nope.yaml")


def test_defaults_map_flag_names_to_parameters(tmp_path: Path) -> None:
    path = tmp_path / "inngest.yaml"
    got, ignored = config_file.defaults(
        {
            "event-key": "one",
            "sdk-url": ["http://a/api/inngest", "http://b/api/inngest"],
            "port": 9000,
            "no-ui": True,
            "in-memory": True,
            "bogus": 1,
        },
        FLAGS,
        path,
    )
    assert got == {
        "event_keys": ["one"],
        "sdk_urls": ["http://a/api/inngest", "http://b/api/inngest"],
        "port": 9000,
        "no_ui": True,
    }
    assert ignored == ["in-memory", "bogus"]
    assert "in-memory" in config_file.GO_ONLY


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"port": [1, 2]}, "takes one value"),
        ({"port": {"a": 1}}, "must not be a mapping"),
    ],
)
def test_defaults_refuse_values_of_the_wrong_shape(
    tmp_path: Path, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_file.defaults(settings, FLAGS, tmp_path / "inngest.yaml")
