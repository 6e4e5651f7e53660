"""Sales events per channel and UTC day: orders, cancellations, returns and realistic defects.

Each (channel, day) chunk has its own seeded generator, so files do not depend on how the
work is chunked. Cancellations and returns happen after their order and are buffered until
their own day; the buffer holds at most ~30 days of them, so memory stays bounded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.contracts import Contract
from pipelines.generate.fx import Rates
from pipelines.generate.products import Products
from pipelines.generate.writers import money_text, write_frame

PROVINCES = {
    "Guangdong": 18,
    "Shanghai": 12,
    "Beijing": 10,
    "Zhejiang": 11,
    "Jiangsu": 10,
    "Sichuan": 5,
    "Fujian": 5,
    "Shandong": 5,
    "Hubei": 4,
    "Henan": 3,
    "Tianjin": 3,
    "Chongqing": 3,
    "Hunan": 3,
    "Liaoning": 2,
    "Shaanxi": 2,
    "Anhui": 2,
    "Yunnan": 1,
    "Heilongjiang": 1,
}
CHINESE_NEW_YEAR = (
    date(2018, 2, 16),
    date(2019, 2, 5),
    date(2020, 1, 25),
    date(2021, 2, 12),
    date(2022, 2, 1),
)


@dataclass(frozen=True)
class Channel:
    name: str
    share: float
    code: str  # id prefix
    currencies: dict[str, float]
    returns: bool


CHANNELS = (
    Channel("tmall_global", 0.5, "TM", {"CNY": 1.0}, True),
    Channel("jd_worldwide", 0.3, "JD", {"CNY": 1.0}, True),
    Channel("own_webshop", 0.2, "WS", {"CNY": 0.5, "GBP": 0.3, "EUR": 0.2}, False),
)
EXT = {"tmall_global": "jsonl", "jd_worldwide": "parquet", "own_webshop": "csv"}


def day_weights(days: list[date]) -> np.ndarray:
    """Growth over the window, 11.11 and 6.18 peaks, a Chinese New Year dip, busier weekends."""
    t = np.linspace(0, 1, len(days))
    w = 0.45 + 1.35 * t
    for i, d in enumerate(days):
        if d.month == 11 and d.day == 11:
            w[i] *= 6
        elif d.month == 11 and 1 <= d.day <= 13:
            w[i] *= 1.6
        elif d.month == 6 and d.day == 18:
            w[i] *= 4
        elif d.month == 6 and 1 <= d.day <= 20:
            w[i] *= 1.3
        elif d.month == 12 and d.day == 12:
            w[i] *= 2
        if any(abs((d - c).days) <= 7 for c in CHINESE_NEW_YEAR):
            w[i] *= 0.45
        if d.weekday() >= 5:
            w[i] *= 1.1
    return w


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts summing exactly to ``total`` (largest remainder), deterministic."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]] += 1
    return counts


@dataclass
class SalesTotals:
    files: int = 0
    rows: int = 0
    bytes: int = 0
    order_lines: int = 0
    gb_cn_eur: float = 0.0  # float estimate, only to scale the sample's target
    by_month: dict[str, float] = field(default_factory=dict)


class SalesWriter:
    """Generates a channel's days in order and writes one file per day (plus defect files)."""

    def __init__(
        self,
        out: Path,
        channel: Channel,
        contract: Contract,
        products: Products,
        rates: Rates,
        seed: int,
        end: date,
    ) -> None:
        self.out, self.channel, self.contract = out, channel, contract
        self.products, self.rates, self.seed, self.end = products, rates, seed, end
        self.index = CHANNELS.index(channel)
        self.pending: dict[date, dict[str, list[pl.DataFrame]]] = defaultdict(lambda: defaultdict(list))
        self.totals = SalesTotals()
        self._month_p: dict[int, np.ndarray] = {}

    def day(self, day: date, lines: int) -> None:
        """Generate ``lines`` order lines on ``day`` and write the files due that day."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 11, self.index, day.toordinal()]))
        if lines:
            events = self._events(day, lines, rng)
            due = events.filter(pl.col("ts").dt.date() == day)
            for later, part in events.filter(pl.col("ts").dt.date() > day).group_by(
                pl.col("ts").dt.date().alias("d"), maintain_order=True
            ):
                if later[0] <= self.end:
                    self.pending[later[0]]["events"].append(part)
            due = self._defects(day, due, rng)
            self.pending[day]["events"].append(due)
        for name, parts in sorted(self.pending.pop(day, {}).items()):
            self._write(day, name, pl.concat(parts).sort("ts", "event_id"))

    def _sku_p(self, month: int) -> np.ndarray:
        if month not in self._month_p:
            w = self.products.chapter_share * self.products.listed[:, month]
            self._month_p[month] = w / w.sum()
        return self._month_p[month]

    def _events(self, day: date, n: int, rng: np.random.Generator) -> pl.DataFrame:
        p, ch = self.products, self.channel
        month = p.month_index(day)
        sizes = rng.choice([1, 2, 3], size=n, p=[0.7, 0.22, 0.08])
        order_of_line = np.repeat(np.arange(n), sizes)[:n]
        first = np.searchsorted(order_of_line, order_of_line)
        line_no = np.arange(n) - first + 1
        n_orders = int(order_of_line[-1]) + 1
        seconds = rng.integers(0, 86_400, n_orders)[order_of_line]
        currencies = np.array(list(ch.currencies))
        currency = rng.choice(currencies, size=n_orders, p=np.array(list(ch.currencies.values())))[order_of_line]
        dest = rng.choice(["CN", "HK", "MO"], size=n_orders, p=[0.955, 0.035, 0.01])[order_of_line]
        prov_names = np.array(list(PROVINCES))
        prov_p = np.array(list(PROVINCES.values()), dtype=float)
        region = np.where(
            dest == "CN",
            rng.choice(prov_names, size=n_orders, p=prov_p / prov_p.sum())[order_of_line],
            np.where(dest == "HK", "Hong Kong", "Macao"),
        )
        sku = rng.choice(len(p.listed), size=n, p=self._sku_p(month))
        qty = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.7, 0.2, 0.07, 0.02, 0.01])

        day64 = np.array([day], dtype="datetime64[D]")
        sup_rate = np.ones(n)
        for cur in np.unique(p.currency[sku]):
            sup_rate[p.currency[sku] == cur] = self.rates.on(str(cur), day64)[0]
        eur_list = p.price_cents[sku, month] / 100 / sup_rate
        line_rate = np.ones(n)
        for cur in currencies:
            line_rate[currency == cur] = self.rates.on(str(cur), day64)[0]
        markup = 1.25 + (p.static["sku_idx"].to_numpy()[sku] % 7) * 0.05
        local = eur_list * markup * line_rate
        cny = currency == "CNY"
        price_cents = np.where(cny, np.round(local) * 100, np.round(local * 100)).astype(np.int64)
        discount = np.where(rng.random(n) < 0.12, qty * price_cents * rng.uniform(0.05, 0.2, n), 0)
        discount_cents = np.where(cny, np.round(discount / 100) * 100, np.round(discount)).astype(np.int64)

        supplier_sku = p.static["supplier_sku"].to_numpy()[sku].astype(object)
        unknown = rng.random(n) < 0.0005
        supplier_sku[unknown] = np.char.add("UNKNOWN-", rng.integers(10_000, 99_999, unknown.sum()).astype(str))
        base = pl.DataFrame(
            {
                "seq": np.arange(n),
                "ts": (np.datetime64(day, "s") + seconds.astype("timedelta64[s]")).astype("datetime64[ms]"),
                "order_id": np.char.add(f"{ch.code}{day:%Y%m%d}", np.char.zfill(order_of_line.astype(str), 6)),
                "line_id": line_no.astype(str),
                "supplier_id": p.static["supplier_id"].to_numpy()[sku],
                "supplier_sku": supplier_sku.astype(str),
                "quantity": qty,
                "price_cents": price_cents,
                "currency": currency,
                "discount_cents": discount_cents,
                "ship_to_country": dest,
                "ship_to_region": region,
            }
        ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
        line_eur = (qty * price_cents - discount_cents) / 100 / line_rate
        gb_cn = (p.origin[sku, month] == "GB") & (dest == "CN") & ~unknown

        cancel = (rng.random(n) < 0.03) & ~unknown
        ret = (rng.random(n) < 0.04) & ~cancel & ~unknown & ch.returns
        ret_qty = np.where(qty == 1, 1, rng.integers(1, qty + 1))
        cancel_after = rng.integers(1_800, 129_600, n)
        return_after = rng.integers(5 * 86_400, 30 * 86_400, n)
        stamp = f"{day:%Y%m%d}"
        frames = [base.with_columns(event_type=pl.lit("order"), kind=pl.lit("O"))]
        frames.append(
            base.filter(pl.Series(cancel)).with_columns(
                event_type=pl.lit("cancel"),
                kind=pl.lit("C"),
                ts=pl.col("ts") + pl.duration(seconds=pl.lit(pl.Series(cancel_after[cancel]))),
            )
        )
        frames.append(
            base.filter(pl.Series(ret)).with_columns(
                event_type=pl.lit("return"),
                kind=pl.lit("R"),
                quantity=pl.Series(ret_qty[ret]),
                ts=pl.col("ts") + pl.duration(seconds=pl.lit(pl.Series(return_after[ret]))),
            )
        )
        events = pl.concat(frames).with_columns(
            event_id=pl.concat_str([pl.col("kind"), pl.lit(f"{stamp}"), pl.col("seq").cast(pl.String).str.zfill(7)])
        )

        self.totals.order_lines += n
        end_ts = np.datetime64(self.end + timedelta(days=1), "s")
        cancel_ts = np.datetime64(day, "s") + (seconds + cancel_after).astype("timedelta64[s]")
        return_ts = np.datetime64(day, "s") + (seconds + return_after).astype("timedelta64[s]")
        net = (
            line_eur
            - line_eur * (cancel & (cancel_ts < end_ts))
            - line_eur * ret_qty / qty * (ret & (return_ts < end_ts))
        )
        gb_eur = float((net * gb_cn).sum())
        self.totals.gb_cn_eur += gb_eur
        key = f"{day:%Y-%m}"
        self.totals.by_month[key] = self.totals.by_month.get(key, 0.0) + gb_eur
        return events

    def _defects(self, day: date, events: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        """Re-deliver a few events the next day; hold back a few order lines in a late file."""
        if events.height and rng.random() < 0.015:
            again = events.filter(pl.Series(rng.random(events.height) < 0.05))
            nxt = day + timedelta(days=1)
            if again.height and nxt <= self.end:
                self.pending[nxt][f"redelivery-{day.isoformat()}"].append(again)
        if events.height and rng.random() < 0.01:
            late = pl.Series(rng.random(events.height) < 0.03) & (events["event_type"] == "order")
            later = day + timedelta(days=3)
            if late.any() and later <= self.end:
                self.pending[later][f"late-{day.isoformat()}"].append(events.filter(late))
                events = events.filter(~late)
        return events

    def _write(self, day: date, name: str, events: pl.DataFrame) -> None:
        frame = render(self.channel.name, events)
        path = self.out / "sales" / self.channel.name / day.isoformat() / f"{name}.{EXT[self.channel.name]}"
        self.totals.bytes += write_frame(frame, path, self.contract)
        self.totals.files += 1
        self.totals.rows += frame.height


def render(channel: str, e: pl.DataFrame) -> pl.DataFrame:
    """Canonical events in the channel's own layout (see pipelines/resources/contracts/channels/)."""
    price, discount = money_text(pl.col("price_cents")), money_text(pl.col("discount_cents"))
    if channel == "tmall_global":
        return e.select(
            pl.concat_str([pl.lit("TM"), pl.col("event_id")]).alias("event_id"),
            pl.col("event_type")
            .replace_strict({"order": "PAID", "cancel": "CANCELLED", "return": "REFUNDED"})
            .alias("type"),
            (pl.col("ts").dt.convert_time_zone("Asia/Shanghai").dt.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00").alias(
                "created_at"
            ),
            pl.col("order_id").alias("order_no"),
            pl.col("line_id").cast(pl.Int64).alias("line_no"),
            pl.col("supplier_id").alias("supplier"),
            pl.col("supplier_sku").alias("sku"),
            pl.col("quantity").alias("qty"),
            price.alias("price"),
            pl.col("currency"),
            discount.alias("discount"),
            pl.col("ship_to_country").alias("country"),
            pl.col("ship_to_region").alias("province"),
        )
    if channel == "own_webshop":
        return e.filter(pl.col("event_type") != "return").select(
            pl.concat_str([pl.lit("WS"), pl.col("event_id")]).alias("event_id"),
            pl.col("order_id").alias("order_ref"),
            pl.col("line_id").alias("line"),
            pl.col("supplier_id"),
            pl.col("supplier_sku").alias("sku"),
            pl.when(pl.col("event_type") == "cancel")
            .then(-pl.col("quantity"))
            .otherwise(pl.col("quantity"))
            .alias("quantity"),
            price.alias("unit_price"),
            pl.col("currency"),
            discount.alias("discount"),
            pl.col("ship_to_country").alias("ship_country"),
            pl.col("ship_to_region").alias("ship_region"),
            pl.col("ts").dt.convert_time_zone("Europe/London").dt.strftime("%Y-%m-%d %H:%M:%S").alias("placed_at"),
        )
    return e.select(
        pl.concat_str([pl.col("kind"), pl.lit("-"), pl.col("event_id").str.slice(1)]).alias("event_id"),
        pl.col("order_id"),
        pl.col("line_id"),
        pl.col("supplier_id").alias("supplier_code"),
        pl.col("supplier_sku").alias("sku_code"),
        pl.col("quantity").cast(pl.Int32),
        price.cast(pl.Decimal(12, 2)).alias("unit_price"),
        pl.col("currency"),
        discount.cast(pl.Decimal(12, 2)).alias("discount"),
        pl.col("ship_to_country").alias("ship_country"),
        pl.col("ship_to_region").alias("province"),
        pl.col("ts").dt.cast_time_unit("ms").alias("event_time"),
    )
