"""One router module per resource; ``api.app.create_app`` includes them all."""
