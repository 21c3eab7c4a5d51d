"""How the Spark driver finds the caregap binary (driver.find_caregap), without Spark:
--caregap, then CAREGAP_BIN, then the `caregap` that `pip install caregap-….whl` put beside the
running Python (its scripts folder, sys.prefix/bin, the user scheme's scripts folder), then
PATH; a clear error naming what was tried when none is there. Fake executables in tmp folders
stand for the binary."""

import os
import sys
import sysconfig

import pytest

from caregap_spark import driver


def fake(folder, name="caregap", executable=True):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\necho fake caregap\n")
    path.chmod(0o755 if executable else 0o644)
    return str(path)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Every place looked in, empty and private to the test: a prefix whose scripts folder
    differs from prefix/bin (as on some distributions), a user scripts folder, a PATH."""
    d = {
        "scripts": tmp_path / "env" / "scripts",
        "prefix": tmp_path / "env",
        "user": tmp_path / "user" / "bin",
        "path": tmp_path / "on_path",
        "explicit": tmp_path / "explicit",
        "env_bin": tmp_path / "env_bin",
    }
    real_get_path = sysconfig.get_path

    def get_path(name, scheme=None, *args, **kwargs):
        if name == "scripts":
            return str(d["user"] if scheme and scheme.endswith("_user") else d["scripts"])
        return real_get_path(name, scheme, *args, **kwargs) if scheme else real_get_path(name)

    monkeypatch.setattr(sysconfig, "get_path", get_path)
    monkeypatch.setattr(sys, "prefix", str(d["prefix"]))
    monkeypatch.delenv("CAREGAP_BIN", raising=False)
    monkeypatch.setenv("PATH", str(d["path"]))
    return d


def test_explicit_option_comes_first(places, monkeypatch):
    want = fake(places["explicit"])
    monkeypatch.setenv("CAREGAP_BIN", fake(places["env_bin"]))
    fake(places["scripts"])
    fake(places["path"])
    assert driver.find_caregap(want) == want


def test_explicit_bare_name_is_looked_up_on_path(places):
    want = fake(places["path"], "caregap-0.1")
    fake(places["scripts"])
    assert driver.find_caregap("caregap-0.1") == want


def test_relative_explicit_path_is_made_absolute(places, monkeypatch):
    want = fake(places["explicit"])
    monkeypatch.chdir(places["explicit"].parent)
    assert driver.find_caregap(os.path.join("explicit", "caregap")) == want


def test_env_comes_before_the_installed_one(places, monkeypatch):
    want = fake(places["env_bin"])
    monkeypatch.setenv("CAREGAP_BIN", want)
    fake(places["scripts"])
    fake(places["path"])
    assert driver.find_caregap() == want


def test_installed_beside_python_comes_before_path(places):
    want = fake(places["scripts"])
    fake(places["path"])
    assert driver.find_caregap() == want


def test_sys_prefix_bin_then_user_scripts(places):
    fake(places["user"])
    want = fake(places["prefix"] / "bin")
    fake(places["path"])
    assert driver.find_caregap() == want
    os.remove(want)
    assert driver.find_caregap() == str(places["user"] / "caregap")


def test_path_comes_last(places):
    fake(places["scripts"], executable=False)  # not executable: not a candidate
    want = fake(places["path"])
    assert driver.find_caregap() == want


def test_a_given_path_that_does_not_work_is_an_error_not_a_fallback(places, monkeypatch):
    fake(places["scripts"])
    missing = str(places["explicit"] / "caregap")
    with pytest.raises(driver.CaregapNotFound, match="--caregap=.*not an executable file"):
        driver.find_caregap(missing)
    monkeypatch.setenv("CAREGAP_BIN", missing)
    with pytest.raises(driver.CaregapNotFound, match="CAREGAP_BIN=.*not an executable file"):
        driver.find_caregap()


def test_none_found_names_everything_tried(places):
    with pytest.raises(driver.CaregapNotFound) as e:
        driver.find_caregap()
    message = str(e.value)
    for tried in ("--caregap: not given", "CAREGAP_BIN: not set",
                  str(places["scripts"] / "caregap"), str(places["prefix"] / "bin" / "caregap"),
                  str(places["user"] / "caregap"), "caregap on PATH",
                  "pip install caregap-", "bash scripts/build-wheel"):
        assert tried in message


def test_main_stops_before_starting_spark_when_none_is_found(places, monkeypatch, capsys):
    def no_spark(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr(driver, "spark_session", no_spark)
    status = driver.main(["--input", "i", "--out", "o", "--work", "w", "--buckets", "2"])
    assert status == 2
    assert "caregap binary not found" in capsys.readouterr().err
