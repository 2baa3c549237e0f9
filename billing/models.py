"""$4 models."""
