@echo off
rem Back up a year of Google Photos: backup [year] [folder] [options]
rem Runs from this folder so client_secret.json and token.json are found here.
rem %* passes the arguments through as they were typed, quotes included.
cd /d "%~dp0"
if not exist dist\cli.js call npm install --no-audit --no-fund
node bin\photo-backup.js %*
exit /b %ERRORLEVEL%
