"""Certificates: numbering, issuance, revocation, supersession and signed verification tokens."""
