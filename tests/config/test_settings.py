"""Settings mean what they say: every yes/no setting reads 1/0, true/false, yes/no, on/off in
any case, anything else stops start-up naming the setting; secrets may come from files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from forms_app import create_app
from forms_app.config import SETTINGS, Config, ConfigError, parse_bool
from forms_app.storage.crypto import new_key

YES = ["1", "true", "TRUE", "True", "yes", "Yes", "on", "ON", " on "]
NO = ["0", "false", "FALSE", "False", "no", "NO", "off", "Off"]


@pytest.mark.parametrize("word", YES)
def test_yes_words(word: str) -> None:
    assert parse_bool("X", word) is True


@pytest.mark.parametrize("word", NO)
def test_no_words(word: str) -> None:
    assert parse_bool("X", word) is False


@pytest.mark.parametrize("word", ["maybe", "2", "y", "n", "enabled", "-1", "false!"])
def test_anything_else_names_the_setting_and_the_value(word: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_bool("STAFF_CONSOLE", word)
    assert "STAFF_CONSOLE" in str(exc.value) and repr(word) in str(exc.value)


def test_every_boolean_setting_goes_through_the_one_parser(tmp_path: Path) -> None:
    for setting in (s for s in SETTINGS if s.kind is bool):
        assert Config.from_env(tmp_path, {setting.name: "off"})[setting.name] is False
        assert Config.from_env(tmp_path, {setting.name: "Yes"})[setting.name] is True
        with pytest.raises(ConfigError, match=setting.name):
            Config.from_env(tmp_path, {setting.name: "sometimes"})


def test_a_bad_number_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="UPLOAD_MAX_FILE_BYTES"):
        Config.from_env(tmp_path, {"UPLOAD_MAX_FILE_BYTES": "ten"})


def _base(tmp_path: Path) -> dict[str, object]:
    """The least a test app needs; everything else comes from the environment."""
    return {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'forms.db'}",
            "UPLOAD_DIR": str(tmp_path / "uploads"), "SITE_DIR": str(tmp_path / "no-site"),
            "SECRET_KEY": "s", "DATA_KEY": new_key(), "HASH_KEY": "h"}


@pytest.mark.parametrize("word", ["false", "no", "off", "0", "FALSE"])
def test_staff_console_false_leaves_the_console_out(tmp_path: Path, monkeypatch,
                                                    word: str) -> None:
    monkeypatch.setenv("STAFF_CONSOLE", word)
    app = create_app(_base(tmp_path))
    client = app.test_client()
    assert client.get("/staff/login").status_code == 404
    assert client.get("/apply/").status_code == 200
    app.extensions["forms_db"].dispose()


def test_staff_console_on_by_default(app) -> None:
    assert app.test_client().get("/staff/login").status_code == 200


@pytest.mark.parametrize("word", ["no", "false", "off"])
def test_auto_migrate_no_does_not_migrate(tmp_path: Path, monkeypatch, word: str) -> None:
    monkeypatch.setenv("AUTO_MIGRATE", word)
    app = create_app(_base(tmp_path))
    assert inspect(app.extensions["forms_db"].engine).get_table_names() == []
    app.extensions["forms_db"].dispose()


def test_an_unreadable_setting_stops_start_up(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STAFF_CONSOLE", "perhaps")
    with pytest.raises(ConfigError, match="STAFF_CONSOLE='perhaps'"):
        create_app(_base(tmp_path))


def test_secrets_from_files(tmp_path: Path, monkeypatch) -> None:
    key = new_key()
    (tmp_path / "data_key").write_text(key + "\n")
    (tmp_path / "secret").write_text("from-a-file\n")
    (tmp_path / "hash").write_text("hash-from-a-file")
    monkeypatch.setenv("DATA_KEY_FILE", str(tmp_path / "data_key"))
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("HASH_KEY_FILE", str(tmp_path / "hash"))
    base = {k: v for k, v in _base(tmp_path).items()
            if k not in ("SECRET_KEY", "DATA_KEY", "HASH_KEY")}
    app = create_app(base)
    assert app.config["DATA_KEY"] == key
    assert app.config["SECRET_KEY"] == "from-a-file"
    assert app.config["HASH_KEY"] == "hash-from-a-file"
    app.extensions["forms_db"].dispose()


def test_a_missing_secret_file_stops_start_up(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "nowhere"))
    base = {k: v for k, v in _base(tmp_path).items() if k != "SECRET_KEY"}
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE"):
        create_app(base)


def test_secrets_are_made_once_in_the_instance_folder(tmp_path: Path, monkeypatch) -> None:
    for name in ("SECRET_KEY", "DATA_KEY", "HASH_KEY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    base = {k: v for k, v in _base(tmp_path).items()
            if k not in ("SECRET_KEY", "DATA_KEY", "HASH_KEY")}
    first = create_app(base)
    second = create_app(base)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["DATA_KEY"] == second.config["DATA_KEY"]
    for app in (first, second):
        app.extensions["forms_db"].dispose()
