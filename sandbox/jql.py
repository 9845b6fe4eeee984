"""JQL syntax: a tokenizer and a recursive-descent parser producing a small AST.

Grammar (keywords are case-insensitive)::

    query    := [or_expr] [ORDER BY sort ("," sort)*] EOF
    or_expr  := and_expr ((OR | "||" | "|") and_expr)*
    and_expr := not_expr ((AND | "&&" | "&") not_expr)*
    not_expr := (NOT | "!") not_expr | "(" or_expr ")" | clause
    clause   := field operator operand
    operator := "=" | "!=" | "~" | "!~" | "<" | "<=" | ">" | ">=" | IN | NOT IN | IS | IS NOT
    operand  := EMPTY | NULL | value | function | "(" operand ("," operand)* ")"
    function := word "(" [value ("," value)*] ")"
    sort     := field [ASC | DESC]

Syntax errors raise :class:`JqlSyntaxError` whose message mimics Jira's wording,
including the ``(line L, character C)`` position. Meaning (fields, values) is checked by
:mod:`jiraplug.sandbox.jql_eval`.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

__all__ = [
    "JqlError",
    "JqlSyntaxError",
    "Token",
    "tokenize",
    "Value",
    "Function",
    "ListOperand",
    "EmptyOperand",
    "Operand",
    "Clause",
    "And",
    "Or",
    "Not",
    "Node",
    "SortKey",
    "Query",
    "parse",
]

_OPERATORS_TEXT = ("'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'")
_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC", "WAS", "CHANGED"}
#: Characters that end an unquoted word.
_STOP = set(" \t\r\n\"'=!<>()~,&|")
#: Characters Jira reserves: they must be quoted (or escaped) in a value.
_RESERVED = set("{}%^;`")


class JqlError(Exception):
    """A JQL problem Jira reports as 400; ``messages`` become ``errorMessages``."""

    def __init__(self, messages: list[str] | str) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(self.messages))


class JqlSyntaxError(JqlError):
    """A tokenizer or parser error ("Error in the JQL Query: ...")."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Error in the JQL Query: {detail}")


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class Token:
    """A lexical token; ``kind`` is WORD, STRING, OP, LPAREN, RPAREN, COMMA, AND, OR, NOT or EOF."""

    kind: str
    text: str
    pos: int = dc_field(compare=False)

    @property
    def keyword(self) -> str | None:
        """The upper-cased keyword if this is an unquoted keyword, else ``None``."""
        if self.kind == "WORD" and self.text.upper() in _KEYWORDS:
            return self.text.upper()
        return None


def _where(source: str, pos: int) -> str:
    line = source.count("\n", 0, pos) + 1
    column = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return f"(line {line}, character {column})"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", " ": " "}


