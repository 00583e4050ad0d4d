"""Deployment manifests: loading with positions, the model, generation and linting."""
