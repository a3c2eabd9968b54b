#!/usr/bin/env bash
# The embedded-default demo (`make run`): a small, realistic appliance state made by
# tools/gen_state.py (internal SQLite database), a domain with a demo DMS, then one
# backup of the appliance, its Backup Details, a verify, a dry-run restore, a restore and a
# rollback; then keepsaked, the backup service, serving its API on that appliance with a
# local-directory storage (DEMO_LISTEN, default 127.0.0.1:8443) until Ctrl-C. Everything
# lives under the demo directory ($2, default .demo).
set -euo pipefail
keepsake=${1:-build/keepsake}
demo=${2:-.demo}
top=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
gen_state=${GEN_STATE:-$top/tools/gen_state.py}

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
echo "== Checking it without any secret (this appliance is write-only: it cannot open its backups)"
ks verify "$file"
echo "== Verifying everything, with the DMS"
ks verify "$file" --dms-file "$demo/dms.txt"
echo "== Restore, dry run (changes nothing; a restore asks for the DMS)"
ks restore "$file" --dry-run --dms-file "$demo/dms.txt"
echo "== Restore, keeping this appliance's network settings"
ks restore "$file" --keep network --dms-file "$demo/dms.txt"
echo "== Rollback to the state before the restore"
ks rollback

# ---- the main job: the daemon on the demo appliance -------------------------------------
keepsaked="$(dirname "$keepsake")/keepsaked"
listen=${DEMO_LISTEN:-127.0.0.1:8443}
cat > "$demo/keepsaked.toml" <<TOML
# keepsaked configuration of the demo (docs/SERVICE.md lists every setting)
state_dir = "$(cd "$state" && pwd)"
appliance_root = "$(cd "$root" && pwd)"
listen = "$listen"
webconf_dir = "$top/webconf"
TOML
echo "== Starting keepsaked on the demo appliance (Ctrl-C stops it)"
"$keepsaked" --config "$demo/keepsaked.toml" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' INT TERM
export KEEPSAKE_SERVER="https://$listen"
export XDG_CONFIG_HOME="$(cd "$demo" && pwd)/config"  # the demo's CLI session, not yours
# Up when it answers at all (without a session it answers "not logged in", exit 3).
for _ in $(seq 100); do
  rc=0; ks status >/dev/null 2>&1 || rc=$?
  [ "$rc" -ne 5 ] && break
  sleep 0.1
done
(umask 077; [ -f "$demo/admin-password.txt" ] || echo "demo admin password" > "$demo/admin-password.txt")
if [ -f "$state/otp-user.json" ]; then
  # First start: what an administrator does with the Initial OTP User printed above.
  echo "== Logging in as the Initial OTP User, adding the OAuth account 'admin', removing the OTP User"
  (umask 077; python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["password"])' \
     "$state/otp-user.json" > "$demo/otp.txt")
  ks login --username otp-admin --password-file "$demo/otp.txt"
  ks users add admin --password-file "$demo/admin-password.txt"
  rm -f "$demo/otp.txt"
  ks login --username admin --password-file "$demo/admin-password.txt"
  ks users remove otp-admin
else
  ks login --username admin --password-file "$demo/admin-password.txt"
fi
# The demo's storage: the local directory the CLI backups went to.
ks storage set --type local --path "$(cd "$demo/backups" && pwd)"
echo "== The storage browser: the backups directory, its space and permission"
ks storage browse
ks schedule set --kind daily --hour 2 --minute 30 --time-zone UTC >/dev/null
echo "== Create Backup Now, through keepsaked"
ks backup-now --wait
ks status
cat <<TXT

keepsaked is serving the Webconf on $KEEPSAKE_SERVER/ (log in as 'admin', password in
$demo/admin-password.txt; the certificate is the daemon's own, fingerprint printed above) and
the API on $KEEPSAKE_SERVER/api/v1 (docs/openapi.yaml), where the CLI is logged in as 'admin'. Try:
  XDG_CONFIG_HOME=$XDG_CONFIG_HOME $keepsake --state-dir $state backup-now --wait
  XDG_CONFIG_HOME=$XDG_CONFIG_HOME $keepsake --state-dir $state history
Ctrl-C stops it.
TXT
wait $daemon
