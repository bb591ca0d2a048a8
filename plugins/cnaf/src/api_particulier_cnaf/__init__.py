"""API Particulier provider for CNAF family data (composition familiale)."""
