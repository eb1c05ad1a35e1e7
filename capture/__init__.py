"""Camera sources, faces, quality checks, card photos and face templates (the capture issue). No Qt."""
