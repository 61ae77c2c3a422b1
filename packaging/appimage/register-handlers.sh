#!/bin/sh
# Makes a palabre AppImage the handler of mumble:// and jitsi-meet:// links for the current user.
#
# An AppImage cannot claim URL schemes by itself: nothing is installed, and the desktop file that
# an integration tool (appimaged, AppImageLauncher) may write has a name this script cannot know.
# So it writes its own, hidden desktop file into $XDG_DATA_HOME/applications (by default
# ~/.local/share/applications) whose Exec is the AppImage's absolute path, and makes it the
# default for both schemes with xdg-mime.
#
# Usage:
#   register-handlers.sh PATH/TO/palabre.AppImage   register that AppImage
#   register-handlers.sh                            register $APPIMAGE (set inside a running AppImage)
#   register-handlers.sh --remove                   undo
# Run it again after moving or renaming the AppImage.
set -eu

desktop_id=page.codeberg.palabre.Palabre-appimage-url-handler.desktop
schemes="mumble jitsi-meet"
apps_dir="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
desktop_file="$apps_dir/$desktop_id"

refresh_database() {
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database "$apps_dir" >/dev/null 2>&1 || true
  fi
}

if [ "${1:-}" = "--remove" ]; then
  rm -f "$desktop_file"
  mimeapps="${XDG_CONFIG_HOME:-$HOME/.config}/mimeapps.list"
  if [ -f "$mimeapps" ]; then
    # Only the lines this script wrote (xdg-mime writes "scheme=desktop_id;").
    sed -i "\\#^x-scheme-handler/\\(mumble\\|jitsi-meet\\)=$desktop_id;\\?\$#d" "$mimeapps"
  fi
  refresh_database
  echo "palabre: mumble:// and jitsi-meet:// links are no longer sent to the AppImage"
  exit 0
fi

appimage="${1:-${APPIMAGE:-}}"
if [ -z "$appimage" ]; then
  echo "usage: $0 PATH/TO/palabre.AppImage | --remove" >&2
  exit 2
fi
if [ ! -f "$appimage" ]; then
  echo "palabre: $appimage: no such file" >&2
  exit 1
fi
appimage=$(readlink -f "$appimage")
case "$appimage" in
  *"
"*) echo "palabre: the AppImage's path contains a line break; move it elsewhere" >&2; exit 1 ;;
esac

# Exec quoting (Desktop Entry Specification, "The Exec key"): inside double quotes, \ " ` $ are
# escaped with a backslash; then, as the value is a string, every backslash is doubled; and % is
# written %% so that it is not taken for a field code.
exec_path=$(printf '%s' "$appimage" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g' -e 's/%/%%/g')

mkdir -p "$apps_dir"
tmp="$desktop_file.tmp.$$"
cat > "$tmp" <<DESKTOP
[Desktop Entry]
Type=Application
Name=palabre (AppImage)
Comment=Opens mumble:// and jitsi-meet:// links in the palabre AppImage
Comment[fr]=Ouvre les liens mumble:// et jitsi-meet:// dans l'AppImage de palabre
Icon=page.codeberg.palabre.Palabre
Exec="$exec_path" %u
Terminal=false
NoDisplay=true
MimeType=x-scheme-handler/mumble;x-scheme-handler/jitsi-meet;
DESKTOP
mv "$tmp" "$desktop_file"
refresh_database
for scheme in $schemes; do
  xdg-mime default "$desktop_id" "x-scheme-handler/$scheme"
done
echo "palabre: mumble:// and jitsi-meet:// links now open $appimage"
