#!/usr/bin/env bash
# The engine on a GPU, in one prepared run: bench/generation.py in bf16 at 1, 16 and 64
# requests at once, against sequential `model.generate` in the same run, for the offline
# responder, a 124M GPT-2 and a 494M model shaped like Qwen2.5-0.5B (random weights).
#
#   MODEL=var/e2e/models/responder bench/gpu.sh
#
# Then an engine step's parts (bench/engine_profile.py): the responder's with cuDNN left out of
# attention, as the engine runs, and with it kept in, and the 124M GPT-2's. The machine's own
# python3 runs it (it holds torch with CUDA). Wheels under .whl/ (this project's pinned
# transformers, say) are installed into /tmp/site first. Everything printed also goes to $OUT
# (default /tmp/parley-gpu): gpu.txt (the card), generation.txt and profile.txt. LIMIT_S and
# PROFILE_LIMIT_S bound the two parts.
set -u
OUT=${OUT:-/tmp/parley-gpu}
MODEL=${MODEL:-var/e2e/models/responder}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
if compgen -G ".whl/*.whl" >/dev/null; then
    if "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    then export PYTHONPATH=/tmp/site
    else echo "the wheels under .whl/ did not install: running on the machine's own packages"
    fi
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
"$PYTHON" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, \
    torch.cuda.get_device_name())" | tee -a "$OUT/gpu.txt"
nproc | sed 's/^/cpu cores: /' | tee -a "$OUT/gpu.txt"
timeout "${LIMIT_S:-480}" "$PYTHON" bench/generation.py --device cuda --model "$MODEL" --concurrency 1 16 64 \
    --gpt2-small --qwen2-half-b --random-concurrency 1 16 64 --no-lookup 2>&1 | tee "$OUT/generation.txt"
status=${PIPESTATUS[0]}
for args in "--model $MODEL" "--model $MODEL --cudnn-attention" "--model $MODEL --gpt2-small"; do
    echo "== bench/engine_profile.py $args" | tee -a "$OUT/profile.txt"
    timeout "${PROFILE_LIMIT_S:-70}" "$PYTHON" bench/engine_profile.py --device cuda --rows 1 16 $args 2>&1 \
        | grep -E "^(responder|GPT-2|rows|an idle|Traceback|[A-Za-z]*Error)" | tee -a "$OUT/profile.txt"
done
exit "$status"
