import { KustoError } from './kustoError';

export type Token =
  | { kind: 'word'; value: string } // identifiers and keywords, including dashed command words (create-merge)
  | { kind: 'name'; value: string } // ['bracketed name'] or ["bracketed name"]
  | { kind: 'string'; value: string } // 'x', "x", @'x', h'x' (obfuscated), h@'x', ```x```
  | { kind: 'number'; value: string }
  | { kind: 'punct'; value: string };

export const syntaxError = (message: string): KustoError =>
  new KustoError('BadRequest_SyntaxError', `Syntax error: ${message}`, 400);

function readQuoted(text: string, start: number, verbatim: boolean): { value: string; end: number } {
  const quote = text[start];
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i] as string;
    if (verbatim) {
      if (c === quote) {
        if (text[i + 1] === quote) {
          value += c;
          i += 2;
          continue;
        }
        return { value, end: i + 1 };
      }
    } else if (c === '\\') {
      const next = text[i + 1] ?? '';
      value +=
        ({ n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' } as Record<string, string>)[next] ??
        next;
      i += 2;
      continue;
    } else if (c === quote) {
      return { value, end: i + 1 };
    }
    value += c;
    i++;
  }
  throw syntaxError('a string literal is not closed');
}

/** Tokenizes a KQL command or query (the subset the stand-in understands). */
export function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (text.startsWith('```', i)) {
      // A multi-line string literal: everything up to the closing fence, as written.
      const end = text.indexOf('```', i + 3);
      if (end === -1) throw syntaxError('a multi-line string literal (```) is not closed');
      tokens.push({ kind: 'string', value: text.slice(i + 3, end) });
      i = end + 3;
      continue;
    }
    const prefix = /^(h@|H@|@|h|H)(?=['"])/.exec(text.slice(i, i + 3));
    if (c === "'" || c === '"' || prefix) {
      const skip = prefix?.[0].length ?? 0;
      const { value, end } = readQuoted(text, i + skip, prefix?.[0].includes('@') ?? false);
      tokens.push({ kind: 'string', value });
      i = end;
      continue;
    }
    if (c === '[' && (text[i + 1] === "'" || text[i + 1] === '"')) {
      const { value, end } = readQuoted(text, i + 1, false);
      if (text[end] !== ']') throw syntaxError(`expected ']' after the bracketed name '${value}'`);
      tokens.push({ kind: 'name', value });
      i = end + 1;
      continue;
    }
    // A bare guid (`.show operations <id>`): one word, though it mixes digits, letters and dashes.
    const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![\w-])/i.exec(
      text.slice(i, i + 37),
    );
    if (guid) {
      tokens.push({ kind: 'word', value: guid[0] });
      i += guid[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z][A-Za-z0-9_]*)*/.exec(text.slice(i));
    if (word) {
      tokens.push({ kind: 'word', value: word[0] });
      i += word[0].length;
      continue;
    }
    const number = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i));
    if (number) {
      tokens.push({ kind: 'number', value: number[0] });
      i += number[0].length;
      continue;
    }
    const punct = /^(==|!=|<\||=~|<=|>=|[()[\],:|=.<>{}*;])/.exec(text.slice(i));
    if (punct) {
      tokens.push({ kind: 'punct', value: punct[0] });
      i += punct[0].length;
      continue;
    }
    throw syntaxError(`unexpected character '${c}' at offset ${i}`);
  }
  return tokens;
}

/** Reads tokens one by one with small helpers for the grammar. */
export class Cursor {
  private index = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  get done(): boolean {
    return this.index >= this.tokens.length;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.index + offset];
  }

  next(): Token {
    const t = this.tokens[this.index++];
    if (!t) throw syntaxError('the command ends too early');
    return t;
  }

  isWord(value: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'word' && t.value.toLowerCase() === value.toLowerCase();
  }

  isPunct(value: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'punct' && t.value === value;
  }

  acceptWord(value: string): boolean {
    if (!this.isWord(value)) return false;
    this.index++;
    return true;
  }

  acceptPunct(value: string): boolean {
    if (!this.isPunct(value)) return false;
    this.index++;
    return true;
  }

  expectWord(value: string): void {
    if (!this.acceptWord(value)) throw syntaxError(`expected '${value}'${this.where()}`);
  }

  expectPunct(value: string): void {
    if (!this.acceptPunct(value)) throw syntaxError(`expected '${value}'${this.where()}`);
  }

  /** An entity name: a plain word, a bracketed name, or (for mapping names) a string. */
  name(allowString = false): string {
    const t = this.next();
    if (t.kind === 'word' || t.kind === 'name' || (allowString && t.kind === 'string')) return t.value;
    throw syntaxError(`expected a name, got '${t.value}'`);
  }

  string(): string {
    const t = this.next();
    if (t.kind !== 'string') throw syntaxError(`expected a string literal, got '${t.value}'`);
    return t.value;
  }

  expectEnd(): void {
    if (!this.done) throw syntaxError(`unexpected '${this.peek()?.value ?? ''}'${this.where()}`);
  }

  rest(): Token[] {
    const out = this.tokens.slice(this.index);
    this.index = this.tokens.length;
    return out;
  }

  private where(): string {
    const t = this.peek();
    return t ? ` near '${t.value}'` : ' at the end of the command';
  }
}
