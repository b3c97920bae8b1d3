#!/usr/bin/env bash
# Installs idpscim as a systemd timer on a Linux host (a bastion): the binary, /etc/idpscim
# (config and credentials), the units; enables the timer once the config and the credentials are
# in place, else says what is missing and how to finish. Safe to run again (upgrades the binary
# and units, keeps the config and credentials; run it again to enable once they are in place).
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
binary_given=""

usage() {
  sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --binary) binary="${2:?--binary needs a path}"; binary_given=1; shift ;;
    --binary=*) binary="${1#--binary=}"; binary_given=1 ;;
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

# Ready to run: the settings a sync needs are in the config (not the example's placeholders),
# and both credentials exist and are not empty. A timer enabled before that would fail every
# 15 minutes (LoadCredential= of a missing file fails the unit).
credentials="$root/etc/idpscim/credentials"
# `key = "value"` uncommented under [table], and not the value config.example.toml shows.
setting_set() {
  local table="$1" key="$2" placeholder="$3"
  [ -f "$config" ] || return 1
  awk -v table="$table" -v key="$key" -v placeholder="$placeholder" '
    /^[[:space:]]*\[/ { current = $0; gsub(/[][[:space:]]/, "", current); next }
    current == table && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
      value = $0; sub(/^[^=]*=[[:space:]]*/, "", value); sub(/[[:space:]]*(#.*)?$/, "", value); gsub(/^"|"$/, "", value)
      if (value != "" && value != placeholder) found = 1
    }
    END { exit found ? 0 : 1 }' "$config"
}
missing_settings=()
setting_set aws scim_endpoint "https://scim.us-east-1.amazonaws.com/abcd1234-ef56-7890/scim/v2" || missing_settings+=("aws.scim_endpoint")
setting_set gws user_email "admin@example.com" || missing_settings+=("gws.user_email")
missing_credentials=()
[ -s "$credentials/scim-token" ] || missing_credentials+=("scim-token")
[ -s "$credentials/gws-service-account.json" ] || missing_credentials+=("gws-service-account.json")

if [ -z "$root" ]; then run systemctl daemon-reload; else echo "= DESTDIR is set: not running systemctl daemon-reload"; fi
if [ ${#missing_settings[@]} -eq 0 ] && [ ${#missing_credentials[@]} -eq 0 ]; then
  if [ -n "$root" ]; then
    echo "= config and credentials in place; DESTDIR is set: not running systemctl enable --now idpscim.timer"
  else
    run systemctl enable --now idpscim.timer
  fi
  exit 0
fi

# Not ready: what is missing, and the commands that finish the install (this script, run again, enables).
echo
echo "! idpscim.timer is not enabled: the config or the credentials are not in place yet"
[ ${#missing_settings[@]} -eq 0 ] || echo "  not set in $config: $(IFS=,; echo "${missing_settings[*]}" | sed 's/,/, /g')"
[ ${#missing_credentials[@]} -eq 0 ] || echo "  missing or empty in $credentials/: $(IFS=,; echo "${missing_credentials[*]}" | sed 's/,/, /g')"
echo
echo "To finish:"
if [ ${#missing_settings[@]} -gt 0 ]; then
  echo "  sudoedit $config   # set $(IFS=,; echo "${missing_settings[*]}" | sed 's/,/, /g') (and gws.groups_filter)"
  echo "      (leave scim_access_token and service_account_file out: they come from credentials/)"
fi
for credential in "${missing_credentials[@]}"; do
  case "$credential" in
    scim-token) echo "  sudo sh -c 'umask 077; cat > $credentials/scim-token'   # paste the SCIM access token, then Ctrl-D" ;;
    gws-service-account.json) echo "  sudo install -m 0600 service-account-key.json $credentials/gws-service-account.json   # the Google key (JSON)" ;;
  esac
done
echo "  sudo systemctl start idpscim.service && journalctl -u idpscim.service -n 20   # one run, to check"
echo "  sudo ${DESTDIR:+DESTDIR=$DESTDIR }$0${binary_given:+ --binary $binary}   # checks again, then enables idpscim.timer"
echo "(With Secrets Manager instead of credential files, see README.md, \"systemd timer on a bastion\".)"
