"""Certificate documents: the PDF renderer and its environment checks (no database)."""
