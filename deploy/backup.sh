#!/usr/bin/env bash
# Back up utfall: the PostgreSQL database (custom format) and the pseudonym key, into one
# directory named by the date. Usage: deploy/backup.sh DIRECTORY   (docs/deploy.md)
# Needs DATABASE_URL and UTFALL_PSEUDONYM_KEY_FILE (as in /etc/utfall/utfall.env).
set -euo pipefail
umask 077
target="${1:?ange en katalog för säkerhetskopian}/utfall-$(date +%Y%m%dT%H%M%S)"
mkdir -p "$target"
pg_dump --format=custom --no-owner --no-privileges --file="$target/utfall.dump" "${DATABASE_URL:?DATABASE_URL saknas}"
cp "${UTFALL_PSEUDONYM_KEY_FILE:?UTFALL_PSEUDONYM_KEY_FILE saknas}" "$target/pseudonym.key"
( cd "$target" && sha256sum utfall.dump pseudonym.key > SHA256SUMS )
echo "$target"
