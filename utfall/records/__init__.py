"""Records: the rules every follow-up, intervention, contract and provider obeys.

``rules`` checks a record given in interchange column names (from a form, the API or a
file) and returns its canonical form or its issues; ``canonical`` reads stored records
back in that same form. The follow-ups and registry apps write through them; the
interchange reads and writes files through them. See docs/architecture.md.
"""
