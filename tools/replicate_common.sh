# Sourced by the tools/replicate*.sh scripts.
#   train_or_resume RUN STEPS SPEC [TRAIN OPTIONS...]
# trains SPEC into RUN for STEPS steps, or, where RUN already holds a run, finishes it (a no-op
# when it is done): an interrupted replication is continued by running its script again.
train_or_resume() {
  local run="$1" steps="$2"
  shift 2
  if [ -f "$run/run.json" ]; then
    build/fernn train --resume "$run" --steps "$steps"
  else
    build/fernn train "$@" --out "$run" --steps "$steps"
  fi
}
