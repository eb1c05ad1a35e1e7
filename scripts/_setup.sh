# Shared set-up for scripts/demo and scripts/test (sourced, not run).
# Installs Debian packages (as root, or through sudo), makes .venv and installs the project.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: setup.needs_root: installing Debian packages needs root or sudo: $*" >&2; return 1; fi
}

apt_install() {
  # Only what is missing, so a second run costs nothing.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "warning: not a Debian system; install these yourself: ${missing[*]}" >&2; return 0
  fi
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Qt's offscreen/xcb platforms need these libraries; fonts-noto-cjk or every Chinese character is a box.
QT_PACKAGES=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 fonts-noto-cjk fonts-wqy-zenhei
             libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
             libxcb-render-util0 libxcb-image0
             # QtMultimedia (PySide6-Addons; the 视频核验 dialog's player): its FFmpeg is in the wheel, but
             # libQt6Multimedia links PulseAudio's client library and the FFmpeg plugin XRandR and DRM.
             libpulse0 libxrandr2 libdrm2)

make_venv() {
  local extras="$1"
  local py="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv || { apt_install python3-venv && "$py" -m venv .venv; }
  fi
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".${extras}"
}
