import {
  applyTimeRange,
  buildTables,
  cellSource,
  checkName,
  checkRetention,
  columnsOf,
  errorLine,
  formatRetention,
  lineErrors,
  matches,
  parseTime,
  pushHistory,
  quoteIdent,
  selectCache,
  selectFor,
  toChart,
  toCsv,
  triggerArguments,
  pluginMetadata,
  defaultSpecification,
  formArguments
} from '../logic';

describe('SQL text', () => {
  it('quotes identifiers so odd table names still query', () => {
    expect(quoteIdent('cpu')).toBe('"cpu"');
    expect(quoteIdent('my "t"')).toBe('"my ""t"""');
  });
  it('selects the newest rows of a table', () => {
    expect(selectFor('cpu')).toBe('SELECT * FROM "cpu" ORDER BY time DESC LIMIT 100');
    expect(selectFor('cpu', ['host', 'usage'], 5)).toBe('SELECT "host", "usage" FROM "cpu" ORDER BY time DESC LIMIT 5');
  });
  it('queries a cache by its table function', () => {
    expect(selectCache('last', 'cpu', "o'k")).toBe("SELECT * FROM last_cache('cpu', 'o''k')");
    expect(selectCache('distinct', 'cpu', 'd')).toBe("SELECT * FROM distinct_cache('cpu', 'd')");
  });
  it('makes a magic cell, quoting an unusual database name', () => {
    expect(cellSource(' SELECT 1 ', 'demo')).toBe('%%sql -d demo\nSELECT 1');
    expect(cellSource('SELECT 1', 'a b', 'influxql')).toBe('%%influxql -d "a b"\nSELECT 1');
  });
});

describe('time range macro', () => {
  it('expands $__timeFilter for SQL and InfluxQL', () => {
    expect(applyTimeRange('SELECT * FROM t WHERE $__timeFilter', '1h', 'sql')).toBe(
      "SELECT * FROM t WHERE time >= now() - INTERVAL '3600 seconds'"
    );
    expect(applyTimeRange('SELECT * FROM t WHERE $__timeFilter', '15m', 'influxql')).toBe(
      'SELECT * FROM t WHERE time > now() - 900s'
    );
    expect(applyTimeRange('WHERE $__timeFilter', 'all', 'sql')).toBe('WHERE true');
  });
  it('leaves a query without the macro untouched and refuses an unknown range', () => {
    expect(applyTimeRange('SELECT 1', '7d', 'sql')).toBe('SELECT 1');
    expect(() => applyTimeRange('SELECT 1', '2y', 'sql')).toThrow('unknown time range');
  });
});

describe('errors', () => {
  it('takes one line from the API error shapes', () => {
    expect(errorLine(400, '{"error":"bad thing\\nmore"}')).toBe('400: bad thing');
    expect(errorLine(404, '{"message":"no db"}')).toBe('404: no db');
    expect(errorLine(400, 'Error during planning: table x not found')).toBe('400: Error during planning: table x not found');
    expect(errorLine(500, '')).toBe('500: request failed');
  });
  it('lists the rejected lines of a partial write in order', () => {
    const body = JSON.stringify({
      error: 'partial write of line protocol occurred',
      data: [
        { error_message: 'b', line_number: 5, original_line: 'y' },
        { error_message: 'No fields were provided', line_number: 3, original_line: 'bad line' }
      ]
    });
    const errs = lineErrors(body);
    expect(errs.map(e => e.line_number)).toEqual([3, 5]);
    expect(errs[0].error_message).toBe('No fields were provided');
    expect(lineErrors('not json')).toEqual([]);
  });
});

describe('rows', () => {
  const rows = [
    { host: 'a', time: '2023-11-14T22:13:20', usage: 1 },
    { host: 'b', time: '2023-11-14T22:13:20', usage: 2, idle: 5 },
    { host: 'a', time: '2023-11-14T22:13:30', usage: 3 }
  ];
  it('finds every column, time first, even when a row leaves a null out', () => {
    expect(columnsOf(rows)).toEqual(['time', 'host', 'usage', 'idle']);
  });
  it('reads times without a zone as UTC', () => {
    expect(parseTime('2023-11-14T22:13:20')).toBe(1700000000000);
    expect(parseTime('2023-11-14T22:13:20Z')).toBe(1700000000000);
    expect(parseTime('nope')).toBeNull();
  });
  it('draws a series per field and tag set, aligned on the union of times', () => {
    const chart = toChart(rows);
    expect(chart.xs).toEqual([1700000000, 1700000010]);
    expect(chart.series.map(s => s.label)).toEqual(['usage {host=a}', 'usage {host=b}', 'idle {host=b}']);
    expect(chart.series[0].values).toEqual([1, 3]);
    expect(chart.series[1].values).toEqual([2, null]);
  });
  it('has nothing to chart without a time column', () => {
    expect(toChart([{ a: 1 }]).series).toEqual([]);
  });
  it('writes CSV with quoting', () => {
    expect(toCsv([{ a: 'x,y', b: null, c: 'q"' }], ['a', 'b', 'c'])).toBe('a,b,c\n"x,y",,"q"""\n');
  });
});

