"""incubo.hub: JupyterHub for a room and the region (configuration, authenticators, hub services)."""
