#!/usr/bin/env bash
# The deployment kit, drilled: supervisor (deploy/supervisor/toutiao.conf) runs the API under
# gunicorn, two IM nodes, rpc, the Celery worker and the scheduler in production mode against
# MariaDB, Redis and RabbitMQ; nginx (deploy/nginx/toutiao.conf) fronts them; deploy/drill.py
# drives the scenario through nginx; then everything stops gracefully and nothing may be left:
# no process, no lease or leader key in Redis, no program killed by SIGKILL.
#
# Uses its own database, its own redis-server on a free port, its own RabbitMQ vhost and free
# ports, so it runs beside anything else. Installs supervisor and nginx (apt) when missing.
# Needs MariaDB on 127.0.0.1:3306 (root, no password) and RabbitMQ on 5672 (guest/guest)
# with rabbitmqctl, as CI provides. Usage: deploy/ci-drill.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { echo "drill: $*"; }
die() { echo "drill: FAILED: $*" >&2; exit 1; }

if ! command -v supervisord >/dev/null || ! command -v nginx >/dev/null; then
  say "installing supervisor and nginx"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends supervisor nginx >/dev/null
fi
. scripts/_venv.sh
ensure_venv dev
PY=$ROOT/.venv/bin/python
TOUTIAO=$ROOT/.venv/bin/toutiao

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
DRILL=$(mktemp -d /tmp/toutiao-drill.XXXXXX)
NAME="toutiao_drill_$$"
REDIS_PORT=$(free_port) API_PORT=$(free_port) IM1_PORT=$(free_port) IM2_PORT=$(free_port)
RECO_PORT=$(free_port) CHAT_PORT=$(free_port) NGINX_PORT=$(free_port) SMS_PORT=$(free_port)
mkdir -p "$DRILL/logs" "$DRILL/var" "$DRILL/nginx"

