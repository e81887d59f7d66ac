/**
 * What the dev and bench command lines share: the arguments checked by the command's own parser, with
 * `--help` answered by the usage, and anything wrong by what was wrong and the usage (exit 2), never a
 * stack trace.
 */
export function commandLine<T>(
  parse: (argv: readonly string[]) => T | undefined,
  usage: string,
  argv: readonly string[] = process.argv.slice(2),
): T | undefined {
  let parsed: T | undefined;
  try {
    parsed = parse(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (parsed === undefined) console.log(usage);
  return parsed;
}
