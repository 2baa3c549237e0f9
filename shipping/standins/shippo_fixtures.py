"""pytest fixture `shippo_standin` (filled in by the shippo work)."""
