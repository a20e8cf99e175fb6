"""Open-ended answers as evidence (levels 1 and 3, and observers' notes at level 4): comments stored redacted
(`redact`), coded by a codebook's rules or by people whose agreement is measured (`codebook`, `agreement`),
candidate themes suggested for a person to name (`suggest`), and only approved quotes published.

Not a level: the levels that collect comments (reactions, organization) each report their own themes from here.
"""
