"""Public statistics of API Particulier."""
