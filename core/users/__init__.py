"""Users: who someone is (identity checks), what they may do (roles), and what they did (audit)."""
