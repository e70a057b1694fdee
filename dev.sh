#!/usr/bin/env bash
# Set up everything shophealth needs, idempotently, then run a task.
#   ./dev.sh demo    scan the bundled demo shop (served on 127.0.0.1)
#   ./dev.sh test    run the test suite
#   ./dev.sh setup   only install
# Installs: a virtualenv in .venv with the package and its dev extras, a
# Chromium for Playwright and Lighthouse (Playwright's own where it can be
# downloaded, else Debian's `chromium` package), and Lighthouse from npm
# (pinned in package-lock.json). Each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

python_env() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV" || { log "python3 -m venv failed: install python3-venv"; exit 1; }
  fi
  local stamp="$VENV/.installed" want
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing shophealth and its dependencies into $VENV"
    if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
           "$VENV/bin/python" -m pip install -q -e '.[dev]'; } >"$VENV/install.log" 2>&1; then
      tail -n 30 "$VENV/install.log" >&2
      log "pip install failed (whole log: $VENV/install.log)"
      exit 1
    fi
    echo "$want" > "$stamp"
  fi
  # Byte-code for our own modules even where PYTHONDONTWRITEBYTECODE is set: the
  # scan and each worker process would otherwise compile them at every start.
  "$VENV/bin/python" -m compileall -q shophealth crawler checks reports fixtures >/dev/null 2>&1 || true
}

find_browser() {
  "$VENV/bin/python" -c 'from shophealth.crawler.browser import find_browser; print(find_browser(None))' 2>/dev/null
}

cjk_fonts() {
  # Hong Kong shops are in Chinese: without a CJK font the phone screenshots in
  # the reports show boxes instead of text.
  if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; then
    log "installing a Chinese font for the browser's screenshots (fonts-wqy-microhei)"
    apt_install fonts-wqy-microhei || log "warning: no Chinese font; zh screenshots will show boxes"
  fi
}

browser() {
  if find_browser >/dev/null; then cjk_fonts; return; fi
  log "no Chromium found: trying Playwright's download"
  if timeout 180 "$VENV/bin/python" -m playwright install chromium >/dev/null 2>&1 && find_browser >/dev/null; then
    return
  fi
  log "Playwright's download failed: installing Debian's chromium"
  apt_install chromium
  find_browser >/dev/null || log "warning: no Chromium; browser checks will be skipped"
  cjk_fonts
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || { log "warning: no apt-get: install $* by hand"; return; }
  if [ -z "${APT_UPDATED:-}" ]; then $SUDO apt-get update -qq || true; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

test_tools() {
  # nginx serves the benchmark's shop; its test checks the generated shop through it.
  if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; then
    log "installing nginx (benchmark server)"
    apt_install nginx
  fi
  # PostgreSQL: the history store's tests start a throw-away server (initdb, pg_ctl).
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    log "installing postgresql (history store tests)"
    apt_install postgresql
  fi
  # Redis: the broker of the distributed scan's tests (started by the tests).
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing redis-server (distributed scan tests)"
    apt_install redis-server
  fi
}

nss_tools() {
  # certutil makes the NSS database through which Chromium trusts --ca-bundle (crawler/chromium.py).
  command -v certutil >/dev/null 2>&1 && return
  log "installing certutil (libnss3-tools)"
  apt_install libnss3-tools
}

node_tools() {
  if ! command -v npm >/dev/null 2>&1; then
    log "warning: npm not found; Lighthouse checks will be skipped"
    return
  fi
  local stamp=node_modules/.installed want
  want=$(cat package-lock.json | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Lighthouse from npm"
    npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null
    echo "$want" > "$stamp"
  fi
}

setup() {
  python_env
  browser
  nss_tools
  node_tools
}

case "${1:-}" in
  setup) setup ;;
  demo) setup; shift; exec "$VENV/bin/shophealth" demo "$@" ;;
  test) setup; test_tools; shift; exec "$VENV/bin/python" -m pytest "$@" ;;
  *) echo "usage: ./dev.sh demo|test|setup" >&2; exit 2 ;;
esac
