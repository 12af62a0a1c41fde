#!/usr/bin/env bash
# Installs what the mail tests need: Debian's Dovecot IMAP server. The tests start a
# private Dovecot of their own on a free loopback port, so the system service that the
# package may start is not needed: when this script installs the package, it keeps the
# service from starting (a Dovecot that was there before is left alone).
set -euo pipefail
installed_now=0
if [ ! -x /usr/sbin/dovecot ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Dovecot (Debian package dovecot-imapd) for the mail tests..."
    # keep the package's maintainer scripts from starting the system service
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    if ! { apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; }
    then
      echo "Installing dovecot-imapd failed; the IMAP tests need /usr/sbin/dovecot." >&2
      exit 1
    fi
    installed_now=1
  else
    echo "Dovecot is missing: install Debian's 'dovecot-imapd' package as root" \
      "(the IMAP tests need /usr/sbin/dovecot)." >&2
    exit 1
  fi
fi
if [ ! -x /usr/sbin/dovecot ]; then
  echo "/usr/sbin/dovecot is still missing after installing dovecot-imapd." >&2
  exit 1
fi
# The system service is not used: stop the one just installed and keep it from starting
# at boot; failures here are harmless (containers often have no init system).
if [ "$installed_now" = 1 ]; then
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now dovecot.service >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/dovecot ]; then
    /etc/init.d/dovecot stop >/dev/null 2>&1 || true
    update-rc.d dovecot disable >/dev/null 2>&1 || true
  fi
fi
