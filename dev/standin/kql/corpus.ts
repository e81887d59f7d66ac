/**
 * The stand-in's KQL corpus: queries over a small fixed dataset, each with the result worked out by hand
 * from the KQL documentation's semantics (not by running the translator). Unordered results compare as
 * multisets; `ordered` cases compare row by row. test/unit/standin/kqlCorpus.test.ts and
 * test/integration/standin.kql.test.ts run it; the store comparison of bench/README.md runs it on DuckDB.
 */
export interface CorpusCase {
  readonly q: string;
  readonly columns?: readonly string[];
  readonly types?: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
  readonly ordered?: boolean;
}

export interface ErrorCase {
  readonly q: string;
  readonly code: string;
  /** The message must match: the parser's diagnostic code, or the name of what is not supported. */
  readonly message: RegExp;
}

export const EVENTS_SCHEMA =
  '(ts:datetime, user:string, level:string, duration:long, score:real, ok:bool, props:dynamic, msg:string)';

// ts, user, level, duration, score, ok, props, msg
export const EVENTS: readonly (readonly unknown[])[] = [
  [
    '2024-01-01T08:00:00Z',
    'alice',
    'info',
    100,
    1.5,
    true,
    { app: 'web', tags: ['a', 'b'], n: 1 },
    'User alice logged in',
  ],
  [
    '2024-01-01T09:30:00Z',
    'bob',
    'error',
    250,
    2.5,
    false,
    { app: 'api', n: 2 },
    'Timeout calling api-gateway',
  ],
  ['2024-01-01T23:59:59Z', 'alice', 'warn', 50, 0.5, true, { app: 'web', n: 3 }, 'Disk usage at 85%'],
  [
    '2024-01-02T00:00:00Z',
    'carol',
    'error',
    400,
    4.0,
    false,
    { app: 'batch' },
    'Batch job failed: OutOfMemory',
  ],
  ['2024-01-02T12:00:00Z', 'bob', 'info', 150, 3.0, true, { app: 'api', n: 5 }, 'GET /api/items 200'],
  ['2024-01-03T06:15:00Z', 'dave', 'Info', null, null, true, null, 'heartbeat'],
  ['2024-01-03T18:45:00Z', 'alice', 'error', 300, 5.5, false, { app: 'web', n: 7 }, 'Timeout again'],
  ['2024-01-04T00:30:00Z', 'erin', 'debug', 75, 1.0, true, { app: 'cli', n: 8 }, 'debug: cache warm'],
];

export const USERS_SCHEMA = '(user:string, team:string, since:datetime)';

export const USERS: readonly (readonly unknown[])[] = [
  ['alice', 'red', '2023-01-01T00:00:00Z'],
  ['bob', 'blue', '2023-06-15T00:00:00Z'],
  ['carol', 'red', '2023-03-10T00:00:00Z'],
  ['frank', 'green', '2023-09-01T00:00:00Z'],
];

