"""Scaffolding: new solutions and modules from templates shipped with edgectl (offline).

``plan`` turns a template and answers into files (pure), ``render`` is the jinja2 sandbox,
``edit`` adds a module to a user's deployment template as text, and ``write`` is the only
code that touches the disk. ``actions`` strings them together for the CLI.
"""
