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
# libvpx-dev: VP8 (env-libvpx-sys); libclang-dev: the V4L2 bindings of nokhwa (bindgen).
BUILD_PACKAGES=(build-essential pkg-config cmake libasound2-dev libpulse-dev libvpx-dev libclang-dev)
# What the window needs at run time (loaded with dlopen, so the build does not notice).
RUNTIME_PACKAGES=(libasound2 libgl1 libegl1 libgl1-mesa-dri libx11-6 libx11-xcb1 libxcursor1 libxi6
  libxrandr2 libxkbcommon0 libxkbcommon-x11-0 libwayland-client0 libwayland-cursor0 libwayland-egl1)

# What the packaging checks need (tests/packaging.rs, scripts/check-deb): the validators of the
# desktop entry and the AppStream metainfo, xdg-mime for the link handlers, PyYAML for the Flatpak
# manifest, and dpkg-shlibdeps, which cargo-deb runs for the .deb's $auto dependencies.
PACKAGING_PACKAGES=(desktop-file-utils appstream xdg-utils python3-yaml dpkg-dev)

# cargo-deb, pinned (scripts/check-deb packs the dev profile, which later versions may refuse),
# installed once into target/tools rather than into ~/.cargo. Puts it on PATH.
CARGO_DEB_VERSION=3.8.0
need_cargo_deb() {
  local root=target/tools
  if [ "$("$root/bin/cargo-deb" --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
    echo "palabre: installing cargo-deb $CARGO_DEB_VERSION into $root" >&2
    cargo install --quiet --locked --root "$root" cargo-deb --version "$CARGO_DEB_VERSION"
  fi
  PATH="$PWD/$root/bin:$PATH"
}

# What the end-to-end tests need: a real Mumble server (murmurd, run privately per test), openssl
# for its test certificates, and Python with venv for the independent peer (pymumble + opuslib,
# which loads libopus0).
E2E_PACKAGES=(mumble-server prosody openssl libopus0 python3 python3-venv)

# Prepares target/test-venv with the peer's pinned requirements (tests/peers/requirements.txt);
# rebuilt only when missing or when the requirements or the Python changed (a stamp keeps what it
# was built from). Exports PALABRE_TEST_PYTHON, which the tests use.
prepare_test_venv() {
  local venv=target/test-venv requirements=tests/peers/requirements.txt python=python3
  # The system Python, which python3-venv goes with (a pyenv or other python3 may be first on PATH).
  [ -x /usr/bin/python3 ] && python=/usr/bin/python3
  local stamp="$venv/.palabre-stamp" want
  want="$(sha256sum "$requirements" | cut -d' ' -f1) $python $("$python" -c 'import platform; print(platform.python_version())')"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "palabre: preparing $venv" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --use-pep517 -r "$requirements"
    echo "$want" > "$stamp"
  fi
  PALABRE_TEST_PYTHON="$PWD/$venv/bin/python"
  export PALABRE_TEST_PYTHON
}

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "palabre: a Rust toolchain (1.95 or newer) is needed: see https://rustup.rs" >&2
    exit 1
  fi
}

# Starts a private PulseAudio server whose default sink is a null sink "palabre_sink" and whose
# default source is that sink's monitor: what palabre plays comes back as microphone input.
# Sets PULSE_SERVER, PALABRE_PULSE_DIR and PALABRE_PULSE_PID; stop it with stop_null_sink.
# `start_null_sink shm` lets clients share memory with it, as desktop servers do (the benches:
# without it every 10 ms block crosses the socket in four messages, benches/README.md §7); the
# tests keep the set-up they have passed on for longest (`--disable-shm`), after one unexplained
# 45 ms gap through the ALSA path with shared memory, never seen again in 26 runs of its test.
start_null_sink() {
  local shm=(--disable-shm=yes)
  [ "${1:-}" = shm ] && shm=()
  PALABRE_PULSE_DIR=$(mktemp -d /tmp/palabre-pulse.XXXXXX)
  mkdir -p "$PALABRE_PULSE_DIR/run" "$PALABRE_PULSE_DIR/state"
  cat > "$PALABRE_PULSE_DIR/default.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$PALABRE_PULSE_DIR/run/native
load-module module-null-sink sink_name=palabre_sink rate=48000 channels=2 sink_properties=device.description=palabre_null_sink
set-default-sink palabre_sink
set-default-source palabre_sink.monitor
PA
  PULSE_RUNTIME_PATH="$PALABRE_PULSE_DIR/run" PULSE_STATE_PATH="$PALABRE_PULSE_DIR/state" \
    pulseaudio --daemonize=no --system=false --exit-idle-time=-1 --disallow-exit --use-pid-file=no \
    "${shm[@]}" -n -F "$PALABRE_PULSE_DIR/default.pa" \
    --log-target="file:$PALABRE_PULSE_DIR/pulse.log" &
  PALABRE_PULSE_PID=$!
  export PULSE_SERVER="unix:$PALABRE_PULSE_DIR/run/native"
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.2; done
  pactl info | grep -E '^Default (Sink|Source)' >&2
}

stop_null_sink() {
  kill "$PALABRE_PULSE_PID" 2>/dev/null || true
  wait "$PALABRE_PULSE_PID" 2>/dev/null || true
  rm -rf "$PALABRE_PULSE_DIR"
}
