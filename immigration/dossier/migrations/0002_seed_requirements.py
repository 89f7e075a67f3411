"""The office's document rules as shipped; operators edit them in the admin.

Sources: the Directorate General of Immigration's requirements for an ordinary passport. A new
passport needs the KTP, the family card (KK) and one proof of name and birth (birth
certificate, diploma or marriage certificate); a renewal needs the KTP and the old passport.
Replacing a lost passport needs the same proofs as a new one (the old passport is gone); a
damaged one is brought in, with the KTP and KK.
"""

from django.db import migrations

RULES = {
    "new": ["ktp", "kk", "birth_certificate|diploma|marriage_certificate"],
    "renewal": ["ktp", "old_passport"],
    "replacement_lost": ["ktp", "kk", "birth_certificate|diploma|marriage_certificate"],
    "replacement_damaged": ["ktp", "kk", "old_passport"],
}


def seed(apps, schema_editor):
    Requirement = apps.get_model("dossier", "Requirement")
    for application_type, groups in RULES.items():
        for position, kinds in enumerate(groups):
            Requirement.objects.get_or_create(
                application_type=application_type, kinds=kinds,
                defaults={"position": position},
            )


def unseed(apps, schema_editor):
    Requirement = apps.get_model("dossier", "Requirement")
    for application_type, groups in RULES.items():
        Requirement.objects.filter(application_type=application_type, kinds__in=groups).delete()


class Migration(migrations.Migration):
    dependencies = [("dossier", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
