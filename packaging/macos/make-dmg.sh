#!/usr/bin/env bash
# Packs target/macos/palabre.app (from build-app.sh) into target/macos/palabre-<version>-<arch>.dmg:
# a compressed disk image holding the app and a link to /Applications to drag it onto.
#
# Usage: packaging/macos/make-dmg.sh [ARCH]   ARCH names the file (default: universal).
# Sign and notarize the dmg afterwards for distribution (codesign, then `xcrun notarytool submit
# --wait` and `xcrun stapler staple`).
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
arch=${1:-universal}
app=target/macos/palabre.app
dmg=target/macos/palabre-$version-$arch.dmg
if [ ! -d "$app" ]; then
  echo "palabre: $app is missing; run packaging/macos/build-app.sh first" >&2
  exit 1
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
ditto "$app" "$staging/palabre.app"
ln -s /Applications "$staging/Applications"
rm -f "$dmg"
hdiutil create -volname "palabre $version" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg"
hdiutil verify "$dmg"
echo "$dmg"
