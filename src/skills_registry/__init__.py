"""skills-registry: the vocational skills training and certification registry."""

__version__ = "0.1.0"
