"""Response cache for API Particulier (contract §10)."""
