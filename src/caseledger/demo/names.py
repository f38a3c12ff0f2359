"""Synthetic identities: names from many languages, phones, addresses, homes near an office.

Names come from Faker's locales plus short lists where Faker has none (Haitian Creole) or
where a romanised name must match its native spelling (Arabic). No name is a real person's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import phonenumbers
from anyascii import anyascii
from faker import Faker

from caseledger.people.services import AddressInput, ContactInput, NameInput, PersonInput

HAITIAN_GIVEN = [
    "Mackenson", "Wislande", "Jinette", "Fritznel", "Widlene", "Kervens", "Roodmy",
    "Guerline", "Rosemène", "Wilner", "Jean-Robert", "Marie-Carmel", "Esaie", "Nadège",
]  # fmt: skip
HAITIAN_FAMILY = [
    "Jean-Baptiste", "Pierre", "Joseph", "Louis", "Charles", "Désir", "Étienne", "Toussaint",
    "Dorsainvil", "Célestin", "Augustin", "Saint-Fleur",
]  # fmt: skip
ARABIC_GIVEN = [
    ("Mohammed", "محمد"), ("Ahmed", "أحمد"), ("Youssef", "يوسف"), ("Omar", "عمر"),
    ("Fatima", "فاطمة"), ("Aisha", "عائشة"), ("Khaled", "خالد"), ("Hassan", "حسن"),
    ("Mariam", "مريم"), ("Layla", "ليلى"), ("Abdullah", "عبد الله"), ("Nour", "نور"),
]  # fmt: skip
ARABIC_FAMILY = [
    ("Haddad", "حداد"), ("Nasser", "ناصر"), ("Khalil", "خليل"), ("Saleh", "صالح"),
    ("Mansour", "منصور"), ("Ibrahim", "إبراهيم"), ("Abboud", "عبود"), ("Hamdan", "حمدان"),
    ("Al-Hassan", "الحسن"),
]  # fmt: skip
ARABIC_VARIANTS = {
    "Mohammed": "Muhammad", "Ahmed": "Ahmad", "Youssef": "Yusuf", "Omar": "Umar",
    "Khaled": "Khalid", "Aisha": "Aicha", "Mariam": "Maryam",
}  # fmt: skip

#: (weight, locale or special list, citizenship, languages)
Origin = tuple[int, str, list[str], list[str]]
ORIGINS: list[Origin] = [
    (22, "es_MX", ["MX"], ["es"]),
    (10, "es_CO", ["CO"], ["es"]),
    (8, "es_ES", ["VE"], ["es"]),
    (6, "es_ES", ["GT"], ["es"]),
    (10, "pt_BR", ["BR"], ["pt"]),
    (10, "haitian", ["HT"], ["ht", "fr"]),
    (8, "arabic", ["SY"], ["ar"]),
    (8, "zh_CN", ["CN"], ["zh"]),
    (6, "ru_RU", ["RU"], ["ru"]),
    (6, "uk_UA", ["UA"], ["uk", "ru"]),
    (6, "en_IN", ["IN"], ["hi", "en"]),
]
GUATEMALA = ORIGINS[3]

AREA_CODES = {
    "east": ["212", "718", "917", "347", "201", "973", "617"],
    "west": ["213", "323", "310", "818", "562", "714", "626"],
}
#: Where participants live: (city, region, postal code prefix, latitude, longitude).
HOMES = {
    "east": [
        ("Bronx", "NY", "104", 40.8448, -73.8648), ("Brooklyn", "NY", "112", 40.6782, -73.9442),
        ("Queens", "NY", "113", 40.7282, -73.7949), ("Newark", "NJ", "071", 40.7357, -74.1724),
        ("Jersey City", "NJ", "073", 40.7178, -74.0431),
        ("Paterson", "NJ", "075", 40.9168, -74.1718),
    ],
    "west": [
        ("Los Angeles", "CA", "900", 34.0522, -118.2437),
        ("Long Beach", "CA", "908", 33.7701, -118.1937),
        ("Santa Ana", "CA", "927", 33.7455, -117.8677),
        ("Pasadena", "CA", "911", 34.1478, -118.1445),
        ("Pomona", "CA", "917", 34.0551, -117.7500),
        ("Inglewood", "CA", "903", 33.9617, -118.3531),
    ],
}  # fmt: skip


class Identities:
    """Faker instances for each locale, seeded once: the same seed gives the same people."""

    def __init__(self, rng: random.Random, random_seed: int) -> None:
        Faker.seed(random_seed)
        self.rng = rng
        locales = sorted({o[1] for o in ORIGINS if "_" in o[1]} | {"en_US"})
        self.fakers = {loc: Faker(loc) for loc in locales}
        self.us = self.fakers["en_US"]
        self.weights = [o[0] for o in ORIGINS]

    def origin(self) -> Origin:
        return self.rng.choices(ORIGINS, self.weights)[0]

    def name(self, origin: str) -> tuple[NameInput, list[NameInput]]:
        """A primary name (Latin script, as officers type it) and aliases in other spellings."""
        rng, aliases = self.rng, []
        if origin == "haitian":
            given, family = rng.choice(HAITIAN_GIVEN), rng.choice(HAITIAN_FAMILY)
            if rng.random() < 0.3:
                aliases.append(NameInput(given_names=anyascii(given),
                                         family_names=anyascii(family), kind="transliteration"))
            return NameInput(given_names=given, family_names=family), aliases
        if origin == "arabic":
            (given, g_ar), (family, f_ar) = rng.choice(ARABIC_GIVEN), rng.choice(ARABIC_FAMILY)
            aliases.append(NameInput(given_names=g_ar, family_names=f_ar,
                                     full_name=f"{g_ar} {f_ar}", kind="transliteration"))
            if given in ARABIC_VARIANTS and rng.random() < 0.5:
                aliases.append(NameInput(given_names=ARABIC_VARIANTS[given], family_names=family))
            return NameInput(given_names=given, family_names=family), aliases
        return self._faker_name(origin)

    def _faker_name(self, origin: str) -> tuple[NameInput, list[NameInput]]:
        rng, fake, aliases = self.rng, self.fakers[origin], []
        given = fake.first_name_female() if rng.random() < 0.5 else fake.first_name_male()
        family = fake.last_name()
        if origin.startswith("es_") and rng.random() < 0.7:
            family = f"{family} {fake.last_name()}"
        if origin in {"zh_CN", "ru_RU", "uk_UA"}:
            native = f"{family}{given}" if origin == "zh_CN" else f"{given} {family}"
            aliases.append(NameInput(given_names=given, family_names=family, full_name=native,
                                     kind="transliteration"))
            given, family = anyascii(given).strip(), anyascii(family).strip()
        elif origin.startswith("es_") and " " in family and rng.random() < 0.4:
            aliases.append(NameInput(given_names=given, family_names=family.split(" ")[0]))
        return NameInput(given_names=given, family_names=family), aliases

    def phone(self, office: str) -> str:
        while True:
            area = self.rng.choice(AREA_CODES[office])
            candidate = f"+1{area}{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                return candidate

    def addresses(self, today: date) -> list[AddressInput]:
        """An address history of 1-3 addresses, anywhere in the country."""
        count = self.rng.choice([1, 1, 2, 2, 3])
        valid_from = today - timedelta(days=self.rng.randint(400, 2500))
        out = []
        for _ in range(count):
            if valid_from >= today:
                break
            out.append(AddressInput(line1=self.us.street_address(), city=self.us.city(),
                                    region=self.us.state_abbr(), postal_code=self.us.zipcode(),
                                    valid_from=valid_from))
            valid_from += timedelta(days=self.rng.randint(120, 400))
        return out

    def home(self, office: str, today: date) -> Home:
        """A home near the office, with its coordinates (for the distance of a check-in)."""
        city, region, prefix, lat, lon = self.rng.choice(HOMES[office])
        return Home(
            AddressInput(line1=self.us.street_address(), city=city, region=region,
                         postal_code=f"{prefix}{self.rng.randint(0, 99):02d}",
                         valid_from=today - timedelta(days=self.rng.randint(60, 900))),
            Decimal(f"{lat + self.rng.uniform(-0.03, 0.03):.6f}"),
            Decimal(f"{lon + self.rng.uniform(-0.03, 0.03):.6f}"),
        )

    def person(self, index: int, office: str, today: date, *,
               origin: Origin | None = None,
               home: Home | None = None) -> tuple[PersonInput, list[AddressInput]]:
        """A whole synthetic person, and their later addresses (recorded after the person);
        `home` replaces the address history for participants."""
        rng = self.rng
        _w, locale, citizenship, languages = origin or self.origin()
        name, aliases = self.name(locale)
        addresses = [home.address] if home else self.addresses(today)
        contacts = [ContactInput(kind="phone", value=self.phone(office), preferred=True)]
        if rng.random() < 0.5:
            contacts.append(ContactInput(kind="email", value=f"person{index}@example.org"))
        return PersonInput(
            name=name,
            aliases=aliases,
            date_of_birth=today - timedelta(days=rng.randint(18 * 365, 70 * 365)),
            a_number=f"A{rng.randint(10_000_000, 249_999_999):09d}" if rng.random() < 0.9
            else None,
            citizenship=citizenship,
            languages=languages,
            interpreter_needed=languages[0] != "en" and rng.random() < 0.8,
            address=addresses[0] if addresses else None,
            contacts=contacts,
        ), addresses[1:]


@dataclass(frozen=True)
class Home:
    address: AddressInput
    latitude: Decimal
    longitude: Decimal


#: The demo participant who signs in (`participant.demo`): a synthetic person, in Spanish.
DEMO_PARTICIPANT = PersonInput(
    name=NameInput(given_names="Marisol", family_names="Vega Castillo"),
    aliases=[NameInput(given_names="Marisol", family_names="Vega")],
    date_of_birth=date(1988, 3, 14),
    a_number="A201126001",
    citizenship=["MX"],
    languages=["es", "en"],
    interpreter_needed=True,
    contacts=[ContactInput(kind="email", value="participant.demo@example.org")],
)
DEMO_PARTICIPANT_HOME = ("350 Fifth Avenue", "New York", "NY", "10118", "40.748400",
                         "-73.985700")
