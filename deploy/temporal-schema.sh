#!/bin/sh
# Temporal's persistence and visibility schemas on PostgreSQL, set up by Temporal's own temporal-sql-tool
# from the schemas embedded in it. The same script runs under `npm run cluster` (the tool built from the
# go.temporal.io/server module) and in docker-compose.yml (the temporalio/admin-tools image).
# Idempotent: existing databases are kept and only schema versions newer than theirs are applied.
# Reads the tool's own variables: SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD.
set -eu
export SQL_PLUGIN=postgres12

setup() {
  db=$1
  schema=$2
  if out=$(temporal-sql-tool --db "$db" create-database 2>&1); then
    echo "created database $db"
  elif printf '%s' "$out" | grep -q 'already exists'; then
    echo "database $db exists"
  else
    printf '%s\n' "$out" >&2
    exit 1
  fi
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema --schema-name "$schema"
  echo "database $db: schema $schema up to date"
}

setup temporal postgresql/v12/temporal
setup temporal_visibility postgresql/v12/visibility
