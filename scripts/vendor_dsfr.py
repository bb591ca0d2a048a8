"""Copy the files of the State's design system (DSFR) that the service serves.

The release is pinned in ``scripts/dsfr/package.json`` and locked (with its integrity hash)
in ``package-lock.json``. To move to another release: change the pin, then

    npm install --ignore-scripts --prefix scripts/dsfr
    python3 scripts/vendor_dsfr.py

and commit the result. The copy lives in the core's package so that the service works on a
machine without Node.js; ``core/tests/test_dsfr_assets.py`` checks that every file the
copied style sheets point to was copied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "scripts" / "dsfr" / "node_modules" / "@gouvfr" / "dsfr"
TARGET = ROOT / "core" / "src" / "api_particulier" / "static" / "dsfr"

# What a page of the service loads: the style sheet, the module and its fallback script,
# the icons utility, the fonts and icons those point to, and the favicons.
FILES = (
    "dsfr.min.css",
    "dsfr.module.min.js",
    "dsfr.nomodule.min.js",
    "utility/icons/icons.min.css",
)
DIRECTORIES = ("fonts", "icons", "favicon")


def main() -> None:
    version = json.loads((RELEASE / "package.json").read_text())["version"]
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.mkdir(parents=True)
    dist = RELEASE / "dist"
    for name in FILES:
        (TARGET / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / name, TARGET / name)
    for name in DIRECTORIES:
        shutil.copytree(dist / name, TARGET / name)
    shutil.copy2(RELEASE / "LICENSE.md", TARGET / "LICENSE.md")
    (TARGET / "VERSION").write_text(version + "\n")
    print(f"DSFR {version} copied to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
