"""One module per ``xborder`` subcommand."""
