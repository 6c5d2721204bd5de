#!/bin/bash
# Prints a .env for compose.yaml with a fresh random password for every
# broker account (docker/env.example lists the other settings):
#   bash docker/gen-env.sh > .env && chmod 600 .env
set -euo pipefail
pw() { od -An -N18 -tx1 /dev/urandom | tr -d ' \n'; }
echo "# Made by docker/gen-env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); see docker/env.example."
for v in DEVICE READER ADMIN WRITER INGEST SCHEDULER TOOL API; do
  echo "HS_${v}_PASSWORD=$(pw)"
done
