"""Meeting notes: reading transcripts, storing them as documents, and their action items."""
