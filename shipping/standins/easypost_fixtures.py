"""pytest fixture `easypost_standin` (filled in by the easypost work)."""