def _read_string(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    i = start + 1
    out: list[str] = []
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            nxt = source[i + 1: i + 2]
            if nxt == "u" and len(source) >= i + 6:
                try:
                    out.append(chr(int(source[i + 2: i + 6], 16)))
                    i += 6
                    continue
                except ValueError:
                    pass
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            raise JqlSyntaxError(f"Illegal escape sequence '\\{nxt}' in the string. {_where(source, i)}")
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise JqlSyntaxError(f"The quoted string '{''.join(out)}' has not been completed. {_where(source, start)}")


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens (the last one is always EOF)."""
    tokens: list[Token] = []
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        two = source[i: i + 2]
        if ch in "\"'":
            text, end = _read_string(source, i)
            tokens.append(Token("STRING", text, i))
            i = end
        elif two in ("!=", "<=", ">=", "!~"):
            tokens.append(Token("OP", two, i))
            i += 2
        elif two == "&&":
            tokens.append(Token("AND", two, i))
            i += 2
        elif two == "||":
            tokens.append(Token("OR", two, i))
            i += 2
        elif ch in "=<>~":
            tokens.append(Token("OP", ch, i))
            i += 1
        elif ch == "&":
            tokens.append(Token("AND", ch, i))
            i += 1
        elif ch == "|":
            tokens.append(Token("OR", ch, i))
            i += 1
        elif ch == "!":
            tokens.append(Token("NOT", ch, i))
            i += 1
        elif ch == "(":
            tokens.append(Token("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("RPAREN", ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token("COMMA", ch, i))
            i += 1
        elif ch in _RESERVED:
            raise JqlSyntaxError(
                f"The character '{ch}' is a reserved JQL character. You must enclose it in a string or use the "
                f"escape '\\u{ord(ch):04x}' instead. {_where(source, i)}")
        else:
            start = i
            while i < n and source[i] not in _STOP and not source[i].isspace():
                if source[i] in _RESERVED:
                    raise JqlSyntaxError(
                        f"The character '{source[i]}' is a reserved JQL character. You must enclose it in a "
                        f"string or use the escape '\\u{ord(source[i]):04x}' instead. {_where(source, i)}")
                i += 1
            tokens.append(Token("WORD", source[start:i], start))
    tokens.append(Token("EOF", "", n))
    return tokens


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Value:
    """A literal operand; ``quoted`` tells ``"foo"`` from ``foo``."""

    text: str
    quoted: bool
    pos: int = dc_field(compare=False)


@dataclass(frozen=True, slots=True)
class Function:
    """A function operand such as ``currentUser()`` or ``startOfDay(-1d)``."""

    name: str
    args: tuple[str, ...]
    pos: int = dc_field(compare=False)


@dataclass(frozen=True, slots=True)
class EmptyOperand:
    """``EMPTY`` or ``NULL``."""

    pos: int = dc_field(compare=False)


@dataclass(frozen=True, slots=True)
class ListOperand:
    """A parenthesised list of operands (for ``IN`` / ``NOT IN``)."""

    items: tuple[Operand, ...]
    pos: int = dc_field(compare=False)


Operand = Value | Function | EmptyOperand | ListOperand


@dataclass(frozen=True, slots=True)
class Clause:
    """``field operator operand``; ``operator`` is upper-cased (``NOT IN``, ``IS NOT``, ...)."""

    field: str
    operator: str
    operand: Operand
    pos: int = dc_field(compare=False)


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    child: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True, slots=True)
class SortKey:
    """One ``ORDER BY`` item; ``direction`` is ``ASC``, ``DESC`` or ``None`` (field default)."""

    field: str
    direction: str | None
    pos: int = dc_field(compare=False)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: an optional condition and the sort keys."""

    where: Node | None
    order_by: tuple[SortKey, ...] = dc_field(default_factory=tuple)


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0

    # helpers ------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "EOF":
            self.i += 1
        return token

    def where(self, token: Token) -> str:
        return _where(self.source, token.pos)

    def show(self, token: Token) -> str:
        return token.text

    def fail(self, expecting: str, token: Token, hint: str = "") -> JqlSyntaxError:
        if token.kind == "EOF":
            return JqlSyntaxError(f"Expecting {expecting} before the end of the query.{hint and ' ' + hint}")
        return JqlSyntaxError(f"Expecting {expecting} but got '{self.show(token)}'.{hint and ' ' + hint} "
                              f"{self.where(token)}")

    def is_keyword(self, *words: str) -> bool:
        return self.tok.keyword in words

    # grammar ------------------------------------------------------------

    def query(self) -> Query:
        where: Node | None = None
        if not (self.tok.kind == "EOF" or self.is_keyword("ORDER")):
            where = self.or_expr()
        order: tuple[SortKey, ...] = ()
        if self.is_keyword("ORDER"):
            order = self.order_by()
        if self.tok.kind != "EOF":
            if self.tok.kind == "RPAREN":
                raise JqlSyntaxError(f"Expecting either 'OR' or 'AND' but got ')'. {self.where(self.tok)}")
            expecting = "either ',' or the end of the query" if order else "either 'OR' or 'AND'"
            raise self.fail(expecting, self.tok)
        return Query(where, order)

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.tok.kind == "OR" or self.is_keyword("OR"):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.tok.kind == "AND" or self.is_keyword("AND"):
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        if self.tok.kind == "NOT" or self.is_keyword("NOT"):
            self.advance()
            return Not(self.not_expr())
        if self.tok.kind == "LPAREN":
            self.advance()
            node = self.or_expr()
            if self.tok.kind != "RPAREN":
                if self.tok.kind == "EOF":
                    raise JqlSyntaxError("Expecting ')' before the end of the query.")
                raise self.fail("either 'OR' or 'AND' or ')'", self.tok)
            self.advance()
            return node
        return self.clause()

    def field_name(self) -> Token:
        token = self.tok
        if token.kind == "STRING" or (token.kind == "WORD" and token.keyword is None):
            return self.advance()
        raise self.fail("a field name", token)

    def clause(self) -> Clause:
        field_token = self.field_name()
        operator = self.operator()
        operand = self.operand()
        return Clause(field_token.text, operator, operand, field_token.pos)

    def operator(self) -> str:
        token = self.tok
        hint = f"The valid operators are {_OPERATORS_TEXT}."
        if token.kind == "OP":
            self.advance()
            return token.text
        keyword = token.keyword
        if keyword == "IN":
            self.advance()
            return "IN"
        if keyword == "IS":
            self.advance()
            if self.is_keyword("NOT"):
                self.advance()
                return "IS NOT"
            return "IS"
        if keyword == "NOT" or token.kind == "NOT":
            self.advance()
            if self.is_keyword("IN"):
                self.advance()
                return "NOT IN"
            raise self.fail("'IN'", self.tok)
        if keyword in ("WAS", "CHANGED"):
            raise JqlError(f"The history operator '{keyword}' is not supported by the jiraplug sandbox.")
        raise self.fail("operator", token, hint)

    def value_error(self, token: Token) -> JqlSyntaxError:
        if token.kind == "EOF":
            return JqlSyntaxError("Expecting either a value, list or function before the end of the query.")
        text = self.show(token)
        return JqlSyntaxError(
            f"Expecting either a value, list or function but got '{text}'. You must surround '{text}' in "
            f"quotation marks to use it as a value. {self.where(token)}")

    def operand(self) -> Operand:
        token = self.tok
        if token.kind == "LPAREN":
            self.advance()
            items = [self.single_operand()]
            while self.tok.kind == "COMMA":
                self.advance()
                items.append(self.single_operand())
            if self.tok.kind != "RPAREN":
                if self.tok.kind == "EOF":
                    raise JqlSyntaxError("Expecting ')' before the end of the query.")
                raise self.fail("either ',' or ')'", self.tok)
            self.advance()
            return ListOperand(tuple(items), token.pos)
        return self.single_operand()

    def single_operand(self) -> Operand:
        token = self.tok
        if token.keyword in ("EMPTY", "NULL"):
            self.advance()
            return EmptyOperand(token.pos)
        if token.kind == "STRING":
            self.advance()
            return Value(token.text, True, token.pos)
        if token.kind == "WORD" and token.keyword is None:
            self.advance()
            if self.tok.kind == "LPAREN":
                return self.function(token)
            return Value(token.text, False, token.pos)
        raise self.value_error(token)

    def function(self, name: Token) -> Function:
        self.advance()  # "("
        args: list[str] = []
        if self.tok.kind != "RPAREN":
            while True:
                arg = self.tok
                if arg.kind not in ("WORD", "STRING"):
                    raise self.fail("a function argument", arg)
                args.append(self.advance().text)
                if self.tok.kind == "COMMA":
                    self.advance()
                    continue
                break
        if self.tok.kind != "RPAREN":
            if self.tok.kind == "EOF":
                raise JqlSyntaxError("Expecting ')' before the end of the query.")
            raise self.fail("')'", self.tok)
        self.advance()
        return Function(name.text, tuple(args), name.pos)

    def order_by(self) -> tuple[SortKey, ...]:
        self.advance()  # ORDER
        if not self.is_keyword("BY"):
            raise self.fail("'by'", self.tok)
        self.advance()
        keys = [self.sort_key()]
        while self.tok.kind == "COMMA":
            self.advance()
            keys.append(self.sort_key())
        return tuple(keys)

    def sort_key(self) -> SortKey:
        token = self.field_name()
        direction = None
        if self.is_keyword("ASC", "DESC"):
            direction = self.advance().text.upper()
        return SortKey(token.text, direction, token.pos)


def parse(source: str) -> Query:
    """Parse a JQL string; raises :class:`JqlSyntaxError` on bad syntax."""
    return _Parser(source or "").query()
