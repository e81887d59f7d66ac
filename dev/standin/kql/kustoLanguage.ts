import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { KqlType } from '../kqlTypes';
import { KustoError } from '../kustoError';

/**
 * Kusto's own parser and semantic analyzer (Kusto.Language, published compiled to JavaScript as
 * `@kusto/language-service-next`). It is a global-namespace Bridge.NET build: loading it defines the
 * globals `Bridge`, `System` and `Kusto`. Only the members the stand-in uses are typed here.
 */
export interface SyntaxNode {
  readonly Kind: number;
  readonly ChildCount: number;
  GetChild(index: number): SyntaxNode | null;
  readonly ResultType: TypeSymbol | null;
  readonly ReferencedSymbol: NamedSymbol | null;
  readonly IsToken: boolean;
  /** A token's text as written; `ValueText` is its value (a string literal unquoted). */
  readonly Text: string;
  readonly ValueText: string;
  /** The node's position in the text, trivia excluded. */
  readonly TextStart: number;
  /** A literal's value, as the analyzer computed it (dynamic literals: their JSON). */
  readonly LiteralValue: unknown;
  toString(): string;
}

export interface NamedSymbol {
  readonly Name: string;
  readonly Kind: number;
}

export interface TypeSymbol extends NamedSymbol {
  /** Set on tabular types: the columns in order. */
  readonly Columns?: DotNetList<{ readonly Name: string; readonly Type: NamedSymbol }> | undefined;
}

export interface Diagnostic {
  readonly Code: string;
  readonly Message: string;
  readonly Start: number;
  readonly Length: number;
  readonly Severity: string;
}

interface DotNetList<T> {
  readonly Count: number;
  getItem(index: number): T;
}

interface KustoCode {
  readonly Syntax: SyntaxNode;
  GetDiagnostics(): DotNetList<Diagnostic>;
}

type GlobalState = { WithDatabase(db: unknown): GlobalState };

interface KustoLanguage {
  readonly KustoCode: {
    Parse(text: string, globals: GlobalState): KustoCode;
    ParseAndAnalyze(text: string, globals: GlobalState): KustoCode;
  };
  readonly GlobalState: { readonly Default: GlobalState };
  readonly Syntax: { readonly SyntaxKind: Record<string, number> };
  readonly Symbols: {
    readonly ScalarTypes: Record<string, unknown>;
    readonly ColumnSymbol: new (name: string, type: unknown) => unknown;
    readonly TableSymbol: { readonly $ctor4: new (name: string, columns: unknown[]) => unknown };
    readonly DatabaseSymbol: {
      readonly $ctor2: new (name: string, alternateName: string | null, members: unknown[]) => unknown;
    };
  };
}

let loaded: KustoLanguage | undefined;
let kindNames: string[] = [];

/** Loads Kusto.Language once per process (about 0.4 s); the stand-in calls it when it starts. */
export function kustoLanguage(): KustoLanguage {
  if (loaded) return loaded;
  const global = globalThis as unknown as { Kusto?: { Language?: KustoLanguage } };
  // Another copy of this module (a test's fresh module registry) may have defined the globals already:
  // Bridge.NET refuses to define a class twice.
  if (!global.Kusto?.Language) {
    const require = createRequire(__filename);
    const dir = dirname(require.resolve('@kusto/language-service-next/package.json'));
    require(join(dir, 'bridge.min.js'));
    require(join(dir, 'Kusto.Language.Bridge.min.js'));
  }
  const language = global.Kusto?.Language;
  if (!language) throw new Error('@kusto/language-service-next did not define Kusto.Language');
  loaded = language;
  kindNames = [];
  for (const [name, value] of Object.entries(loaded.Syntax.SyntaxKind))
    if (typeof value === 'number') kindNames[value] = name;
  return loaded;
}

/**
 * Loads the parser and runs one analysis, so the first query a user sends does not pay the parser's
 * warm-up (about 1 s on top of the load). Returns how long it took.
 */
export function warmUpKql(): number {
  const started = performance.now();
  analyze('print x = 1 | where x > 0 | summarize count() by bin(x, 1)', 'warmup', []);
  warmUpMs = performance.now() - started;
  return warmUpMs;
}

