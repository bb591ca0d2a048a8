"""DGFiP provider of API Particulier: the avis d'imposition, from a sandbox data set or
live from DGFiP's SVAIR verification form."""

from __future__ import annotations
