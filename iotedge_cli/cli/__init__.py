"""The command-line layer: thin Typer commands that call the domain and render results."""
