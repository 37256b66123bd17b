"""Pseudonyms per municipality (issue 16, docs/privacy.md): every stored pseudonym, made with
the master key alone, becomes HMAC(municipality key, old pseudonym), which is exactly what
``pseudonymise`` now gives for the same identity number. No identity number is needed, and
the same person's pseudonyms in two municipalities no longer match.

Needs the pseudonym key when there are clients (as any import does). Not reversible: the
old pseudonyms cannot be computed back. Files exported before this migration carry the old
form; export again afterwards.
"""

from django.db import migrations

BATCH = 2000


def forwards(apps, schema_editor):
    from utfall.core.pseudonyms import rekey

    Client = apps.get_model("registry", "Client")
    Municipality = apps.get_model("organisations", "Municipality")
    for municipality in Municipality.objects.all():
        clients = Client.objects.filter(municipality=municipality).only("pk", "pseudonym").order_by("pk")
        last = 0
        while True:
            batch = list(clients.filter(pk__gt=last)[:BATCH])
            if not batch:
                break
            for client in batch:
                client.pseudonym = rekey(client.pseudonym, municipality.code)
            Client.objects.bulk_update(batch, ["pseudonym"])
            last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_intervention_disposed_on"),
        ("organisations", "0002_initial"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
