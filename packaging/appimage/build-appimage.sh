#!/usr/bin/env bash
# Builds target/appimage/palabre-<version>-x86_64.AppImage with linuxdeploy.
#
# The binary is target/release/palabre (built with `cargo build --release --locked` if missing;
# PALABRE_BINARY overrides it). linuxdeploy copies the libraries it links to, except those every
# system has and must provide itself (glibc, ALSA, OpenGL/EGL, X11, Wayland: its exclude list).
# linuxdeploy and its AppImage plugin are downloaded into target/appimage/tools unless LINUXDEPLOY
# names an existing linuxdeploy; runs without FUSE (APPIMAGE_EXTRACT_AND_RUN).
#
# The AppImage carries register-handlers.sh under usr/share/palabre/; releases also publish it
# next to the AppImage, since links can only be routed to an AppImage by a per-user desktop file.
set -euo pipefail
cd "$(dirname "$0")/../.."

id=page.codeberg.palabre.Palabre
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
arch=$(uname -m)
binary=${PALABRE_BINARY:-target/release/palabre}
work=target/appimage
appdir=$work/AppDir

if [ ! -x "$binary" ]; then
  cargo build --release --locked
fi

rm -rf "$appdir"
install -Dm755 "$binary" "$appdir/usr/bin/palabre"
install -Dm644 "packaging/linux/$id.desktop" "$appdir/usr/share/applications/$id.desktop"
install -Dm644 "packaging/linux/$id.metainfo.xml" "$appdir/usr/share/metainfo/$id.appdata.xml"
mkdir -p "$appdir/usr/share/icons"
cp -r packaging/icons/hicolor "$appdir/usr/share/icons/"
install -Dm755 packaging/appimage/register-handlers.sh "$appdir/usr/share/palabre/register-handlers.sh"

linuxdeploy=${LINUXDEPLOY:-}
if [ -z "$linuxdeploy" ]; then
  tools=$work/tools
  mkdir -p "$tools"
  base=https://github.com/linuxdeploy
  for tool in linuxdeploy linuxdeploy-plugin-appimage; do
    if [ ! -x "$tools/$tool-$arch.AppImage" ]; then
      curl --fail --location --silent --show-error --output "$tools/$tool-$arch.AppImage" \
        "$base/$tool/releases/download/continuous/$tool-$arch.AppImage"
      chmod +x "$tools/$tool-$arch.AppImage"
    fi
  done
  # linuxdeploy finds its plugins on PATH.
  PATH="$PWD/$tools:$PATH"
  linuxdeploy=$tools/linuxdeploy-$arch.AppImage
fi

export APPIMAGE_EXTRACT_AND_RUN=1
export ARCH="$arch"
export LDAI_OUTPUT="$work/palabre-$version-$arch.AppImage"
export OUTPUT="$LDAI_OUTPUT"
"$linuxdeploy" --appdir "$appdir" \
  --desktop-file "$appdir/usr/share/applications/$id.desktop" \
  --icon-file "packaging/icons/hicolor/256x256/apps/$id.png" \
  --output appimage
echo "$LDAI_OUTPUT"
