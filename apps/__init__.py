"""incubo.apps: the code of the Voila apps for agents who do not code (explorer, quiz of the day,
dashboard, my progress). The notebooks under notebooks/apps/ stay thin and call this package."""