export const CORPUS: readonly CorpusCase[] = [
  // counting and filtering
  { q: 'Events | count', columns: ['Count'], types: ['long'], rows: [[8]] },
  { q: 'Events | take 3 | count', rows: [[3]] },
  { q: 'Events | limit 2 | count', rows: [[2]] },
  {
    q: 'Events | where level == "error" | project user',
    columns: ['user'],
    rows: [['bob'], ['carol'], ['alice']],
  },
  { q: 'Events | where level =~ "INFO" | project user', rows: [['alice'], ['bob'], ['dave']] },
  { q: 'Events | where level == "info" | count', rows: [[2]] },
  { q: 'Events | where level != "error" | count', rows: [[5]] },
  { q: 'Events | where level !~ "info" | count', rows: [[5]] },
  {
    q: 'Events | where duration > 200 | project user, duration',
    rows: [
      ['bob', 250],
      ['carol', 400],
      ['alice', 300],
    ],
  },
  { q: 'Events | where duration >= 250 and duration <= 300 | project duration', rows: [[250], [300]] },
  { q: 'Events | where duration < 100 | project user', rows: [['alice'], ['erin']] },
  {
    q: 'Events | where score <= 1.0 | project user, score',
    rows: [
      ['alice', 0.5],
      ['erin', 1],
    ],
  },
  { q: 'Events | where duration == 100 or duration == 400 | project user', rows: [['alice'], ['carol']] },
  { q: 'Events | where not(ok) | project user', rows: [['bob'], ['carol'], ['alice']] },
  { q: 'Events | where ok == true | count', rows: [[5]] },
  { q: 'Events | where user in ("alice", "erin") | count', rows: [[4]] },
  { q: 'Events | where user !in ("alice", "bob") | project user', rows: [['carol'], ['dave'], ['erin']] },
  { q: 'Events | where user in~ ("ALICE") | count', rows: [[3]] },
  { q: 'Events | where level !in~ ("ERROR", "info") | project level', rows: [['warn'], ['debug']] },
  { q: 'Events | where duration between (100 .. 250) | project duration', rows: [[100], [250], [150]] },
  {
    q: 'Events | where isnotnull(duration) and duration !between (100 .. 250) | project duration',
    rows: [[50], [400], [300], [75]],
  },
  { q: 'Events | where ts between (datetime(2024-01-02) .. 1d) | project user', rows: [['carol'], ['bob']] },
  {
    q: 'Events | where ts between (datetime(2024-01-01) .. datetime(2024-01-01T23:59:59)) | count',
    rows: [[3]],
  },
  // string operators
  { q: 'Events | where msg has "timeout" | project user', rows: [['bob'], ['alice']] },
  { q: 'Events | where msg has "api" | project user', rows: [['bob'], ['bob']] },
  { q: 'Events | where msg has "time" | count', rows: [[0]] },
  { q: 'Events | where msg contains "time" | count', rows: [[2]] },
  { q: 'Events | where msg contains_cs "time" | count', rows: [[0]] },
  { q: 'Events | where msg !contains "O" | project user', rows: [['alice'], ['bob'], ['dave'], ['erin']] },
  { q: 'Events | where msg startswith "time" | project user', rows: [['bob'], ['alice']] },
  { q: 'Events | where msg startswith_cs "time" | count', rows: [[0]] },
  { q: 'Events | where msg endswith "WARM" | project user', rows: [['erin']] },
  { q: 'Events | where msg !has "timeout" | count', rows: [[6]] },
  { q: 'Events | where msg endswith_cs "WARM" | count', rows: [[0]] },
  { q: 'Events | where msg endswith_cs "warm" | count', rows: [[1]] },
  { q: 'Events | where level != "error" and user != "alice" | count', rows: [[3]] },
  { q: 'Events | where msg has_cs "Timeout" | count', rows: [[2]] },
  { q: 'Events | where msg !has_cs "timeout" | count', rows: [[8]] },
  { q: 'Events | where msg !startswith "time" | count', rows: [[6]] },
  { q: 'Events | where msg !endswith "again" | count', rows: [[7]] },
  { q: 'Events | where msg matches regex @"^[A-Z]{3} /api" | project user', rows: [['bob']] },
  { q: 'Events | where msg matches regex "[0-9]+%" | project user', rows: [['alice']] },
  { q: 'Events | where isnull(duration) | project user', rows: [['dave']] },
  { q: 'Events | where isnotnull(score) | count', rows: [[7]] },
  { q: 'Events | where isempty(tostring(props.tags)) | count', rows: [[7]] },
  { q: 'Events | where isnotempty(msg) | count', rows: [[8]] },
  // project, project-away, project-rename, extend
  {
    q: 'Events | where user == "erin" | project user, d2 = duration * 2',
    columns: ['user', 'd2'],
    rows: [['erin', 150]],
  },
  {
    q: 'Events | where user == "erin" | project-away ts, msg, props, ok',
    columns: ['user', 'level', 'duration', 'score'],
    rows: [['erin', 'debug', 75, 1]],
  },
  {
    q: 'Events | where user == "erin" | project-rename who = user | project who, level',
    columns: ['who', 'level'],
    rows: [['erin', 'debug']],
  },
  {
    q: 'Events | where user == "erin" | extend half = duration / 2, ratio = score / 2 | project half, ratio',
    types: ['long', 'real'],
    rows: [[37, 0.5]],
  },
  {
    q: 'Events | where user == "erin" | extend duration = duration + 1 | project-away ts, props, msg',
    columns: ['user', 'level', 'duration', 'score', 'ok'],
    rows: [['erin', 'debug', 76, 1, true]],
  },
  { q: 'print a = 2 | extend b = a * 3 | extend c = b + 1', columns: ['a', 'b', 'c'], rows: [[2, 6, 7]] },
  // summarize
  { q: 'Events | summarize count()', columns: ['count_'], types: ['long'], rows: [[8]] },
  {
    q: 'Events | summarize count() by level',
    columns: ['level', 'count_'],
    rows: [
      ['error', 3],
      ['info', 2],
      ['warn', 1],
      ['Info', 1],
      ['debug', 1],
    ],
  },
  {
    q: 'Events | where user != "dave" | summarize n = count(), total = sum(duration) by user',
    columns: ['user', 'n', 'total'],
    rows: [
      ['alice', 3, 450],
      ['bob', 2, 400],
      ['carol', 1, 400],
      ['erin', 1, 75],
    ],
  },
  {
    q: 'Events | summarize countif(ok) by user',
    columns: ['user', 'countif_ok'],
    rows: [
      ['alice', 2],
      ['bob', 1],
      ['carol', 0],
      ['dave', 1],
      ['erin', 1],
    ],
  },
  { q: 'Events | summarize avg(score)', columns: ['avg_score'], types: ['real'], rows: [[18 / 7]] },
  {
    q: 'Events | summarize min(duration), max(duration)',
    columns: ['min_duration', 'max_duration'],
    rows: [[50, 400]],
  },
  {
    q: 'Events | summarize min(ts), max(ts)',
    columns: ['min_ts', 'max_ts'],
    types: ['datetime', 'datetime'],
    rows: [['2024-01-01T08:00:00Z', '2024-01-04T00:30:00Z']],
  },
  { q: 'Events | summarize dcount(user)', columns: ['dcount_user'], rows: [[5]] },
  {
    q: 'Events | summarize arg_max(duration, user, level)',
    columns: ['duration', 'user', 'level'],
    rows: [[400, 'carol', 'error']],
  },
  {
    q: 'Events | where isnotnull(score) | summarize arg_min(score, *) by user | project user, score, level',
    rows: [
      ['alice', 0.5, 'warn'],
      ['bob', 2.5, 'error'],
      ['carol', 4, 'error'],
      ['erin', 1, 'debug'],
    ],
  },
  { q: 'Events | summarize l = make_list(user) | project n = array_length(l)', rows: [[8]] },
  {
    q: 'Events | where user == "carol" | summarize make_list(level)',
    columns: ['list_level'],
    types: ['dynamic'],
    rows: [[['error']]],
  },
  { q: 'Events | summarize s = make_set(level) | project n = array_length(s)', rows: [[5]] },
  {
    q: 'Events | where level == "error" | summarize make_set(level)',
    columns: ['set_level'],
    rows: [[['error']]],
  },
  { q: 'Events | summarize percentile(duration, 50)', columns: ['percentile_duration_50'], rows: [[150]] },
  {
    q: 'Events | summarize percentiles(duration, 10, 90)',
    columns: ['percentile_duration_10', 'percentile_duration_90'],
    rows: [[50, 400]],
  },
  {
    q: 'Events | summarize count() by bin(ts, 1d)',
    columns: ['ts', 'count_'],
    types: ['datetime', 'long'],
    rows: [
      ['2024-01-01T00:00:00Z', 3],
      ['2024-01-02T00:00:00Z', 2],
      ['2024-01-03T00:00:00Z', 2],
      ['2024-01-04T00:00:00Z', 1],
    ],
  },
  {
    q: 'Events | summarize n = count() by day = startofday(ts) | where n == 2 | project day',
    rows: [['2024-01-02T00:00:00Z'], ['2024-01-03T00:00:00Z']],
  },
  {
    q: 'Events | where isnotnull(duration) | summarize count() by bucket = bin(duration, 100)',
    columns: ['bucket', 'count_'],
    rows: [
      [0, 2],
      [100, 2],
      [200, 1],
      [300, 1],
      [400, 1],
    ],
  },
  {
    q: 'Events | summarize sum(score) by ok',
    columns: ['ok', 'sum_score'],
    rows: [
      [true, 6],
      [false, 12],
    ],
  },
  {
    q: 'Events | summarize avg(score) by user | where user == "bob"',
    columns: ['user', 'avg_score'],
    rows: [['bob', 2.75]],
  },
  {
    q: 'Events | summarize max(ts) by user | where user == "alice" | project max_ts',
    rows: [['2024-01-03T18:45:00Z']],
  },
  // order, top, take, distinct
  {
    q: 'Events | order by duration desc | take 3 | project user, duration',
    rows: [
      ['carol', 400],
      ['alice', 300],
      ['bob', 250],
    ],
    ordered: true,
  },
  {
    q: 'Events | sort by duration asc | project duration',
    rows: [[null], [50], [75], [100], [150], [250], [300], [400]],
    ordered: true,
  },
  {
    q: 'Events | sort by duration desc | project duration',
    rows: [[400], [300], [250], [150], [100], [75], [50], [null]],
    ordered: true,
  },
  {
    q: 'Events | top 2 by score | project user, score',
    rows: [
      ['alice', 5.5],
      ['carol', 4],
    ],
    ordered: true,
  },
  { q: 'Events | top 1 by ts asc | project user', rows: [['alice']], ordered: true },
  {
    q: 'Events | order by user asc, duration desc | project user, duration',
    rows: [
      ['alice', 300],
      ['alice', 100],
      ['alice', 50],
      ['bob', 250],
      ['bob', 150],
      ['carol', 400],
      ['dave', null],
      ['erin', 75],
    ],
    ordered: true,
  },
  { q: 'Events | sort by ts desc | take 2 | project user', rows: [['erin'], ['alice']], ordered: true },
  {
    q: 'Events | distinct user',
    columns: ['user'],
    rows: [['alice'], ['bob'], ['carol'], ['dave'], ['erin']],
  },
  { q: 'Events | distinct user, ok | count', rows: [[7]] },
  { q: 'Events | where ok | distinct level', rows: [['info'], ['warn'], ['Info'], ['debug']] },
  // getschema, print and scalar functions
  {
    q: 'Users | getschema',
    columns: ['ColumnName', 'ColumnOrdinal', 'DataType', 'ColumnType'],
    rows: [
      ['user', 0, 'System.String', 'string'],
      ['team', 1, 'System.String', 'string'],
      ['since', 2, 'System.DateTime', 'datetime'],
    ],
    ordered: true,
  },
  { q: 'print x = 1 + 2, s = strcat("a", "b")', columns: ['x', 's'], rows: [[3, 'ab']] },
  { q: 'print 10 / 4, 10.0 / 4, 7 % 3', columns: ['print_0', 'print_1', 'print_2'], rows: [[2, 2.5, 1]] },
  { q: 'print datetime(2024-01-01) + 1d + 2h', types: ['datetime'], rows: [['2024-01-02T02:00:00Z']] },
  { q: 'print datetime(2024-01-03) - datetime(2024-01-01)', types: ['timespan'], rows: [['2.00:00:00']] },
  { q: 'print a = 1h * 3, b = 90m / 1h', types: ['timespan', 'real'], rows: [['03:00:00', 1.5]] },
  { q: 'print now() > ago(1h)', types: ['bool'], rows: [[true]] },
  {
    q: 'print timespan(2h) * 2, time(1.12:00:00) + 12h',
    types: ['timespan', 'timespan'],
    rows: [['04:00:00', '2.00:00:00']],
  },
  {
    q: 'print format_datetime(datetime(2024-03-05 14:07:09), "yyyy-MM-dd HH:mm:ss")',
    rows: [['2024-03-05 14:07:09']],
  },
  { q: 'print format_datetime(datetime(2024-03-05 14:07:09), "M/d/yy h tt")', rows: [['3/5/24 2 PM']] },
  {
    q: 'print tostring(42), toint("17"), tolong("x"), todouble("2.5"), tobool("true"), todatetime("2024-05-01")',
    types: ['string', 'int', 'long', 'real', 'bool', 'datetime'],
    rows: [['42', 17, null, 2.5, true, '2024-05-01T00:00:00Z']],
  },
  {
    q: 'print strlen("hello"), substring("abcdef", 1, 3), tolower("AbC"), toupper("abc")',
    rows: [[5, 'bcd', 'abc', 'ABC']],
  },
  { q: 'print split("a,b,c", ",")', types: ['dynamic'], rows: [[['a', 'b', 'c']]] },
  { q: 'print split("a,b,c", ",", 1)', rows: [[['b']]] },
  {
    q: 'print iff(1 > 2, "yes", "no"), case(5 < 3, "small", 5 < 10, "medium", "large")',
    rows: [['no', 'medium']],
  },
  { q: 'print coalesce(long(null), 5), coalesce("", "x")', rows: [[5, 'x']] },
  { q: 'print bin(17, 5), bin(2.7, 0.5)', rows: [[15, 2.5]] },
  { q: 'print startofday(datetime(2024-01-02 15:30))', rows: [['2024-01-02T00:00:00Z']] },
  {
    q: 'print tostring(datetime(2024-01-02 03:04:05)), tostring(true), tostring(1.5)',
    rows: [['2024-01-02T03:04:05Z', 'true', '1.5']],
  },
  // dynamic values
  {
    q: 'Events | where user == "carol" | project app = props.app, n = props.n',
    types: ['dynamic', 'dynamic'],
    rows: [['batch', null]],
  },
  { q: 'Events | where user == "alice" and props.n == 1 | project t = props["tags"][1]', rows: [['b']] },
  { q: 'Events | where tostring(props.app) == "api" | count', rows: [[2]] },
  { q: 'print d = parse_json(\'{"a":{"b":[10,20]}}\') | project v = d.a.b[1]', rows: [[20]] },
  { q: 'Events | where props.n > 4 | project user', rows: [['bob'], ['alice'], ['erin']] },
  // join, union, let
  {
    q: 'Events | where level == "error" | join kind=inner (Users) on user | project user, team',
    rows: [
      ['bob', 'blue'],
      ['carol', 'red'],
      ['alice', 'red'],
    ],
  },
  {
    q: 'Events | distinct user | join kind=leftouter (Users) on user | project user, team',
    rows: [
      ['alice', 'red'],
      ['bob', 'blue'],
      ['carol', 'red'],
      ['dave', ''],
      ['erin', ''],
    ],
  },
  { q: 'Events | join (Users) on user | count', rows: [[3]] },
  { q: 'Events | join kind=inner (Users) on user | count', rows: [[6]] },
  { q: 'Users | join kind=leftanti (Events) on user | project user', rows: [['frank']] },
  { q: 'Users | join kind=leftsemi (Events) on user | count', rows: [[3]] },
  {
    q: 'Events | where level == "error" | join kind=inner (Users) on user | project user, user1',
    columns: ['user', 'user1'],
    rows: [
      ['bob', 'bob'],
      ['carol', 'carol'],
      ['alice', 'alice'],
    ],
  },
  {
    q: 'Events | where user == "bob" | join kind=inner (Users | project name = user, team) on $left.user == $right.name | project user, team, duration',
    rows: [
      ['bob', 'blue', 250],
      ['bob', 'blue', 150],
    ],
  },
  { q: 'union Events, Users | count', rows: [[12]] },
  {
    q: 'Users | union (Events | where user == "erin" | project user) | project user',
    rows: [['alice'], ['bob'], ['carol'], ['frank'], ['erin']],
  },
  { q: 'Users | union (Events | take 1) | getschema | count', rows: [[10]] },
  { q: 'let threshold = 200; Events | where duration > threshold | count', rows: [[3]] },
  {
    q: 'let errors = Events | where level == "error"; errors | summarize count() by user | count',
    rows: [[3]],
  },
  {
    q: 'let since = datetime(2024-01-03); Events | where ts >= since | project user',
    rows: [['dave'], ['alice'], ['erin']],
  },
  { q: 'Events | where user in (Users | where team == "red" | project user) | count', rows: [[4]] },
  {
    q: 'let top = toscalar(Events | summarize max(duration)); Events | where duration == top | project user',
    rows: [['carol']],
  },
  { q: "['Events'] | where ['user'] == 'dave' | project ['level']", columns: ['level'], rows: [['Info']] },
  { q: 'set notruncation; Events | count', rows: [[8]] },
];

