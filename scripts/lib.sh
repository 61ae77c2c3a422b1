# Shared helpers for palabre's scripts. Sourced, not run.

# Runs a command as root: directly when root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian/Ubuntu packages given that are not installed yet (idempotent).
need_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "palabre: installing ${missing[*]}" >&2
  if [ ! -f /tmp/.palabre-apt-updated ]; then
    as_root apt-get update -qq && touch /tmp/.palabre-apt-updated
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# What building palabre needs.
BUILD_PACKAGES=(build-essential pkg-config cmake libasound2-dev)
# What the window needs at run time (loaded with dlopen, so the build does not notice).
RUNTIME_PACKAGES=(libasound2 libgl1 libegl1 libgl1-mesa-dri libx11-6 libx11-xcb1 libxcursor1 libxi6
  libxrandr2 libxkbcommon0 libxkbcommon-x11-0 libwayland-client0 libwayland-cursor0 libwayland-egl1)

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "palabre: a Rust toolchain (1.95 or newer) is needed: see https://rustup.rs" >&2
    exit 1
  fi
}
