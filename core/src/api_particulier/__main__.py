"""``python -m api_particulier`` runs the ``api-particulier`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