export const ERRORS: readonly ErrorCase[] = [
  {
    q: 'Events | wher level == "x"',
    code: 'BadRequest_SyntaxError',
    message: /^Syntax error KS\d+ at line 1, column 10:/,
  },
  { q: 'Events | where', code: 'BadRequest_SyntaxError', message: /^Syntax error KS\d+/ },
  { q: 'Events | project user,', code: 'BadRequest_SyntaxError', message: /^Syntax error KS\d+/ },
  { q: 'Events | summarize count() by', code: 'BadRequest_SyntaxError', message: /^Syntax error KS\d+/ },
  { q: 'Events | where ts > ago(', code: 'BadRequest_SyntaxError', message: /^Syntax error KS\d+/ },
  {
    q: 'Events\n| where nope == 1',
    code: 'BadRequest_SemanticError',
    message: /^Semantic error KS142 at line 2, column 9: .*'nope'/,
  },
  {
    q: 'Events | extend x = unknownfn(1)',
    code: 'BadRequest_SemanticError',
    message: /^Semantic error KS\d+ .*'unknownfn'/,
  },
  {
    q: 'Events | extend n = strlen(user, 2)',
    code: 'BadRequest_SemanticError',
    message: /^Semantic error KS\d+/,
  },
  { q: 'Events | summarize sum(user)', code: 'BadRequest_SemanticError', message: /^Semantic error KS\d+/ },
  { q: 'Nope | count', code: 'BadRequest_TableNotExist', message: /Table 'Nope' was not found.*KS204/ },
  {
    q: 'Events | mv-expand props',
    code: 'BadRequest_NotSupported',
    message: /'mv-expand' operator is not supported locally/,
  },
  { q: 'Events | parse msg with a " " b', code: 'BadRequest_NotSupported', message: /'parse' operator/ },
  { q: 'Events | extend h = hash(user)', code: 'BadRequest_NotSupported', message: /function 'hash\(\)'/ },
  {
    q: 'Events | summarize stdev(score)',
    code: 'BadRequest_NotSupported',
    message: /aggregate function 'stdev\(\)'/,
  },
  {
    q: 'range x from 1 to 3 step 1',
    code: 'BadRequest_NotSupported',
    message: /The 'range' operator is not supported locally/,
  },
  {
    q: 'Events | evaluate bag_unpack(props)',
    code: 'BadRequest_NotSupported',
    message: /'evaluate' operator/,
  },
  {
    q: 'datatable(a:long)[1, 2] | count',
    code: 'BadRequest_NotSupported',
    message: /The 'datatable' expression is not supported locally/,
  },
  { q: 'Events | render timechart', code: 'BadRequest_NotSupported', message: /'render' operator/ },
  {
    q: 'let f = (x:long) { x + 1 }; print f(1)',
    code: 'BadRequest_NotSupported',
    message: /function definition/,
  },
  {
    q: 'Events | make-series count() on ts step 1d',
    code: 'BadRequest_NotSupported',
    message: /'make-series' operator/,
  },
  { q: 'Events | where msg like "x"', code: 'BadRequest_NotSupported', message: /operator 'like'/ },
];

/** The corpus tables as JSON lines, for `.ingest inline ... with (format='multijson')`. */
export function jsonLines(schema: string, rows: readonly (readonly unknown[])[]): string {
  const names = schema
    .slice(1, -1)
    .split(',')
    .map((c) => c.split(':')[0]?.trim() ?? '');
  return rows.map((r) => JSON.stringify(Object.fromEntries(names.map((n, i) => [n, r[i]])))).join('\n');
}
