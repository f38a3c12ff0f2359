"""Seed the routine-use registry and the agencies it names.

The routine uses follow the shape of the DHS/ICE systems-of-records notices (SORNs): each is
a disclosure "compatible with the purpose for which the record was collected" under
5 U.S.C. 552a(b)(3), published as a lettered routine use of the SORN. The letters below are
this deployment's registry; a deployment edits them to match its own published SORN.
"""

from django.db import migrations

AGENCIES = [
    # code, name, address, email, law enforcement, monthly cap
    (
        "EOIR",
        "Executive Office for Immigration Review",
        "5107 Leesburg Pike, Falls Church, VA 22041",
        "",
        False,
        500,
    ),
    (
        "DOJ-OIL",
        "U.S. Department of Justice, Office of Immigration Litigation",
        "P.O. Box 878, Ben Franklin Station, Washington, DC 20044",
        "",
        False,
        100,
    ),
    (
        "FBI",
        "Federal Bureau of Investigation",
        "935 Pennsylvania Avenue NW, Washington, DC 20535",
        "",
        True,
        20,
    ),
    ("NJSP", "New Jersey State Police", "P.O. Box 7068, West Trenton, NJ 08628", "", True, 10),
    (
        "CONGRESS",
        "Office of a Member of Congress (casework)",
        "U.S. Capitol, Washington, DC 20515",
        "",
        False,
        50,
    ),
    (
        "NARA",
        "National Archives and Records Administration",
        "8601 Adelphi Road, College Park, MD 20740",
        "",
        False,
        20,
    ),
]

ROUTINE_USES = [
    # code, name, citation, description, agencies, categories
    (
        "ICE-A",
        "Immigration court proceedings",
        "5 U.S.C. 552a(b)(3); SORN routine use A",
        "To the Executive Office for Immigration Review for proceedings before an immigration "
        "judge or the Board of Immigration Appeals.",
        ["EOIR"],
        ["identity", "addresses", "cases", "hearings", "decisions"],
    ),
    (
        "ICE-B",
        "Litigation by the Department of Justice",
        "5 U.S.C. 552a(b)(3); SORN routine use B",
        "To the Department of Justice, including its litigating offices, when the agency or an "
        "employee is a party to litigation and the record is relevant and necessary to it.",
        ["DOJ-OIL"],
        ["identity", "addresses", "cases", "hearings", "decisions", "notes"],
    ),
    (
        "ICE-C",
        "Law enforcement: a specific violation",
        "5 U.S.C. 552a(b)(3); SORN routine use C",
        "To a federal, state or local law-enforcement agency responsible for investigating or "
        "prosecuting a specific violation of law, when the record indicates that violation.",
        ["FBI", "NJSP"],
        ["identity", "addresses", "contacts", "cases"],
    ),
    (
        "ICE-D",
        "Congressional inquiry at the person's request",
        "5 U.S.C. 552a(b)(3); SORN routine use D",
        "To a Member of Congress or staff acting on the written request of the person the "
        "record is about.",
        ["CONGRESS"],
        ["identity", "cases", "hearings", "decisions", "check_ins", "review_dispositions"],
    ),
    (
        "ICE-E",
        "Records management",
        "5 U.S.C. 552a(b)(3); SORN routine use E; 44 U.S.C. 2904, 2906",
        "To the National Archives and Records Administration for records-management inspections.",
        ["NARA"],
        ["identity", "cases"],
    ),
]


def seed(apps, schema_editor):
    Agency = apps.get_model("disclosures", "Agency")
    RoutineUse = apps.get_model("disclosures", "RoutineUse")
    agencies = {}
    for code, name, address, email, law, cap in AGENCIES:
        agencies[code], _ = Agency.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "mailing_address": address,
                "email": email,
                "law_enforcement": law,
                "monthly_cap": cap,
            },
        )
    for code, name, citation, description, codes, categories in ROUTINE_USES:
        use, created = RoutineUse.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "citation": citation,
                "description": description,
                "categories": categories,
            },
        )
        if created:
            use.agencies.set([agencies[c] for c in codes])


def unseed(apps, schema_editor):
    apps.get_model("disclosures", "RoutineUse").objects.filter(
        code__in=[r[0] for r in ROUTINE_USES], requests__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("disclosures", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
