#!/usr/bin/env sh
# Back up a year of Google Photos: ./backup.sh [year] [folder] [options]
# Runs from this folder so client_secret.json and token.json are found here.
# "$@" passes every argument through unchanged, spaces and quotes included.
cd "$(dirname "$0")" || exit 2
if [ ! -f dist/cli.js ]; then
  npm install --no-audit --no-fund || exit 2
fi
exec node bin/photo-backup.js "$@"
