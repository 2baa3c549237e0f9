"""The seller's consent page (`/open/authorize`) and the `/_sandbox/` control endpoints.

The consent page is what a browser sees during OAuth: the seller's shops and two buttons whose form
posts redirect back to our callback with a code or `error=auth_denied`. The control endpoints are
plain JSON (no envelope, no signature) for other processes: `make run`, benchmarks.
"""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qsl, urlencode

from .records import ORDER_STATUSES

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {app} - TikTok Shop (sandbox)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#161823}}
li{{margin:.3rem 0}} button{{padding:.6rem 1.4rem;margin-right:.6rem;border-radius:4px;border:1px solid #ccc}}
button[value=authorize]{{background:#fe2c55;color:#fff;border-color:#fe2c55}}</style></head>
<body><h1>Authorize {app}</h1>
<p>Seller <strong>{seller}</strong> is asked to let <strong>{app}</strong> access these shops:</p>
<ul id="shops">{shops}</ul>
<form method="post" action="/open/authorize">
<input type="hidden" name="service_id" value="{service_id}"><input type="hidden" name="state" value="{state}">
<input type="hidden" name="seller" value="{seller_key}">
<button type="submit" name="action" value="authorize" {disabled}>Authorize</button>
<button type="submit" name="action" value="deny">Deny</button></form></body></html>
"""
ERROR_PAGE = "<!doctype html><html><head><title>Error</title></head><body><h1>{title}</h1><p>{detail}</p></body></html>"


def escape(value) -> str:
    return html.escape(str(value), quote=True)


def redirect_to(base: str, query: dict) -> str:
    return base + ("&" if "?" in base else "?") + urlencode(query)


def _error(status: int, title: str, detail: str):
    return status, ERROR_PAGE.format(title=escape(title), detail=escape(detail)), {}


def handle_authorize_page(sandbox, method: str, path: str, params: dict, raw: bytes):
    """GET shows the consent page; POST (the buttons) redirects to `redirect_url`."""
    if path.rstrip("/") != "/open/authorize" or method not in ("GET", "POST"):
        return _error(404, "Not found", path)
    fields = dict(params)
    if method == "POST":
        fields.update(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    sandbox.record_page_call(method, path)
    if fields.get("service_id") != sandbox.service_id:
        return _error(400, "Invalid service_id", "This app is not known to TikTok Shop.")
    state_value = fields.get("state", "")
    state = sandbox.state
    seller_key = fields.get("seller") or state.default_seller()
    with state.lock:
        seller = state.sellers.get(seller_key or "")
        shops = [state.shops[s] for s in seller.shop_ids] if seller else []
    if method == "GET":
        items = "".join(
            f"<li>{escape(s.name)} ({escape(s.region)}) <code>{escape(s.id)}</code></li>" for s in shops
        )
        page = PAGE.format(
            app=escape(sandbox.service_id),
            seller=escape(seller.name if seller else "(no seller)"),
            seller_key=escape(seller_key or ""),
            shops=items or "<li>No shops</li>",
            service_id=escape(sandbox.service_id),
            state=escape(state_value),
            disabled="" if shops else "disabled",
        )
        return 200, page, {}
    if fields.get("action") == "authorize" and shops:
        code = state.issue_auth_code(seller=seller_key)
        location = redirect_to(sandbox.redirect_url, {"code": code, "state": state_value})
    else:
        location = redirect_to(sandbox.redirect_url, {"error": "auth_denied", "state": state_value})
    return 302, "", {"Location": location}


def state_summary(sandbox) -> dict:
    state = sandbox.state
    with state.lock:
        by_status = dict.fromkeys(ORDER_STATUSES, 0)
        for order in state.orders.values():
            by_status[order.status] += 1
        summary = {
            "shops": len(state.shops),
            "products": len(state.products),
            "skus": len(state.skus),
            "videos": len(state.videos),
            "orders": by_status,
            "orders_total": len(state.orders),
        }
    summary["webhooks"] = sandbox.webhook_stats
    summary["calls"] = sandbox.calls_by_path()
    summary["faults"] = sandbox.faults.as_dict()
    summary["scenario"] = sandbox.scenario_name
    summary["base_url"] = sandbox.base_url
    return summary


def handle_control(sandbox, method: str, path: str, raw: bytes):
    """(status, JSON payload) for a `/_sandbox/...` request."""
    name = path[len("/_sandbox/") :].strip("/")
    if method == "GET" and name == "state":
        return 200, state_summary(sandbox)
    if method != "POST" or name not in CONTROL_POSTS:
        return 404, {"error": f"unknown control endpoint {method} {path}"}
    try:
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return 200, CONTROL_POSTS[name](sandbox, body)
    except (ValueError, KeyError, TypeError) as exc:
        return 400, {"error": str(exc).strip("'\"") or type(exc).__name__}


def _faults(sandbox, body):
    sandbox.faults.update(body)
    return sandbox.faults.as_dict()


def _orders(sandbox, body):
    shop_id = body.get("shop_id") or next(iter(sandbox.state.shops), None)
    if shop_id is None:
        raise ValueError("no shop")
    items = body.get("items")
    if not isinstance(items, list):
        raise ValueError("items must be a list of {sku_id, units}")
    return sandbox.create_order(str(shop_id), items, status=body.get("status", "AWAITING_SHIPMENT"))


def _authorize(sandbox, body):
    return {"code": sandbox.issue_auth_code(shop_ids=body.get("shop_ids") or None)}


def _expire(sandbox, body):
    return {"expired": sandbox.expire_access_tokens()}


def _scenario(sandbox, body):
    name = body.get("name")
    if name in (None, "", "stop", "none"):
        sandbox.stop_scenario()
    else:
        sandbox.start_scenario(name, rate_multiplier=body.get("rate_multiplier", 1.0))
    return {"scenario": sandbox.scenario_name}


def _advance(sandbox, body):
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise ValueError("seconds must be a non-negative integer")
    return {"moved": sandbox.advance_shipped(seconds)}


CONTROL_POSTS = {
    "faults": _faults,
    "orders": _orders,
    "authorize": _authorize,
    "expire_tokens": _expire,
    "scenario": _scenario,
    "advance_shipped": _advance,
}
