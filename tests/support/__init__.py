"""What the tests share: one feed builder, one archive fixture's contents, the bot harness,
chat helpers and delivery helpers. Tests import from here, never from each other."""
