"""The pooled report: a `cartpool.analysis.synthesis.Synthesis` rendered section by section, in the
order `cartpool.report.sections.POOLED_SECTIONS` declares.

`PooledPage.show(name, result)` renders one section's result (`cartpool.report.pooled_renderers`)
and keeps it for the export step; `export()` writes every shown section's CSV files
(``tables/pooled-*.csv``) and the figures. Rendering writes nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..analysis.pooled_analysis import PooledAnalysis
from ..analysis.synthesis import Synthesis
from ..domain import registry
from . import living_renderers, outcome_renderers, pooled_renderers, survival_renderers
from .render import SOURCES_PER_PAGE, Citations, write_csv
from .sections import POOLED_SECTIONS, TITLE, SectionPage

__all__ = ["TITLE", "PooledPage", "page_budget"]


def page_budget(n_studies: int, n_forest_outcomes: int, n_summary_populations: int, n_sources: int = 0) -> int:
    """The most pages the pooled PDF may take: 14 for its fixed sections (bottom line, What's new and
    the version history, scope, risk of bias, methods, checks, limits, appendices), 1 per study, 1 per
    outcome drawn with its own forest plot, 4 per population of the summary of findings (its table
    and footnotes; its cumulative meta-analysis and when the answer would change), and 1 per
    `SOURCES_PER_PAGE` (40) entries of the sources list it prints. README, "What you get", states the
    same rule."""
    return (14 + n_studies + n_forest_outcomes + 4 * n_summary_populations
            + math.ceil(n_sources / SOURCES_PER_PAGE))


class PooledPage(SectionPage):
    """Renders the pooled synthesis.

    Parameters
    ----------
    synthesis : Synthesis or PooledAnalysis
        The computed results (a pooled analysis is wrapped in its synthesis).
    output_dir : path, optional
        Where `export` writes figures (``figures/pooled/``) and tables (``tables/pooled-*.csv``; the
        build owns and cleans the page's files by that prefix).
    """

    sections = POOLED_SECTIONS
    renderers = (pooled_renderers, outcome_renderers, survival_renderers, living_renderers)
    name = "pooled"

    def __init__(self, synthesis: Synthesis | PooledAnalysis, output_dir: Path | str | None = None):
        super().__init__()
        self.synthesis = self.source = synthesis if isinstance(synthesis, Synthesis) else Synthesis(synthesis)
        self.a = self.synthesis.analysis
        self.figures.store = self.a.store  # the build's result store: unchanged figures are not redrawn
        self.out = Path(output_dir) if output_dir else None
        self.study_labels = {sd.study.id: sd.study.label for sd in self.a.study_data}
        self.study_data = {sd.study.id: sd for sd in self.a.study_data}
        self.cites = Citations("", several=True)  # each entry names its study's document

    def export(self, output_dir: Path | str | None = None) -> None:
        """Write every shown section's CSV files and figures, and the sources of the numbers cited."""
        super().export(output_dir)
        out = Path(output_dir) if output_dir else self.out
        if out is not None:
            write_csv(pd.DataFrame(self.cites.entries, columns=["n", "source", "what", "location", "quote", "note"]),
                      out / self.csv_href("sources"))

    @classmethod
    def load(cls, *, data_dir="data/studies", output_dir=None) -> PooledPage:
        return cls(Synthesis.load(data_dir), output_dir)

    @property
    def appraisal(self):
        return self.synthesis.appraisal

    def budget(self) -> int:
        """This report's page budget (`page_budget`), once its numbers are cited (after `render_all`)."""
        forests = sum(1 for o in registry.OUTCOMES if o.pooled
                      and any(r.k > 1 for r in self.a.outcome(o.key).groups.values()))
        return page_budget(len(self.a.study_data), forests, len(set(self.appraisal.summary["population"])),
                           len(self.cites.entries))
