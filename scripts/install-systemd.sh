#!/usr/bin/env bash
# Installs idpscim as a systemd timer on a Linux host (a bastion): the binary, /etc/idpscim
# (config and credentials), the units, then enables the timer. Safe to run again (upgrades the
# binary and units, keeps the config and credentials).
#
#   sudo ./install-systemd.sh [--dry-run] [--binary PATH]
#   DESTDIR=/tmp/root ./install-systemd.sh     # stage into a root; no systemctl
#
# Run it from an extracted linux release archive (binary, systemd/ and config.example.toml
# beside it) or from a checkout after `bun run build` (dist/idpscim).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
parent="$(dirname "$here")"
dry_run=false
binary=""

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --binary) binary="${2:?--binary needs a path}"; shift ;;
    --binary=*) binary="${1#--binary=}" ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-systemd.sh: unknown argument $1 (use --dry-run, --binary PATH)" >&2; exit 2 ;;
  esac
  shift
done

# The first path that exists, from the archive layout then the checkout layout.
first_of() {
  for candidate in "$@"; do
    if [ -e "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

if [ -z "$binary" ]; then
  binary="$(first_of "$here/idpscim" "$parent/dist/idpscim")" || {
    echo "install-systemd.sh: no idpscim binary beside this script nor in dist/; run 'bun run build' or pass --binary PATH" >&2
    exit 2
  }
fi
[ -f "$binary" ] || { echo "install-systemd.sh: --binary $binary does not exist" >&2; exit 2; }
units="$(first_of "$here/systemd")" || { echo "install-systemd.sh: no systemd/ directory beside this script" >&2; exit 2; }
example="$(first_of "$here/config.example.toml" "$parent/config.example.toml")" || {
  echo "install-systemd.sh: no config.example.toml beside this script nor in its parent" >&2
  exit 2
}

root="${DESTDIR:-}"
root="${root%/}"
if [ -z "$root" ] && [ "$dry_run" = false ] && [ "$(id -u)" -ne 0 ]; then
  echo "install-systemd.sh: run as root (sudo), or set DESTDIR to stage into a directory" >&2
  exit 2
fi

# Prints each action; runs it unless --dry-run.
run() {
  echo "+ $*"
  if [ "$dry_run" = false ]; then "$@"; fi
}

state_file=/var/lib/idpscim/state.json

run install -D -m 0755 "$binary" "$root/usr/local/bin/idpscim"
run install -d -m 0755 "$root/etc/idpscim"
run install -d -m 0700 "$root/etc/idpscim/credentials"

config="$root/etc/idpscim/config.toml"
if [ -e "$config" ]; then
  echo "= $config exists; kept"
else
  run install -m 0640 "$example" "$config"
  # The service keeps its state in its StateDirectory; uncomment the example's state.file.
  if grep -q '^# file = "state.json"$' "$example"; then
    run sed -i "s|^# file = \"state.json\"\$|file = \"$state_file\"|" "$config"
  else
    echo "! set state.file = \"$state_file\" (or an S3 bucket) in $config" >&2
  fi
fi

run install -D -m 0644 "$units/idpscim.service" "$root/etc/systemd/system/idpscim.service"
run install -D -m 0644 "$units/idpscim.timer" "$root/etc/systemd/system/idpscim.timer"

if [ -n "$root" ]; then
  echo "= DESTDIR is set: not running systemctl daemon-reload, enable --now idpscim.timer"
else
  run systemctl daemon-reload
  run systemctl enable --now idpscim.timer
fi

missing=()
for credential in scim-token gws-service-account.json; do
  [ -e "$root/etc/idpscim/credentials/$credential" ] || missing+=("$credential")
done
if [ ${#missing[@]} -gt 0 ]; then
  cat <<EOF

Next steps:
  1. Edit $config: aws.scim_endpoint, gws.user_email, gws.groups_filter, ...
     (leave scim_access_token and service_account_file out: they come from credentials/).
  2. Put the secrets in $root/etc/idpscim/credentials/ (mode 0600, owner root):
       scim-token                  the SCIM access token of IAM Identity Center
       gws-service-account.json    the Google service-account key
     missing now: ${missing[*]}
  3. Check with: systemctl start idpscim.service; journalctl -u idpscim.service
EOF
fi
