#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into the database and data dir the environment
# names (the same LMS_* variables as the app). Stop every app process first. See docs/backup.md.
#
#   scripts/restore.sh [--force] BACKUP_DIR
#
# Refuses to overwrite a database that already has tables, or existing keys or token secret,
# unless --force is given. PostgreSQL: create the (empty) database first; pg_restore and psql must
# be on PATH.
set -euo pipefail
umask 077

force=no
if [ "${1:-}" = "--force" ]; then force=yes; shift; fi
backup=${1:?usage: scripts/restore.sh [--force] BACKUP_DIR}
data_dir=${LMS_DATA_DIR:-./var}
url=${LMS_DATABASE_URL:-}
keys_dir=${LMS_KEYS_DIR:-$data_dir/keys}
secret_file=${LMS_TOKEN_SECRET_FILE:-$data_dir/token-secret.txt}
python=${PYTHON:-python3}

[ -f "$backup/MANIFEST" ] || { echo "error: $backup is not a backup (no MANIFEST)" >&2; exit 1; }
(cd "$backup" && grep -E '^[0-9a-f]{64} ' MANIFEST | sha256sum --check --quiet) \
  || { echo "error: the backup's files do not match its MANIFEST" >&2; exit 1; }
kind=$(sed -n 's/^database=//p' "$backup/MANIFEST")

case "$url" in
  "" | sqlite:*) target=sqlite ;;
  postgresql*) target=postgresql ;;
  *) echo "error: unsupported LMS_DATABASE_URL scheme: ${url%%:*}" >&2; exit 1 ;;
esac
if [ "$kind" != "$target" ]; then
  echo "error: the backup holds a $kind database but LMS_DATABASE_URL names $target" >&2
  exit 1
fi

if [ "$kind" = sqlite ]; then
  if [ -z "$url" ]; then db_path="$data_dir/lms.sqlite3"; else db_path=${url#sqlite:///}; fi
  if [ -s "$db_path" ] && [ "$force" != yes ]; then
    echo "error: $db_path exists; stop the app and use --force to replace it" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$db_path")"
  # Through the backup API, not cp: it writes the pages correctly into an existing WAL database.
  "$python" - "$backup/database.sqlite3" "$db_path" <<'PY'
import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
dst = sqlite3.connect(sys.argv[2], timeout=30)
with dst:
    src.backup(dst)
check = dst.execute("PRAGMA integrity_check").fetchone()[0]
dst.close()
src.close()
if check != "ok":
    sys.exit(f"error: the restored database fails PRAGMA integrity_check: {check}")
PY
else
  pg_url="postgresql://${url#*://}"
  tables=$(psql "$pg_url" -Atc \
    "select count(*) from information_schema.tables where table_schema = 'public'")
  clean=()
  if [ "$tables" != 0 ]; then
    if [ "$force" != yes ]; then
      echo "error: the database already has $tables table(s); restore into a new, empty" \
        "database, or use --force to replace its contents" >&2
      exit 1
    fi
    clean=(--clean --if-exists)
  fi
  pg_restore --exit-on-error --single-transaction --no-owner --no-privileges "${clean[@]}" \
    --dbname="$pg_url" "$backup/database.pgdump"
fi

if [ -d "$backup/keys" ]; then
  if [ -n "$(ls -A "$keys_dir" 2>/dev/null)" ] && [ "$force" != yes ]; then
    echo "error: $keys_dir already holds keys; use --force to add the backup's keys" >&2
    exit 1
  fi
  mkdir -p "$keys_dir"
  chmod 700 "$keys_dir"
  # Old key files are kept (their certificates keep verifying); `current` comes from the backup.
  cp -p "$backup/keys/"* "$keys_dir/"
fi
if [ -f "$backup/token-secret.txt" ]; then
  if [ -e "$secret_file" ] && [ "$force" != yes ]; then
    echo "error: $secret_file exists; use --force to replace it" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$secret_file")"
  cp -p "$backup/token-secret.txt" "$secret_file"
fi
echo "restored $kind database and secrets from $backup; now run: lms db upgrade && lms audit verify"
