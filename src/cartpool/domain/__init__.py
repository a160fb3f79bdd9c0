"""Domain rules: what the field means by a response, a grade band, the main population, a count
obtained from a printed record, a headline median, an approximate survival curve.

Each rule lives here once. The data layer below knows only what a paper printed; the analysis
layer above applies these rules to studies and calls `cartpool.stats` for the numerics. This
package imports nothing above `cartpool.data`.
"""