describe('tree', () => {
  it('builds tables with time and tags first and their caches', () => {
    const tables = buildTables(
      [
        { measurement: 'cpu', key: 'usage', data_type: 'float' },
        { measurement: 'cpu', key: 'time', data_type: 'time' },
        { measurement: 'cpu', key: 'host', data_type: 'tag' },
        { measurement: 'mem', key: 'time', data_type: 'time' }
      ],
      [{ table: 'cpu', name: 'c1' }],
      [{ table: 'cpu', name: 'd1' }]
    );
    expect(tables.map(t => t.name)).toEqual(['cpu', 'mem']);
    expect(tables[0].columns.map(c => c.name)).toEqual(['time', 'host', 'usage']);
    expect(tables[0].lastCaches).toEqual(['c1']);
    expect(tables[0].distinctCaches).toEqual(['d1']);
  });
  it('matches a search case-insensitively on any name', () => {
    expect(matches('', 'x')).toBe(true);
    expect(matches('CP', 'mem', 'cpu')).toBe(true);
    expect(matches('disk', 'mem', 'cpu')).toBe(false);
  });
});

describe('input checks', () => {
  it('accepts durations and none, refuses anything else', () => {
    expect(checkRetention('30d')).toBe('30d');
    expect(checkRetention('1h30m')).toBe('1h30m');
    expect(checkRetention('')).toBe('none');
    expect(() => checkRetention('30 days')).toThrow('not a duration');
  });
  it('shows retention in the largest whole unit', () => {
    expect(formatRetention(604800000000000)).toBe('1w');
    expect(formatRetention(3 * 86400e9)).toBe('3d');
    expect(formatRetention(null)).toBe('');
  });
  it('checks database and table names', () => {
    expect(checkName(' demo ')).toBe('demo');
    expect(() => checkName('bad/name')).toThrow('invalid name');
    expect(() => checkName('')).toThrow();
  });
});

describe('history', () => {
  it('puts the newest first, drops a repeat, keeps at most max', () => {
    const e = (q: string, at: number) => ({ query: q, lang: 'sql' as const, database: 'd', at });
    let h = pushHistory([], e('a', 1), 2);
    h = pushHistory(h, e('b', 2), 2);
    h = pushHistory(h, e('a', 3), 2);
    expect(h.map(x => x.query)).toEqual(['a', 'b']);
    h = pushHistory(h, e('c', 4), 2);
    expect(h.map(x => x.query)).toEqual(['c', 'a']);
  });
});

describe('trigger arguments', () => {
  it('sends strings as they are and other JSON values as their JSON text', () => {
    expect(triggerArguments('{"a": "5", "n": 3, "o": {"x": [1, 2]}}')).toEqual({ a: '5', n: '3', o: '{"x":[1,2]}' });
    expect(triggerArguments('  ')).toBeNull();
    expect(triggerArguments('{}')).toBeNull();
  });
  it('refuses text that is not a JSON object', () => {
    expect(() => triggerArguments('{a: 1}')).toThrow('not JSON');
    expect(() => triggerArguments('[1]')).toThrow('JSON object');
  });
});

describe('plugin metadata', () => {
  const source = [
    '"""',
    '{"plugin_type": ["scheduled", "onwrite"],',
    ' "scheduled_args_config": [{"name": "measurement", "example": "cpu", "description": "table \\"to\\" watch", "required": true}],',
    ' "onwrite_args_config": [{"name": "measurement", "example": "x", "description": "dup", "required": false},',
    '                         {"name": "window", "example": "5m", "description": "w", "required": false}]}',
    '"""',
    'def process_writes(influxdb3_local, table_batches, args=None):',
    '    pass'
  ].join('\n');
  it('reads the JSON docstring from the raw source, first definition of a name wins', () => {
    const m = pluginMetadata(source)!;
    expect(m.types).toEqual(['scheduled', 'onwrite']);
    expect(m.args.map(a => [a.name, a.required])).toEqual([
      ['measurement', true],
      ['window', false]
    ]);
    expect(m.args[0].description).toBe('table "to" watch');
  });
  it('has no metadata without a JSON docstring', () => {
    expect(pluginMetadata('"""Just words."""\ndef f(): pass')).toBeNull();
    expect(pluginMetadata('def f(): pass')).toBeNull();
  });
  it('starts the specification from the plugin type', () => {
    expect(defaultSpecification(['onwrite'], 'a.py')).toBe('all_tables');
    expect(defaultSpecification(['scheduled'], 'a.py')).toBe('every:1m');
    expect(defaultSpecification(['http'], 'my hook.py')).toBe('request:my_hook');
  });
  it('builds arguments from the fields and the free JSON, refusing a missing required one', () => {
    const args = pluginMetadata(source)!.args;
    expect(formArguments({ 'arg:measurement': 'cpu', 'arg:window': '' }, args, '{"n": 2}')).toEqual({ n: '2', measurement: 'cpu' });
    expect(() => formArguments({ 'arg:measurement': ' ' }, args, '')).toThrow('required argument missing: measurement');
    expect(formArguments({}, [], '')).toBeNull();
  });
});
