import { IngestValidationError } from '../../errors';

/**
 * Globs over blob paths (routing rules, LANDING_INCLUDE / LANDING_EXCLUDE, a backfill's include and
 * exclude), matched in time linear in the path. Patterns can come from a caller (a backfill request), and a
 * backtracking matcher (a glob compiled to a JavaScript regex) can take minutes on one name for a pattern
 * such as `*a*a*a*a*a*a*a*a*a*a*a*a*a*c`: here a pattern is compiled to a Thompson NFA, and a path is
 * matched by stepping the set of live states once per character, so the cost is at most
 * path length x pattern length, whatever the pattern.
 *
 * The syntax, as picomatch reads it with `dot: true` (which this replaces, and which the tests compare it
 * with): `*` any run of characters but `/`; `?` one character but `/`; `**` as a whole path segment, any
 * number of segments (`a/**` also matches `a`, and a leading `**` and slash also match no segment at all),
 * elsewhere as `*`; `{a,b}` alternatives, nested as needed; `[abc]`, `[a-z]`, `[!a]` and `[^a]` one character of (or
 * not of) a set, never `/`; `\x` the character x. Dots are ordinary characters.
 */

/** The bounds a pattern must keep, so that none is costly to compile or to match. */
export const GLOB_LIMITS = { maxLength: 256, maxWildcards: 16 } as const;

type CharTest = (c: string) => boolean;

/** One NFA state: character edges and empty (epsilon) edges. */
interface State {
  readonly edges: { readonly test: CharTest; readonly to: number }[];
  readonly empty: number[];
}

/** A fragment of the NFA under construction: its entry state and its exit state. */
interface Fragment {
  readonly start: number;
  readonly end: number;
}

const notSlash: CharTest = (c) => c !== '/';
const anyChar: CharTest = () => true;

class NfaBuilder {
  readonly states: State[] = [];

  state(): number {
    this.states.push({ edges: [], empty: [] });
    return this.states.length - 1;
  }

  edge(from: number, test: CharTest, to: number): void {
    this.states[from]?.edges.push({ test, to });
  }

  empty(from: number, to: number): void {
    this.states[from]?.empty.push(to);
  }

  /** One character that passes `test`. */
  char(test: CharTest): Fragment {
    const start = this.state();
    const end = this.state();
    this.edge(start, test, end);
    return { start, end };
  }

  /** Any run (empty too) of characters that pass `test`. */
  run(test: CharTest): Fragment {
    const start = this.state();
    this.edge(start, test, start);
    return { start, end: start };
  }

  /** `(.*\/)?`: zero or more whole segments, each with its slash (a leading `**` + `/`). */
  dirs(): Fragment {
    const start = this.state();
    const loop = this.state();
    const end = this.state();
    this.empty(start, end);
    this.empty(start, loop);
    this.edge(loop, anyChar, loop);
    this.edge(loop, (c) => c === '/', end);
    return { start, end };
  }

  /** `(\/.*)?`: nothing, or a slash and anything after it (a trailing `/` + `**`). */
  tail(): Fragment {
    const start = this.state();
    const rest = this.state();
    const end = this.state();
    this.empty(start, end);
    this.edge(start, (c) => c === '/', rest);
    this.edge(rest, anyChar, rest);
    this.empty(rest, end);
    return { start, end };
  }

  sequence(parts: readonly Fragment[]): Fragment {
    if (parts.length === 0) {
      const s = this.state();
      return { start: s, end: s };
    }
    for (let i = 1; i < parts.length; i++) this.empty(parts[i - 1]?.end ?? 0, parts[i]?.start ?? 0);
    return { start: parts[0]?.start ?? 0, end: parts[parts.length - 1]?.end ?? 0 };
  }

  alternatives(options: readonly Fragment[]): Fragment {
    const start = this.state();
    const end = this.state();
    for (const option of options) {
      this.empty(start, option.start);
      this.empty(option.end, end);
    }
    return { start, end };
  }
}

const invalid = (pattern: string, why: string) =>
  new IngestValidationError(`The glob '${pattern.slice(0, 80)}' ${why}`, 'InvalidProperty');

/** Parses a pattern into the NFA; throws a validation error naming the limit it breaks. */
class GlobParser {
  private i = 0;
  private wildcards = 0;

  constructor(
    private readonly pattern: string,
    private readonly nfa: NfaBuilder,
  ) {}

  parse(): Fragment {
    const fragment = this.sequence(false);
    if (this.wildcards > GLOB_LIMITS.maxWildcards)
      throw invalid(
        this.pattern,
        `has ${this.wildcards} wildcards: at most ${GLOB_LIMITS.maxWildcards} (*, ** and ?) are allowed.`,
      );
    return fragment;
  }

  private wildcard(): void {
    this.wildcards++;
  }

