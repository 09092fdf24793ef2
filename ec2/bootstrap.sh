#!/bin/bash
# User-data of a kfkd training instance (ec2/launcher.py writes the settings
# in at the CONFIG line). Log: /var/log/kfkd-bootstrap.log, copied to
# S3 as RUN/ec2/bootstrap.log; progress in RUN/ec2/status.txt.
# Offline check: bash ec2/bootstrap.sh --cpu --workdir DIR (settings from KFKD_*
# variables; pip instead of conda, device=cpu, never shuts the machine down).
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

: "${KFKD_RUN_ID:?}" "${KFKD_NET:?}" "${KFKD_S3_RUN:?}" "${KFKD_S3_CODE:?}"
KFKD_ARGS=${KFKD_ARGS:-}
KFKD_S3_DATA=${KFKD_S3_DATA:-}
KFKD_DATA_SOURCE=${KFKD_DATA_SOURCE:-s3}
KFKD_KAGGLE_PARAMETER=${KFKD_KAGGLE_PARAMETER:-}
KFKD_SHUTDOWN=${KFKD_SHUTDOWN:-1}
KFKD_POLL_SECONDS=${KFKD_POLL_SECONDS:-5}
KFKD_REGION=${KFKD_REGION:-}
KFKD_EPOCHS=${KFKD_EPOCHS:-}
rm -f "$WORKDIR/spot-notice" "$WORKDIR/train.pid"
if [ "$MODE" = cpu ]; then
  KFKD_SHUTDOWN=0                       # never power off a developer's machine
  KFKD_IMDS=${KFKD_IMDS:-}              # no instance metadata off EC2
  LOG=$WORKDIR/bootstrap.log
