"""The book's pipeline: chapters found (:mod:`.chapters`), their parameters parsed and checked
(:mod:`.parameters`), executed by papermill and stamped (:mod:`.execution`, :mod:`.stamps`), swept
over parameter grids on Dask (:mod:`.sweeps`), and rendered into pages, the claims ledger and
HTML (:mod:`.page`, :mod:`.ledger`, :mod:`.site`). The ``optbook`` command is :mod:`.cli`.

It sits above the science: it imports the library (claims, data, session), and nothing in the
library imports it.
"""

from optbook.pipeline.chapters import Chapter, discover_chapters, executed_dir, find_chapter, shown_path
from optbook.pipeline.errors import BuildError, ChapterFailed
from optbook.pipeline.execution import (KERNEL_NAME, check_output_path, execute_chapter, failed_path,
                                        refresh_page)
from optbook.pipeline.parameters import (DEFAULT_SCALE, Parameter, build_parameters, check_scale,
                                         convert_value, parse_given_parameters, parse_parameters_cell,
                                         read_parameters, resolve_parameters)
from optbook.pipeline.site import jupyter_book_command, render_claims_ledger, render_html
from optbook.pipeline.stamps import (STAMP_KEY, library_sha256, make_stamp, read_stamp, source_sha256,
                                     stale_reasons, torch_version)

__all__ = [
    "BuildError", "Chapter", "ChapterFailed", "DEFAULT_SCALE", "KERNEL_NAME", "Parameter", "STAMP_KEY",
    "build_parameters", "check_output_path", "check_scale", "convert_value", "discover_chapters",
    "execute_chapter", "executed_dir", "failed_path", "find_chapter", "jupyter_book_command",
    "library_sha256", "make_stamp", "parse_given_parameters", "parse_parameters_cell", "read_parameters",
    "read_stamp", "refresh_page", "render_claims_ledger", "render_html", "resolve_parameters",
    "shown_path", "source_sha256", "stale_reasons", "torch_version",
]
