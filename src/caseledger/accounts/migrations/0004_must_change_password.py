from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_role_grant_request"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="must_change_password",
            field=models.BooleanField(
                default=False,
                db_comment="The password was set by an administrator (a new account or a "
                "reset): the holder chooses their own at the next sign-in; API tokens are "
                "refused until then",
            ),
        ),
    ]
