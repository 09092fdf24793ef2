#!/bin/bash
# @POWER_OFF@
# User-data of a kfkd training instance. ec2/launcher.py writes in, above, the cost cap's
# power-off as the first command (nothing below can cancel it) and, at the CONFIG line, the
# run's settings. Log: /var/log/kfkd-bootstrap.log, uploaded every minute as
# RUN/ec2/bootstrap.log; progress in RUN/ec2/status.txt; checkpoints as one archive plus a
# pointer (RUN/ec2/checkpoint.json; python -m ec2.instance, ec2/transfer.py).
# Offline check: bash ec2/bootstrap.sh --cpu --workdir DIR (settings from KFKD_* variables; a
# venv without the GPU build, device=cpu, never powers the machine off).
# @CONFIG@
set -euo pipefail

MODE=gpu
WORKDIR=/opt/kfkd
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) MODE=cpu ;;
    --workdir) WORKDIR=$2; shift ;;
    *) echo "bootstrap: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

KFKD_ARGS=${KFKD_ARGS:-}
KFKD_S3_DATA=${KFKD_S3_DATA:-}
KFKD_DATA_SOURCE=${KFKD_DATA_SOURCE:-s3}
KFKD_KAGGLE_PARAMETER=${KFKD_KAGGLE_PARAMETER:-}
KFKD_SHUTDOWN=${KFKD_SHUTDOWN:-1}
KFKD_PREFIX=${KFKD_PREFIX:-kfkd}
KFKD_EPOCHS=${KFKD_EPOCHS:-}
KFKD_CUDNN=${KFKD_CUDNN:-0}
KFKD_PRICE_PER_HOUR=${KFKD_PRICE_PER_HOUR:-}
KFKD_POLL_SECONDS=${KFKD_POLL_SECONDS:-5}          # checkpoint and spot-notice look
KFKD_LOG_SECONDS=${KFKD_LOG_SECONDS:-60}           # the log goes up this often
KFKD_RETRY_DELAYS=${KFKD_RETRY_DELAYS:-}           # python -m ec2.instance's back-off
KFKD_UPLOAD_RETRY_SECONDS=${KFKD_UPLOAD_RETRY_SECONDS:-300}
if [ "$MODE" = cpu ]; then
  KFKD_SHUTDOWN=0                       # never power off a developer's machine
  KFKD_IMDS=${KFKD_IMDS:-}              # no instance metadata off EC2
  KFKD_UPLOAD_ROUNDS=${KFKD_UPLOAD_ROUNDS:-1}
  LOG=$WORKDIR/bootstrap.log
  INSTALL_ARGS=(--cpu)
