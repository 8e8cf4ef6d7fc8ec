#!/usr/bin/env bash
# Set up a fresh Debian or Ubuntu machine for the book, then build both editions.
#
#   bash tools/setup.sh                 # system packages (if root or sudo is available), venv, build
#   bash tools/setup.sh --system-only   # the system packages alone
#
# System packages (what the tests need besides Python):
#   Debian: dataset-fashion-mnist chromium chromium-driver fonts-noto-cjk
#   Ubuntu: dataset-fashion-mnist chromium-browser chromium-chromedriver fonts-noto-cjk
#           (Ubuntu's Chromium is a snap; any Chromium or Chrome with a matching chromedriver works
#           when AEUTILS_CHROMIUM and AEUTILS_CHROMEDRIVER name them)
# Without root and without sudo the script says what it could not install and goes on: the data then
# comes from a Keras download on first use, and the browser tests are skipped.
set -euo pipefail
system_only=false
case "${1:-}" in
  "") ;;
  --system-only) system_only=true ;;
  *) echo "usage: bash tools/setup.sh [--system-only]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

# AEUTILS_OS_RELEASE: another os-release file (tests/test_setup_script.py uses it to play Ubuntu).
. "${AEUTILS_OS_RELEASE:-/etc/os-release}" 2>/dev/null || ID=unknown
if [ "${ID:-}" = "ubuntu" ]; then
  browser=chromium-browser driver=chromium-chromedriver
else
  browser=chromium driver=chromium-driver
fi
need_apt=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need_apt+=("$browser")
command -v chromedriver >/dev/null 2>&1 || need_apt+=("$driver")
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need_apt+=(fonts-noto-cjk)

if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    SUDO=(sudo)
  else
    SUDO=(none)
  fi
  if [ "${SUDO[0]:-}" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "== not installed (needs root and apt-get): ${need_apt[*]}"
    echo "   the data will be downloaded by Keras on first use; the browser tests will be skipped"
  else
    echo "== apt-get install ${need_apt[*]}"
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
fi

[ "$system_only" = false ] || exit 0

echo "== virtual environment (.venv)"
python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
pip_log="$(mktemp)"
if ! .venv/bin/pip install -q -r requirements.txt -e . >"$pip_log" 2>&1; then
  grep -v "^WARNING: Location" "$pip_log" | tail -40
  exit 1
fi
.venv/bin/python -c "import aeutils, tensorflow; print('installed: aeutils', aeutils.__version__, '| tensorflow', tensorflow.__version__)"

echo "== build the book (English and Chinese editions)"
.venv/bin/python -m tools.i18n build --english
