#!/usr/bin/env bash
# Makes a throwaway PostgreSQL database for the test run: starts a local cluster that is installed
# but stopped, creates the role, and recreates the database. Exit 1 when no PostgreSQL can be had.
set -u
role=${1:-lms_test}
db=${2:-lms_test}
url_ok() { PGPASSWORD="$role" psql -h 127.0.0.1 -U "$role" -d postgres -Atc "select 1" >/dev/null 2>&1; }

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_lsclusters >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      pg_lsclusters -h | while read -r ver name _; do pg_ctlcluster "$ver" "$name" start 2>/dev/null; done
    else
      sudo -n true 2>/dev/null && pg_lsclusters -h | while read -r ver name _; do sudo -n pg_ctlcluster "$ver" "$name" start; done
    fi
  elif [ "${CI:-}" = "true" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL (CI)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1
    pg_lsclusters -h | while read -r ver name _; do pg_ctlcluster "$ver" "$name" start; done
  fi
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}
if as_postgres psql -Atc "select 1" >/dev/null 2>&1; then
  as_postgres psql -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN PASSWORD '$role' CREATEDB;
  END IF;
END \$\$;
SQL
  as_postgres psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  as_postgres psql -q -c "CREATE DATABASE $db OWNER $role" >/dev/null
elif url_ok; then
  PGPASSWORD="$role" psql -h 127.0.0.1 -U "$role" -d postgres -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  PGPASSWORD="$role" psql -h 127.0.0.1 -U "$role" -d postgres -q -c "CREATE DATABASE $db" >/dev/null
else
  echo "cannot administer PostgreSQL (need root, sudo, or an existing role $role)" >&2; exit 1
fi
url_ok || { echo "role $role cannot log in on 127.0.0.1" >&2; exit 1; }
echo "PostgreSQL test database $db ready" >&2
