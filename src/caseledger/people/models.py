"""Persons and what identifies and reaches them: names, addresses, contacts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from caseledger.core.models import BaseModel


class Person(BaseModel):
    office = models.ForeignKey(
        "accounts.Office",
        on_delete=models.PROTECT,
        related_name="persons",
        db_comment="Office responsible for the person",
    )
    a_number = models.CharField(
        max_length=10,
        null=True,
        blank=True,
        unique=True,
        db_comment="Alien registration number: A + 8 or 9 digits",
    )
    date_of_birth = models.DateField(null=True, blank=True)
    citizenship = models.JSONField(
        default=list, blank=True, db_comment="ISO 3166-1 alpha-2 country codes"
    )
    languages = models.JSONField(
        default=list, blank=True, db_comment="ISO 639 language codes, preferred first"
    )
    interpreter_needed = models.BooleanField(default=False)
    participant_account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="participant_person",
        db_comment="Login of the person, if enrolled",
    )

    class Meta:
        db_table = "people_person"

    def primary_name(self) -> PersonName | None:
        names = getattr(self, "_prefetched_objects_cache", {}).get("names")
        if names is not None:
            return next((n for n in names if n.kind == NameKind.PRIMARY), None)
        return self.names.filter(kind=NameKind.PRIMARY).first()

    def __str__(self) -> str:
        name = self.primary_name()
        return name.full_name if name else str(self.pk)


class NameKind(models.TextChoices):
    PRIMARY = "primary", "Primary"
    ALIAS = "alias", "Alias"
    BIRTH = "birth", "Birth name"
    TRANSLITERATION = "transliteration", "Other spelling"


class PersonName(BaseModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="names")
    kind = models.CharField(max_length=16, choices=NameKind.choices)
    given_names = models.CharField(max_length=200, blank=True)
    family_names = models.CharField(max_length=200, blank=True)
    full_name = models.CharField(max_length=400, db_comment="As written, in any script")
    search_key = models.CharField(
        max_length=400,
        db_index=True,
        db_comment="ASCII transliteration, lower case, for fuzzy search",
    )
    skeleton = models.CharField(
        max_length=400,
        db_index=True,
        db_comment="Consonant skeleton of search_key, for spelling variants",
    )

    class Meta:
        db_table = "people_name"
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(kind="primary"), name="people_name_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name


class AddressSource(models.TextChoices):
    STAFF = "staff", _("Recorded by staff")
    PERSON = "person", _("Reported by the person")
    REPRESENTATIVE = "representative", _("Reported by the representative")


class Address(BaseModel):
    """An address with the dates it held. The address of record is the one with no end."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="addresses")
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=120)
    region = models.CharField(max_length=64, blank=True, db_comment="State or province")
    postal_code = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        db_comment="Of the address itself, if known (never tracked)",
    )
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, db_comment="Null: address of record")
    source = models.CharField(
        max_length=16,
        choices=AddressSource.choices,
        default=AddressSource.STAFF,
        db_comment="Who reported it: staff, the person, or their representative",
    )

    class Meta:
        db_table = "people_address"
        ordering = ["-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(valid_to__isnull=True),
                name="people_address_one_of_record",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="people_address_dates_ordered",
            ),
        ]

    @property
    def is_of_record(self) -> bool:
        return self.valid_to is None

    def one_line(self) -> str:
        parts = [
            self.line1,
            self.line2,
            self.city,
            " ".join(p for p in (self.region, self.postal_code) if p),
        ]
        return ", ".join(p for p in parts if p)


class ContactKind(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"


class Contact(BaseModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=8, choices=ContactKind.choices)
    value = models.CharField(max_length=254, db_comment="E.164 phone number or email address")
    preferred = models.BooleanField(default=False)

    class Meta:
        db_table = "people_contact"


class RepresentationForm(models.TextChoices):
    G28 = "G-28", "G-28 (before DHS)"
    EOIR28 = "EOIR-28", "EOIR-28 (before the immigration court)"
    EOIR27 = "EOIR-27", "EOIR-27 (before the BIA)"


class Representation(BaseModel):
    """An attorney or accredited representative of record for one person.

    While open, the representative sees that client's case, hearings, deadlines, notices,
    check-in history and review dispositions; ending it ends that access at once.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="representations")
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="representations"
    )
    form = models.CharField(max_length=8, choices=RepresentationForm.choices)
    filed_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "people_representation"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "representative"],
                condition=Q(ended_on__isnull=True),
                name="people_one_open_representation_per_pair",
            ),
        ]
