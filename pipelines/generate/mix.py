"""Realistic mixes drawn from the real reference files (HS 2022 codes, UN Comtrade shares)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

# Consumer-goods chapters a cross-border retailer sells, with a category name, product nouns,
# the typical origins of such goods, and a typical unit price range in EUR and weight in kg.
# The share of each chapter is the real UK->China export value of 2012 (UN Comtrade).
CHAPTERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[float, float], float]] = {
    "04": (
        "Dairy & honey",
        ("Farmhouse Cheddar", "Manuka Honey", "Comté AOP", "Gouda Reserve", "Infant Milk Powder"),
        ("GB", "FR", "NL", "IE"),
        (8, 45),
        0.6,
    ),
    "09": (
        "Tea & coffee",
        ("English Breakfast Tea", "Earl Grey Loose Leaf", "Espresso Beans", "Darjeeling Tea"),
        ("GB", "IT", "DE"),
        (5, 30),
        0.3,
    ),
    "16": (
        "Fine foods",
        ("Smoked Salmon", "Pâté de Campagne", "Anchovy Fillets"),
        ("GB", "FR", "ES"),
        (6, 35),
        0.4,
    ),
    "17": (
        "Confectionery",
        ("Fudge Selection", "Nougat de Montélimar", "Liquorice Allsorts"),
        ("GB", "FR", "NL"),
        (3, 20),
        0.3,
    ),
    "18": (
        "Chocolate",
        ("Dark Chocolate Bar", "Pralines Box", "Drinking Chocolate"),
        ("GB", "BE", "DE", "FR"),
        (4, 40),
        0.4,
    ),
    "19": (
        "Biscuits & cereals",
        ("Shortbread Tin", "Oat Biscuits", "Baby Cereal", "Panettone"),
        ("GB", "IT", "DE"),
        (4, 30),
        0.6,
    ),
    "20": (
        "Preserves",
        ("Orange Marmalade", "Confiture Extra", "Olives in Brine"),
        ("GB", "FR", "ES", "IT"),
        (3, 15),
        0.5,
    ),
    "21": (
        "Food preparations",
        ("Gravy Granules", "Yeast Extract Spread", "Stock Cubes"),
        ("GB", "DE"),
        (2, 12),
        0.3,
    ),
    "22": (
        "Wine & spirits",
        (
            "Single Malt Scotch Whisky 12y",
            "London Dry Gin",
            "Bordeaux Grand Vin",
            "Rioja Reserva",
            "Irish Whiskey",
        ),
        ("GB", "FR", "ES", "IT", "IE"),
        (15, 250),
        1.3,
    ),
    "30": (
        "Health & vitamins",
        ("Multivitamin Tablets", "Fish Oil Capsules", "Probiotic Sachets", "Vitamin D3 Drops"),
        ("GB", "DE", "FR", "IE"),
        (10, 60),
        0.2,
    ),
    "33": (
        "Beauty & fragrance",
        ("Eau de Parfum 50ml", "Anti-Ageing Serum", "Hand Cream", "Crème Hydratante"),
        ("FR", "GB", "IT", "DE"),
        (12, 150),
        0.3,
    ),
    "34": (
        "Soap & care",
        ("Lavender Soap", "Shaving Cream", "Savon de Marseille"),
        ("GB", "FR"),
        (4, 25),
        0.3,
    ),
    "42": (
        "Leather goods",
        ("Leather Handbag", "Travel Wallet", "Borsa in Pelle"),
        ("IT", "FR", "GB", "ES"),
        (60, 900),
        0.8,
    ),
    "61": (
        "Knitwear",
        ("Cashmere Jumper", "Merino Scarf", "Lambswool Cardigan"),
        ("GB", "IT", "IE"),
        (40, 300),
        0.4,
    ),
    "62": ("Apparel", ("Wax Jacket", "Cotton Shirt", "Tweed Blazer"), ("GB", "IT", "FR"), (40, 400), 0.8),
    "64": (
        "Footwear",
        ("Leather Brogues", "Chelsea Boots", "Espadrilles"),
        ("GB", "IT", "ES"),
        (50, 350),
        1.0,
    ),
    "71": (
        "Jewellery",
        ("Silver Bracelet", "Gold Pendant", "Pearl Earrings"),
        ("GB", "IT", "FR"),
        (60, 1200),
        0.1,
    ),
    "85": (
        "Small electronics",
        ("Hair Dryer", "Electric Toothbrush", "Bluetooth Speaker", "Kettle"),
        ("GB", "DE", "NL"),
        (25, 300),
        1.2,
    ),
    "87": (
        "Car accessories",
        ("Alloy Wheel Set", "Car Roof Box", "Brake Disc Kit", "Pushchair", "Car Floor Mats"),
        ("GB", "DE", "IT"),
        (40, 600),
        6.0,
    ),
    "90": (
        "Optics & instruments",
        ("Sunglasses", "Binoculars 10x42", "Blood Pressure Monitor"),
        ("GB", "DE", "IT"),
        (40, 400),
        0.5,
    ),
    "91": (
        "Watches",
        ("Automatic Watch", "Chronograph", "Pocket Watch"),
        ("GB", "DE", "FR"),
        (120, 1800),
        0.2,
    ),
    "95": (
        "Toys & games",
        ("Wooden Train Set", "Board Game", "Teddy Bear", "Jigsaw Puzzle 1000"),
        ("GB", "DE", "DK"),
        (10, 80),
        0.7,
    ),
}


@dataclass(frozen=True)
class Mix:
    """Chapter shares and the 6-digit HS codes available per chapter."""

    chapters: list[str]
    shares: np.ndarray  # sums to 1, real UK->CN export value shares
    hs6: dict[str, list[str]]


def load_mix(reference_dir: Path) -> Mix:
    """Chapter shares from UN Comtrade (UK exports to China, 2012) and HS 2022 subheadings."""
    trade = pl.read_csv(
        reference_dir / "comtrade_uk_exports_2012_by_hs2_cn_hk_mo_world.csv", infer_schema=False
    ).filter((pl.col("Partner ISO") == "CHN") & pl.col("Commodity Code").is_in(list(CHAPTERS)))
    values = dict(zip(trade["Commodity Code"], trade["Trade Value (US$)"].cast(pl.Float64), strict=True))
    chapters = sorted(CHAPTERS)
    shares = np.array([values[c] for c in chapters])
    hs = pl.read_csv(reference_dir / "hs_harmonized-system.csv", infer_schema=False).filter(pl.col("level") == "6")
    hs6 = {c: sorted(hs.filter(pl.col("hscode").str.starts_with(c))["hscode"].to_list()) for c in chapters}
    return Mix(chapters=chapters, shares=shares / shares.sum(), hs6=hs6)


def gtin13(body12: np.ndarray) -> np.ndarray:
    """GTIN-13 strings from 12-digit integer bodies, with the GS1 check digit."""
    digits = np.stack([(body12 // 10 ** (11 - i)) % 10 for i in range(12)], axis=1)
    weights = np.array([1, 3] * 6)
    check = (10 - (digits * weights).sum(axis=1) % 10) % 10
    return np.char.add(np.char.zfill(body12.astype(str), 12), check.astype(str))
