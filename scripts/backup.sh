#!/usr/bin/env bash
# Backs up a running platform: the database (SQLite: an online copy through SQLite's backup API,
# which includes what is still in the WAL file; PostgreSQL: pg_dump -Fc), the certificate signing
# keys and the token secret. See docs/backup.md.
#
#   scripts/backup.sh DEST_DIR      -> prints DEST_DIR/lms-backup-<UTC time>
#
# Reads the app's own settings: LMS_DATABASE_URL (default: SQLite file in the data dir),
# LMS_DATA_DIR (default ./var), LMS_KEYS_DIR (default <data dir>/keys), LMS_TOKEN_SECRET_FILE
# (default <data dir>/token-secret.txt). PYTHON (default python3) runs the SQLite copy.
set -euo pipefail
umask 077

dest_root=${1:?usage: scripts/backup.sh DEST_DIR}
data_dir=${LMS_DATA_DIR:-./var}
url=${LMS_DATABASE_URL:-}
keys_dir=${LMS_KEYS_DIR:-$data_dir/keys}
secret_file=${LMS_TOKEN_SECRET_FILE:-$data_dir/token-secret.txt}
python=${PYTHON:-python3}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dest_root/lms-backup-$stamp"
mkdir -p "$dest_root"
mkdir "$out"  # fails rather than mixing two backups made in the same second

case "$url" in
  "" | sqlite:*)
    if [ -z "$url" ]; then
      db_path="$data_dir/lms.sqlite3"
    else
      db_path=${url#sqlite:///}  # sqlite:////abs/path -> /abs/path; sqlite:///rel -> rel
    fi
    [ -f "$db_path" ] || { echo "error: no SQLite database at $db_path" >&2; exit 1; }
    # The backup API copies a consistent snapshot while the app keeps serving; a plain cp of the
    # file would miss committed transactions still in lms.sqlite3-wal.
    "$python" - "$db_path" "$out/database.sqlite3" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1], timeout=30)
dst = sqlite3.connect(sys.argv[2])
with dst:
    src.backup(dst)
check = dst.execute("PRAGMA integrity_check").fetchone()[0]
dst.execute("PRAGMA journal_mode=DELETE")
dst.close()
src.close()
if check != "ok":
    sys.exit(f"error: the copy fails PRAGMA integrity_check: {check}")
PY
    kind=sqlite
    ;;
  postgresql*)
    # libpq does not know SQLAlchemy's driver suffix (postgresql+psycopg://).
    pg_url="postgresql://${url#*://}"
    pg_dump --format=custom --no-owner --no-privileges --file="$out/database.pgdump" "$pg_url"
    kind=postgresql
    ;;
  *)
    echo "error: unsupported LMS_DATABASE_URL scheme: ${url%%:*}" >&2
    exit 1
    ;;
esac

if [ -d "$keys_dir" ]; then
  mkdir "$out/keys"
  # key-*.pem and `current`; the .lock file is only a lock.
  find "$keys_dir" -maxdepth 1 -type f \( -name 'key-*.pem' -o -name current \) \
    -exec cp -p {} "$out/keys/" \;
else
  echo "warning: no signing keys at $keys_dir: new certificates could not be signed with the" \
    "same key after a restore" >&2
fi
if [ -f "$secret_file" ]; then
  cp -p "$secret_file" "$out/token-secret.txt"
else
  echo "warning: no token secret at $secret_file" >&2
fi

{
  echo "created_at=$stamp"
  echo "database=$kind"
  (cd "$out" && find . -type f ! -name MANIFEST -print0 | sort -z | xargs -0 sha256sum)
} >"$out/MANIFEST"
echo "$out"
