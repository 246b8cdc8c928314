"""Backends that reach a model served by another process: llama-server, or any OpenAI-compatible server."""
