"""The supplier roster: 44 UK and EU suppliers.

The roster is fixed (not drawn from the seed) so that the contracts shipped in
``pipelines/resources/contracts/catalogues/`` can name their suppliers; each supplier's layout is the contract
that lists it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Supplier:
    supplier_id: str
    legal_name: str
    country: str
    currency: str
    cadence: str  # monthly | weekly
    specialities: tuple[str, ...]  # HS chapters it sells most

    @property
    def vat_id(self) -> str:
        n = int(self.supplier_id[2:])
        nine = f"{(n * 7_919_191 + 123_456_789) % 1_000_000_000:09d}"
        shapes = {
            "GB": f"GB{nine}",
            "FR": f"FR{n % 90 + 10:02d}{nine}",
            "DE": f"DE{nine}",
            "IT": f"IT{nine}{n % 90 + 10:02d}",
            "ES": f"ESB{nine[:7]}{n % 10}",
            "NL": f"NL{nine}B{n % 90 + 1:02d}",
            "IE": f"IE{nine[:7]}{'ABCDEFGHW'[n % 9]}",
            "BE": f"BE0{nine}",
            "DK": f"DK{nine[:8]}",
        }
        return shapes[self.country]


def _s(sid: str, name: str, chapters: str, cadence: str = "monthly") -> Supplier:
    country = sid[:2]
    currency = {"GB": "GBP", "DK": "DKK"}.get(country, "EUR")
    return Supplier(sid, name, country, currency, cadence, tuple(chapters.split()))


ROSTER: tuple[Supplier, ...] = (
    _s("GB001", "Highland Spirits Export Ltd", "22", "weekly"),
    _s("GB002", "Cotswold Fine Foods Ltd", "04 19 20"),
    _s("GB003", "Thames Beauty Group plc", "33 34"),
    _s("GB004", "Albion Motor Accessories Ltd", "87", "weekly"),
    _s("GB005", "Pennine Knitwear Co Ltd", "61 62"),
    _s("GB006", "Britannia Health Supplements Ltd", "30 21"),
    _s("GB007", "Savile & Sons Tailoring Ltd", "62 64"),
    _s("GB008", "Yorkshire Tea Merchants Ltd", "09 17 18"),
    _s("GB009", "Clockmakers of Coventry Ltd", "91 71"),
    _s("GB010", "Sheffield Optics Ltd", "90 85"),
    _s("GB011", "Hamleys Wholesale Toys Ltd", "95"),
    _s("GB012", "Northern Electricals Ltd", "85"),
    _s("GB013", "Speyside Cask Traders Ltd", "22 16"),
    _s("GB014", "Westminster Leather Ltd", "42 64"),
    _s("GB015", "Brum Automotive Parts Ltd", "87"),
    _s("GB016", "Channel Islands Dairy Ltd", "04"),
    _s("FR001", "Fromagerie Léon Dupré SARL", "04 16"),
    _s("FR002", "Parfums Hélène de Césaré SAS", "33"),
    _s("FR003", "Château Bérénice Vins SA", "22", "weekly"),
    _s("FR004", "Maroquinerie Élégance SAS", "42"),
    _s("FR005", "Confiserie Noël Frères SARL", "17 18 20"),
    _s("FR006", "Savonnerie Provençale SAS", "34 33"),
    _s("FR007", "Centrale d'Achats Chine-Europe SAS", "22 04 33 87"),
    _s("DE001", "Müller Feinkost GmbH", "16 19 21"),
    _s("DE002", "Schöne Uhren Manufaktur GmbH", "91"),
    _s("DE003", "Bäckerei Größner Export GmbH", "19 18"),
    _s("DE004", "Kraftfahrzeugteile Süd AG", "87"),
    _s("DE005", "Optik Weißbach GmbH", "90 85"),
    _s("DE006", "Spielwaren Häberle KG", "95 22"),
    _s("IT001", "Pelletteria Fiorentina S.r.l.", "42 64"),
    _s("IT002", "Caseificio Sant'Agata S.p.A.", "04 19"),
    _s("IT003", "Cantine Bellavista S.p.A.", "22"),
    _s("IT004", "Moda Città Alta S.r.l.", "61 62"),
    _s("IT005", "Gioielleria Ponte Vecchio S.r.l.", "71"),
    _s("ES001", "Bodegas Peñafiel S.L.", "22 20"),
    _s("ES002", "Calzados Alicante S.A.", "64"),
    _s("ES003", "Conservas del Cantábrico S.L.", "16 20"),
    _s("NL001", "Hollandse Kaashandel B.V.", "04"),
    _s("NL002", "Dutch Electronics Trading B.V.", "85"),
    _s("NL003", "Amsterdam Bloem & Zoet B.V.", "17 18"),
    _s("IE001", "Dublin Distillers Ltd", "22"),
    _s("IE002", "Kerrygold Infant Nutrition Ltd", "04 19 30"),
    _s("BE001", "Chocolaterie Bruxelloise SPRL", "18"),
    _s("DK001", "Københavns Legetøj ApS", "95"),
)


def roster(count: int | None = None) -> tuple[Supplier, ...]:
    """The first ``count`` suppliers of the roster (all by default)."""
    return ROSTER if count is None else ROSTER[:count]


def supplier_frame(suppliers: tuple[Supplier, ...]) -> pl.DataFrame:
    """The supplier master as landed in ``suppliers/suppliers.csv``."""
    return pl.DataFrame(
        {
            "supplier_id": [s.supplier_id for s in suppliers],
            "legal_name": [s.legal_name for s in suppliers],
            "country": [s.country for s in suppliers],
            "vat_id": [s.vat_id for s in suppliers],
            "currency": [s.currency for s in suppliers],
        }
    )
