import { parseKqlType, type KqlType } from '../kqlTypes';
import { KustoError } from '../kustoError';
import { kindOf, type SyntaxNode } from './kustoLanguage';

export { kindOf, type SyntaxNode } from './kustoLanguage';

export interface Column {
  readonly name: string;
  readonly type: KqlType;
}

/** Fails a query the stand-in parses but cannot run, naming what it cannot run. */
export function unsupported(what: string): KustoError {
  return new KustoError(
    'BadRequest_NotSupported',
    `${what} is not supported locally by the Kusto stand-in. docs/standin.md (KQL) lists the operators and functions it runs.`,
    400,
  );
}

/** Direct children, with the parser's list and separator wrappers flattened away. */
export function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let i = 0; i < node.ChildCount; i++) {
    const child = node.GetChild(i);
    if (!child) continue;
    const kind = kindOf(child);
    if (kind === 'List' || kind === 'SeparatedElement') out.push(...children(child));
    else out.push(child);
  }
  return out;
}

/** Children that are not tokens (keywords, punctuation). */
export function parts(node: SyntaxNode): SyntaxNode[] {
  return children(node).filter((c) => !c.IsToken);
}

/** Tokens directly under the node, lower-cased: the operator of a binary expression, `asc`, `nulls`. */
export function tokenTexts(node: SyntaxNode): string[] {
  return children(node)
    .filter((c) => c.IsToken)
    .map((c) => c.Text.toLowerCase());
}

export function firstToken(node: SyntaxNode): SyntaxNode | undefined {
  if (node.IsToken) return node;
  for (const child of children(node)) {
    const token = firstToken(child);
    if (token) return token;
  }
  return undefined;
}

function tokensOf(node: SyntaxNode, out: SyntaxNode[] = []): SyntaxNode[] {
  if (node.IsToken) out.push(node);
  else
    for (let i = 0; i < node.ChildCount; i++) {
      const child = node.GetChild(i);
      if (child) tokensOf(child, out);
    }
  return out;
}

/** The name a NameReference or NameDeclaration spells (`x`, `['my col']`). */
export function nameOf(node: SyntaxNode): string {
  const tokens = tokensOf(node);
  const name = tokens[0]?.Text === '[' ? tokens[1] : tokens[0];
  if (!name) throw unsupported(`The expression '${node.toString().trim()}'`);
  return name.ValueText;
}

/** The scalar type the analyzer gave an expression. */
export function typeOf(node: SyntaxNode): KqlType {
  const name = node.ResultType?.Name ?? 'unknown';
  if (name.startsWith('dynamic')) return 'dynamic';
  const type = parseKqlType(name);
  if (!type) throw unsupported(`A value of type '${name}' ('${node.toString().trim()}')`);
  return type;
}

/** The columns of a tabular expression, as the analyzer named and typed them. */
export function columnsOf(node: SyntaxNode): Column[] {
  const list = node.ResultType?.Columns;
  if (!list) throw unsupported(`The expression '${node.toString().trim()}' as a table`);
  const columns: Column[] = [];
  for (let i = 0; i < list.Count; i++) {
    const c = list.getItem(i);
    const name = c.Type.Name;
    const type = name.startsWith('dynamic') ? 'dynamic' : parseKqlType(name);
    if (!type) throw unsupported(`The column '${c.Name}' of type '${name}'`);
    columns.push({ name: c.Name, type });
  }
  return columns;
}

export function isTabular(node: SyntaxNode): boolean {
  return node.ResultType?.Columns !== undefined;
}

export const quoteId = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const sqlString = (text: string): string => `'${text.replace(/'/g, "''")}'`;
