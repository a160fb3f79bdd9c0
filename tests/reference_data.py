"""Published data sets used as external references in the statistics tests.

Each set is copied from its public source, named beside it. The expected outputs live in the
tests, each with the R function call and the place it was published.
"""

# dat.bcg (Colditz et al. 1994), from R package metadat, data-raw/dat.colditz1994.txt:
# (tpos, tneg, cpos, cneg)
BCG = [
    (4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
    (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619), (505, 87886, 499, 87892),
    (29, 7470, 45, 7232), (17, 1699, 65, 1600), (186, 50448, 141, 27197), (5, 2493, 3, 2338),
    (27, 16886, 29, 17825),
]

# dat.nielweise2007 (Niel-Weise et al. 2007), from R package metadat,
# data-raw/dat.nielweise2007.txt: (ci, n2i, ai, n1i). The anti-infective arm (ai/n1i) has
# six studies with 0 events.
NIELWEISE2007 = [
    (3, 117, 0, 116), (3, 35, 1, 44), (9, 195, 2, 208), (7, 136, 0, 130), (6, 157, 5, 151),
    (4, 139, 1, 98), (3, 177, 1, 174), (2, 39, 1, 74), (19, 103, 1, 97), (2, 122, 1, 113),
    (7, 64, 0, 66), (1, 58, 0, 70), (5, 175, 3, 188), (11, 180, 6, 187), (0, 105, 0, 118),
    (1, 262, 0, 252), (3, 362, 1, 345), (1, 69, 4, 64),
]

# R survival's `aml` data (Miller 1981): time, status, group
AML_MAINTAINED = ([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161], [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0])
AML_NONMAINTAINED = ([5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45], [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1])
