"""SOQL text -> syntax tree (:mod:`.ast`), with Salesforce-shaped MALFORMED_QUERY errors."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from kinetic_core.emulator.errors import ApiError

from . import ast as a
from .dates import N_LITERALS, SIMPLE_LITERALS
from .grammar import soql_parser
from .messages import malformed, unexpected_token

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_COMPARE = {
    "=": a.CompareOp.EQ,
    "!=": a.CompareOp.NE,
    "<>": a.CompareOp.NE,
    "<": a.CompareOp.LT,
    "<=": a.CompareOp.LE,
    ">": a.CompareOp.GT,
    ">=": a.CompareOp.GE,
}


def parse_soql(soql: str) -> a.Query:
    """Parse one SOQL statement.

    Raises:
        ApiError: 400 MALFORMED_QUERY with the echoed query, a caret and ``unexpected token: 'X'``.

    Example:
        >>> parse_soql("select Name from Account limit 5").limit
        5
    """
    try:
        tree = soql_parser().parse(soql)
    except UnexpectedInput as exc:
        raise _syntax_error(soql, exc) from None
    root = tree.children[0]
    assert isinstance(root, Tree)
    return _Builder(soql).query(root)


def _end_pos(soql: str) -> a.Pos:
    lines = soql.split("\n")
    return len(lines), len(lines[-1]) + 1


def _syntax_error(soql: str, exc: UnexpectedInput) -> ApiError:
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            return unexpected_token(soql, _end_pos(soql), "<EOF>")
        return unexpected_token(soql, (tok.line or 1, tok.column or 1), str(tok))
    if isinstance(exc, UnexpectedCharacters):
        line = soql.split("\n")[exc.line - 1] if exc.line > 0 else soql
        rest = line[exc.column - 1 :].split()
        return unexpected_token(soql, (exc.line, exc.column), rest[0] if rest else exc.char)
    if isinstance(exc, UnexpectedEOF):
        return unexpected_token(soql, _end_pos(soql), "<EOF>")
    return malformed(soql, (1, 1), "unexpected token: '<EOF>'")  # pragma: no cover


def _pos(tok: Token) -> a.Pos:
    return (tok.line or 1, tok.column or 1)


def _first_token(node: Tree[Token] | Token) -> Token:
    if isinstance(node, Token):
        return node
    for child in node.children:
        if isinstance(child, (Tree, Token)):
            return _first_token(child)
    raise ValueError("empty node")  # pragma: no cover


class _Builder:
    """Walks the lark tree of one statement and builds :class:`ast.Query` values."""

    def __init__(self, soql: str) -> None:
        self.soql = soql

    # ---- query ------------------------------------------------------------------------------------------

    def query(self, node: Tree[Token]) -> a.Query:
        kids = node.children
        select_tok = kids[0]
        assert isinstance(select_tok, Token)
        select_list = kids[1]
        obj_tok = kids[2]
        assert isinstance(select_list, Tree)
        assert isinstance(obj_tok, Token)
        fields: dict[str, object] = {}
        for clause in kids[3:]:
            assert isinstance(clause, Tree)
            fields[str(clause.data)] = clause
        return a.Query(
            select=tuple(self.select_item(item) for item in select_list.children if isinstance(item, Tree)),
            sobject=str(obj_tok),
            sobject_pos=_pos(obj_tok),
            alias=self._alias(fields.get("alias")),
            where=self.condition(self._only(fields["where"])) if "where" in fields else None,
            group_by=self._group_by(fields.get("group_by")),
            group_kind=self._group_kind(fields.get("group_by")),
            having=self.condition(self._only(fields["having"])) if "having" in fields else None,
            order_by=self._order_by(fields.get("order_by")),
            limit=self._int_clause(fields.get("limit")),
            offset=self._int_clause(fields.get("offset")),
            offset_pos=self._clause_pos(fields.get("offset")),
            pos=_pos(select_tok),
        )

    def _only(self, clause: object) -> Tree[Token]:
        assert isinstance(clause, Tree)
        child = clause.children[0]
        assert isinstance(child, Tree)
        return child

    def _alias(self, clause: object) -> str | None:
        if clause is None:
            return None
        assert isinstance(clause, Tree)
        return str(clause.children[0])

    def _clause_pos(self, clause: object) -> a.Pos | None:
        if clause is None:
            return None
        assert isinstance(clause, Tree)
        return _pos(_first_token(clause))

    def _int_clause(self, clause: object) -> int | None:
        if clause is None:
            return None
        assert isinstance(clause, Tree)
        tok = clause.children[-1]
        assert isinstance(tok, Token)
        text = str(tok)
        if not text.isdigit():
            raise unexpected_token(self.soql, _pos(tok), text)
        return int(text)

    def _group_by(self, clause: object) -> tuple[a.GroupItem, ...]:
        if clause is None:
            return ()
        assert isinstance(clause, Tree)
        out: list[a.GroupItem] = []
        for p in clause.children:
            if isinstance(p, Tree):
                out.append(self.func_call(p) if p.data == "func_call" else self.field_path(p))
        return tuple(out)

    def _group_kind(self, clause: object) -> str | None:
        if clause is None:
            return None
        assert isinstance(clause, Tree)
        kind = next((t for t in clause.children if isinstance(t, Token) and t.type == "GROUP_SET"), None)
        return None if kind is None else str(kind).upper()

    def _order_by(self, clause: object) -> tuple[a.OrderItem, ...]:
        if clause is None:
            return ()
        assert isinstance(clause, Tree)
        items: list[a.OrderItem] = []
        for item in clause.children:
            assert isinstance(item, Tree)
            expr = self.operand(item.children[0])
            descending = False
            nulls_first: bool | None = None
            for extra in item.children[1:]:
                assert isinstance(extra, Tree)
                word = str(extra.children[0]).upper()
                if extra.data == "direction":
                    descending = word == "DESC"
                else:
                    nulls_first = word == "FIRST"
            items.append(a.OrderItem(expr, descending, nulls_first))
        return tuple(items)

    # ---- select list ------------------------------------------------------------------------------------

    def select_item(self, node: Tree[Token]) -> a.SelectItem:
        kind = node.data
        kids = node.children
        if kind == "sel_field":
            path = self.field_path(kids[0])
            return a.SelectField(path, self._alias(kids[1]) if len(kids) > 1 else None)
        if kind == "sel_agg":
            agg = self.aggregate(kids[0])
            return a.SelectAggregate(agg, self._alias(kids[1]) if len(kids) > 1 else None)
        if kind == "sel_func":
            call = self.func_call(kids[0])
            return a.SelectFunc(call, self._alias(kids[1]) if len(kids) > 1 else None)
        if kind == "sel_fields":
            scope_tok = kids[1]
            assert isinstance(scope_tok, Token)
            try:
                scope = a.FieldsScope(str(scope_tok).upper())
            except ValueError:
                raise unexpected_token(self.soql, _pos(scope_tok), str(scope_tok)) from None
            return a.SelectFields(scope, _pos(_first_token(node)))
        if kind == "sel_sub":
            sub = kids[0]
            assert isinstance(sub, Tree)
            return a.SelectSubquery(self.query(sub), _pos(_first_token(sub)))
        rel = kids[1]
        assert isinstance(rel, Token)
        return a.SelectTypeof(str(rel), _pos(_first_token(node)))

    def field_path(self, node: Tree[Token] | Token) -> a.FieldPath:
        assert isinstance(node, Tree)
        toks = [t for t in node.children if isinstance(t, Token)]
        return a.FieldPath(tuple(str(t) for t in toks), _pos(toks[0]))

    def aggregate(self, node: Tree[Token] | Token) -> a.Aggregate:
        assert isinstance(node, Tree)
        func_tok = node.children[0]
        assert isinstance(func_tok, Token)
        func = a.AggFunc(str(func_tok).upper())
        arg = self.field_path(node.children[1]) if len(node.children) > 1 else None
        if arg is None and func is not a.AggFunc.COUNT:
            raise unexpected_token(self.soql, _pos(func_tok), ")")
        return a.Aggregate(func, arg, _pos(func_tok))

    def operand(self, node: Tree[Token] | Token) -> a.Operand:
        assert isinstance(node, Tree)
        if node.data == "aggregate":
            return self.aggregate(node)
        if node.data == "func_call":
            return self.func_call(node)
        return self.field_path(node)

    def func_call(self, node: Tree[Token] | Token) -> a.FuncCall:
        assert isinstance(node, Tree)
        name_tok = node.children[0]
        assert isinstance(name_tok, Token)
        args: list[a.FuncArg] = []
        for child in node.children[1:]:
            assert isinstance(child, Tree)
            if child.data in ("string", "number"):
                lit = self.value(child)
                assert isinstance(lit, a.StringLit | a.NumberLit)
                args.append(lit)
            else:
                args.append(self.operand(child))
        return a.FuncCall(a.Func(str(name_tok).upper()), str(name_tok), tuple(args), _pos(name_tok))

    # ---- conditions -------------------------------------------------------------------------------------

    def condition(self, node: Tree[Token]) -> a.Condition:
        kind = node.data
        kids = [k for k in node.children if isinstance(k, Tree)]
        if kind == "or_cond":
            return a.Or(tuple(self.condition(k) for k in kids))
        if kind == "and_cond":
            return a.And(tuple(self.condition(k) for k in kids))
        if kind == "not_":
            return a.Not(self.condition(kids[0]))
        left = self.operand(node.children[0])
        if kind in ("compare", "like"):
            op_tok = node.children[1]
            assert isinstance(op_tok, Token)
            op = a.CompareOp.LIKE if kind == "like" else _COMPARE[str(op_tok)]
            value = node.children[2]
            assert isinstance(value, Tree)
            return a.Comparison(left, op, self.value(value))
        if kind in ("in_list", "not_in_list", "includes", "excludes"):
            values_node = kids[-1]
            values = tuple(self.value(v) for v in values_node.children if isinstance(v, Tree))
            if kind in ("includes", "excludes"):
                if not isinstance(left, a.FieldPath):
                    raise unexpected_token(self.soql, left.pos, kind.upper())
                return a.Includes(left, values, excludes=kind == "excludes")
            return a.InList(left, values, negated=kind == "not_in_list")
        sub = kids[-1]
        if not isinstance(left, a.FieldPath):
            raise unexpected_token(self.soql, left.pos, "IN")
        return a.InSubquery(left, self.query(sub), negated=kind == "not_in_query")

    def value(self, node: Tree[Token]) -> a.Literal:
        kind = node.data
        tok = node.children[0]
        assert isinstance(tok, Token)
        pos = _pos(tok)
        text = str(tok)
        if kind == "string":
            raw = text[1:-1]
            return a.StringLit(self.unescape(raw, pos), raw, pos)
        if kind == "number":
            is_float = any(c in text for c in ".eE")
            return a.NumberLit(float(text) if is_float else int(text), text, pos)
        if kind in ("true", "false"):
            return a.BoolLit(kind == "true", pos)
        if kind == "null":
            return a.NullLit(pos)
        if kind == "date":
            try:
                date.fromisoformat(text)
            except ValueError:
                raise unexpected_token(self.soql, pos, text) from None
            return a.DateLit(text, pos)
        if kind == "datetime":
            return a.DateTimeLit(self.datetime_value(text, pos), pos)
        name = text.upper()
        if kind == "date_literal":
            if name not in SIMPLE_LITERALS:
                raise unexpected_token(self.soql, pos, text)
            return a.DateRangeLit(name, None, pos)
        n_tok = node.children[1]
        assert isinstance(n_tok, Token)
        if name not in N_LITERALS or not str(n_tok).isdigit():
            raise unexpected_token(self.soql, pos, text)
        return a.DateRangeLit(name, int(str(n_tok)), pos)

    def datetime_value(self, text: str, pos: a.Pos) -> str:
        iso = text.upper()
        if iso.endswith("Z"):
            iso = iso[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(iso)
        except ValueError:
            raise unexpected_token(self.soql, pos, text) from None
        utc = parsed.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"

    def unescape(self, raw: str, pos: a.Pos) -> str:
        try:
            return unescape(raw, like=False)
        except ValueError:
            raise malformed(self.soql, pos, "Invalid string literal: illegal escape sequence") from None


def unescape(raw: str, *, like: bool) -> str:
    """Resolve SOQL backslash escapes of a string literal's body.

    With ``like=True`` the result is a SQLite LIKE pattern for ``ESCAPE '\\'``: ``\\%`` and
    ``\\_`` stay escaped wildcards and a literal backslash is doubled.

    Raises:
        ValueError: an unknown escape sequence.

    Example:
        >>> unescape(r"O\\'Brien", like=False)
        "O'Brien"
    """
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        if nxt in ("%", "_"):
            out.append("\\" + nxt if like else nxt)
            i += 2
            continue
        if nxt and nxt.lower() in _ESCAPES:
            plain = nxt if nxt in "\"'\\" else _ESCAPES[nxt.lower()]
            i += 2
        elif nxt in ("u", "U") and len(raw) >= i + 6:
            plain = chr(int(raw[i + 2 : i + 6], 16))
            i += 6
        else:
            raise ValueError(f"illegal escape sequence at {i}")
        out.append("\\\\" if like and plain == "\\" else plain)
    return "".join(out)
