"""Plugins the core registers itself, the same way as installed ones."""
