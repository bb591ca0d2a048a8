"""The documentation page of API Particulier."""