  /** Until the end, or (inside braces) the next `,` or `}` at this level. */
  private sequence(inBraces: boolean): Fragment {
    const parts: Fragment[] = [];
    const p = this.pattern;
    while (this.i < p.length) {
      const c = p[this.i] ?? '';
      if (inBraces && (c === ',' || c === '}')) break;
      if (c === '\\' && this.i + 1 < p.length) {
        const next = p[this.i + 1] ?? '';
        parts.push(this.nfa.char((x) => x === next));
        this.i += 2;
      } else if (c === '*') {
        this.star(parts, inBraces);
      } else if (c === '?') {
        this.wildcard();
        parts.push(this.nfa.char(notSlash));
        this.i++;
      } else if (c === '[') {
        parts.push(this.charClass());
      } else if (c === '{' && this.closes(this.i)) {
        parts.push(this.braces());
      } else {
        parts.push(this.nfa.char((x) => x === c));
        this.i++;
      }
    }
    return this.nfa.sequence(parts);
  }

  /** `*`, or `**` as a whole segment (any segments) or inside one (as `*`). */
  private star(parts: Fragment[], inBraces: boolean): void {
    const p = this.pattern;
    const start = this.i;
    while (p[this.i] === '*') this.i++;
    this.wildcard();
    const boundary = (c: string | undefined, edge: string) =>
      c === undefined || c === '/' || (inBraces && (c === ',' || c === edge));
    const globstar =
      this.i - start >= 2 && boundary(p[start - 1], '{') && (boundary(p[this.i], '}') || p[this.i] === '/');
    if (!globstar) {
      parts.push(this.nfa.run(notSlash));
      return;
    }
    if (p[this.i] === '/') {
      this.i++;
      parts.push(this.nfa.dirs());
      return;
    }
    // A trailing `/**`: the slash already taken as a literal goes with it, so `a/**` also matches `a`.
    if (p[start - 1] === '/' && parts.length > 0) {
      parts.pop();
      parts.push(this.nfa.tail());
      return;
    }
    parts.push(this.nfa.run(anyChar));
  }

  /** Whether the `{` at `at` has its `}` (else it is an ordinary character, as picomatch reads it). */
  private closes(at: number): boolean {
    let depth = 0;
    for (let j = at; j < this.pattern.length; j++) {
      const c = this.pattern[j];
      if (c === '\\') j++;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) return true;
    }
    return false;
  }

  private braces(): Fragment {
    this.i++; // '{'
    const options: Fragment[] = [];
    for (;;) {
      options.push(this.sequence(true));
      const c = this.pattern[this.i];
      this.i++;
      if (c === '}' || c === undefined) break;
    }
    return this.nfa.alternatives(options);
  }

  /** `[...]`: one character of a set (or not of it), never `/`; an unclosed `[` is a plain character. */
  private charClass(): Fragment {
    const p = this.pattern;
    const close = p.indexOf(']', this.i + 2);
    if (close === -1) {
      this.i++;
      return this.nfa.char((x) => x === '[');
    }
    let body = p.slice(this.i + 1, close);
    this.i = close + 1;
    const negated = body.startsWith('!') || body.startsWith('^');
    if (negated) body = body.slice(1);
    const singles = new Set<string>();
    const ranges: [string, string][] = [];
    for (let j = 0; j < body.length; j++) {
      const c = body[j] ?? '';
      if (body[j + 1] === '-' && j + 2 < body.length) {
        ranges.push([c, body[j + 2] ?? '']);
        j += 2;
      } else singles.add(c);
    }
    const inSet = (x: string) => singles.has(x) || ranges.some(([a, b]) => x >= a && x <= b);
    return this.nfa.char((x) => x !== '/' && inSet(x) !== negated);
  }
}

/** A compiled glob: `matches(path)` runs in O(path length x pattern length). */
export interface Glob {
  readonly pattern: string;
  matches(path: string): boolean;
}

/** Compiles one pattern; a validation error (`InvalidProperty`) names the bound it breaks. */
export function compileGlob(pattern: string): Glob {
  if (pattern.length === 0) throw invalid(pattern, 'is empty.');
  if (pattern.length > GLOB_LIMITS.maxLength)
    throw invalid(
      pattern,
      `is ${pattern.length} characters long: at most ${GLOB_LIMITS.maxLength} are allowed.`,
    );
  const nfa = new NfaBuilder();
  // Paths never start with `./`: a pattern that does means the path after it (as picomatch reads it).
  const { start, end } = new GlobParser(pattern.replace(/^(\.\/)+/, ''), nfa).parse();
  const states = nfa.states;

  /** Adds `state` and every state its empty edges reach. */
  const close = (into: Set<number>, state: number) => {
    const stack = [state];
    while (stack.length > 0) {
      const s = stack.pop() ?? 0;
      if (into.has(s)) continue;
      into.add(s);
      for (const next of states[s]?.empty ?? []) stack.push(next);
    }
  };
  const initial = new Set<number>();
  close(initial, start);

  return {
    pattern,
    matches(path: string): boolean {
      let live = initial;
      for (const c of path) {
        const next = new Set<number>();
        for (const s of live)
          for (const edge of states[s]?.edges ?? []) if (edge.test(c)) close(next, edge.to);
        if (next.size === 0) return false;
        live = next;
      }
      return live.has(end);
    },
  };
}

/** Whether a path matches any of some patterns, compiled once. */
export function globList(patterns: readonly string[]): (path: string) => boolean {
  const globs = patterns.map(compileGlob);
  return (path) => globs.some((g) => g.matches(path));
}
