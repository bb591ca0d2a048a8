"""``api-particulier plugins new NAME``: a provider distribution to start from.

It holds a sandbox backend (a JSON data set), an HTTP backend through ``Upstream``, two
scopes, parameter validation, a 404 for a stranger, the examples the contract suite asks
about, and tests that pass at once: the contract suite on both backends, the HTTP backend
against a local upstream (``api_particulier.testing.UpstreamServer``).
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from ..errors import ApiParticulierError

TEMPLATE = Path(__file__).parent / "template"
_NAME = re.compile(r"[a-z][a-z0-9]{1,30}")


def new_plugin(name: str, parent: Path) -> Path:
    """Write the distribution ``api-particulier-<name>`` in ``parent``; return its path."""
    if not _NAME.fullmatch(name):
        raise ApiParticulierError(
            f"{name!r}: a plugin name is 2 to 31 lower-case letters and digits, a letter first"
        )
    target = parent / f"api-particulier-{name}"
    if target.exists():
        raise ApiParticulierError(f"{target} exists already")
    values = {"name": name, "title": f"{name.capitalize()} (provider)"}
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        parts = [f"api_particulier_{name}" if p == "package" else p for p in relative.parts]
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        text = Template(source.read_text(encoding="utf-8")).substitute(values)
        destination.write_text(text, encoding="utf-8")
    return target
