"""The dashboard's widgets, shared by its screens."""
