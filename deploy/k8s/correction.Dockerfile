# The grading image of the region's Kubernetes Jobs (incubo grade k8s-jobs): incubo and
# bubblewrap, the same sandbox as on one machine. Build from the repository root:
#   docker build -f deploy/k8s/correction.Dockerfile -t registry.occitanie.example/incubo/correction:0.1.0 .
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap locales \
    && sed -i 's/^# fr_FR.UTF-8/fr_FR.UTF-8/' /etc/locale.gen && locale-gen \
    && rm -rf /var/lib/apt/lists/*
COPY . /tmp/incubo
RUN python3 -m pip install --no-cache-dir "/tmp/incubo[hub]" && rm -rf /tmp/incubo
ENV LANG=fr_FR.UTF-8
