# shellcheck shell=bash
# apt_install_missing PKG...: installs the Debian packages among PKG that are not installed (quietly,
# no prompt); a no-op when all are. Sourced by scripts/setup.sh and scripts/build-image.sh, whose
# `log` it uses.
apt_install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
