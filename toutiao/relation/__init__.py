"""Follow and blacklist relations between app users (app.md E18-E23, reference-facts §5.8)."""
