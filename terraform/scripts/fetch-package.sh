#!/bin/sh
# Downloads a released idpscim Lambda package and checks its SHA-256 before handing it over.
#
#   fetch-package.sh URL SHA256 DEST
#
# Run by the module's data "external" "package" during plan (package_source = "release"), so a
# bad download fails the plan and nothing is uploaded. POSIX sh; needs curl or wget, and
# sha256sum or shasum. The file is downloaded beside DEST, checked, then renamed to DEST: a
# failed download or a checksum mismatch leaves no file at DEST. A DEST that already has the
# expected checksum is used without downloading. Prints {"path":DEST,"sha256":SHA256} on stdout
# (the external data source's protocol); errors go to stderr with exit status 1.
set -eu

fail() {
  printf 'fetch-package.sh: %s\n' "$*" >&2
  exit 1
}

[ "$#" -eq 3 ] || fail "usage: fetch-package.sh URL SHA256 DEST (got $# arguments)"
url=$1
want=$2
dest=$3

# data "external" writes its query (unused: the arguments carry everything) as JSON on stdin.
[ -t 0 ] || cat >/dev/null

case $want in
  *[!0-9a-f]* | '') fail "the expected SHA-256 must be 64 lowercase hexadecimal characters, got \"$want\"" ;;
esac
[ "${#want}" -eq 64 ] || fail "the expected SHA-256 must be 64 lowercase hexadecimal characters, got ${#want}"
case $url in
  https://* | http://*) ;;
  *) fail "URL must start with https:// or http://, got \"$url\"" ;;
esac
# DEST goes into JSON unescaped.
case $dest in
  '' | *'"'* | *'\'*) fail "DEST must be a path without quotes or backslashes, got \"$dest\"" ;;
esac

if command -v sha256sum >/dev/null 2>&1; then
  hasher="sha256sum"
elif command -v shasum >/dev/null 2>&1; then
  hasher="shasum -a 256"
else
  fail "neither sha256sum nor shasum is installed: one is needed to check the package"
fi
if command -v curl >/dev/null 2>&1; then
  downloader=curl
elif command -v wget >/dev/null 2>&1; then
  downloader=wget
else
  fail "neither curl nor wget is installed: one is needed to download the package"
fi

sha256_of() {
  # Both print "<hex>  <file>".
  $hasher "$1" | cut -d ' ' -f 1
}

emit() {
  printf '{"path":"%s","sha256":"%s"}\n' "$dest" "$want"
}

if [ -f "$dest" ]; then
  if [ "$(sha256_of "$dest")" = "$want" ]; then
    emit
    exit 0
  fi
  # A cached file that no longer matches is not the package: drop it before downloading again.
  rm -f "$dest"
fi

mkdir -p "$(dirname "$dest")"
tmp="$dest.part.$$"
trap 'rm -f "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

status=0
if [ "$downloader" = curl ]; then
  curl --fail --silent --show-error --location --retry 2 --output "$tmp" "$url" || status=$?
else
  wget --quiet --tries=3 --output-document="$tmp" "$url" || status=$?
fi
[ "$status" -eq 0 ] || fail "could not download $url ($downloader exit status $status); nothing was written to $dest"

got=$(sha256_of "$tmp")
if [ "$got" != "$want" ]; then
  fail "checksum mismatch for $url: expected sha256 $want, got $got. The download was deleted and nothing was written to $dest (nothing is uploaded). Check package_release_version, package_release_sha256 and package_release_base_url."
fi

mv -f "$tmp" "$dest"
trap - EXIT
emit
