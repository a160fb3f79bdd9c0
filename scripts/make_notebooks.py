#!/usr/bin/env python3
"""Write notebooks/study.ipynb and notebooks/pooled.ipynb, without outputs, from the cells below.

The notebooks are the analysis as a reader opens it: narrative, then one call per section into
`cartpool.report`. Edit the cells here (or the notebooks, then carry the change here) and run
`python scripts/make_notebooks.py` from the project root; the committed notebooks are its output.
"""

import nbformat as nbf
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def params(src):
    c = new_code_cell(src)
    c.metadata["tags"] = ["parameters"]
    return c


def nb(cells):
    n = new_notebook(cells=cells)
    n.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                  "language_info": {"name": "python"}}
    for i, c in enumerate(n.cells):
        c["id"] = f"c{i:02d}"
    return n

M, C = new_markdown_cell, new_code_cell
study = nb([
    params('# Parameters (papermill injects the real values as strings)\n'
           'study_id = ""  # required: a folder name under data/studies\n'
           'data_dir = "data/studies"\n'
           'output_dir = ""  # staging folder for figures/ and tables/; empty: write no files'),
    C('from cartpool.analysis.study import analyse_study\n'
      'from cartpool.report.study import StudyPage\n\n'
      '# Load and validate the study (an unknown study_id stops here with the list of known ids), then\n'
      '# compute every result once. `analysis` holds the tidy tables; `page` renders them.\n'
      'analysis = analyse_study(study_id, data_dir=data_dir)\n'
      'page = StudyPage(analysis, output_dir=output_dir or None)\n'
      'page.header()'),
    M('## Study at a glance\n\nThe number of patients (everyone enrolled where the paper gives it), the headline '
      'response and safety rates, and the median progression-free and overall survival.'),
    C('glance = analysis.glance  # one row per headline number\n'
      'page.glance()'),
    M('## Efficacy\n\nBest response by IMWG category, and the response and MRD rates with exact (Clopper-Pearson) '
      '95% confidence intervals. Each count says how it was obtained: from the per-patient table, as printed, or '
      'derived from printed numbers (a percentage of the stated population, a sum of response categories, a '
      'bound). Subgroups are shown where a per-patient table allows them.'),
    C('response = analysis.response_distribution  # best response by category\n'
      'efficacy = analysis.outcomes.query("section == \'efficacy\'")  # registered efficacy outcomes\n'
      'page.efficacy()'),
    M('## Durability\n\nRelapses, progression and continuing remission as the paper counts them, and the longest '
      'remission.'),
    C('durability = analysis.records_in("durability")  # every printed record of this kind\n'
      'page.durability()'),
    M('## Survival\n\nProgression-free and overall survival. Kaplan-Meier curves with numbers at risk are drawn '
      'where per-patient data exist. Otherwise the printed medians and landmark rates are shown, with an '
      'approximate curve only where at least two milestones are printed; such a curve is labelled as '
      'approximate and never extends beyond the last printed milestone.'),
    C('survival = analysis.survival_points  # medians and landmarks, printed and recomputed\n'
      'page.survival()'),
    M('## Treatment with and after CAR-T\n\nInduction, bridging, consolidation, maintenance, transplant and a second '
      'CAR-T infusion, with how many patients had each and how they responded; the dose and treatment status.'),
    C('co_interventions = analysis.co_interventions\n'
      'page.treatment()'),
    M('## Safety\n\nCytokine release syndrome (CRS) and neurotoxicity (ICANS) by grade with the grading scale the '
      'study used, cytopenias and infections of grade 3 or higher, and every other adverse event the paper prints.'),
    C('safety = analysis.outcomes.query("section == \'safety\'")\n'
      'crs_icans = analysis.crs_icans\n'
      'page.safety()'),
    M('### Neurological events without a grading'),
    C('page.neurological()'),
    M('### Haematological and immune effects'),
    C('page.haematological_immune()'),
    M('## Deaths\n\nAll-cause deaths (a total where the paper gives one, otherwise at least the deaths it '
      'accounts for), each printed cause, and non-relapse mortality.'),
    C('deaths = analysis.deaths\n'
      'page.deaths()'),
    M('## Pharmacokinetics\n\nCAR-T expansion (peak, time to peak, exposure) and persistence as printed.'),
    C('page.pharmacokinetics()'),
    M('## Prognostic factors\n\nFactors the paper tested for association with an outcome, with what it found.'),
    C('risk_factors = analysis.risk_factors\n'
      'page.prognostic()'),
    M('## Other numbers the paper reports'),
    C('page.other_numbers()'),
    M('## Checks against the paper\n\nEvery printed number the data allow is recomputed and compared: percentages '
      'against counts, confidence intervals against methods, medians and counts against the per-patient table, '
      'and sums that must add up. The findings come first; every check is listed in the appendix.'),
    C('checks = analysis.audit\n'
      'page.audit()'),
    M('## Patients\n\nBaseline characteristics as the paper prints them; where a per-patient table exists, the '
      'same summary is recomputed from it and shown beside.'),
    C('baseline = analysis.baseline\n'
      'page.patients()'),
    M('## Course of each patient'),
    C('page.course()'),
    M('## What the paper reports'),
    C('checklist = analysis.checklist  # what clinicians look for in a CAR-T series\n'
      'page.coverage()'),
    M('## Risk of bias'),
    C('risk_of_bias = analysis.risk_of_bias  # one row per checklist question\n'
      'page.risk_of_bias()'),
    M('## Limitations'),
    C('limitations = analysis.limitations\n'
      'page.limitations()'),
    M('## Appendix: every check against the paper'),
    C('page.audit_appendix()'),
    M('## Appendix: per-patient tables as published'),
    C('page.per_patient_tables()'),
    M('## Sources'),
    C('page.sources()'),
])
nbf.write(study, "notebooks/study.ipynb")

