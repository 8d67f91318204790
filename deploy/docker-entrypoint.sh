#!/bin/sh
# "api" runs gunicorn with uvicorn workers; anything else is a `toutiao` subcommand.
set -e
if [ "$1" = "api" ]; then
  shift
  exec gunicorn -c /opt/toutiao/deploy/gunicorn.conf.py toutiao.asgi:app "$@"
fi
exec toutiao "$@"