else
  KFKD_IMDS=${KFKD_IMDS:-http://169.254.169.254}
  KFKD_UPLOAD_ROUNDS=${KFKD_UPLOAD_ROUNDS:-0}        # 0: until it works or the cost cap
  LOG=/var/log/kfkd-bootstrap.log
  INSTALL_ARGS=()
  if [ "$KFKD_CUDNN" = 1 ]; then INSTALL_ARGS=(--cudnn); fi   # refused: ec2/install_env.sh
fi
export KFKD_CUDNN                         # compat reads it: 1 = cuDNN's convolutions
if [ -n "${KFKD_REGION:-}" ]; then export AWS_DEFAULT_REGION=$KFKD_REGION; fi
export HOME=${HOME:-/root}                # cloud-init may run user-data without one

mkdir -p "$WORKDIR/ec2"
rm -f "$WORKDIR/spot-notice" "$WORKDIR/train.pid" "$WORKDIR/relaunch.txt"
exec > >(tee -a "$LOG") 2>&1
SRC=$WORKDIR/src
ENV=$WORKDIR/env
SIDE=$WORKDIR/ec2                          # what goes to RUN/ec2/ (device.json)
RUN_DIR=$WORKDIR/runs/${KFKD_RUN_ID:-unknown}
STEP=start
FAILURE=
PY=
INSTANCE_ID=

say() { echo "[kfkd $(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"; }

set_status() {
  say "status: $*"
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" > "$WORKDIR/status.txt"
  aws s3 cp --only-show-errors "$WORKDIR/status.txt" "$KFKD_S3_RUN/ec2/status.txt" || true
}

step() { STEP=$1; set_status "running: $1"; }

fail() { FAILURE=$*; say "ERROR: $*"; exit 1; }

upload_log() { aws s3 cp --only-show-errors "$LOG" "$KFKD_S3_RUN/ec2/bootstrap.log" || true; }

# IMDSv2: a token first, then the path asked for.
imds() {
  local token
  [ -n "$KFKD_IMDS" ] || return 1
  token=$(curl -fsS -m 2 -X PUT "$KFKD_IMDS/latest/api/token" \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' 2>/dev/null) || return 1
  curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" "$KFKD_IMDS/latest/$1" 2>/dev/null
}

# python -m ec2.instance COMMAND ... for this run (transfers with back-off, the relaunch).
instance() {
  local command=$1
  shift
  (cd "$SRC" && "$PY" -m ec2.instance "$command" --bucket "$KFKD_BUCKET" \
    --prefix "$KFKD_PREFIX" --run-id "$KFKD_RUN_ID" --region "${KFKD_REGION:-us-east-1}" \
    --run-dir "$RUN_DIR" ${KFKD_EPOCHS:+--epochs "$KFKD_EPOCHS"} \
    ${INSTANCE_ID:+--instance-id "$INSTANCE_ID"} \
    ${KFKD_RETRY_DELAYS:+--retry-delays "$KFKD_RETRY_DELAYS"} "$@")
}

log_uploader() {
  while sleep "$KFKD_LOG_SECONDS"; do upload_log; done
}

# Uploads the checkpoint whenever it changes (a failed upload is tried again at the next
# look: `last` moves on only after a verified upload); on a spot interruption notice it
# stops training (which checkpoints and writes the run folder) and starts the next instance.
watch_run() {
  set +e                                # a failed look must not end the watcher
  local last='' now action
  while sleep "$KFKD_POLL_SECONDS"; do
    now=$(find "$RUN_DIR/checkpoint" -type f -printf '%T@ %s %p\n' 2>/dev/null | sort | tail -n 1)
    if [ -n "$now" ] && [ "$now" != "$last" ]; then
      sleep 1                           # let the checkpoint writer finish
      if instance checkpoint; then
        last=$now
      else
        say "checkpoint upload failed: again at the next look"
      fi
    fi
    if action=$(imds meta-data/spot/instance-action); then
      say "spot interruption notice: $action; checkpointing, then relaunching"
      echo "$action" > "$WORKDIR/spot-notice"
      if [ -f "$WORKDIR/train.pid" ]; then kill -INT "$(cat "$WORKDIR/train.pid")"; fi
      instance relaunch --reason "spot interruption ($action)" > "$WORKDIR/relaunch.txt"
      say "relaunch: $(cat "$WORKDIR/relaunch.txt")"
      return 0
    fi
  done
}

# The final upload, verified; on failure the reason is in $UPLOAD_ERROR.
final_upload() {
  local errors=$WORKDIR/upload-errors.txt
  if instance final 2> "$errors"; then cat "$errors"; return 0; fi
  cat "$errors"
  UPLOAD_ERROR=$(grep '^error:' "$errors" | tail -n 1 | sed 's/^error: //')
  UPLOAD_ERROR=${UPLOAD_ERROR:-see ec2/bootstrap.log}
  return 1
}

finish() {
  local rc=$? rounds=0 uploaded=1 relaunched
  set +eu                               # report whatever state the script was in
  if [ -n "${LOGGER:-}" ]; then kill "$LOGGER" 2>/dev/null; fi
  # After a spot notice the watcher is starting the successor: the upload goes on meanwhile.
  if [ -n "${WATCHER:-}" ] && [ ! -f "$WORKDIR/spot-notice" ]; then
    kill "$WATCHER" 2>/dev/null; wait "$WATCHER" 2>/dev/null
  fi
  if [ -n "$PY" ] && [ -d "$RUN_DIR" ]; then
    until final_upload; do
      rounds=$((rounds + 1))
      set_status "upload-failed: $UPLOAD_ERROR; the run stays on this instance until the" \
        "cost cap, the upload is tried again every ${KFKD_UPLOAD_RETRY_SECONDS} s"
      upload_log
      if [ "$KFKD_UPLOAD_ROUNDS" != 0 ] && [ "$rounds" -ge "$KFKD_UPLOAD_ROUNDS" ]; then
        uploaded=0
        break
      fi
      sleep "$KFKD_UPLOAD_RETRY_SECONDS"
    done
  fi
  if [ -n "${WATCHER:-}" ] && [ -f "$WORKDIR/spot-notice" ]; then wait "$WATCHER"; fi
  if [ "$uploaded" = 0 ]; then
    rc=3
  elif [ -f "$WORKDIR/spot-notice" ]; then
    relaunched=$(cat "$WORKDIR/relaunch.txt" 2>/dev/null)
    relaunched=${relaunched:-no relaunch (see ec2/bootstrap.log): ec2/launch resume $KFKD_RUN_ID}
    set_status "interrupted by spot ($(cat "$WORKDIR/spot-notice")): $relaunched"
  elif [ "$rc" = 0 ]; then
    set_status "done: run folder in $KFKD_S3_RUN (verified, ec2/upload.json)"
  else
    set_status "failed at step '$STEP' (exit $rc): ${FAILURE:-see ec2/bootstrap.log}"
  fi
  upload_log
  if [ "$KFKD_SHUTDOWN" = 1 ] && [ "$uploaded" = 1 ]; then
    say "shutting down (the instance terminates)"
    shutdown -h now
  fi
  exit "$rc"
}
trap finish EXIT

: "${KFKD_RUN_ID:?}" "${KFKD_NET:?}" "${KFKD_S3_RUN:?}" "${KFKD_S3_CODE:?}" "${KFKD_BUCKET:?}"
say "bootstrap of run $KFKD_RUN_ID ($MODE mode), log $LOG"
INSTANCE_ID=$(imds meta-data/instance-id) || INSTANCE_ID=

step "aws-cli"
if ! command -v aws > /dev/null; then
  # The Deep Learning AMI has the AWS CLI; elsewhere take it from PyPI.
  if ! { python3 -m venv "$WORKDIR/awscli" && "$WORKDIR/awscli/bin/pip" install -q awscli; }; then
    fail "no AWS CLI and could not install it"
  fi
  PATH=$WORKDIR/awscli/bin:$PATH
fi
log_uploader &
LOGGER=$!

step "code"
aws s3 cp --only-show-errors "$KFKD_S3_CODE" "$WORKDIR/code.tar.gz" \
  || fail "cannot read the code tarball $KFKD_S3_CODE"
rm -rf "$SRC" && mkdir -p "$SRC" && tar -xzf "$WORKDIR/code.tar.gz" -C "$SRC"
[ -f "$SRC/ec2/install_env.sh" ] || fail "the code has no ec2/install_env.sh"

step "environment"
bash "$SRC/ec2/install_env.sh" "${INSTALL_ARGS[@]}" "$ENV" \
  || fail "ec2/install_env.sh could not install the environment"
# shellcheck source=/dev/null
source "$ENV/kfkd-env.sh"
PY=$ENV/bin/python
# KFKD_THEANO_FLAGS (optional) come last, so they win.
export THEANO_FLAGS="$THEANO_FLAGS${KFKD_THEANO_FLAGS:+,$KFKD_THEANO_FLAGS}"
say "THEANO_FLAGS=$THEANO_FLAGS KFKD_CUDNN=$KFKD_CUDNN"

step "device check"
# The net's real training function, compiled and timed before any epoch (ec2/check_device.py).
CHECK=("$KFKD_NET" --expect "$KFKD_DEVICE" --out "$SIDE" ${KFKD_EPOCHS:+--epochs "$KFKD_EPOCHS"}
       ${KFKD_PRICE_PER_HOUR:+--price-per-hour "$KFKD_PRICE_PER_HOUR"}
       ${KFKD_DEADLINE:+--deadline "$KFKD_DEADLINE"})
CHECKED=0
(cd "$SRC" && "$PY" -m ec2.check_device "${CHECK[@]}") || CHECKED=$?
if [ -f "$SIDE/device.json" ]; then
  aws s3 cp --only-show-errors "$SIDE/device.json" "$KFKD_S3_RUN/ec2/device.json" \
    || say "could not upload device.json"
fi
[ "$CHECKED" = 0 ] \
  || fail "Theano does not compute on the $KFKD_DEVICE device as it must" \
          "(see the check above): stopping before training"

step "data"
DATA_ARGS=()
case $KFKD_DATA_SOURCE in
  synthetic) DATA_ARGS=(--data synthetic) ;;
  s3)
    aws s3 cp --only-show-errors --recursive "$KFKD_S3_DATA" "$WORKDIR/data" \
      || fail "cannot read the data under $KFKD_S3_DATA"
    DATA_ARGS=(--data "$WORKDIR/data") ;;
  kaggle)
    # The token comes from SSM Parameter Store (SecureString), never from user-data.
    mkdir -p "$HOME/.kaggle" && chmod 700 "$HOME/.kaggle"
    (umask 077 && aws ssm get-parameter --with-decryption --name "$KFKD_KAGGLE_PARAMETER" \
      --query Parameter.Value --output text > "$HOME/.kaggle/kaggle.json") \
      || fail "cannot read the Kaggle token from SSM parameter $KFKD_KAGGLE_PARAMETER"
    "$PY" -m pip install -q kaggle || fail "cannot install the kaggle client"
    "$ENV/bin/kaggle" competitions download -c facial-keypoints-detection -p "$WORKDIR/data" \
      || fail "Kaggle download failed (did the account accept the competition rules?)"
    (cd "$WORKDIR/data" && python3 -m zipfile -e facial-keypoints-detection.zip .)
    DATA_ARGS=(--data "$WORKDIR/data") ;;
  *) fail "unknown data source $KFKD_DATA_SOURCE" ;;
