#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on this machine, beside the system's node (which is not touched).
#
#   deploy/rabbitmq/local-cluster.sh start|stop|status|urls [VHOST]
#   deploy/rabbitmq/local-cluster.sh stop-node N|kill-node N|start-node N|ctl N ARGS...|queues N ARGS...
#
# Nodes hub-rmq1..3@localhost listen for AMQP on 127.0.0.1:5681..5683 (HUB_RMQ_PORT_BASE + N)
# and for Erlang distribution on 25681..25683. Each has its own config file (the system's
# /etc/rabbitmq/rabbitmq.conf pins 5672), node name, data, log and feature-flags files, in
# directories owned by the rabbitmq user (the Debian scripts switch to that user). Nodes 2 and 3
# join node 1 with `rabbitmqctl join_cluster`. The hub's URL for the cluster:
#
#   HUB_BROKER_URL='amqp://guest:guest@127.0.0.1:5681//;amqp://guest:guest@127.0.0.1:5682//;amqp://guest:guest@127.0.0.1:5683//'
#
# guest may connect from loopback only, which is all this cluster listens on.
set -euo pipefail

BASE=${HUB_RMQ_BASE:-/var/lib/hub-rmq}
PORT_BASE=${HUB_RMQ_PORT_BASE:-5680}
DIST_BASE=${HUB_RMQ_DIST_BASE:-25680}
NODES=(1 2 3)
SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl

node_name() { echo "hub-rmq$1@localhost"; }

as_rabbitmq() {  # run a RabbitMQ script as the rabbitmq user with node N's environment
  local n=$1; shift
  local dir="$BASE/hub-rmq$n"
  local env=(
    HOME=/var/lib/rabbitmq
    RABBITMQ_NODENAME="$(node_name "$n")"
    RABBITMQ_NODE_PORT=$((PORT_BASE + n))
    RABBITMQ_DIST_PORT=$((DIST_BASE + n))
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
    RABBITMQ_MNESIA_BASE="$dir/mnesia"
    RABBITMQ_LOG_BASE="$dir/log"
    RABBITMQ_FEATURE_FLAGS_FILE="$dir/feature_flags"
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
    ERL_EPMD_ADDRESS=127.0.0.1
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  )
  if [ "$(id -u)" = "$(id -u rabbitmq)" ]; then
    env "${env[@]}" "$@"
  else
    runuser -u rabbitmq -- env "${env[@]}" "$@"
  fi
}

ctl() { local n=$1; shift; as_rabbitmq "$n" "$CTL" -n "$(node_name "$n")" "$@"; }

prepare() {
  local n=$1 dir="$BASE/hub-rmq$1"
  mkdir -p "$dir/mnesia" "$dir/log"
  cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.local = 127.0.0.1:$((PORT_BASE + n))
loopback_users.guest = true
log.file.level = warning
log.console = false
cluster_partition_handling = pause_minority
CONF
  : >"$dir/rabbitmq-env.conf"
  [ -f "$dir/enabled_plugins" ] || echo "[]." >"$dir/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$BASE"
}

alive() { ctl "$1" -q ping >/dev/null 2>&1; }      # the node's Erlang VM answers
running() { ctl "$1" -q status >/dev/null 2>&1; }  # and RabbitMQ runs in it

launch() {  # start node N's process, without waiting for it
  local n=$1
  prepare "$n"
  if alive "$n"; then return 0; fi
  as_rabbitmq "$n" "$SERVER" -detached >/dev/null 2>&1 || true
}

await_node() {
  local n=$1
  # the node answers the CLI only once it has registered with epmd: ask again until then
  for _ in $(seq 1 90); do
    ctl "$n" -q await_startup --timeout 90 >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "local-cluster: $(node_name "$n") did not start; see $BASE/hub-rmq$n/log" >&2
  return 1
}

start_node() { launch "$1"; await_node "$1"; }

joined() {  # is node N a running member of node 1's cluster?
  ctl 1 -q cluster_status --formatter json 2>/dev/null | grep -q "\"$(node_name "$1")\""
}

start() {
  mkdir -p "$BASE"
  chown rabbitmq:rabbitmq "$BASE"
  # all at once: with pause_minority a member that starts alone waits for its peers
  for n in "${NODES[@]}"; do launch "$n"; done
  for n in "${NODES[@]}"; do await_node "$n"; done
  for n in 2 3; do
    if ! joined "$n"; then
      {
        ctl "$n" -q stop_app
        ctl "$n" -q reset
        ctl "$n" -q join_cluster "$(node_name 1)"
        ctl "$n" -q start_app
        ctl "$n" -q await_startup --timeout 90
      } >"$BASE/hub-rmq$n/log/join.log" 2>&1 || {
        echo "local-cluster: $(node_name "$n") could not join; see $BASE/hub-rmq$n/log/join.log" >&2
        return 1
      }
    fi
  done
  status
}

stop() {
  for n in 3 2 1; do
    if alive "$n"; then ctl "$n" -q stop >/dev/null 2>&1 || true; fi
  done
}

status() {
  for n in "${NODES[@]}"; do
    if running "$n"; then state=running; elif alive "$n"; then state=starting; else state=stopped; fi
    echo "$(node_name "$n") 127.0.0.1:$((PORT_BASE + n)) $state"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  start-node) start_node "$2" ;;  # bring one node back (it rejoins its cluster by itself)
  stop-node) ctl "$2" -q stop ;;  # stop one node, as a failure would
  kill-node)  # kill one node's VM outright (SIGKILL), as a crash would
    pid_file="$BASE/hub-rmq$2/rabbitmq.pid"
    [ -s "$pid_file" ] && kill -KILL "$(cat "$pid_file")" 2>/dev/null || true ;;
  ctl) n=$2; shift 2; ctl "$n" "$@" ;;  # rabbitmqctl on node N
  queues) n=$2; shift 2; as_rabbitmq "$n" /usr/lib/rabbitmq/bin/rabbitmq-queues -n "$(node_name "$n")" "$@" ;;
  upgrade) n=$2; shift 2; as_rabbitmq "$n" /usr/lib/rabbitmq/bin/rabbitmq-upgrade -n "$(node_name "$n")" "$@" ;;
  urls)  # the hub's HUB_BROKER_URL for the cluster: urls [VHOST] (percent-encoded)
    vhost=${2:-%2F}
    printf 'amqp://guest:guest@127.0.0.1:%s/%s;' $((PORT_BASE + 1)) "$vhost" $((PORT_BASE + 2)) "$vhost" \
      $((PORT_BASE + 3)) "$vhost" | sed 's/;$/\n/' ;;
  *) echo "usage: $0 start|stop|status|urls [VHOST]|start-node N|stop-node N|kill-node N|ctl N ARGS|queues N ARGS|upgrade N ARGS" >&2; exit 2 ;;
esac
