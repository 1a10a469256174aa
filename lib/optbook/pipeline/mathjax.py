"""The book's maths renderer, shipped with the site so equations render without a network.

Sphinx loads MathJax from a CDN by default: offline, behind a firewall or with a slow CDN, every
page then shows raw TeX. :func:`install_mathjax` puts MathJax's own es5 distribution (the npm
package ``mathjax``, pinned by version and SHA-256) into ``_extra/mathjax/``, which the build
copies to the site's root, and ``_config.yml`` points ``mathjax_path`` there. The package is
fetched once with ``npm pack`` (npm is an ordinary package client, like pip) into the data
directory's ``vendor/`` folder; a tarball placed there by hand is used as it is.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

from optbook.paths import data_dir
from optbook.pipeline.errors import BuildError

VERSION = "3.2.2"
SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
TARBALL = f"mathjax-{VERSION}.tgz"
# What the pages use of the es5 distribution: the TeX-in, HTML-out bundle, the TeX extensions it
# loads on demand (\boldsymbol, \cancel, ...), its fonts, the right-click menu and the
# accessibility tools the menu offers (the speech-rule engine among them). ~7 MB of its 24.
PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y", "sre")
SITE_FOLDER = Path("_extra") / "mathjax"  # _config.yml: mathjax_path ../mathjax/tex-chtml.js


def install_mathjax(root: Path) -> Path:
    """MathJax's files in ``root/_extra/mathjax`` (done once per version); returns that folder."""
    target = Path(root) / SITE_FOLDER
    stamp = target / "VERSION"
    if stamp.is_file() and stamp.read_text().strip() == VERSION:
        return target
    tarball = _tarball()
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    prefix = "package/es5/"
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers()
                   if m.isfile() and m.name.startswith(prefix) and _wanted(m.name[len(prefix):])]
        for member in members:
            member.name = member.name[len(prefix):]
        # The "data" filter refuses links and paths outside the target (Python 3.11.4 and later).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(target, members=members, **safe)
    stamp.write_text(VERSION + "\n")
    return target


def _wanted(relative: str) -> bool:
    return any(relative == part or relative.startswith(part + "/") for part in PARTS)


def _tarball() -> Path:
    folder = data_dir() / "vendor"
    path = folder / TARBALL
    if not path.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError(
                f"the book ships MathJax {VERSION} so its equations render offline, and fetching it needs npm "
                f"(Node.js; Debian: apt-get install npm). Or place {TARBALL} (npm pack mathjax@{VERSION}) in {folder}")
        folder.mkdir(parents=True, exist_ok=True)
        fetched = subprocess.run([npm, "pack", f"mathjax@{VERSION}", "--pack-destination", str(folder)],
                                 capture_output=True, text=True)
        if fetched.returncode != 0 or not path.is_file():
            raise BuildError(f"npm pack mathjax@{VERSION} failed: {fetched.stderr.strip()[-300:]}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise BuildError(f"{path} has SHA-256 {digest}, not MathJax {VERSION}'s {SHA256}; delete it to fetch it again")
    return path
