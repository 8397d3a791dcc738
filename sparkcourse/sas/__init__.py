"""Workshop 08: SAS's procedures, printed output and DATA-step rules, in Spark (and pandas).

- `procedures`: `means`, `freq`, `crosstab` + `chisq`, `proportions_test`, `corr`;
- `printing`: `sas_table`, SAS's printed decimals;
- `data_step`: `with_first_last`, `nodupkey`, `match_merge`, `from_sas_date`;
- `files`: `write_sas7bdat`, SAS data sets for practice.
"""

from .data_step import SAS_EPOCH, from_sas_date, match_merge, nodupkey, with_first_last
from .printing import format_p, sas_table
from .procedures import MEANS_STATS, chisq, corr, crosstab, freq, means, proportions_test

__all__ = [
    "MEANS_STATS", "SAS_EPOCH", "chisq", "corr", "crosstab", "format_p", "freq", "from_sas_date",
    "match_merge", "means", "nodupkey", "proportions_test", "sas_table", "with_first_last",
]
