#!/usr/bin/env bash
# The embedded-default demo (`make run`): a small, realistic appliance state made by
# shared/bench/gen_state.py (internal SQLite database), a domain with a demo DMS, then one
# backup of the appliance, its Backup Details, a verify, a dry-run restore, a restore and a
# rollback; then keepsaked, the backup service, serving its API on that appliance with a
# local-directory storage (DEMO_LISTEN, default 127.0.0.1:8080) until Ctrl-C. Everything
# lives under the demo directory ($2, default .demo).
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

# ---- the main job: the daemon on the demo appliance -------------------------------------
keepsaked="$(dirname "$keepsake")/keepsaked"
listen=${DEMO_LISTEN:-127.0.0.1:8080}
cat > "$demo/keepsaked.toml" <<TOML
# keepsaked configuration of the demo (docs/SERVICE.md lists every setting)
state_dir = "$(cd "$state" && pwd)"
appliance_root = "$(cd "$root" && pwd)"
listen = "$listen"
TOML
echo "== Starting keepsaked on the demo appliance (Ctrl-C stops it)"
"$keepsaked" --config "$demo/keepsaked.toml" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' INT TERM
export KEEPSAKE_SERVER="http://$listen"
for _ in $(seq 100); do "$keepsake" status >/dev/null 2>&1 && break; sleep 0.1; done
# The demo's storage: the local directory the CLI backups went to.
curl -sf -X PUT -H 'Content-Type: application/json' \
  -d "{\"type\":\"local\",\"path\":\"$(cd "$demo/backups" && pwd)\"}" "$KEEPSAKE_SERVER/api/v1/storage" >/dev/null
"$keepsake" schedule set --kind daily --hour 2 --minute 30 --time-zone UTC >/dev/null
"$keepsake" status
cat <<TXT

keepsaked is serving the API on $KEEPSAKE_SERVER/api/v1 (docs/openapi.yaml). Try:
  KEEPSAKE_SERVER=$KEEPSAKE_SERVER $keepsake backup-now --wait
  KEEPSAKE_SERVER=$KEEPSAKE_SERVER $keepsake history
  curl $KEEPSAKE_SERVER/api/v1/status
  curl $KEEPSAKE_SERVER/metrics
Ctrl-C stops it.
TXT
wait $daemon