SUPERVISED=""
cleanup() {
  set +e
  if [ -n "$SUPERVISED" ] && [ -S "$DRILL/supervisor.sock" ]; then
    supervisorctl -c "$DRILL/supervisord.conf" shutdown >/dev/null 2>&1
  fi
  [ -f "$DRILL/nginx/nginx.pid" ] && nginx -c "$DRILL/nginx/nginx.conf" -p "$DRILL/nginx" -s quit 2>/dev/null
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
  mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS \`$NAME\`" 2>/dev/null
  rabbitmqctl -q delete_vhost "$NAME" >/dev/null 2>&1
  if [ "${KEEP_DRILL:-}" = "" ]; then rm -rf "$DRILL"; else say "kept $DRILL"; fi
}
trap cleanup EXIT

say "engines: database $NAME, redis-server :$REDIS_PORT, RabbitMQ vhost $NAME"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --logfile "$DRILL/logs/redis.log" --pidfile "$DRILL/redis.pid" --dir "$DRILL"
mysql -uroot -h127.0.0.1 -e "CREATE DATABASE \`$NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
rabbitmqctl -q add_vhost "$NAME"
rabbitmqctl -q set_permissions -p "$NAME" guest '.*' '.*' '.*'

# Production settings, as an operator's .env would hold them (see .env.example).
export TOUTIAO_ENV=production
export TOUTIAO_JWT_SECRET
TOUTIAO_JWT_SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')
export TOUTIAO_DATA_DIR=$DRILL/var
export TOUTIAO_DATABASE_URL="mysql+asyncmy://root@127.0.0.1:3306/$NAME"
export TOUTIAO_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export TOUTIAO_REDIS_STORAGE_URL="redis://127.0.0.1:$REDIS_PORT/1"
export TOUTIAO_MQ_URL="amqp://guest:guest@127.0.0.1:5672/$NAME"
export TOUTIAO_TASK_BROKER_URL="$TOUTIAO_MQ_URL"
export TOUTIAO_RECO_PORT=$RECO_PORT TOUTIAO_RECO_TARGET=127.0.0.1:$RECO_PORT
export TOUTIAO_CHATBOT_PORT=$CHAT_PORT TOUTIAO_CHATBOT_TARGET=127.0.0.1:$CHAT_PORT
export TOUTIAO_PUBLIC_URL=http://127.0.0.1:$NGINX_PORT
export TOUTIAO_CORS_ORIGINS=http://127.0.0.1:$NGINX_PORT
export TOUTIAO_TRUSTED_PROXIES=127.0.0.1/32
export TOUTIAO_SMS_PROVIDER=aliyun TOUTIAO_SMS_ALIYUN_ENDPOINT=http://127.0.0.1:$SMS_PORT/
export TOUTIAO_SMS_ALIYUN_ACCESS_KEY_ID=drill TOUTIAO_SMS_ALIYUN_ACCESS_KEY_SECRET=drill-secret
export TOUTIAO_SMS_ALIYUN_SIGN_NAME=drill TOUTIAO_SMS_ALIYUN_TEMPLATE_CODE=SMS_0000
export TOUTIAO_SMS_RATE_PER_IP=1000/hour TOUTIAO_LOGIN_RATE_PER_IP=1000/minute
export TOUTIAO_API_BIND=127.0.0.1:$API_PORT TOUTIAO_API_WORKERS=2
export TOUTIAO_HOME=$ROOT TOUTIAO_LOG_DIR=$DRILL/logs TOUTIAO_USER=${TOUTIAO_USER:-$(id -un)}

say "first deployment: migrate, demo content, search index (the runbook's order)"
"$TOUTIAO" db upgrade >"$DRILL/logs/setup.log" 2>&1 || { cat "$DRILL/logs/setup.log"; die "db upgrade"; }
"$TOUTIAO" seed demo --users 8 --articles 80 >>"$DRILL/logs/setup.log" 2>&1 || { tail -30 "$DRILL/logs/setup.log"; die "seed"; }
"$TOUTIAO" search reindex >>"$DRILL/logs/setup.log" 2>&1 || { tail -30 "$DRILL/logs/setup.log"; die "reindex"; }

# The kit's files, with this drill's ports (the shipped ones use 8000-8002 and port 80).
sed -e "s/--port 8001/--port $IM1_PORT/" -e "s/--port 8002/--port $IM2_PORT/" \
  deploy/supervisor/toutiao.conf >"$DRILL/toutiao.conf"
cat >"$DRILL/supervisord.conf" <<CONF
[unix_http_server]
file=$DRILL/supervisor.sock
[supervisord]
logfile=$DRILL/logs/supervisord.log
pidfile=$DRILL/supervisord.pid
childlogdir=$DRILL/logs
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$DRILL/supervisor.sock
[include]
files=$DRILL/toutiao.conf
CONF
sed -e "s/127.0.0.1:8000;/127.0.0.1:$API_PORT;/" -e "s/127.0.0.1:8001;/127.0.0.1:$IM1_PORT;/" \
  -e "s/127.0.0.1:8002;/127.0.0.1:$IM2_PORT;/" -e "s/listen 80;/listen 127.0.0.1:$NGINX_PORT;/" \
  deploy/nginx/toutiao.conf >"$DRILL/nginx/toutiao.conf"
cat >"$DRILL/nginx/nginx.conf" <<CONF
user $(id -un);
worker_processes 1;
pid $DRILL/nginx/nginx.pid;
error_log $DRILL/logs/nginx-error.log;
events { worker_connections 256; }
http {
  access_log $DRILL/logs/nginx-access.log;
  client_body_temp_path $DRILL/nginx/body;
  proxy_temp_path $DRILL/nginx/proxy;
  fastcgi_temp_path $DRILL/nginx/fastcgi;
  uwsgi_temp_path $DRILL/nginx/uwsgi;
  scgi_temp_path $DRILL/nginx/scgi;
  include $DRILL/nginx/toutiao.conf;
}
CONF

say "starting the kit under supervisor, nginx in front (http://127.0.0.1:$NGINX_PORT)"
supervisord -c "$DRILL/supervisord.conf"
SUPERVISED=1
nginx -c "$DRILL/nginx/nginx.conf" -p "$DRILL/nginx"

wait_ready() {
  local what="$1" check="$2"
  for _ in $(seq 1 120); do
    if eval "$check" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  supervisorctl -c "$DRILL/supervisord.conf" status || true
  tail -n 40 "$DRILL"/logs/*.log
  die "$what did not come up"
}
wait_ready "the API through nginx" "curl -fsS http://127.0.0.1:$NGINX_PORT/healthz"
wait_ready "IM node 1" "curl -fsS 'http://127.0.0.1:$IM1_PORT/socket.io/?EIO=4&transport=polling&a=probe'"
wait_ready "IM node 2" "curl -fsS 'http://127.0.0.1:$IM2_PORT/socket.io/?EIO=4&transport=polling&a=probe'"
wait_ready "rpc" "$PY -c 'import socket; socket.create_connection((\"127.0.0.1\", $RECO_PORT), 1)'"
wait_ready "the worker" "grep -q 'ready' $DRILL/logs/worker.log"
supervisorctl -c "$DRILL/supervisord.conf" status

"$PY" deploy/drill.py "http://127.0.0.1:$NGINX_PORT" "http://127.0.0.1:$IM1_PORT" \
  "http://127.0.0.1:$IM2_PORT" "$SMS_PORT" "$TOUTIAO_DATABASE_URL" ||
  { tail -n 30 "$DRILL"/logs/*.log; die "scenario"; }

say "stopping gracefully (supervisorctl stop, nginx quit)"
supervisorctl -c "$DRILL/supervisord.conf" stop all
grep -E "stopped: toutiao" "$DRILL/logs/supervisord.log" | sed 's/^/  /'
if grep -E "stopped: toutiao.*(SIGKILL|not expected)" "$DRILL/logs/supervisord.log"; then
  die "a program had to be killed or exited badly"
fi
supervisorctl -c "$DRILL/supervisord.conf" shutdown >/dev/null
SUPERVISED=""
nginx -c "$DRILL/nginx/nginx.conf" -p "$DRILL/nginx" -s quit
for _ in $(seq 1 30); do
  [ ! -f "$DRILL/supervisord.pid" ] && [ ! -f "$DRILL/nginx/nginx.pid" ] && break
  sleep 1
done

say "looking for leftovers"
left=$(pgrep -af "$DRILL|toutiao\.asgi:app|toutiao (im|rpc|worker|scheduler)" | grep -v pgrep | grep -F -- "$ROOT" || true)
left+=$(pgrep -af "nginx.*$DRILL|supervisord -c $DRILL" | grep -v pgrep || true)
[ -z "$left" ] || die "processes left running: $left"
keys=$(for db in 0 1; do redis-cli -p "$REDIS_PORT" -n "$db" --scan --pattern 'ids:worker:*'
  redis-cli -p "$REDIS_PORT" -n "$db" --scan --pattern 'reco:lock:*'; done)
[ -z "$keys" ] || die "lease or leader keys left in Redis: $keys"
say "passed: no process, lease or leader key left"
