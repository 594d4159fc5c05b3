"""Public verification of certificate tokens and the published signing keys."""
