/**
 * OData `$filter` for the emulator: a tokenizer and recursive-descent parser producing an AST, a
 * compiler to parameterised SQL (values are never concatenated into SQL), and an in-memory evaluator
 * for metadata queries. Supported grammar (docs/platform/dataverse.md 1.2): eq ne gt ge lt le, and/or/not,
 * parentheses, contains/startswith/endswith (case-insensitive), null, quoted strings with '' escaping,
 * GUIDs, numbers, booleans, dates, lookup `_x_value`, lookup paths `x/col`, Microsoft.Dynamics.CRM.In /
 * NotIn / Between / NotBetween / Null / NotNull, and parameter aliases (@p1).
 */
import { DataverseHttpError, ErrorCodes } from "../errors";

export type LiteralKind = "string" | "number" | "boolean" | "null" | "guid" | "datetime" | "date";
export interface Literal {
  k: "lit";
  kind: LiteralKind;
  value: string | number | boolean | null;
  pos: number;
}
export interface PropRef {
  k: "prop";
  path: string[];
  pos: number;
}
export type Operand = Literal | PropRef;
export type CmpOp = "eq" | "ne" | "gt" | "ge" | "lt" | "le";

export type FilterExpr =
  | { k: "and" | "or"; l: FilterExpr; r: FilterExpr }
  | { k: "not"; e: FilterExpr }
  | { k: "cmp"; op: CmpOp; l: Operand; r: Operand; pos: number }
  | { k: "strfn"; name: "contains" | "startswith" | "endswith"; prop: PropRef; arg: Literal; pos: number }
  | { k: "in"; prop: PropRef; values: Literal[]; negate: boolean; pos: number }
  | { k: "between"; prop: PropRef; low: Literal; high: Literal; negate: boolean; pos: number }
  | { k: "isnull"; prop: PropRef; negate: boolean; pos: number }
  | { k: "boolprop"; prop: PropRef };

export const MAX_FILTER_NESTING = 100;
export const MAX_FILTER_CONDITIONS = 500;

export class FilterSyntaxError extends DataverseHttpError {
  constructor(message: string) {
    super(400, ErrorCodes.ODataBadRequest, message);
  }
}

type TokKind =
  | "ident"
  | "string"
  | "number"
  | "guid"
  | "datetime"
  | "date"
  | "lparen"
  | "rparen"
  | "comma"
  | "lbracket"
  | "rbracket"
  | "equals"
  | "alias";
interface Token {
  kind: TokKind;
  text: string;
  value?: string | number;
  pos: number;
}

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z_])/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?(?![0-9A-Za-z_])/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(?![0-9A-Za-z_:T])/;
const NUMBER_RE = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?(?![0-9A-Za-z_])/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_.]*(\/[A-Za-z_][A-Za-z0-9_.]*)*/;

