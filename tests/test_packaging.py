"""The distribution installs one top-level package, ``shophealth``, whose
subpackages are the repository's top-level folders (pyproject's package-dir):
every Python package folder there must be listed, or a wheel lacks it."""

from __future__ import annotations

import tomllib

from conftest import REPO

FOLDERS = ("crawler", "checks", "reports")


def test_every_package_folder_is_installed_under_shophealth() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    folders = {folder: name for name, folder in setuptools["package-dir"].items()}
    found = {
        str(init.parent.relative_to(REPO)) for top in FOLDERS for init in (REPO / top).rglob("__init__.py")
    } | {"fixtures"}
    missing = sorted(folder for folder in found if folders.get(folder) not in setuptools["packages"])
    assert missing == []
    assert all(name == "shophealth" or name.startswith("shophealth.") for name in setuptools["packages"])
