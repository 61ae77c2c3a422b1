#!/usr/bin/env bash
# Assembles target/macos/palabre.app on macOS: the binary, Info.plist (versions from Cargo.toml),
# the English and French InfoPlist.strings, the icon (.icns from the hicolor PNGs) and a
# hardened-runtime signature with palabre.entitlements.
#
# Usage: packaging/macos/build-app.sh [BINARY]
#   BINARY defaults to target/release/palabre (built if missing); the release workflow passes a
#   universal binary made with lipo.
# Signing: with MACOS_SIGN_IDENTITY ("Developer ID Application: …") the bundle is signed for
# distribution (then notarize the dmg with `xcrun notarytool`); without it, ad hoc, which keeps
# the entitlements so that macOS asks for the microphone when run on this Mac.
set -euo pipefail
cd "$(dirname "$0")/../.."

id=page.codeberg.palabre.Palabre
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
binary=${1:-target/release/palabre}
if [ ! -x "$binary" ]; then
  cargo build --release --locked
fi

app=target/macos/palabre.app
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$binary" "$app/Contents/MacOS/palabre"
cp packaging/macos/Info.plist "$app/Contents/Info.plist"
/usr/libexec/PlistBuddy -c "Set :CFBundleShortVersionString $version" \
  -c "Set :CFBundleVersion $version" "$app/Contents/Info.plist"
plutil -lint "$app/Contents/Info.plist"
printf 'APPL????' > "$app/Contents/PkgInfo"
for lang in en fr; do
  mkdir -p "$app/Contents/Resources/$lang.lproj"
  plutil -convert binary1 -o "$app/Contents/Resources/$lang.lproj/InfoPlist.strings" \
    "packaging/macos/$lang.lproj/InfoPlist.strings"
done

# The icon: each size, and its double for Retina screens where one is drawn.
iconset=target/macos/palabre.iconset
rm -rf "$iconset"
mkdir -p "$iconset"
png() { echo "packaging/icons/hicolor/${1}x${1}/apps/$id.png"; }
for size in 16 32 128 256 512; do
  cp "$(png "$size")" "$iconset/icon_${size}x${size}.png"
  if [ -f "$(png $((size * 2)))" ]; then
    cp "$(png $((size * 2)))" "$iconset/icon_${size}x${size}@2x.png"
  fi
done
iconutil --convert icns --output "$app/Contents/Resources/palabre.icns" "$iconset"

identity=${MACOS_SIGN_IDENTITY:--}
sign_args=(--force --options runtime --entitlements packaging/macos/palabre.entitlements --sign "$identity")
if [ "$identity" != "-" ]; then
  sign_args+=(--timestamp)
fi
codesign "${sign_args[@]}" "$app"
codesign --verify --strict --verbose=1 "$app"
echo "$app"
