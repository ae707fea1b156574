#!/usr/bin/env bash
# Install the Debian packages the tests need, only when they are missing:
#   postfix                    a real MTA for the smtp_tls_probe tests (run as a
#                              private instance by the tests, never the system's)
#   chromium, chromium-driver  the HTML report test
#   (and ShellCheck)           ansible-test sanity's shell script check
#   krb5-kdc, krb5-admin-server the lab's private MIT KDC (krb5kdc, kdb5_util,
#                              kadmin.local), started on loopback by the lab
#   krb5-user                  kinit/klist for the controller's tickets
#   libkrb5-dev                headers pyspnego's gssapi/krb5 extras build against
# Quiet, idempotent, and fast when everything is already there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

wanted=(postfix chromium chromium-driver shellcheck krb5-kdc krb5-admin-server krb5-user libkrb5-dev)
missing=()
for package in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$package")
    fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-system-deps: missing ${missing[*]}; run as root (or install them) to enable those tests" >&2
    exit 0
fi

# "No configuration": postfix's package writes no main.cf and does not start a
# system-wide MTA; the tests run their own instance with their own config dir.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost.localdomain" | debconf-set-selections
# The lab writes its own krb5.conf / kdc.conf; the packages must not ask for a realm.
echo "krb5-config krb5-config/default_realm string LAB.TEST" | debconf-set-selections
echo "krb5-config krb5-config/add_servers_realm string LAB.TEST" | debconf-set-selections
echo "krb5-config krb5-config/add_servers boolean false" | debconf-set-selections
echo "krb5-admin-server krb5-admin-server/newrealm note" | debconf-set-selections

# Package maintainer scripts must not start services here (no init in a
# container, and nothing system-wide should start listening): a policy-rc.d
# that forbids starting, removed again afterwards if we created it.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "ensure-system-deps: installing ${missing[*]}" >&2
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null