pooled = nb([
    params('# Parameters (papermill injects the real values)\n'
           'data_dir = "data/studies"\n'
           'output_dir = ""  # staging folder for figures/ and tables/; empty: write no files'),
    C('from cartpool.analysis.pooled import PooledAnalysis\n'
      'from cartpool.report.pooled import PooledPage\n\n'
      '# Every study, validated; the analysis plan; then every estimate, computed once.\n'
      'pooled = PooledAnalysis.load(data_dir)\n'
      'page = PooledPage(pooled, output_dir=output_dir or None)'),
    M('# CAR-T cell therapy in plasma cell leukemia: a synthesis of selected studies\n\n'
      'How patients with plasma cell leukemia (PCL) fare after CAR-T cell therapy, from the studies the curators '
      'of this report selected. Studies in multiple myeloma (MM) are shown beside them as context. Every number is '
      'computed from the data extracted from the published studies, each with its source.'),
    M('## The bottom line'),
    C('bottom_line = page.bottom_line_frame()  # one sentence per key outcome and population\n'
      'page.bottom_line()'),
    M('## What this report is, and how the studies were chosen'),
    C('page.scope()'),
    M('## Summary of findings'),
    C('summary = page.appraisal.summary  # every ranked outcome in every PCL population\n'
      'page.summary_of_findings()'),
    M('## Studies'),
    C('studies = pooled.studies  # one row per study\n'
      'page.studies()'),
    M('## Risk of bias'),
    C('risk_of_bias = page.appraisal.risk_of_bias  # one row per study and domain\n'
      'page.risk_of_bias()'),
    M('## How the studies were synthesised'),
    C('page.methods()'),
    M('## Efficacy\n\nFor each outcome: the forest plot by population, each population\'s result with its '
      'denominators and heterogeneity, the subgroups named in the plan, and what differs between the studies.'),
    C('estimates = pooled.estimates  # one row per (outcome, view, subgroup, level, analysis)\n'
      'inputs = pooled.inputs  # the counts of each study behind every row\n'
      'page.outcomes("efficacy")'),
    M('## Safety'),
    C('page.outcomes("safety")'),
    M('## Survival\n\nMedians with their 95% confidence intervals (not reached drawn as an open arrow), survival at '
      '12 and 24 months study by study (pooled only where three or more studies report it), and the curves '
      'overlaid.'),
    C('medians, landmarks = pooled.medians, pooled.landmarks\n'
      'page.survival()'),
    M('## Checks of the published numbers'),
    C('checks = pooled.audit\n'
      'page.audit_summary()'),
    M('## What this evidence cannot support'),
    C('page.limits()'),
    M('## Appendix: other outcomes'),
    C('page.summary_of_findings_appendix()'),
    M('## Appendix: GRADE judgements'),
    C('awaiting_review = page.appraisal.awaiting_review\n'
      'page.judgements()'),
    M('## Appendix: sensitivity analyses and leave-one-out'),
    C('leave_one_out = pooled.leave_one_out\n'
      'page.sensitivity()'),
    M('## Appendix: the analysis plan'),
    C('plan = pooled.plan\n'
      'page.plan_history()'),
    M('## Appendix: statistical methods'),
    C('page.statistical_methods()'),
    M('## Appendix: machine-readable results'),
    C('page.results_note()'),
])
nbf.write(pooled, "notebooks/pooled.ipynb")
