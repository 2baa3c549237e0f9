"""Order generators (CONTRACT §5): `steady`, `viral` and `peak`.

A daemon thread advances a simulated clock (`rate_multiplier` × real time) and places orders through
`SandboxState.create_order`, the same path tests use, so stock goes down and webhooks go out. Order
arrivals accumulate fractional expectations, and SKU choices come from `random.Random(seed)`.
"""

from __future__ import annotations

import math
import random
import threading
import time

SCENARIOS = ("steady", "viral", "peak")
TICK_S = 0.05
STEADY_PER_S = 3 / 60  # a few orders a minute
STEADY_SKUS = 50
PEAK_PER_S = 2.0
VIRAL_BASE_PER_S = 0.5 / 60
VIRAL_MAX_FACTOR = 30  # 20–50× the usual rate ...
VIRAL_RAMP_S = 300  # ... within five minutes
TRANSIT_SPEEDUP = 60  # one simulated minute moves a parcel one hour along
HOLD_RELEASE_S = 60
PAY_AFTER_S = 30


class ScenarioRunner:
    def __init__(self, state, name: str, *, rate_multiplier: float = 1.0, seed: int = 1, shop_id=None):
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}: choose one of {', '.join(SCENARIOS)}")
        if (
            not isinstance(rate_multiplier, int | float)
            or isinstance(rate_multiplier, bool)
            or rate_multiplier <= 0
        ):
            raise ValueError("rate_multiplier must be a positive number")
        self.state = state
        self.name = name
        self.multiplier = float(rate_multiplier)
        self.rng = random.Random(f"{seed}-scenario-{name}")
        self.shop_id = str(shop_id) if shop_id else self._first_shop()
        self.sim_s = 0.0
        self.orders_created = 0
        self.errors = 0
        self._owed: dict[str, float] = {}
        self._pending: list[tuple[float, str, str]] = []  # (due sim time, order id, next status)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.skus, self.viral_video, self.viral_sku = self._prepare()

    def _first_shop(self) -> str:
        with self.state.lock:
            if not self.state.shops:
                raise ValueError("a scenario needs a shop: add one first")
            return next(iter(self.state.shops))

    def _prepare(self):
        state = self.state
        with state.lock:
            has_products = any(p.shop_id == self.shop_id for p in state.products.values())
        if not has_products:
            state.seed_catalog(self.shop_id, products=25, skus_per_product=2, quantity=200)
        with state.lock:
            skus = [
                sku_id
                for product in state.products.values()
                if product.shop_id == self.shop_id and product.status == "ACTIVATE"
                for sku_id in product.sku_ids
            ]
            videos = [v for v in state.videos.values() if v.shop_id == self.shop_id and v.product_ids]
        if self.name == "steady":
            skus = skus[:STEADY_SKUS]
        if self.name != "viral":
            return skus, None, None
        if videos:
            video_id = videos[0].id
        else:
            first_product = state.skus[skus[0]].product_id
            video_id = state.add_video(
                self.shop_id, title="This lip oil is everything", product_ids=[first_product]
            )["id"]
        with state.lock:
            viral_sku = state.products[state.videos[video_id].product_ids[0]].sku_ids[0]
        return [s for s in skus if s != viral_sku], video_id, viral_sku

    # the thread ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"tiktok-sandbox-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            try:
                self.step((now - last) * self.multiplier)
            except Exception:  # noqa: BLE001 - a demo generator keeps going; the next tick tries again
                self.errors += 1
            last = now

    def viral_factor(self) -> float:
        return 1 + (VIRAL_MAX_FACTOR - 1) * min(1.0, self.sim_s / VIRAL_RAMP_S)

    def step(self, sim_dt: float) -> None:
        """Advance the simulated clock by `sim_dt` seconds (also callable directly, without a thread)."""
        self.sim_s += sim_dt
        state = self.state
        if self.name == "steady":
            self._arrivals("all", STEADY_PER_S * sim_dt, self.skus)
        elif self.name == "peak":
            self._arrivals("all", PEAK_PER_S * sim_dt, self.skus, max_lines=3)
        else:
            factor = self.viral_factor()
            self._arrivals("all", STEADY_PER_S * sim_dt, self.skus)
            self._arrivals(
                "viral", VIRAL_BASE_PER_S * factor * sim_dt, [self.viral_sku], video=self.viral_video
            )
            views = int(5 * factor * factor * sim_dt)
            if views:
                state.bump_video(
                    self.viral_video, views=views, likes=views // 10, shares=views // 60, comments=views // 80
                )
        with state.lock:
            for video in state.videos.values():
                if video.shop_id == self.shop_id and video.id != self.viral_video:
                    video.views += int(sim_dt) + (1 if self.rng.random() < sim_dt % 1 else 0)
        self._release_due()
        state.advance_shipped(int(sim_dt * TRANSIT_SPEEDUP))

    def _arrivals(
        self, stream: str, expected: float, skus: list[str], *, max_lines: int = 2, video=None
    ) -> None:
        owed = self._owed.get(stream, 0.0) + expected
        count = math.floor(owed)
        self._owed[stream] = owed - count
        for _ in range(count):
            self._place(skus, max_lines=max_lines, video=video)

    def _place(self, skus: list[str], *, max_lines: int, video) -> None:
        state = self.state
        with state.lock:
            stocked = [s for s in skus if sum(state.skus[s].inventory.values()) > 0]
        if not stocked:
            return  # sold out: TikTok stops selling, and so do we
        lines = self.rng.sample(stocked, k=min(len(stocked), self.rng.randint(1, max_lines)))
        items = [(sku_id, self.rng.choice((1, 1, 1, 2))) for sku_id in lines]
        roll = self.rng.random()
        status = "UNPAID" if roll < 0.05 else "ON_HOLD" if roll < 0.10 else "AWAITING_SHIPMENT"
        try:
            order = state.create_order(self.shop_id, items, status=status, video_id=video)
        except (KeyError, ValueError):
            return  # the catalogue changed under us; the next arrival tries again
        self.orders_created += 1
        if status == "UNPAID":
            self._pending.append((self.sim_s + PAY_AFTER_S, order["id"], "AWAITING_SHIPMENT"))
        elif status == "ON_HOLD":
            self._pending.append((self.sim_s + HOLD_RELEASE_S, order["id"], "AWAITING_SHIPMENT"))

    def _release_due(self) -> None:
        due = [p for p in self._pending if p[0] <= self.sim_s]
        self._pending = [p for p in self._pending if p[0] > self.sim_s]
        for _, order_id, status in due:
            try:
                with self.state.lock:
                    still = self.state.orders[order_id].status in ("UNPAID", "ON_HOLD")
                if still:
                    self.state.set_order_status(self.shop_id, order_id, status)
            except KeyError:
                continue
