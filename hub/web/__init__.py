"""The operator surface: the HTTP API, the web console and the metrics endpoint, served by
``hub run`` (see ``hub.web.server``)."""
