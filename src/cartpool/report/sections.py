"""The pages as declared lists of sections: the one home of their order, titles and narrative.

A `Section` names what its analysis computes (an attribute of the analysis object that returns the
section's result) and the function that renders that result. From these lists come the notebooks'
cells (`scripts/make_notebooks.py`), each page's `render_all`, its contents list (the notebook's
headings), and its CSV exports (each result's `frames()`). A test checks that the committed
notebooks equal what the generator writes from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from .render import Figures, Fragment, write_csv


@dataclass(frozen=True)
class Section:
    """One section of a page.

    Attributes
    ----------
    name : str
        The section's key: the name of its renderer and of the notebook variable holding its result.
    title : str
        Its heading; empty for the page header.
    result : str
        The attribute of the analysis that returns its result; empty where it has none (sources).
    intro : str
        The narrative a reader sees under the heading (fixed text; words that depend on the
        result are written by the renderer).
    level : int
        The heading level (2, or 3 for a part of the section before it).
    note : str
        What the result holds, as the notebook cell's comment.
    """

    name: str
    title: str
    result: str = ""
    intro: str = ""
    level: int = 2
    note: str = ""
    renders: bool = True  # False: a heading and narrative only (no code cell)

    @property
    def variable(self) -> str:
        """The notebook variable that holds the result."""
        return self.result or self.name


class SectionPage:
    """A page made of declared sections: renders each section's result with its renderer, keeps the
    results shown, and exports their frames afterwards (rendering writes nothing).

    Subclasses set `sections` (the declared list), `renderers` (the modules of renderer functions,
    each a function named as its section; the first module that has it renders it),
    `source` (the object whose attributes are the sections' results), `name` (the figures folder and
    the CSV files' prefix) and `out` (the export folder, or None).
    """

    sections: tuple[Section, ...] = ()
    renderers: tuple = ()
    source = None
    name = ""
    out: Path | None = None

    def __init__(self):
        self.figures = Figures()
        self.shown: dict[str, object] = {}  # section -> the result rendered, for the export step

    def result(self, name: str):
        """The result a section renders, from the source (None for a section without one)."""
        section = next(s for s in self.sections if s.name == name)
        return getattr(self.source, section.result) if section.result else None

    def show(self, name: str, result=None) -> Fragment:
        """Render one declared section from its result (computed if not given)."""
        result = self.result(name) if result is None else result
        self.shown[name] = result
        return self.renderer(name)(self, result)

    def renderer(self, name: str):
        """The function that renders a section: the one of that name in the page's renderer modules."""
        for module in self.renderers:
            if hasattr(module, name):
                return getattr(module, name)
        raise LookupError(f"no renderer for section {name!r} in {', '.join(m.__name__ for m in self.renderers)}")

    def render_all(self) -> Fragment:
        """Every section in the declared order (for tests and non-notebook use)."""
        return Fragment(Markup("").join(self.show(s.name) for s in self.sections if s.renders))

    def csv_href(self, csv: str) -> str:
        """The page-relative address of one of its CSV files (`csv`: a result's frame name, as
        `frames()` names it), written by `export`; relative, so that links survive copying the
        reports folder."""
        return f"tables/{self.name}-{csv.removeprefix(self.name + '-')}.csv"

    def export(self, output_dir: Path | str | None = None) -> None:
        """Write the CSV files of every section shown (``tables/<name>-<csv>.csv``) and the figures
        (``figures/<name>/``), into `output_dir` or the page's folder (nothing where there is none)."""
        out = Path(output_dir) if output_dir else self.out
        if out is None:
            return
        for result in self.shown.values():
            for csv, frame in (result.frames() if result is not None else {}).items():
                write_csv(frame, out / self.csv_href(csv))
        self.figures.write(out / "figures" / self.name)


STUDY_SECTIONS: tuple[Section, ...] = (
    Section("header", "", "header", note="the study's facts, populations, follow-up and links"),
    Section("glance", "Study at a glance", "glance",
            "The number of patients (everyone enrolled where the paper gives it), the headline response and safety "
            "rates, and the median progression-free and overall survival.", note="one row per headline number"),
    Section("efficacy", "Efficacy", "efficacy",
            "Best response by IMWG category, and the response and MRD rates with exact (Clopper-Pearson) 95% "
            "confidence intervals. Each count says how it was obtained: from the per-patient table, as printed, or "
            "derived from printed numbers (a percentage of the stated population, a sum of response categories, a "
            "bound). Subgroups are shown where a per-patient table allows them.",
            note="response by category, outcomes with exact CIs, subgroups, other numbers as printed"),
    Section("durability", "Durability", "durability",
            "Relapses, progression and continuing remission as the paper counts them, and the longest remission.",
            note="every record of this kind as printed, and the per-patient columns"),
    Section("survival", "Survival", "survival",
            "Progression-free and overall survival. Kaplan-Meier curves with numbers at risk are drawn where "
            "per-patient data exist. Otherwise the printed medians and landmark rates are shown, with an approximate "
            "curve only where at least two milestones are printed; such a curve is labelled as approximate and "
            "never extends beyond the last printed milestone.",
            note="medians and landmarks printed and recomputed, Kaplan-Meier fits"),
    Section("treatment", "Treatment with and after CAR-T", "treatment",
            "Induction, bridging, consolidation, maintenance, transplant and a second CAR-T infusion, with how many "
            "patients had each and how they responded; the dose and treatment status.",
            note="co-interventions, records as printed, per-patient columns"),
    Section("safety", "Safety", "safety",
            "Cytokine release syndrome (CRS) and neurotoxicity (ICANS) by grade with the grading scale the study "
            "used, cytopenias and infections of grade 3 or higher, and every other adverse event the paper prints.",
            note="CRS and ICANS by grade, other outcomes, the grade grid"),
    Section("neurological", "Neurological events without a grading", "neurological", level=3,
            note="unclassified neurological events as printed"),
    Section("haematological_immune", "Haematological and immune effects", "haematological_immune", level=3,
            note="ICAHT on its own scale, B-cell aplasia, hypogammaglobulinaemia"),
    Section("deaths", "Deaths", "deaths",
            "All-cause deaths (a total where the paper gives one, otherwise at least the deaths it accounts for), "
            "each printed cause, and non-relapse mortality.", note="the all-cause total and each printed death"),
    Section("pharmacokinetics", "Pharmacokinetics", "pharmacokinetics",
            "CAR-T expansion (peak, time to peak, exposure) and persistence as printed."),
    Section("prognostic", "Prognostic factors", "prognostic",
            "Factors the paper tested for association with an outcome, with what it found."),
    Section("other_numbers", "Other numbers the paper reports", "other_numbers"),
    Section("audit", "Checks against the paper", "audit",
            "Every printed number the data allow is recomputed and compared: percentages against counts, "
            "confidence intervals against methods, medians and counts against the per-patient table, and sums that "
            "must add up. The findings come first; every check is listed in the appendix.",
            note="one row per check"),
    Section("patients", "Patients", "patients",
            "Baseline characteristics as the paper prints them; where a per-patient table exists, the same summary "
            "is recomputed from it and shown beside.", note="baseline characteristics, printed and recomputed"),
    Section("course", "Course of each patient", "course"),
    Section("coverage", "What the paper reports", "coverage",
            note="what clinicians look for in a CAR-T series, given or missing"),
    Section("risk_of_bias", "Risk of bias", "risk_of_bias", note="one row per domain"),
    Section("limitations", "Limitations", "limitations"),
    Section("audit_appendix", "Appendix: every check against the paper", "audit"),
    Section("per_patient_tables", "Appendix: per-patient tables as published", "per_patient_tables"),
    Section("sources", "Sources"),
)


TITLE = "CAR-T cell therapy in plasma cell leukemia: a synthesis of selected studies"

POOLED_SECTIONS: tuple[Section, ...] = (
    Section("intro", TITLE, level=1, renders=False,
            intro="How patients with plasma cell leukemia (PCL) fare after CAR-T cell therapy, from the studies the "
                  "curators of this report selected. Studies in multiple myeloma (MM) are shown beside them as "
                  "context. Every number is computed from the data extracted from the published studies, each with "
                  "its source."),
    Section("bottom_line", "The bottom line", "bottom_line", note="one sentence per key outcome and population"),
    Section("whats_new", "What's new", "whats_new",
            "What changed since the latest release of this review, computed from the data: studies added, removed or "
            "updated, every estimate that moved with its value before and after, whether the change changes the "
            "conclusions, and the GRADE judgements awaiting review; then every release.",
            note="studies, estimates that moved, judgements awaiting review, the version history"),
    Section("scope", "What this report is, and how the studies were chosen", "scope"),
    Section("summary_of_findings", "Summary of findings", "summary_of_findings",
            note="every ranked outcome in every PCL population"),
    Section("studies", "Studies", "studies", note="one row per study"),
    Section("risk_of_bias", "Risk of bias", "risk_of_bias", note="one row per study and domain"),
    Section("methods", "How the studies were synthesised", "methods"),
    Section("efficacy", "Efficacy", "efficacy",
            "For each outcome: the forest plot by population, each population's result with its denominators and "
            "heterogeneity, the subgroups named in the plan, and what differs between the studies.",
            note="each outcome's pooled result by population"),
    Section("safety", "Safety", "safety"),
    Section("survival", "Survival", "survival",
            "Medians with their 95% confidence intervals (not reached drawn as an open arrow), survival at 12 and 24 "
            "months study by study (pooled only where three or more studies report it), and the curves overlaid.",
            note="medians, landmarks and the curves of each study"),
    Section("cumulative", "Cumulative meta-analysis", "cumulative",
            "For each key outcome in each population with plasma cell leukemia: the studies in the order they were "
            "published, each row the estimate from every study published up to it, by the same rules as the main "
            "analysis. The last row is the main analysis.", note="one row per study added, one reading per outcome"),
    Section("update_triggers", "When would the answer change?", "update_triggers",
            "For each key outcome: the new study that would change the certainty of the evidence, and the rate in a "
            "new study that would move its estimate, computed from the model.",
            note="one row per key outcome and population"),
    Section("audit", "Checks of the published numbers", "audit", note="every check of every study"),
    Section("limits", "What this evidence cannot support", "limits"),
    Section("summary_of_findings_appendix", "Appendix: other outcomes", "summary_of_findings"),
    Section("judgements", "Appendix: GRADE judgements", "judgements",
            note="each domain's proposal and the reviewer's judgement"),
    Section("sensitivity", "Appendix: sensitivity analyses and leave-one-out", "sensitivity"),
    Section("plan_history", "Appendix: the analysis plan", "plan_history"),
    Section("statistical_methods", "Appendix: statistical methods", "statistical_methods"),
    Section("living_methods", "Releases, the cumulative analysis and the update triggers", level=3),
    Section("results_note", "Appendix: machine-readable results", "results",
            note="every estimate and the inputs behind it"),
    Section("sources", "Appendix: sources of the numbers"),
)