esac

step "resume"
# A relaunched run finds the checkpoint its pointer names, verified (ec2/transfer.py).
eval "RUN_ARGS=($KFKD_ARGS)"            # the launcher shell-quoted each option
RESTORED=0
instance restore || RESTORED=$?
case $RESTORED in
  0) say "found an uploaded checkpoint: resuming from it"
     RUN_ARGS=(--resume "$RUN_DIR" ${KFKD_EPOCHS:+--epochs "$KFKD_EPOCHS"}) ;;
  3) rm -rf "$RUN_DIR"                  # files of an attempt that never checkpointed
     RUN_ARGS=("$KFKD_NET" "${RUN_ARGS[@]}" --out "$RUN_DIR") ;;
  *) fail "cannot restore the run's checkpoint from $KFKD_S3_RUN" ;;
esac

step "training"
[ -f "$SRC/run_experiment.py" ] || fail "the code has no run_experiment.py"
mkdir -p "$(dirname "$RUN_DIR")"
watch_run &
WATCHER=$!
# In the foreground (a background job would ignore SIGINT), its pid in a file
# for the watcher: SIGINT makes run_experiment.py checkpoint and stop, with exit 130
# (interrupted, resumable): after a spot notice that is the expected end, not a failure.
train_rc=0
(cd "$SRC" && bash -c 'echo $$ > "$0" && exec "$@"' "$WORKDIR/train.pid" \
  "$PY" run_experiment.py "${RUN_ARGS[@]}" "${DATA_ARGS[@]}") || train_rc=$?
if [ "$train_rc" = 130 ] && [ -f "$WORKDIR/spot-notice" ]; then
  say "training stopped at the spot notice (checkpointed; the successor resumes it)"
elif [ "$train_rc" != 0 ]; then
  fail "run_experiment.py failed (exit $train_rc)"
else
  say "training finished"
fi
