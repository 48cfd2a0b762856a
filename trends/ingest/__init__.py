"""Ingest, one module per stage, in the order a post meets them.

fetch (with safety: which addresses may be fetched) → parse → normalise (with text) → dedup
(copies) and stories (one story across outlets) → summarise → tag (llm, optional) → store.
`pipeline` runs the stages for each due feed; `schedule` and `health` decide when a feed is
due next and how its failures are counted; `workers` parses big polls in worker processes.
"""
