"""Realistic random bol orders: Dutch and Belgian customers, valid EAN-13s, euro prices.

Everything is drawn from the caller's seeded `random.Random`, so a BolState with a given seed
always produces the same orders, and a failing test can be replayed exactly.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sandbox.bol.records import Order, OrderItem

FIRST_NAMES = (
    "Daan", "Sem", "Lucas", "Levi", "Finn", "Milan", "Bram", "Thijs", "Jesse", "Ruben", "Lars",
    "Emma", "Julia", "Tess", "Sophie", "Anna", "Fenna", "Sanne", "Lotte", "Noor", "Eva", "Femke",
    "Jan", "Piet", "Kees", "Willem", "Maarten", "Ingrid", "Marieke", "Annelies", "Joost", "Wouter",
)
SURNAMES = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
    "Kok", "Jacobs", "de Haan", "Vermeulen", "van der Linden", "Peeters", "Maes", "Claes",
)
# (city, 4-digit postcode prefix) pairs; NL zip codes are "1234AB".
NL_CITIES = (
    ("Amsterdam", "1012"), ("Rotterdam", "3011"), ("Den Haag", "2511"), ("Utrecht", "3511"),
    ("Eindhoven", "5611"), ("Groningen", "9711"), ("Tilburg", "5038"), ("Almere", "1315"),
    ("Breda", "4811"), ("Nijmegen", "6511"), ("Apeldoorn", "7311"), ("Haarlem", "2011"),
    ("Arnhem", "6811"), ("Zwolle", "8011"), ("Leiden", "2311"), ("Maastricht", "6211"),
    ("Delft", "2611"), ("Alkmaar", "1811"), ("Deventer", "7411"), ("Leeuwarden", "8911"),
)
# BE zip codes are "0000".
BE_CITIES = (
    ("Antwerpen", "2000"), ("Gent", "9000"), ("Brugge", "8000"), ("Leuven", "3000"),
    ("Mechelen", "2800"), ("Hasselt", "3500"), ("Kortrijk", "8500"), ("Aalst", "9300"),
)
STREETS = (
    "Dorpstraat", "Kerkstraat", "Schoolstraat", "Molenweg", "Stationsweg", "Julianastraat",
    "Beatrixlaan", "Wilhelminastraat", "Nieuwstraat", "Hoofdstraat", "Eikenlaan", "Lindelaan",
    "Prinses Irenestraat", "Marktplein", "Raadhuisstraat", "Havenweg", "Sportlaan", "Parallelweg",
    "Kastanjelaan", "Industrieweg", "Zuiderweg", "Oranjestraat", "Steenweg", "Veldstraat",
)
PRODUCTS = (
    "Philips Hue White Ambiance E27 lamp", "Tefal Ingenio pannenset 10-delig",
    "LEGO Classic Creatieve Opbergdoos", "Bosch accuboormachine 18V", "JBL Flip 6 speaker",
    "Nespresso Vertuo koffiecapsules 30 stuks", "Brabantia Bo afvalemmer 36L",
    "Harry Potter en de Steen der Wijzen - J.K. Rowling", "Rituals The Ritual of Sakura cadeauset",
    "Samsung EVO Plus microSD 128GB", "Ravensburger puzzel 1000 stukjes", "Dyson V8 steelstofzuiger",
    "Logitech MX Master 3S muis", "Sinterklaas chocoladeletter melk 200g", "Joolz wandelwagen regenhoes",
    "Nintendo Switch Lite turquoise", "Gazelle fietsbel chroom", "Douwe Egberts Aroma Rood 500g",
)
EXTRA_INFO = ("", "", "", "", "Achterom", "Bel aanbellen bij buren", "Appartement 3e etage")
SALUTATIONS = ("MALE", "FEMALE", "UNKNOWN")
# (mainReason, detailedReason) pairs from retailer-v10.json's ReturnReason table.
RETURN_REASONS = (
    ("Verkeerde maat of afmeting", "Te groot"), ("Verkeerde maat of afmeting", "Te klein"),
    ("Verkeerd besteld", "Dubbel besteld"), ("Verkeerd besteld", "Artikel had ik toch niet nodig"),
    ("Artikel werkt niet", None), ("Klacht over artikel", "Kwaliteit valt tegen"),
    ("Klacht over de bezorging", "Verpakking is beschadigd"), ("Elders goedkoper", None),
    ("Anders", "Ik heb me bedacht"),
)
TIME_FRAMES = ("REGULAR", "REGULAR", "REGULAR", "EVENING", "SUNDAY")

CENT = Decimal("0.01")


def ean13(rng: random.Random) -> str:
    """A valid EAN-13 with the Dutch GS1 prefix 87 and a correct check digit."""
    body = "87" + "".join(rng.choice(string.digits) for _ in range(10))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def order_id(rng: random.Random) -> str:
    # Current bol order ids look like "A2K8290LP8": a letter and nine upper-case alphanumerics.
    return "A" + "".join(rng.choice(string.digits + string.ascii_uppercase) for _ in range(9))


def price(rng: random.Random) -> Decimal:
    # Shop prices end in .95/.99/.49 more often than not.
    euros = rng.randint(3, 249)
    cents = rng.choice(("0.95", "0.99", "0.49", "0.00", f"0.{rng.randint(0, 99):02d}"))
    return (Decimal(euros) + Decimal(cents)).quantize(CENT)


def commission(unit_price: Decimal, quantity: int) -> Decimal:
    # bol charges a percentage of the sales price plus a fixed fee per item.
    return (unit_price * quantity * Decimal("0.15") + Decimal("0.99") * quantity).quantize(CENT, ROUND_HALF_UP)


def person(rng: random.Random) -> tuple[str, str, str]:
    return rng.choice(SALUTATIONS), rng.choice(FIRST_NAMES), rng.choice(SURNAMES)


def scrambled_email(rng: random.Random) -> str:
    # bol hands out relay addresses instead of the customer's own.
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(24)) + "@verkopen.bol.com"


def address(rng: random.Random, country: str) -> dict:
    if country == "BE":
        city, zip_code = rng.choice(BE_CITIES)
        language = "nl-BE"
    else:
        city, prefix = rng.choice(NL_CITIES)
        zip_code = prefix[:2] + f"{rng.randint(int(prefix[2:]), 99):02d}" + "".join(
            rng.choice("ABCDEGHJKLMNPRSTVWXZ") for _ in range(2))
        language = "nl"
    extension = rng.choice(("", "", "", "", "A", "B", "bis", "-2", "hs"))
    extra = rng.choice(EXTRA_INFO)
    return {
        "streetName": rng.choice(STREETS),
        "houseNumber": str(rng.randint(1, 250)),
        "houseNumberExtension": extension or None,
        "extraAddressInformation": extra or None,
        "zipCode": zip_code,
        "city": city,
        "countryCode": country,
        "language": language,
    }


def random_order(rng: random.Random, *, seller: str, next_item_id: Callable[[], str],
                 fulfilment_method: str = "FBR", items_per_order: int | None = None,
                 now: datetime) -> Order:
    country = "BE" if rng.random() < 0.2 else "NL"
    salutation, first, last = person(rng)
    shipping_address = address(rng, country)
    email = scrambled_email(rng)
    company = rng.choice((None, None, None, None, "Jansen Installatietechniek B.V.", "Bakkerij De Korenschoof"))
    shipment_details = {
        "pickupPointName": None,
        "salutation": salutation,
        "firstName": first,
        "surname": last,
        **{k: v for k, v in shipping_address.items() if k != "language"},
        "email": email,
        "company": company,
        "deliveryPhoneNumber": None if rng.random() < 0.7 else f"06{rng.randint(10000000, 99999999)}",
        "language": shipping_address["language"],
    }
    # Usually the same person pays; sometimes a business address with VAT number.
    if rng.random() < 0.8:
        billing_address = {k: v for k, v in shipping_address.items() if k != "language"}
    else:
        billing_address = {k: v for k, v in address(rng, country).items() if k != "language"}
    billing_details = {
        "salutation": salutation,
        "firstName": first,
        "surname": last,
        **billing_address,
        "email": email,
        "company": company,
        "vatNumber": "NL859377584B01" if company else None,
        "kvkNumber": "12345678" if company else None,
        "orderReference": None,
    }
    placed_at = (now - timedelta(minutes=rng.randint(1, 60 * 24))).replace(microsecond=0)
    count = items_per_order if items_per_order else rng.choice((1, 1, 1, 1, 2, 2, 3))
    items = []
    for _ in range(count):
        unit_price = price(rng)
        quantity = rng.choice((1, 1, 1, 1, 2, 3))
        items.append(OrderItem(
            order_item_id=next_item_id(),
            ean=ean13(rng),
            title=rng.choice(PRODUCTS),
            offer_id=uuid4(rng),
            offer_reference=rng.choice((None, f"SKU-{rng.randint(1000, 99999)}", f"WC-{rng.randint(10, 9999)}")),
            quantity=quantity,
            unit_price=unit_price,
            commission=commission(unit_price, quantity),
            fulfilment_method=fulfilment_method,
            time_frame_type=rng.choice(TIME_FRAMES),
            latest_delivery_date=(placed_at + timedelta(days=rng.randint(1, 3))).date(),
            latest_changed=placed_at,
        ))
    return Order(
        order_id=order_id(rng),
        seller=seller,
        placed_at=placed_at,
        shipment_details=shipment_details,
        billing_details=billing_details,
        items=items,
    )


def uuid4(rng: random.Random) -> str:
    """A version-4-shaped UUID drawn from `rng` (bol's offer ids are UUIDs)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
