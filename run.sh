#!/usr/bin/env bash
# One entry point for people and CI:
#   bash run.sh demo   set up .venv and start JupyterLab on notebooks/ with the quickstart open
#   bash run.sh test   set up .venv (+ Debian's chromium for the browser tests) and run every test
# Works on a fresh Debian machine with Python 3.10+; installs come from PyPI and Debian only.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
VENV=$ROOT/.venv
PY=${PYTHON:-python3}

as_root() {  # run a command as root: directly when we are root, else through sudo
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "run.sh: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_install() {  # apt_install PKG...: install Debian packages that are missing
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "run.sh: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

setup_venv() {  # setup_venv EXTRAS
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PY" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      # Debian ships venv/ensurepip separately from python3.
      apt_install "python3-venv"
      "$PY" -m venv "$VENV"
    fi
  fi
  local stamp="$VENV/.installed-$1"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[$1]"
    touch "$stamp"
  fi
}

case "${1:-}" in
  demo)
    setup_venv demo
    PORT=${PORT:-8888}
    # Our own token, so that the one URL printed here works as printed (Jupyter's own banner
    # shows /lab?token=..., not the notebook).
    TOKEN=$("$VENV/bin/python" -c "import secrets; print(secrets.token_hex(24))")
    args=(--no-browser --ip=127.0.0.1 --port="$PORT" --ServerApp.port_retries=0
          --IdentityProvider.token="$TOKEN")
    [ "$(id -u)" = 0 ] && args+=(--allow-root)
    echo
    echo "tspwidget demo: JupyterLab on notebooks/ (set PORT=... for another port). Open:"
    echo
    echo "    http://127.0.0.1:$PORT/lab/tree/01_quickstart.ipynb?token=$TOKEN"
    echo
    cd notebooks
    exec "$VENV/bin/jupyter" lab 01_quickstart.ipynb "${args[@]}"
    ;;
  test)
    # chromium: the browser tests drive Debian's build through Playwright (no browser download).
    apt_install chromium fonts-liberation
    setup_venv test
    shift
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: bash run.sh demo | bash run.sh test [pytest args]" >&2
    exit 2
    ;;
esac
