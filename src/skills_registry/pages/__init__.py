"""Server-rendered pages for signed-in clerks and bureau staff (no JavaScript needed)."""
