"""Access requests for API Particulier: from an administration's request to its key."""
