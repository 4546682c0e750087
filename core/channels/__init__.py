"""Channels opted into indexing: who may opt them in, their messages as documents, backfill, membership."""
