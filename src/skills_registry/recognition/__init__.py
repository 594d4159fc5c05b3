"""互认: BRICS and cross-strait (Taiwan) qualifications recognised as mainland certificates."""
