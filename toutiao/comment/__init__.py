"""Comments and replies on articles, and comment likes (app.md E47-E50)."""
