"""Public status of API Particulier."""
