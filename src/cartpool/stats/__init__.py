"""Pure numerics: proportions, meta-analysis, survival. Knows no study files, figures or pipeline."""
