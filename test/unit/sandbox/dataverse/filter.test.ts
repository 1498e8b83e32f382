import Database from "better-sqlite3";
import fc from "fast-check";

import {
  type ColumnResolver,
  compileFilter,
  evaluateFilter,
  FilterSyntaxError,
  parseFilter,
  tokenize,
} from "../../../../sandbox/dataverse/odata/filter";

const resolver: ColumnResolver = (path) => {
  const types: Record<string, string> = {
    name: "Edm.String",
    city: "Edm.String",
    qty: "Edm.Int32",
    score: "Edm.Decimal",
    active: "Edm.Boolean",
    _parent_value: "Edm.Guid",
    createdon: "Edm.DateTimeOffset",
  };
  const edm = types[path.join("/")];
  if (!edm) throw new FilterSyntaxError(`Could not find a property named '${path.join("/")}'`);
  return { sql: `t."${path[0]}"`, edm };
};

describe("OData $filter parser (reference 1.2)", () => {
  it("1.2: parses comparison, logical operators and parentheses with the right precedence", () => {
    const ast = parseFilter("name eq 'a' or qty gt 1 and not (active eq true)");
    expect(ast.k).toBe("or");
    if (ast.k !== "or") throw new Error();
    expect(ast.r.k).toBe("and");
  });

  it("1.2: string literals escape quotes by doubling ('O''Bryan')", () => {
    const tokens = tokenize("name eq 'O''Bryan'");
    expect(tokens[2]).toMatchObject({ kind: "string", value: "O'Bryan" });
  });

  it("1.2: reports an unterminated literal with its position, as Dataverse does", () => {
    expect(() => parseFilter("name eq 'abc")).toThrow("There is an unterminated literal at position 8 in 'name eq 'abc'.");
  });

  it("1.2: reports syntax errors with a position", () => {
    expect(() => parseFilter("name eq")).toThrow(/Expression expected at position 7/);
    expect(() => parseFilter("name eq 'a' and")).toThrow(/position/);
    expect(() => parseFilter("name xx 'a'")).toThrow(/Syntax error at position 5/);
    expect(() => parseFilter("(name eq 'a'")).toThrow(/position/);
  });

  it("1.2: recognises GUIDs, dates, numbers, booleans and null", () => {
    const kinds = tokenize(
      "_parent_value eq 0a8e2b44-1111-4c1e-8d1a-1e2f3a4b5c01 and createdon ge 2024-01-02T03:04:05Z and qty lt -3 and score le 0.5 and active eq false and name eq null",
    ).map((t) => t.kind);
    expect(kinds).toEqual(expect.arrayContaining(["guid", "datetime", "number"]));
    // A GUID starting with letters must not be read as an identifier.
    expect(tokenize("abcdef12-1111-4c1e-8d1a-1e2f3a4b5c01")[0]!.kind).toBe("guid");
  });

  it("1.2: compiles to parameterised SQL; values never reach the SQL text", () => {
    const compiled = compileFilter(parseFilter("name eq 'x''; DROP TABLE t; --' and qty ge 5"), resolver);
    expect(compiled.sql).not.toContain("DROP");
    expect(compiled.params).toEqual(["x'; DROP TABLE t; --", 5]);
  });

  it("1.2: eq null / ne null become IS NULL / IS NOT NULL", () => {
    expect(compileFilter(parseFilter("name eq null"), resolver).sql).toContain("IS NULL");
    expect(compileFilter(parseFilter("null ne name"), resolver).sql).toContain("IS NOT NULL");
  });

  it("1.2: refuses incompatible operand types with OData's message", () => {
    expect(() => compileFilter(parseFilter("qty eq 'five'"), resolver)).toThrow(
      "A binary operator with incompatible types was detected. Found operand types 'Edm.Int32' and 'Edm.String' for operator kind 'Equal'.",
    );
  });

  it("1.2: supports Microsoft.Dynamics.CRM.In with a literal list and with parameter aliases", () => {
    const a = compileFilter(parseFilter("Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['a','b'])"), resolver);
    expect(a.sql).toContain("IN (?,?)");
    expect(a.params).toEqual(["a", "b"]);
    const b = compileFilter(
      parseFilter("Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)", { "@p1": "'qty'", "@p2": '["1","2"]' }),
      resolver,
    );
    expect(b.sql).toContain("IN");
  });

  it("1.2: literal-first comparisons are flipped correctly", () => {
    const compiled = compileFilter(parseFilter("5 lt qty"), resolver);
    expect(compiled.sql).toBe('(t."qty" > ?)');
  });

  it("1.2: lambda operators are refused with a clear message", () => {
    expect(() => parseFilter("Account_Tasks/any(t:t/statecode eq 1)")).toThrow(/Lambda operators/);
  });

  it("1.2: string functions are case-insensitive LIKE on SQLite, matching Dataverse", () => {
    const db = new Database(":memory:");
    db.exec(`CREATE TABLE t (name TEXT COLLATE NOCASE, qty INTEGER)`);
    const ins = db.prepare("INSERT INTO t VALUES (?, ?)");
    for (const [n, q] of [
      ["Contoso Ltd", 1],
      ["Fabrikam", 2],
      ["contoso east", 3],
      [null, 4],
    ] as const)
      ins.run(n, q);
    const run = (f: string) => {
      const c = compileFilter(parseFilter(f), resolver);
      return (db.prepare(`SELECT qty FROM t WHERE ${c.sql} ORDER BY qty`).all(...c.params) as { qty: number }[]).map((r) => r.qty);
    };
    expect(run("contains(name,'CONTOSO')")).toEqual([1, 3]);
    expect(run("startswith(name,'fab')")).toEqual([2]);
    expect(run("endswith(name,'EAST')")).toEqual([3]);
    expect(run("name eq 'FABRIKAM'")).toEqual([2]);
    expect(run("not contains(name,'contoso')")).toEqual([2, 4]);
    db.close();
  });

  it("property: the SQL compilation and the in-memory evaluator agree on random filters", () => {
    const db = new Database(":memory:");
    db.exec(`CREATE TABLE t (name TEXT COLLATE NOCASE, qty INTEGER, active INTEGER)`);
    const rows = [
      { name: "alpha", qty: 1, active: 1 },
      { name: "Beta", qty: 5, active: 0 },
      { name: "gamma", qty: 10, active: 1 },
      { name: "delta", qty: 7, active: 0 },
    ];
    const ins = db.prepare("INSERT INTO t VALUES (?, ?, ?)");
    for (const r of rows) ins.run(r.name, r.qty, r.active);
    const leaf = fc.oneof(
      fc.tuple(fc.constantFrom("eq", "ne", "gt", "ge", "lt", "le"), fc.integer({ min: 0, max: 11 })).map(([op, n]) => `qty ${op} ${n}`),
      fc.constantFrom("alpha", "beta", "GAMMA", "x").map((s) => `name eq '${s}'`),
      fc.constantFrom("al", "ta", "MM").map((s) => `contains(name,'${s}')`),
      fc.boolean().map((b) => `active eq ${b}`),
    );
    const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
      e: fc.oneof(
        { depthSize: "small" },
        leaf,
        fc.tuple(tie("e"), fc.constantFrom("and", "or"), tie("e")).map(([a, op, b]) => `(${a} ${op} ${b})`),
        tie("e").map((a) => `not (${a})`),
      ),
    })).e as fc.Arbitrary<string>;
    fc.assert(
      fc.property(expr, (f) => {
        const ast = parseFilter(f);
        const c = compileFilter(ast, resolver);
        const sqlHits = (db.prepare(`SELECT qty FROM t WHERE ${c.sql} ORDER BY qty`).all(...c.params) as { qty: number }[]).map(
          (r) => r.qty,
        );
        const memHits = rows
          .filter((r) => evaluateFilter(ast, ([p]) => (p === "active" ? r.active === 1 : (r as Record<string, unknown>)[p!])))
          .map((r) => r.qty)
          .sort((a, b) => a - b);
        expect(sqlHits).toEqual(memHits);
      }),
      { numRuns: 150 },
    );
    db.close();
  });
});
