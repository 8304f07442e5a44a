"""incubo.reports: research reports on learner progress that never show a real identity.

- `load`, `sources`: statements (JSON Lines or an LRS), gradebook (SQLAlchemy URL), learners file → DuckDB tables;
- `privacy`: keyed HMAC pseudonyms; `suppression`: small groups hidden, with secondary suppression;
- `stats`, `nb`: the analyses' numbers, tables and figures; `params`, `runner`: `incubo report`;
- `demo`, `demo_gradebook`, `course_shape`: `incubo demo-data`.
"""
