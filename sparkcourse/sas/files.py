"""Write small SAS files to practise reading them (Workshop 08).

`.xpt` (SAS transport) files come from pyreadstat's public `write_xport`. pyreadstat cannot write
`.sas7bdat`, but the ReadStat C library inside it can: `write_sas7bdat` calls it through ctypes.
This is for demonstrations only; real `.sas7bdat` files come from SAS, and reading them
(`pyreadstat.read_sas7bdat`, `pandas.read_sas`) is what a migration needs.
"""

from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path

import pandas as pd

STRING, DOUBLE = 0, 5  # readstat_type_t
WRITE_BYTES = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)


@cache
def _readstat():
    import pyreadstat

    library_path = next(Path(pyreadstat.__path__[0]).glob("_readstat_writer*.so"))
    lib = ctypes.CDLL(str(library_path))
    void, text = ctypes.c_void_p, ctypes.c_char_p
    signatures = {
        "readstat_writer_init": ([], void),
        "readstat_set_data_writer": ([void, WRITE_BYTES], ctypes.c_int),
        "readstat_writer_set_file_label": ([void, text], ctypes.c_int),
        "readstat_add_variable": ([void, text, ctypes.c_int, ctypes.c_size_t], void),
        "readstat_variable_set_label": ([void, text], None),
        "readstat_begin_writing_sas7bdat": ([void, void, ctypes.c_long], ctypes.c_int),
        "readstat_begin_row": ([void], ctypes.c_int),
        "readstat_insert_double_value": ([void, void, ctypes.c_double], ctypes.c_int),
        "readstat_insert_string_value": ([void, void, text], ctypes.c_int),
        "readstat_insert_missing_value": ([void, void], ctypes.c_int),
        "readstat_end_row": ([void], ctypes.c_int),
        "readstat_end_writing": ([void], ctypes.c_int),
        "readstat_writer_free": ([void], None),
        "readstat_error_message": ([ctypes.c_int], text),
    }
    for name, (arguments, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = arguments, result
    return lib


def write_sas7bdat(frame: pd.DataFrame, path, label: str = "",
                   column_labels: dict[str, str] | None = None) -> None:
    """`frame` as a .sas7bdat file: numbers become SAS numerics (NaN becomes `.`), the rest text."""
    lib = _readstat()
    column_labels = column_labels or {}

    def ok(code: int) -> None:
        if code:
            raise OSError(f"ReadStat: {lib.readstat_error_message(code).decode()}")

    with open(path, "wb") as out:
        write = WRITE_BYTES(lambda data, size, _: out.write(ctypes.string_at(data, size)))
        writer = lib.readstat_writer_init()
        try:
            ok(lib.readstat_set_data_writer(writer, write))
            ok(lib.readstat_writer_set_file_label(writer, label.encode()))
            numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
            variables = []
            for column, is_number in zip(frame.columns, numeric, strict=True):
                width = 8 if is_number else max(1, int(frame[column].astype(str).str.len().max()))
                variable = lib.readstat_add_variable(writer, column.encode(),
                                                     DOUBLE if is_number else STRING, width)
                if column in column_labels:
                    lib.readstat_variable_set_label(variable, column_labels[column].encode())
                variables.append(variable)
            ok(lib.readstat_begin_writing_sas7bdat(writer, None, len(frame)))
            for row in frame.itertuples(index=False):
                ok(lib.readstat_begin_row(writer))
                for variable, value, is_number in zip(variables, row, numeric, strict=True):
                    if pd.isna(value):
                        ok(lib.readstat_insert_missing_value(writer, variable))
                    elif is_number:
                        ok(lib.readstat_insert_double_value(writer, variable, float(value)))
                    else:
                        ok(lib.readstat_insert_string_value(writer, variable, str(value).encode()))
                ok(lib.readstat_end_row(writer))
            ok(lib.readstat_end_writing(writer))
        finally:
            lib.readstat_writer_free(writer)

