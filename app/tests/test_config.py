"""Config comes from the environment, never from the code."""

from __future__ import annotations

from pathlib import Path

from app.config import load_config, read_release


def test_secret_key_comes_from_environment(tmp_path: Path) -> None:
    assert load_config({"SECRET_KEY": "s3cret"}, tmp_path)["SECRET_KEY"] == "s3cret"


def test_missing_secret_key_is_random_not_fixed(tmp_path: Path) -> None:
    first = load_config({}, tmp_path)["SECRET_KEY"]
    second = load_config({}, tmp_path)["SECRET_KEY"]
    assert first and second and first != second


def test_release_prefers_environment(tmp_path: Path) -> None:
    (tmp_path / "RELEASE").write_text("from-file\n", encoding="utf-8")
    assert read_release({"APP_RELEASE": "from-env"}, tmp_path) == "from-env"


def test_release_read_from_file_written_by_deploy(tmp_path: Path) -> None:
    (tmp_path / "RELEASE").write_text("20261126-abc\n", encoding="utf-8")
    assert read_release({}, tmp_path) == "20261126-abc"


def test_release_defaults_to_dev(tmp_path: Path) -> None:
    assert read_release({}, tmp_path) == "dev"


def test_service_name_from_environment(tmp_path: Path) -> None:
    assert load_config({"APP_SERVICE_NAME": "api"}, tmp_path)["SERVICE_NAME"] == "api"
