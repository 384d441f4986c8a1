"""The seed fixture corpus: a real news page, RSS and Atom feeds, and a loopback server for them."""
