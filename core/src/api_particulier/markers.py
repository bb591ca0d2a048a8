"""The marker of hook implementations: ``@hookimpl`` (exported by ``api_particulier``)."""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("api_particulier")
