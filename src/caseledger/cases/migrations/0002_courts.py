from django.db import migrations


def add_courts(apps, schema_editor):
    from caseledger.cases.courts import COURTS

    Court = apps.get_model("cases", "Court")
    for code, name, tz in COURTS:
        Court.objects.update_or_create(code=code, defaults={"name": name, "time_zone": tz})


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(add_courts, migrations.RunPython.noop)]
