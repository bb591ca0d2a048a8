"""Copy the files of Swagger UI that the documentation page serves.

The release is pinned in ``scripts/swagger-ui/package.json`` and locked (with its
integrity hash) in ``package-lock.json``. To move to another release: change the pin, then

    npm install --ignore-scripts --prefix scripts/swagger-ui
    python3 scripts/vendor_swagger_ui.py

and commit the result. The copy lives in the documentation plugin's package, so that the
page works on a machine without Node.js and loads nothing from a CDN.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "scripts" / "swagger-ui" / "node_modules" / "swagger-ui-dist"
TARGET = ROOT / "plugins" / "documentation" / "src" / "api_particulier_documentation" / "swagger-ui"

# What the page loads (the bundle and its style sheet), with their licences.
FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui-bundle.js.LICENSE.txt",
    "swagger-ui.css",
    "LICENSE",
    "NOTICE",
)


def main() -> None:
    version = json.loads((RELEASE / "package.json").read_text())["version"]
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(RELEASE / name, TARGET / name)
    (TARGET / "VERSION").write_text(version + "\n")
    print(f"Swagger UI {version} copied to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
