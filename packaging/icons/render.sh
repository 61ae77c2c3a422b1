#!/usr/bin/env bash
# Renders palabre's icon (hicolor/scalable/apps/*.svg) to the PNG sizes of the hicolor theme and
# to the Windows .ico. Needs rsvg-convert (Debian: librsvg2-bin) and, for the .ico, ImageMagick's
# convert. The outputs are committed; run this again after changing the SVG.
set -euo pipefail
cd "$(dirname "$0")"
id=page.codeberg.palabre.Palabre
svg=hicolor/scalable/apps/$id.svg
for size in 16 22 24 32 48 64 128 256 512; do
  mkdir -p "hicolor/${size}x${size}/apps"
  rsvg-convert --width "$size" --height "$size" "$svg" --output "hicolor/${size}x${size}/apps/$id.png"
done
# The Windows icon holds the sizes the shell asks for (Start menu, taskbar, Explorer).
convert hicolor/16x16/apps/$id.png hicolor/24x24/apps/$id.png hicolor/32x32/apps/$id.png \
  hicolor/48x48/apps/$id.png hicolor/64x64/apps/$id.png hicolor/256x256/apps/$id.png \
  ../windows/palabre.ico
