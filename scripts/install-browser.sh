#!/usr/bin/env bash
# Makes sure the browser tests (tests/e2e/) can run: Debian's chromium at /usr/bin/chromium and
# the Playwright Python package in the virtualenv. Idempotent: does nothing when both are there.
# Never `playwright install`: that downloads browsers from the network.
# Outside CI a problem only warns (the e2e tests then skip loudly); with CI=true it exits 1.
set -u
cd "$(dirname "$0")/.."
CHROMIUM=/usr/bin/chromium
VENV=${VENV:-.venv}
status=0

say() { echo "install-browser: $*"; }
fail() {
  echo "install-browser: $*" >&2
  if [ "${CI:-}" = "true" ]; then status=1; fi
}
chromium_version() { "$CHROMIUM" --version 2>/dev/null | head -n1; }
playwright_version() { "$VENV/bin/python" -m pip show playwright 2>/dev/null | sed -n 's/^Version: //p'; }

if [ -x "$CHROMIUM" ]; then
  say "chromium already installed ($(chromium_version))"
else
  as_root=()
  if [ "$(id -u)" != 0 ]; then as_root=(sudo -n); fi
  if ! command -v apt-get >/dev/null 2>&1; then
    fail "chromium is missing and there is no apt-get: install it at $CHROMIUM"
  elif [ "${#as_root[@]}" -gt 0 ] && ! sudo -n true 2>/dev/null; then
    fail "chromium is missing; install it as root: apt-get install -y chromium"
  else
    say "installing Debian chromium with apt-get"
    if "${as_root[@]}" apt-get update -qq \
      && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq chromium >/dev/null; then
      say "installed $(chromium_version)"
    else
      fail "apt-get install chromium failed"
    fi
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  fail "no virtualenv at $VENV: run 'make install' first"
elif "$VENV/bin/python" -c "import playwright" 2>/dev/null; then
  say "playwright already installed ($(playwright_version))"
else
  say "installing the playwright Python package into $VENV"
  if "$VENV/bin/python" -m pip install --quiet -c requirements.lock playwright; then
    say "installed playwright $(playwright_version)"
  else
    fail "pip install playwright failed"
  fi
fi

exit "$status"
