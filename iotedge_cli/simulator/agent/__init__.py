"""The simulator's agent: what edgeAgent does, on the developer's Docker engine.

``spec`` (desired modules from a manifest), ``containerspec`` (a module -> Docker's create
body) and ``reconcile`` (desired vs observed -> actions) are pure; only the runtime adapter
imports ``docker``.
"""
