"""The study report: a `cartpool.analysis.study_analysis.StudyAnalysis` rendered section by section, in the
order `cartpool.report.sections.STUDY_SECTIONS` declares.

`StudyPage.show(name, result)` renders one section's result (`cartpool.report.study_renderers`) and
keeps it for the export step; `export()` writes every shown section's CSV files, the sources and
the figures. Rendering writes nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..analysis.study_analysis import StudyAnalysis, analyse_study
from . import labels, study_outcome_renderers, study_renderers
from .render import SOURCES_PER_PAGE, Citations, write_csv
from .sections import STUDY_SECTIONS, SectionPage


def page_budget(n_records: int, n_columns: int, n_figures: int, n_sources: int = 0) -> int:
    """The most pages a study's PDF may take: 5 for its fixed parts (header, glance, checks, risk of
    bias, limitations), plus 1 per 12 extracted records and per-patient columns, plus 1 per
    2 figures, plus 1 per `SOURCES_PER_PAGE` (40) entries of the sources list it prints. README, "What
    you get", states the same rule."""
    return 5 + math.ceil((n_records + n_columns) / 12 + n_figures / 2) + math.ceil(n_sources / SOURCES_PER_PAGE)


class StudyPage(SectionPage):
    """Renders one study's analysis.

    Parameters
    ----------
    analysis : StudyAnalysis
        The computed results.
    output_dir : path, optional
        Where `export` writes figures (``figures/<id>/``) and tables (``tables/<id>-*.csv``); None
        writes nothing (interactive use).
    """

    sections = STUDY_SECTIONS
    renderers = (study_renderers, study_outcome_renderers)

    def __init__(self, analysis: StudyAnalysis, output_dir: Path | str | None = None):
        super().__init__()
        self.a = self.source = analysis
        self.sd = analysis.sd
        self.s = analysis.study
        self.id = self.name = analysis.id
        self.out = Path(output_dir) if output_dir else None
        self.cites = Citations(labels.source_name(self.s))

    @classmethod
    def load(cls, study_id, *, data_dir="data/studies", output_dir=None) -> StudyPage:
        return cls(analyse_study(study_id, data_dir=data_dir), output_dir)

    def fact(self, name: str):
        """A study fact with its source, or how it is missing ("not reported", "not in the source we have")."""
        v = getattr(self.s, name, None)
        if v is None or isinstance(v, str):
            return labels.missing(v or "not reported")
        return self.cites.fact(self.sd, name, labels.fact_value(name, v.value))

    def export(self, output_dir: Path | str | None = None) -> None:
        """Write every shown section's CSV files and figures, and the sources of the numbers cited."""
        super().export(output_dir)
        out = Path(output_dir) if output_dir else self.out
        if out is not None:
            write_csv(pd.DataFrame(self.cites.entries, columns=["n", "what", "location", "quote", "note"]),
                      out / self.csv_href("sources"))

    def budget(self) -> int:
        """This report's page budget (`page_budget`), once its figures are drawn and its numbers cited
        (after `render_all`)."""
        columns = self.a.patient_fields["field"].nunique() if not self.a.patient_fields.empty else 0
        return page_budget(len(self.sd.results), columns, self.figures.n, len(self.cites.entries))