export function tokenize(text: string): Token[] {
  const lambda = /[A-Za-z0-9_]\/(any|all)\s*\(/i.exec(text);
  if (lambda) {
    throw new DataverseHttpError(
      400,
      ErrorCodes.ODataBadRequest,
      `Lambda operators (any/all) are not supported by the Dataverse emulator (position ${lambda.index + 1} in '${text}').`,
    );
  }
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      i++;
      continue;
    }
    const rest = text.slice(i);
    if (ch === "'") {
      let j = i + 1;
      let value = "";
      for (;;) {
        if (j >= text.length) throw new FilterSyntaxError(`There is an unterminated literal at position ${i} in '${text}'.`);
        const c = text[j]!;
        if (c === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += c;
        j++;
      }
      tokens.push({ kind: "string", text: text.slice(i, j + 1), value, pos: i });
      i = j + 1;
      continue;
    }
    const single: Record<string, TokKind> = { "(": "lparen", ")": "rparen", ",": "comma", "[": "lbracket", "]": "rbracket", "=": "equals" };
    if (single[ch]) {
      tokens.push({ kind: single[ch]!, text: ch, pos: i });
      i++;
      continue;
    }
    if (ch === '"') {
      // Quoted strings inside PropertyValues arrays (JSON style) are accepted by Dataverse.
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new FilterSyntaxError(`There is an unterminated literal at position ${i} in '${text}'.`);
      tokens.push({ kind: "string", text: text.slice(i, end + 1), value: text.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    if (ch === "@") {
      const m = /^@[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
      if (!m) throw new FilterSyntaxError(`Syntax error at position ${i} in '${text}'.`);
      tokens.push({ kind: "alias", text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    let m = GUID_RE.exec(rest);
    if (m) {
      tokens.push({ kind: "guid", text: m[0], value: m[0].toLowerCase(), pos: i });
      i += m[0].length;
      continue;
    }
    m = DATETIME_RE.exec(rest);
    if (m) {
      tokens.push({ kind: "datetime", text: m[0], value: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    m = DATE_RE.exec(rest);
    if (m) {
      tokens.push({ kind: "date", text: m[0], value: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    m = NUMBER_RE.exec(rest);
    if (m) {
      tokens.push({ kind: "number", text: m[0], value: Number(m[0].replace(/[mMdDfFlL]$/, "")), pos: i });
      i += m[0].length;
      continue;
    }
    m = IDENT_RE.exec(rest);
    if (m) {
      tokens.push({ kind: "ident", text: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    throw new FilterSyntaxError(`Syntax error: character '${ch}' is not valid at position ${i} in '${text}'.`);
  }
  return tokens;
}

const CMP_OPS = new Set(["eq", "ne", "gt", "ge", "lt", "le"]);
const STR_FNS = new Set(["contains", "startswith", "endswith"]);

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
    private readonly aliases: Record<string, string>,
  ) {}

  parse(): FilterExpr {
    if (this.tokens.length === 0) throw new FilterSyntaxError(`Expression expected at position 0 in '${this.text}'.`);
    const e = this.or();
    const t = this.peek();
    if (t) throw this.syntax(t.pos);
    return e;
  }

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  private next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw new FilterSyntaxError(`Expression expected at position ${this.text.length} in '${this.text}'.`);
    return t;
  }
  private syntax(pos: number): FilterSyntaxError {
    return new FilterSyntaxError(`Syntax error at position ${pos} in '${this.text}'.`);
  }
  private expect(kind: TokKind): Token {
    const t = this.next();
    if (t.kind !== kind) throw this.syntax(t.pos);
    return t;
  }
  private isWord(t: Token | undefined, word: string): boolean {
    return !!t && t.kind === "ident" && t.text.toLowerCase() === word;
  }

  /** and/or chains build left-deep trees that the compiler walks recursively: their length is bounded too. */
  private conditions = 0;
  private joined(t: Token): void {
    if (++this.conditions >= MAX_FILTER_CONDITIONS)
      throw new FilterSyntaxError(
        `The $filter has more than ${MAX_FILTER_CONDITIONS} conditions (position ${t.pos}); use Microsoft.Dynamics.CRM.In or split the query.`,
      );
  }
  private or(): FilterExpr {
    let l = this.and();
    while (this.isWord(this.peek(), "or")) {
      this.joined(this.next());
      l = { k: "or", l, r: this.and() };
    }
    return l;
  }
  private and(): FilterExpr {
    let l = this.unary();
    while (this.isWord(this.peek(), "and")) {
      this.joined(this.next());
      l = { k: "and", l, r: this.unary() };
    }
    return l;
  }
  /** Nesting (parentheses and `not`) is bounded: a hostile $filter must get a 400, not overflow the stack. */
  private depth = 0;
  private nested<T>(pos: number, parse: () => T): T {
    if (++this.depth > MAX_FILTER_NESTING)
      throw new FilterSyntaxError(`The $filter nests deeper than ${MAX_FILTER_NESTING} levels at position ${pos}.`);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }
  private unary(): FilterExpr {
    const t = this.peek();
    if (t && this.isWord(t, "not")) {
      this.next();
      return this.nested(t.pos, () => ({ k: "not" as const, e: this.unary() }));
    }
    return this.primary();
  }

  private primary(): FilterExpr {
    const t = this.peek();
    if (!t) throw new FilterSyntaxError(`Expression expected at position ${this.text.length} in '${this.text}'.`);
    if (t.kind === "lparen") {
      this.next();
      const e = this.nested(t.pos, () => this.or());
      this.expect("rparen");
      return e;
    }
    if (t.kind === "ident" && this.peek(1)?.kind === "lparen") {
      const name = t.text;
      const lower = name.toLowerCase();
      if (STR_FNS.has(lower)) return this.stringFunction(lower as "contains" | "startswith" | "endswith");
      if (lower.startsWith("microsoft.dynamics.crm.")) return this.crmFunction(name.slice("microsoft.dynamics.crm.".length), t.pos);
      if (/\/(any|all)$/i.test(name)) {
        throw new DataverseHttpError(
          400,
          ErrorCodes.ODataBadRequest,
          `Lambda operators (any/all) are not supported by the Dataverse emulator (position ${t.pos} in '${this.text}').`,
        );
      }
      throw new FilterSyntaxError(`An unknown function with name '${name}' was found at position ${t.pos} in '${this.text}'.`);
    }
    const l = this.operand();
    const opTok = this.peek();
    if (!opTok || !(opTok.kind === "ident" && CMP_OPS.has(opTok.text.toLowerCase()))) {
      // A bare boolean property is a valid OData boolean expression.
      if (l.k === "prop" && (!opTok || opTok.kind === "rparen" || this.isWord(opTok, "and") || this.isWord(opTok, "or")))
        return { k: "boolprop", prop: l };
      throw this.syntax(opTok ? opTok.pos : this.text.length);
    }
    this.next();
    const r = this.operand();
    return { k: "cmp", op: opTok.text.toLowerCase() as CmpOp, l, r, pos: opTok.pos };
  }

  private stringFunction(name: "contains" | "startswith" | "endswith"): FilterExpr {
    const fnTok = this.next();
    this.expect("lparen");
    const prop = this.operand();
    if (prop.k !== "prop") throw this.syntax(prop.pos);
    this.expect("comma");
    const arg = this.operand();
    if (arg.k !== "lit" || arg.kind !== "string") {
      throw new FilterSyntaxError(
        `The '${name}' function requires a string literal as its second argument (position ${arg.pos} in '${this.text}').`,
      );
    }
    this.expect("rparen");
    return { k: "strfn", name, prop, arg, pos: fnTok.pos };
  }

  private crmFunction(name: string, pos: number): FilterExpr {
    this.next();
    this.expect("lparen");
    const params: Record<string, Literal | Literal[]> = {};
    while (this.peek()?.kind !== "rparen") {
      const key = this.expect("ident").text;
      this.expect("equals");
      params[key] = this.paramValue();
      if (this.peek()?.kind === "comma") this.next();
      else break;
    }
    this.expect("rparen");
    const propLit = params.PropertyName;
    if (!propLit || Array.isArray(propLit) || propLit.kind !== "string") {
      throw new FilterSyntaxError(`Microsoft.Dynamics.CRM.${name} requires PropertyName (position ${pos} in '${this.text}').`);
    }
    const prop: PropRef = { k: "prop", path: String(propLit.value).split("/"), pos: propLit.pos };
    const values = params.PropertyValues;
    const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
    switch (name.toLowerCase()) {
      case "in":
      case "notin":
        if (list.length === 0) throw new FilterSyntaxError(`Microsoft.Dynamics.CRM.${name} requires PropertyValues.`);
        return { k: "in", prop, values: list, negate: name.toLowerCase() === "notin", pos };
      case "between":
      case "notbetween":
        if (list.length !== 2) throw new FilterSyntaxError(`Microsoft.Dynamics.CRM.${name} requires exactly two PropertyValues.`);
        return { k: "between", prop, low: list[0]!, high: list[1]!, negate: name.toLowerCase() === "notbetween", pos };
      case "null":
      case "notnull":
        return { k: "isnull", prop, negate: name.toLowerCase() === "notnull", pos };
      default:
        throw new DataverseHttpError(
          400,
          ErrorCodes.ODataBadRequest,
          `The query function 'Microsoft.Dynamics.CRM.${name}' is not supported by the Dataverse emulator.`,
        );
    }
  }

  private paramValue(): Literal | Literal[] {
    const t = this.peek();
    if (t?.kind === "alias") {
      this.next();
      const raw = this.aliases[t.text];
      if (raw === undefined) throw new FilterSyntaxError(`The parameter alias '${t.text}' has no value in the query string.`);
      const sub = new Parser(tokenize(raw), raw, {});
      return sub.paramValue();
    }
    if (t?.kind === "lbracket") {
      this.next();
      const out: Literal[] = [];
      while (this.peek()?.kind !== "rbracket") {
        const v = this.operand();
        if (v.k !== "lit") throw this.syntax(v.pos);
        out.push(v);
        if (this.peek()?.kind === "comma") this.next();
        else break;
      }
      this.expect("rbracket");
      return out;
    }
    const v = this.operand();
    if (v.k !== "lit") throw this.syntax(v.pos);
    return v;
  }

  private operand(): Operand {
    const t = this.next();
    switch (t.kind) {
      case "string":
        return { k: "lit", kind: "string", value: t.value as string, pos: t.pos };
      case "number":
        return { k: "lit", kind: "number", value: t.value as number, pos: t.pos };
      case "guid":
        return { k: "lit", kind: "guid", value: t.value as string, pos: t.pos };
      case "datetime":
        return { k: "lit", kind: "datetime", value: t.value as string, pos: t.pos };
      case "date":
        return { k: "lit", kind: "date", value: t.value as string, pos: t.pos };
      case "alias": {
        const raw = this.aliases[t.text];
        if (raw === undefined) throw new FilterSyntaxError(`The parameter alias '${t.text}' has no value in the query string.`);
        const sub = new Parser(tokenize(raw), raw, {});
        return sub.operand();
      }
      case "ident": {
        const lower = t.text.toLowerCase();
        if (lower === "null") return { k: "lit", kind: "null", value: null, pos: t.pos };
        if (lower === "true" || lower === "false") return { k: "lit", kind: "boolean", value: lower === "true", pos: t.pos };
        if (CMP_OPS.has(lower) || lower === "and" || lower === "or" || lower === "not") throw this.syntax(t.pos);
        return { k: "prop", path: t.text.split("/"), pos: t.pos };
      }
      default:
        throw this.syntax(t.pos);
    }
  }
}

/** Parses a $filter expression. `aliases` are the request's parameter aliases (`@p1` → raw text). */
export function parseFilter(text: string, aliases: Record<string, string> = {}): FilterExpr {
  return new Parser(tokenize(text), text, aliases).parse();
}

// ---------------------------------------------------------------------------------------------
// SQL compilation

/** What the compiler needs to know about a property path. */
export interface ResolvedColumn {
  /** SQL expression for the column (already quoted, may be a sub-select for lookup paths). */
  sql: string;
  /** Edm type name (Edm.String, Edm.Int32, Edm.Guid, Edm.Boolean, Edm.DateTimeOffset, Edm.Date, Edm.Decimal…). */
  edm: string;
}
export type ColumnResolver = (path: string[], pos: number) => ResolvedColumn;

export interface CompiledFilter {
  sql: string;
  params: unknown[];
  /** Columns of the queried table the filter pins by equality at its top level (see `pinnedColumns`). */
  pinned?: string[];
}

const SQL_OP: Record<CmpOp, string> = { eq: "=", ne: "<>", gt: ">", ge: ">=", lt: "<", le: "<=" };
const OP_KIND: Record<CmpOp, string> = {
  eq: "Equal",
  ne: "NotEqual",
  gt: "GreaterThan",
  ge: "GreaterThanOrEqual",
  lt: "LessThan",
  le: "LessThanOrEqual",
};

function literalEdm(l: Literal): string {
  switch (l.kind) {
    case "string":
      return "Edm.String";
    case "number":
      return Number.isInteger(l.value) ? "Edm.Int32" : "Edm.Decimal";
    case "boolean":
      return "Edm.Boolean";
    case "guid":
      return "Edm.Guid";
    case "datetime":
      return "Edm.DateTimeOffset";
    case "date":
      return "Edm.Date";
    case "null":
      return "null";
  }
}

const NUMERIC = new Set(["Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double"]);

/** Normalises a date-time literal to the emulator's storage form (UTC, second precision, `Z`). */
export function normaliseDateTime(text: string): string {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(d.getTime())) throw new FilterSyntaxError(`The value '${text}' is not a valid date-time.`);
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Converts a literal to the SQL parameter for a column of type `edm`; refuses incompatible types like OData does. */
export function literalToParam(l: Literal, edm: string, op: string): unknown {
  const bad = () =>
    new FilterSyntaxError(
      `A binary operator with incompatible types was detected. Found operand types '${edm}' and '${literalEdm(l)}' for operator kind '${op}'.`,
    );
  if (l.kind === "null") return null;
  if (edm === "Edm.String") {
    if (l.kind !== "string") throw bad();
    return l.value;
  }
  if (edm === "Edm.Guid") {
    if (l.kind === "guid") return l.value;
    if (l.kind === "string" && GUID_RE.test(String(l.value))) return String(l.value).toLowerCase();
    throw bad();
  }
  if (NUMERIC.has(edm)) {
    if (l.kind !== "number") throw bad();
    if ((edm === "Edm.Int32" || edm === "Edm.Int64") && !Number.isInteger(l.value)) throw bad();
    return l.value;
  }
  if (edm === "Edm.Boolean") {
    if (l.kind !== "boolean") throw bad();
    return l.value ? 1 : 0;
  }
  if (edm === "Edm.DateTimeOffset") {
    if (l.kind !== "datetime" && l.kind !== "date") throw bad();
    return normaliseDateTime(String(l.value));
  }
  if (edm === "Edm.Date") {
    if (l.kind === "date") return l.value;
    if (l.kind === "datetime") return String(l.value).slice(0, 10);
    throw bad();
  }
  throw bad();
}

/** Query functions take their PropertyValues as strings (`["5","2000"]`); read them as the column's type. */
function queryFunctionValue(l: Literal, edm: string): Literal {
  if (l.kind !== "string") return l;
  const text = String(l.value);
  if (NUMERIC.has(edm) && text.trim() !== "" && !Number.isNaN(Number(text))) return { ...l, kind: "number", value: Number(text) };
  if (edm === "Edm.Boolean" && (text === "true" || text === "false")) return { ...l, kind: "boolean", value: text === "true" };
  if (edm === "Edm.DateTimeOffset" || edm === "Edm.Date") return { ...l, kind: /^\d{4}-\d{2}-\d{2}$/.test(text) ? "date" : "datetime" };
  return l;
}

/**
 * An `or` of three or more `property eq literal` terms on one property (no null), as the property and the
 * literals; undefined for any other shape.
 */
function equalityList(e: FilterExpr): { prop: PropRef; values: Literal[] } | undefined {
  const terms: FilterExpr[] = [];
  const flatten = (x: FilterExpr) => {
    if (x.k === "or") {
      flatten(x.l);
      flatten(x.r);
    } else terms.push(x);
  };
  flatten(e);
  if (terms.length < 3) return undefined;
  let prop: PropRef | undefined;
  const values: Literal[] = [];
  for (const t of terms) {
    if (t.k !== "cmp" || t.op !== "eq") return undefined;
    const p = t.l.k === "prop" ? t.l : t.r.k === "prop" ? t.r : undefined;
    const v = t.l.k === "lit" ? t.l : t.r.k === "lit" ? t.r : undefined;
    if (!p || !v || v.kind === "null") return undefined;
    if (prop && prop.path.join("/") !== p.path.join("/")) return undefined;
    prop ??= p;
    values.push(v);
  }
  return prop ? { prop, values } : undefined;
}

/** Compiles a filter AST to a SQL boolean expression with positional parameters. */
export function compileFilter(expr: FilterExpr, resolve: ColumnResolver): CompiledFilter {
  const params: unknown[] = [];
  const walk = (e: FilterExpr): string => {
    switch (e.k) {
      case "and":
        return `(${walk(e.l)} AND ${walk(e.r)})`;
      case "or": {
        const list = equalityList(e);
        if (list) {
          // `x eq 'a' or x eq 'b' or …` (a query for the rows of a list of keys) as SQL's IN: the same rows,
          // each row compared by lookup instead of once per term.
          const c = resolve(list.prop.path, list.prop.pos);
          const ph = list.values.map((v) => {
            params.push(literalToParam(v, c.edm, OP_KIND.eq));
            return "?";
          });
          return `(${c.sql} IN (${ph.join(",")}))`;
        }
        return `(${walk(e.l)} OR ${walk(e.r)})`;
      }
      case "not":
        return `(NOT COALESCE(${walk(e.e)}, 0))`;
      case "boolprop": {
        const c = resolve(e.prop.path, e.prop.pos);
        if (c.edm !== "Edm.Boolean")
          throw new FilterSyntaxError(`The property '${e.prop.path.join("/")}' is not a Boolean and cannot be used as a condition.`);
        return `(${c.sql} = 1)`;
      }
      case "strfn": {
        const c = resolve(e.prop.path, e.prop.pos);
        if (c.edm !== "Edm.String") {
          throw new FilterSyntaxError(
            `No function signature for the function with name '${e.name}' matches the specified arguments (property type ${c.edm}).`,
          );
        }
        // Dataverse passes % and _ through as wildcards (reference 1.2), so the value is not escaped.
        params.push(e.name === "contains" ? `%${e.arg.value}%` : e.name === "startswith" ? `${e.arg.value}%` : `%${e.arg.value}`);
        return `(${c.sql} LIKE ?)`;
      }
      case "in": {
        const c = resolve(e.prop.path, e.prop.pos);
        const ph = e.values.map((v) => {
          params.push(literalToParam(queryFunctionValue(v, c.edm), c.edm, "In"));
          return "?";
        });
        return `(${c.sql} ${e.negate ? "NOT IN" : "IN"} (${ph.join(",")}))`;
      }
      case "between": {
        const c = resolve(e.prop.path, e.prop.pos);
        params.push(
          literalToParam(queryFunctionValue(e.low, c.edm), c.edm, "Between"),
          literalToParam(queryFunctionValue(e.high, c.edm), c.edm, "Between"),
        );
        return `(${c.sql} ${e.negate ? "NOT BETWEEN" : "BETWEEN"} ? AND ?)`;
      }
      case "isnull": {
        const c = resolve(e.prop.path, e.prop.pos);
        return `(${c.sql} IS ${e.negate ? "NOT " : ""}NULL)`;
      }
      case "cmp": {
        const { l, r, op } = e;
        if (l.k === "prop" && r.k === "prop") {
          const a = resolve(l.path, l.pos);
          const b = resolve(r.path, r.pos);
          const compatible = a.edm === b.edm || (NUMERIC.has(a.edm) && NUMERIC.has(b.edm));
          if (!compatible)
            throw new FilterSyntaxError(
              `A binary operator with incompatible types was detected. Found operand types '${a.edm}' and '${b.edm}' for operator kind '${OP_KIND[op]}'.`,
            );
          return `(${a.sql} ${SQL_OP[op]} ${b.sql})`;
        }
        if (l.k === "lit" && r.k === "lit") throw new FilterSyntaxError(`Comparing two literals is not supported (position ${e.pos}).`);
        // Normalise to property op literal (flip the operator when the literal comes first).
        const prop = (l.k === "prop" ? l : r) as PropRef;
        const lit = (l.k === "lit" ? l : r) as Literal;
        const flipped: Record<CmpOp, CmpOp> = { eq: "eq", ne: "ne", gt: "lt", ge: "le", lt: "gt", le: "ge" };
        const effOp = l.k === "prop" ? op : flipped[op];
        const c = resolve(prop.path, prop.pos);
        if (lit.kind === "null") {
          if (effOp === "eq") return `(${c.sql} IS NULL)`;
          if (effOp === "ne") return `(${c.sql} IS NOT NULL)`;
          throw new FilterSyntaxError(`The operator '${op}' cannot be used with null (position ${e.pos}).`);
        }
        params.push(literalToParam(lit, c.edm, OP_KIND[op]));
        return `(${c.sql} ${SQL_OP[effOp]} ?)`;
      }
    }
  };
  const sql = walk(expr);
  return { sql, params, pinned: pinnedColumns(expr, resolve) };
}

/**
 * The queried table's own columns (`t."name"`) that every row of the answer must equal a given value or list
 * of values in: the terms of the filter's top-level `and` that are `eq` a literal, an `or` of those on one
 * column, or `In`. The emulator's automatic query tuning indexes them (../store.ts `tuneFor`).
 */
function pinnedColumns(expr: FilterExpr, resolve: ColumnResolver): string[] {
  const columns = new Set<string>();
  const visit = (e: FilterExpr) => {
    if (e.k === "and") {
      visit(e.l);
      visit(e.r);
      return;
    }
    let prop: PropRef | undefined;
    if (e.k === "cmp" && e.op === "eq") {
      const p = e.l.k === "prop" ? e.l : e.r.k === "prop" ? e.r : undefined;
      const v = e.l.k === "lit" ? e.l : e.r.k === "lit" ? e.r : undefined;
      if (p && v && v.kind !== "null") prop = p;
    } else if (e.k === "or") prop = equalityList(e)?.prop;
    else if (e.k === "in" && !e.negate) prop = e.prop;
    const column = prop && /^t\."([^"]+)"$/.exec(resolve(prop.path, prop.pos).sql)?.[1];
    if (column) columns.add(column);
  };
  visit(expr);
  return [...columns];
}

// ---------------------------------------------------------------------------------------------
// In-memory evaluation (metadata collections such as EntityDefinitions)

export function evaluateFilter(expr: FilterExpr, get: (path: string[]) => unknown): boolean {
  const lit = (o: Operand): unknown => (o.k === "lit" ? o.value : get(o.path));
  const norm = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : v);
  const cmp = (a: unknown, b: unknown, op: CmpOp): boolean => {
    const x = norm(a);
    const y = norm(b);
    switch (op) {
      case "eq":
        return x === y || (x == null && y == null);
      case "ne":
        return !(x === y || (x == null && y == null));
      case "gt":
        return x != null && y != null && (x as number) > (y as number);
      case "ge":
        return x != null && y != null && (x as number) >= (y as number);
      case "lt":
        return x != null && y != null && (x as number) < (y as number);
      case "le":
        return x != null && y != null && (x as number) <= (y as number);
    }
  };
  switch (expr.k) {
    case "and":
      return evaluateFilter(expr.l, get) && evaluateFilter(expr.r, get);
    case "or":
      return evaluateFilter(expr.l, get) || evaluateFilter(expr.r, get);
    case "not":
      return !evaluateFilter(expr.e, get);
    case "boolprop":
      return get(expr.prop.path) === true;
    case "cmp":
      return cmp(lit(expr.l), lit(expr.r), expr.op);
    case "strfn": {
      const v = get(expr.prop.path);
      if (typeof v !== "string") return false;
      const s = v.toLowerCase();
      const a = String(expr.arg.value).toLowerCase();
      return expr.name === "contains" ? s.includes(a) : expr.name === "startswith" ? s.startsWith(a) : s.endsWith(a);
    }
    case "in": {
      const v = norm(get(expr.prop.path));
      const hit = expr.values.some((x) => norm(x.value) === v);
      return expr.negate ? !hit : hit;
    }
    case "between": {
      const v = get(expr.prop.path) as number;
      const inside = v >= (expr.low.value as number) && v <= (expr.high.value as number);
      return expr.negate ? !inside : inside;
    }
    case "isnull": {
      const v = get(expr.prop.path);
      return expr.negate ? v != null : v == null;
    }
  }
}
