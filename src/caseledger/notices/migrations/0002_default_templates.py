"""The shipped reminder texts (English and Spanish, email and SMS), approved version 1."""

from django.db import migrations


def seed(apps, schema_editor):
    from caseledger.notices.defaults import seed as seed_templates

    seed_templates(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [("notices", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
