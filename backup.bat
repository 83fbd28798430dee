@echo off
rem Back up a year of Google Photos: backup [year] [folder] [options]
rem Runs where you are: a relative folder is relative to the window's folder, and the window
rem stays in its folder (setlocal, pushd/popd). client_secret.json (and token.json beside it)
rem is taken from where you are, else from this script's folder.
rem %* passes the arguments through as they were typed, quotes included.
setlocal
set "HERE=%~dp0"
if exist "%HERE%node_modules\" goto run
pushd "%HERE%"
call npm install --no-audit --no-fund
if errorlevel 1 goto install_failed
popd
:run
set "SECRET="
if not exist "client_secret.json" if exist "%HERE%client_secret.json" set SECRET=--client-secret "%HERE%client_secret.json"
rem Given first, so a --client-secret of your own (later on the line) still wins.
node "%HERE%bin\photo-backup.js" %SECRET% %*
exit /b %ERRORLEVEL%

:install_failed
popd
echo backup: npm install failed in "%HERE%" - see its message above, fix it, then run backup again. 1>&2
exit /b 2
