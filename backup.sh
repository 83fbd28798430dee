#!/usr/bin/env sh
# Back up a year of Google Photos: ./backup.sh [year] [folder] [options]
# Runs where you are: a relative folder is relative to the folder you ran this from. The script
# may be reached through a symlink (~/bin/backup.sh): it finds its own folder through the links.
# client_secret.json (and token.json beside it) is taken from where you are, else from the
# script's folder. "$@" passes every argument through unchanged, spaces and quotes included.
script=$0
while [ -L "$script" ]; do
  link=$(readlink "$script")
  case $link in
    /*) script=$link ;;
    *) script=$(dirname "$script")/$link ;;
  esac
done
here=$(CDPATH='' cd -- "$(dirname -- "$script")" && pwd -P) || exit 2
if [ ! -d "$here/node_modules" ]; then
  (cd "$here" && npm install --no-audit --no-fund) || {
    echo "backup.sh: npm install failed in $here: see its message above, fix it, then run again." >&2
    exit 2
  }
fi
# Given first, so a --client-secret of your own (later on the line) still wins.
if [ ! -f client_secret.json ] && [ -f "$here/client_secret.json" ]; then
  set -- --client-secret "$here/client_secret.json" "$@"
fi
exec node "$here/bin/photo-backup.js" "$@"
