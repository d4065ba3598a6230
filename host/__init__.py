"""spasmwatch host side: protocol codec, transports, simulator, pipeline, storage, UI."""
