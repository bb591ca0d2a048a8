"""The live backend: a client of DGFiP's SVAIR verification form and its HTML parsers."""