let warmUpMs: number | undefined;

/** How long the last warm-up took; undefined before one ran in this process. */
export function kqlWarmUpMs(): number | undefined {
  return warmUpMs;
}

/** The SyntaxKind name of a node (`PipeExpression`, `FilterOperator`, `EqualTildeExpression`, ...). */
export function kindOf(node: SyntaxNode): string {
  return kindNames[node.Kind] ?? `Kind${node.Kind}`;
}

export interface SchemaTable {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: KqlType }[];
}

const SCALAR: Readonly<Record<KqlType, string>> = {
  string: 'String',
  int: 'Int',
  long: 'Long',
  real: 'Real',
  decimal: 'Decimal',
  bool: 'Bool',
  datetime: 'DateTime',
  timespan: 'TimeSpan',
  guid: 'Guid',
  dynamic: 'Dynamic',
};

const globalsBySchema = new Map<string, GlobalState>();

function globalsFor(database: string, tables: readonly SchemaTable[]): GlobalState {
  const key = JSON.stringify([database, tables]);
  const cached = globalsBySchema.get(key);
  if (cached) return cached;
  const K = kustoLanguage();
  const S = K.Symbols;
  const symbols = tables.map(
    (t) =>
      new S.TableSymbol.$ctor4(
        t.name,
        t.columns.map((c) => new S.ColumnSymbol(c.name, S.ScalarTypes[SCALAR[c.type]])),
      ),
  );
  const globals = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.$ctor2(database, null, symbols));
  // Schemas change with each `.create table`; a stand-in holds a handful, so the cache stays small.
  if (globalsBySchema.size > 64) globalsBySchema.clear();
  globalsBySchema.set(key, globals);
  return globals;
}

/** A diagnostic as the stand-in reports it: the parser's code and message, and where it points. */
export interface KqlDiagnostic {
  readonly code: string;
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly position: number;
  readonly length: number;
}

export class KqlDiagnosticError extends KustoError {
  constructor(
    readonly kind: 'syntax' | 'semantic',
    readonly diagnostic: KqlDiagnostic,
  ) {
    super(
      kind === 'syntax' ? 'BadRequest_SyntaxError' : 'BadRequest_SemanticError',
      `${kind === 'syntax' ? 'Syntax' : 'Semantic'} error ${diagnostic.code} at line ${diagnostic.line}, column ${diagnostic.column}: ${diagnostic.message}`,
      400,
    );
  }
}

function located(text: string, d: Diagnostic): KqlDiagnostic {
  const before = text.slice(0, d.Start).split('\n');
  return {
    code: d.Code,
    message: d.Message,
    position: d.Start,
    length: d.Length,
    line: before.length,
    column: (before[before.length - 1]?.length ?? 0) + 1,
  };
}

function errorsOf(list: DotNetList<Diagnostic>): Diagnostic[] {
  const errors: Diagnostic[] = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    if (d.Severity === 'Error') errors.push(d);
  }
  return errors;
}

/**
 * Parses and analyzes a query or command against one database's tables. Throws the first syntax error,
 * else (when `semantic`) the first semantic error, as a 400 naming the diagnostic code and position.
 */
export function analyze(
  text: string,
  database: string,
  tables: readonly SchemaTable[],
  semantic = true,
): SyntaxNode {
  const K = kustoLanguage();
  const globals = globalsFor(database, tables);
  // Parsing alone reports the syntax errors; analysis adds the semantic ones to the same list.
  const parsed = K.KustoCode.Parse(text, globals);
  const syntax = errorsOf(parsed.GetDiagnostics());
  if (syntax[0]) throw new KqlDiagnosticError('syntax', located(text, syntax[0]));
  if (!semantic) return parsed.Syntax;
  const analyzed = K.KustoCode.ParseAndAnalyze(text, globals);
  const errors = errorsOf(analyzed.GetDiagnostics());
  if (errors[0]) throw new KqlDiagnosticError('semantic', located(text, errors[0]));
  return analyzed.Syntax;
}
