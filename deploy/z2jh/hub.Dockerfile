# The hub image of the region: Zero to JupyterHub's hub image with incubo (and its hub extra:
# oauthenticator, PyJWT, psycopg2) installed, so hub.extraConfig can call incubo.hub.config.configure.
# Build from the repository root:
#   docker build -f deploy/z2jh/hub.Dockerfile -t registry.occitanie.example/incubo/hub:0.1.0 .
# Keep the base image's tag equal to the chart version you deploy.
FROM quay.io/jupyterhub/k8s-hub:4.2.0
USER root
COPY . /tmp/incubo
RUN python3 -m pip install --no-cache-dir "/tmp/incubo[hub]" && rm -rf /tmp/incubo
USER ${NB_USER}
