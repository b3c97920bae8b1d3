#!/usr/bin/env bash
# Installs idpscim as a systemd timer on a Linux host (a bastion): the binary, /etc/idpscim
# (config and credentials), the units; enables the timer once the config and the credentials that
# the configured source (source.type: google or ldap) needs are in place, else says what is missing
# and how to finish. Safe to run again (upgrades the binary and units, keeps the config and
# credentials; run it again to enable once they are in place).
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
  sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
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

# Ready to run: the settings a sync from the configured source needs are in the config (not the
# example's placeholders), and its credentials exist and are not empty. A timer enabled before
# that would fail every 15 minutes.
credentials="$root/etc/idpscim/credentials"
# The value of `key = value` under [table] ("" = the top level) of a TOML file, quotes dropped,
# in the plain form config.example.toml uses (no dotted keys, no inline tables); nothing if unset.
# With a 4th argument, of the commented-out line `# key = value`: the example's placeholder.
toml_value() {
  local file="$1" table="$2" key="$3" commented="${4:-}"
  [ -f "$file" ] || return 0
  awk -v table="$table" -v key="$key" -v lead="${commented:+#}" -v q="'" '
    function unquote(v,   c, i) {
      c = substr(v, 1, 1)
      if (c == "\"" || c == q) { v = substr(v, 2); i = index(v, c); return i ? substr(v, 1, i - 1) : v }
      sub(/[[:space:]]*(#.*)?$/, "", v)
      return v
    }
    /^[[:space:]]*\[/ { current = $0; sub(/#.*/, "", current); gsub(/[][[:space:]]/, "", current); next }
    current == table && $0 ~ "^[[:space:]]*" lead "[[:space:]]*" key "[[:space:]]*=" {
      value = $0; sub(/^[^=]*=[[:space:]]*/, "", value); print unquote(value); exit
    }' "$file"
}
# Set, and not to the value config.example.toml shows for it.
setting_set() {
  local value
  value="$(toml_value "$config" "$1" "$2")"
  [ -n "$value" ] && [ "$value" != "$(toml_value "$example" "$1" "$2" commented)" ]
}
checked=()
missing_settings=()
missing_credentials=()
symlinked_credentials=()
need_setting() {
  checked+=("$1")
  setting_set "${1%%.*}" "${1#*.}" || missing_settings+=("$1")
}
# A regular file, not empty: systemd loads no symbolic link from a credentials directory.
need_credential() {
  local path="$credentials/$1"
  checked+=("credentials/$1")
  if [ -L "$path" ]; then symlinked_credentials+=("$1")
  elif [ ! -f "$path" ] || [ ! -s "$path" ]; then missing_credentials+=("$1")
  fi
}
source_type="$(toml_value "$config" source type)"
source_type="${source_type:-google}"
# With use_secrets_manager the SCIM endpoint and token, the Google key and admin email, and the
# bind password come from Secrets Manager at each run: nothing here can check them.
secrets_manager="$(toml_value "$config" "" use_secrets_manager)"
[ "$secrets_manager" = true ] || need_setting aws.scim_endpoint
# Keyless (gws.auth = "workload-identity"): the instance role stands in for the key, so no key
# credential; the credential configuration (no secret: a file of mode 0644) and the account instead.
gws_auth="$(toml_value "$config" gws auth)"
case "$source_type" in
  google)
    [ "$secrets_manager" = true ] || need_setting gws.user_email
    if [ "$gws_auth" = workload-identity ]; then
      need_setting gws.service_account_email
      [ "$secrets_manager" = true ] || need_setting gws.workload_identity_config
    fi ;;
  ldap)
    need_setting ldap.url
    need_setting ldap.base_dn
    need_setting ldap.bind_dn
    # The example shows one of the presets: any of them is a choice, not a placeholder.
    checked+=("ldap.preset")
    case "$(toml_value "$config" ldap preset)" in active-directory|openldap|custom) ;; *) missing_settings+=("ldap.preset") ;; esac ;;
  *) missing_settings+=("source.type") ;;
esac
if [ "$secrets_manager" != true ]; then
  need_credential scim-token
  case "$source_type" in
    google) [ "$gws_auth" = workload-identity ] || need_credential gws-service-account.json ;;
    ldap) need_credential ldap-bind-password ;;
  esac