else
  KFKD_IMDS=${KFKD_IMDS:-http://169.254.169.254}
  LOG=/var/log/kfkd-bootstrap.log
fi
if [ -n "$KFKD_REGION" ]; then export AWS_DEFAULT_REGION=$KFKD_REGION; fi
export HOME=${HOME:-/root}                # cloud-init may run user-data without one

mkdir -p "$WORKDIR"
exec > >(tee -a "$LOG") 2>&1
SRC=$WORKDIR/src
RUN_DIR=$WORKDIR/runs/$KFKD_RUN_ID
STEP=start
FAILURE=

say() { echo "[kfkd $(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"; }

set_status() {
  say "status: $*"
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" > "$WORKDIR/status.txt"
  aws s3 cp --only-show-errors "$WORKDIR/status.txt" "$KFKD_S3_RUN/ec2/status.txt" || true
}

step() { STEP=$1; set_status "running: $1"; }

fail() { FAILURE=$*; say "ERROR: $*"; exit 1; }

upload_run() {
  if [ -d "$RUN_DIR" ]; then
    aws s3 sync --only-show-errors "$RUN_DIR" "$KFKD_S3_RUN" || say "upload failed (will retry)"
  fi
}

upload_log() { aws s3 cp --only-show-errors "$LOG" "$KFKD_S3_RUN/ec2/bootstrap.log" || true; }

# Uploads the run folder whenever its checkpoint changes, and at once on a
# spot interruption notice (IMDSv2: token first, then the notice).
watch_run() {
  set +e                                # a failed poll must not end the watcher
  local last='' now token action noticed=0
  while sleep "$KFKD_POLL_SECONDS"; do
    now=$(find "$RUN_DIR/checkpoint" -type f -printf '%T@ %s %p\n' 2>/dev/null | sort | tail -n 1)
    if [ -n "$now" ] && [ "$now" != "$last" ]; then
      sleep 1                           # let the checkpoint writer finish
      last=$now
      say "checkpoint changed: uploading"
      upload_run
    fi
    if [ -z "$KFKD_IMDS" ] || [ "$noticed" != 0 ]; then continue; fi
    token=$(curl -fsS -m 2 -X PUT "$KFKD_IMDS/latest/api/token" \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' 2>/dev/null) || continue
    if action=$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" \
        "$KFKD_IMDS/latest/meta-data/spot/instance-action" 2>/dev/null); then
      noticed=1
      say "spot interruption notice: $action; checkpointing and uploading now"
      echo "$action" > "$WORKDIR/spot-notice"
      upload_run                        # the last checkpoint, at once
      if [ -f "$WORKDIR/train.pid" ]; then kill -INT "$(cat "$WORKDIR/train.pid")" || true; fi
    fi
  done
}

finish() {
  local rc=$?
  set +e
  if [ -n "${WATCHER:-}" ]; then kill "$WATCHER" 2>/dev/null; wait "$WATCHER" 2>/dev/null; fi
  upload_run
  if [ -f "$WORKDIR/spot-notice" ]; then
    set_status "interrupted by spot ($(cat "$WORKDIR/spot-notice")): relaunch with ec2/launch resume $KFKD_RUN_ID"
  elif [ "$rc" = 0 ]; then
    set_status "done: run folder in $KFKD_S3_RUN"
  else
    set_status "failed at step '$STEP' (exit $rc): ${FAILURE:-see ec2/bootstrap.log}"
  fi
  upload_log
  if [ "$KFKD_SHUTDOWN" = 1 ]; then
    say "shutting down (the instance terminates)"
    shutdown -h now
  fi
}
trap finish EXIT

say "bootstrap of run $KFKD_RUN_ID ($MODE mode), log $LOG"

step "aws-cli"
if ! command -v aws > /dev/null; then
  # The Deep Learning AMI has the AWS CLI; elsewhere take it from PyPI.
  if ! { python3 -m venv "$WORKDIR/awscli" && "$WORKDIR/awscli/bin/pip" install -q awscli; }; then
    fail "no AWS CLI and could not install it"
  fi
  PATH=$WORKDIR/awscli/bin:$PATH
fi

step "code"
aws s3 cp --only-show-errors "$KFKD_S3_CODE" "$WORKDIR/code.tar.gz" \
  || fail "cannot read the code tarball $KFKD_S3_CODE"
rm -rf "$SRC" && mkdir -p "$SRC" && tar -xzf "$WORKDIR/code.tar.gz" -C "$SRC"
[ -f "$SRC/requirements.txt" ] || fail "the code has no requirements.txt"

step "environment"
if [ "$MODE" = gpu ]; then
  CONDA=$WORKDIR/miniforge
  if [ ! -x "$CONDA/bin/conda" ]; then
    curl -fsSL -o "$WORKDIR/miniforge.sh" \
      https://github.com/conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-x86_64.sh \
      || fail "cannot download Miniforge"
    bash "$WORKDIR/miniforge.sh" -b -p "$CONDA" || fail "Miniforge did not install"
  fi
  ENV=$WORKDIR/env
  if [ ! -x "$ENV/bin/python" ]; then
    "$CONDA/bin/conda" env create -q -p "$ENV" -f "$SRC/ec2/environment.yml" \
      || fail "conda could not create the environment of ec2/environment.yml"
  fi
  PY=$ENV/bin/python
  export LD_LIBRARY_PATH=$ENV/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  DEVICE=cuda
  FLAGS="dnn.include_path=$ENV/include,dnn.library_path=$ENV/lib"
else
  ENV=$WORKDIR/venv
  if [ ! -x "$ENV/bin/python" ]; then
    "${KFKD_BASE_PYTHON:-python3}" -m venv "$ENV" || fail "cannot create a venv"
  fi
  PY=$ENV/bin/python
  DEVICE=cpu
  FLAGS=
fi
"$PY" -m pip install -q -r "$SRC/requirements.txt" \
  || fail "pip install -r requirements.txt failed"
# KFKD_THEANO_FLAGS (optional) come last, so they win.
export THEANO_FLAGS="device=$DEVICE,floatX=float32,base_compiledir=$WORKDIR/theano${FLAGS:+,$FLAGS}${KFKD_THEANO_FLAGS:+,$KFKD_THEANO_FLAGS}"
say "THEANO_FLAGS=$THEANO_FLAGS"

step "device check"
(cd "$SRC" && "$PY" -m ec2.check_device --expect "$DEVICE") \
  || fail "Theano does not compute on the $DEVICE device (see the check above): stopping before training"

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
# A relaunched run (ec2/launch resume) finds its last uploaded checkpoint.
aws s3 sync --only-show-errors "$KFKD_S3_RUN" "$RUN_DIR" --exclude 'ec2/*' \
  || fail "cannot read $KFKD_S3_RUN"
eval "RUN_ARGS=($KFKD_ARGS)"            # the launcher shell-quoted each option
if [ -f "$RUN_DIR/checkpoint/history.json" ] || [ -f "$RUN_DIR/checkpoint.old/history.json" ]; then
  say "found an uploaded checkpoint: resuming from it"
  RUN_ARGS=(--resume "$RUN_DIR" ${KFKD_EPOCHS:+--epochs "$KFKD_EPOCHS"})
else
  rm -rf "$RUN_DIR"                     # files of an attempt that never checkpointed
  RUN_ARGS=("$KFKD_NET" "${RUN_ARGS[@]}" --out "$RUN_DIR")
fi

step "training"
[ -f "$SRC/run_experiment.py" ] || fail "the code has no run_experiment.py"
mkdir -p "$(dirname "$RUN_DIR")"
watch_run &
WATCHER=$!
# In the foreground (a background job would ignore SIGINT), its pid in a file
# for the watcher: SIGINT makes run_experiment.py checkpoint and stop.
(cd "$SRC" && bash -c 'echo $$ > "$0" && exec "$@"' "$WORKDIR/train.pid" \
  "$PY" run_experiment.py "${RUN_ARGS[@]}" "${DATA_ARGS[@]}") || fail "run_experiment.py failed"
STEP=upload
say "training finished"
