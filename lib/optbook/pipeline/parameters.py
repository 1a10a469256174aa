"""A chapter's parameters: parsed from its one cell tagged ``parameters`` without executing it
(papermill's contract), typed and checked before any kernel starts."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from optbook.pipeline.chapters import Chapter
from optbook.pipeline.errors import BuildError
from optbook.session import MAX_SEED, SCALES

DEFAULT_SCALE = "cpu"
PARAMETERS_TAG = "parameters"
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


@dataclass(frozen=True)
class Parameter:
    name: str
    default: object
    help: str = ""  # the assignment's trailing comment
    allowed: tuple | None = None  # from a comment like `"a" | "b"`; always SCALES for `scale`

    @property
    def type(self) -> type:
        return type(self.default)

    @property
    def help_is_allowed_list(self) -> bool:
        """The help is the allowed values alone (``"a" | "b"``); ``only V: why`` is prose to show."""
        allowed = _allowed_from_comment(self.help)
        return allowed is not None and len(allowed) > 1


def read_parameters(chapter: Chapter) -> dict[str, Parameter]:
    """The chapter's parameters, in source order, parsed from its one ``parameters`` cell."""
    import jupytext

    notebook = jupytext.read(chapter.source)
    cells = [cell for cell in notebook.cells if PARAMETERS_TAG in cell.metadata.get("tags", [])]
    if len(cells) != 1:
        raise BuildError(
            f"{chapter.source}: needs exactly one cell tagged parameters "
            f'(`# %% tags=["parameters"]`), found {len(cells)}'
        )
    try:
        return parse_parameters_cell(cells[0].source)
    except BuildError as err:
        raise BuildError(f"{chapter.source}: {err}") from None


def parse_parameters_cell(code: str) -> dict[str, Parameter]:
    """Parse ``NAME = literal  # help`` lines without executing them (papermill's contract)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise BuildError(f"parameters cell is not valid Python: {err}") from None
    comments = _trailing_comments(code)
    parameters: dict[str, Parameter] = {}
    for statement in tree.body:
        name, value_node = _assignment(statement)
        try:
            default = ast.literal_eval(value_node)
        except ValueError:
            raise BuildError(
                f"parameter {name!r} (line {statement.lineno}) must be assigned a literal, "
                f"not {ast.unparse(value_node)!r}"
            ) from None
        if name in parameters:
            raise BuildError(f"parameter {name!r} is assigned twice in the parameters cell")
        help_text = comments.get(statement.end_lineno) or comments.get(statement.lineno, "")
        parameters[name] = _make_parameter(name, default, help_text)
    return parameters


def _assignment(statement: ast.stmt) -> tuple[str, ast.expr]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        target = value = None
    if not isinstance(target, ast.Name):
        raise BuildError(
            f"the parameters cell may hold only `name = literal` lines; line {statement.lineno} "
            f"is {ast.unparse(statement)!r}"
        )
    return target.id, value


def _trailing_comments(code: str) -> dict[int, str]:
    """Line number -> text of the comment ending that line (``#`` and spaces stripped)."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    return comments


def _make_parameter(name: str, default: object, help_text: str) -> Parameter:
    allowed = SCALES if name == "scale" else _allowed_from_comment(help_text)
    if allowed is not None and default not in allowed:
        raise BuildError(
            f"parameter {name!r} defaults to {default!r}, which is not one of its allowed values "
            f"{_format_choices(allowed)}"
        )
    return Parameter(name, default, help_text, allowed)


def _allowed_from_comment(comment: str) -> tuple | None:
    """``"a" | "b" | "c"`` -> ("a", "b", "c"); ``only V: why`` -> (V,), a value a chapter cannot
    change (the book seed where its problems are fixed); anything else (prose help) -> None."""
    only = re.match(r"only (.+?):", comment)
    if only:
        try:
            return (ast.literal_eval(only.group(1).strip()),)
        except (ValueError, SyntaxError):
            return None
    parts = [part.strip() for part in comment.split("|")]
    if len(parts) < 2:
        return None
    values = []
    for part in parts:
        try:
            value = ast.literal_eval(part)
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, (str, int, float, bool, type(None))):
            return None
        values.append(value)
    return tuple(values)


