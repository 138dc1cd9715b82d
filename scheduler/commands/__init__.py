"""The commands of `scheduler`, one module each (cli.py assembles them)."""
