"""HTTP and websocket service, CLI, web pages and storage."""
