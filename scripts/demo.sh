#!/usr/bin/env bash
# The embedded-default demo (`make run`): a small, realistic appliance state made by
# shared/bench/gen_state.py, a domain with a demo DMS, then one backup that is inspected,
# verified and extracted again. Everything lives under the demo directory ($2, default .demo).
set -euo pipefail
keepsake=${1:-build/keepsake}
demo=${2:-.demo}
top=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
gen_state=${GEN_STATE:-$top/../shared/bench/gen_state.py}

mkdir -p "$demo"
if [ ! -d "$demo/appliance" ]; then
  [ -f "$gen_state" ] || { echo "demo: $gen_state not found (set GEN_STATE=path/to/gen_state.py)" >&2; exit 1; }
  echo "== Making a demo appliance state in $demo/appliance (8 MiB database, 200 config files)"
  python3 "$gen_state" --out "$demo/appliance" --db-mib 8 --files 200 --seed 1 >/dev/null
fi
state="$demo/state"
if [ ! -f "$state/keystore.json" ]; then
  # A demo secret, in a 0600 file: never on the command line.
  (umask 077; [ -f "$demo/dms.txt" ] || echo "demo-domain-master-secret" > "$demo/dms.txt")
  echo "== Setting the demo Domain Master Secret (from $demo/dms.txt)"
  "$keepsake" --state-dir "$state" dms set --dms-file "$demo/dms.txt"
fi
mkdir -p "$demo/backups"
echo "== Creating a backup"
file=$("$keepsake" --state-dir "$state" backup --source "$demo/appliance" --out "$demo/backups" --prefix demo)
echo "$file"
echo "== Backup Details"
"$keepsake" --state-dir "$state" inspect "$file"
echo "== Verifying"
"$keepsake" --state-dir "$state" verify "$file"
echo "== Extracting and comparing with the appliance state"
rm -rf "$demo/restored"
"$keepsake" --state-dir "$state" extract "$file" --to "$demo/restored"
diff -r "$demo/appliance" "$demo/restored" && echo "identical"
