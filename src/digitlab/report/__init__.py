"""The README's generated sections: tables rendered from saved results (tables), written
between markers (markdown), and checked against the results and the models (check)."""
