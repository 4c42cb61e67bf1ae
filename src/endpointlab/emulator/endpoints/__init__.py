"""Endpoint kinds (real-time, later serverless and asynchronous) behind one small interface."""
