"""The MathJax the site ships: fetched once, checked by its SHA-256, refused when it is not the
pinned release, and a clear message when it cannot be fetched."""

from __future__ import annotations

import pytest

from optbook.pipeline import mathjax
from optbook.pipeline.errors import BuildError


def test_a_tarball_that_is_not_the_pinned_release_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    vendor = tmp_path / "data" / "vendor"
    vendor.mkdir(parents=True)
    (vendor / mathjax.TARBALL).write_bytes(b"not mathjax")
    with pytest.raises(BuildError, match="SHA-256"):
        mathjax.install_mathjax(tmp_path / "book")
    assert not (tmp_path / "book" / mathjax.SITE_FOLDER).exists()


def test_without_npm_or_a_tarball_the_build_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(mathjax.shutil, "which", lambda name: None)
    with pytest.raises(BuildError, match=r"needs npm.*Or place mathjax-3\.2\.2\.tgz"):
        mathjax.install_mathjax(tmp_path / "book")


def test_an_installed_copy_of_this_version_is_not_fetched_again(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    folder = tmp_path / "book" / mathjax.SITE_FOLDER
    folder.mkdir(parents=True)
    (folder / "VERSION").write_text(mathjax.VERSION + "\n")
    monkeypatch.setattr(mathjax, "_tarball", lambda: pytest.fail("fetched again"))
    assert mathjax.install_mathjax(tmp_path / "book") == folder
