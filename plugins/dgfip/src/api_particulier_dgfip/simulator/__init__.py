"""A local stand-in for DGFiP's SVAIR form, speaking its wire format, for tests and demos."""
