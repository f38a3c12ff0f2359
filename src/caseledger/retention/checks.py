"""System checks for DESIGN invariant 6: every data class has a retention schedule.

- retention.E001 (static): a data class with neither purge rules nor a "never purged" rule.
- retention.E002 (database, `caseledger check --database default`): a data class without a
  schedule row.
- retention.W001 (static): a model that holds personal data (a link to a person or an
  enrolment, or encrypted bytes) that no data class covers.
- retention.W002 (static): a column of a model whose rows stay after a purge (a class clears
  some of its fields) that no class clears and that is not named as kept: a column added to
  a check-in, say, needs a retention decision.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks
from django.db import DatabaseError

PROJECT_PREFIX = "caseledger."


def personal_models() -> set[str]:
    """Project models that hold personal data: a link to a person or an enrolment, or
    encrypted bytes (a BinaryField)."""
    from django.db import models

    found: set[str] = set()
    for config in apps.get_app_configs():
        if not config.name.startswith(PROJECT_PREFIX):
            continue
        for model in config.get_models():
            label = f"{model._meta.app_label}.{model.__name__}"
            if label == "people.Person":
                found.add(label)
                continue
            for f in model._meta.concrete_fields:
                target = getattr(f, "related_model", None)
                linked = target is not None and target._meta.label in (
                    "people.Person",
                    "supervision.Enrolment",
                )
                if linked or (isinstance(f, models.BinaryField) and f.name.endswith("encrypted")):
                    found.add(label)
                    break
    return found


@checks.register("retention")
def classes_have_rules(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from .classes import NOT_PURGED, SPECS, covered_models
    from .models import DataClass

    errors: list[checks.CheckMessage] = [
        checks.Error(
            f"Data class '{code}' has no purge rule and is not marked permanent.",
            id="retention.E001",
        )
        for code in DataClass.values
        if code not in SPECS and code not in NOT_PURGED
    ]
    covered = covered_models()
    errors.extend(
        checks.Warning(
            f"{label} holds personal data but no retention data class covers it.",
            hint="Add it to a ClassSpec's `covers` or to CASE_FILE_MODELS in "
            "caseledger/retention/classes.py, with a schedule.",
            id="retention.W001",
        )
        for label in sorted(personal_models() - covered)
    )
    errors.extend(unaccounted_columns())
    return errors


def unaccounted_columns() -> list[checks.CheckMessage]:
    """retention.W002: every column of a partly purged model is cleared or kept."""
    from .classes import KEPT_FIELDS, cleared_fields

    found: list[checks.CheckMessage] = []
    for label, cleared in sorted(cleared_fields().items()):
        app_label, name = label.split(".")
        try:
            model = apps.get_model(app_label, name)
        except LookupError:  # an app not built yet: its classes are skipped too
            continue
        accounted = cleared | set(KEPT_FIELDS.get(label, ()))
        found.extend(
            checks.Warning(
                f"{label}.{f.name} is neither cleared by a retention data class nor "
                "listed as kept.",
                hint="Add it to a ClassSpec's `clears` (with a schedule) or to KEPT_FIELDS "
                "in caseledger/retention/classes.py, with the reason it may stay.",
                id="retention.W002",
            )
            for f in model._meta.concrete_fields
            if f.name not in accounted
        )
    return found


@checks.register("retention", checks.Tags.database)
def schedules_exist(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Any]:
    if not databases:
        return []
    from .models import DataClass, Schedule

    try:
        present = set(Schedule.objects.values_list("data_class", flat=True))
    except DatabaseError:  # not migrated yet: `migrate` seeds them
        return []
    return [
        checks.Error(f"Data class '{code}' has no retention schedule.", id="retention.E002")
        for code in DataClass.values
        if code not in present
    ]