def convert_value(parameter: Parameter, text: str) -> object:
    """A command-line string as a value of the parameter's type (the type of its default)."""
    kind = parameter.type
    try:
        if kind is str:
            return text
        if kind is bool:
            return _parse_bool(text)
        if kind in (int, float):
            return kind(text)
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError):
        raise BuildError(
            f"parameter {parameter.name!r} expects {_describe_type(parameter)}; got {text!r}"
        ) from None


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(text)


def _describe_type(parameter: Parameter) -> str:
    kind = parameter.type
    if kind is bool:
        return "bool (true/false/1/0/yes/no)"
    if kind in (str, int, float):
        return kind.__name__
    return f"a Python literal like its default {parameter.default!r} ({kind.__name__})"


def resolve_parameters(
    chapter: Chapter, parameters: Mapping[str, Parameter], given: Mapping[str, object]
) -> dict[str, object]:
    """Defaults overlaid with ``given``, refusing names the chapter lacks and values it forbids.

    Papermill injects unknown names silently, so a typo would otherwise run the defaults.
    """
    resolved = {name: parameter.default for name, parameter in parameters.items()}
    for name, value in given.items():
        check_known(chapter, parameters, name)
        check_value(parameters[name], value)
        resolved[name] = value
    return resolved


def parse_given_parameters(
    chapter: Chapter, parameters: Mapping[str, Parameter], pairs: Iterable[tuple[str, str]]
) -> dict[str, object]:
    """``-p NAME VALUE`` pairs as typed values (not yet checked against allowed values). A name
    given twice is refused: running the last value silently could start the wrong, long run."""
    given = {}
    for name, text in pairs:
        check_known(chapter, parameters, name)
        if name in given:
            raise BuildError(f"parameter {name!r} is given twice (-p {name} {given[name]!r} and -p {name} {text}); "
                             "give it once")
        given[name] = convert_value(parameters[name], text)
    return given


def check_known(chapter: Chapter, parameters: Mapping[str, Parameter], name: str) -> None:
    if name not in parameters:
        known = ", ".join(parameters) or "(none)"
        raise BuildError(f"chapter {chapter.id} has no parameter {name!r}; its parameters are: {known}")


def check_value(parameter: Parameter, value: object) -> None:
    if not _has_type(value, parameter.type):
        raise BuildError(f"parameter {parameter.name!r} expects {_describe_type(parameter)}; got {value!r}")
    if parameter.name == "seed" and not 0 <= value <= MAX_SEED:
        raise BuildError(f"parameter 'seed' = {value!r} is not allowed; use an integer from 0 to {MAX_SEED}")
    if parameter.allowed is not None and len(parameter.allowed) == 1 and value not in parameter.allowed:
        raise BuildError(f"parameter {parameter.name!r} = {value!r} is not allowed; {parameter.help}")
    if parameter.allowed is not None and value not in parameter.allowed:
        raise BuildError(
            f"parameter {parameter.name!r} = {value!r} is not allowed; "
            f"choose one of {_format_choices(parameter.allowed)}"
        )


def _has_type(value: object, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if kind is type(None):
        return True  # a None default says nothing about the type wanted
    return isinstance(value, kind)  # lists, tuples, dicts: the same container


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise BuildError(f"unknown scale {scale!r}; choose one of {_format_choices(SCALES)}")
    return scale


def build_parameters(chapter: Chapter, parameters: Mapping[str, Parameter], scale: str) -> dict[str, object]:
    """What ``optbook build --scale S`` runs a chapter with: its defaults, with ``scale=S``."""
    check_scale(scale)
    given = {"scale": scale} if "scale" in parameters else {}
    return resolve_parameters(chapter, parameters, given)


def _format_choices(values) -> str:
    return ", ".join(map(repr, values))
