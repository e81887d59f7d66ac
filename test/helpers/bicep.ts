/** Reads Bicep offline: tree-sitter-bicep parses it (no Bicep CLI here), these helpers query the tree. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';

export interface BicepFile {
  readonly path: string;
  readonly source: string;
  readonly root: Node;
}

let parser: Parser | undefined;

async function getParser(): Promise<Parser> {
  if (!parser) {
    await Parser.init();
    // The bytes, not a path: loading by path does a dynamic import that jest's module system cannot run.
    const language = await Language.load(
      readFileSync(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm')),
    );
    parser = new Parser();
    parser.setLanguage(language);
  }
  return parser;
}

function bicepFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) return bicepFiles(path);
    return f.endsWith('.bicep') ? [path] : [];
  });
}

/** Parses Bicep source (for checks of the checker itself). */
export async function parseBicep(source: string): Promise<Node> {
  const tree = (await getParser()).parse(source);
  if (!tree) throw new Error('tree-sitter could not parse the source');
  return tree.rootNode;
}

export async function parseBicepTree(dir: string): Promise<BicepFile[]> {
  const p = await getParser();
  return bicepFiles(dir).map((path) => {
    const source = readFileSync(path, 'utf8');
    const tree = p.parse(source);
    if (!tree) throw new Error(`tree-sitter could not parse ${path}`);
    return { path, source, root: tree.rootNode };
  });
}

/** Syntax problems: ERROR and MISSING nodes, with their line. */
export function syntaxErrors(file: BicepFile): string[] {
  const found: string[] = [];
  const walk = (n: Node): void => {
    if (n.type === 'ERROR' || n.isMissing)
      found.push(`${file.path}:${n.startPosition.row + 1}: ${n.type} near '${n.text.slice(0, 40)}'`);
    for (const c of n.children) if (c) walk(c);
  };
  walk(file.root);
  return found;
}

export interface ResourceDecl {
  readonly name: string;
  readonly type: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  readonly body: Node;
  readonly file: string;
}

const unquote = (text: string): string => text.replace(/^'|'$/g, '');

/** Every `resource x 'Type@version' [existing] = {...}` (a loop's body object included). */
export function resources(files: readonly BicepFile[]): ResourceDecl[] {
  return files.flatMap((f) =>
    f.root.children
      .filter((c): c is Node => c?.type === 'resource_declaration')
      .map((r) => {
        const [type = '', apiVersion = ''] = unquote(
          r.children.find((c) => c?.type === 'string')?.text ?? '',
        ).split('@');
        const body = findFirst(r, 'object');
        if (!body) throw new Error(`resource without a body in ${f.path}`);
        return {
          name: r.children.find((c) => c?.type === 'identifier')?.text ?? '',
          type,
          apiVersion,
          existing: r.children.some((c) => c?.text === 'existing'),
          body,
          file: f.path,
        };
      }),
  );
}

export function findFirst(node: Node, type: string): Node | undefined {
  for (const c of node.children) {
    if (!c) continue;
    if (c.type === type) return c;
    const inner = findFirst(c, type);
    if (inner) return inner;
  }
  return undefined;
}

/** The value node of `a.b.c` inside an object literal. */
export function property(object: Node | undefined, path: string): Node | undefined {
  let current = object;
  for (const key of path.split('.')) {
    if (!current) return undefined;
    const prop = current.children.find(
      (c) => c?.type === 'object_property' && unquote(c.children[0]?.text ?? '') === key,
    );
    current = prop?.children.at(-1) ?? undefined;
  }
  return current;
}

/** The string value of a property, or its source text when it is an expression. */
export function text(node: Node | undefined): string | undefined {
  if (!node) return undefined;
  return node.type === 'string' ? unquote(node.text) : node.text;
}

/** The keys and value texts of an object literal. */
export function entries(object: Node | undefined): [string, string][] {
  if (!object) return [];
  return object.children
    .filter((c): c is Node => c?.type === 'object_property')
    .map((c) => [unquote(c.children[0]?.text ?? ''), text(c.children.at(-1) ?? undefined) ?? '']);
}

/** `var name = <value>` declarations. */
export function variable(file: BicepFile, name: string): Node | undefined {
  const decl = file.root.children.find(
    (c) =>
      c?.type === 'variable_declaration' && c.children.find((x) => x?.type === 'identifier')?.text === name,
  );
  return decl?.children.at(-1) ?? undefined;
}

/** `output NAME type = <value>` declarations: name and value text. */
export function outputs(file: BicepFile): [string, string][] {
  return file.root.children
    .filter((c): c is Node => c?.type === 'output_declaration')
    .map((o) => [
      o.children.find((c) => c?.type === 'identifier')?.text ?? '',
      o.children.at(-1)?.text ?? '',
    ]);
}