fi
list() { local IFS=,; echo "$*" | sed 's/,/, /g'; }
checking="nothing here (Secrets Manager holds the rest)"
[ ${#checked[@]} -eq 0 ] || checking="$(list "${checked[@]}")"
with_secrets=""
[ "$secrets_manager" != true ] || with_secrets=" with use_secrets_manager = true"
echo "= source.type is \"$source_type\"$with_secrets: checking $checking"
# systemd loads every file of credentials/: a stray one costs nothing but may be a misnamed credential.
stray=()
for path in "$credentials"/* "$credentials"/.[!.]*; do
  [ -e "$path" ] || [ -L "$path" ] || continue
  case "${path##*/}" in scim-token|gws-service-account.json|ldap-bind-password) ;; *) stray+=("${path##*/}") ;; esac
done
[ ${#stray[@]} -eq 0 ] || echo "! in $credentials/ but not read by idpscim (it reads scim-token, gws-service-account.json, ldap-bind-password; systemd loads every file there): $(list "${stray[@]}")"

# systemd before 251 cannot load a directory as credentials (systemd's NEWS for 251: its
# LoadCredential= would read the directory as a file and fail the unit). There a drop-in loads,
# one by one, the files the configured source needs; on 251 or later it is removed again. This
# host's systemd decides, also with DESTDIR.
dropin="$root/etc/systemd/system/idpscim.service.d/credentials-per-file.conf"
systemd_version="$(systemctl --version 2>/dev/null | awk 'NR == 1 { print $2 + 0 }' || true)"
if [ -n "$systemd_version" ] && [ "$systemd_version" -lt 251 ]; then
  loads="LoadCredential=config.toml:/etc/idpscim/config.toml"
  for credential in "${checked[@]}"; do
    case "$credential" in credentials/*) loads+=$'\n'"LoadCredential=${credential#credentials/}:/etc/idpscim/$credential" ;; esac
  done
  echo "= systemd $systemd_version loads no credentials directory (251 does): each credential is loaded by name in $dropin"
  run install -D -m 0644 /dev/stdin "$dropin" < <(printf '%s\n' \
    "# Written by install-systemd.sh for systemd $systemd_version, which cannot load /etc/idpscim/credentials" \
    "# as a directory: the credentials source.type = \"$source_type\" needs, each by name (a missing one" \
    "# fails the unit). Run install-systemd.sh again after changing source.type; on systemd 251 or" \
    "# later it removes this file." \
    "[Service]" "LoadCredential=" "$loads")
elif [ -e "$dropin" ]; then
  run rm "$dropin"
  run rmdir --ignore-fail-on-non-empty "${dropin%/*}"
fi

if [ -z "$root" ]; then run systemctl daemon-reload; else echo "= DESTDIR is set: not running systemctl daemon-reload"; fi
if [ ${#missing_settings[@]} -eq 0 ] && [ ${#missing_credentials[@]} -eq 0 ] && [ ${#symlinked_credentials[@]} -eq 0 ]; then
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
[ ${#missing_settings[@]} -eq 0 ] || echo "  not set in $config: $(list "${missing_settings[@]}")"
[ ${#missing_credentials[@]} -eq 0 ] || echo "  missing or empty in $credentials/: $(list "${missing_credentials[@]}")"
[ ${#symlinked_credentials[@]} -eq 0 ] || echo "  symbolic links in $credentials/, which systemd does not load: $(list "${symlinked_credentials[@]}")"
echo
echo "To finish:"
if [ ${#missing_settings[@]} -gt 0 ]; then
  case "$source_type" in
    google)
      echo "  sudoedit $config   # set $(list "${missing_settings[@]}") (and gws.groups_filter)"
      [ "$secrets_manager" = true ] || echo "      (leave scim_access_token and service_account_file out: they come from credentials/)" ;;
    ldap)
      echo "  sudoedit $config   # set $(list "${missing_settings[@]}") (and ldap.group_base_dn, ldap.group_filter; README.md, \"LDAP / Active Directory\", has complete ones)"
      [ "$secrets_manager" = true ] || echo "      (leave scim_access_token and bind_password out: they come from credentials/)" ;;
    *) echo "  sudoedit $config   # set type = \"google\" or \"ldap\" under [source], not \"$source_type\"" ;;
  esac
fi
for credential in "${missing_credentials[@]}"; do
  case "$credential" in
    scim-token) echo "  sudo sh -c 'umask 077; cat > $credentials/scim-token'   # paste the SCIM access token, then Ctrl-D" ;;
    gws-service-account.json) echo "  sudo install -m 0600 service-account-key.json $credentials/gws-service-account.json   # the Google key (JSON)" ;;
    ldap-bind-password) echo "  sudo sh -c 'umask 077; cat > $credentials/ldap-bind-password'   # paste the password of ldap.bind_dn, then Ctrl-D" ;;
  esac
done
for credential in "${symlinked_credentials[@]}"; do
  echo "  sudo cp --remove-destination $(readlink -f "$credentials/$credential") $credentials/$credential   # a copy: systemd skips symbolic links"
done
echo "  sudo systemctl start idpscim.service && journalctl -u idpscim.service -n 20   # one run, to check"
echo "  sudo ${DESTDIR:+DESTDIR=$DESTDIR }$0${binary_given:+ --binary $binary}   # checks again, then enables idpscim.timer"
[ "$source_type" != google ] || echo "(For an LDAP directory or Active Directory: type = \"ldap\" under [source]; see README.md, \"LDAP / Active Directory\".)"
[ "$secrets_manager" = true ] || echo "(With Secrets Manager instead of credential files: use_secrets_manager = true at the top of $config; see README.md, \"systemd timer on a bastion\".)"
