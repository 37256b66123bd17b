#!/usr/bin/env bash
# Restore a backup made by backup.sh into an EMPTY database, and put the pseudonym key back.
# Usage: deploy/restore.sh BACKUP_DIRECTORY   (docs/deploy.md)
# Needs DATABASE_URL (the new, empty database) and UTFALL_PSEUDONYM_KEY_FILE (where the key goes).
set -euo pipefail
umask 077
source="${1:?ange säkerhetskopians katalog}"
( cd "$source" && sha256sum --check --quiet SHA256SUMS )
tables=$(psql "${DATABASE_URL:?DATABASE_URL saknas}" -Atc "select count(*) from pg_tables where schemaname = 'public'")
if [ "$tables" != "0" ]; then
    echo "Databasen är inte tom ($tables tabeller): återställ bara till en tom databas." >&2
    exit 1
fi
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$DATABASE_URL" "$source/utfall.dump"
if [ -e "${UTFALL_PSEUDONYM_KEY_FILE:?UTFALL_PSEUDONYM_KEY_FILE saknas}" ] && ! cmp -s "$source/pseudonym.key" "$UTFALL_PSEUDONYM_KEY_FILE"; then
    echo "En annan pseudonymnyckel finns redan i $UTFALL_PSEUDONYM_KEY_FILE; den skrivs inte över." >&2
    exit 1
fi
install -m 0600 "$source/pseudonym.key" "$UTFALL_PSEUDONYM_KEY_FILE"
echo "Återställd från $source"
