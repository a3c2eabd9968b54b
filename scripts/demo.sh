#!/usr/bin/env bash
# The embedded-default demo (`make run`): a small, realistic appliance state made by
# shared/bench/gen_state.py (internal SQLite database), a domain with a demo DMS, then one
# backup of the appliance, its Backup Details, a verify, a dry-run restore, a restore and a
# rollback. Everything lives under the demo directory ($2, default .demo).
set -euo pipefail
keepsake=${1:-build/keepsake}
demo=${2:-.demo}
top=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
gen_state=${GEN_STATE:-$top/../shared/bench/gen_state.py}

mkdir -p "$demo"
root="$demo/appliance"
state="$demo/state"
if [ ! -d "$root" ]; then
  [ -f "$gen_state" ] || { echo "demo: $gen_state not found (set GEN_STATE=path/to/gen_state.py)" >&2; exit 1; }
  echo "== Making a demo appliance state in $root (8 MiB database, 200 config files)"
  python3 "$gen_state" --out "$root" --db-mib 8 --files 200 --seed 1 >/dev/null
fi
ks() { "$keepsake" --state-dir "$state" --appliance-root "$root" "$@"; }
if [ ! -f "$state/keystore.json" ]; then
  # A demo secret, in a 0600 file: never on the command line.
  (umask 077; [ -f "$demo/dms.txt" ] || echo "demo-domain-master-secret" > "$demo/dms.txt")
  echo "== Setting the demo Domain Master Secret (from $demo/dms.txt)"
  ks dms set --dms-file "$demo/dms.txt"
fi
mkdir -p "$demo/backups"
echo "== Creating a backup of the appliance"
file=$(ks backup --out "$demo/backups" --prefix demo)
echo "$file"
echo "== Backup Details"
ks inspect "$file"
echo "== Verifying"
ks verify "$file"
echo "== Restore, dry run (changes nothing)"
ks restore "$file" --dry-run
echo "== Restore, keeping this appliance's network settings"
ks restore "$file" --keep network
echo "== Rollback to the state before the restore"
ks rollback
