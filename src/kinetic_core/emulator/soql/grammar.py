"""The SOQL grammar (lark, LALR with a contextual lexer).

Keywords are case-insensitive. The contextual lexer only offers a keyword where the
grammar allows one, so object and field names that happen to be keywords elsewhere
(``FROM Group``, a field called ``Type``) still lex as names.
"""

from __future__ import annotations

from functools import cache

from lark import Lark

SOQL_GRAMMAR = r"""
start: query

query: SELECT select_list _FROM NAME _alias_o _scope_o _where_o _with_o _group_o _having_o _order_o _limit_o \
       _offset_o _for_o
_alias_o: alias |
_scope_o: using_scope |
_where_o: where |
_with_o: with_clause |
_group_o: group_by |
_having_o: having |
_order_o: order_by |
_limit_o: limit |
_offset_o: offset |
_for_o: for_clause |

select_list: select_item ("," select_item)*
?select_item: field_path alias?                    -> sel_field
            | aggregate alias?                     -> sel_agg
            | func_call alias?                     -> sel_func
            | FIELDS "(" NAME ")"                  -> sel_fields
            | "(" query ")"                        -> sel_sub
            | TYPEOF NAME typeof_when+ typeof_else? _END  -> sel_typeof
typeof_when: _WHEN NAME _THEN field_path ("," field_path)*
typeof_else: _ELSE field_path ("," field_path)*

alias: NAME
field_path: NAME ("." NAME)*
aggregate: AGG_FUNC "(" field_path? ")"
func_call: FUNC "(" (func_arg ("," func_arg)*)? ")"
?func_arg: field_path
         | aggregate
         | func_call
         | STRING                                   -> string
         | NUMBER                                   -> number

using_scope: _USING _SCOPE NAME
where: _WHERE condition
with_clause: _WITH NAME
having: _HAVING condition
group_by: _GROUP _BY group_item ("," group_item)*
        | _GROUP _BY GROUP_SET "(" group_item ("," group_item)* ")"
?group_item: field_path | func_call
order_by: _ORDER _BY order_item ("," order_item)*
order_item: operand direction? nulls?
direction: ASC | DESC
nulls: _NULLS (FIRST | LAST)
limit: _LIMIT NUMBER
offset: OFFSET NUMBER
for_clause: _FOR NAME

// Salesforce refuses AND and OR mixed at one level without parentheses.
?condition: not_cond
          | not_cond (_AND not_cond)+               -> and_cond
          | not_cond (_OR not_cond)+                -> or_cond
?not_cond: _NOT not_cond                           -> not_
         | "(" condition ")"
         | predicate
?predicate: operand COMP_OP value                   -> compare
          | operand LIKE value                      -> like
          | operand IN "(" value_list ")"           -> in_list
          | operand _NOT IN "(" value_list ")"      -> not_in_list
          | operand IN "(" query ")"                -> in_query
          | operand _NOT IN "(" query ")"           -> not_in_query
          | operand INCLUDES "(" value_list ")"     -> includes
          | operand EXCLUDES "(" value_list ")"     -> excludes
?operand: field_path | aggregate | func_call
value_list: value ("," value)*
?value: STRING                                      -> string
      | NUMBER                                      -> number
      | TRUE                                        -> true
      | FALSE                                       -> false
      | NULL                                        -> null
      | DATE                                        -> date
      | DATETIME                                    -> datetime
      | NAME                                        -> date_literal
      | NAME ":" NUMBER                             -> date_literal_n

COMP_OP: "=" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
AGG_FUNC.1: /(count_distinct|count|sum|avg|min|max)(?=\s*\()/i
SELECT.1: /select(?![a-z0-9_])/i
_FROM.1: /from(?![a-z0-9_])/i
_WHERE.1: /where(?![a-z0-9_])/i
_WITH.1: /with(?![a-z0-9_])/i
_USING.1: /using(?![a-z0-9_])/i
_SCOPE.1: /scope(?![a-z0-9_])/i
_GROUP.1: /group(?![a-z0-9_])/i
_HAVING.1: /having(?![a-z0-9_])/i
_ORDER.1: /order(?![a-z0-9_])/i
_BY.1: /by(?![a-z0-9_])/i
_LIMIT.1: /limit(?![a-z0-9_])/i
OFFSET.1: /offset(?![a-z0-9_])/i
_FOR.1: /for(?![a-z0-9_])/i
_AND.1: /and(?![a-z0-9_])/i
_OR.1: /or(?![a-z0-9_])/i
_NOT.1: /not(?![a-z0-9_])/i
LIKE.1: /like(?![a-z0-9_])/i
IN.1: /in(?![a-z0-9_])/i
INCLUDES.1: /includes(?![a-z0-9_])/i
EXCLUDES.1: /excludes(?![a-z0-9_])/i
ASC.1: /asc(?![a-z0-9_])/i
DESC.1: /desc(?![a-z0-9_])/i
_NULLS.1: /nulls(?![a-z0-9_])/i
FIRST.1: /first(?![a-z0-9_])/i
LAST.1: /last(?![a-z0-9_])/i
TRUE.1: /true(?![a-z0-9_])/i
FALSE.1: /false(?![a-z0-9_])/i
NULL.1: /null(?![a-z0-9_])/i
FIELDS.1: /fields(?=\s*\()/i
FUNC.1: /(tolabel|format|convertcurrency|converttimezone|grouping|distance|geolocation)(?=\s*\()/i
      | /(calendar_month|calendar_quarter|calendar_year|day_in_month|day_in_week|day_in_year)(?=\s*\()/i
      | /(day_only|fiscal_month|fiscal_quarter|fiscal_year|hour_in_day|week_in_month|week_in_year)(?=\s*\()/i
GROUP_SET.1: /(rollup|cube)(?=\s*\()/i
TYPEOF.1: /typeof(?![a-z0-9_])/i
_WHEN.1: /when(?![a-z0-9_])/i
_THEN.1: /then(?![a-z0-9_])/i
_ELSE.1: /else(?![a-z0-9_])/i
_END.1: /end(?![a-z0-9_])/i

DATETIME.4: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})/i
DATE.3: /\d{4}-\d{2}-\d{2}(?![\dT:])/i
NUMBER.2: /[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/
STRING: /'(?:[^'\\]|\\.)*'/s
NAME: /[a-z_][a-z0-9_]*/i

%import common.WS
%ignore WS
"""


@cache
def soql_parser() -> Lark:
    """The compiled parser (built once per process; lark parsers are immutable and thread-safe).

    Example:
        >>> str(soql_parser().parse("SELECT Id FROM Account").data)
        'start'
    """
    return Lark(
        SOQL_GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=False, maybe_placeholders=False
    )
