# scarlet-tf on CPU: `docker build -t scarlet-tf . && docker run --rm scarlet-tf quickstart`
# GPU variant: replace the base image with the official TensorFlow GPU image
# (`FROM tensorflow/tensorflow:2.21.0-gpu`), then `pip install .` the same way; the
# package's tensorflow-cpu requirement is then satisfied by the image's tensorflow
# (install with `pip install --no-deps .` followed by the remaining requirements).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /opt/scarlet-tf
COPY setup.py README.md ./
COPY scarlet_tf ./scarlet_tf
COPY cli ./cli
RUN pip install --upgrade pip && pip install .
WORKDIR /work
ENTRYPOINT ["scarlet-tf"]
CMD ["--help"]
