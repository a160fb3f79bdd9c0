"""The pooled report: a `cartpool.analysis.synthesis.Synthesis` rendered section by section, in the
order `cartpool.report.sections.POOLED_SECTIONS` declares.

`PooledPage.show(name, result)` renders one section's result (`cartpool.report.pooled_sections`)
and keeps it for the export step; `export()` writes every shown section's CSV files
(``tables/pooled-*.csv``) and the figures. Rendering writes nothing.
"""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from ..analysis.pooled import PooledAnalysis
from ..analysis.synthesis import Synthesis
from ..domain import registry
from . import pooled_sections as renderers
from .render import Figures, Fragment, write_csv
from .sections import POOLED_SECTIONS, TITLE, Section

SECTIONS: dict[str, Section] = {s.name: s for s in POOLED_SECTIONS}
__all__ = ["TITLE", "PooledPage", "page_budget"]


def page_budget(n_studies: int, n_forest_outcomes: int, n_summary_populations: int) -> int:
    """The most pages the pooled PDF may take: 12 for its fixed sections (bottom line, scope, risk of
    bias, methods, checks, limits, appendices), 1 per study, 1 per outcome drawn with its own forest
    plot, and 2 per population of the summary of findings (its table and footnotes). README, "What you
    get", states the same rule."""
    return 12 + n_studies + n_forest_outcomes + 2 * n_summary_populations


class PooledPage:
    """Renders the pooled synthesis.

    Parameters
    ----------
    synthesis : Synthesis or PooledAnalysis
        The computed results (a pooled analysis is wrapped in its synthesis).
    output_dir : path, optional
        Where `export` writes figures (``figures/pooled/``) and tables (``tables/pooled-*.csv``).
    """

    def __init__(self, synthesis: Synthesis | PooledAnalysis, output_dir: Path | str | None = None):
        self.synthesis = synthesis if isinstance(synthesis, Synthesis) else Synthesis(synthesis)
        self.a = self.synthesis.analysis
        self.out = Path(output_dir) if output_dir else None
        self.figures = Figures()
        self.study_labels = {sd.study.id: sd.study.label for sd in self.a.study_data}
        self.shown: dict[str, object] = {}

    @classmethod
    def load(cls, *, data_dir="data/studies", output_dir=None) -> PooledPage:
        return cls(Synthesis.load(data_dir), output_dir)

    @property
    def appraisal(self):
        return self.synthesis.appraisal

    def result(self, name: str):
        section = SECTIONS[name]
        return getattr(self.synthesis, section.result) if section.result else None

    def show(self, name: str, result=None) -> Fragment:
        """Render one section (`POOLED_SECTIONS`) from its result (computed if not given)."""
        result = self.result(name) if result is None else result
        self.shown[name] = result
        return getattr(renderers, name)(self, result)

    def render_all(self) -> Fragment:
        """Every section in the declared order (for tests and non-notebook use)."""
        return Fragment(Markup("").join(self.show(s.name) for s in POOLED_SECTIONS if s.renders))

    def export(self, output_dir: Path | str | None = None) -> None:
        """Write the CSV files of every section shown and the figures (the build's step after rendering);
        every file starts with "pooled-", by which the build owns and cleans them."""
        out = Path(output_dir) if output_dir else self.out
        if out is None:
            return
        for result in self.shown.values():
            for name, frame in (result.frames() if result is not None else {}).items():
                write_csv(frame, out / "tables" / f"pooled-{name.removeprefix('pooled-')}.csv")
        self.figures.write(out / "figures" / "pooled")

    def budget(self) -> int:
        """This report's page budget (`page_budget`)."""
        forests = sum(1 for o in registry.OUTCOMES if o.pooled
                      and any(r.k > 1 for r in self.a.outcome(o.key).groups.values()))
        return page_budget(len(self.a.study_data), forests, len(set(self.appraisal.summary["population"])))
