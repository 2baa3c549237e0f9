"""TikTok Shop services: connect (OAuth, shops), orders (webhook fetches, poll, import,
reconciliation, mark shipped), catalog (products and SKUs), stock_push (the inventory channel),
videos (analytics), runs (sync runs, per-shop job locks)."""
